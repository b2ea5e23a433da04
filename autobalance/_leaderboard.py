"""The leaderboard of a fitted search: one row per technique, compared with
the ``none`` baseline fold by fold.

A table computed from ``cv_results_`` and the search's folds, below the
estimator so that ``AutoBalancedClassifier.leaderboard_`` needs nothing from
above it; :func:`autobalance.leaderboard` (in ``reporting``) checks its
argument and calls :func:`search_leaderboard`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._stats import TESTS, check_test, paired_p_value

__all__ = ["search_leaderboard"]

BASELINE = "none"


def split_scores(cv_results, n_splits):
    """The ``(n_trials, n_splits)`` array of fold scores."""
    return np.column_stack(
        [np.asarray(cv_results[f"split{i}_test_score"], float) for i in range(n_splits)]
    )


def best_complete_trials(cv_results):
    """For every technique, the index of its best COMPLETE trial (or None),
    in the order techniques first appear."""
    best = {}
    for i, technique in enumerate(cv_results["technique"]):
        best.setdefault(technique, None)
        if cv_results["state"][i] != "COMPLETE":
            continue
        j = best[technique]
        if (
            j is None
            or cv_results["mean_test_score"][i] > cv_results["mean_test_score"][j]
        ):
            best[technique] = i
    return best


def test_train_ratio(clf):
    """Mean ``n_test / n_train`` of the inner folds, for the corrected t-test.

    The fold sizes depend only on the class counts for the usual splitters, so
    they are recomputed from the search context; splitters that need groups
    fall back to the k-fold ratio ``1 / (k - 1)``.
    """
    ctx = clf.search_space_.context
    y_like = np.repeat(ctx.classes, ctx.class_counts)
    try:
        sizes = [
            len(te) / len(tr)
            for tr, te in clf.cv_.split(np.zeros((len(y_like), 1)), y_like)
        ]
        return float(np.mean(sizes))
    except Exception:  # groups required, or an exotic splitter
        return 1.0 / max(clf.n_splits_ - 1, 1)


def search_leaderboard(clf, *, test="corrected_t"):
    """The table of :func:`autobalance.leaderboard` for a fitted search
    ``clf`` (not checked here)."""
    check_test(test)
    res = clf.cv_results_
    scores = split_scores(res, clf.n_splits_)
    best = best_complete_trials(res)
    base = best.get(BASELINE)
    ratio = test_train_ratio(clf)
    techniques = np.asarray(res["technique"], dtype=object)
    states = np.asarray(res["state"], dtype=object)

    rows = []
    for technique, i in best.items():
        mine = techniques == technique
        row = {
            "technique": technique,
            "family": res["family"][np.flatnonzero(mine)[0]],
            "algorithm": math.nan,
            "mean_test_score": math.nan,
            "std_test_score": math.nan,
            "n_trials": int(mine.sum()),
            "n_complete": int(np.sum(mine & (states == "COMPLETE"))),
            "mean_fit_time": math.nan,
            "diff_vs_none": math.nan,
            "p_value": math.nan,
            "params": {},
            "trial_number": -1,
        }
        if i is not None:
            params = dict(res["params"][i])
            params.pop("technique", None)
            algorithm = params.pop("algorithm", None)
            row.update(
                algorithm=algorithm if algorithm is not None else technique,
                mean_test_score=float(res["mean_test_score"][i]),
                std_test_score=float(res["std_test_score"][i]),
                mean_fit_time=float(res["mean_fit_time"][i]),
                params=params,
                trial_number=int(res["trial_number"][i]),
            )
            if base is not None:
                row["diff_vs_none"] = float(np.mean(scores[i] - scores[base]))
                row["p_value"] = (
                    math.nan
                    if i == base
                    else paired_p_value(
                        scores[i], scores[base], test=test, test_train_ratio=ratio
                    )
                )
        rows.append(row)

    board = pd.DataFrame(rows).set_index("technique")
    board = board.sort_values(
        "mean_test_score", ascending=False, na_position="last", kind="stable"
    )
    ranks = board["mean_test_score"].rank(ascending=False, method="min")
    board.insert(0, "rank", ranks.astype("Int64"))
    board.attrs["test"] = TESTS[test]
    board.attrs["scorer"] = repr(clf.scorer_)
    board.attrs["n_splits"] = clf.n_splits_
    return board
