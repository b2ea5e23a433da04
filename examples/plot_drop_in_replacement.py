"""
.. _drop_in:

A drop-in replacement for your model
====================================

You have a scikit-learn model and imbalanced data. Wrap the model in
:class:`~autobalance.AutoBalancedClassifier`: ``fit`` searches the
class-imbalance techniques around *your* model (over- and under-sampling,
SMOTE and friends, class weights) and refits the best one; everything else in
the script stays the same.
"""

# %%
# Imbalanced data: 5 % positives
# ------------------------------
import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import AutoBalancedClassifier, ROCComparisonDisplay

X, y = make_classification(
    n_samples=1000,
    n_features=10,
    n_informative=4,
    weights=[0.95],
    flip_y=0,
    class_sep=0.8,
    random_state=0,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
print(f"{y_train.sum()} positives among {len(y_train)} training rows")

# %%
# Your model, and the same model balanced
# ---------------------------------------
# The model is a pipeline; autobalance puts its sampler right before the final
# step, so the scaler is fitted on training folds only and the samplers see
# scaled features.
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)

balanced = AutoBalancedClassifier(model, n_trials=10, cv=3, random_state=0)
balanced.fit(X_train, y_train)

print("chosen technique:", balanced.best_technique_)
print("its parameters:  ", balanced.best_params_)
print(f"inner CV ROC AUC: {balanced.best_score_:.3f}")

# %%
# Compare on the held-out rows
# ----------------------------
# ``predict_proba`` works as for any classifier; by default its probabilities
# are corrected back to the class prior of the training data (see the
# user guide on probabilities), so they stay usable as risks.
for name, est in [("your model", model), ("autobalance", balanced)]:
    proba = est.predict_proba(X_test)[:, 1]
    print(
        f"{name:12s} ROC AUC {roc_auc_score(y_test, proba):.3f}  "
        f"average precision {average_precision_score(y_test, proba):.3f}"
    )

# %%
# On a test set this small (15 positives), differences of a few
# hundredths are within noise: judge a search with nested cross-validation
# (:func:`~autobalance.nested_cross_validate`), not with one split.
ROCComparisonDisplay.from_predictions(
    y_test,
    {
        "your model": model.predict_proba(X_test)[:, 1],
        "autobalance": balanced.predict_proba(X_test)[:, 1],
    },
    pos_label=1,
)
plt.tight_layout()
plt.show()

# %%
# What was tried
# --------------
# ``cv_results_`` follows scikit-learn's layout, with the technique of each
# trial and its state (pruned and failed trials are kept, with the reason).
import pandas as pd

results = pd.DataFrame(balanced.cv_results_)
results[["technique", "mean_test_score", "std_test_score", "state"]].sort_values(
    "mean_test_score", ascending=False
)
