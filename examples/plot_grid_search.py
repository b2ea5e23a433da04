"""
.. _grid_search_gallery:

Inside GridSearchCV, Pipeline and cross_validate
================================================

:class:`~autobalance.AutoBalancedClassifier` is an ordinary scikit-learn
estimator, so the usual tools work around it:

- ``cross_validate`` runs the whole search in every outer fold: that is nested
  cross-validation, the honest estimate of the procedure;
- ``GridSearchCV`` tunes its parameters (here: the model it balances, and the
  list of techniques);
- it can be the last step of a ``Pipeline``.

Its ``score`` is the search metric (ROC AUC by default), not accuracy, so
``GridSearchCV`` without ``scoring`` ranks by it.
"""

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import AutoBalancedClassifier

X, y = make_classification(
    n_samples=800,
    n_features=8,
    n_informative=4,
    weights=[0.92],
    flip_y=0,
    class_sep=0.8,
    random_state=1,
)
search = AutoBalancedClassifier(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    n_trials=6,
    cv=3,
    random_state=0,
)
outer = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)

# %%
# ``cross_validate``: nested cross-validation
# -------------------------------------------
# Each outer fold fits a fresh search on its training part and scores the
# refitted winner on its test part. ``return_estimator=True`` keeps the three
# searches, so we can see what each one chose.
cv = cross_validate(
    search,
    X,
    y,
    cv=outer,
    scoring=["roc_auc", "average_precision"],
    return_estimator=True,
)
pd.DataFrame(
    {
        "chosen technique": [est.best_technique_ for est in cv["estimator"]],
        "inner best score": [est.best_score_ for est in cv["estimator"]],
        "outer ROC AUC": cv["test_roc_auc"],
        "outer average precision": cv["test_average_precision"],
    }
).round(3)

# %%
# The inner best score is selected among several trials on the same folds, so
# it tends to be above the outer score, which comes from rows the search never
# saw. Report the outer one.

# %%
# ``GridSearchCV``: tune the search's own parameters
# --------------------------------------------------
# Any parameter can go in the grid. Here, the regularisation of the model
# being balanced, and whether the search may use samplers at all or only
# class weights. (Two outer folds keep this example fast.)
grid = GridSearchCV(
    search,
    {
        "estimator__logisticregression__C": [0.1, 1.0],
        "techniques": [
            ["balanced_class_weight", "custom_class_weight"],
            ["random_over_sampler", "smote", "balanced_class_weight"],
        ],
    },
    cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
)
grid.fit(X, y)

table = pd.DataFrame(grid.cv_results_)
table["techniques"] = table["param_techniques"].map(", ".join)
table = table.rename(columns={"param_estimator__logisticregression__C": "C"})
table[["C", "techniques", "mean_test_score", "std_test_score", "rank_test_score"]]

# %%
print("best grid point:", grid.best_params_)
print("its search chose:", grid.best_estimator_.best_technique_)

# %%
short = {2: "class weights only", 3: "samplers and weights"}
labels = [
    f"C={c}, {short[len(t)]}"
    for c, t in zip(table["C"], table["param_techniques"], strict=True)
]
fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(
    range(len(table)),
    table["mean_test_score"],
    xerr=table["std_test_score"],
    color="C0",
)
ax.set_yticks(range(len(table)), labels)
ax.invert_yaxis()
ax.set_xlabel("mean outer ROC AUC (± sd over 2 folds)")
ax.set_xlim(0.5, 1.0)
ax.set_title("GridSearchCV over the search's parameters")
plt.tight_layout()
plt.show()

# %%
# In a ``Pipeline``
# -----------------
# As the last step of a pipeline, the steps before it are fitted once on all
# rows before the search starts. Preprocessing that learns from the rows is
# better placed *inside* ``estimator``, as above, so that it is fitted on
# training folds only.
pipe = make_pipeline(
    StandardScaler(),
    AutoBalancedClassifier(LogisticRegression(), n_trials=6, cv=3, random_state=0),
)
pipe.fit(X, y)
print("chosen inside the pipeline:", pipe[-1].best_technique_)
print("probabilities of two rows:", pipe.predict_proba(X[:2]).round(3).tolist())
