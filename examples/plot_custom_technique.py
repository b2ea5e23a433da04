"""
.. _custom_technique_gallery:

Plug your own technique into the catalogue
==========================================

``techniques=[...]`` takes three kinds of entries, freely mixed:

- names of built-in techniques (:func:`~autobalance.technique_names`);
- any imbalanced-learn sampler object (anything with ``fit_resample``): it is
  searched as it is, under the snake-case name of its class;
- a :class:`~autobalance.Technique`: a name, a family, a builder and the
  parameters the search should tune, whose bounds may depend on the data.

``"none"`` is always added, so every technique is compared with the model as
it is.
"""

# %%
# A technique with tuned parameters
# ---------------------------------
# SVM-SMOTE is in imbalanced-learn but not in the built-in catalogue. Its
# ``k_neighbors`` must stay below the number of minority rows of the smallest
# training fold, which the :class:`~autobalance.SearchContext` knows
# (``ctx.minority_train``). Builders and bounds are module-level functions so
# that fitted models pickle.
import matplotlib.pyplot as plt
from imblearn.over_sampling import SVMSMOTE
from imblearn.under_sampling import NearMiss
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import (
    AutoBalancedClassifier,
    FloatParam,
    IntParam,
    Technique,
    TechniqueComparisonDisplay,
)


def build_svm_smote(ctx, k_neighbors, sampling_strategy):
    return SVMSMOTE(
        k_neighbors=k_neighbors,
        sampling_strategy=sampling_strategy,
        random_state=ctx.random_state,
    )


def max_neighbours(ctx):
    return min(10, ctx.minority_train - 1)


def needs_binary_target(ctx):
    """``None`` when the technique applies, else the reason it does not."""
    return None if ctx.is_binary else "needs a binary target"


svm_smote = Technique(
    "svm_smote",
    family="over-sampling",
    kind="sampler",
    build=build_svm_smote,
    params=(
        IntParam("k_neighbors", 1, max_neighbours, default=5),
        FloatParam("sampling_strategy", 0.3, 1.0, default=1.0),
    ),
    requires=needs_binary_target,
    description="SMOTE around the support vectors of an SVM.",
)

# %%
# The search
# ----------
# One built-in technique, the new one, and a plain sampler object.
X, y = make_classification(
    n_samples=800,
    n_features=8,
    n_informative=4,
    weights=[0.92],
    flip_y=0,
    class_sep=0.8,
    random_state=3,
)
clf = AutoBalancedClassifier(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    techniques=["balanced_class_weight", svm_smote, NearMiss(version=1)],
    n_trials=10,
    cv=3,
    random_state=0,
)
clf.fit(X, y)
print("searched:", list(clf.search_space_.techniques))
print("chosen:  ", clf.best_params_)

# %%
# The Optuna parameters of the new technique are prefixed with its name
# (``svm_smote__k_neighbors``), so they exist only in trials that chose it.
clf.study_.trials_dataframe(attrs=("number", "params", "state")).head(10)

# %%
# How they compare
# ----------------
# The leaderboard pairs each technique's best trial with ``none`` on the same
# folds. With three folds and a few dozen positives, differences are rarely
# significant: read ``p_value`` before believing a ranking.
clf.leaderboard_[["family", "mean_test_score", "diff_vs_none", "p_value", "params"]]

# %%
fig, ax = plt.subplots(figsize=(7, 4))
TechniqueComparisonDisplay.from_estimator(clf, ax=ax)
plt.tight_layout()
plt.show()
