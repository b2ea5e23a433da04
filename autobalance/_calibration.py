"""Probabilities on the original class prior.

Balancing changes what a model learns about class frequencies: a model trained
on data over-sampled to 1:1, or with the minority weighted 10 times, predicts
risks that are several times too high. Two corrections put the probabilities
back on the class prior of the data:

- **prior shift**, exact when the change of class ratio is known (random
  over- and under-sampling, class weights): the odds of each class are divided
  by the factor by which resampling and weighting multiplied its share,
  ``p(c | x) ∝ q(c | x) / r_c``, then renormalised. It is monotone, so the ranking
  (ROC AUC) is unchanged.
- **recalibration** (sigmoid or isotonic, one-vs-rest for several classes),
  fitted on out-of-fold predictions of the chosen setup, for techniques whose
  effect on the probabilities is not known in closed form (SMOTE family,
  cleaning, ensembles) and for models whose scores are not probabilities.
  The sigmoid's slope is kept >= 0 and isotonic steps are broken by the
  model's own score, so for two classes the ranking (ROC AUC) is unchanged too.

Everything here works on one unfitted *template* estimator and the folds of a
search: the out-of-fold predictions come from models that did not see the rows
they predict, and every calibrator is scored on folds it was not fitted on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from joblib import Parallel, delayed
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline as SkPipeline

from ._build import ClassWeightAdapter, fit_weighted, resampled_weights
from ._compat import take_rows
from ._prior import class_counts, normalised

__all__ = [
    "CALIBRATION_METHODS",
    "fit_calibration",
    "out_of_fold_predictions",
    "prior_shift_factors",
]

CALIBRATION_METHODS = ("auto", "prior_shift", "sigmoid", "isotonic", "off")
_EPS = 1e-12


def check_calibration(calibration):
    """The calibration method as one of :data:`CALIBRATION_METHODS`."""
    if calibration is None:
        return "off"
    if calibration not in CALIBRATION_METHODS:
        raise ValueError(
            f"calibration={calibration!r} is not supported; use one of "
            f"{CALIBRATION_METHODS} (or None for the raw model output)."
        )
    return calibration


# ---------------------------------------------------------------------------
# Model output
# ---------------------------------------------------------------------------
def raw_response(estimator, X):
    """``(output, kind)``: ``predict_proba`` when the model has it, else
    ``decision_function``."""
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(X), dtype=float), "predict_proba"
    return np.asarray(estimator.decision_function(X), dtype=float), "decision_function"


def _features(raw, kind, n_classes):
    """One column per calibrator: the log-odds of a probability, or a score."""
    if n_classes == 2:
        if kind == "predict_proba":
            p = np.clip(raw[:, 1], _EPS, 1 - _EPS)
            return logit(p)[:, None]
        return raw.reshape(-1, 1)
    if kind == "predict_proba":
        p = np.clip(raw, _EPS, 1 - _EPS)
        return logit(p)
    return raw


_counts = class_counts


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
    normalised geometric mean of its members' shares: a member's log-odds
    move by the log of its shares, the average by their mean.

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
        return normalised(np.exp(np.mean(np.log(shares), axis=0)))
    shift = prior_shift_factors(estimator, y_train, classes, sample_weight)
    if shift is None:
        return None
    counts = _counts(np.asarray(y_train), np.asarray(classes), sample_weight)
    return normalised(counts * shift.factors)


# ---------------------------------------------------------------------------
# Corrections (fitted, picklable)
# ---------------------------------------------------------------------------
class Identity:
    """Keeps the model's probabilities."""

    method = "none"

    def transform(self, raw, kind):
        if kind != "predict_proba":
            raise AttributeError("The model gives scores, not probabilities.")
        return raw


class PriorShiftCorrection:
    """Divides the odds of each class by its factor, then renormalises."""

    method = "prior_shift"

    def __init__(self, factors):
        self.factors = np.asarray(factors, dtype=float)

    def transform(self, raw, kind):
        if kind != "predict_proba":
            raise AttributeError("A prior-shift correction needs probabilities.")
        with np.errstate(divide="ignore"):
            log_p = np.log(raw) - np.log(self.factors)
        log_p -= np.max(log_p, axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)


class _Sigmoid:
    """Platt scaling ``sigmoid(a * f + b)`` with ``a >= 0`` (monotone), fitted
    with Platt's smoothed targets."""

    def fit(self, f, t, w=None):
        f = np.asarray(f, dtype=float)
        w = np.ones(len(t)) if w is None else np.asarray(w, dtype=float)
        n_pos, n_neg = w[t].sum(), w[~t].sum()
        target = np.where(t, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
        scale = float(np.std(f)) or 1.0
        z = f / scale

        def loss(ab):
            s = ab[0] * z + ab[1]
            value = -np.sum(w * (target * log_expit(s) + (1 - target) * log_expit(-s)))
            grad_s = w * (expit(s) - target)
            return value, np.array([np.dot(grad_s, z), grad_s.sum()])

        start = np.array([1.0, math.log((n_pos + 1) / (n_neg + 1))])
        res = minimize(
            loss,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None), (None, None)],
        )
        self.a_, self.b_ = res.x[0] / scale, res.x[1]
        return self

    def predict(self, f):
        return expit(self.a_ * f + self.b_)


class _Isotonic:
    """Isotonic regression, kept off 0 and 1 by ``1 / (2 n)``.

    Its steps would tie rows the model ranks apart and so lower ROC AUC; a
    strictly increasing term of weight ``1e-6`` keeps the model's ranking
    inside each step (the probabilities move by less than ``1e-6``).
    """

    TIE_BREAK = 1e-6

    def fit(self, f, t, w=None):
        floor = 1.0 / (2 * len(t))
        self.iso_ = IsotonicRegression(
            y_min=floor, y_max=1 - floor, out_of_bounds="clip"
        ).fit(f, t.astype(float), sample_weight=w)
        self.center_ = float(np.median(f))
        self.scale_ = float(np.std(f)) or 1.0
        return self

    def predict(self, f):
        order = expit((np.asarray(f, dtype=float) - self.center_) / self.scale_)
        return (1 - self.TIE_BREAK) * self.iso_.predict(f) + self.TIE_BREAK * order


_CALIBRATORS = {"sigmoid": _Sigmoid, "isotonic": _Isotonic}


class Recalibration:
    """Sigmoid or isotonic calibrators on the model's output (one-vs-rest for
    several classes, then renormalised)."""

    def __init__(self, method, n_classes):
        self.method = method
        self.n_classes = n_classes

    def fit(self, raw, kind, y, classes, sample_weight=None):
        feats = _features(raw, kind, self.n_classes)
        if self.n_classes == 2:
            targets = [y == classes[1]]
        else:
            targets = [y == c for c in classes]
        self.calibrators_ = [
            _CALIBRATORS[self.method]().fit(feats[:, j], t, sample_weight)
            for j, t in enumerate(targets)
        ]
        return self

    def transform(self, raw, kind):
        feats = _features(raw, kind, self.n_classes)
        cols = [cal.predict(feats[:, j]) for j, cal in enumerate(self.calibrators_)]
        if self.n_classes == 2:
            return np.column_stack([1 - cols[0], cols[0]])
        p = np.column_stack(cols)
        total = p.sum(axis=1, keepdims=True)
        return np.where(total > 0, p / np.where(total > 0, total, 1), 1 / p.shape[1])


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
    """

    test: np.ndarray
    y: np.ndarray
    raw: np.ndarray
    kind: str
    shift: PriorShift | None
    train_shares: np.ndarray | None = None
    weight: np.ndarray | None = None
    on_refit_prior: bool = False


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
):
    """The :class:`FoldPrediction` of a fold model fitted on ``y_train``
    (with sample weights ``weight_train``), whose output on its test rows
    (weighing ``weight_test``) is ``raw`` (of ``kind``)."""
    return FoldPrediction(
        np.asarray(test),
        y_test,
        raw,
        kind,
        prior_shift_factors(estimator, y_train, classes, weight_train),
        trained_shares(estimator, y_train, classes, weight_train),
        weight=None if weight_test is None else np.asarray(weight_test, dtype=float),
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
        est, raw, kind, test, y[train], y[test], classes, w_train, w_test
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
    """
    y = np.asarray(y)
    return list(
        Parallel(n_jobs=n_jobs)(
            delayed(_fit_fold)(template, X, y, train, test, classes, sample_weight)
            for train, test in splits
        )
    )


# ---------------------------------------------------------------------------
# Choosing and fitting the correction
# ---------------------------------------------------------------------------
def _metrics(folds, probas, classes):
    """Mean over folds of log loss, Brier score and ROC AUC (like the search),
    each row with its fold's ``weight``."""
    if probas is None:
        return {"log_loss": None, "brier": None, "roc_auc": None}
    ll, brier, auc = [], [], []
    for fold, p in zip(folds, probas, strict=True):
        p = np.clip(p, _EPS, 1 - _EPS)
        p = p / p.sum(axis=1, keepdims=True)
        w = fold.weight
        ll.append(log_loss(fold.y, p, labels=classes, sample_weight=w))
        if len(classes) == 2:
            brier.append(
                brier_score_loss(fold.y, p[:, 1], pos_label=classes[1], sample_weight=w)
            )
            auc.append(roc_auc_score(fold.y == classes[1], p[:, 1], sample_weight=w))
        else:
            brier.append(brier_score_loss(fold.y, p, labels=classes, sample_weight=w))
            auc.append(
                roc_auc_score(
                    fold.y, p, multi_class="ovr", labels=classes, sample_weight=w
                )
            )
    return {
        "log_loss": float(np.mean(ll)),
        "brier": float(np.mean(brier)),
        "roc_auc": float(np.mean(auc)),
    }


def _cross_fitted(method, folds, classes):
    """Calibrated out-of-fold probabilities: the calibrator that corrects fold
    ``k`` is fitted on the other folds' out-of-fold predictions only."""
    out = []
    for k, fold in enumerate(folds):
        others = [f for j, f in enumerate(folds) if j != k]
        cal = Recalibration(method, len(classes)).fit(
            np.concatenate([f.raw for f in others]),
            fold.kind,
            np.concatenate([f.y for f in others]),
            classes,
            _weights(others),
        )
        out.append(cal.transform(fold.raw, fold.kind))
    return out


def _weights(folds):
    """The pooled row weights of ``folds`` (``None`` when all are ones)."""
    if all(f.weight is None for f in folds):
        return None
    return np.concatenate(
        [np.ones(len(f.y)) if f.weight is None else f.weight for f in folds]
    )


def _row_log_loss(folds, probas, classes):
    """Each out-of-fold row's log loss under ``probas``."""
    out = []
    for fold, p in zip(folds, probas, strict=True):
        p = np.clip(p, _EPS, 1.0)
        column = np.searchsorted(classes, fold.y)
        out.append(-np.log(p[np.arange(len(fold.y)), column] / p.sum(axis=1)))
    return np.concatenate(out)


def _clearly_lower_loss(folds, probas, reference, classes, z=2.0):
    """Whether ``probas`` have a lower mean (weighted) log loss than
    ``reference`` by more than ``z`` standard errors of the paired row
    differences."""
    diff = _row_log_loss(folds, reference, classes) - _row_log_loss(
        folds, probas, classes
    )
    w = _weights(folds)
    w = np.ones(len(diff)) if w is None else w
    mean = np.average(diff, weights=w)
    n_eff = w.sum() ** 2 / np.sum(w**2)
    se = np.sqrt(np.average((diff - mean) ** 2, weights=w) / max(n_eff - 1, 1))
    return bool(mean > z * se)


def _recalibrations(methods, folds, classes):
    """``{method: (out-of-fold log loss, cross-fitted probabilities)}``."""
    scored = {}
    for name in methods:
        probas = _cross_fitted(name, folds, classes)
        scored[name] = (_metrics(folds, probas, classes)["log_loss"], probas)
    return scored


def _auto_method(template_kind, shift, kind):
    """(method, reason) that ``calibration="auto"`` applies."""
    if kind != "predict_proba":
        return "recalibrate", "the model gives scores, not probabilities"
    if template_kind == "estimator":
        return (
            "recalibrate",
            "an ensemble (balanced inside its members, or an average of several "
            "setups' log-odds)",
        )
    if shift is None:
        return "recalibrate", "the change of class prior is not known"
    if shift.sources and not shift.exact:
        return (
            "recalibrate",
            f"{', '.join(shift.sources)} changes the data, not only the class prior",
        )
    if shift.sources:
        return (
            "prior_shift",
            f"{', '.join(shift.sources)} changes the class prior by a known factor",
        )
    return "none", "the model's own probabilities (no balancing applied)"


def fit_calibration(
    template,
    fitted,
    X,
    y,
    splits,
    classes,
    *,
    method="auto",
    technique_kind=None,
    folds=None,
    n_jobs=None,
    y_fitted=None,
    prior=None,
    sample_weight=None,
    fitted_sample_weight=None,
):
    """Choose and fit the probability correction of one setup.

    Parameters
    ----------
    template : estimator
        The unfitted setup; refitted on each training fold of ``splits``.
    fitted : estimator
        The same setup fitted on all of ``X, y`` (what ``predict_proba`` uses).
    X : array-like or DataFrame
    y : ndarray
    splits : list of (train, test) index arrays
        The folds the out-of-fold predictions come from.
    classes : ndarray
        Class labels in the order of ``fitted.classes_``.
    method : {"auto", "prior_shift", "sigmoid", "isotonic", "off"}
        ``"auto"``: prior shift when the change of class ratio is known
        exactly, recalibration (sigmoid or isotonic, whichever has the lower
        out-of-fold log loss) otherwise, nothing when no balancing was applied
        and the model gives probabilities.
    technique_kind : str or None
        ``Technique.kind`` of the setup (``"estimator"`` for ensembles).
    folds : list of FoldPrediction or None
        Out-of-fold predictions, if already computed.
    n_jobs : int or None
    y_fitted : ndarray or None
        The labels ``fitted`` was trained on, when not ``y`` (a search on a
        subsample, a refit on every row).
    prior : ClassPrior or None
        The class counts of ``y_fitted`` against those of ``y``. When they
        differ (a search on a subsample), the out-of-fold predictions are
        moved to the footing of ``fitted`` and weighted to the prior of
        ``y_fitted`` before anything is fitted on them
        (:class:`~autobalance._prior.ClassPrior`), so that the correction
        holds on the rows ``fitted`` is used on.
    sample_weight : ndarray or None
        Weights of the rows of ``X`` (the folds' models are fitted with them
        when ``folds`` is ``None``; ``folds`` carry them otherwise).
    fitted_sample_weight : ndarray or None
        The weights ``fitted`` was trained with, when ``y_fitted`` is given
        (``sample_weight`` otherwise): its prior shift and class prior are
        those of the weighted rows.

    Returns
    -------
    correction : Identity, PriorShiftCorrection or Recalibration
    info : dict
        ``method``, ``requested``, ``reason``, ``factors`` (prior shift),
        ``candidates`` (out-of-fold log loss of each recalibration tried), and
        the out-of-fold ``log_loss``, ``brier`` and ``roc_auc`` before and after
        (``oof_<metric>_before`` / ``_after``, means over folds).
    folds : list of FoldPrediction
        The out-of-fold predictions.
    oof_proba : list of ndarray
        Corrected out-of-fold probabilities, one array per fold.

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.over_sampling import RandomOverSampler
    >>> from imblearn.pipeline import make_pipeline
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import StratifiedKFold
    >>> X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    >>> pipe = make_pipeline(RandomOverSampler(random_state=0), LogisticRegression())
    >>> splits = list(StratifiedKFold(3).split(X, y))
    >>> fitted = pipe.fit(X, y)
    >>> corr, info, _, _ = fit_calibration(pipe, fitted, X, y, splits, np.array([0, 1]))
    >>> info["method"]
    'prior_shift'
    >>> info["oof_brier_after"] < info["oof_brier_before"]
    True
    """
    method = check_calibration(method)
    y = np.asarray(y)
    classes = np.asarray(classes)
    if folds is None:
        folds = out_of_fold_predictions(
            template, X, y, splits, classes, n_jobs, sample_weight
        )
    if len(folds) == 1:
        # One split (e.g. a single shuffle split): calibrators are cross-fitted
        # over two halves of its rows.
        fold = folds[0]
        half = np.arange(len(fold.y)) % 2 == 0
        folds = [
            replace(
                fold,
                test=fold.test[m],
                y=fold.y[m],
                raw=fold.raw[m],
                weight=None if fold.weight is None else fold.weight[m],
            )
            for m in (half, ~half)
        ]
    if y_fitted is None:
        y_fitted, fitted_sample_weight = y, sample_weight
    y_fitted = np.asarray(y_fitted)
    final_shift = prior_shift_factors(fitted, y_fitted, classes, fitted_sample_weight)
    if prior is not None and not prior.is_identity:
        refit_shares = trained_shares(fitted, y_fitted, classes, fitted_sample_weight)
        folds = [prior.to_refit(f, refit_shares) for f in folds]
    kind = folds[0].kind
    raw_probas = [f.raw for f in folds] if kind == "predict_proba" else None
    info = {"requested": method, "factors": None, "candidates": None}
    chosen, reason = method, f"calibration={method!r}"
    if method == "auto":
        chosen, reason = _auto_method(technique_kind, final_shift, kind)
    elif method == "off":
        chosen = "none"
    no_proba = kind != "predict_proba"
    if chosen in ("none", "prior_shift") and no_proba and method != "off":
        chosen, reason = "recalibrate", "the model gives scores, not probabilities"
    if chosen == "prior_shift" and (
        final_shift is None or any(f.shift is None for f in folds)
    ):
        chosen, reason = "recalibrate", "the change of class prior is not known"

    if chosen == "prior_shift":
        # A fold moved to the refit's footing is corrected as the refit is.
        shifted = [
            PriorShiftCorrection(
                final_shift.factors if f.on_refit_prior else f.shift.factors
            ).transform(f.raw, kind)
            for f in folds
        ]
        if method == "auto":
            # The prior shift is exact only for a model that learns the
            # (re)weighted posterior; fully grown trees do not (their leaves
            # are pure whatever the weights), and dividing their odds by the
            # change of prior leaves the minority's risk far too low. The
            # out-of-fold log loss decides, on rows no model saw.
            shift_loss = _metrics(folds, shifted, classes)["log_loss"]
            scored = _recalibrations(("sigmoid", "isotonic"), folds, classes)
            best = min(scored, key=lambda n: scored[n][0])
            info["candidates"] = {"prior_shift": shift_loss} | {
                n: v[0] for n, v in scored.items()
            }
            # The prior shift fits nothing, so it stays unless a recalibration
            # is clearly better row by row, not by the noise of a few rows.
            if _clearly_lower_loss(folds, scored[best][1], shifted, classes):
                chosen = best
                reason = (
                    f"{reason}, but a {best} recalibration has a clearly lower "
                    f"out-of-fold log loss ({scored[best][0]:.4g} against "
                    f"{shift_loss:.4g}): the model does not learn the "
                    "reweighted prior exactly"
                )
    if chosen == "none":
        correction, oof = Identity(), raw_probas
    elif chosen == "prior_shift":
        correction, oof = PriorShiftCorrection(final_shift.factors), shifted
        info["factors"] = dict(
            zip(classes.tolist(), final_shift.factors.tolist(), strict=True)
        )
        info["exact"] = final_shift.exact
    else:
        if chosen in ("sigmoid", "isotonic") and info["candidates"] is not None:
            oof = scored[chosen][1]
        else:
            candidates = (
                ("sigmoid", "isotonic") if chosen == "recalibrate" else (chosen,)
            )
            scored = _recalibrations(candidates, folds, classes)
            chosen = min(scored, key=lambda n: scored[n][0])
            info["candidates"] = {n: v[0] for n, v in scored.items()}
            oof = scored[chosen][1]
        correction = Recalibration(chosen, len(classes)).fit(
            np.concatenate([f.raw for f in folds]),
            kind,
            np.concatenate([f.y for f in folds]),
            classes,
            _weights(folds),
        )
    info["method"] = correction.method
    info["reason"] = reason
    before = _metrics(folds, raw_probas, classes)
    after = _metrics(folds, oof, classes)
    for name in ("log_loss", "brier", "roc_auc"):
        info[f"oof_{name}_before"] = before[name]
        info[f"oof_{name}_after"] = after[name]
    shares = normalised(_counts(y_fitted, classes, fitted_sample_weight))
    info["class_prior"] = dict(zip(classes.tolist(), shares.tolist(), strict=True))
    if oof is not None:
        mean = np.average(np.concatenate(oof), axis=0, weights=_weights(folds))
        info["oof_mean_proba"] = dict(zip(classes.tolist(), mean.tolist(), strict=True))
    return correction, info, folds, oof
