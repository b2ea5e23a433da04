"""Everything autobalance takes from the private side of its dependencies.

Optuna, scikit-learn and imbalanced-learn are used through their public API
everywhere else (``tests/test_upstream_privates.py`` checks it). What they do
not offer publicly is here, one small function or constant per need, each
with why it is needed and the public alternative where one exists in the
supported versions; ``tests/test_compat.py`` checks every assumption made
here, so an upstream change fails those tests rather than a search.

A private attribute that is gone raises :class:`UpstreamChangedError` naming
the installed versions, instead of being skipped: a silent fallback would
change what a search does (a stale trial list, no retries) without a word.

Optional parts load lazily: ``optuna.storages._heartbeat`` is imported only
when a heartbeat is checked or a journal storage with heartbeats is made, so
``import autobalance`` does not depend on where Optuna keeps it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings

import imblearn
import optuna
import sklearn

# scikit-learn documents ``_safe_indexing`` as "documented, but private": the
# one function that takes rows of every input form a user may pass (lists,
# arrays, sparse matrices, pandas and polars frames). For validated arrays
# ``X[rows]`` and for pandas ``X.iloc[rows]`` are the public equivalents, but
# the nested evaluation and the learning curve index the user's raw ``X``.
from sklearn.utils import _safe_indexing

# scikit-learn has no public parameter validation for third-party estimators:
# a ``_parameter_constraints`` dict of these constraint objects, checked by
# ``BaseEstimator._validate_params``, is the convention its own estimators and
# scikit-learn-compatible projects follow (and ``check_estimator`` exercises).
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._attrs import BEAT_ATTR

__all__ = [
    "ENQUEUED_PARAMS_KEY",
    "HasMethods",
    "Interval",
    "RetryCallback",
    "StrOptions",
    "UpstreamChangedError",
    "boosting_predictors",
    "clear_trial_cache",
    "heartbeat_enabled",
    "heartbeat_journal_storage",
    "rdb_callback_kwarg",
    "retry_callback_of",
    "retry_histories",
    "sampling_type",
    "slot_ordered_view",
    "study_storage",
    "take_rows",
    "upstream_versions",
    "validate_params",
    "waiting_trial",
    "warnings_quiet",
]


class UpstreamChangedError(RuntimeError):
    """A private part of Optuna, scikit-learn or imbalanced-learn that
    autobalance relies on is not what it was."""


def upstream_versions():
    """The installed versions of the three libraries, for error messages."""
    return (
        f"optuna {optuna.__version__}, scikit-learn {sklearn.__version__}, "
        f"imbalanced-learn {imblearn.__version__}"
    )


def _changed(what):
    return UpstreamChangedError(
        f"{what} is not what autobalance expects with {upstream_versions()}. "
        "Install the versions autobalance supports (see its pyproject.toml) or "
        "an autobalance release made for these ones."
    )


def _private_attr(obj, name, owner):
    try:
        return getattr(obj, name)
    except AttributeError as exc:
        raise _changed(f"{owner}.{name}") from exc


# --------------------------------------------------------------------------
# scikit-learn
# --------------------------------------------------------------------------
def take_rows(X, rows):
    """Rows ``rows`` of ``X``, whatever its form (see the import above)."""
    return _safe_indexing(X, rows)


def validate_params(estimator):
    """Check ``estimator``'s parameters against its ``_parameter_constraints``.

    scikit-learn offers no public equivalent (its ``_fit_context`` decorator
    calls the same private method).
    """
    _private_attr(estimator, "_validate_params", "BaseEstimator")()


def boosting_predictors(estimator):
    """The trees of a fitted histogram gradient boosting model, or ``None``.

    ``HistGradientBoosting*`` keeps them in ``_predictors`` (one list of
    ``TreePredictor`` per iteration, each with a ``nodes`` array); there is no
    public accessor, and only their size is read (``_footprint``).
    """
    return getattr(estimator, "_predictors", None)


# --------------------------------------------------------------------------
# imbalanced-learn
# --------------------------------------------------------------------------
def sampling_type(sampler):
    """``"over-sampling"``, ``"under-sampling"``, ... of an imbalanced-learn
    sampler, or ``None`` for other objects.

    ``BaseSampler.fit_resample`` reads this class attribute, so every sampler
    built on imbalanced-learn declares it. ``isinstance`` against
    ``imblearn.over_sampling.base.BaseOverSampler`` is public but misses the
    combined samplers and samplers that subclass ``BaseSampler`` directly.
    """
    return getattr(sampler, "_sampling_type", None)


# --------------------------------------------------------------------------
# Optuna: studies and trials
# --------------------------------------------------------------------------
#: The trial system attribute Optuna's ``Trial`` reads its fixed parameters
#: from (``Study.enqueue_trial`` writes it). The public ``enqueue_trial``
#: cannot add the ticket's slot in the same write, and a ticket without its
#: slot could be claimed by another process in between.
ENQUEUED_PARAMS_KEY = "fixed_params"


def waiting_trial(params, system_attrs):
    """A WAITING trial that will run with ``params`` fixed, carrying
    ``system_attrs``, for ``Study.add_trial``."""
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.WAITING,
        system_attrs={ENQUEUED_PARAMS_KEY: dict(params), **system_attrs},
    )


def study_storage(study):
    """The storage a study reads and writes.

    ``Study`` has no public accessor. The storage given to ``create_study`` is
    not a substitute: Optuna wraps an ``RDBStorage`` in a cache, and trial
    states must be changed through the wrapper the study reads.
    """
    return _private_attr(study, "_storage", "optuna.study.Study")


def clear_trial_cache(study):
    """Drop the trials a study cached for its current trial, as ``Study.ask``
    does before each trial, so the sampler sees every trial finished since.

    Trials run from the queue are created without ``Study.ask`` (it takes the
    oldest waiting trial, not the one with the smallest slot), so the cache
    is dropped here; there is no public way.
    """
    local = _private_attr(study, "_thread_local", "optuna.study.Study")
    if not hasattr(local, "cached_all_trials"):
        raise _changed("optuna.study.Study._thread_local.cached_all_trials")
    local.cached_all_trials = None


def slot_ordered_view(study, key):
    """``study`` as a sampler should see it: trials listed in ``key`` order.

    Samplers read trials through the private ``Study._get_trials`` (TPE with
    ``use_cache=True``), not through ``get_trials``, so the view overrides
    both; there is no public hook to order the trials a sampler sees.
    """
    return _SortedTrialsStudy(study, key)


class _SortedTrialsStudy:
    """Everything else is the study itself."""

    def __init__(self, study, key):
        self._study = study
        self._key = key

    def __getattr__(self, name):
        return getattr(self._study, name)

    def _get_trials(self, deepcopy=True, states=None, use_cache=False):
        get = _private_attr(self._study, "_get_trials", "optuna.study.Study")
        trials = get(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return sorted(trials, key=self._key)

    def get_trials(self, deepcopy=True, states=None):
        return sorted(self._study.get_trials(deepcopy, states), key=self._key)

    @property
    def trials(self):
        return self.get_trials()


# --------------------------------------------------------------------------
# Optuna: retries (the callback was renamed in 4.9)
# --------------------------------------------------------------------------
#: Optuna 4.9 renamed ``RetryFailedTrialCallback`` (deprecated, removed in
#: 6.0) to ``RetryHeartbeatStaleTrialCallback``; the old name serves 4.0-4.8.
RetryCallback = getattr(
    optuna.storages,
    "RetryHeartbeatStaleTrialCallback",
    getattr(optuna.storages, "RetryFailedTrialCallback", None),
)


@contextlib.contextmanager
def warnings_quiet():
    """Optuna's experimental and future warnings silenced: the experimental
    retry callback and heartbeat APIs are used on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", category=optuna.exceptions.ExperimentalWarning
        )
        warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
        yield


def retry_histories(trials):
    """For each trial, the numbers of the trials it retries, read with the
    callback's public (experimental) ``retry_history``."""
    with warnings_quiet():
        return [RetryCallback.retry_history(t) for t in trials]


def rdb_callback_kwarg():
    """The ``RDBStorage`` argument for the stale-trial callback: Optuna 4.9
    renamed ``failed_trial_callback`` (deprecated, removed in 6.0) to
    ``heartbeat_stale_trial_callback``."""
    names = inspect.signature(optuna.storages.RDBStorage).parameters
    if "heartbeat_stale_trial_callback" in names:
        return "heartbeat_stale_trial_callback"
    return "failed_trial_callback"


def retry_callback_of(storage):
    """The stale-trial callback a storage was made with, or ``None``.

    ``get_heartbeat_stale_trial_callback`` is the public getter from Optuna
    4.9; before it, the now deprecated ``get_failed_trial_callback``.
    """
    for name in ("get_heartbeat_stale_trial_callback", "get_failed_trial_callback"):
        getter = getattr(storage, name, None)
        if getter is not None:
            with warnings_quiet():
                callback = getter()
            if callback is not None:
                return callback
    return None


# --------------------------------------------------------------------------
# Optuna: heartbeats (imported only when used)
# --------------------------------------------------------------------------
def _heartbeat_module():
    try:
        from optuna.storages import _heartbeat
    except ImportError as exc:
        raise _changed("optuna.storages._heartbeat") from exc
    return _heartbeat


def heartbeat_enabled(storage):
    """Whether ``storage`` records heartbeats.

    ``is_heartbeat_enabled`` is private; the public ``fail_stale_trials``
    calls it but does not say whether it did anything.
    """
    return _heartbeat_module().is_heartbeat_enabled(storage)


def heartbeat_journal_storage(backend, *, heartbeat_interval, grace_period, callback):
    """A journal storage with heartbeats, as Optuna's RDB storage has.

    Optuna's journal storage has none, and a storage declares heartbeats by
    subclassing the private ``BaseHeartbeat``; there is no public way.
    """
    return _journal_heartbeat_class()(
        backend,
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        heartbeat_stale_trial_callback=callback,
    )


@functools.cache
def _journal_heartbeat_class():
    import time

    base = _heartbeat_module().BaseHeartbeat
    TrialState = optuna.trial.TrialState

    class HeartbeatJournalStorage(optuna.storages.JournalStorage, base):
        """A journal-file storage with heartbeats.

        The heartbeat is a trial system attribute holding the wall-clock time;
        a RUNNING trial whose last beat (or start) is older than
        ``grace_period`` seconds is stale, and Optuna's ``fail_stale_trials``
        fails it and calls ``heartbeat_stale_trial_callback``.
        """

        def __init__(
            self,
            backend,
            *,
            heartbeat_interval,
            grace_period,
            heartbeat_stale_trial_callback,
        ):
            super().__init__(backend)
            self.heartbeat_interval = heartbeat_interval
            self.grace_period = grace_period
            self.heartbeat_stale_trial_callback = heartbeat_stale_trial_callback

        def record_heartbeat(self, trial_id):
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                self.set_trial_system_attr(trial_id, BEAT_ATTR, time.time())

        # Called by fail_stale_trials (abstract in BaseHeartbeat).
        def _get_stale_trial_ids(self, study_id):
            now = time.time()
            stale = []
            for t in self.get_all_trials(
                study_id, deepcopy=False, states=(TrialState.RUNNING,)
            ):
                last = t.system_attrs.get(BEAT_ATTR)
                if last is None and t.datetime_start is not None:
                    last = t.datetime_start.timestamp()
                if last is not None and now - last > self.grace_period:
                    stale.append(
                        self.get_trial_id_from_study_id_trial_number(study_id, t.number)
                    )
            return stale

        def get_heartbeat_interval(self):
            return self.heartbeat_interval

        def get_heartbeat_stale_trial_callback(self):
            return self.heartbeat_stale_trial_callback

        # Optuna < 4.9 names the getter so (and declares it abstract).
        def get_failed_trial_callback(self):
            return self.heartbeat_stale_trial_callback

    HeartbeatJournalStorage.__module__ = __name__
    HeartbeatJournalStorage.__qualname__ = "HeartbeatJournalStorage"
    return HeartbeatJournalStorage


def __getattr__(name):
    # Pickle finds the lazily made class by name.
    if name == "HeartbeatJournalStorage":
        return _journal_heartbeat_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
