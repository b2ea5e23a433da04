"""The class prior of the rows a model is used on, and of the rows it was
searched on.

A search on a stratified subsample keeps at least 1,000 rows of each class
(``max_search_samples``), so with 0.1-1 % positives it sees the small classes
several times more often than the data holds them. The refitted model is
trained on every row, with the data's prior. Everything fitted on the
search's out-of-fold predictions (the recalibration, the decision threshold,
the out-of-fold metrics reported with them) must hold on the data's prior, not
on the subsample's. One mechanism does this, in two parts:

- **row weights**: each searched row weighs ``(share of its class in all rows)
  / (share of its class in the searched rows)``, so that the weighted class
  shares of the searched rows are the data's. A recalibration, a threshold or
  a metric fitted with these weights is fitted for the data's prior. Sample
  weights given to ``fit`` multiply these, and the class totals are then
  weighted: a class's share is its rows' total weight over all rows' total
  weight, in the data and in the searched rows alike.
- **the model's own prior**: a model trained on a fold of the subsample
  predicts as if the small classes were common; the refit does not. Its
  out-of-fold output is moved to the footing of the refit by the ratio of the
  class shares the two models were effectively trained on (the class counts
  of their training rows times the factors by which resampling and class
  weights changed them, :func:`~autobalance._oof.prior_shift_factors`).
  When a technique balances the classes to a set ratio (over- or
  under-sampling to a ``sampling_strategy``, ``class_weight="balanced"``),
  both models were trained on the same shares and nothing moves; with
  ``none`` the output moves by the change of prior.

Without a subsample both parts are the identity, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["ClassPrior", "class_counts", "normalised"]


def class_counts(y, classes, sample_weight=None):
    """Rows of each class of ``classes`` in ``y``, as floats; with
    ``sample_weight``, the total weight of each class's rows."""
    y = np.asarray(y)
    if sample_weight is None:
        return np.array([np.sum(y == c) for c in classes], dtype=float)
    w = np.asarray(sample_weight, dtype=float)
    return np.array([w[y == c].sum() for c in classes], dtype=float)


def normalised(values):
    values = np.asarray(values, dtype=float)
    return values / values.sum()


@dataclass(frozen=True)
class ClassPrior:
    """Class counts of all training rows and of the rows the search used.

    Parameters
    ----------
    classes : ndarray
        The class labels, sorted.
    counts : ndarray
        Rows of each class in all training rows (what the refit sees); with
        sample weights, the total weight of each class's rows.
    searched_counts : ndarray
        Rows (or total weights) of each class in the rows the search
        cross-validated on.

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance._prior import ClassPrior
    >>> prior = ClassPrior(np.array([0, 1]), np.array([990, 10]),
    ...                    np.array([90, 10]))
    >>> prior.row_weights(np.array([0, 1])).round(3)
    array([1.1, 0.1])
    >>> prior.is_identity
    False
    """

    classes: np.ndarray
    counts: np.ndarray
    searched_counts: np.ndarray

    @classmethod
    def from_labels(
        cls, classes, y_all, y_searched, weight_all=None, weight_searched=None
    ):
        """The prior of ``y_all`` against that of ``y_searched``; with sample
        weights (``weight_all`` and ``weight_searched``, the weights of the
        same rows), the class totals are weighted."""
        return cls(
            np.asarray(classes),
            class_counts(y_all, classes, weight_all),
            class_counts(y_searched, classes, weight_searched),
        )

    @property
    def shares(self):
        """Class shares of all training rows."""
        return normalised(self.counts)

    @property
    def searched_shares(self):
        """Class shares of the searched rows."""
        return normalised(self.searched_counts)

    @property
    def is_identity(self):
        """Whether the searched rows have the data's class shares."""
        return bool(np.allclose(self.shares, self.searched_shares, rtol=1e-9))

    def class_weights(self):
        """Weight of a searched row of each class: its class's share in all
        rows over its share in the searched rows."""
        return self.shares / self.searched_shares

    def row_weights(self, y):
        """Weights of searched rows with labels ``y`` (ones without a
        subsample), scaled so that they average 1 over the searched rows."""
        y = np.asarray(y)
        out = np.ones(len(y), dtype=float)
        if self.is_identity:
            return out
        for c, w in zip(self.classes, self.class_weights(), strict=True):
            out[y == c] = w
        return out

    def to_refit(self, fold, refit_shares):
        """One fold's out-of-fold prediction on the refit's footing and with
        the weights of its rows (a new :class:`FoldPrediction`).

        Parameters
        ----------
        fold : FoldPrediction
            With ``train_shares``: the class shares its model was effectively
            trained on (``None`` when they are not known).
        refit_shares : ndarray or None
            The class shares the refitted model was effectively trained on.
        """
        if self.is_identity:
            return fold
        weight = self.row_weights(fold.y)
        if fold.weight is not None:
            weight = weight * fold.weight
        raw = fold.raw
        moved = (
            fold.kind == "predict_proba"
            and refit_shares is not None
            and fold.train_shares is not None
        )
        if moved:
            # Odds of each class scale with its share in the training rows.
            raw = raw * (np.asarray(refit_shares) / fold.train_shares)
            raw = raw / raw.sum(axis=1, keepdims=True)
        return replace(
            fold,
            raw=raw,
            weight=weight,
            train_shares=refit_shares if moved else fold.train_shares,
            on_refit_prior=moved,
        )
