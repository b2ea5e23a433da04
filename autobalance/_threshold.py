"""Decisions to act on: a decision threshold tuned on out-of-fold predictions.

The threshold search follows scikit-learn's
:class:`~sklearn.model_selection.TunedThresholdClassifierCV`: on each fold, the
objective is computed at 100 thresholds evenly spaced between the lowest and
highest out-of-fold score, the fold curves are interpolated onto 100 thresholds
spanning all folds and averaged, and the best mean wins. With the same folds,
model and objective both give the same threshold. A target recall is
searched exactly instead, over every positive's out-of-fold score.

:class:`DecisionRule` bundles the probability correction of
:mod:`autobalance._calibration` with that threshold; ``AutoBalancedClassifier``
uses it in ``predict``, ``predict_proba`` and ``decision_function``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from types import SimpleNamespace

import numpy as np
from scipy.special import logit

from ._calibration import check_calibration, fit_calibration
from ._oof import out_of_fold_predictions, raw_response

__all__ = ["DecisionRule", "check_threshold", "fit_decision_rule", "tune_threshold"]

THRESHOLD_OBJECTIVES = ("f1", "balanced_accuracy", "youden")
N_THRESHOLDS = 100


@dataclass(frozen=True)
class ThresholdObjective:
    """What the threshold maximises, with the minority class as positive.

    ``kind`` is one of ``"f1"``, ``"balanced_accuracy"``, ``"youden"``,
    ``"cost"`` (minus the mean cost per row, ``costs[true, predicted]`` with
    index 0 the negative and 1 the positive class) or ``"recall"`` (the highest
    threshold whose out-of-fold recall reaches ``target``).
    """

    kind: str
    costs: np.ndarray | None = None
    target: float | None = None

    def describe(self):
        if self.kind == "cost":
            return f"cost (matrix {self.costs.tolist()})"
        if self.kind == "recall":
            return f"recall >= {self.target:g}"
        return self.kind


def _cost_from_dict(spec):
    unknown = set(spec) - {"fp", "fn", "tp", "tn"}
    if unknown:
        raise ValueError(
            f"threshold cost dict has unknown keys {sorted(unknown)}; use 'fp' and "
            "'fn' (and optionally 'tp', 'tn'), e.g. {'fp': 1, 'fn': 10}."
        )
    if not {"fp", "fn"} <= set(spec):
        raise ValueError(
            "threshold cost dict needs both 'fp' and 'fn' (cost of a false positive "
            "and of a false negative), e.g. {'fp': 1, 'fn': 10}."
        )
    return np.array(
        [
            [spec.get("tn", 0.0), spec["fp"]],
            [spec["fn"], spec.get("tp", 0.0)],
        ],
        dtype=float,
    )


def check_threshold(threshold, classes, pos_label=None):
    """Validate ``threshold`` for the target; ``None`` or a ThresholdObjective.

    Parameters
    ----------
    threshold : None, str, dict or array-like of shape (2, 2)
        ``None``; ``"f1"``, ``"balanced_accuracy"``, ``"youden"``; a cost dict
        ``{"fp": c_fp, "fn": c_fn}`` (minority class positive; optionally
        ``"tp"``, ``"tn"``); a cost matrix ``costs[true, predicted]`` with rows
        and columns in the order of ``classes``; or ``{"recall": r}``.
    classes : ndarray
        Sorted class labels.
    pos_label : label or None
        The positive class; default the minority class is not known here, so
        the matrix is taken in ``classes`` order and re-ordered by the caller.

    Returns
    -------
    objective : ThresholdObjective or None

    Examples
    --------
    >>> import numpy as np
    >>> check_threshold({"fp": 1, "fn": 5}, np.array([0, 1])).costs
    array([[0., 1.],
           [5., 0.]])
    """
    if threshold is None:
        return None
    if len(classes) != 2:
        raise ValueError(
            f"threshold={threshold!r} needs a binary target, but y has "
            f"{len(classes)} classes; use threshold=None (the most probable class)."
        )
    if isinstance(threshold, str):
        if threshold not in THRESHOLD_OBJECTIVES:
            raise ValueError(
                f"threshold={threshold!r} is not supported; use one of "
                f"{THRESHOLD_OBJECTIVES}, a cost dict like {{'fp': 1, 'fn': 10}}, "
                "a 2x2 cost matrix, {'recall': 0.9} or None."
            )
        return ThresholdObjective(threshold)
    if isinstance(threshold, dict):
        if set(threshold) == {"recall"}:
            target = threshold["recall"]
            if not isinstance(target, Real) or not 0 < target <= 1:
                raise ValueError(
                    f"threshold={{'recall': {target!r}}}: the target recall must be "
                    "a number in (0, 1], e.g. {'recall': 0.9}."
                )
            return ThresholdObjective("recall", target=float(target))
        costs = _cost_from_dict(threshold)
        in_class_order = False
    else:
        try:
            costs = np.asarray(threshold, dtype=float)
        except (TypeError, ValueError):
            costs = None
        if costs is None or costs.shape != (2, 2):
            raise ValueError(
                f"threshold={threshold!r} is not a valid cost matrix; give a 2x2 "
                "array costs[true, predicted] in the order of classes_, a dict "
                "like {'fp': 1, 'fn': 10}, a name in "
                f"{THRESHOLD_OBJECTIVES}, {{'recall': 0.9}} or None."
            )
        in_class_order = True
    if not np.all(np.isfinite(costs)):
        raise ValueError("threshold costs must be finite numbers.")
    errors = costs[0, 1] + costs[1, 0] - costs[0, 0] - costs[1, 1]
    if errors <= 0:
        raise ValueError(
            "threshold costs must make mistakes cost more than correct decisions "
            "(cost of a false positive + false negative > cost of true ones)."
        )
    if in_class_order and pos_label is not None and pos_label == classes[0]:
        costs = costs[::-1, ::-1]
    return ThresholdObjective("cost", costs=costs)


def _confusion(y_pos, scores, thresholds, weight=None):
    """Weighted tp, fp, fn, tn at each threshold (predict positive when
    score >= t); each row counts ``weight`` (ones when ``None``)."""
    w = np.ones(len(y_pos)) if weight is None else np.asarray(weight, dtype=float)
    pred = scores[None, :] >= thresholds[:, None]
    tp = (pred & y_pos) @ w
    fp = (pred & ~y_pos) @ w
    n_pos = float(w[y_pos].sum())
    fn = n_pos - tp
    tn = float(w.sum()) - n_pos - fp
    return tp, fp, fn, tn


def _objective_values(objective, y_pos, scores, thresholds, weight=None):
    tp, fp, fn, tn = _confusion(y_pos, scores, thresholds, weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        tnr = np.where(tn + fp > 0, tn / (tn + fp), 0.0)
        if objective.kind == "f1":
            denom = 2 * tp + fp + fn
            return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
    if objective.kind == "balanced_accuracy":
        return (tpr + tnr) / 2
    if objective.kind == "youden":
        return tpr + tnr - 1
    if objective.kind == "recall":
        return tpr
    c = objective.costs
    cost = c[0, 0] * tn + c[0, 1] * fp + c[1, 0] * fn + c[1, 1] * tp
    return -cost / (tp + fp + fn + tn)


def _mean_objective_curve(objective, y_pos, scores, weights):
    """``(grid, mean)``: the objective of each fold at 100 thresholds
    between its lowest and highest score, interpolated onto 100 thresholds
    spanning all folds and averaged (as TunedThresholdClassifierCV does)."""
    fold_thresholds, fold_values = [], []
    for yp, s, w in zip(y_pos, scores, weights, strict=True):
        th = np.linspace(s.min(), s.max(), N_THRESHOLDS)
        fold_thresholds.append(th)
        fold_values.append(_objective_values(objective, yp, s, th, w))
    grid = np.linspace(
        min(th.min() for th in fold_thresholds),
        max(th.max() for th in fold_thresholds),
        N_THRESHOLDS,
    )
    mean = np.mean(
        [
            np.interp(grid, th, v)
            for th, v in zip(fold_thresholds, fold_values, strict=True)
        ],
        axis=0,
    )
    return grid, mean


def _recall_curve(y_pos, scores, weights):
    """``(grid, mean)``: the mean over folds of each fold's (weighted) recall
    at every score of a positive row, exactly.

    Recall only changes at a positive's score, so these thresholds are all
    there is; a 100-point grid between the lowest and highest score was
    coarse where the positives' scores crowd, and a target of 0.8 landed at
    0.85 or more, with more false positives than the target needs.
    """
    pos_scores = [s[yp] for yp, s in zip(y_pos, scores, strict=True)]
    grid = np.unique(np.concatenate(pos_scores))
    curves = []
    for yp, s, w in zip(y_pos, scores, weights, strict=True):
        order = np.argsort(s[yp], kind="stable")
        pos_scores, pos_weights = s[yp][order], w[yp][order]
        # Weight of the positives scoring at least each sorted score.
        at_least = np.append(np.cumsum(pos_weights[::-1])[::-1], 0.0)
        first = np.searchsorted(pos_scores, grid, side="left")
        curves.append(at_least[first] / pos_weights.sum())
    return grid, np.mean(curves, axis=0)


def tune_threshold(y_splits, score_splits, objective, pos_label, weight_splits=None):
    """The threshold that maximises ``objective`` averaged over folds.

    Parameters
    ----------
    y_splits : list of ndarray
        True labels of each fold's test rows.
    score_splits : list of ndarray
        Out-of-fold scores (probability of ``pos_label``) of the same rows.
    objective : ThresholdObjective
    pos_label : label
        The positive class.
    weight_splits : list of (ndarray or None) or None
        Weights of the same rows (``None``: ones). A search on a subsample
        weighs its rows back to the data's class prior
        (:class:`~autobalance._prior.ClassPrior`), so that precision, F1 and
        costs are those of the rows the model is used on.

    Returns
    -------
    threshold : float
    info : dict
        ``objective``, ``threshold``, ``pos_label``, ``score`` (mean objective
        at the threshold), out-of-fold ``precision``, ``recall``,
        ``specificity`` and ``positive_rate`` at it (rows pooled over folds),
        and for costs the ``bayes_threshold`` a calibrated model would use.

    Examples
    --------
    >>> import numpy as np
    >>> y = [np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])]
    >>> s = [np.array([0.1, 0.4, 0.35, 0.8]), np.array([0.2, 0.6, 0.3, 0.9])]
    >>> t, info = tune_threshold(y, s, check_threshold("f1", np.array([0, 1])), 1)
    >>> round(info["recall"], 2)
    1.0
    """
    y_pos = [np.asarray(y) == pos_label for y in y_splits]
    scores = [np.asarray(s, dtype=float) for s in score_splits]
    if any(np.isclose(s.min(), s.max()) for s in scores):
        raise ValueError(
            "The chosen setup makes constant out-of-fold predictions on a fold, so "
            "no decision threshold can be tuned; use threshold=None."
        )
    if weight_splits is None:
        weight_splits = [None] * len(scores)
    weights = [
        np.ones(len(s)) if w is None else np.asarray(w, dtype=float)
        for s, w in zip(scores, weight_splits, strict=True)
    ]
    if objective.kind == "recall":
        grid, mean = _recall_curve(y_pos, scores, weights)
        # The highest threshold that reaches the target; the lowest positive
        # score always does (every fold's recall is 1 there).
        best = int(np.flatnonzero(mean >= objective.target - 1e-12).max())
    else:
        grid, mean = _mean_objective_curve(objective, y_pos, scores, weights)
        best = int(np.argmax(mean))
    threshold = float(grid[best])

    all_pos, all_s = np.concatenate(y_pos), np.concatenate(scores)
    all_w = np.concatenate(weights)
    tp, fp, fn, tn = (
        v[0] for v in _confusion(all_pos, all_s, np.array([threshold]), all_w)
    )
    info = {
        "objective": objective.describe(),
        "threshold": threshold,
        "pos_label": pos_label.item() if hasattr(pos_label, "item") else pos_label,
        "score": float(mean[best]),
        "precision": float(tp / (tp + fp)) if tp + fp else 0.0,
        "recall": float(tp / (tp + fn)) if tp + fn else 0.0,
        "specificity": float(tn / (tn + fp)) if tn + fp else 0.0,
        "positive_rate": float((tp + fp) / all_w.sum()),
    }
    if objective.kind == "cost":
        c = objective.costs
        info["bayes_threshold"] = float(
            (c[0, 1] - c[0, 0]) / (c[0, 1] - c[0, 0] + c[1, 0] - c[1, 1])
        )
    return threshold, info


class DecisionRule:
    """Fitted post-processing: probability correction, then decision threshold.

    Parameters
    ----------
    correction : object or None
        A fitted correction from :func:`fit_calibration` (``None``: the raw
        model output).
    classes : ndarray
    threshold : float or None
        Threshold on the (corrected) probability, or on the score when the
        model gives no probabilities, of ``pos_label``. ``None``: the most
        probable class, or the model's own ``predict`` without a correction.
    pos_label : label or None

    Attributes
    ----------
    calibration_info, threshold_info : dict or None
        What :func:`fit_decision_rule` chose and measured.
    oof_folds : list of FoldPrediction or None
        The out-of-fold predictions it was fitted on.
    oof_proba : list of ndarray or None
        Their corrected probabilities, one array per fold.
    """

    def __init__(self, correction, classes, threshold=None, pos_label=None):
        self.correction = correction
        self.classes = np.asarray(classes)
        self.threshold = threshold
        self.pos_label = pos_label
        self.calibration_info = None
        self.threshold_info = None
        self.oof_folds = None
        self.oof_proba = None

    @property
    def passthrough(self):
        return self.correction is None and self.threshold is None

    def has_proba(self, estimator):
        if self.correction is None or self.correction.method in ("none", "prior_shift"):
            return hasattr(estimator, "predict_proba")
        return True

    def out_of_fold(self):
        """The out-of-fold predictions the rule was fitted on, rows pooled.

        Returns
        -------
        oof : dict of ndarray or None
            ``row`` (index into the training data), ``fold``, ``y``, ``raw``
            (the model's probabilities, or scores when it has none) and
            ``proba`` (corrected; ``None`` without probabilities) and
            ``weight`` (the rows' weights back to the class prior of every
            training row after a search on a subsample; ``None``: ones), and
            ``origin``, the fitted models that made them (``"search"``: the
            search's own fold models, at its fidelity; ``"refit"``: the chosen
            setup built as refitted, fitted on each fold). ``None`` when no
            out-of-fold predictions were made (``calibration="off"`` and no
            threshold).
        """
        folds, proba = self.oof_folds, self.oof_proba
        if not folds:
            return None
        return {
            "row": np.concatenate([f.test for f in folds]),
            "fold": np.concatenate([np.full(len(f.y), i) for i, f in enumerate(folds)]),
            "y": np.concatenate([f.y for f in folds]),
            "raw": np.concatenate([f.raw for f in folds]),
            "proba": None if proba is None else np.concatenate(proba),
            "weight": None
            if all(f.weight is None for f in folds)
            else np.concatenate(
                [np.ones(len(f.y)) if f.weight is None else f.weight for f in folds]
            ),
            "origin": folds[0].origin,
        }

    def predict_proba(self, estimator, X):
        if self.correction is None:
            return estimator.predict_proba(X)
        raw, kind = raw_response(estimator, X)
        return self.correction.transform(raw, kind)

    def _pos_score(self, estimator, X):
        """Score of ``pos_label`` that the threshold applies to."""
        if self.correction is None and not hasattr(estimator, "predict_proba"):
            d = np.asarray(estimator.decision_function(X), dtype=float)
            return d if self.pos_label == self.classes[1] else -d
        proba = self.predict_proba(estimator, X)
        return proba[:, int(np.flatnonzero(self.classes == self.pos_label)[0])]

    def predict(self, estimator, X):
        if self.passthrough:
            return estimator.predict(X)
        if self.threshold is None:
            return self.classes[np.argmax(self.predict_proba(estimator, X), axis=1)]
        positive = self._pos_score(estimator, X) >= self.threshold
        neg_label = self.classes[self.classes != self.pos_label][0]
        return np.where(positive, self.pos_label, neg_label)

    def decision_function(self, estimator, X):
        """Log-odds of the corrected probabilities; positive means ``predict``
        says ``classes[1]`` (shifted by the threshold when there is one)."""
        if self.passthrough:
            return estimator.decision_function(X)
        if self.correction is None:
            # A threshold on the raw output.
            if hasattr(estimator, "predict_proba"):
                p = np.clip(estimator.predict_proba(X)[:, 1], 1e-300, 1)
                p0 = np.clip(1 - p, 1e-300, 1)
                score = np.log(p) - np.log(p0)
                cut = _logit_threshold(self.threshold, self.pos_label, self.classes)
                return score - cut
            d = np.asarray(estimator.decision_function(X), dtype=float)
            cut = (
                self.threshold if self.pos_label == self.classes[1] else -self.threshold
            )
            return d - cut
        proba = self.predict_proba(estimator, X)
        with np.errstate(divide="ignore"):
            log_p = np.log(np.clip(proba, 1e-300, 1))
        if len(self.classes) > 2:
            return log_p
        score = log_p[:, 1] - log_p[:, 0]
        if self.threshold is None:
            return score
        return score - _logit_threshold(self.threshold, self.pos_label, self.classes)


def _logit_threshold(threshold, pos_label, classes):
    """The threshold as log-odds of ``classes[1]``."""
    t = float(np.clip(threshold, 1e-300, 1 - 1e-16))
    cut = float(logit(t))
    return cut if pos_label == classes[1] else -cut


def fit_decision_rule(
    clf,
    X,
    y,
    folds=None,
    y_refit=None,
    prior=None,
    splits=None,
    sample_weight=None,
    refit_sample_weight=None,
):
    """Fit the probability correction and the threshold of a fitted
    ``AutoBalancedClassifier`` on the out-of-fold predictions of its chosen
    setup (re-fitted on the search's folds).

    Parameters
    ----------
    clf : AutoBalancedClassifier
        With ``best_params_``, ``best_estimator_``, ``cv_`` and ``classes_``.
    X : array-like or DataFrame
        The training data of the search.
    y : ndarray
        Its labels.
    folds : list of FoldPrediction or None
        Out-of-fold predictions of the chosen setup on the search's folds, as
        the search made them; ``None`` refits the setup on each fold.
    y_refit : ndarray or None
        The labels ``best_estimator_`` was refitted on, when not ``y`` (the
        search ran on a subsample).
    prior : ClassPrior or None
        The class counts of ``y_refit`` against those of ``y``: the
        correction and the threshold are fitted for the prior of ``y_refit``
        (:class:`~autobalance._prior.ClassPrior`).
    splits : list of (ndarray, ndarray) or None
        The search's folds of ``X, y``; ``None``: ``clf.cv_.split(X, y)``
        (which cannot split by groups).
    sample_weight : ndarray or None
        Weights of the rows of ``X``: the out-of-fold models are fitted with
        them when ``folds`` is ``None`` (``folds`` carry them otherwise), and
        the correction and the threshold are fitted on weighted rows.
    refit_sample_weight : ndarray or None
        The weights ``best_estimator_`` was refitted with, when ``y_refit``
        is given.

    Returns
    -------
    rule : DecisionRule
        With ``calibration_info``, ``threshold_info`` and the out-of-fold
        predictions (``oof_folds``, ``oof_proba``) as attributes.
    """
    method = check_calibration(clf.calibration)
    classes = np.asarray(clf.classes_)
    y = np.asarray(y)
    # The minority of the rows the model is used on (a search subsample keeps
    # small classes at a floor of rows, which can change which is smallest).
    y_used = y if y_refit is None else np.asarray(y_refit)
    counts = np.array([np.sum(y_used == c) for c in classes])
    pos_label = classes[int(np.argmin(counts))] if len(classes) == 2 else None
    objective = check_threshold(clf.threshold, classes, pos_label)
    rule = DecisionRule(None, classes, None, pos_label)
    off = "calibration='off': the raw model output"
    rule.calibration_info = {"method": "none", "requested": method, "reason": off}
    if method == "off" and objective is None:
        return rule

    template = clf._estimator_from_params(clf.best_params_)
    technique = clf.search_space_.techniques.get(clf.best_technique_)
    if technique is None and clf.best_technique_ == "ensemble":
        # Averaged members may each be balanced: recalibrate, as for ensembles.
        technique = SimpleNamespace(kind="estimator")
    if splits is None:
        splits = list(clf.cv_.split(X, y))
    if folds is None:
        folds = out_of_fold_predictions(
            template,
            X,
            y,
            splits,
            classes,
            n_jobs=getattr(clf, "n_jobs", None),
            sample_weight=sample_weight,
        )
    correction, info, folds, oof = fit_calibration(
        template,
        clf.best_estimator_,
        X,
        y,
        splits,
        classes,
        method=method,
        technique_kind=technique.kind if technique is not None else None,
        folds=folds,
        y_fitted=y_refit,
        prior=prior,
        sample_weight=sample_weight,
        fitted_sample_weight=refit_sample_weight,
    )
    if method == "off":
        info.update(method="none", reason=off)
        correction = None
        oof = [f.raw for f in folds] if folds[0].kind == "predict_proba" else None
    rule.correction = correction
    # Which fitted models made the predictions it was fitted on (the search's
    # own, at its fidelity, or the chosen setup refitted on each fold).
    info["oof_origin"] = folds[0].origin
    rule.calibration_info = info
    rule.oof_folds, rule.oof_proba = folds, oof
    if objective is not None:
        pos = int(np.flatnonzero(classes == pos_label)[0])
        if oof is not None:
            scores = [p[:, pos] for p in oof]
        else:
            scores = [f.raw if pos == 1 else -f.raw for f in folds]
            scores = [s.ravel() for s in scores]
        rule.threshold, rule.threshold_info = tune_threshold(
            [f.y for f in folds],
            scores,
            objective,
            pos_label,
            [f.weight for f in folds],
        )
    return rule
