"""Paired tests over cross-validation folds (computed in :mod:`autobalance._stats`,
below the estimator, so that its leaderboard and the nested evaluation share
them)."""

from .._stats import TESTS, check_test, corrected_std_error, paired_p_value

__all__ = ["TESTS", "check_test", "corrected_std_error", "paired_p_value"]
