"""
.. _report_gallery:

Reading a search: leaderboard, plots and the HTML report
========================================================

A fitted :class:`~autobalance.AutoBalancedClassifier` explains itself:

- :func:`~autobalance.leaderboard` (or ``clf.leaderboard_``): one row per
  technique, its best trial compared with ``none`` fold by fold;
- plots in the style of scikit-learn's ``Display`` objects;
- :func:`~autobalance.report`: all of it in one self-contained HTML file.
"""

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import (
    AutoBalancedClassifier,
    OptimizationHistoryDisplay,
    PrecisionRecallComparisonDisplay,
    ReliabilityDisplay,
    ROCComparisonDisplay,
    TechniqueComparisonDisplay,
    leaderboard,
    report,
)
from autobalance.reporting import out_of_fold_predictions

X, y = make_classification(
    n_samples=800,
    n_features=8,
    n_informative=4,
    weights=[0.9],
    flip_y=0,
    class_sep=0.8,
    random_state=2,
)
clf = AutoBalancedClassifier(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    n_trials=10,
    cv=5,
    random_state=0,
)
clf.fit(X, y)

# %%
# The leaderboard
# ---------------
# ``diff_vs_none`` is the mean paired difference from the best ``none`` trial
# over the same inner folds; ``p_value`` comes from the corrected resampled
# t-test (Nadeau and Bengio), which accounts for overlapping training sets.
# These p-values are not corrected for comparing several techniques, and the
# top row was selected on these folds: the leaderboard explains the search,
# :func:`~autobalance.nested_cross_validate` evaluates it.
board = leaderboard(clf)
board[
    [
        "rank",
        "family",
        "mean_test_score",
        "std_test_score",
        "n_trials",
        "n_complete",
        "diff_vs_none",
        "p_value",
    ]
]

# %%
# Techniques fold by fold
# -----------------------
# One dot per inner fold, coloured by fold so the pairing across techniques
# shows; the bar is the mean and the dashed line is ``none``.
fig, ax = plt.subplots(figsize=(7, 4))
TechniqueComparisonDisplay.from_estimator(clf, ax=ax)
plt.tight_layout()
plt.show()

# %%
# The optimisation history
# ------------------------
# Trials in the order they ran: the enqueued starting points come first, and
# pruned trials (stopped after a few folds, crosses) show the mean of the
# folds they ran.
fig, ax = plt.subplots(figsize=(7, 4))
OptimizationHistoryDisplay.from_estimator(clf, ax=ax)
plt.tight_layout()
plt.show()

# %%
# Curves from out-of-fold predictions
# -----------------------------------
# The chosen setup's out-of-fold predictions are those the search made on its
# folds (kept in ``clf.decision_rule_``); the ``none`` baseline is rebuilt
# exactly as the search built it and cross-validated on the same folds. Compute
# the predictions once and draw several curves from them, each with
# scikit-learn's ``RocCurveDisplay``, ``PrecisionRecallDisplay`` or
# ``CalibrationDisplay``. These are the setups' raw probabilities; given
# ``estimator=clf``, the reliability curve shows what ``clf.predict_proba``
# returns instead (the out-of-fold probabilities after the correction
# ``clf.calibration_`` describes), with the raw ones dashed.
oof = out_of_fold_predictions(clf, X, y)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
ROCComparisonDisplay.from_oof(oof, ax=axes[0])
PrecisionRecallComparisonDisplay.from_oof(oof, ax=axes[1])
ReliabilityDisplay.from_oof(oof, estimator=clf, ax=axes[2], n_bins=5)
plt.tight_layout()
plt.show()

# %%
# The HTML report
# ---------------
# One file with the data summary, the chosen setup, the leaderboard and the
# plots (embedded as images, so it can be mailed or archived alone). Pass
# ``nested=`` a :class:`~autobalance.NestedCVResult` to add the honest
# estimate.
with tempfile.TemporaryDirectory() as folder:
    path = report(clf, Path(folder) / "report.html", X, y, title="A small search")
    html = path.read_text()
print(f"{len(html) // 1024} kB, {html.count('<img')} images")
print(f"{html.count('<table')} tables")
