"""Stored searches: resumable, shared by several processes, exact budget.

A study kept in an Optuna storage runs from a queue. The driver (``fit``)
enqueues one WAITING trial, a *ticket*, per unit of the trial budget; every
process taking part (the driver and any :func:`~autobalance.run_worker`) claims
tickets with the storage's own atomic WAITING -> RUNNING transition, so the
budget is shared exactly: no process ever creates a trial beyond it.

Each ticket has a *slot*, its place in the budget. The sampler is seeded per
slot and sees the finished trials in slot order, so a sequential search gives
the same trials whether or not it was interrupted and resumed.

Heartbeats (Optuna's on RDB storages, an equivalent on journal files) let any
process mark the trial of a killed process failed; Optuna's
``RetryHeartbeatStaleTrialCallback`` then enqueues it again with the same slot
and parameters. A failed-and-retried trial does not count towards the budget.

With a ``timeout`` every process checks the fit's time budget (``_budget``)
before claiming a ticket, and stops once it is spent; the tickets left wait
for a resumed ``fit``. A trial the budget still refuses before its first fold
(its setup turned out too slow for the time left) is marked with the user
attribute ``budget_refused``: it ran nothing, so it does not count towards
``n_trials``, and a resumed driver enqueues its slot again.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
import warnings
import zlib

import numpy as np
import optuna
from optuna.trial import TrialState

from ._attrs import ATTR_BUDGET_REFUSED, BUDGET_ATTR, OWNER_ATTR, SLOT_ATTR
from ._compat import (
    RetryCallback,
    UpstreamChangedError,
    clear_trial_cache,
    heartbeat_enabled,
    heartbeat_journal_storage,
    rdb_callback_kwarg,
    retry_callback_of,
    retry_histories,
    slot_ordered_view,
    study_storage,
    upstream_versions,
    waiting_trial,
    warnings_quiet,
)
from ._footprint import release_freed_memory
from ._objective import TrialFailure
from ._urls import redact as _redact
from .exceptions import StorageError

__all__ = ["make_storage"]

MAX_RETRY = 3


# --------------------------------------------------------------------------
# Storages
# --------------------------------------------------------------------------
def make_storage(url, *, heartbeat_interval=10, grace_period=None, max_retry=MAX_RETRY):
    """An Optuna storage with heartbeats, for resumable and distributed searches.

    A trial whose process dies stops beating; after ``grace_period`` seconds any
    process of the search marks it failed and enqueues it again (up to
    ``max_retry`` times), so nothing is lost and the budget stays exact.
    ``AutoBalancedClassifier(storage="<url>")`` calls this with the defaults;
    pass the returned object instead to change them.

    Parameters
    ----------
    url : str
        An SQLAlchemy URL (``"sqlite:///search.db"`` for one machine,
        ``"postgresql+psycopg2://user:password@host/db"`` for many), or
        ``"journal:<path>"`` for an Optuna journal file (one machine or a
        shared file system).
    heartbeat_interval : int, default=10
        Seconds between heartbeats of a running trial.
    grace_period : int or None, default=None
        Seconds without a heartbeat after which a running trial counts as
        dead; ``None`` means three heartbeat intervals.
    max_retry : int, default=3
        How many times a dead trial is enqueued again.

    Returns
    -------
    storage : optuna.storages.BaseStorage
        An ``RDBStorage`` or a journal storage.

    Raises
    ------
    StorageError
        If the storage cannot be opened (bad URL, unreachable server, missing
        driver, missing folder). The message hides any password.

    Examples
    --------
    >>> import os, tempfile
    >>> from autobalance import make_storage
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     storage = make_storage("sqlite:///" + os.path.join(tmp, "ab.db"),
    ...                            heartbeat_interval=5)
    ...     storage.get_heartbeat_interval()
    5
    """
    if not isinstance(url, str) or not url:
        raise StorageError(f"storage must be a non-empty URL string; got {url!r}.")
    heartbeat_interval = max(1, math.ceil(heartbeat_interval))
    if grace_period is None:
        grace_period = 3 * heartbeat_interval
    grace_period = max(1, math.ceil(grace_period))
    with warnings_quiet():
        callback = RetryCallback(max_retry=max_retry)
    if url.startswith("journal:"):
        return _journal_storage(url, heartbeat_interval, grace_period, callback)
    if "://" not in url:
        raise StorageError(
            f"Cannot open storage {url!r}: not a URL. Use e.g. 'sqlite:///search.db', "
            "'postgresql+psycopg2://user:password@host/db' or 'journal:search.log'."
        )
    kwargs = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
    kwargs[rdb_callback_kwarg()] = callback
    if url.startswith("sqlite"):
        # Several local processes share the file: wait for its lock.
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        with warnings_quiet():
            storage = optuna.storages.RDBStorage(url, **kwargs)
        if url.startswith("sqlite"):
            _write_ahead(storage)
        return storage
    except ModuleNotFoundError as exc:
        raise StorageError(
            f"Cannot open storage {_redact(url)!r}: the database driver "
            f"{exc.name!r} is not installed (pip install 'autobalance[distributed]')."
        ) from exc
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]
        raise StorageError(
            f"Cannot open storage {_redact(url)!r}: {type(exc).__name__}: {reason}"
        ) from exc


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _write_ahead(storage):
    """SQLite in write-ahead-log mode: readers do not block the writer and a
    commit costs one sync instead of several (trials run about twice as fast)."""
    import sqlalchemy

    sqlalchemy.event.listen(storage.engine, "connect", _sqlite_pragmas)
    storage.engine.dispose()  # reconnect with the pragmas


def _journal_storage(url, heartbeat_interval, grace_period, callback):
    from optuna.storages.journal import JournalFileBackend

    path = url[len("journal:") :]
    if path.startswith("//"):
        path = path[2:]
    if not path:
        raise StorageError("journal storage needs a file: 'journal:search.log'.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StorageError(
            f"Cannot open storage {url!r}: the folder {folder!r} does not exist."
        )
    try:
        return heartbeat_journal_storage(
            JournalFileBackend(path),
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            callback=callback,
        )
    except UpstreamChangedError:
        raise
    except Exception as exc:
        raise StorageError(
            f"Cannot open storage {url!r}: {type(exc).__name__}: {exc}"
        ) from exc


def as_storage(storage):
    """A storage object from a URL (with heartbeats) or a storage object."""
    return make_storage(storage) if isinstance(storage, str) else storage


def study_attrs(storage, study_name):
    """The user attributes of a stored study, or ``None`` if it does not exist."""
    try:
        study_id = storage.get_study_id_from_name(study_name)
    except KeyError:
        return None
    return storage.get_study_user_attrs(study_id)


def wait_for_study(storage, study_name, *, attr, wait):
    """Wait up to ``wait`` seconds until the study exists and has ``attr``."""
    deadline = time.monotonic() + (wait or 0)
    while True:
        attrs = study_attrs(storage, study_name)
        if attrs is not None and attr in attrs:
            return attrs
        if time.monotonic() >= deadline:
            what = "does not exist" if attrs is None else "has not been started"
            raise StorageError(
                f"Study {study_name!r} {what} in the storage. Start the driver first "
                "(AutoBalancedClassifier(storage=..., study_name=...).fit or "
                "`autobalance fit ... --storage URL --study-name NAME`), or let the "
                "worker wait longer."
            )
        time.sleep(0.5)


# --------------------------------------------------------------------------
# The sampler: seeded per slot, trials seen in slot order
# --------------------------------------------------------------------------
def slot_of(trial):
    slot = trial.system_attrs.get(SLOT_ATTR)
    return trial.number if slot is None else int(slot)


def _order(trial):
    return (slot_of(trial), trial.number)


def _in_slot_order(study):
    """The study as the inner sampler sees it: trials listed in slot order, so
    a retried trial (a new trial number) takes the place of the one it
    replaces."""
    return slot_ordered_view(study, _order)


class SlotSampler(optuna.samplers.BaseSampler):
    """Multivariate, grouped TPE whose randomness depends on the trial's slot.

    A fresh ``TPESampler`` seeded from ``(seed, slot)`` samples each trial, so
    what a trial gets depends only on its slot and on the finished trials it
    sees, not on how many processes ran before it or in which order.
    """

    def __init__(self, seed, **tpe_kwargs):
        self.seed = seed
        self.tpe_kwargs = tpe_kwargs
        self._inner = {}

    def _for(self, trial):
        inner = self._inner.get(trial.number)
        if inner is None:
            seq = np.random.SeedSequence([int(self.seed), slot_of(trial)])
            seed = int(seq.generate_state(1)[0])
            with warnings_quiet():
                inner = optuna.samplers.TPESampler(seed=seed, **self.tpe_kwargs)
            self._inner[trial.number] = inner
        return inner

    def before_trial(self, study, trial):
        self._inner.pop(trial.number, None)
        self._for(trial).before_trial(_in_slot_order(study), trial)

    def infer_relative_search_space(self, study, trial):
        return self._for(trial).infer_relative_search_space(
            _in_slot_order(study), trial
        )

    def sample_relative(self, study, trial, search_space):
        return self._for(trial).sample_relative(
            _in_slot_order(study), trial, search_space
        )

    def sample_independent(self, study, trial, param_name, param_distribution):
        # A retried trial has the parameters its killed attempt drew fixed, so
        # it skips their draws; one generator per parameter keeps every other
        # draw what it is in an uninterrupted run.
        seq = np.random.SeedSequence(
            [int(self.seed), slot_of(trial), zlib.crc32(param_name.encode())]
        )
        with warnings_quiet():
            sampler = optuna.samplers.TPESampler(
                seed=int(seq.generate_state(1)[0]), **self.tpe_kwargs
            )
        return sampler.sample_independent(
            _in_slot_order(study), trial, param_name, param_distribution
        )

    def after_trial(self, study, trial, state, values):
        inner = self._inner.pop(trial.number, None)
        if inner is not None:
            inner.after_trial(_in_slot_order(study), trial, state, values)

    def reseed_rng(self):  # the seeds are derived from the slots
        pass


# --------------------------------------------------------------------------
# The budget
# --------------------------------------------------------------------------
def retried_numbers(trials):
    """Numbers of the failed trials that were enqueued again."""
    out = set()
    for history in retry_histories(trials):
        out.update(history)
    return out


def budget_refused(trial):
    """Whether the time budget refused ``trial`` before its first fold."""
    return bool(trial.user_attrs.get(ATTR_BUDGET_REFUSED))


def counted_trials(trials):
    """Trials that count towards the budget: complete, pruned (but not refused
    by the time budget before any fold), and failed ones that were not
    retried; in slot order."""
    retried = retried_numbers(trials)
    out = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE
        or (t.state == TrialState.PRUNED and not budget_refused(t))
        or (t.state == TrialState.FAIL and t.number not in retried)
    ]
    return sorted(out, key=_order)


def _active(trials):
    pending = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    return counted_trials(trials) + pending


def _next_slot(trials):
    return max((slot_of(t) for t in trials), default=-1) + 1


def _add_ticket(study, slot, params):
    study.add_trial(waiting_trial(params, {SLOT_ATTR: int(slot)}))


def top_up(study, n_trials, starting_params):
    """Enqueue tickets until the study holds ``n_trials`` (counted, running or
    waiting) trials; the first slots get the starting configurations.

    Slots whose only trials were refused by the time budget come first, so
    the counted slots stay ``0 .. n_trials - 1``.
    """
    trials = study.get_trials(deepcopy=False)
    active = _active(trials)
    taken = {slot_of(t) for t in active}
    slot = _next_slot(trials)
    free = [s for s in range(slot) if s not in taken]
    slots = free + list(range(slot, slot + n_trials))
    for s in slots[: max(0, n_trials - len(active))]:
        _add_ticket(study, s, starting_params[s] if s < len(starting_params) else {})
    if study.user_attrs.get(BUDGET_ATTR, 0) < n_trials:
        study.set_user_attr(BUDGET_ATTR, n_trials)


# --------------------------------------------------------------------------
# Running tickets
# --------------------------------------------------------------------------
def _claim(study):
    """Take the waiting trial with the smallest slot and return its id, or
    return None."""
    storage = study_storage(study)
    beats = heartbeat_enabled(storage)
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    study_id = storage.get_study_id_from_name(study.study_name) if waiting else None
    for t in sorted(waiting, key=_order):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            if beats:
                # Beat before claiming: a process killed right after the claim
                # still leaves a heartbeat, so its trial goes stale (a RUNNING
                # trial that never beat would never be failed and retried).
                storage.record_heartbeat(trial_id)
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                storage.set_trial_system_attr(
                    trial_id, OWNER_ATTR, f"{socket.gethostname()}:{os.getpid()}"
                )
                return trial_id
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


@contextlib.contextmanager
def _heartbeat(storage, trial_id):
    """Beat for ``trial_id`` while the block runs.

    A beat that fails because upstream changed (an ``AttributeError``,
    ``TypeError`` or ``NotImplementedError`` from the storage's heartbeat API)
    stops the beating at once. Any other error (a dropped database
    connection, a locked file) is taken as transient: beating goes on, and
    it fails only when no beat has succeeded for the storage's grace period,
    after which the other processes take the trial for dead. A failure raises
    once the trial has run: a trial without heartbeats would be run again
    elsewhere, so it is not hidden.
    """
    if not heartbeat_enabled(storage):
        yield
        return
    stop = threading.Event()
    failed = []
    interval = storage.get_heartbeat_interval()
    grace = getattr(storage, "grace_period", None) or 3 * interval

    def beat():
        last_ok = time.monotonic()
        while True:
            try:
                storage.record_heartbeat(trial_id)
                last_ok = time.monotonic()
            except optuna.exceptions.UpdateFinishedTrialError:
                return  # another process finished the trial: nothing to keep alive
            except _UPSTREAM_CHANGED as exc:  # raised in the trial's thread below
                failed.append(exc)
                return
            except Exception as exc:
                if time.monotonic() - last_ok >= grace:
                    failed.append(exc)
                    return
                # Transient: try again sooner than the interval, within grace.
                if stop.wait(min(interval, max(grace / 4, 0.05))):
                    return
                continue
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if failed:
        exc = failed[0]
        raise StorageError(
            f"Recording the heartbeat of trial {trial_id} failed "
            f"({type(exc).__name__}: {exc}; {upstream_versions()}), so other "
            "processes may take the trial for dead. Check that the storage is "
            "reachable and writable, then resume the search."
        ) from exc


#: Errors of the heartbeat API that mean upstream changed what it offers,
#: not that the storage is briefly unreachable.
_UPSTREAM_CHANGED = (AttributeError, TypeError, NotImplementedError)


def _retry_callback(storage):
    callback = retry_callback_of(storage)
    if callback is not None:
        return callback
    with warnings_quiet():
        return RetryCallback(max_retry=MAX_RETRY)


def _release(study, trial):
    """Fail an interrupted trial and enqueue it again (it does not count)."""
    with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
        frozen = study.tell(trial, state=TrialState.FAIL)
        with warnings_quiet():
            _retry_callback(study_storage(study))(study, frozen)


def _run_one(study, objective, trial_id):
    # Like Study.ask: drop the trials cached for the previous trial, so the
    # sampler sees every trial finished so far.
    clear_trial_cache(study)
    storage = study_storage(study)
    value, state, trial = None, TrialState.COMPLETE, None
    try:
        with _heartbeat(storage, trial_id):
            trial = optuna.trial.Trial(study, trial_id)
            value = objective(trial)
    except optuna.TrialPruned:
        state = TrialState.PRUNED
    except optuna.exceptions.UpdateFinishedTrialError:
        return  # another process found it dead and enqueued it again
    except TrialFailure:
        state = TrialState.FAIL  # the objective recorded fail_reason
    except BaseException:
        # Interrupted, or a bug outside the trial's pipeline: the setup was
        # not judged, so its ticket goes back to the queue for a resumed run.
        _release(study, storage.get_trial_number_from_id(trial_id))
        raise
    with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)


def _fail_stale(study):
    if heartbeat_enabled(study_storage(study)):
        with warnings_quiet():
            optuna.storages.fail_stale_trials(study)


def run_queue(
    study,
    objective,
    *,
    n_trials,
    timeout,
    starting_params=(),
    show_progress_bar=False,
    driver=True,
    budget=None,
):
    """Run tickets of a stored study until none is left; return how many
    trials this process ran.

    The driver first tops the queue up to ``n_trials`` and, once the queue is
    empty, waits for the trials other processes are running (a dead one is
    failed by its heartbeat, enqueued again and run here). A worker leaves as
    soon as the queue is empty. With ``n_trials=None`` every process adds
    tickets itself until ``timeout`` or the budget stops it.

    ``timeout`` counts from this call; ``budget`` (a :class:`~._budget.Budget`,
    the one the objective checks) is checked before every claim, as an
    in-memory study checks it after every trial: once it is spent no ticket
    is claimed (nor added). A driver still runs one trial when the study has
    no complete trial, so that ``fit`` has a model to return.
    """
    start = time.monotonic()
    timed = timeout is not None or (budget is not None and budget.timeout is not None)
    storage = study_storage(study)
    heartbeat = heartbeat_enabled(storage)
    poll = min(1.0, storage.get_heartbeat_interval() / 2) if heartbeat else 0.5
    if driver and n_trials is not None:
        top_up(study, n_trials, list(starting_params))
    bar = _progress(study, n_trials) if show_progress_bar else None
    n_run = 0
    try:
        while timeout is None or time.monotonic() - start < timeout:
            if (
                budget is not None
                and budget.spent()
                and (n_run or not driver or _has_complete(study))
            ):
                break
            _fail_stale(study)
            trial_id = _claim(study)
            if trial_id is None:
                trials = study.get_trials(deepcopy=False)
                if n_trials is None and timed:
                    _add_ticket(study, _next_slot(trials), {})
                    continue
                running = [t for t in trials if t.state == TrialState.RUNNING]
                if driver and running and not heartbeat:
                    warnings.warn(
                        f"{len(running)} trials are still running in other "
                        "processes and are left out: without heartbeats a dead "
                        "process cannot be told from a slow one. Open the storage "
                        "with autobalance.make_storage to wait for them.",
                        UserWarning,
                        stacklevel=4,
                    )
                if not (driver and heartbeat and running):
                    break
                time.sleep(poll)
            else:
                _run_one(study, objective, trial_id)
                release_freed_memory()
                n_run += 1
            if bar is not None:
                bar.n = len(counted_trials(study.get_trials(deepcopy=False)))
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    return n_run


def _has_complete(study):
    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _progress(study, n_trials):
    import sys

    from tqdm.auto import tqdm

    done = len(counted_trials(study.get_trials(deepcopy=False)))
    return tqdm(total=n_trials, initial=done, unit="trial", file=sys.stderr)
