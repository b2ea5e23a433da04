"""
.. _multiclass_gallery:

Several classes, one of them rare
=================================

With more than two classes, :class:`~autobalance.AutoBalancedClassifier`
maximises the one-vs-rest ROC AUC (``"roc_auc_ovr"``) by default, samplers
bring every class to at least (over-sampling) or the larger classes to at most
(under-sampling) a searched ratio of the extreme class, and custom class
weights grow with the rarity of each class. ``cv_results_`` also records each
trial's recall per class, so you can see which class a technique helps.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import AutoBalancedClassifier

X, y_int = make_classification(
    n_samples=900,
    n_features=8,
    n_informative=5,
    n_classes=3,
    n_clusters_per_class=1,
    weights=[0.75, 0.19, 0.06],
    class_sep=1.0,
    random_state=0,
)
y = np.array(["common", "uncommon", "rare"])[y_int]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
pd.Series(y_train).value_counts()

# %%
# The search
# ----------
clf = AutoBalancedClassifier(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    n_trials=10,
    cv=3,
    random_state=0,
)
clf.fit(X_train, y_train)
print("scorer:", clf.scorer_)
print("chosen:", clf.best_technique_, clf.best_params_)

# %%
# Recall per class, per technique
# -------------------------------
# ``mean_test_recall_<class>`` is the mean recall of each class over the inner
# folds, with the model's own decision (the most probable class).
results = pd.DataFrame(clf.cv_results_)
recall_columns = [f"mean_test_recall_{c}" for c in clf.classes_]
best = (
    results[results["state"] == "COMPLETE"]
    .sort_values("mean_test_score", ascending=False)
    .drop_duplicates("technique")
    .set_index("technique")[["mean_test_score", *recall_columns]]
)
best.round(3)

# %%
ax = (
    best[recall_columns]
    .rename(columns=lambda c: c.rsplit("_", 1)[-1])
    .plot.barh(figsize=(7, 3.5))
)
ax.legend(title="class", loc="upper left", bbox_to_anchor=(1.01, 1))
ax.set_xlabel("mean recall over the inner folds")
ax.set_title("Which class does each technique help?")
ax.invert_yaxis()
plt.tight_layout()
plt.show()

# %%
# On held-out rows
# ----------------
# The confusion matrix of the refitted winner on the 30 % test split.
ConfusionMatrixDisplay.from_estimator(
    clf, X_test, y_test, labels=["common", "uncommon", "rare"], colorbar=False
)
plt.title(f"{clf.best_technique_} + logistic regression")
plt.tight_layout()
plt.show()
