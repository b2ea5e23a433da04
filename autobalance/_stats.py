"""Paired tests over cross-validation folds.

Fold scores of two setups evaluated on the same folds are paired, but not
independent: the training sets of k-fold CV overlap, so a plain paired t-test
is overconfident. The corrected resampled t-test of Nadeau and Bengio (2003)
inflates the variance by the test/train size ratio to account for it.

The Wilcoxon signed-rank test makes no normality assumption, but with ``k``
folds its smallest two-sided p-value is ``2 / 2**k``: 0.0625 with 5 folds, so it
can never reach 0.05 there. That is why the corrected t-test is the default.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["TESTS", "corrected_std_error", "paired_p_value"]

TESTS = {
    "corrected_t": "corrected resampled t-test (Nadeau & Bengio, 2003), two-sided",
    "wilcoxon": "Wilcoxon signed-rank test, two-sided",
}


def check_test(test):
    if test not in TESTS:
        raise ValueError(
            f"test={test!r} is not a known paired test; use one of {sorted(TESTS)}."
        )
    return test


def corrected_std_error(values, test_train_ratio):
    """Standard error of the mean of fold values, corrected for the overlap of
    training sets (Nadeau & Bengio): ``sqrt((1/k + n_test/n_train) * var)``."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    k = len(values)
    if k < 2:
        return math.nan
    return float(math.sqrt((1.0 / k + test_train_ratio) * values.var(ddof=1)))


def paired_p_value(a, b, *, test="corrected_t", test_train_ratio):
    """Two-sided p-value that the paired fold scores ``a`` and ``b`` have the
    same mean (``corrected_t``) or a median difference of zero (``wilcoxon``).

    Folds where either score is missing (a pruned trial) are dropped. Returns
    NaN with fewer than two pairs.
    """
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    diff = diff[np.isfinite(diff)]
    k = len(diff)
    if k < 2:
        return math.nan
    if not np.any(diff):
        return 1.0
    if test == "wilcoxon":
        return float(stats.wilcoxon(diff, zero_method="zsplit").pvalue)
    se = corrected_std_error(diff, test_train_ratio)
    if se == 0:  # every fold moved by the same non-zero amount
        return 0.0
    t = float(diff.mean()) / se
    return float(2.0 * stats.t.sf(abs(t), df=k - 1))
