"""Stratified row subsamples: those that keep every row of a rare class up to
a floor (the search's subsample of large data, ``max_search_samples``, and
the training rows of a screening trial's folds, ``_screening``), and those
that keep the class shares (a timed refit's ladder, ``_refit``, and a pilot
fit, ``_objective``)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "MIN_SEARCH_ROWS_PER_CLASS",
    "refit_subsample",
    "search_subsample",
    "subsample_counts",
]

#: Rows of each class a search subsample keeps at least (or all of them).
MIN_SEARCH_ROWS_PER_CLASS = 1_000


def subsample_counts(counts, max_rows):
    """Rows of each class of :func:`search_subsample`'s subsample of rows of
    class counts ``counts`` (the counts themselves when ``max_rows`` is
    ``None`` or covers every row)."""
    counts = np.asarray(counts, dtype=int)
    n = int(counts.sum())
    if max_rows is None or n <= max_rows:
        return counts
    # Each class keeps a floor of rows, but the floors together never exceed
    # the subsample (a small ``max_rows`` with many rows of every class).
    floor = np.minimum(counts, min(MIN_SEARCH_ROWS_PER_CLASS, max_rows // len(counts)))
    quota = np.maximum(np.round(counts * max_rows / n).astype(int), floor)
    # Guaranteed shares of small classes come out of the largest classes,
    # down to their own floors.
    for i in np.argsort(-counts, kind="stable"):
        excess = int(quota.sum()) - max_rows
        if excess <= 0:
            break
        quota[i] -= min(excess, quota[i] - floor[i])
    return quota


def search_subsample(y, classes, counts, max_rows, seed):
    """Row indices of a stratified subsample of ``max_rows`` rows (sorted),
    or ``None`` when every row is searched."""
    if max_rows is None or len(y) <= max_rows:
        return None
    quota = subsample_counts(counts, max_rows)
    rng = np.random.RandomState(seed)
    rows = [
        rng.choice(np.flatnonzero(y == c), size=int(q), replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(rows))


def refit_subsample(y, classes, n_rows, seed):
    """Row indices (sorted) of a stratified subsample of ``n_rows`` of the
    rows of ``y``, each class its share of ``n_rows`` (largest remainders
    rounded up, at least one row of every class), so the subsample keeps the
    data's class prior.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> rows = refit_subsample(y, np.array([0, 1]), 50, seed=0)
    >>> len(rows), int(np.sum(y[rows] == 1))
    (50, 5)
    """
    y = np.asarray(y)
    counts = np.array([np.sum(y == c) for c in classes])
    exact = counts * (n_rows / len(y))
    quota = np.floor(exact).astype(int)
    # Largest remainders first, as many as rows are left.
    for i in np.argsort(-(exact - quota), kind="stable")[: n_rows - quota.sum()]:
        quota[i] += 1
    quota = np.minimum(np.maximum(quota, np.minimum(counts, 1)), counts)
    rng = np.random.RandomState(seed)
    rows = [
        rng.permutation(np.flatnonzero(y == c))[:q]
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(rows))
