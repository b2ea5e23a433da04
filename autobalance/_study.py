"""Study lifecycle: a seeded sampler and pruner, a fresh study per fit (or a
named, fingerprinted study in a storage), Optuna's logging silenced and
restored, and the optimisation loop."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import inspect
import json
import re
import warnings

import joblib
import numpy as np
import optuna

from ._attrs import (
    ATTR_DUPLICATE,
    ATTR_FAIL,
    ATTR_FALLBACK,
    ATTR_SCORES,
    ATTR_TECHNIQUE,
    EARLY_STOP_ATTR,
    FINGERPRINT_ATTR,
    SEARCH_END_ATTR,
)
from ._budget import trial_config
from ._distributed import (
    SlotSampler,
    as_storage,
    budget_refused,
    counted_trials,
    run_queue,
    slot_of,
)
from ._early_stop import REPEATED_SETUPS
from ._footprint import release_freed_memory
from ._objective import TrialFailure
from ._screening import run_round, screened
from ._space import REQUIRED, Technique
from .exceptions import (
    NoCompletedTrialsError,
    SkippedTechniqueWarning,
    StorageError,
    StudyMismatchError,
)

__all__ = [
    "canonical",
    "data_fingerprint",
    "open_study",
    "quiet_optuna",
    "run_fallback",
    "run_study",
]

TrialState = optuna.trial.TrialState

#: Trials in a row that ran no fold, refused by the time budget or repeating
#: an earlier setup, after which an in-memory search stops: the sampler keeps
#: proposing setups too slow for the time left or already scored (neither
#: costs a fold, so the budget's clock does not move and, without a limit,
#: the search would spin until the deadline; and since a repeated setup takes
#: no trial of ``n_trials``, a search of a small space would never end).
MAX_REFUSED_IN_A_ROW = 10
#: What ended a search (``search_progress_["ended"]``): the trials asked for
#: ran, the time budget stopped it, or an early stop (the expected gain too
#: small, or only repeated setups proposed).
N_TRIALS_END, BUDGET_END, EARLY_STOP_END = "n_trials", "budget", "early_stop"


@contextlib.contextmanager
def quiet_optuna():
    """Silence Optuna's info logging and experimental warnings, then restore."""
    previous = optuna.logging.get_verbosity()
    # Failed trials are recorded with their reason in cv_results_; Optuna's
    # own warnings about them would only repeat it, with tracebacks.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", category=optuna.exceptions.ExperimentalWarning
            )
            yield
    finally:
        optuna.logging.set_verbosity(previous)


# What defines a technique's part of the search (its description does not).
TECHNIQUE_FIELDS = (
    "name",
    "family",
    "kind",
    "build",
    "params",
    "requires",
    "placement",
    "search_params",
    "cost_exponent",
)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _qualified_name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def canonical(obj):
    """A plain structure of lists, strings, numbers and arrays that identifies
    ``obj`` by its parameters, for :func:`data_fingerprint` to hash.

    Reprs cannot identify a search: scikit-learn shortens those of long
    estimators (two pipelines that differ deep inside print alike), and a
    user's sampler wrapped in a builder prints as the builder. So, recursively:

    - an estimator or sampler (anything with ``get_params``) becomes its
      class's qualified name and its own parameters, ``get_params(deep=False)``,
      so the estimators inside ``Pipeline.steps`` or
      ``ColumnTransformer.transformers`` count by their parameters too;
    - a :class:`~autobalance.Technique` becomes its name, family, kind,
      parameters, build, requirement, placement, search parameters and cost
      exponent (:data:`TECHNIQUE_FIELDS`; not its description); any other
      dataclass (an ``Algorithm``, an ``IntParam``) its class and fields;
    - lists, tuples, dicts and sets become their items (dicts and sets sorted);
    - a function or class becomes its qualified name (a lambda or closure
      counts by name alone), a bound method its function and object;
    - any other object with attributes (the builder of a user's sampler, a
      scorer, a CV splitter) becomes its class and attributes;
    - numbers, strings, arrays and random generators stay as they are (joblib
      hashes arrays by content); anything else becomes its repr, without
      memory addresses (they differ between processes).

    Parameters
    ----------
    obj : object
        Search settings: estimators, techniques, scoring, cv, ...

    Returns
    -------
    structure : object
        Equal for equal settings (also across ``clone`` and processes),
        different when any parameter differs.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> canonical(LogisticRegression(C=0.5))[0]
    'sklearn.linear_model._logistic.LogisticRegression'
    """
    return _canonical(obj, ())


def _canonical(obj, parents):
    if obj is None or isinstance(obj, bool | int | float | str | bytes):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(
        obj, np.ndarray | np.random.RandomState | np.random.Generator
    ):  # joblib hashes these by content and state
        return obj
    if obj is REQUIRED:
        return "REQUIRED"
    if any(obj is p for p in parents):  # a reference cycle
        return "<cycle>"
    parents = (*parents, obj)

    def sub(value):
        return _canonical(value, parents)

    if inspect.ismethod(obj):
        return ["method", _qualified_name(obj.__func__), sub(obj.__self__)]
    if isinstance(obj, type) or inspect.isroutine(obj):
        return _qualified_name(obj)
    if hasattr(obj, "get_params"):
        return [_qualified_name(type(obj)), sub(obj.get_params(deep=False))]
    if isinstance(obj, Technique):
        fields = {name: sub(getattr(obj, name)) for name in TECHNIQUE_FIELDS}
        return [_qualified_name(Technique), fields]
    if dataclasses.is_dataclass(obj):
        fields = dataclasses.fields(obj)
        return [
            _qualified_name(type(obj)),
            {f.name: sub(getattr(obj, f.name)) for f in fields},
        ]
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: repr(kv[0]))
        return ["dict", [[sub(k), sub(v)] for k, v in items]]
    if isinstance(obj, list | tuple):
        return [type(obj).__name__, [sub(v) for v in obj]]
    if isinstance(obj, set | frozenset):
        return ["set", sorted((sub(v) for v in obj), key=repr)]
    if hasattr(obj, "__dict__"):
        return [_qualified_name(type(obj)), sub(vars(obj))]
    return _ADDRESS.sub("", repr(obj))


def data_fingerprint(X, y, settings, sample_weight=None):
    """A hash of the training data (with its sample weights, when given) and
    of the settings that define a search (made :func:`canonical`, so every
    parameter counts)."""
    import pandas as pd

    h = hashlib.sha256()
    if isinstance(X, pd.DataFrame):
        h.update(json.dumps([[str(c), str(t)] for c, t in X.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    else:
        if hasattr(X, "toarray"):
            X = X.toarray()
        arr = np.asarray(X)
        h.update(f"{arr.dtype}{arr.shape}".encode())
        if arr.dtype == object:
            h.update(repr(arr.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
    h.update(repr(np.asarray(y).tolist()).encode())
    if sample_weight is not None:
        # Only with weights: the fingerprints of unweighted studies stay.
        weight = np.ascontiguousarray(sample_weight, dtype=float)
        h.update(b"sample_weight" + weight.tobytes())
    h.update(joblib.hash(canonical(settings)).encode())
    return h.hexdigest()


# multivariate+group TPE models the conditional space (parameters exist only
# under their technique) instead of treating parameters independently.
TPE_OPTIONS = {"n_startup_trials": 10, "multivariate": True, "group": True}


def make_sampler(seed, stored=False):
    """TPE for an in-memory study; for a stored one, TPE seeded per slot so
    that a resumed or shared search samples as an uninterrupted one."""
    if stored:
        return SlotSampler(seed, **TPE_OPTIONS)
    return optuna.samplers.TPESampler(seed=seed, **TPE_OPTIONS)


def make_pruner(pruning):
    if not pruning:
        return optuna.pruners.NopPruner()
    # Every trial is scored on the same folds with the same seeds, so the score
    # on fold k is comparable across trials: stop a trial from its second fold
    # on when it is below the median of earlier trials on that fold. (A
    # Wilcoxon test on 5 paired folds cannot reach p < 0.1 before the fourth,
    # so it saved little: 14 % of trials pruned in the public benchmark.)
    return optuna.pruners.MedianPruner(
        n_startup_trials=5, n_warmup_steps=1, interval_steps=1
    )


def open_study(*, storage, study_name, seed, pruning, fingerprint, create=True):
    """A fresh in-memory study, or the named one in ``storage`` (created or
    resumed; a stored study made for other data or settings is refused).

    ``create=False`` (workers) only joins a study a driver has started.
    """
    pruner = make_pruner(pruning)
    if storage is None:
        return optuna.create_study(
            direction="maximize", sampler=make_sampler(seed), pruner=pruner
        )
    storage = as_storage(storage)
    sampler = make_sampler(seed, stored=True)
    try:
        if create:
            study = optuna.create_study(
                storage=storage,
                study_name=study_name,
                direction="maximize",
                sampler=sampler,
                pruner=pruner,
                load_if_exists=True,
            )
        else:
            study = optuna.load_study(
                study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
            )
    except KeyError as exc:
        raise StorageError(
            f"Study {study_name!r} does not exist in the storage; start the driver "
            "(fit with the same storage and study_name) first."
        ) from exc
    if study.directions != [optuna.study.StudyDirection.MAXIMIZE]:
        raise StudyMismatchError(
            f"Study {study_name!r} in the storage does not maximise one score, so it "
            "was not created by autobalance; choose another study_name."
        )
    stored = study.user_attrs.get(FINGERPRINT_ATTR)
    if stored is None:
        if study.trials or not create:
            raise StudyMismatchError(
                f"Study {study_name!r} in the storage "
                + ("already has trials but " if study.trials else "")
                + "was not created by autobalance; choose another study_name."
            )
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
    elif stored != fingerprint:
        raise StudyMismatchError(
            f"Study {study_name!r} in the storage was run on different data or "
            "search settings (space, scoring, cv, random_state); resuming it would "
            "mix two searches. Use a new study_name, or delete the old study with "
            "optuna.delete_study."
        )
    return study


def is_stored(study):
    return isinstance(study.sampler, SlotSampler)


def search_trials(study):
    """The trials of the search: for a stored study, those that count towards
    the budget (a killed trial that was retried is left out), in slot order.
    In either, a trial the time budget refused before its first fold ran
    nothing and is left out."""
    trials = study.get_trials(deepcopy=False)
    if is_stored(study):
        return counted_trials(trials)
    return [t for t in trials if not budget_refused(t)]


def best_trial_of(study):
    """The best complete trial; ties go to the earliest slot, so a resumed
    stored study picks the same trial as an uninterrupted one."""
    if not is_stored(study):
        return study.best_trial
    complete = study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
    )
    if not complete:
        return study.best_trial  # raises Optuna's error
    return max(complete, key=lambda t: (t.value, -slot_of(t), -t.number))


def _repeated(trial):
    """Whether ``trial`` repeated a setup already scored (it ran no fold)."""
    return ATTR_DUPLICATE in trial.user_attrs


def run_study(
    study,
    objective,
    *,
    n_trials,
    timeout,
    starting_params,
    show_progress_bar,
    budget=None,
    early_stop=None,
):
    """Enqueue the starting points on a new study and optimise up to the
    budget; stored studies resume up to ``n_trials`` finished trials, shared
    with any workers (see ``_distributed``). With a :class:`Budget` (the one
    the objective checks, counting from the start of ``fit``), in-memory and
    stored studies alike stop once the time left only covers the refit, and
    ``timeout`` is left to it. An in-memory study also stops when
    ``early_stop`` (an :class:`~autobalance._early_stop.EarlyStop`, called
    after every trial once the fixed trials are enqueued) says further
    trials would gain too little; a stored study ignores it. In an in-memory
    study a trial repeating a setup already scored takes no trial of
    ``n_trials``, and MAX_REFUSED_IN_A_ROW of them in a row stop the search
    (recorded like an early stop)."""
    if budget is not None:
        # The budget decides (Optuna's timeout would not even start a first
        # trial once it has passed, and fit must return a model).
        timeout = None
    if is_stored(study):
        run_queue(
            study,
            objective,
            n_trials=n_trials,
            timeout=timeout,
            starting_params=starting_params,
            show_progress_bar=show_progress_bar,
            driver=True,
            budget=budget,
        )
        # Another fit's record would linger in a stored study: overwrite it.
        spent = budget is not None and budget.spent()
        study.set_user_attr(SEARCH_END_ATTR, BUDGET_END if spent else N_TRIALS_END)
        return study
    callbacks = [lambda study, trial: release_freed_memory()]
    stopped = []
    idle = []  # trials in a row that ran no fold

    def stop_when_idle(study, trial):
        refused = budget_refused(trial)
        idle[:] = [*idle, trial] if refused or _repeated(trial) else []
        if budget is not None and budget.spent():
            stopped.append(trial.number)
            study.stop()
        elif len(idle) >= MAX_REFUSED_IN_A_ROW:
            stopped.append(trial.number)
            if all(_repeated(t) for t in idle):
                # Recorded as an early stop: the user asked for more trials
                # than the space seems to hold distinct setups.
                study.set_user_attr(
                    EARLY_STOP_ATTR,
                    {
                        "reason": REPEATED_SETUPS,
                        "repeats_in_a_row": len(idle),
                        "trial_number": trial.number,
                    },
                )
            study.stop()

    callbacks.append(stop_when_idle)
    if early_stop is not None:

        def stop_when_flat(study, trial):
            # Once the budget stopped the search, the rule has nothing to say.
            if not stopped and early_stop(study, trial):
                stopped.append(trial.number)
                study.stop()

        callbacks.append(stop_when_flat)

    def optimize(n):
        study.optimize(
            objective,
            n_trials=n,
            timeout=timeout,
            # A failing pipeline fails its trial; any other error is a bug.
            catch=(TrialFailure,),
            callbacks=callbacks,
            show_progress_bar=show_progress_bar,
        )
        return bool(stopped)

    if not study.trials:
        if budget is not None and budget.timeout is not None:
            # A full trial predicted not to fit may be refused before the
            # first completion: run_fallback then gives fit a model.
            budget.refuse_first = True
            # Only a timed search screens: the default one stays as it was.
            run_round(study, optimize, objective, budget, starting_params)
        else:
            for params in starting_params:
                study.enqueue_trial(params, skip_if_exists=True)
    if early_stop is not None:
        # Every fixed trial is enqueued by now: the rule may apply once they ran.
        early_stop.armed = True
    # Screening trials are a cheaper phase: they take no trial of n_trials.
    n_screened = sum(screened(t) for t in study.get_trials(deepcopy=False))
    # A trial the budget refuses before its first fold takes no trial of
    # n_trials (as in a stored study), nor does one that repeats a setup
    # already scored (its scores are reused): ask for as many more, until
    # stop_when_idle sees too many of them in a row.
    while not stopped:
        remaining = None
        if n_trials is not None:
            trials = study.get_trials(deepcopy=False)
            taken = len([t for t in counted_trials(trials) if not _repeated(t)])
            remaining = n_trials - (taken - n_screened)
            if remaining <= 0:
                break
        optimize(remaining)
        if remaining is None or timeout is not None:
            break
    if budget is not None and budget.refuse_first:
        run_fallback(study, objective, budget)
    if EARLY_STOP_ATTR in study.user_attrs:
        end = EARLY_STOP_END
    else:
        # Stopped by the budget (spent, or refusing trial after trial), or
        # ended with the trials asked for.
        end = BUDGET_END if stopped else N_TRIALS_END
    study.set_user_attr(SEARCH_END_ATTR, end)
    return study


def _fallback_setup(study, objective, budget):
    """``(params, config, seconds)`` of the setup of the study's trials
    predicted cheapest in full (its folds and refit), or ``None``."""
    candidates = []  # (Optuna params, config) of every trial that ran
    for trial in study.get_trials(deepcopy=False):
        if trial.state != TrialState.FAIL and ATTR_TECHNIQUE in trial.user_attrs:
            candidates.append((trial.params, trial_config(trial)))
    cheapest = budget.cheapest(objective.trial_batches(), [c for _, c in candidates])
    if cheapest is None:
        return None
    config, cost = cheapest
    params = next(p for p, c in candidates if c is config)
    return params, config, cost


def run_fallback(study, objective, budget):
    """When no trial of a timed in-memory search completed, run the setup
    predicted cheapest (folds and refit, by the budget's cost model) in full,
    whatever the time left, so that ``fit`` has a model to return; with a
    :class:`~autobalance.SkippedTechniqueWarning`. Its trial is added to the
    study with the user attribute ``budget_fallback``.

    It runs outside the study's queue (whose waiting trials come first), on
    a ``FixedTrial``; a failing pipeline adds a failed trial.
    """
    if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    setup = _fallback_setup(study, objective, budget)
    if setup is None:  # nothing measured: nothing was refused for time
        return None
    params, config, cost = setup
    fixed = optuna.trial.FixedTrial(params, number=len(study.trials))
    fixed.set_user_attr(ATTR_FALLBACK, True)
    started = datetime.datetime.now()
    state, value = TrialState.COMPLETE, None
    try:
        value = objective(fixed)
    except TrialFailure:
        state = TrialState.FAIL
    scores = fixed.user_attrs.get(ATTR_SCORES) or []
    trial = optuna.trial.FrozenTrial(
        number=fixed.number,
        state=state,
        value=value,
        datetime_start=started,
        datetime_complete=datetime.datetime.now(),
        params=fixed.params,
        distributions=fixed.distributions,
        user_attrs=dict(fixed.user_attrs),
        system_attrs={},
        intermediate_values=dict(enumerate(scores)),
        trial_id=-1,
    )
    study.add_trial(trial)
    warnings.warn(
        "The time budget refused every full-fidelity trial (none was predicted "
        f"to fit with its refit); ran {config.technique}/{config.algorithm}, the "
        f"setup predicted cheapest (about {cost:,.1f} s with its refit), in full "
        "instead. A larger timeout searches more.",
        SkippedTechniqueWarning,
        stacklevel=4,
    )
    return trial


def check_completed(study, excluded=None):
    """Raise :class:`NoCompletedTrialsError` when no trial of ``study``
    completed, listing every cause: the distinct failure reasons with their
    counts, and the techniques left out of the space (``excluded``: name ->
    reason)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        return
    reasons = {}
    # Trials still queued (enqueued starting points the budget did not reach)
    # never ran: they are no cause.
    finished = [t for t in study.trials if t.state.is_finished()]
    for t in finished:
        if t.state == TrialState.FAIL:
            # A trial that failed before its setup was built records nothing.
            reason = t.user_attrs.get(ATTR_FAIL) or "failed with no reason recorded"
        else:
            reason = t.state.name.lower()
        reasons[reason] = reasons.get(reason, 0) + 1
    summary = "; ".join(
        f"{n} x {r}" for r, n in sorted(reasons.items(), key=lambda x: -x[1])
    )
    left_out = ""
    if excluded:
        left_out = (
            " Left out of the search: "
            + "; ".join(f"{name} ({reason})" for name, reason in excluded.items())
            + "."
        )
    raise NoCompletedTrialsError(
        f"No trial completed out of {len(finished)} "
        f"({summary or 'no trial ran'}).{left_out} Fix the cause above (check "
        "that each model can be fitted on this data, e.g. by fitting it alone), "
        "or raise n_trials/timeout if trials were pruned or stopped in time."
    )
