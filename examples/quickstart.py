"""
Quick start: abalone19
======================

``abalone19`` (4,174 rows, 32 positives, imbalance ratio 129) is the classic hard
case of the imbalanced-learning tutorials. This script lets
:class:`~autobalance.AutoBalancedClassifier` choose the technique and the model,
and prints its cross-validated ROC AUC next to plain logistic regression scored
on the very same folds.

Run it with ``python examples/quickstart.py`` (the estimator's defaults; add
``--n-trials 30`` for a longer search; ``--raw`` starts from the table as it
first arrives: ``Sex`` as strings and labels ``"positive"``/``"negative"``).
It needs the ``examples`` extra:
``pip install -e ".[examples]"``.
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import AutoBalancedClassifier
from autobalance.datasets import load_abalone19


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument(
        "--n-trials", type=int, default=None, help="default: the estimator's"
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--raw", action="store_true", help="Sex as strings, labels as strings"
    )
    args = parser.parse_args(argv)

    X, y = load_abalone19(raw=args.raw)
    positive = "positive" if args.raw else 1
    n_pos = int(np.sum(y == positive))
    print(
        f"abalone19: {len(y)} rows, {n_pos} positives "
        f"(imbalance ratio {(len(y) - n_pos) / n_pos:.0f})"
    )

    start = time.perf_counter()
    budget = {} if args.n_trials is None else {"n_trials": args.n_trials}
    clf = AutoBalancedClassifier(random_state=args.random_state, **budget)
    clf.fit(X, y)
    elapsed = time.perf_counter() - start

    # Plain logistic regression on the same folds as the search (one-hot
    # encoding Sex for the raw table).
    if args.raw:
        from sklearn.compose import make_column_transformer
        from sklearn.preprocessing import OneHotEncoder

        plain = make_pipeline(
            make_column_transformer(
                (OneHotEncoder(), ["Sex"]), remainder=StandardScaler()
            ),
            LogisticRegression(max_iter=1000),
        )
    else:
        plain = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    # With string labels the positive class is the second of the sorted
    # labels ("positive"), as in the search.
    scoring = "roc_auc"
    lr_scores = cross_val_score(plain, X, y, cv=clf.cv_, scoring=scoring)

    best = clf.cv_results_["params"][clf.best_index_]
    print(f"\nsearch: {len(clf.cv_results_['params'])} trials in {elapsed:.0f} s")
    print(f"chosen technique : {clf.best_technique_}")
    print(f"chosen model     : {clf.best_algorithm_}")
    print(f"parameters       : {best}")
    std = clf.cv_results_["std_test_score"][clf.best_index_]
    if clf.best_technique_ == "ensemble":
        members = clf.best_params_["members"]
        chosen = "average of " + ", ".join(
            m["technique"] + (f" + {m['algorithm']}" if m["algorithm"] else "")
            for m in members
        )
    else:
        chosen = f"{clf.best_technique_} + {clf.best_algorithm_}"
    label = f"autobalance: {chosen}"
    width = max(len(label), 40) + 2
    print(f"\n{'setup':<{width}}{'CV ROC AUC':>12}")
    print(
        f"{'plain logistic regression':<{width}}{lr_scores.mean():>8.3f} "
        f"+/- {lr_scores.std():.3f}"
    )
    print(f"{label:<{width}}{clf.best_score_:>8.3f} +/- {std:.3f}")

    res = pd.DataFrame(clf.cv_results_)
    best_per = (
        res[res.state == "COMPLETE"]
        .sort_values("mean_test_score", ascending=False)
        .drop_duplicates("technique")[
            ["technique", "param_algorithm", "mean_test_score"]
        ]
    )
    print("\nbest trial of each technique:")
    print(best_per.to_string(index=False, float_format="%.3f"))
    print(
        "\nNote: the search's best score is selected among many trials, so it is "
        "optimistic; nested cross-validation (autobalance.nested_cross_validate) gives "
        "the honest estimate of the whole procedure."
    )


if __name__ == "__main__":
    main()
