"""AutoBalancedClassifier: a drop-in classifier that searches imbalance
techniques with Optuna and refits the best one."""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    is_classifier,
)
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _budget
from ._attrs import ATTR_ALGORITHM, ATTR_DUPLICATE, ATTR_MEMBERS, ATTR_TECHNIQUE
from ._budget import Budget
from ._catalogue import (
    _DENSE_REQUIREMENTS,
    BUILTIN_TECHNIQUES,
    SIZE_REASON,
    _base_requirement,
    default_algorithms,
    get_technique,
)
from ._compat import HasMethods, Interval, StrOptions, take_rows, validate_params
from ._ensemble import (
    ENSEMBLE,
    SoftVotingEnsemble,
    add_ensemble_trial,
    ensemble_predictions,
)
from ._footprint import data_nbytes, release_freed_memory
from ._inputs import (
    check_model_input,
    describe_columns,
    missing_columns,
    probe_rows,
    sample,
)
from ._objective import (
    Objective,
    decision_ovr,
    ovr_roc_auc,
)
from ._persist import library_versions
from ._preprocessing import describe_features
from ._prior import ClassPrior
from ._results import trial_params, trials_to_cv_results
from ._space import Algorithm, Config, SearchContext, SearchSpace, Technique
from ._study import (
    TrialState,
    best_trial_of,
    check_completed,
    data_fingerprint,
    open_study,
    quiet_optuna,
    run_study,
    search_trials,
)
from ._threshold import check_threshold, fit_decision_rule
from .exceptions import SkippedTechniqueWarning

__all__ = ["AutoBalancedClassifier"]


#: Attributes set by ``fit`` that do not end with ``_`` (removed with the
#: public ones when a fit starts or fails).
_PRIVATE_FIT_ATTRS = ("_feature_info",)


def _default_scoring(classes):
    return "roc_auc" if len(classes) == 2 else "roc_auc_ovr"


def _label(value):
    return repr(value.item() if isinstance(value, np.generic) else value)


#: ``n_trials="auto"``: fewer trials when the smallest class has fewer rows
#: than this (fold AUCs then differ by noise more than by technique).
AUTO_TRIALS_MINORITY_ROWS = 1_000
AUTO_TRIALS_FEW = 12
AUTO_TRIALS_MANY = 30

#: Rows the search runs on with ``max_search_samples="auto"``.
AUTO_MAX_SEARCH_SAMPLES = 50_000
#: Rows of each class a search subsample keeps at least (or all of them).
MIN_SEARCH_ROWS_PER_CLASS = 1_000


def search_subsample(y, classes, counts, max_rows, seed):
    """Row indices of a stratified subsample of ``max_rows`` rows (sorted),
    or ``None`` when every row is searched."""
    n = len(y)
    if max_rows is None or n <= max_rows:
        return None
    counts = np.asarray(counts, dtype=int)
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
    rng = np.random.RandomState(seed)
    rows = [
        rng.choice(np.flatnonzero(y == c), size=int(q), replace=False)
        for c, q in zip(classes, quota, strict=True)
    ]
    return np.sort(np.concatenate(rows))


def _warn_passed_over(best, chosen, budget):
    seconds = budget.trial_refit_estimate(best)
    size = budget.trial_model_estimate(best) / 2**20
    in_time, in_memory = budget.fits(best)
    reasons = []
    if not in_memory:
        reasons.append(
            f"a model of about {size:,.0f} MiB refitted on every row (the limit is "
            f"{budget.memory_limit / 2**20:,.0f} MiB: twice the training data, at "
            "least 256 MiB)"
        )
    if not in_time:
        reasons.append(f"about {seconds:,.0f} s to refit, more than the time left")

    def name(trial):
        attrs = trial.user_attrs
        return f"{attrs.get(ATTR_TECHNIQUE)}/{attrs.get(ATTR_ALGORITHM)}"

    warnings.warn(
        f"The best setup {name(best)} would need {' and '.join(reasons)}; "
        f"refitting {name(chosen)} instead (the best that fits). Pass "
        "estimator= with smaller models (e.g. min_samples_leaf on trees) or a "
        "larger timeout to search them.",
        SkippedTechniqueWarning,
        stacklevel=3,
    )


def _search_predictions(objective, trial):
    """The out-of-fold predictions the search made for ``trial`` (an ensemble:
    the average of its members'), or ``None`` when they were not kept."""
    oof = objective.oof
    if trial.user_attrs.get(ATTR_TECHNIQUE) == ENSEMBLE:
        numbers = trial.user_attrs.get(ATTR_MEMBERS)
        if numbers and all(n in oof for n in numbers):
            return ensemble_predictions(oof, numbers)
        return None
    number = trial.user_attrs.get(ATTR_DUPLICATE, trial.number)
    return oof.get(number)


def _snake(name):
    # LogisticRegression -> logistic_regression, GaussianNB -> gaussian_nb
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class _SamplerBuilder:
    """Builds a clone of a user's sampler (a picklable ``Technique.build``)."""

    def __init__(self, sampler):
        self.sampler = sampler

    def __call__(self, ctx):
        from sklearn.base import clone

        return clone(self.sampler)


def _estimator_has(attr):
    """Methods exist when the refitted model (or, before fit, every candidate
    model) has them, like scikit-learn's search estimators."""

    def check(self):
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, attr)
        return all(hasattr(a.estimator, attr) for a in self._resolve_algorithms())

    return check


def _has_proba(self):
    """Probabilities exist when the model gives them or, with calibration on,
    when its scores can be recalibrated."""
    if hasattr(self, "decision_rule_"):
        return self.decision_rule_.has_proba(self.best_estimator_)
    if _estimator_has("predict_proba")(self):
        return True
    return self.calibration not in (None, "off") and all(
        hasattr(a.estimator, "decision_function") for a in self._resolve_algorithms()
    )


class AutoBalancedClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Classifier that picks the class-imbalance technique (and model) for you.

    ``fit`` searches one conditional space, with Optuna under stratified
    cross-validation: which technique to apply (none, over-sampling,
    under-sampling, combined, class weights, balanced ensembles), its parameters
    (neighbours, shrinkage, target ratio, weight ratio) and, with a portfolio,
    which model to train. Resampling happens inside each training fold only.
    The best setup is then refitted on all the data.

    Parameters
    ----------
    estimator : classifier, list of classifiers or None, default=None
        The model(s) to balance. One classifier (or ``Pipeline``): the search is
        over techniques around it. A list of classifiers or ``(name,
        classifier)`` pairs: a portfolio, the model is also searched. ``None``:
        the default portfolio of scaled logistic regression, extra trees and
        histogram gradient boosting, plus balanced random forest and easy
        ensemble as techniques that replace the model; on a sparse ``X`` the
        portfolio keeps the models that take sparse input (logistic regression
        and extra trees behind a scaling that keeps zeros). When a model is a
        ``Pipeline`` the sampler goes right before its final step.
    techniques : list of str, Technique or sampler, default=None
        Restrict or extend the catalogue: names of built-in techniques (see
        :func:`technique_names`), :class:`Technique` objects, or
        imbalanced-learn samplers (anything with ``fit_resample``). ``"none"`` is
        always added. ``None`` uses every built-in technique (the
        model-replacing ensembles only with the default portfolio).
    scoring : str or callable, default=None
        Scorer to maximise; ``None`` means ``"roc_auc"`` for binary targets and
        ``"roc_auc_ovr"`` for multi-class ones. Under ``"roc_auc_ovr"``, a
        model without ``predict_proba`` (e.g. ``LinearSVC``) is scored from its
        one-vs-rest ``decision_function``, each class ranked by its own
        column.
    cv : int or cross-validation splitter, default=5
        Inner cross-validation. An integer gives a shuffled
        ``StratifiedKFold`` seeded from ``random_state``.
    n_trials : int, "auto" or None, default="auto"
        Number of trials (configurations evaluated). The first ones are fixed
        starting points (``none`` and balanced class weights on every model,
        the balanced random forest), then Optuna's TPE sampler explores. A
        configuration already evaluated is not refitted. ``"auto"``: 12 when
        the smallest class of the searched rows has fewer than 1,000 rows,
        where fold scores are too noisy for a longer search to choose better
        (``benchmarks/README.md``), 30 otherwise. With a ``storage``, the
        number of finished trials the stored study should reach.
    timeout : float or None, default=None
        Seconds for the whole ``fit``: the search stops early enough to leave
        time for the refit, estimated from the fold fit times of the best
        setup so far (scaled to all rows and to the full model). It is checked
        before every fold, not only between trials, so a fit overruns it only
        when a fold or the refit takes longer than the times measured so far
        predict, or when even the first trial does not fit (the first trial
        always runs, so that there is a model). When the best setup's refit
        would not fit in the time left, the best one whose refit does is
        chosen.
    max_search_samples : int, "auto" or None, default="auto"
        Rows the search cross-validates on. On more rows, the search runs on a
        stratified random subsample of this size (every class keeps its share,
        and at least ``min(its rows, 1000)``), and only the refit of the chosen
        setup uses all rows. ``"auto"`` means 50,000; ``None`` always uses all
        rows. On more than 100,000 rows, cluster centroids, Tomek links, edited
        nearest neighbours, SMOTE+Tomek and SMOTE+ENN are left out of the space
        (their cost grows faster than linearly with the rows), with a warning;
        see ``excluded_techniques_``.
    pruning : bool, default=True
        Stop a trial from its second fold on when its score on that fold is
        below the median of earlier trials on the same fold (Optuna's
        ``MedianPruner``; all trials share the folds and seeds). Pruned trials
        appear in ``cv_results_`` with ``state="PRUNED"``.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib). Results do not depend on it.
    storage : str, optuna storage or None, default=None
        Optuna storage to keep the study in (e.g. ``"sqlite:///ab.db"``). With
        ``study_name``, a later ``fit`` with the same data and settings resumes
        the study up to ``n_trials``. ``None``: a fresh in-memory study per
        ``fit``.
    study_name : str or None, default=None
        Name of the stored study; required with ``storage``.
    random_state : int, RandomState instance or None, default=None
        Seeds the study's sampler, the folds, the samplers and the models.
    show_progress_bar : bool, default=False
        Show Optuna's progress bar during the search.
    calibration : {"auto", "prior_shift", "sigmoid", "isotonic", "off"} or None, \
            default="auto"
        How :meth:`predict_proba` corrects the chosen setup's output so that
        probabilities are on the class prior of the data (balancing inflates
        the minority's predicted risk several-fold). ``"auto"``: an exact
        prior-shift correction for random over/under-sampling and class weights
        (the odds are divided by the known change of class ratio, read from
        the fitted sampler's counts and the weights) unless a cross-validated
        recalibration has a clearly lower out-of-fold log loss (a model that does
        not learn the reweighted prior exactly, e.g. fully grown trees with
        class weights); a cross-validated sigmoid or isotonic recalibration
        (whichever has the lower out-of-fold log loss) for SMOTE-family,
        cleaning and combined samplers, balanced ensembles and models without
        ``predict_proba``; nothing for ``none`` with a probabilistic model.
        ``"prior_shift"`` forces the prior shift
        (approximate for synthetic or cleaned rows and ensembles);
        ``"sigmoid"``/``"isotonic"`` force that recalibration (one-vs-rest and
        renormalised for several classes); ``"off"`` or ``None`` keep the raw
        model output. Calibrators are fitted on out-of-fold predictions of the
        chosen setup re-fitted on the search's folds (rows the model did not
        see). All three keep the model's ranking (isotonic breaks its ties by
        the model's score), so binary ROC AUC is unchanged.
    threshold : None, {"f1", "balanced_accuracy", "youden"}, dict or \
            array-like of shape (2, 2), default=None
        Decision rule of :meth:`predict` (binary targets). ``None``: the most
        probable class under the corrected probabilities (0.5 for two classes,
        which minimises errors, so rare classes are seldom predicted), or the
        model's own ``predict`` when ``calibration="off"``. Otherwise a
        threshold on the (corrected) probability of the minority class, chosen
        on out-of-fold predictions like
        :class:`~sklearn.model_selection.TunedThresholdClassifierCV` on the
        search's folds: ``"f1"``, ``"balanced_accuracy"`` or ``"youden"`` (the
        same threshold as balanced accuracy), a cost dict ``{"fp": 1, "fn":
        10}`` (minority positive), a cost matrix ``costs[true, predicted]`` in
        the order of ``classes_``, or a target recall ``{"recall": 0.9}`` (the
        highest threshold that reaches it).
    ensemble : bool, default=True
        Average the log-odds of the best setup of each model that the
        best model does not beat clearly (by more than one standard error of
        their paired fold differences; up to three models). When at least
        two models qualify, this ensemble is chosen, as technique
        ``"ensemble"``: the best of many noisy trials is an optimistic pick,
        and averaging models that the folds cannot tell apart cancels part of
        their noise. It is scored on the search's folds from the out-of-fold
        probabilities the trials produced (no extra fit). Used for binary
        targets with the default ``roc_auc`` metric, several models, and no
        ``storage``.

    Attributes
    ----------
    best_technique_ : str
        Name of the chosen technique (``"ensemble"`` for the averaged
        ensemble).
    best_algorithm_ : str
        Name of the chosen model (the technique's name for ensembles).
    best_params_ : dict
        ``technique``, ``algorithm`` and the technique's parameters; for the
        ensemble, ``members``: the parameters of each averaged setup.
    best_score_ : float
        Mean cross-validated score of the chosen setup.
    best_index_ : int
        Index of the chosen setup in ``cv_results_``: the best mean score,
        except that the ensemble is chosen when it forms (see ``ensemble``),
        and, with a ``timeout``, that a setup whose refit would not fit in the
        time left is passed over.
    best_estimator_ : estimator
        The best setup refitted on the whole training set.
    cv_results_ : dict of ndarray
        One entry per trial, in scikit-learn's layout (``params``,
        ``param_<name>``, ``split<i>_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score``, fit and score times), plus
        ``technique``, ``family``, ``state``, ``fail_reason`` and
        ``trial_number``. Load it with ``pandas.DataFrame(cv_results_)``.
    excluded_techniques_ : dict
        Techniques left out of the space for this data, with the reason.
    study_ : optuna.study.Study
        The study of the search.
    search_space_ : SearchSpace
        The space searched for this data (what applied, what was left out).
    cv_ : cross-validation splitter
        The inner splitter; ``cv_.split(X, y)`` gives the folds of the search.
    scorer_ : callable
        The scorer used in the search and by :meth:`score`.
    n_splits_ : int
        Number of inner cross-validation folds.
    refit_time_ : float
        Seconds to refit the best setup on the whole training set.
    search_rows_ : ndarray of int or None
        Rows of the training set the search ran on (see
        ``max_search_samples``), or ``None`` when it used every row.
    versions_ : dict
        Versions of Python, autobalance and the libraries the model was trained
        with; :func:`load_model` warns when they differ from the installed ones.
    calibration_ : dict
        The probability correction applied: ``method`` (``"none"``,
        ``"prior_shift"``, ``"sigmoid"`` or ``"isotonic"``), ``reason``,
        ``factors`` (prior shift), ``candidates`` (out-of-fold log loss of each
        recalibration tried), and out-of-fold ``oof_log_loss_before``/``_after``,
        ``oof_brier_before``/``_after``, ``oof_roc_auc_before``/``_after``
        (means over the search's folds).
    threshold_ : float or None
        The decision threshold on the (corrected) probability of the minority
        class, or ``None``.
    threshold_info_ : dict or None
        The objective, the threshold, its out-of-fold ``precision``,
        ``recall``, ``specificity`` and ``positive_rate``, and the mean
        objective ``score``.
    decision_rule_ : DecisionRule
        The fitted correction and threshold, with the out-of-fold predictions
        they were fitted on (``oof_folds``, ``oof_proba``).
    classes_ : ndarray
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : exhaustive search over a grid.
    imblearn.pipeline.Pipeline : pipelines with samplers.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=6, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> clf.best_technique_ in clf.cv_results_["technique"]
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), list, tuple, None],
        "techniques": [list, tuple, None],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "cv": ["cv_object"],
        "n_trials": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "max_search_samples": [
            Interval(Integral, 100, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "pruning": ["boolean"],
        "n_jobs": [Integral, None],
        "storage": [str, HasMethods(["create_new_study"]), None],
        "study_name": [str, None],
        "random_state": ["random_state"],
        "show_progress_bar": ["boolean"],
        "ensemble": ["boolean"],
        "calibration": [
            StrOptions({"auto", "prior_shift", "sigmoid", "isotonic", "off"}),
            None,
        ],
        "threshold": [
            StrOptions({"f1", "balanced_accuracy", "youden"}),
            dict,
            "array-like",
            None,
        ],
    }

    def __init__(
        self,
        estimator=None,
        *,
        techniques=None,
        scoring=None,
        cv=5,
        n_trials="auto",
        timeout=None,
        max_search_samples="auto",
        pruning=True,
        n_jobs=None,
        storage=None,
        study_name=None,
        random_state=None,
        show_progress_bar=False,
        calibration="auto",
        threshold=None,
        ensemble=True,
    ):
        self.estimator = estimator
        self.techniques = techniques
        self.scoring = scoring
        self.cv = cv
        self.n_trials = n_trials
        self.timeout = timeout
        self.max_search_samples = max_search_samples
        self.pruning = pruning
        self.n_jobs = n_jobs
        self.storage = storage
        self.study_name = study_name
        self.random_state = random_state
        self.show_progress_bar = show_progress_bar
        self.calibration = calibration
        self.threshold = threshold
        self.ensemble = ensemble

    # -- resolving parameters --------------------------------------------------
    def _resolve_algorithms(self, info=None):
        if self.estimator is None:
            return default_algorithms(info)
        items = (
            self.estimator
            if isinstance(self.estimator, (list, tuple))
            else [self.estimator]
        )
        if len(items) == 0:
            raise ValueError(
                "estimator is an empty list; pass at least one classifier."
            )
        algorithms, seen = [], set()
        for item in items:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                name, est = item
            else:
                est = item
                final = est.steps[-1][1] if isinstance(est, SkPipeline) else est
                name = _snake(type(final).__name__)
            if not is_classifier(est):
                raise ValueError(
                    f"estimator {est!r} is not a scikit-learn classifier; pass a "
                    "classifier (or a Pipeline ending in one)."
                )
            base, k = name, 2
            while name in seen:
                name, k = f"{base}_{k}", k + 1
            seen.add(name)
            algorithms.append(Algorithm(name, est))
        return algorithms

    def _resolve_techniques(self):
        portfolio = self.estimator is None
        if self.techniques is None:
            return [t for t in BUILTIN_TECHNIQUES if portfolio or t.kind != "estimator"]
        out = []
        for item in self.techniques:
            if isinstance(item, str):
                out.append(get_technique(item))
            elif isinstance(item, Technique):
                out.append(item)
            elif hasattr(item, "fit_resample"):
                out.append(
                    Technique(
                        _snake(type(item).__name__),
                        "custom",
                        "sampler",
                        _SamplerBuilder(item),
                        description=f"User sampler {type(item).__name__}.",
                    )
                )
            else:
                raise ValueError(
                    f"techniques entries must be technique names, Technique objects or "
                    f"samplers with fit_resample; got {item!r}."
                )
        names = [t.name for t in out]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"techniques lists {dupes} more than once; give each once."
            )
        if "none" not in names:
            out.insert(0, get_technique("none"))
        return out

    # -- validation ------------------------------------------------------------
    def _allow_nan(self, algorithms=None):
        """Whether every model takes missing values, as far as their tags
        tell before any data is seen (``fit`` checks what imputing
        pipelines do, see :meth:`_check_model_inputs`)."""
        # The default portfolio imputes in its shared ``prepare`` step.
        if self.estimator is None:
            return True
        algorithms = algorithms or self._resolve_algorithms()
        return all(a.allows_nan() for a in algorithms)

    def _check_model_inputs(self, algorithms, X, y, info, classes):
        """Refuse, before the search, models that cannot be trained on ``X``.

        Clones of each user model's steps are fitted on a sample of the rows
        (those with a missing value, and some of each class): a model passes
        when its steps before the final one remove the missing values or its
        final model takes them, and, for tables with non-numeric columns,
        when it can be fitted on them. Returns, for each model, whether the
        rows its sampler would see hold missing values (empty when ``X`` has
        none, or for the default portfolio, which imputes first).
        """
        if self.estimator is None or not (info.has_nan or info.categorical):
            return {}
        X_probe, y_probe = sample(X, y, probe_rows(X, y, classes))
        seen, problems = {}, []
        for algorithm in algorithms:
            result = check_model_input(
                algorithm.estimator,
                X_probe,
                y_probe,
                fit_model=bool(info.categorical),
            )
            seen[algorithm.name] = result.sampler_sees_missing
            if result.problem:
                problems.append(f"{algorithm.name!r}: {result.problem}")
        if problems:
            fixes = []
            if info.has_nan:
                fixes.append(
                    f"X has missing values (NaN) in columns "
                    f"{describe_columns(missing_columns(X))}: impute them in the "
                    "model's pipeline, e.g. make_pipeline(SimpleImputer(), "
                    "LogisticRegression()), or pass a model that takes them, "
                    "e.g. HistGradientBoostingClassifier(), or estimator=None (the "
                    "default portfolio imputes)."
                )
            if info.categorical:
                fixes.append(
                    f"Columns {describe_columns(info.categorical)} are not "
                    "numeric: encode them in the model's pipeline, e.g. "
                    "make_pipeline(make_column_transformer((OneHotEncoder("
                    "handle_unknown='ignore'), columns), remainder='passthrough'), "
                    "model), or pass estimator=None (the default portfolio encodes "
                    "them)."
                )
            raise ValueError(
                f"Not every model can be trained on X ({'; '.join(problems)}). "
                + " ".join(fixes)
            )
        return seen if info.has_nan else {}

    @staticmethod
    def _keep_samplers_from_missing(algorithms, techniques, context, seen):
        """Models whose sampler would see missing values (their steps do not
        impute) are not paired with the techniques that cannot take them,
        while models that impute first keep them."""
        if context.has_nan or not any(seen.values()):
            return algorithms
        with_missing = dataclasses.replace(context, has_nan=True)
        refused = tuple(
            t.name
            for t in techniques
            if t.why_not(with_missing) and not t.why_not(context)
        )
        return [
            dataclasses.replace(a, exclude_techniques=(*a.exclude_techniques, *refused))
            if seen.get(a.name)
            else a
            for a in algorithms
        ]

    def _allow_sparse(self, algorithms=None, info=None):
        # The default portfolio follows the data (sparse X: models and a
        # prepare step that keep it sparse), so once the data is described
        # (``info``) the portfolio for it decides, not the one for dense data.
        algorithms = algorithms or self._resolve_algorithms(info)
        return all(a.allows_sparse() for a in algorithms)

    def _check_sparse(self, X, algorithms):
        if not sp.issparse(X):
            return
        dense = [a.name for a in algorithms if not a.allows_sparse()]
        if dense and self.estimator is not None:
            raise ValueError(
                f"X is a sparse matrix, but the models {dense} need dense data. Pass "
                "X.toarray() if it fits in memory, or models that accept sparse "
                "input (e.g. LogisticRegression)."
            )
        named = [t for t in self.techniques or () if isinstance(t, str)]
        if named:
            from ._catalogue import get_technique

            needs_dense = [
                n
                for n in named
                if _base_requirement(get_technique(n).requires) in _DENSE_REQUIREMENTS
            ]
            if needs_dense:
                raise ValueError(
                    f"X is a sparse matrix, but the techniques {needs_dense} need "
                    "dense data; pass X.toarray() or leave them out of techniques."
                )

    def _check_X(self, X, *, reset, y=None, allow_nan=None, info=None):
        if allow_nan is None:
            allow_nan = self.__sklearn_tags__().input_tags.allow_nan
        finite = "allow-nan" if allow_nan else True
        kwargs = {
            "reset": reset,
            "ensure_all_finite": finite,
            "accept_sparse": ("csr", "csc") if self._allow_sparse(info=info) else False,
        }
        if info is not None and info.categorical:
            # Mixed tables: column kinds were checked by describe_features; here
            # only the shape and the feature names are registered and checked.
            # Converting the table to one array would copy it, and fails for
            # some mixes (a categorical column next to a bool one: "Cannot
            # cast str dtype to float64").
            kwargs = {"reset": reset, "skip_check_array": True}
            if y is None:
                return validate_data(self, X, **kwargs), None
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            return validate_data(self, X, y, **kwargs)
        try:
            if y is None:
                return validate_data(self, X, **kwargs), None
            return validate_data(self, X, y, **kwargs)
        except ValueError as exc:
            msg = str(exc)
            if "NaN" in msg and not allow_nan:
                # Only at predict: fit judges missing values by what the models
                # do with them (_check_model_inputs).
                raise ValueError(
                    f"{msg} The training data had no missing values, so fit did "
                    "not check that the models handle them; fill them before "
                    "predicting, or fit on data that holds them."
                ) from exc
            raise

    def _check_target(self, y):
        y_type = type_of_target(y, input_name="y")
        if y_type not in ("binary", "multiclass"):
            raise ValueError(
                f"Unknown label type {y_type!r}: AutoBalancedClassifier needs class "
                "labels. "
                "Pass one label per row (strings or integers); for a continuous "
                "target use a regressor."
            )
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({_label(classes[0])}); balancing needs at "
                "least two classes. Check the target column."
            )
        if counts.min() < 2:
            raise ValueError(
                f"class {_label(classes[counts.argmin()])} has only 1 row; every "
                "class needs at least 2 rows to be cross-validated."
            )
        return classes, counts

    def _make_splits(self, X, y, counts, seed):
        if isinstance(self.cv, Integral):
            if self.cv < 2:
                raise ValueError(f"cv={self.cv} must be at least 2.")
            if counts.min() < self.cv:
                raise ValueError(
                    f"The smallest class has {int(counts.min())} rows, fewer than "
                    f"cv={self.cv} folds, so some validation fold would miss it. Use "
                    f"cv={max(2, int(counts.min()))} or collect more minority rows."
                )
            cv = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=seed)
        else:
            cv = check_cv(self.cv, y, classifier=True)
        self.cv_ = cv
        splits = list(cv.split(X, y))
        for i, (train, test) in enumerate(splits):
            if len(np.unique(y[test])) < len(counts) or len(np.unique(y[train])) < len(
                counts
            ):
                raise ValueError(
                    f"Fold {i} of cv lacks a class in its training or validation part; "
                    "use a stratified splitter with fewer folds."
                )
        return splits

    def _context(self, classes, counts, y, splits, X_checked, seed, info, missing_seen):
        min_train = np.array(
            [min(int(np.sum(y[train] == c)) for train, _ in splits) for c in classes]
        )
        ratios = []
        for train, _ in splits:
            c = np.array([np.sum(y[train] == k) for k in classes])
            ratios.append(c.min() / c.max())
        return SearchContext(
            classes=classes,
            class_counts=counts,
            min_train_counts=min_train,
            max_train_minority_ratio=float(max(ratios)),
            n_samples=X_checked.shape[0],
            n_features=X_checked.shape[1],
            # What the samplers see: missing values reach them only when no
            # model imputes before them (the default portfolio's ``prepare``
            # step, a user pipeline's imputer); see _keep_samplers_from_missing
            # for portfolios where only some models impute.
            has_nan=bool(missing_seen) and all(missing_seen.values()),
            is_sparse=info.is_sparse,
            random_state=int(seed),
            categorical_positions=tuple(range(info.n_categorical))
            if self.estimator is None
            else (),
            n_prepared_features=len(info.categorical) + len(info.numeric),
        )

    def _settings(self, techniques, algorithms):
        # The objects themselves: data_fingerprint hashes them parameter by
        # parameter (reprs of long estimators are shortened).
        return {
            "techniques": list(techniques),
            "algorithms": list(algorithms),
            "scoring": self.scoring,
            "cv": self.cv,
            "pruning": self.pruning,
            "random_state": self.random_state,
        }

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y):
        """Search the techniques, then refit the best on all of ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (array or DataFrame).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : AutoBalancedClassifier
            The fitted estimator.

        Raises
        ------
        NoCompletedTrialsError
            If no trial of the search completed.

        Notes
        -----
        A ``fit`` that raises leaves the estimator unfitted, without the
        attributes of an earlier fit either. A trial fails (and is recorded
        in ``cv_results_``) only when its pipeline or the scorer raises; an
        error elsewhere in the search raises out of ``fit``.
        """
        # Fitted attributes exist only after a fit that succeeded: a failed
        # fit (even a refit) leaves an unfitted estimator, not a mix of this
        # fit's and an earlier one's.
        self._forget_fit()
        try:
            return self._fit(X, y)
        except BaseException:
            self._forget_fit()
            raise

    def _forget_fit(self):
        """Remove the attributes a fit sets (public ones end with ``_``)."""
        for name in list(vars(self)):
            if (name.endswith("_") and not name.startswith("__")) or (
                name in _PRIVATE_FIT_ATTRS
            ):
                delattr(self, name)

    def _fit(self, X, y):
        search = self._prepare_search(X, y)
        space, splits, scorer = search.space, search.splits, search.scorer
        X_search, y, classes = search.X_search, search.y, search.classes
        with quiet_optuna():
            study = open_study(
                storage=self.storage,
                study_name=self.study_name,
                seed=search.study_seed,
                pruning=self.pruning,
                fingerprint=search.fingerprint,
            )
            run_study(
                study,
                search.objective,
                n_trials=search.n_trials,
                timeout=self.timeout,
                starting_params=[
                    space.optuna_params(c) for c in space.starting_configs()
                ],
                show_progress_bar=self.show_progress_bar,
                budget=search.budget,
            )
            check_completed(study, excluded=space.excluded)
            ensemble_trial = None
            if search.ensembling:
                ensemble_trial = add_ensemble_trial(
                    study, search.objective.oof, splits, y, positive=classes[1]
                )
            # Its members are the models the best one does not beat clearly;
            # the best single trial is an optimistic pick among many noisy
            # ones, so the average of close models is chosen over it.
            best_trial = (
                ensemble_trial if ensemble_trial is not None else best_trial_of(study)
            )
            chosen = search.budget.affordable_best(
                study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                best_trial,
            )
            if chosen.number != best_trial.number:
                _warn_passed_over(best_trial, chosen, search.budget)
            best_trial = chosen

        self.study_ = study
        self.scorer_ = scorer
        self.n_splits_ = len(splits)
        self.search_space_ = space
        self.excluded_techniques_ = dict(space.excluded)
        self.cv_results_ = trials_to_cv_results(
            search_trials(study), len(splits), classes=classes
        )
        self.best_index_ = int(
            np.flatnonzero(self.cv_results_["trial_number"] == best_trial.number)[0]
        )
        self.best_params_ = trial_params(best_trial)
        self.best_score_ = float(best_trial.value)
        self.best_technique_ = self.best_params_["technique"]
        algorithm = self.best_params_["algorithm"]
        self.best_algorithm_ = (
            algorithm if algorithm is not None else self.best_technique_
        )
        release_freed_memory()  # the search's freed heap, before the largest fit
        start = time.perf_counter()
        self.best_estimator_ = self._estimator_from_params(self.best_params_)
        self.best_estimator_.fit(search.X_full, search.y_full)
        self.refit_time_ = time.perf_counter() - start
        self.search_rows_ = search.rows
        self.versions_ = library_versions()
        self.classes_ = getattr(self.best_estimator_, "classes_", classes)
        self.decision_rule_ = fit_decision_rule(
            self,
            X_search,
            y,
            folds=_search_predictions(search.objective, best_trial),
            y_refit=search.y_full,
            prior=search.prior,
        )
        self.calibration_ = self.decision_rule_.calibration_info
        self.threshold_ = self.decision_rule_.threshold
        self.threshold_info_ = self.decision_rule_.threshold_info
        return self

    def _prepare_search(self, X, y):
        """Validate and build what a search needs before its study: data,
        folds, space, scorer, fingerprint and objective. ``fit`` and
        :func:`~autobalance.run_worker` share it, so a worker runs exactly the
        driver's objective."""
        # The time budget counts from here: validation is part of the fit.
        clock = _budget.default_clock
        clock_start = clock()
        validate_params(self)
        if self.n_trials is None and self.timeout is None:
            raise ValueError(
                "n_trials and timeout are both None, so the search would never stop; "
                "set n_trials (e.g. 30) or timeout in seconds."
            )
        if (self.storage is None) != (self.study_name is None):
            raise ValueError(
                "storage and study_name go together: give both to keep a resumable "
                "study, or neither for a fresh in-memory study."
            )
        if self.storage is not None and not isinstance(self.random_state, Integral):
            raise ValueError(
                "A stored study needs random_state set to an integer, so that a "
                "resumed or shared search uses the same folds and seeds; got "
                f"random_state={self.random_state!r}."
            )
        info = describe_features(X)
        algorithms = self._resolve_algorithms(info)
        techniques = self._resolve_techniques()
        self._check_sparse(X, algorithms)
        # Missing values are judged by what the models do with them, below.
        X_checked, y = self._check_X(X, reset=True, y=y, allow_nan=True, info=info)
        self._feature_info = info
        classes, counts = self._check_target(y)
        check_threshold(self.threshold, classes)
        missing_seen = self._check_model_inputs(
            algorithms,
            X if isinstance(X, pd.DataFrame) else X_checked,
            y,
            info,
            classes,
        )
        # predict lets missing values through when fit saw the models take them.
        self._accepts_nan = info.has_nan or self._allow_nan(algorithms)

        rng = check_random_state(self.random_state)
        study_seed, cv_seed, model_seed = (
            int(s) for s in rng.randint(0, 2**31 - 1, size=3)
        )
        # Drawn after the others, so that the seeds above do not depend on
        # whether the data is subsampled.
        rows = search_subsample(
            y, classes, counts, self._max_search_samples(), rng.randint(0, 2**31 - 1)
        )
        X_full = X if isinstance(X, pd.DataFrame) else X_checked
        y_full, n_full, full_counts = y, len(y), counts
        if rows is not None:
            X_checked = take_rows(X_checked, rows)
            y = y[rows]
            counts = np.array([np.sum(y == c) for c in classes])
        # The subsample's floor of rows per class shifts its class prior;
        # what is fitted on its out-of-fold predictions is moved back.
        prior = ClassPrior(classes, full_counts, counts)
        splits = self._make_splits(X_checked, y, counts, cv_seed)
        context = self._context(
            classes, counts, y, splits, X_checked, model_seed, info, missing_seen
        )
        algorithms = self._keep_samplers_from_missing(
            algorithms, techniques, context, missing_seen
        )
        if rows is not None:
            # Size limits of costly techniques apply to the refit, on every row.
            context = dataclasses.replace(context, refit_class_counts=full_counts)
        space = SearchSpace(techniques, algorithms, context)
        self._warn_size_exclusions(space, n_full)

        scoring = self.scoring
        if scoring is None:
            scoring = _default_scoring(classes)
        scorer = check_scoring(self, scoring=scoring)

        # Pass DataFrames through so the models see column names.
        X_search = X_full if rows is None else take_rows(X_full, rows)
        fingerprint = data_fingerprint(
            X_search, y, self._settings(techniques, algorithms)
        )
        budget = Budget(
            self.timeout,
            space=space,
            n_samples=n_full,
            n_train=float(np.mean([len(train) for train, _ in splits])),
            clock=clock,
            start=clock_start,
            data_bytes=data_nbytes(X_full),
        )
        ensembling = self._ensembling(classes, space)
        decision_rule = self.calibration not in (None, "off") or (
            self.threshold is not None
        )
        objective = Objective(
            space,
            X_search,
            y,
            splits,
            scorer,
            n_jobs=self.n_jobs,
            labels=classes if len(classes) > 2 else None,
            keep_oof=ensembling or decision_rule,
            budget=budget,
            auc=self.scoring in (None, _default_scoring(classes)),
        )
        return SimpleNamespace(
            space=space,
            splits=splits,
            scorer=scorer,
            X_search=X_search,
            y=y,
            classes=classes,
            study_seed=study_seed,
            fingerprint=fingerprint,
            objective=objective,
            budget=budget,
            ensembling=ensembling,
            X_full=X_full,
            y_full=y_full,
            rows=rows,
            prior=prior,
            n_trials=self._n_trials(counts),
        )

    def _n_trials(self, counts):
        if self.n_trials != "auto":
            return self.n_trials
        few = counts.min() < AUTO_TRIALS_MINORITY_ROWS
        return AUTO_TRIALS_FEW if few else AUTO_TRIALS_MANY

    def _max_search_samples(self):
        if self.max_search_samples == "auto":
            return AUTO_MAX_SEARCH_SAMPLES
        return self.max_search_samples

    @staticmethod
    def _warn_size_exclusions(space, n_rows):
        skipped = {n: r for n, r in space.excluded.items() if r.startswith(SIZE_REASON)}
        if skipped:
            by_reason = {}
            for name, reason in skipped.items():
                by_reason.setdefault(reason, []).append(name)
            reasons = "; ".join(f"{', '.join(n)}: {r}" for r, n in by_reason.items())
            warnings.warn(
                f"The data has {n_rows:,} rows: the techniques {list(skipped)} are "
                f"left out of the search ({reasons}). Subsample the data yourself "
                "to search them.",
                SkippedTechniqueWarning,
                stacklevel=4,
            )

    def _ensembling(self, classes, space):
        # Scored from out-of-fold ROC AUC, kept in memory: binary targets, the
        # default metric, several models, and no stored (resumable) study.
        n_models = len(space.algorithms) + sum(
            t.kind == "estimator" for t in space.techniques.values()
        )
        return bool(
            self.ensemble
            and self.storage is None
            and len(classes) == 2
            and self.scoring in (None, "roc_auc")
            and n_models > 1
        )

    def _estimator_from_params(self, params):
        """An unfitted estimator for one entry of ``cv_results_["params"]``.

        Used by the refit, nested evaluation and reports to rebuild any setup of
        the search exactly as a trial built it.
        """
        params = dict(params)
        if params["technique"] == ENSEMBLE:
            return SoftVotingEnsemble(
                [
                    (f"member{i}", self._estimator_from_params(member))
                    for i, member in enumerate(params["members"])
                ]
            )
        config = Config(params.pop("technique"), params.pop("algorithm"), params)
        return self.search_space_.build(config)

    @property
    def leaderboard_(self):
        """One row per technique vs ``none``; see :func:`autobalance.leaderboard`.

        Raises ``NotFittedError`` (an ``AttributeError``) before ``fit``.
        """
        from .reporting import leaderboard

        return leaderboard(self)

    # -- prediction ------------------------------------------------------------
    def _predict_X(self, X):
        check_is_fitted(self)
        info = getattr(self, "_feature_info", None)
        if info is not None and info.categorical and not isinstance(X, pd.DataFrame):
            raise ValueError(
                "This model was fitted on a DataFrame with categorical columns; pass "
                f"a DataFrame with the columns {list(self.feature_names_in_)}."
            )
        X_checked, _ = self._check_X(
            X, reset=False, info=info, allow_nan=getattr(self, "_accepts_nan", None)
        )
        if isinstance(X, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            return X
        return X_checked

    def predict(self, X):
        """Predict class labels with the refitted best setup.

        With ``threshold=None``, the most probable class under the corrected
        probabilities; otherwise the minority class when its probability
        reaches ``threshold_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, in the labels of ``y``.
        """
        X = self._predict_X(X)
        return self.decision_rule_.predict(self.best_estimator_, X)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities from the refitted best setup, corrected to the
        class prior of the training data (see ``calibration``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        X = self._predict_X(X)
        return self.decision_rule_.predict_proba(self.best_estimator_, X)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities.
        """
        X = self._predict_X(X)
        if self.decision_rule_.passthrough and hasattr(
            self.best_estimator_, "predict_log_proba"
        ):
            return self.best_estimator_.predict_log_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(self.decision_rule_.predict_proba(self.best_estimator_, X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the refitted best setup.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray
            As the best model's ``decision_function`` with ``calibration="off"``
            and no threshold; otherwise the log-odds of the corrected
            probabilities (log-probabilities for several classes), minus the
            log-odds of ``threshold_``, so that positive means :meth:`predict`
            says ``classes_[1]``.
        """
        X = self._predict_X(X)
        return self.decision_rule_.decision_function(self.best_estimator_, X)

    def score(self, X, y, sample_weight=None):
        """Score with the search's scorer (ROC AUC by default).

        Like :class:`~sklearn.model_selection.GridSearchCV`, and unlike plain
        classifiers whose ``score`` is accuracy: accuracy rewards predicting the
        majority class on imbalanced data. So ``GridSearchCV`` or
        ``cross_val_score`` over this estimator rank by the search metric.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed to the scorer.

        Returns
        -------
        score : float
            The score of this estimator's (corrected) predictions on ``X, y``.
        """
        X = self._predict_X(X)
        if self.scoring in (None, "roc_auc_ovr") and decision_ovr(self):
            # As in the search: the roc_auc_ovr scorer needs predict_proba.
            decision = self.decision_rule_.decision_function(self.best_estimator_, X)
            return ovr_roc_auc(y, decision, self.classes_, sample_weight)
        if sample_weight is not None:
            return float(self.scorer_(self, X, y, sample_weight=sample_weight))
        return float(self.scorer_(self, X, y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            algorithms = self._resolve_algorithms()
            tags.input_tags.allow_nan = self._allow_nan(algorithms)
            # The default portfolio drops the models that need dense data
            # when X is sparse.
            tags.input_tags.sparse = self.estimator is None or self._allow_sparse(
                algorithms
            )
        except ValueError:
            tags.input_tags.allow_nan = False
            tags.input_tags.sparse = False
        tags.classifier_tags.multi_class = True
        return tags
