"""The leaderboard of a fitted search (computed in :mod:`autobalance._leaderboard`,
below the estimator; this module checks the argument)."""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted

from .._classifier import AutoBalancedClassifier
from .._leaderboard import (
    BASELINE,
    best_complete_trials,
    search_leaderboard,
    split_scores,
    test_train_ratio,
)

__all__ = [
    "BASELINE",
    "best_complete_trials",
    "check_search",
    "leaderboard",
    "split_scores",
    "test_train_ratio",
]


def check_search(clf, caller):
    """Raise a clear error unless ``clf`` is a fitted AutoBalancedClassifier."""
    if not isinstance(clf, AutoBalancedClassifier):
        raise TypeError(
            f"{caller} needs a fitted AutoBalancedClassifier; got {type(clf).__name__}."
        )
    check_is_fitted(clf, "cv_results_")


def leaderboard(clf, *, test="corrected_t"):
    """One row per technique of a fitted search, against the ``none`` baseline.

    Each technique is represented by its best COMPLETE trial (pruned and failed
    trials have no full set of fold scores). Every trial was scored on the same
    inner folds, so each technique's fold scores are paired with those of the
    best ``none`` trial: ``diff_vs_none`` is the mean paired difference and
    ``p_value`` a two-sided paired test over the folds.

    The default test is the corrected resampled t-test of Nadeau and Bengio
    (2003): it accounts for the overlap of training sets between folds, which
    makes a plain paired t-test overconfident. The Wilcoxon signed-rank test is
    available, but with 5 folds its smallest two-sided p-value is 0.0625, so it
    can never reach 0.05. Either way these p-values are not corrected for
    comparing many techniques, and the best score was selected on these same
    folds: use :func:`nested_cross_validate` for an unbiased estimate.

    Parameters
    ----------
    clf : AutoBalancedClassifier
        A fitted search.
    test : {"corrected_t", "wilcoxon"}, default="corrected_t"
        The paired test over folds.

    Returns
    -------
    board : pandas.DataFrame
        Index ``technique``, best first; columns ``rank``, ``family``,
        ``algorithm``, ``mean_test_score``, ``std_test_score``, ``n_trials``
        (finished trials of the technique), ``n_complete``, ``mean_fit_time``
        (per fold, seconds), ``diff_vs_none``, ``p_value``, ``params`` (the
        technique's parameters) and ``trial_number``. Techniques without a
        completed trial come last with missing scores. ``board.attrs`` holds
        the test's name and the scorer.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, leaderboard
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=6, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> board = leaderboard(clf)
    >>> float(board.loc["none", "diff_vs_none"])
    0.0
    >>> board.index[0] == clf.best_technique_
    True
    """
    check_search(clf, "leaderboard")
    return search_leaderboard(clf, test=test)
