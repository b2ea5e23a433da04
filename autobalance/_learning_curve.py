"""Would more data help? A learning curve over the number of minority rows.

The chosen setup is re-scored by cross-validation with a growing share of the
minority training rows (all majority rows kept; test folds untouched), repeated
over reshuffled folds and minority subsets. The score is regressed on
``log2(n_minority)`` fold by fold; the mean slope is the expected gain of one
more doubling of the minority class, with a Nadeau-Bengio corrected t-interval
(folds share training rows, so a plain interval would be too narrow).

A log-linear trend keeps rising: it ignores that gains shrink as the score
saturates, so the extrapolation is capped at a perfect score and is, if
anything, optimistic. It answers "is the curve still rising?", not "what will
the score be with ten times more data?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.utils import check_random_state

from ._build import fit_weighted
from ._compat import take_rows
from ._validation import check_group_folds, check_groups, check_sample_weight

__all__ = ["MinorityLearningCurve", "minority_learning_curve"]

_METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "average_precision": "average precision",
    "balanced_accuracy": "balanced accuracy",
    "f1": "F1",
}


@dataclass
class MinorityLearningCurve:
    """The result of :func:`minority_learning_curve`.

    Attributes
    ----------
    fractions : ndarray of shape (n_fractions,)
        Shares of the minority training rows used.
    n_minority : ndarray of shape (n_fractions,)
        Mean number of minority rows in the training folds at each fraction.
    scores : ndarray of shape (n_fractions, n_units)
        Test-fold score of each (repeat, fold) unit at each fraction.
    n_minority_total : int
        Minority rows in the data (what one doubling would add).
    minority_class : label
    metric : str
        Readable name of the score.
    gain : float
        Expected change of the score from doubling the minority rows (the
        mean log-linear slope per doubling, capped so the score stays <= 1).
    gain_low, gain_high : float
        95 % interval of ``gain`` (corrected resampled t-interval).
    current : float
        Mean score with all minority rows.
    n_splits : int
        Folds per repeat.

    Examples
    --------
    Returned by :func:`minority_learning_curve`; two fractions of the
    minority rows are enough for a slope:

    >>> from sklearn.datasets import make_classification
    >>> from sklearn.naive_bayes import GaussianNB
    >>> import autobalance
    >>> X, y = make_classification(n_samples=300, weights=[0.8], random_state=1)
    >>> curve = autobalance.minority_learning_curve(
    ...     GaussianNB(), X, y, fractions=(0.5, 1.0), n_repeats=1, cv=3,
    ...     random_state=0)
    >>> curve.n_minority  # half, then all, of each training fold's 40 positives
    array([20., 40.])
    >>> curve.scores.shape  # one row per fraction, one column per fold
    (2, 3)
    """

    fractions: np.ndarray
    n_minority: np.ndarray
    scores: np.ndarray
    n_minority_total: int
    minority_class: object
    metric: str
    gain: float
    gain_low: float
    gain_high: float
    current: float
    n_splits: int
    slopes: np.ndarray = field(repr=False, default=None)

    @property
    def mean(self):
        """Mean score at each fraction."""
        return self.scores.mean(axis=1)

    @property
    def std(self):
        """Standard deviation of the score over units at each fraction."""
        if self.scores.shape[1] < 2:
            return np.zeros(len(self.fractions))
        return self.scores.std(axis=1, ddof=1)

    @property
    def helps(self):
        """Whether one more doubling is expected to raise the score (the whole
        interval is above zero)."""
        return self.gain_low > 0

    @property
    def sentence(self):
        """The diagnosis in one plain sentence."""
        n = self.n_minority_total
        label = _label(self.minority_class)
        what = (
            f"Collecting about {n} more positives (class {label}, doubling the "
            f"{n} you have)"
        )
        span = f"(range {self.gain_low:+.3f} to {self.gain_high:+.3f})"
        if self.helps:
            return (
                f"{what} would likely raise {self.metric} by about "
                f"{self.gain:.3f} {span}, from {self.current:.3f} to about "
                f"{min(1.0, self.current + self.gain):.3f}."
            )
        return (
            f"{what} would likely change {self.metric} by about {self.gain:+.3f} "
            f"{span}: the score is not clearly rising with more positives, so "
            "more of them alone is unlikely to help much."
        )

    def to_frame(self):
        """One row per (fraction, unit): ``fraction``, ``n_minority``,
        ``repeat``, ``fold``, ``score``."""
        n_units = self.scores.shape[1]
        rows = [
            {
                "fraction": float(f),
                "n_minority": float(self.n_minority[i]),
                "repeat": u // self.n_splits,
                "fold": u % self.n_splits,
                "score": float(self.scores[i, u]),
            }
            for i, f in enumerate(self.fractions)
            for u in range(n_units)
        ]
        return pd.DataFrame(rows)

    def plot(self, ax=None):
        """Plot the curve, its trend and the extrapolated doubling.

        Parameters
        ----------
        ax : matplotlib Axes or None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8))
        x = self.n_minority
        for u in range(self.scores.shape[1]):
            ax.plot(x, self.scores[:, u], color="0.8", lw=0.8, zorder=1)
        ax.errorbar(
            x,
            self.mean,
            yerr=self.std,
            marker="o",
            color="C0",
            capsize=3,
            label=f"mean {self.metric} (± sd)",
            zorder=3,
        )
        x_next = 2 * x[-1]
        ax.errorbar(
            [x_next],
            [min(1.0, self.current + self.gain)],
            yerr=[[self.gain - self.gain_low], [self.gain_high - self.gain]],
            marker="D",
            color="C3",
            capsize=4,
            label="one more doubling (95 % interval)",
            zorder=3,
        )
        ax.plot(
            [x[-1], x_next],
            [self.current, min(1.0, self.current + self.gain)],
            ls="--",
            color="C3",
        )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("minority rows in the training folds")
        ax.set_ylabel(self.metric)
        ax.set_title("Would more positives help?")
        ax.legend(loc="lower right", fontsize="small")
        return ax


def _label(value):
    return repr(value.item() if isinstance(value, np.generic) else value)


def _shrink_neighbours(estimator, n_minority):
    """SMOTE-style samplers need ``k_neighbors`` below the minority rows."""
    update = {
        k: max(1, n_minority - 1)
        for k, v in estimator.get_params(deep=True).items()
        if k.split("__")[-1] == "k_neighbors" and isinstance(v, int) and v >= n_minority
    }
    if update:
        estimator.set_params(**update)
    return estimator


def _one_unit(
    template,
    X,
    y,
    train,
    test,
    order,
    fractions,
    minority,
    scorer,
    sample_weight=None,
):
    """Scores of one (repeat, fold) at each fraction, with nested minority
    subsets (25 % is inside 50 %, ...), so the fractions are paired."""
    y_train = y[train]
    minority_rows = train[y_train == minority][order]
    majority_rows = train[y_train != minority]
    scores, counts = [], []
    X_test, y_test = take_rows(X, test), y[test]
    # The test rows' weights reach the scorer only when there are weights
    # (a custom scorer need not accept them otherwise).
    weighted = {} if sample_weight is None else {"sample_weight": sample_weight[test]}
    for f in fractions:
        n = max(2, math.ceil(f * len(minority_rows) - 1e-9))
        rows = np.sort(np.concatenate([majority_rows, minority_rows[:n]]))
        est = _shrink_neighbours(clone(template), n)
        weight = None if sample_weight is None else sample_weight[rows]
        try:
            fit_weighted(est, take_rows(X, rows), y[rows], weight)
            scores.append(float(scorer(est, X_test, y_test, **weighted)))
        except ValueError:
            scores.append(np.nan)
        counts.append(n)
    return scores, counts


def minority_learning_curve(
    estimator,
    X,
    y,
    *,
    fractions=(0.25, 0.5, 0.75, 1.0),
    n_repeats=3,
    cv=None,
    scoring="roc_auc",
    random_state=None,
    n_jobs=None,
    groups=None,
    sample_weight=None,
):
    """Would more minority data help? Re-score a setup with fewer positives.

    The setup is cross-validated with ``fractions`` of the minority training
    rows (majority rows all kept, test folds untouched), over ``n_repeats``
    reshuffles. The trend of the score against ``log2(n_minority)``, estimated
    fold by fold, gives the expected gain of one more doubling of the minority
    class with a 95 % interval (Nadeau-Bengio corrected t-interval).

    Parameters
    ----------
    estimator : AutoBalancedClassifier or classifier
        A fitted ``AutoBalancedClassifier`` (its chosen setup is rebuilt exactly
        as the search built it, with as many folds as the search), or any
        unfitted binary classifier or pipeline.
    X : array-like or DataFrame of shape (n_samples, n_features)
        The training data.
    y : array-like of shape (n_samples,)
        Binary labels; the rarer class is the minority ("positives").
    fractions : sequence of float, default=(0.25, 0.5, 0.75, 1.0)
        Shares of the minority training rows, increasing, in (0, 1], at least
        two of them.
    n_repeats : int, default=3
        Reshuffles of the folds and of which minority rows are kept.
    cv : int or None, default=None
        Folds per repeat; ``None``: the search's number of folds for an
        ``AutoBalancedClassifier``, else 5.
    scoring : str or callable, default="roc_auc"
        The score to track.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
        (repeat, fold) units fitted in parallel.
    groups : array-like of shape (n_samples,), default=None
        Group labels of the rows: the folds of each repeat are then shuffled
        ``StratifiedGroupKFold`` folds, so no group is both trained on and
        scored.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights: each fit uses its training rows' weights
        (through samplers, as in :meth:`AutoBalancedClassifier.fit`) and each
        score its test rows'. Which minority rows are kept does not depend on
        them. Validated as in :meth:`AutoBalancedClassifier.fit`.

    Returns
    -------
    curve : MinorityLearningCurve
        Scores per fraction and unit, the gain of one doubling with its
        interval, :attr:`~MinorityLearningCurve.sentence` and
        :meth:`~MinorityLearningCurve.plot`.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import minority_learning_curve
    >>> X, y = make_classification(n_samples=400, weights=[0.85], random_state=0)
    >>> curve = minority_learning_curve(LogisticRegression(), X, y, n_repeats=1,
    ...                                 cv=3, random_state=0)
    >>> curve.n_minority.round(1)  # mean positives per training fold, by fraction
    array([11. , 21. , 31.3, 41.3])
    >>> curve.sentence.startswith("Collecting about 62 more positives")
    True
    """
    fractions = np.asarray(fractions, dtype=float)
    if (
        fractions.ndim != 1
        or len(fractions) < 2
        or np.any(fractions <= 0)
        or np.any(fractions > 1)
        or np.any(np.diff(fractions) <= 0)
    ):
        raise ValueError(
            f"fractions={fractions.tolist()} must be at least two increasing "
            "shares in (0, 1], e.g. (0.25, 0.5, 0.75, 1.0)."
        )
    if not isinstance(n_repeats, int) or n_repeats < 1:
        raise ValueError(f"n_repeats={n_repeats!r} must be a positive integer.")
    if hasattr(estimator, "best_params_") and hasattr(estimator, "search_space_"):
        template = estimator._estimator_from_params(estimator.best_params_)
        n_splits = estimator.n_splits_ if cv is None else cv
    elif hasattr(estimator, "search_space_") or type(estimator).__name__ == (
        "AutoBalancedClassifier"
    ):
        raise ValueError(
            "The AutoBalancedClassifier is not fitted; fit it first so its chosen "
            "setup can be re-scored (or pass a plain classifier)."
        )
    elif is_classifier(estimator):
        template = estimator
        n_splits = 5 if cv is None else cv
    else:
        raise TypeError(
            f"estimator must be a fitted AutoBalancedClassifier or a classifier; "
            f"got {type(estimator).__name__}."
        )
    if not isinstance(n_splits, int) or n_splits < 2:
        raise ValueError(f"cv={cv!r} must be an integer number of folds >= 2.")
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
    y = np.asarray(y)
    if len(y) != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has {len(y)} labels; pass the same rows."
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) != 2:
        raise ValueError(
            f"minority_learning_curve needs a binary target; y has {len(classes)} "
            "classes."
        )
    sample_weight = check_sample_weight(sample_weight, y, classes)
    minority = classes[np.argmin(counts)]
    n_min = int(counts.min())
    smallest = math.ceil(fractions[0] * n_min * (n_splits - 1) / n_splits)
    if n_min < n_splits or smallest < 2:
        raise ValueError(
            f"The minority class has {n_min} rows: too few for {n_splits} folds "
            f"with {fractions[0]:g} of them kept. Use fewer folds (cv) or larger "
            "fractions."
        )
    groups = check_groups(groups, len(y))
    if groups is not None:
        check_group_folds(y, groups, classes, n_splits)
    scorer = check_scoring(template, scoring=scoring)
    metric = (
        _METRIC_NAMES.get(scoring, scoring) if isinstance(scoring, str) else "score"
    )

    rng = check_random_state(random_state)
    jobs = []
    kind = StratifiedKFold if groups is None else StratifiedGroupKFold
    for _ in range(n_repeats):
        folds = kind(
            n_splits=n_splits, shuffle=True, random_state=rng.randint(2**31 - 1)
        )
        for train, test in folds.split(np.zeros(len(y)), y, groups):
            n_train_min = int(np.sum(y[train] == minority))
            jobs.append((train, test, rng.permutation(n_train_min)))
    out = Parallel(n_jobs=n_jobs)(
        delayed(_one_unit)(
            template, X, y, tr, te, order, fractions, minority, scorer, sample_weight
        )
        for tr, te, order in jobs
    )
    scores = np.array([s for s, _ in out], dtype=float).T
    n_used = np.array([c for _, c in out], dtype=float).T.mean(axis=1)
    if np.isnan(scores).all(axis=0).any() or np.isnan(scores[-1]).any():
        raise ValueError(
            "The setup failed to fit on some folds even with all minority rows; "
            "check that it fits on this data."
        )

    # Slope of score on log2(n_minority), unit by unit (paired fractions).
    x = np.log2(n_used)
    slopes = []
    for u in range(scores.shape[1]):
        ok = ~np.isnan(scores[:, u])
        if ok.sum() >= 2:
            slopes.append(np.polyfit(x[ok], scores[ok, u], 1)[0])
    slopes = np.asarray(slopes)
    m = len(slopes)
    mean_slope = float(slopes.mean())
    if m > 1:
        # Nadeau & Bengio (2003): units share rows, so inflate the variance.
        se = float(slopes.std(ddof=1)) * math.sqrt(1 / m + 1 / (n_splits - 1))
        half = float(stats.t.ppf(0.975, m - 1)) * se
    else:
        half = float("nan")
    current = float(np.nanmean(scores[-1]))
    room = max(0.0, 1.0 - current)
    return MinorityLearningCurve(
        fractions=fractions,
        n_minority=n_used,
        scores=scores,
        n_minority_total=n_min,
        minority_class=minority,
        metric=metric,
        gain=min(mean_slope, room),
        gain_low=min(mean_slope - half, room),
        gain_high=min(mean_slope + half, room),
        current=current,
        n_splits=n_splits,
        slopes=slopes,
    )
