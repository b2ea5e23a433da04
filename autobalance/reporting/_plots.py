"""Plots of a fitted search, in scikit-learn's Display style.

Each ``*Display`` holds the numbers to draw; ``from_estimator`` computes them
from a fitted :class:`~autobalance.AutoBalancedClassifier` and calls
:meth:`plot`, which draws on ``ax`` (a new figure when ``None``). matplotlib is
imported only when a plot is drawn.

The ROC, precision-recall and reliability curves come from out-of-fold
predictions on the search's own folds (``clf.cv_``); each curve is drawn by
scikit-learn's :class:`~sklearn.metrics.RocCurveDisplay`,
:class:`~sklearn.metrics.PrecisionRecallDisplay` or
:class:`~sklearn.calibration.CalibrationDisplay`. They show *how* the chosen
setup differs from ``none``; the chosen setup was selected on these folds, so
its curve is optimistic. :func:`~autobalance.nested_cross_validate` gives the
unbiased number. The reliability curve of the chosen setup shows what
``predict_proba`` returns: the corrected out-of-fold probabilities its
``decision_rule_`` was fitted on, not the model's raw output.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

from .. import _oof
from .._ensemble import ENSEMBLE
from .._prior import ClassPrior, class_counts
from .._validation import check_sample_weight
from ._leaderboard import (
    BASELINE,
    best_complete_trials,
    check_search,
    leaderboard,
    split_scores,
)

__all__ = [
    "OptimizationHistoryDisplay",
    "OutOfFoldPredictions",
    "PrecisionRecallComparisonDisplay",
    "ROCComparisonDisplay",
    "ReliabilityDisplay",
    "TechniqueComparisonDisplay",
    "out_of_fold_predictions",
]


def _check_matplotlib(caller):
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError(
            f"{caller} needs matplotlib; install it with "
            "`pip install autobalance[plots]`."
        ) from exc


def _axes(ax, caller):
    """``(ax, figure)``: ``ax`` itself, or a new pyplot figure when ``None``."""
    _check_matplotlib(caller)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax, ax.figure


def _plain(label):
    """``np.int64(1)`` -> ``1`` for titles and legends."""
    return label.item() if isinstance(label, np.generic) else label


def _setup_label(params):
    technique = params["technique"]
    algorithm = params.get("algorithm")
    return technique if algorithm in (None, technique) else f"{technique} ({algorithm})"


# ---------------------------------------------------------------------------
# Out-of-fold predictions
# ---------------------------------------------------------------------------
class OutOfFoldPredictions:
    """Out-of-fold class probabilities of named setups on the same folds.

    Attributes
    ----------
    y_true : ndarray of shape (n_samples,)
        The labels.
    classes : ndarray
        Class labels, the column order of every probability array.
    probas : dict of str to ndarray of shape (n_samples, n_classes)
        Out-of-fold probabilities per setup; the first one is the chosen setup.
    minority : label
        The least frequent class (the default positive class).
    sample_weight : ndarray of shape (n_samples,) or None
        Weights of the rows in every curve: the sample weights given to
        :func:`out_of_fold_predictions` (the ones given to ``fit``) times,
        when the search ran on a subsample whose class prior differs from the
        data's, the row's class's share in all rows over its share in the
        searched rows (:class:`~autobalance._prior.ClassPrior`, with class
        totals weighted), so that precision and observed frequencies are
        those of the data. ``None``: ones.
    weighted : bool
        Whether the rows weigh their sample weights (and the fold models
        were fitted with them): ``sample_weight`` was given.

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance.reporting import OutOfFoldPredictions
    >>> oof = OutOfFoldPredictions(
    ...     y_true=np.array([0, 0, 1]),
    ...     classes=np.array([0, 1]),
    ...     probas={"smote": np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])},
    ...     minority=1,
    ... )
    >>> label, scores = oof.scores()
    >>> label, scores["smote"].tolist()
    (1, [0.1, 0.4, 0.8])
    """

    def __init__(
        self, y_true, classes, probas, minority, sample_weight=None, weighted=False
    ):
        self.y_true = y_true
        self.classes = classes
        self.probas = probas
        self.minority = minority
        self.sample_weight = sample_weight
        self.weighted = weighted

    def scores(self, pos_label=None):
        """``(pos_label, {name: probability of pos_label})``."""
        pos_label = self.minority if pos_label is None else pos_label
        hits = np.flatnonzero(self.classes == pos_label)
        if len(hits) == 0:
            raise ValueError(
                f"pos_label={pos_label!r} is not a class; classes are "
                f"{self.classes.tolist()}."
            )
        column = int(hits[0])
        return _plain(pos_label), {n: p[:, column] for n, p in self.probas.items()}


def _search_splits(clf, X, y):
    """The search's folds of the searched rows ``X, y``: ``clf.cv_.split(X,
    y)``, or for a search on groups (which are not kept with the model) the
    test rows of the folds its decision rule kept."""
    try:
        return list(clf.cv_.split(X, y))
    except ValueError as exc:
        kept = getattr(getattr(clf, "decision_rule_", None), "oof_folds", None)
        if kept is None:
            raise ValueError(
                f"The search's folds cannot be remade without its groups ({exc}); "
                "refit with calibration other than 'off' (the default keeps the "
                "folds' predictions) to draw out-of-fold curves of a grouped "
                "search."
            ) from exc
    every = np.arange(len(y))
    return [(np.setdiff1d(every, f.test), np.asarray(f.test)) for f in kept]


def fitted_with_weights(clf):
    """Whether the fitted search ``clf`` was fitted with sample weights
    (``None``: not known, a model saved before it was recorded)."""
    if not hasattr(clf, "_fit_weight_totals"):
        return None
    return clf._fit_weight_totals is not None


def check_report_weights(clf, sample_weight, y, caller):
    """``sample_weight`` of the training rows ``y`` of ``clf``, validated as
    ``fit`` validates it (``None``: no weights), or an error naming the fix
    when it is not what ``clf`` was fitted with. Warns when ``clf`` was
    fitted with weights and none are given: the curves are then unweighted.
    """
    fitted = fitted_with_weights(clf)
    if sample_weight is None:
        if fitted:
            warnings.warn(
                f"{caller}: the estimator was fitted with sample_weight, but none "
                "was given here, so the out-of-fold models are refitted without "
                "weights and the curves and metrics are unweighted; pass the "
                "sample_weight given to fit (sample_weight=...) for those of the "
                "fitted model.",
                UserWarning,
                stacklevel=3,
            )
        return None
    n_weights = np.shape(sample_weight)[0] if np.ndim(sample_weight) == 1 else None
    if n_weights != len(y):
        shape = np.shape(sample_weight) if n_weights is None else f"{n_weights} values"
        raise ValueError(
            f"{caller}: sample_weight has {shape} but X, y have {len(y)} rows; pass "
            "the sample_weight given to fit, one weight per row of X."
        )
    classes = clf.search_space_.context.classes
    weight = check_sample_weight(sample_weight, y, classes)
    if fitted is None:
        return weight
    if weight is None and fitted:
        raise ValueError(
            f"{caller}: sample_weight is the same for every row, but the estimator "
            "was fitted with unequal weights; pass the sample_weight given to fit."
        )
    if weight is not None and not fitted:
        raise ValueError(
            f"{caller}: the estimator was fitted without sample_weight, so its "
            "out-of-fold models cannot be weighted as it was; pass "
            "sample_weight=None, or refit it with these weights "
            "(fit(X, y, sample_weight=...))."
        )
    if weight is not None and not np.allclose(
        class_counts(y, classes, weight), clf._fit_weight_totals, rtol=1e-9
    ):
        raise ValueError(
            f"{caller}: sample_weight is not the one the estimator was fitted with "
            f"(class totals {class_counts(y, classes, weight).tolist()}, fitted "
            f"with {np.asarray(clf._fit_weight_totals).tolist()}); pass the "
            "sample_weight given to fit."
        )
    return weight


def out_of_fold_predictions(clf, X, y, *, sample_weight=None, n_jobs=None):
    """Out-of-fold probabilities of the chosen setup and the ``none`` baseline.

    Both setups are rebuilt exactly as the search built them and fitted on
    each of the search's folds (``clf.cv_.split(X, y)``, or the test rows of
    the folds ``decision_rule_`` kept, as after a search on groups), with
    their training rows' sample weights when ``sample_weight`` is given
    (:func:`~autobalance._oof.out_of_fold_predictions`, as the decision rule
    fits them); resampling happens inside each training fold only. The
    baseline is the best completed ``none`` trial. When ``none`` won, there
    is a single entry.

    The chosen setup is not refitted when its ``decision_rule_`` holds the
    out-of-fold probabilities the search made on these folds (all but
    ``calibration="off"`` without a threshold), the search scored the model it
    refits (no cheaper ``search_params``) and they are the model's own output
    (not moved to the refit's class prior after a search on a subsample).

    Parameters
    ----------
    clf : AutoBalancedClassifier
        A fitted search.
    X, y : array-like
        The data ``clf`` was fitted on. When the search ran on a subsample
        (``max_search_samples``), the predictions are made on the searched
        rows (``clf.search_rows_``), on the search's folds.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        The sample weights ``clf`` was fitted with (one per row of ``X``).
        The fold models are fitted with them, and each row weighs its sample
        weight in the curves (times the weight back to the data's class
        prior after a search on a subsample). ``None`` for an estimator
        fitted with weights warns: the curves are then unweighted. Weights
        other than the ones ``clf`` was fitted with raise ``ValueError``.
    n_jobs : int or None, default=None
        Folds fitted in parallel.

    Returns
    -------
    oof : OutOfFoldPredictions

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier
    >>> from autobalance.reporting import out_of_fold_predictions
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> oof = out_of_fold_predictions(clf, X, y)
    >>> next(iter(oof.probas.values())).shape
    (300, 2)
    """
    check_search(clf, "out_of_fold_predictions")
    ctx = clf.search_space_.context
    y = np.asarray(y)
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    classes, counts = np.unique(y, return_counts=True)
    if (
        n_rows != ctx.refit_samples
        or len(y) != n_rows
        or not np.array_equal(classes, ctx.classes)
        or not np.array_equal(counts, ctx.refit_counts)
    ):
        raise ValueError(
            "X, y are not the data the estimator was fitted on (it saw "
            f"{ctx.refit_samples} rows with class counts "
            f"{ctx.refit_counts.tolist()}); out-of-fold predictions reuse the "
            "search's folds, so pass the training data of fit."
        )
    weight_all = check_report_weights(clf, sample_weight, y, "out_of_fold_predictions")
    y_all, weight = y, weight_all
    rows = getattr(clf, "search_rows_", None)
    if rows is not None:
        # The search's folds split the rows it searched (max_search_samples).
        X = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
        y = y[rows]
        weight = None if weight_all is None else weight_all[rows]
    splits = _search_splits(clf, X, y)
    chosen = f"chosen: {_setup_label(clf.best_params_)}"
    setups = {chosen: clf.best_params_}
    base = best_complete_trials(clf.cv_results_).get(BASELINE)
    if base is not None:
        params = clf.cv_results_["params"][base]
        if params != clf.best_params_:
            setups[_setup_label(params)] = params
    # Fold models fitted with weights are not those of an unweighted report.
    kept = (
        None
        if weight is None and fitted_with_weights(clf)
        else _kept_predictions(clf, len(y))
    )
    probas = {} if kept is None else {chosen: kept}
    for name, params in setups.items():
        if name not in probas:
            probas[name] = _refitted_predictions(
                clf._estimator_from_params(params),
                X,
                y,
                splits,
                ctx.classes,
                weight,
                n_jobs,
            )
    # The same weights as the decision rule's: sample weights times the
    # subsample's prior weights, from weighted class totals (as in the plan).
    prior = ClassPrior.from_labels(ctx.classes, y_all, y, weight_all, weight)
    row_weight = None if prior.is_identity else prior.row_weights(y)
    if weight is not None:
        row_weight = weight if row_weight is None else row_weight * weight
    return OutOfFoldPredictions(
        y,
        classes,
        probas,
        classes[int(np.argmin(counts))],
        row_weight,
        weighted=weight is not None,
    )


def _refitted_predictions(template, X, y, splits, classes, sample_weight, n_jobs):
    """Out-of-fold probabilities of ``template`` fitted on each training
    fold (with its rows' ``sample_weight``), in the order of the rows."""
    tested = np.sort(np.concatenate([test for _, test in splits]))
    if not np.array_equal(tested, np.arange(len(y))):
        raise ValueError(
            "The search's folds do not test every row exactly once (e.g. a single "
            "split), so out-of-fold predictions cannot cover the data; search with "
            "an integer cv or a K-fold splitter to draw out-of-fold curves."
        )
    folds = _oof.out_of_fold_predictions(
        template, X, y, splits, classes, n_jobs=n_jobs, sample_weight=sample_weight
    )
    if any(f.kind != "predict_proba" for f in folds):
        raise ValueError(
            f"{type(template).__name__} has no predict_proba, so its curves cannot "
            "be drawn; search models with predict_proba to report on them."
        )
    proba = np.empty((len(y), len(classes)))
    for fold in folds:
        proba[fold.test] = fold.raw
    return proba


def _kept_predictions(clf, n_rows):
    """The chosen setup's raw out-of-fold probabilities its ``decision_rule_``
    was fitted on, in the order of the searched rows; ``None`` when they are
    not what refitting it on the search's folds would give."""
    rule = getattr(clf, "decision_rule_", None)
    folds = getattr(rule, "oof_folds", None)
    if (
        not folds
        or any(f.kind != "predict_proba" or f.on_refit_prior for f in folds)
        or not _scored_as_refitted(clf.search_space_, clf.best_params_)
    ):
        return None
    kept = rule.out_of_fold()
    row = kept["row"]
    if len(row) != n_rows or not np.array_equal(np.sort(row), np.arange(n_rows)):
        return None  # not a partition of the rows (e.g. a single split)
    proba = np.empty_like(kept["raw"])
    proba[row] = kept["raw"]
    return proba


def _scored_as_refitted(space, params):
    """Whether the search scored ``params`` with the model it refits: no
    cheaper ``search_params`` (fewer trees) on its technique or algorithm."""
    if params["technique"] == ENSEMBLE:
        return all(_scored_as_refitted(space, m) for m in params["members"])
    technique = space.techniques[params["technique"]]
    if technique.kind == "estimator":
        return not technique.search_params
    return not space.algorithms[params["algorithm"]].search_params


def _check_scores(y_true, y_scores, pos_label, caller):
    if not isinstance(y_scores, dict) or not y_scores:
        raise TypeError(
            f"{caller}: y_scores must be a non-empty dict of name -> scores, e.g. "
            "{'chosen': proba[:, 1]}."
        )
    y_true = np.asarray(y_true)
    for name, s in y_scores.items():
        if len(s) != len(y_true):
            raise ValueError(
                f"{caller}: the scores of {name!r} have {len(s)} rows but y_true has "
                f"{len(y_true)}."
            )
    is_pos = y_true == pos_label
    if is_pos.all() or not is_pos.any():
        raise ValueError(
            f"{caller}: y_true must hold pos_label={pos_label!r} and another class."
        )
    return is_pos


class _CurveComparisonDisplay:
    """Shared constructors and drawing of the out-of-fold curve displays.

    Each curve is one scikit-learn Display: subclasses define
    ``_predicted`` (compute and draw a curve from scores with the Display's
    ``from_predictions``), ``_drawn`` (draw stored numbers with the Display's
    constructor and ``plot``), ``_legend``, ``_reference`` (chance line or
    diagonal), ``_labels`` (axis labels and title) and ``_legend_loc``.
    """

    _legend_loc = "best"

    def __init__(self, curves, pos_label, **extra):
        self.curves = curves
        self.pos_label = pos_label
        for key, value in extra.items():
            setattr(self, key, value)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sample_weight=None,
        pos_label=None,
        n_jobs=None,
        ax=None,
        **kwargs,
    ):
        """Compute out-of-fold predictions on the search's folds and plot.

        Parameters
        ----------
        estimator : AutoBalancedClassifier
            A fitted search.
        X, y : array-like
            The data ``estimator`` was fitted on.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            The sample weights ``estimator`` was fitted with: the fold models
            are fitted with them and each row weighs its weight in the
            curves (:func:`out_of_fold_predictions`).
        pos_label : label or None, default=None
            The positive class; ``None`` is the least frequent class.
        n_jobs : int or None, default=None
            Folds fitted in parallel.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure when ``None``.
        **kwargs
            Passed to ``from_predictions``.

        Returns
        -------
        display
        """
        check_search(estimator, f"{cls.__name__}.from_estimator")
        oof = out_of_fold_predictions(
            estimator, X, y, sample_weight=sample_weight, n_jobs=n_jobs
        )
        return cls.from_oof(oof, pos_label=pos_label, ax=ax, **kwargs)

    @classmethod
    def from_oof(cls, oof, *, pos_label=None, ax=None, **kwargs):
        """Plot from :func:`out_of_fold_predictions` (computed once, reused)."""
        pos_label, scores = oof.scores(pos_label)
        return cls.from_predictions(
            oof.y_true,
            scores,
            pos_label=pos_label,
            sample_weight=oof.sample_weight,
            ax=ax,
            **kwargs,
        )

    @classmethod
    def from_predictions(
        cls, y_true, y_scores, *, pos_label, sample_weight=None, ax=None, **kwargs
    ):
        """Curves from the scores of named setups on the same rows.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_scores : dict of str to array-like of shape (n_samples,)
            Probability of ``pos_label`` per setup.
        pos_label : label
            The positive class.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Row weights.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure when ``None``.
        **kwargs
            Options of the curve (``n_bins`` and ``strategy`` for
            :class:`ReliabilityDisplay`).

        Returns
        -------
        display
        """
        is_pos = _check_scores(y_true, y_scores, pos_label, cls.__name__)
        lines = {
            name: (is_pos, np.asarray(s, dtype=float), sample_weight)
            for name, s in y_scores.items()
        }
        extra = cls._extra(is_pos, sample_weight, **kwargs)
        display = cls({}, _plain(pos_label), **extra)
        return display._plot_predictions(lines, ax, **kwargs)

    @classmethod
    def _extra(cls, is_pos, sample_weight=None, **kwargs):
        return {}

    def _plot_predictions(self, lines, ax, **kwargs):
        """Compute and draw the curves of ``{name: (is_pos, scores,
        sample_weight)}`` into ``curves``."""
        ax, _ = _axes(ax, f"{type(self).__name__}.from_predictions")
        self.lines_ = {}
        for name, (is_pos, scores, weight) in lines.items():
            self.curves[name], self.lines_[name] = self._predicted(
                ax, name, is_pos, scores, weight, **kwargs
            )
        return self._finish(ax)

    def plot(self, ax=None):
        """Draw the curves and the reference line on ``ax``.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        self
        """
        ax, _ = _axes(ax, f"{type(self).__name__}.plot")
        self.lines_ = {
            name: self._drawn(ax, name, curve) for name, curve in self.curves.items()
        }
        return self._finish(ax)

    def _finish(self, ax):
        # scikit-learn's labels round the score to 2 decimals, where the
        # chosen setup and none often differ in the third.
        for name, line in self.lines_.items():
            line.set_label(self._legend(name, self.curves[name]))
        self._reference(ax)
        # scikit-learn's square axes would leave the legend's setup names no
        # room beside the curves.
        ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="auto")
        ax.set(**self._labels())
        ax.legend(loc=self._legend_loc, fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class ROCComparisonDisplay(_CurveComparisonDisplay):
    """ROC curves of the chosen setup and the ``none`` baseline.

    Parameters
    ----------
    curves : dict of str to (fpr, tpr, roc_auc)
        One curve per setup.
    pos_label : label
        The positive class.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to Line2D

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, ROCComparisonDisplay
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> disp = ROCComparisonDisplay.from_estimator(clf, X, y)
    >>> sorted(disp.curves) == sorted(disp.lines_)
    True
    """

    _legend_loc = "lower right"

    def __init__(self, curves, pos_label):
        super().__init__(curves, pos_label)

    @staticmethod
    def _predicted(ax, name, is_pos, scores, sample_weight):
        disp = RocCurveDisplay.from_predictions(
            is_pos, scores, sample_weight=sample_weight, ax=ax, name=name
        )
        return (disp.fpr, disp.tpr, float(disp.roc_auc)), disp.line_

    @staticmethod
    def _drawn(ax, name, curve):
        fpr, tpr, roc_auc = curve
        return (
            RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=roc_auc).plot(ax, name=name).line_
        )

    @staticmethod
    def _legend(name, curve):
        return f"{name} (AUC {curve[2]:.3f})"

    def _reference(self, ax):
        ax.plot([0, 1], [0, 1], "k:", lw=1, label="chance")

    def _labels(self):
        return {
            "xlabel": "False positive rate",
            "ylabel": f"True positive rate (positive class {self.pos_label})",
            "title": "ROC, out-of-fold on the search's folds",
        }


class PrecisionRecallComparisonDisplay(_CurveComparisonDisplay):
    """Precision-recall curves of the chosen setup and the ``none`` baseline.

    Parameters
    ----------
    curves : dict of str to (precision, recall, average_precision)
        One curve per setup.
    pos_label : label
        The positive class.
    prevalence : float
        Share of positive rows (the precision of a random ranking).

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to Line2D

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from autobalance import PrecisionRecallComparisonDisplay
    >>> y = np.array([0, 0, 0, 1, 1])
    >>> disp = PrecisionRecallComparisonDisplay.from_predictions(
    ...     y, {"a": [0.1, 0.2, 0.6, 0.7, 0.9], "b": [0.5, 0.1, 0.3, 0.2, 0.9]},
    ...     pos_label=1)
    >>> round(disp.curves["a"][2], 3), disp.prevalence
    (1.0, 0.4)
    """

    _legend_loc = "upper right"

    def __init__(self, curves, pos_label, prevalence):
        super().__init__(curves, pos_label, prevalence=prevalence)

    @staticmethod
    def _predicted(ax, name, is_pos, scores, sample_weight):
        disp = PrecisionRecallDisplay.from_predictions(
            is_pos, scores, sample_weight=sample_weight, ax=ax, name=name
        )
        curve = (disp.precision, disp.recall, float(disp.average_precision))
        return curve, disp.line_

    @staticmethod
    def _drawn(ax, name, curve):
        precision, recall, ap = curve
        disp = PrecisionRecallDisplay(precision, recall, average_precision=ap)
        return disp.plot(ax, name=name).line_

    @classmethod
    def _extra(cls, is_pos, sample_weight=None):
        # Weighted: the chance level of the data's prior, which scikit-learn's
        # unweighted chance line would miss after a search on a subsample.
        return {"prevalence": float(np.average(is_pos, weights=sample_weight))}

    @staticmethod
    def _legend(name, curve):
        return f"{name} (AP {curve[2]:.3f})"

    def _reference(self, ax):
        ax.axhline(
            self.prevalence,
            color="k",
            ls=":",
            lw=1,
            label=f"random ({self.prevalence:.3f})",
        )

    def _labels(self):
        return {
            "xlabel": f"Recall (positive class {self.pos_label})",
            "ylabel": "Precision",
            "title": "Precision-recall, out-of-fold on the search's folds",
        }


def _predict_proba_lines(estimator, oof, pos_label, raw):
    """``(lines, raw_names)``: reliability lines
    ``{name: (y_true, scores, sample_weight)}``
    of a search, and the names among them of raw output before a correction.

    The chosen setup's line is what ``predict_proba`` returns on rows it did
    not see: the out-of-fold probabilities ``decision_rule_`` was fitted on,
    corrected as ``predict_proba`` corrects (cross-fitted for a
    recalibration). ``oof.probas`` are the setups' raw outputs, which a
    correction changes; the raw line is drawn beside when it differs.
    """
    column = int(np.flatnonzero(oof.classes == pos_label)[0])
    chosen, *others = oof.probas
    rule = getattr(estimator, "decision_rule_", None)
    correction = getattr(rule, "correction", None)
    method = getattr(correction, "method", "none")
    folds = rule.out_of_fold() if rule is not None else None
    weight = oof.sample_weight
    if folds is not None and folds["proba"] is not None:
        y_true, proba = folds["y"], folds["proba"][:, column]
        weight = folds.get("weight")
        if not oof.weighted and fitted_with_weights(estimator):
            # An unweighted report of a weighted fit: its rows weigh what
            # the other curves' rows weigh (the subsample's prior only).
            prior_weight = oof.sample_weight
            weight = None if prior_weight is None else prior_weight[folds["row"]]
        kind = rule.oof_folds[0].kind
        before = folds["raw"][:, column] if kind == "predict_proba" else None
    else:
        # calibration="off" and no threshold: no out-of-fold data is kept, as
        # predict_proba is the model's own output.
        y_true, before = oof.y_true, oof.probas[chosen][:, column]
        proba = before
        if correction is not None:  # a rule kept without its data
            proba = correction.transform(oof.probas[chosen], "predict_proba")
            proba = proba[:, column]
    if method == "none":
        name = f"{chosen}, predict_proba (model output, no correction)"
    else:
        name = f"{chosen}, predict_proba ({method}-corrected)"
    lines, raw_names = {name: (y_true, proba, weight)}, []
    if raw and before is not None and not np.allclose(before, proba):
        raw_names.append(f"{chosen}, raw (before correction)")
        lines[raw_names[-1]] = (y_true, before, weight)
    for name in others:
        lines[f"{name}, raw model output"] = (
            oof.y_true,
            oof.probas[name][:, column],
            oof.sample_weight,
        )
    return lines, raw_names


def _weighted_calibration_curve(is_pos, scores, weight, n_bins, strategy):
    """:func:`~sklearn.calibration.calibration_curve` with row weights: the
    same bins, and in each the weighted observed frequency and the weighted
    mean predicted probability."""
    if strategy == "quantile":
        edges = np.percentile(scores, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], scores, side="right")
    total = np.bincount(bins, weights=weight, minlength=n_bins)
    positive = np.bincount(bins, weights=weight * is_pos, minlength=n_bins)
    predicted = np.bincount(bins, weights=weight * scores, minlength=n_bins)
    kept = total > 0
    return positive[kept] / total[kept], predicted[kept] / total[kept]


class ReliabilityDisplay(_CurveComparisonDisplay):
    """Reliability (calibration) curves of the chosen setup and ``none``.

    Resampling and class weights change the class prior a model learns, so
    their raw probabilities are usually too high for the minority class: the
    curve falls below the diagonal. Ranking metrics (ROC AUC) do not see this;
    Brier score and log loss do. ``from_predictions`` takes ``n_bins``
    (default 10) and ``strategy`` (default ``"quantile"``: as many rows in each
    bin, since with imbalanced data uniform bins near 1 are often empty).

    From a fitted search (``from_estimator``, or ``from_oof`` with
    ``estimator``), the chosen setup's curve is what its ``predict_proba``
    returns: the corrected out-of-fold probabilities its ``decision_rule_``
    was fitted on. Its raw probabilities, before the correction, are drawn
    beside (dashed, labelled ``raw``) when the correction changed them. With
    ``calibration="off"`` the model's output is what ``predict_proba``
    returns, and the legend says so.

    Parameters
    ----------
    curves : dict of str to (prob_true, prob_pred)
        Observed frequency and mean predicted probability per bin.
    pos_label : label
        The positive class.
    strategy : {"uniform", "quantile"}
        How the bins were made.
    raw_lines : sequence of str, default=()
        Names of ``curves`` that are raw model output before a correction,
        drawn dashed.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to Line2D

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from autobalance import ReliabilityDisplay
    >>> y = np.array([0, 0, 0, 1, 1, 0, 1, 0])
    >>> p = np.array([0.1, 0.3, 0.2, 0.8, 0.6, 0.4, 0.9, 0.2])
    >>> disp = ReliabilityDisplay.from_predictions(y, {"model": p}, pos_label=1,
    ...                                            n_bins=2)
    >>> len(disp.curves["model"][0])
    2
    """

    _legend_loc = "upper left"

    def __init__(self, curves, pos_label, strategy, raw_lines=()):
        super().__init__(
            curves, pos_label, strategy=strategy, raw_lines=tuple(raw_lines)
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        sample_weight=None,
        pos_label=None,
        n_jobs=None,
        raw=True,
        ax=None,
        **kwargs,
    ):
        """Curves of what the search's ``predict_proba`` returns, out-of-fold.

        Parameters
        ----------
        estimator : AutoBalancedClassifier
            A fitted search.
        X, y : array-like
            The data ``estimator`` was fitted on (for the ``none`` baseline).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            The sample weights ``estimator`` was fitted with: the fold models
            are fitted with them and each row weighs its weight in the
            curves (:func:`out_of_fold_predictions`).
        pos_label : label or None, default=None
            The positive class; ``None`` is the least frequent class.
        n_jobs : int or None, default=None
            Folds fitted in parallel.
        raw : bool, default=True
            Also draw the chosen setup's raw probabilities (before the
            correction) when the correction changed them.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure when ``None``.
        **kwargs
            ``n_bins`` and ``strategy``.

        Returns
        -------
        display : ReliabilityDisplay
        """
        check_search(estimator, f"{cls.__name__}.from_estimator")
        oof = out_of_fold_predictions(
            estimator, X, y, sample_weight=sample_weight, n_jobs=n_jobs
        )
        return cls.from_oof(
            oof, estimator=estimator, pos_label=pos_label, raw=raw, ax=ax, **kwargs
        )

    @classmethod
    def from_oof(
        cls, oof, *, estimator=None, pos_label=None, raw=True, ax=None, **kwargs
    ):
        """Plot from :func:`out_of_fold_predictions` (computed once, reused).

        Parameters
        ----------
        oof : OutOfFoldPredictions
            The setups' raw out-of-fold probabilities.
        estimator : AutoBalancedClassifier or None, default=None
            The search ``oof`` was computed for. Given, the chosen setup's
            curve is what its ``predict_proba`` returns (corrected), with the
            raw one beside; ``None`` draws ``oof`` as it is (raw).
        pos_label : label or None, default=None
            The positive class; ``None`` is the least frequent class.
        raw : bool, default=True
            With ``estimator``, also draw the chosen setup's raw probabilities
            when the correction changed them.
        ax : matplotlib Axes or None, default=None
            Where to draw; a new figure when ``None``.
        **kwargs
            ``n_bins`` and ``strategy``.

        Returns
        -------
        display : ReliabilityDisplay
        """
        pos_label, scores = oof.scores(pos_label)
        if estimator is None:
            return cls.from_predictions(
                oof.y_true,
                scores,
                pos_label=pos_label,
                sample_weight=oof.sample_weight,
                ax=ax,
                **kwargs,
            )
        check_search(estimator, f"{cls.__name__}.from_oof")
        lines, raw_lines = _predict_proba_lines(estimator, oof, pos_label, raw)
        lines = {
            name: (
                _check_scores(y_true, {name: s}, pos_label, cls.__name__),
                np.asarray(s, dtype=float),
                w,
            )
            for name, (y_true, s, w) in lines.items()
        }
        display = cls({}, pos_label, kwargs.get("strategy", "quantile"), raw_lines)
        return display._plot_predictions(lines, ax, **kwargs)

    def _predicted(
        self, ax, name, is_pos, scores, sample_weight, n_bins=10, strategy="quantile"
    ):
        if sample_weight is None:
            disp = CalibrationDisplay.from_predictions(
                is_pos,
                scores,
                n_bins=n_bins,
                strategy=strategy,
                ax=ax,
                name=name,
                ref_line=False,
                **self._styled(name),
            )
            return (disp.prob_true, disp.prob_pred), disp.line_
        # CalibrationDisplay.from_predictions takes no sample_weight: the
        # weighted bins are computed here and drawn by its constructor.
        curve = _weighted_calibration_curve(
            is_pos, scores, sample_weight, n_bins, strategy
        )
        return curve, self._drawn(ax, name, curve)

    def _drawn(self, ax, name, curve):
        prob_true, prob_pred = curve
        # plot never reads y_prob (the scores); a stored curve has only bins.
        disp = CalibrationDisplay(prob_true, prob_pred, None)
        return disp.plot(ax=ax, name=name, ref_line=False, **self._styled(name)).line_

    @classmethod
    def _extra(cls, is_pos, sample_weight=None, n_bins=10, strategy="quantile"):
        return {"strategy": strategy}

    def _styled(self, name):
        if name in self.raw_lines:
            # The chosen setup's colour (the first line's), dashed; an
            # explicit colour leaves ``none`` its colour of the other plots.
            return {"color": "C0", "linestyle": "--", "alpha": 0.6}
        return {}

    @staticmethod
    def _legend(name, curve):
        # What a line shows goes on its own line: the legend stays narrow.
        for what in (", predict_proba", ", raw"):
            name = name.replace(what, "\n" + what[2:])
        return name

    def _reference(self, ax):
        ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfectly calibrated")

    def _labels(self):
        return {
            "xlabel": f"Mean predicted probability of {self.pos_label}",
            "ylabel": "Observed frequency",
            "title": f"Reliability, out-of-fold ({self.strategy} bins)",
        }


# ---------------------------------------------------------------------------
# The search itself
# ---------------------------------------------------------------------------
class TechniqueComparisonDisplay:
    """Fold-by-fold scores of each technique's best trial.

    Each technique's best completed trial is one row; a dot per inner fold
    (coloured by fold, so the pairing across techniques shows), a bar at the
    mean. The dashed line is the ``none`` baseline's mean.

    Parameters
    ----------
    fold_scores : dict of str to ndarray of shape (n_splits,)
        Per technique, best first.
    baseline : float or None
        Mean score of the best ``none`` trial.
    score_name : str
        Axis label.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, TechniqueComparisonDisplay
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=6, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> disp = TechniqueComparisonDisplay.from_estimator(clf)
    >>> list(disp.fold_scores)[0] == clf.best_technique_
    True
    """

    def __init__(self, fold_scores, baseline=None, score_name="score"):
        self.fold_scores = fold_scores
        self.baseline = baseline
        self.score_name = score_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Take the fold scores from a fitted search's ``cv_results_``.

        Parameters
        ----------
        estimator : AutoBalancedClassifier
            A fitted search.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : TechniqueComparisonDisplay
        """
        check_search(estimator, "TechniqueComparisonDisplay.from_estimator")
        board = leaderboard(estimator)
        board = board[board["n_complete"] > 0]
        res = estimator.cv_results_
        scores = split_scores(res, estimator.n_splits_)
        index = {int(n): i for i, n in enumerate(res["trial_number"])}
        fold_scores = {
            t: scores[index[int(board.loc[t, "trial_number"])]] for t in board.index
        }
        baseline = (
            float(board.loc[BASELINE, "mean_test_score"])
            if BASELINE in board.index
            else None
        )
        name = estimator.scoring
        if name is None:
            name = "roc_auc" if len(estimator.classes_) == 2 else "roc_auc_ovr"
        elif not isinstance(name, str):
            name = "CV score"
        return cls(fold_scores, baseline, name).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax``.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        self
        """
        ax, fig = _axes(ax, "TechniqueComparisonDisplay.plot")
        names = list(self.fold_scores)
        ypos = np.arange(len(names))[::-1]
        n_folds = max((len(s) for s in self.fold_scores.values()), default=0)
        colors = [f"C{i % 10}" for i in range(n_folds)]
        for y0, name in zip(ypos, names, strict=True):
            s = np.asarray(self.fold_scores[name], dtype=float)
            ax.scatter(s, np.full(len(s), y0), c=colors[: len(s)], s=18, zorder=3)
            ax.plot([np.nanmean(s)] * 2, [y0 - 0.3, y0 + 0.3], "k-", lw=2, zorder=4)
        for i, color in enumerate(colors):
            ax.scatter([], [], c=color, s=18, label=f"fold {i}")
        if self.baseline is not None:
            ax.axvline(self.baseline, color="grey", ls="--", lw=1, label="none (mean)")
        ax.set_yticks(ypos, names)
        ax.set(
            xlabel=f"{self.score_name} per inner fold (bar: mean)",
            title="Techniques: best trial of each, fold by fold",
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="x-small")
        self.ax_, self.figure_ = ax, fig
        return self


class OptimizationHistoryDisplay:
    """Trial scores in the order they ran, and the best score so far.

    Parameters
    ----------
    trial_numbers : ndarray of int
    values : ndarray of float
        Mean CV score of each trial (for pruned trials, of the folds they ran).
    techniques : ndarray of str
    states : ndarray of str
        ``"COMPLETE"``, ``"PRUNED"`` or ``"FAIL"``.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, OptimizationHistoryDisplay
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=6, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> disp = OptimizationHistoryDisplay.from_estimator(clf)
    >>> bool(disp.best_so_far[-1] == clf.best_score_)
    True
    """

    def __init__(self, trial_numbers, values, techniques, states):
        self.trial_numbers = np.asarray(trial_numbers)
        self.values = np.asarray(values, dtype=float)
        self.techniques = np.asarray(techniques, dtype=object)
        self.states = np.asarray(states, dtype=object)

    @property
    def best_so_far(self):
        """Best completed score up to each trial (NaN before the first)."""
        complete = np.where(self.states == "COMPLETE", self.values, -np.inf)
        best = np.maximum.accumulate(complete) if len(complete) else complete
        return np.where(np.isfinite(best), best, np.nan)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Take the history from a fitted search's ``cv_results_``.

        Parameters
        ----------
        estimator : AutoBalancedClassifier
            A fitted search.
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        display : OptimizationHistoryDisplay
        """
        check_search(estimator, "OptimizationHistoryDisplay.from_estimator")
        res = estimator.cv_results_
        scores = split_scores(res, estimator.n_splits_)
        partial = np.array(
            [np.nan if np.isnan(r).all() else np.nanmean(r) for r in scores]
        )
        values = np.where(
            res["state"] == "COMPLETE", res["mean_test_score"], partial
        ).astype(float)
        order = np.argsort(res["trial_number"], kind="stable")
        return cls(
            res["trial_number"][order],
            values[order],
            res["technique"][order],
            res["state"][order],
        ).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax``.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None

        Returns
        -------
        self
        """
        ax, fig = _axes(ax, "OptimizationHistoryDisplay.plot")
        complete = self.states == "COMPLETE"
        for i, technique in enumerate(dict.fromkeys(self.techniques[complete])):
            mask = complete & (self.techniques == technique)
            ax.scatter(
                self.trial_numbers[mask],
                self.values[mask],
                s=22,
                color=f"C{i % 10}",
                label=technique,
                zorder=3,
            )
        pruned = (self.states == "PRUNED") & np.isfinite(self.values)
        if pruned.any():
            ax.scatter(
                self.trial_numbers[pruned],
                self.values[pruned],
                marker="x",
                color="grey",
                label="pruned (partial mean)",
            )
        ax.step(
            self.trial_numbers,
            self.best_so_far,
            where="post",
            color="k",
            lw=1.2,
            label="best so far",
        )
        ax.set(
            xlabel="Trial",
            ylabel="Mean CV score",
            title="Optimisation history",
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="x-small")
        self.ax_, self.figure_ = ax, fig
        return self
