"""
.. _probabilities_gallery:

Probabilities to trust, decisions to act on
===========================================

Balancing (weights, over- or under-sampling) makes a model believe the
minority is far more frequent than it is, so its predicted risks are too high.
:class:`~autobalance.AutoBalancedClassifier` corrects them after the search
(``calibration="auto"``) and can tune the decision threshold for a goal
(``threshold=``): here, a missed positive costs ten times a false alarm.
Last, :func:`~autobalance.minority_learning_curve` asks whether more positives
would help.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import (
    AutoBalancedClassifier,
    ReliabilityDisplay,
    minority_learning_curve,
)

X, y = make_classification(
    n_samples=1500,
    n_features=8,
    n_informative=4,
    weights=[0.93],
    flip_y=0,
    class_sep=0.8,
    random_state=4,
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
costs = {"fp": 1, "fn": 10}
clf = AutoBalancedClassifier(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    techniques=["balanced_class_weight", "random_over_sampler", "smote"],
    threshold=costs,
    n_trials=8,
    cv=3,
    random_state=0,
)
clf.fit(X_train, y_train)
print("chosen:", clf.best_technique_)

# %%
# The probability correction
# --------------------------
# ``calibration_`` says what was done and why, with out-of-fold log loss,
# Brier score and ROC AUC before and after the correction (on the search's
# folds: rows the models did not see). A prior shift is monotone, so ROC AUC
# does not move.
info = clf.calibration_
pd.DataFrame(
    {
        metric: [info[f"oof_{metric}_before"], info[f"oof_{metric}_after"]]
        for metric in ("log_loss", "brier", "roc_auc")
    },
    index=["before", "after"],
).round(4).assign(method=info["method"])

# %%
print(info["reason"])

# %%
# Reliability, out of fold
# ------------------------
# ``decision_rule_.out_of_fold()`` holds the out-of-fold predictions the
# correction was fitted on: the model's raw probabilities and the corrected
# ones, for the same rows. Points on the diagonal mean "a predicted 10 % risk
# happens 10 % of the time".
oof = clf.decision_rule_.out_of_fold()
ReliabilityDisplay.from_predictions(
    oof["y"],
    {"raw (balanced model)": oof["raw"][:, 1], "corrected": oof["proba"][:, 1]},
    pos_label=1,
    n_bins=6,
)
plt.tight_layout()
plt.show()

# %%
# A threshold for a cost
# ----------------------
# If the probabilities were perfectly calibrated, the cost-optimal threshold
# would be ``c_fp / (c_fp + c_fn) = 1 / 11`` (``bayes_threshold``). The
# threshold is instead chosen on out-of-fold predictions, where it directly
# minimises the cost; with few positives and imperfect probabilities the two
# can differ. The chosen threshold, with its out-of-fold precision and recall:
info = pd.Series(clf.threshold_info_).drop(["objective", "pos_label"], errors="ignore")
info.astype(float).round(3)

# %%
# On the held-out rows, the tuned rule against the most probable class:
proba = clf.predict_proba(X_test)[:, 1]
rows = {}
for name, pred in [
    ("most probable class", (proba >= 0.5).astype(int)),
    (f"threshold {clf.threshold_:.3f}", clf.predict(X_test)),
]:
    tn, fp, fn, tp = confusion_matrix(y_test, pred).ravel()
    rows[name] = {
        "false alarms": fp,
        "missed positives": fn,
        "recall": tp / (tp + fn),
        "total cost": costs["fp"] * fp + costs["fn"] * fn,
    }
pd.DataFrame(rows).T.round(3)

# %%
# Would more positives help?
# --------------------------
# The chosen setup is re-scored with 25 to 100 % of the minority training rows;
# the trend of the score against the log of their number gives the expected
# gain of one more doubling, with a 95 % interval.
curve = minority_learning_curve(clf, X_train, y_train, n_repeats=2, random_state=0)
print(curve.sentence)
curve.plot()
plt.tight_layout()
plt.show()

# %%
np.round(curve.mean, 3)
