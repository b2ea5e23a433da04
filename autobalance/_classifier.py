"""AutoBalancedClassifier: a drop-in classifier that searches imbalance
techniques with Optuna and refits the best one.

The estimator is thin, as scikit-learn's ``BaseSearchCV``: validate and plan
(:mod:`._plan`), run the study (:mod:`._study`), select the trial
(:mod:`._selection`), refit, and fit the decision rule (:mod:`._threshold`).
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._leaderboard import search_leaderboard
from ._objective import decision_ovr, ovr_roc_auc
from ._persist import library_versions
from ._plan import MIN_SEARCH_ROWS_PER_CLASS, build_plan, search_subsample  # noqa: F401
from ._refit import budgeted_refit
from ._resolve import (  # noqa: F401  (_SamplerBuilder: saved models name it here)
    _SamplerBuilder,
    estimator_has,
    has_proba,
    resolve_algorithms,
)
from ._results import search_results, trial_params
from ._routing import fit_params, metadata_router
from ._selection import choose_trial, estimator_from_params, refit_decision_rule
from ._study import check_completed, open_study, quiet_optuna, run_study, search_trials
from ._threads import cpu_share
from ._validation import PARAMETER_CONSTRAINTS, check_predict_input, input_tags

__all__ = ["AutoBalancedClassifier"]


#: Private attributes set by ``fit`` (removed with the public ones).
_PRIVATE_FIT_ATTRS = ("_feature_info", "_accepts_nan", "_fit_weight_totals")


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
        The model(s) to balance. One classifier (or ``Pipeline``, the sampler
        going right before its final step): the search is over techniques
        around it. A list of classifiers or ``(name, classifier)`` pairs: a
        portfolio, the model is also searched. ``None``: the default portfolio
        (scaled logistic regression, extra trees, histogram gradient boosting;
        balanced random forest and easy ensemble as techniques that replace
        the model; on a sparse ``X`` only the models that take sparse input).
    techniques : list of str, Technique or sampler, default=None
        Restrict or extend the catalogue: names of built-in techniques (see
        :func:`technique_names`), :class:`Technique` objects, or
        imbalanced-learn samplers (anything with ``fit_resample``). ``"none"`` is
        always added. ``None`` uses every built-in technique (the
        model-replacing ensembles only with the default portfolio).
    param_distributions : dict or None, default=None
        The model's own hyperparameters, searched jointly with the technique
        (as ``GridSearchCV``'s ``param_grid``, but sampled by Optuna):
        ``set_params`` names (step-prefixed for a ``Pipeline``) mapped to Optuna
        distributions (``FloatDistribution``, ``IntDistribution``,
        ``CategoricalDistribution``) or :class:`FloatParam`,
        :class:`IntParam`, :class:`CategoricalParam`; for a portfolio, a dict
        keyed by model name. ``None``: the default portfolio tunes its
        declared ranges, a user's model is used as given. Shown in
        ``best_params_`` and ``cv_results_`` as ``"<model>__<param>"``.
        Parameters the search sets (``class_weight``, ``random_state``, a
        cheaper ``n_estimators`` while scoring) are refused before the search;
        see :ref:`the search guide <model_hyperparameters>`.
    scoring : str or callable, default=None
        Scorer to maximise; ``None`` means ``"roc_auc"`` for binary targets and
        ``"roc_auc_ovr"`` for multi-class ones. Under ``"roc_auc_ovr"``, a
        model without ``predict_proba`` (e.g. ``LinearSVC``) is scored from its
        one-vs-rest ``decision_function``, each class ranked by its own
        column.
    cv : int or cross-validation splitter, default=5
        Inner cross-validation. An integer gives a shuffled
        ``StratifiedKFold`` seeded from ``random_state``, or with ``groups``
        (see :meth:`fit`) a shuffled ``StratifiedGroupKFold``.
    n_trials : int, "auto" or None, default="auto"
        Number of trials (configurations evaluated): starting points first
        (learned across datasets for the default search, every model among
        them; see :ref:`search_explained`), then Optuna's TPE; a repeated
        configuration reuses its scores and takes no trial (10 in a row stop the
        search). ``"auto"``: 12 when the smallest class of the searched rows has
        under 1,000 rows (too noisy for more to help), else 30. With a
        ``storage``, the finished trials (repeats too) to reach.
    timeout : float or None, default=None
        Seconds for the whole ``fit``, refit included (checked before every
        fold). An in-memory search first screens each technique family on each
        model on a share of the rows, then runs the best third on as many rows
        as the budget affords, and with ``n_trials="auto"`` stops early once
        its best score stops improving. A refit that would not fit in time
        trains on the most rows it affords (at least the searched rows, with a
        warning; ``refit_rows_``), a setup as good that affords more replacing
        it; or it is passed over; see :ref:`performance`.
    max_search_samples : int, "auto" or None, default="auto"
        Rows the search cross-validates on: on more rows, a stratified
        subsample of this size (each class keeps at least ``min(its rows,
        1000)``), and only the refit uses all rows. ``"auto"``: 50,000;
        ``None``: all rows. Techniques whose cost grows faster than the rows
        are left out above 100,000 rows (``excluded_techniques_``).
    pruning : bool, default=True
        Stop a trial from its second fold on when its score is below the
        median of earlier trials on the same fold (Optuna's ``MedianPruner``);
        such trials have ``state="PRUNED"`` in ``cv_results_``.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib). Results do not depend on it.
    storage : str, optuna storage or None, default=None
        Optuna storage to keep the study in (e.g. ``"sqlite:///ab.db"``); with
        ``study_name``, a later ``fit`` on the same data and settings resumes
        it. ``None``: a fresh in-memory study per ``fit``.
    study_name : str or None, default=None
        Name of the stored study; required with ``storage``.
    random_state : int, RandomState instance or None, default=None
        Seeds the study's sampler, the folds, the samplers and the models.
    show_progress_bar : bool, default=False
        Show Optuna's progress bar during the search.
    calibration : {"auto", "prior_shift", "sigmoid", "isotonic", "off"} or None, \
            default="auto"
        How :meth:`predict_proba` puts the chosen setup's probabilities back on
        the class prior of the data (balancing inflates the minority's risk).
        ``"auto"``: the exact prior shift for random over/under-sampling and
        class weights, unless a cross-validated recalibration has a clearly
        lower out-of-fold log loss; a sigmoid or isotonic recalibration
        (whichever has the lower out-of-fold log loss) for the other
        techniques and for models without ``predict_proba``; nothing for
        ``none``. The other values force one method; ``"off"``/``None`` keep the
        raw output. Fitted on out-of-fold predictions. See :ref:`probabilities`.
    threshold : None, {"f1", "balanced_accuracy", "youden"}, dict or \
            array-like of shape (2, 2), default=None
        Decision rule of :meth:`predict` (binary targets). ``None``: the most
        probable class under the corrected probabilities. Otherwise a
        threshold on the probability of the minority class, tuned on
        out-of-fold predictions like
        :class:`~sklearn.model_selection.TunedThresholdClassifierCV`:
        ``"f1"``, ``"balanced_accuracy"``, ``"youden"``, a cost dict
        ``{"fp": 1, "fn": 10}``, a cost matrix ``costs[true, predicted]`` or a
        target recall ``{"recall": 0.9}``. See :ref:`probabilities`.
    ensemble : bool or {"average", "greedy", "auto"}, default=True
        Whether and how a log-odds average of trials (technique ``"ensemble"``)
        may be refitted instead of the best trial; binary targets, the default
        metric, several models and no ``storage`` only. ``"average"``: the best
        setup of each model the best does not beat by over one standard error
        (up to three); ``"greedy"``: greedy selection with replacement, weighted
        by picks; ``"auto"``: whichever of the best trial, ``"average"`` and
        ``"greedy"`` scores best on folds it was not chosen on. ``True``:
        ``"average"`` (:ref:`ensemble`). On few rows (143) any rule refits
        balanced extra trees unless the choice beats them by 0.03
        (:ref:`small-data-guard`); ``False``: the best trial.

    Attributes
    ----------
    best_technique_ : str
        Name of the chosen technique (``"ensemble"`` for the ensemble).
    best_algorithm_ : str
        Name of the chosen model (the technique's name for ensembles).
    best_params_ : dict
        ``technique``, ``algorithm``, the technique's parameters and the
        model's own (``"<model>__<param>"``, see ``param_distributions``);
        for the ensemble, ``members``: the parameters of each averaged setup.
    best_score_ : float
        Mean cross-validated score of the chosen setup.
    best_index_ : int
        Index of the chosen setup in ``cv_results_`` (the best mean score, unless
        the ensemble forms, the small-data guard acts or a refit is passed over).
    best_estimator_ : estimator
        The best setup refitted on the whole training set.
    selection_ : dict
        How it was chosen: ``rule``, ``honest_scores``, ``members``, ``weights``,
        ``more_rows`` (``timeout``), ``reference`` (the small-data guard).
    cv_results_ : dict of ndarray
        One entry per trial, in scikit-learn's layout (``params``, ``param_<name>``,
        ``split<i>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, fit and score times), plus ``technique``, ``family``,
        ``state``, ``fail_reason``, ``stop_reason``, ``fidelity_rows``/``_trees``,
        ``pilot_rows``, ``pilot_fit_time``, ``trial_number``, ``early_stop``.
    search_progress_ : dict
        Best score of a complete (``best_score``) and of a screening trial
        (``screened_best_score``) by 10/25/50/100 % of ``timeout``; ``stopped_early``,
        ``stop_detail``, ``ended``, ``search_seconds``: see :ref:`performance`.
    excluded_techniques_ : dict
        Techniques left out of the space for this data, with the reason.
    excluded_algorithms_ : dict
        Models left out, with the reason (with ``sample_weight``: no such fit).
    study_ : optuna.study.Study
        The study of the search.
    search_space_ : SearchSpace
        The space searched for this data (what applied, what was left out).
    cv_ : cross-validation splitter
        The inner splitter; ``cv_.split(X, y)`` gives the folds of the search
        (``cv_.split(X, y, groups)`` when ``fit`` was given groups; on the
        searched rows, see ``search_rows_``).
    scorer_ : callable
        The scorer used in the search and by :meth:`score`.
    n_splits_ : int
        Number of inner cross-validation folds.
    refit_time_ : float
        Seconds to refit the best setup (every step of a timed refit).
    refit_rows_ : ndarray of int or None
        Rows ``best_estimator_`` was fitted on: ``None``, every row, unless a
        ``timeout`` afforded fewer (a stratified subsample, with a warning).
    cost_model_ : dict
        The search's predicted seconds against the measured ones (see
        :ref:`performance`): ``fold_predicted``, ``fold_measured`` (every
        fold run while its time could be predicted), ``fold_ratios``
        (measured / predicted), ``fold_ratio_median``, ``fold_ratio_p90``,
        ``refit_predicted`` (``None`` when unknown), ``refit_measured`` (of
        the last step), ``refit_steps`` (rows and seconds of each) and
        ``cpus`` (idle CPUs that sized a timed fit's threads, else ``None``).
    search_rows_ : ndarray of int or None
        Rows the search ran on (``max_search_samples``); ``None``: every row.
    versions_ : dict
        Versions of Python and the libraries the model was trained with
        (:func:`load_model` warns when they differ from the installed ones).
    calibration_ : dict
        The probability correction applied: ``method``, ``reason``,
        ``factors`` (prior shift), ``candidates`` (out-of-fold log loss of each
        method tried), out-of-fold metrics before and after (``oof_brier_after``,
        ...) and ``oof_origin`` (``"search"``/``"refit"``: which fold models).
    threshold_ : float or None
        The decision threshold on the (corrected) probability of the minority
        class, or ``None``.
    threshold_info_ : dict or None
        The objective, the threshold, its out-of-fold ``precision``, ``recall``,
        ``specificity``, ``positive_rate`` and the mean objective ``score``.
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

    Tune the model's own hyperparameters with the technique:

    >>> from optuna.distributions import FloatDistribution
    >>> clf = AutoBalancedClassifier(
    ...     LogisticRegression(), n_trials=4, cv=3, random_state=0,
    ...     param_distributions={"C": FloatDistribution(1e-2, 1e2, log=True)},
    ... ).fit(X, y)
    >>> "logistic_regression__C" in clf.best_params_
    True
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        estimator=None,
        *,
        techniques=None,
        param_distributions=None,
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
        self.param_distributions = param_distributions
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

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **params):
        """Search the techniques, then refit the best on all of ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (array or DataFrame).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, finite and >= 0, positive somewhere in every class.
            They reach the fold models and the refit (through the samplers,
            by the rule of the techniques guide; class weights multiply them),
            the inner scores, the calibration, the threshold and the
            ensemble. Models and ensembles whose ``fit`` takes none are left
            out, with a warning (``excluded_algorithms_``).
        **params : dict
            Other fit-time metadata, as in ``GridSearchCV.fit``: ``groups``
            (array-like of shape (n_samples,)), the group of each row, for the
            inner splitter: no group is both trained on and scored in one fold
            (an integer ``cv`` gives shuffled ``StratifiedGroupKFold``). Any
            other key raises ``TypeError``. See :ref:`grouped-data`.

        Returns
        -------
        self : AutoBalancedClassifier
            The fitted estimator.

        Raises
        ------
        NoCompletedTrialsError
            If no trial of the search completed.
        ValueError
            Before the search, when the settings, the data, ``sample_weight``
            or ``groups`` cannot make a search; the message names the fix.
        TypeError
            If ``params`` holds a key other than ``groups``.

        Notes
        -----
        A ``fit`` that raises leaves the estimator unfitted, without the
        attributes of an earlier fit either. A trial fails (and is recorded
        in ``cv_results_``) only when its pipeline or the scorer raises; an
        error elsewhere in the search raises out of ``fit``.
        """
        # A failed fit (even a refit) leaves an unfitted estimator, not a mix.
        self._forget_fit()
        try:
            return self._fit(X, y, fit_params(self, sample_weight, params))
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

    def _fit(self, X, y, metadata):
        plan = build_plan(self, X, y, fit_params=metadata)
        with quiet_optuna(), cpu_share(self.timeout):
            study = open_study(
                storage=self.storage,
                study_name=self.study_name,
                seed=plan.study_seed,
                pruning=self.pruning,
                fingerprint=plan.fingerprint,
            )
            run_study(
                study,
                plan.objective,
                n_trials=plan.n_trials,
                timeout=self.timeout,
                starting_params=[
                    plan.space.optuna_params(c) for c in plan.starting_configs
                ],
                show_progress_bar=self.show_progress_bar,
                budget=plan.budget,
                early_stop=plan.early_stop,
            )
            check_completed(study, excluded=plan.space.excluded)
            best_trial, self.selection_ = choose_trial(study, plan)
            self._set_search_results(plan, study, best_trial)
            self._refit(plan, best_trial)
        return self

    def _set_search_results(self, plan, study, best_trial):
        """The fitted attributes of the search and of the data it ran on."""
        self.n_features_in_ = plan.n_features_in
        if plan.feature_names_in is not None:
            self.feature_names_in_ = plan.feature_names_in
        self._feature_info = plan.feature_info
        self._accepts_nan = plan.accepts_nan
        self._fit_weight_totals = plan.fit_weight_totals
        self.cv_ = plan.cv
        self.study_ = study
        self.scorer_ = plan.scorer
        self.n_splits_ = len(plan.splits)
        self.search_space_ = plan.space
        self.excluded_techniques_ = dict(plan.space.excluded)
        self.excluded_algorithms_ = dict(plan.excluded_algorithms)
        trials = search_trials(study)
        self.cv_results_, self.search_progress_ = search_results(
            study, trials, plan, self.timeout
        )
        self.best_index_ = int(
            np.flatnonzero(self.cv_results_["trial_number"] == best_trial.number)[0]
        )
        self.best_params_ = trial_params(best_trial)
        self.best_score_ = float(best_trial.value)
        self.best_technique_ = self.best_params_["technique"]
        algorithm = self.best_params_["algorithm"]
        self.best_algorithm_ = self.best_technique_ if algorithm is None else algorithm

    def _refit(self, plan, best_trial):
        """Refit the chosen setup on every row (with a ``timeout``, on the
        rows the time left affords, see ``_refit``), then its decision rule."""
        start = time.perf_counter()
        self.best_estimator_, self.refit_rows_, self.cost_model_ = budgeted_refit(
            lambda: self._estimator_from_params(self.best_params_), plan, best_trial
        )
        self.refit_time_ = time.perf_counter() - start
        self.search_rows_ = plan.rows
        self.versions_ = library_versions()
        self.classes_ = getattr(self.best_estimator_, "classes_", plan.classes)
        self.decision_rule_ = refit_decision_rule(
            self, plan, best_trial, self.refit_rows_
        )
        self.calibration_ = self.decision_rule_.calibration_info
        self.threshold_ = self.decision_rule_.threshold
        self.threshold_info_ = self.decision_rule_.threshold_info

    def _estimator_from_params(self, params):
        """An unfitted estimator for one entry of ``cv_results_["params"]``
        (the refit, nested evaluation and reports rebuild setups with it)."""
        return estimator_from_params(self.search_space_, params)

    def get_metadata_routing(self):
        """How ``fit`` routes metadata when routing is enabled: the
        estimator's own requests (``set_fit_request``, ``set_score_request``),
        the model(s) given as ``estimator`` (``fit`` to ``fit``) and the inner
        splitter (``fit`` to ``split``; an integer ``cv`` asks for ``groups``).

        Returns
        -------
        routing : MetadataRouter
        """
        return metadata_router(self)

    @property
    def leaderboard_(self):
        """One row per technique vs ``none`` (:func:`autobalance.leaderboard`);
        ``NotFittedError`` before ``fit``."""
        check_is_fitted(self, "cv_results_")
        return search_leaderboard(self)

    # -- prediction ------------------------------------------------------------
    def _predict_X(self, X):
        check_is_fitted(self)
        return check_predict_input(self, X)

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

    @available_if(has_proba)
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

    @available_if(has_proba)
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

    @available_if(estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the refitted best setup.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray
            The best model's ``decision_function`` with ``calibration="off"``
            and no threshold; else the log-odds of the corrected probabilities
            (log-probabilities for several classes) minus those of
            ``threshold_``: positive means :meth:`predict` says ``classes_[1]``.
        """
        X = self._predict_X(X)
        return self.decision_rule_.decision_function(self.best_estimator_, X)

    def score(self, X, y, sample_weight=None):
        """Score with the search's scorer (ROC AUC by default).

        Like :class:`~sklearn.model_selection.GridSearchCV` (plain classifiers
        score accuracy, which rewards predicting the majority class), so
        ``GridSearchCV`` or ``cross_val_score`` over it rank by the search metric.

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
        tags.input_tags.allow_nan, tags.input_tags.sparse = input_tags(self)
        tags.classifier_tags.multi_class = True
        return tags
