"""
.. _mixed_dataframe_gallery:

A real table: categories, missing values, string labels
=======================================================

Real tables are not numeric arrays. This one has string and pandas
categorical columns, missing values in numbers and in categories, and labels
that are words. With ``estimator=None`` (the default portfolio),
:class:`~autobalance.AutoBalancedClassifier` takes it as it is: a shared
``prepare`` step (fitted on training folds only) encodes categories as codes
and imputes numbers, samplers that must respect categories use SMOTENC, and
each model encodes as it needs.
"""

# %%
# A small churn-like table
# ------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from autobalance import AutoBalancedClassifier, TechniqueComparisonDisplay

rng = np.random.default_rng(0)
n = 700
plan = rng.choice(["basic", "plus", "pro"], size=n, p=[0.6, 0.3, 0.1])
region = pd.Categorical(rng.choice(["north", "south", "east", "west"], size=n))
tenure = rng.gamma(2.0, 12.0, size=n)
calls = rng.poisson(2.0, size=n).astype(float)
risk = -3.4 + 1.2 * (plan == "basic") + 0.35 * calls - 0.04 * tenure
churn = rng.random(n) < 1 / (1 + np.exp(-risk))

X = pd.DataFrame(
    {"plan": plan, "region": region, "tenure_months": tenure, "support_calls": calls}
)
X.loc[rng.random(n) < 0.08, "tenure_months"] = np.nan  # missing numbers
X.loc[rng.random(n) < 0.05, "plan"] = None  # missing categories
y = np.where(churn, "churn", "stay")

print(X.dtypes.to_string())
print(pd.Series(y).value_counts().to_string())
X.head()

# %%
# Fit on the DataFrame as it is
# -----------------------------
# The labels stay strings: ``classes_``, ``predict`` and the columns of
# ``predict_proba`` use them. The small budget keeps this example fast; the
# default is ``n_trials=30``, ``cv=5``.
clf = AutoBalancedClassifier(
    techniques=["random_over_sampler", "smote", "balanced_class_weight"],
    n_trials=8,
    cv=3,
    random_state=0,
)
clf.fit(X, y)
print("classes:         ", clf.classes_)
print("chosen:          ", clf.best_technique_, "+", clf.best_algorithm_)
print(f"inner ROC AUC:    {clf.best_score_:.3f}")
print("feature names:   ", list(clf.feature_names_in_))
print("predictions:     ", clf.predict(X.head(3)))

# %%
# ``predict`` returns the most probable class, which for a rare class is
# almost always the majority; ``threshold="f1"`` (or a cost, or a target
# recall) tunes the decision instead, see
# :ref:`the probabilities example <probabilities_gallery>`.

# %%
# Which sampler ran: with categorical columns, ``smote`` is SMOTENC (SMOTEN
# when every column is categorical), so no impossible category is invented,
# and random over-sampling does not smooth (shrink) category codes. Techniques
# without a categorical variant would be left out, with the reason, in
# ``excluded_techniques_``.
smote_trials = [i for i, t in enumerate(clf.cv_results_["technique"]) if t == "smote"]
if smote_trials:
    sampler = clf._estimator_from_params(clf.cv_results_["params"][smote_trials[0]])
    print("smote builds:", type(sampler.named_steps["sampler"]).__name__)
print("left out:", clf.excluded_techniques_ or "nothing")

# %%
# The leaderboard of the search
# -----------------------------
clf.leaderboard_[["family", "algorithm", "mean_test_score", "diff_vs_none", "p_value"]]

# %%
fig, ax = plt.subplots(figsize=(7, 4))
TechniqueComparisonDisplay.from_estimator(clf, ax=ax)
plt.tight_layout()
plt.show()
