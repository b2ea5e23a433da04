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
from dataclasses import replace

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ._oof import (  # noqa: F401  (their import path before the move; saved models name it)
    FoldPrediction,
    PriorShift,
    fold_prediction,
    out_of_fold_predictions,
    prior_shift_factors,
    raw_response,
    trained_shares,
)
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
