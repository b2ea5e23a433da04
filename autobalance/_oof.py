"""Out-of-fold predictions, and the record of what made them.

A :class:`FoldPrediction` is what one fitted fold model says about the rows it
did not see, with what the rest of the package needs to use it soundly: how
its resampling and class weights shifted the class prior it learned
(:func:`prior_shift_factors`, :func:`trained_shares`), the weights of its rows,
and its ``origin``, which fitted models produced it:

- :data:`SEARCH`: the trial's own fold models, kept by the objective. They run
  at the search's fidelity (a cheaper model, e.g. fewer trees, and the
  searched rows only, which may be a subsample), so they are not exactly the
  model that is refitted.
- :data:`REFIT`: the chosen setup built as the refit builds it (full
  fidelity), fitted on each of the search's folds
  (:func:`out_of_fold_predictions`).

The ensemble, the probability correction, the threshold and the report all
read fold predictions from here; ``calibration_["oof_origin"]`` and
``decision_rule_.out_of_fold()["origin"]`` say which kind a fitted estimator's
decision rule was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.pipeline import Pipeline as SkPipeline

from ._build import ClassWeightAdapter, fit_weighted, resampled_weights
from ._compat import take_rows
from ._prior import class_counts, normalised
from ._threads import folds_in_parallel, restored_limits, run_limited, threads_per_fold

__all__ = [
    "REFIT",
    "SEARCH",
    "FoldPrediction",
    "PriorShift",
    "fold_prediction",
    "out_of_fold_predictions",
    "prior_shift_factors",
    "raw_response",
    "trained_shares",
]

#: ``FoldPrediction.origin`` of the search's own fold models.
SEARCH = "search"
#: ``FoldPrediction.origin`` of the chosen setup refitted on each fold.
REFIT = "refit"

_counts = class_counts


# ---------------------------------------------------------------------------
# Model output
# ---------------------------------------------------------------------------
def raw_response(estimator, X):
    """``(output, kind)``: ``predict_proba`` when the model has it, else
    ``decision_function``."""
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X), dtype=float), "predict_proba"
    return np.asarray(estimator.decision_function(X), dtype=float), "decision_function"


# ---------------------------------------------------------------------------
# Prior shift: how much resampling and weighting changed each class's share
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PriorShift:
    """Per-class factors ``r_c`` by which a fitted setup multiplied the odds.

    Attributes
    ----------
    factors : ndarray of shape (n_classes,)
        ``(rows of c the model saw / rows of c in the data) * weight of c``,
        relative (the largest is 1).
    exact : bool
        Whether the correction is exact (random over/under-sampling without
        smoothing, class weights) or an approximation (synthetic or cleaned
        rows, balanced ensembles).
    sources : tuple of str
        What changed the prior (for reports).
    """

    factors: np.ndarray
    exact: bool
    sources: tuple


def _resampled(sampler, y, classes, sample_weight=None):
    """``(labels, weights, exact)`` of the rows a fitted sampler produced from
    ``y`` (weights: ``sample_weight`` resampled by the rule of
    :func:`~autobalance._build.resampled_weights`, ones without it), or
    ``None`` when they cannot be read from the fitted sampler."""
    weight = np.ones(len(y)) if sample_weight is None else sample_weight
    resampled = resampled_weights(sampler, y, weight)
    if resampled is None:
        return None
    exact = hasattr(sampler, "sample_indices_") and (
        isinstance(sampler, RandomUnderSampler)
        or (isinstance(sampler, RandomOverSampler) and sampler.shrinkage is None)
    )
    return resampled[0], resampled[1], exact


def _class_weights(class_weight, counts, classes):
    if class_weight is None:
        return np.ones(len(classes))
    if isinstance(class_weight, str) and class_weight == "balanced":
        return counts.sum() / (len(classes) * counts)
    if isinstance(class_weight, dict):
        return np.array([float(class_weight.get(c, 1.0)) for c in classes])
    return None


def _unwrap(estimator):
    """``(samplers, final estimator)`` of a fitted estimator."""
    samplers, est = [], estimator
    while isinstance(est, SkPipeline):
        for _, step in est.steps[:-1]:
            if hasattr(step, "fit_resample"):
                samplers.append(step)
        est = est.steps[-1][1]
    return samplers, est


def _is_balanced_ensemble(estimator):
    return type(estimator).__module__.startswith("imblearn.ensemble")


def prior_shift_factors(estimator, y_train, classes, sample_weight=None):
    """How a fitted setup changed the class prior it was trained on.

    With ``sample_weight``, the prior is the weighted one (each class's share
    of the total weight) and a sampler's change is that of the classes' total
    weights, with its rows weighted by the rule of
    :func:`~autobalance._build.resampled_weights`.

    Parameters
    ----------
    estimator : fitted estimator
        A fitted model, ``Pipeline`` (samplers inside are read) or
        :class:`ClassWeightAdapter`.
    y_train : array-like of shape (n_samples,)
        The labels it was fitted on.
    classes : ndarray
        The class labels, in the order of the model's ``classes_``.
    sample_weight : ndarray of shape (n_samples,) or None
        The weights it was fitted with.

    Returns
    -------
    shift : PriorShift or None
        ``None`` when the change cannot be read from the fitted estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> X = np.arange(100.0)[:, None]
    >>> lr = LogisticRegression(class_weight={0: 1, 1: 9}).fit(X, y)
    >>> f = prior_shift_factors(lr, y, np.array([0, 1])).factors
    >>> float(f[1] / f[0])
    9.0
    """
    y_train = np.asarray(y_train)
    classes = np.asarray(classes)
    counts = _counts(y_train, classes, sample_weight)
    rows = _counts(y_train, classes)
    factors, exact, sources = np.ones(len(classes)), True, []
    samplers, final = _unwrap(estimator)
    y_rows, weight = y_train, sample_weight
    for sampler in samplers:
        resampled = _resampled(sampler, y_rows, classes, weight)
        if resampled is None:
            return None
        y_rows, resampled_weight, sampler_exact = resampled
        weight = None if sample_weight is None else resampled_weight
        after = _counts(y_rows, classes, weight)
        factors *= after / counts
        exact = exact and sampler_exact
        sources.append(type(sampler).__name__)
        counts, rows = after, _counts(y_rows, classes)
    if isinstance(final, ClassWeightAdapter):
        class_weight, final = final.class_weight, final.estimator_
    elif "class_weight" in final.get_params(deep=False) and not _is_balanced_ensemble(
        final
    ):
        class_weight = final.get_params(deep=False)["class_weight"]
    else:
        class_weight = None
    weights = _class_weights(class_weight, counts, classes)
    if weights is None:
        return None
    if class_weight is not None:
        sources.append(f"class_weight={class_weight!r}")
    factors *= weights
    if _is_balanced_ensemble(final):
        # Every member is trained on a sample balanced by rows (which keep
        # their weights): an approximation.
        factors *= rows.min() / rows
        exact = False
        sources.append(type(final).__name__)
    return PriorShift(factors / factors.max(), exact, tuple(sources))


def trained_shares(estimator, y_train, classes, sample_weight=None):
    """The class shares a fitted setup was effectively trained on: the class
    counts of ``y_train`` (total weights with ``sample_weight``) times the
    factors by which its resampling and class weights changed them,
    normalised; ``None`` when they cannot be read.

    An ensemble that averages its members' log-odds
    (:class:`~autobalance._ensemble.SoftVotingEnsemble`) was trained on the
    normalised geometric mean of its members' shares (weighted as they are):
    a member's log-odds move by the log of its shares, the average by their
    mean.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> X = np.arange(100.0)[:, None]
    >>> lr = LogisticRegression(class_weight="balanced").fit(X, y)
    >>> trained_shares(lr, y, np.array([0, 1])).round(3)
    array([0.5, 0.5])
    """
    members = getattr(estimator, "log_odds_members_", None)
    if members is not None:
        shares = [trained_shares(m, y_train, classes, sample_weight) for m in members]
        if any(s is None for s in shares):
            return None
        # Weighted as the members' log-odds are (greedy selection's counts).
        weights = getattr(estimator, "log_odds_weights_", None)
        return normalised(np.exp(np.average(np.log(shares), axis=0, weights=weights)))
    shift = prior_shift_factors(estimator, y_train, classes, sample_weight)
    if shift is None:
        return None
    counts = _counts(np.asarray(y_train), np.asarray(classes), sample_weight)
    return normalised(counts * shift.factors)


# ---------------------------------------------------------------------------
# Out-of-fold predictions
# ---------------------------------------------------------------------------
@dataclass
class FoldPrediction:
    """What the setup, fitted on one training fold, says on its test fold.

    Attributes
    ----------
    test : ndarray
        Indices of the test rows in the searched data.
    y : ndarray
        Their labels.
    raw : ndarray
        The model's probabilities (or scores, see ``kind``).
    kind : str
        ``"predict_proba"`` or ``"decision_function"``.
    shift : PriorShift or None
        How resampling and class weights changed the prior the fold's model
        was trained on.
    train_shares : ndarray or None
        The class shares that model was effectively trained on
        (:func:`trained_shares`).
    weight : ndarray or None
        Weights of the test rows in everything fitted on these predictions
        (``None``: ones): the sample weights given to ``fit``, times the
        weights back to the data's class prior after a search on a subsample
        (:class:`~autobalance._prior.ClassPrior`).
    on_refit_prior : bool
        Whether ``raw`` was moved to the footing of the refitted model.
    origin : {"search", "refit"}
        Which fitted models made ``raw``: ``"search"``, the trial's own fold
        models, at the search's fidelity (:data:`SEARCH`); ``"refit"``, the
        chosen setup built as the refit builds it, fitted on each fold
        (:data:`REFIT`).
    """

    test: np.ndarray
    y: np.ndarray
    raw: np.ndarray
    kind: str
    shift: PriorShift | None
    train_shares: np.ndarray | None = None
    weight: np.ndarray | None = None
    on_refit_prior: bool = False
    origin: str = REFIT


def fold_prediction(
    estimator,
    raw,
    kind,
    test,
    y_train,
    y_test,
    classes,
    weight_train=None,
    weight_test=None,
    *,
    origin,
):
    """The :class:`FoldPrediction` of a fold model fitted on ``y_train``
    (with sample weights ``weight_train``), whose output on its test rows
    (weighing ``weight_test``) is ``raw`` (of ``kind``); ``origin`` says
    which models those are (:data:`SEARCH` or :data:`REFIT`)."""
    return FoldPrediction(
        np.asarray(test),
        y_test,
        raw,
        kind,
        prior_shift_factors(estimator, y_train, classes, weight_train),
        trained_shares(estimator, y_train, classes, weight_train),
        weight=None if weight_test is None else np.asarray(weight_test, dtype=float),
        origin=origin,
    )


def _fit_fold(template, X, y, train, test, classes, sample_weight=None):
    w_train, w_test = (
        (None, None)
        if sample_weight is None
        else (sample_weight[train], sample_weight[test])
    )
    est = fit_weighted(clone(template), take_rows(X, train), y[train], w_train)
    raw, kind = raw_response(est, take_rows(X, test))
    return fold_prediction(
        est, raw, kind, test, y[train], y[test], classes, w_train, w_test, origin=REFIT
    )


def out_of_fold_predictions(
    template, X, y, splits, classes, n_jobs=None, sample_weight=None
):
    """Fit a clone of ``template`` on each training fold; predict its test fold.

    Parameters
    ----------
    template : estimator
        Unfitted setup (rebuilt exactly as the search built it).
    X : array-like or DataFrame
    y : ndarray
    splits : iterable of (train, test) index arrays
        The folds of the search.
    classes : ndarray
    n_jobs : int or None
        Folds fitted in parallel.
    sample_weight : ndarray or None
        Row weights: each fold's model is fitted with its training rows'
        (:func:`~autobalance._build.fit_weighted`), and its test rows' weigh
        in everything fitted on its predictions.

    Returns
    -------
    folds : list of FoldPrediction
        Of origin :data:`REFIT`.
    """
    y = np.asarray(y)
    splits = list(splits)
    # Native threads shared out as in the search (see ._threads).
    limit = threads_per_fold(folds_in_parallel(n_jobs, len(splits)))
    with restored_limits(limit):
        return list(
            Parallel(n_jobs=n_jobs)(
                delayed(run_limited)(
                    limit,
                    _fit_fold,
                    template,
                    X,
                    y,
                    train,
                    test,
                    classes,
                    sample_weight,
                )
                for train, test in splits
            )
        )
