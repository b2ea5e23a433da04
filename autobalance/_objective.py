"""One trial: configuration -> pipeline -> fold-by-fold scores -> mean.

The objective is independent of how the study is run: it takes any Optuna
trial (``optuna.trial.FixedTrial`` included), so the space and the scoring can
be tested without a study.
"""

from __future__ import annotations

import math
import numbers
import pickle
import time

import numpy as np
import optuna
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.metrics import recall_score, roc_auc_score
from sklearn.preprocessing import label_binarize

from ._attrs import (
    ATTR_ALGORITHM,
    ATTR_BUDGET_REFUSED,
    ATTR_DUPLICATE,
    ATTR_FAIL,
    ATTR_FALLBACK,
    ATTR_FAMILY,
    ATTR_FIDELITY_ROWS,
    ATTR_FIDELITY_TREES,
    ATTR_FIT_TIMES,
    ATTR_MODEL_BYTES,
    ATTR_PARAMS,
    ATTR_PILOT_ROWS,
    ATTR_PILOT_TIME,
    ATTR_RECALLS,
    ATTR_SCORE_TIMES,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
    ATTR_TECHNIQUE,
    OUT_OF_TIME,
)
from ._build import fit_weighted
from ._compat import take_rows
from ._footprint import model_nbytes
from ._oof import SEARCH, fold_prediction, raw_response
from ._screening import (
    MAX_FRACTION,
    MIN_ROWS_PER_CLASS,
    START_FRACTION,
    fold_train_rows,
)
from ._subsample import refit_subsample
from ._threads import (
    folds_in_parallel,
    restored_limits,
    run_limited,
    threads_per_fold,
)

__all__ = ["Objective", "TrialFailure", "pilot_rows"]


class TrialFailure(Exception):
    """The trial's pipeline (samplers, preprocessing, model) or scorer raised
    ``error`` on a fold: the trial fails, the search goes on.

    Only this is caught around a trial; any other error comes from the code
    around the pipeline (suggesting, building, recording, the budget), i.e. a
    bug, and stops the search. It carries the original error (not only as
    ``__cause__``, which joblib does not send back from its workers).
    """

    def __init__(self, error, reason=None):
        if reason is None:
            reason = f"{type(error).__name__}: {error}"
        super().__init__(reason)
        self.error = error
        self.reason = reason

    def __reduce__(self):
        # From a joblib worker: an error that cannot be pickled is sent back
        # as its reason only, still a trial failure.
        try:
            pickle.dumps(self.error)
        except Exception:
            return type(self), (None, self.reason)
        return type(self), (self.error, self.reason)


def _run_pipeline(method, *args, **kwargs):
    """Call the trial pipeline's (or the scorer's) ``method``; its errors are
    the trial's failure."""
    try:
        return method(*args, **kwargs)
    except Exception as exc:
        raise TrialFailure(exc) from exc


def decision_ovr(estimator):
    """Whether a fitted multi-class ``estimator`` gives one-vs-rest
    ``decision_function`` scores but no ``predict_proba``."""
    return (
        not hasattr(estimator, "predict_proba")
        and hasattr(estimator, "decision_function")
        and len(getattr(estimator, "classes_", ())) > 2
    )


def ovr_roc_auc(y, decision, classes, sample_weight=None):
    """Macro one-vs-rest ROC AUC of per-class scores (any scale).

    What scikit-learn's ``roc_auc_ovr`` computes from probabilities: the ROC
    AUC of each class against the rest, ranked by that class's column, then
    averaged. Decision values rank the rows of a class as they are, so no
    softmax (which would mix the columns) is needed.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1, 2, 2])
    >>> scores = np.array([[2.0, -1, -1], [-1, 3, -1], [-1, -2, 1], [0, -1, 5]])
    >>> ovr_roc_auc(y, scores, np.array([0, 1, 2]))
    1.0
    """
    onehot = label_binarize(y, classes=classes)
    return float(
        roc_auc_score(
            onehot, np.asarray(decision), average="macro", sample_weight=sample_weight
        )
    )


def _fit_and_score(
    estimator,
    X,
    y,
    train,
    test,
    scorer,
    labels=None,
    classes=None,
    auc=False,
    sample_weight=None,
):
    X_train, y_train = take_rows(X, train), take_rows(y, train)
    X_test, y_test = take_rows(X, test), take_rows(y, test)
    w_train = w_test = None
    if sample_weight is not None:
        w_train, w_test = sample_weight[train], sample_weight[test]
    # Scorers take the test rows' weights as a keyword (only when there are
    # weights: a custom scorer need not accept it otherwise).
    weighted = {} if w_test is None else {"sample_weight": w_test}
    start = time.perf_counter()
    _run_pipeline(fit_weighted, estimator, X_train, y_train, w_train)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    prediction = None
    if classes is not None:
        # Out-of-fold output, kept for the ensemble and for the decision rule
        # (calibration, threshold) of the chosen setup, so neither refits it.
        raw, kind = _run_pipeline(raw_response, estimator, X_test)
        prediction = fold_prediction(
            estimator,
            raw,
            kind,
            test,
            y_train,
            y_test,
            classes,
            w_train,
            w_test,
            origin=SEARCH,
        )
    if (
        auc
        and prediction is not None
        and len(classes) == 2
        and prediction.kind == "predict_proba"
        and not hasattr(estimator, "decision_function")
    ):
        # What the binary roc_auc scorer computes for a model without
        # decision_function (it would call predict_proba a second time).
        score = _run_pipeline(
            roc_auc_score, y_test == classes[1], prediction.raw[:, 1], **weighted
        )
    elif auc and decision_ovr(estimator):
        # Several classes, no predict_proba (LinearSVC): the roc_auc_ovr
        # scorer would refuse the model; its one-vs-rest scores rank as well.
        decision = (
            prediction.raw
            if prediction is not None
            else _run_pipeline(estimator.decision_function, X_test)
        )
        score = _run_pipeline(ovr_roc_auc, y_test, decision, estimator.classes_, w_test)
    else:
        score = _run_pipeline(scorer, estimator, X_test, y_test, **weighted)
    score = float(score)
    score_time = time.perf_counter() - start
    recalls = None
    if labels is not None:
        # Per-class recall, so multi-class results show which class suffers.
        recalls = recall_score(
            y_test,
            _run_pipeline(estimator.predict, X_test),
            labels=labels,
            average=None,
            zero_division=0.0,
            sample_weight=w_test,
        ).tolist()
    return score, fit_time, score_time, recalls, prediction, model_nbytes(estimator)


def pilot_rows(counts):
    """Training rows of a pilot fit (see ``Objective._pilot_allows``) from a
    training fold of class counts ``counts``, or ``None`` when the fold is
    too small for a cheaper fit.

    A tenth of the fold (``START_FRACTION``), at the fold's class shares (the
    cost model extrapolates at fixed shares: keeping every rare row, as a
    screening fold does, would leave cluster centroids nothing to cluster, as
    many clusters as rows), with at least ``MIN_ROWS_PER_CLASS`` rows of the
    rarest class so that a sampler finds its neighbours; ``None`` when that
    needs more than ``MAX_FRACTION`` of the fold.

    Examples
    --------
    >>> pilot_rows([39_200, 800])
    4000
    >>> pilot_rows([39_600, 400])
    5000
    >>> pilot_rows([9_950, 50]) is None
    True
    """
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    rare = counts[counts > 0].min()
    rows = max(
        round(START_FRACTION * total), math.ceil(MIN_ROWS_PER_CLASS * total / rare)
    )
    return None if rows > MAX_FRACTION * total else int(rows)


def ensemble_size(estimator):
    """Trees (or boosting rounds) of the ensemble model in ``estimator``: the
    outermost ``n_estimators``, or a histogram gradient boosting's
    ``max_iter``; ``None`` for a model that is not an ensemble.

    Examples
    --------
    >>> from sklearn.ensemble import ExtraTreesClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> ensemble_size(make_pipeline(ExtraTreesClassifier(n_estimators=7)))
    7
    >>> ensemble_size(LogisticRegression()) is None
    True
    """
    # (nesting depth of the estimator that has it, size): the outermost wins,
    # so an ensemble of boosted learners counts its members, not their rounds.
    sizes = []
    hgb = HistGradientBoostingClassifier | HistGradientBoostingRegressor
    if isinstance(estimator, hgb):
        sizes.append((0, estimator.max_iter))
    for name, value in estimator.get_params(deep=True).items():
        if name == "n_estimators" or name.endswith("__n_estimators"):
            sizes.append((name.count("__"), value))
        elif isinstance(value, hgb):
            sizes.append((name.count("__") + 1, value.max_iter))
    sizes = [(d, v) for d, v in sizes if isinstance(v, numbers.Integral)]
    return int(min(sizes)[1]) if sizes else None


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


class Objective:
    """Cross-validate the configuration a trial suggests.

    Parameters
    ----------
    space : SearchSpace
    X, y : array-like
        The training data; only ever indexed by ``splits``.
    splits : list of (train, test) index arrays
        The same folds for every trial, so scores are paired across trials.
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.
    n_jobs : int or None
        Folds fitted in parallel. Pruning decisions are replayed fold by fold,
        so a parallel run takes the same decisions as a sequential one.
    labels : ndarray or None
        Class labels whose per-fold recall is recorded (multi-class).
    keep_oof : bool
        Keep the out-of-fold predictions (:class:`FoldPrediction`) of the best
        complete trial of each model in :attr:`oof`, in memory.
    budget : Budget or None
        Time budget; a trial stops before a fold that would overrun it.
    auc : bool
        ``scorer`` is the default ROC AUC (``roc_auc`` for two classes,
        ``roc_auc_ovr`` for more): with ``keep_oof`` the binary one is
        computed from the kept probabilities (one ``predict_proba`` per fold,
        not two), and a multi-class model without ``predict_proba`` is scored
        from its one-vs-rest ``decision_function`` (:func:`ovr_roc_auc`).
    sample_weight : ndarray or None
        Weights of the rows of ``X``: each fold's model is fitted with its
        training rows' (:func:`~autobalance._build.fit_weighted`), and scored
        (and its per-class recall measured) with its test rows'.
    library_size : int
        With ``keep_oof``, also keep those of the ``library_size`` best
        complete trials (the library of greedy ensemble selection).
    keep_config : Config or None
        With ``keep_oof``, also keep those of the trials of this setup (the
        small-data guard's reference, which the selection may refit: its
        decision rule is fitted on them).
    """

    def __init__(
        self,
        space,
        X,
        y,
        splits,
        scorer,
        n_jobs=None,
        labels=None,
        keep_oof=False,
        budget=None,
        auc=False,
        sample_weight=None,
        library_size=0,
        keep_config=None,
    ):
        self.space = space
        self.X = X
        self.y = y
        self.splits = splits
        self.scorer = scorer
        self.n_jobs = n_jobs
        self.labels = labels
        self.keep_oof = keep_oof
        self.budget = budget
        self.auc = auc
        self.sample_weight = sample_weight
        self.library_size = library_size
        self.keep_config = keep_config
        self._pinned = set()  # trials of keep_config
        # trial number -> list of FoldPrediction, only for the best complete
        # trial of each model (what the ensemble and the refit can use) and
        # the ``library_size`` best trials (greedy ensemble selection's
        # library), so memory stays at a few dozen copies of the predictions.
        self.oof = {}
        self._best_of_model = {}
        self._values = {}
        self._screen_splits = {}  # rows -> folds with fewer training rows
        # Training rows of a full-fidelity fold, when a timed search capped
        # them (``cap_full_rows``); None: every row of the fold.
        self.full_rows = None
        self._counts = {}  # id of a list of folds -> its mean class counts

    def batch_size(self):
        """Folds of a trial fitted at once."""
        return folds_in_parallel(self.n_jobs, len(self.splits))

    def trial_batches(self):
        """Batches of folds of one whole trial."""
        return math.ceil(len(self.splits) / self.batch_size())

    @staticmethod
    def _train_rows(splits):
        return round(float(np.mean([len(train) for train, _ in splits])))

    def splits_for(self, trial):
        """The folds ``trial`` runs on: the search's, with each training part
        subsampled to ``screen_rows`` rows for a screening trial (set when
        enqueued, see ``_screening``), else to :attr:`full_rows` when a timed
        search capped its full fidelity (:meth:`cap_full_rows`). A fold's
        subsample is seeded by the fold and the search's seed, so every trial
        at the same rows gets the same rows; the test folds never change."""
        rows = trial.user_attrs.get(ATTR_SCREEN_ROWS)
        return self._subsampled(self.full_rows if rows is None else rows)

    def _subsampled(self, rows):
        """The search's folds with ``rows`` training rows each (``None``:
        the search's folds)."""
        if rows is None:
            return self.splits
        if rows not in self._screen_splits:
            classes = self.space.context.classes
            seed = self.space.context.random_state
            self._screen_splits[rows] = [
                (fold_train_rows(train, self.y, classes, rows, seed + i), test)
                for i, (train, test) in enumerate(self.splits)
            ]
        return self._screen_splits[rows]

    def cap_full_rows(self, rows):
        """From now on, full-fidelity trials train on ``rows`` rows of each
        training fold (``None``: all of them); returns their folds. Set once,
        before the first full-fidelity trial, so that every complete trial is
        scored on the same rows."""
        self.full_rows = None if rows is None else int(rows)
        return self.full_splits

    @property
    def full_splits(self):
        """The folds of a full-fidelity trial."""
        return self._subsampled(self.full_rows)

    @staticmethod
    def _screening(trial):
        return trial.user_attrs.get(ATTR_SCREEN_ROWS) is not None

    def _find_duplicate(self, trial, config):
        study = getattr(trial, "study", None)
        if study is None:
            return None
        states = (optuna.trial.TrialState.COMPLETE,)
        for other in study.get_trials(deepcopy=False, states=states):
            if (
                other.number != trial.number
                and other.user_attrs.get(ATTR_TECHNIQUE) == config.technique
                and other.user_attrs.get(ATTR_ALGORITHM) == config.algorithm
                and other.user_attrs.get(ATTR_PARAMS) == _clean(config.params)
            ):
                return other
        return None

    def __call__(self, trial):
        config = self.space.suggest(trial)
        trial.set_user_attr(ATTR_TECHNIQUE, config.technique)
        trial.set_user_attr(ATTR_FAMILY, self.space.family(config.technique))
        trial.set_user_attr(ATTR_ALGORITHM, config.algorithm)
        trial.set_user_attr(ATTR_PARAMS, _clean(config.params))

        splits = self.splits_for(trial)
        trial.set_user_attr(ATTR_FIDELITY_ROWS, self._train_rows(splits))
        screening = self._screening(trial)

        # A screening trial's scores are of fewer rows: never reused.
        duplicate = None if screening else self._find_duplicate(trial, config)
        if duplicate is not None:
            # The same folds and seeds give the same scores: reuse them.
            trial.set_user_attr(ATTR_DUPLICATE, duplicate.number)
            for key in (
                ATTR_FIDELITY_TREES,
                ATTR_SCORES,
                ATTR_FIT_TIMES,
                ATTR_SCORE_TIMES,
                ATTR_RECALLS,
                ATTR_MODEL_BYTES,
            ):
                trial.set_user_attr(key, duplicate.user_attrs.get(key))
            # As if its folds had run: the pruner compares with whichever of
            # two tied trials the storage calls best.
            for step, score in enumerate(duplicate.user_attrs.get(ATTR_SCORES) or ()):
                trial.report(score, step)
            return duplicate.value

        estimator = self.space.build(config, search=True)
        trial.set_user_attr(ATTR_FIDELITY_TREES, ensemble_size(estimator))
        try:
            return self._cross_validate(trial, estimator, config, splits)
        except TrialFailure as exc:
            trial.set_user_attr(ATTR_FAIL, exc.reason[:500])
            raise

    def _cross_validate(self, trial, estimator, config, splits):
        screening = self._screening(trial)
        scores, fit_times, score_times, recalls, probas = [], [], [], [], []
        model_bytes = []
        batch = self.batch_size()
        # Every fold of the trial gets the same threads (also a last, smaller
        # batch), so its fit times stay comparable for the budget.
        limit = threads_per_fold(batch)
        classes = self.space.context.classes if self.keep_oof else None
        for start in range(0, len(splits), batch):
            chunk = list(enumerate(splits))[start : start + batch]
            if self.budget is not None and not (
                self._allowed(trial, config, fit_times, splits, start, batch)
                and (start or self._pilot_allows(trial, estimator, config, splits))
            ):
                self._record(trial, scores, fit_times, score_times)
                trial.set_user_attr(ATTR_FAIL, OUT_OF_TIME)
                if start == 0:
                    trial.set_user_attr(ATTR_BUDGET_REFUSED, True)
                raise optuna.TrialPruned(f"time budget reached before fold {start}")
            if batch == 1:
                results = [
                    _fit_and_score(*self._fold_args(estimator, tr, te, classes))
                    for _, (tr, te) in chunk
                ]
            else:
                with restored_limits(limit):
                    results = self._parallel_folds(chunk, estimator, classes, limit)
            if self.budget is not None:
                self.budget.measured(
                    config, [r[1] for r in results], self.class_counts(splits)
                )
            for (step, _), (score, fit_time, score_time, recall, proba, nbytes) in zip(
                chunk, results, strict=True
            ):
                probas.append(proba)
                model_bytes.append(nbytes)
                trial.set_user_attr(ATTR_MODEL_BYTES, model_bytes)
                if not math.isfinite(score):
                    raise TrialFailure(
                        ValueError(f"the score on fold {step} is {score}")
                    )
                scores.append(score)
                fit_times.append(fit_time)
                score_times.append(score_time)
                if recall is not None:
                    recalls.append(recall)
                    trial.set_user_attr(ATTR_RECALLS, recalls)
                trial.report(score, step)
                # The pruner compares complete (full-fidelity) trials only;
                # a screening trial's fewer rows would be judged against them.
                if not screening and trial.should_prune():
                    self._record(trial, scores, fit_times, score_times)
                    raise optuna.TrialPruned(f"pruned after fold {step}")
        self._record(trial, scores, fit_times, score_times)
        value = float(np.mean(scores))
        if screening:
            # Ends PRUNED, so that no choice among complete trials (the best,
            # the ensemble, the decision rule) sees its low-fidelity score.
            rows = trial.user_attrs[ATTR_FIDELITY_ROWS]
            raise optuna.TrialPruned(f"screened on {rows} rows per fold")
        if self.budget is not None:
            self.budget.record(config, fit_times, value, model_bytes)
        if self.keep_oof:
            self._retain(trial.number, config, value, probas)
        return value

    def class_counts(self, splits):
        """Rows of each class of a mean training fold of ``splits``."""
        key = id(splits)
        if key not in self._counts:
            y, classes = np.asarray(self.y), self.space.context.classes
            self._counts[key] = np.mean(
                [[np.sum(y[train] == c) for c in classes] for train, _ in splits],
                axis=0,
            )
        return self._counts[key]

    def _allowed(self, trial, config, fit_times, splits, start, batch):
        """Whether the budget lets the batch of folds from ``start`` run: a
        fallback trial always runs (``_screening.run_fallback``)."""
        if trial.user_attrs.get(ATTR_FALLBACK):
            return True
        return self.budget.allows(
            config,
            fit_times,
            counts=self.class_counts(splits),
            batches=math.ceil((len(splits) - start) / batch),
            trial_batches=self.trial_batches(),
            screening=self._screening(trial),
        )

    def _pilot_allows(self, trial, estimator, config, splits):
        """Whether the budget still lets a full-fidelity trial start after its
        pilot fit.

        A sampler setup the cost model has not measured
        (:meth:`~autobalance._budget.Budget.needs_pilot`) is first fitted on
        :func:`pilot_rows` of the first training fold, alone, with the
        threads a fold gets; the budget then predicts its folds from that. A
        pilot that raises teaches nothing: the folds will say whether the
        setup fails.
        """
        if (
            self._screening(trial)
            or trial.user_attrs.get(ATTR_FALLBACK)
            or not self.budget.needs_pilot(config)
        ):
            return True
        classes = self.space.context.classes
        train = np.asarray(splits[0][0])
        y_train = np.asarray(self.y)[train]
        rows = pilot_rows([np.sum(y_train == c) for c in classes])
        if rows is None:  # too few rows for a cheaper fit
            return True
        seed = self.space.context.random_state
        train = train[refit_subsample(y_train, classes, rows, seed)]
        weights = None if self.sample_weight is None else self.sample_weight[train]
        start = time.perf_counter()
        try:
            run_limited(
                threads_per_fold(self.batch_size()),
                _run_pipeline,
                fit_weighted,
                clone(estimator),
                take_rows(self.X, train),
                take_rows(self.y, train),
                weights,
            )
        except TrialFailure:
            return True
        seconds = time.perf_counter() - start
        trial.set_user_attr(ATTR_PILOT_ROWS, len(train))
        trial.set_user_attr(ATTR_PILOT_TIME, seconds)
        y_train = np.asarray(self.y)[train]
        counts = np.array([np.sum(y_train == c) for c in classes], dtype=float)
        self.budget.piloted(config, seconds, counts)
        return self._allowed(trial, config, [], splits, 0, self.batch_size())

    def _parallel_folds(self, chunk, estimator, classes, limit):
        return Parallel(n_jobs=len(chunk))(
            delayed(run_limited)(
                limit, _fit_and_score, *self._fold_args(estimator, tr, te, classes)
            )
            for _, (tr, te) in chunk
        )

    def _fold_args(self, estimator, train, test, classes):
        """The arguments of ``_fit_and_score`` for one fold."""
        return (
            clone(estimator),
            self.X,
            self.y,
            train,
            test,
            self.scorer,
            self.labels,
            classes,
            self.auc,
            self.sample_weight,
        )

    def _retain(self, number, config, value, predictions):
        key = config.algorithm or config.technique
        previous = self._best_of_model.get(key)
        # Ties keep the earlier trial, as Optuna's best_trial does.
        if previous is None or value > previous[0]:
            self._best_of_model[key] = (value, number)
        self.oof[number] = predictions
        self._values[number] = value
        if self._is_kept_config(config):
            self._pinned.add(number)
        values = self._values
        ranked = sorted(values, key=lambda n: (-values[n], n))
        keep = set(ranked[: self.library_size])
        keep.update(n for _, n in self._best_of_model.values())
        keep.update(self._pinned)
        for n in ranked:
            if n not in keep:
                self.oof.pop(n, None)
                values.pop(n)

    def _is_kept_config(self, config):
        pin = self.keep_config
        return (
            pin is not None
            and (config.technique, config.algorithm) == (pin.technique, pin.algorithm)
            and _clean(config.params) == _clean(pin.params)
        )

    @staticmethod
    def _record(trial, scores, fit_times, score_times):
        trial.set_user_attr(ATTR_SCORES, scores)
        trial.set_user_attr(ATTR_FIT_TIMES, fit_times)
        trial.set_user_attr(ATTR_SCORE_TIMES, score_times)


def _clean(params):
    return {k: _jsonable(v) for k, v in params.items()}
