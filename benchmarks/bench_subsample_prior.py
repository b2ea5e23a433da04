"""Probabilities and thresholds after a search on a subsample.

``max_search_samples`` keeps at least ``min(rows, 1000)`` rows of each class,
so with few positives the searched rows hold them several times more often
than the data. The correction and the threshold must hold on the data's prior.
This prints, for each calibration path and two threshold objectives, the mean
predicted probability on 20,000 new rows against their prevalence, and the
recall on those rows against the out-of-fold recall in ``threshold_info_``.

Run::

    python benchmarks/bench_subsample_prior.py

Synthetic data only (``make_classification``, 1 % positives); about 10 s.
"""

import warnings

from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

from autobalance import AutoBalancedClassifier

PATHS = (
    ("none", ["none"], "auto"),
    ("prior_shift", ["random_under_sampler"], "prior_shift"),
    ("sigmoid", ["smote"], "sigmoid"),
    ("isotonic", ["smote"], "isotonic"),
)


def main():
    warnings.simplefilter("ignore")
    X, y = make_classification(
        n_samples=40_000,
        n_features=8,
        n_informative=5,
        weights=[0.99],
        flip_y=0,
        class_sep=0.8,
        random_state=0,
    )
    X_train, y_train, X_new, y_new = X[:20_000], y[:20_000], X[20_000:], y[20_000:]
    print(f"prevalence: training {y_train.mean():.4f}, new rows {y_new.mean():.4f}")
    print("| path | threshold | searched share | mean proba / prevalence - 1 |"
          " recall new rows | recall out of fold |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, techniques, calibration in PATHS:
        for threshold in ("f1", {"recall": 0.8}):
            clf = AutoBalancedClassifier(
                LogisticRegression(),
                techniques=techniques,
                calibration=calibration,
                threshold=threshold,
                max_search_samples=2_000,
                n_trials=3,
                cv=3,
                random_state=0,
            ).fit(X_train, y_train)
            mean = clf.predict_proba(X_new)[:, 1].mean()
            recall = recall_score(y_new, clf.predict(X_new))
            searched = y_train[clf.search_rows_].mean()
            print(
                f"| {name} | {threshold} | {searched:.3f} | "
                f"{mean / y_new.mean() - 1:+.2f} | {recall:.3f} | "
                f"{clf.threshold_info_['recall']:.3f} |"
            )


if __name__ == "__main__":
    main()
