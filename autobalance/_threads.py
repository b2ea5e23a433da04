"""Native thread pools (OpenMP, BLAS) sized for folds fitted in parallel.

Histogram gradient boosting (OpenMP) and BLAS start one thread per CPU in
every process. With ``n_jobs`` folds at once that is ``n_jobs`` times too many
threads: they compete, and a fold's time depends on what else runs. Each fold
fitted in parallel gets ``available_cpus() // folds in parallel`` threads
(at least one); one fold at a time keeps the libraries' defaults (every core).

A timed ``fit`` also counts the CPUs other processes keep busy
(:func:`idle_cpus`, sampled once as it starts) and sizes every pool to the
idle ones (:func:`cpu_share`). OpenMP threads spin at their barriers: one
histogram-gradient-boosting thread per core, with a busy process on one of
two cores, fitted 100,000 rows in 6.3 s instead of 0.5 s, and a 30 s
``fit`` took 67 s, its folds no longer what the cost model had measured.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time

from joblib import cpu_count
from threadpoolctl import threadpool_limits

__all__ = [
    "available_cpus",
    "cpu_share",
    "current_share",
    "folds_in_parallel",
    "idle_cpus",
    "restored_limits",
    "run_limited",
    "threads_per_fold",
]


def available_cpus():
    """CPUs this process may run on: its affinity mask and its cgroup quota
    (joblib's ``cpu_count``), never the machine's count when less is allowed.

    Examples
    --------
    >>> available_cpus() >= 1
    True
    """
    n = cpu_count()
    if hasattr(os, "sched_getaffinity"):
        n = min(n, len(os.sched_getaffinity(0)))
    share = _SHARE.get()
    if share is not None:
        n = min(n, share)
    return max(1, int(n))


#: The CPUs of a timed fit that runs now (:func:`cpu_share`); ``None``: all.
_SHARE = contextvars.ContextVar("autobalance_cpu_share", default=None)
#: Seconds :func:`idle_cpus` watches the machine's CPU counters.
IDLE_WINDOW = 0.1


def current_share():
    """The CPUs :func:`cpu_share` gave the timed fit that runs now, or
    ``None``."""
    return _SHARE.get()


def _cpu_times():
    """Idle and total jiffies of all CPUs (Linux's ``/proc/stat``), or
    ``None`` where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:9]]  # user .. steal (not guest: in user)
    return ticks[3] + ticks[4], sum(ticks)  # idle + iowait


def idle_cpus(window=IDLE_WINDOW):
    """CPUs of :func:`available_cpus` that other processes leave idle now,
    from the machine's CPU counters over ``window`` seconds (at least one;
    :func:`available_cpus` where the counters cannot be read).

    Examples
    --------
    >>> 1 <= idle_cpus(0.01) <= available_cpus()
    True
    """
    cpus = available_cpus()
    first = _cpu_times()
    if first is None:
        return cpus
    time.sleep(window)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return cpus
    idle_share = (second[0] - first[0]) / (second[1] - first[1])
    # Machine-wide counters: a share of every CPU of the machine.
    idle = idle_share * (os.cpu_count() or cpus)
    return int(min(cpus, max(1, round(idle))))


@contextlib.contextmanager
def cpu_share(timeout):
    """Within a timed ``fit`` (``timeout`` not ``None``), size every native
    pool of this process and every fold's share to :func:`idle_cpus`, and put
    them back on exit; yields that count (``None``: untimed, unchanged).

    A timed fit's folds must take what the cost model measured on the
    first ones, and OpenMP threads competing with a busy process for a core
    are many times slower (see the module's docstring). An untimed fit keeps
    the libraries' defaults: it pays for no sampling.
    """
    if timeout is None:
        yield None
        return
    cpus = idle_cpus()
    token = _SHARE.set(cpus)
    try:
        if cpus < cpu_count():
            with threadpool_limits(limits=cpus):
                yield cpus
        else:
            yield cpus
    finally:
        _SHARE.reset(token)


def folds_in_parallel(n_jobs, n_folds):
    """How many of ``n_folds`` folds run at once with joblib's ``n_jobs``.

    Examples
    --------
    >>> folds_in_parallel(None, 5), folds_in_parallel(2, 5), folds_in_parallel(8, 3)
    (1, 2, 3)
    """
    n_jobs = n_jobs or 1
    if n_jobs < 0:
        n_jobs = cpu_count() + 1 + n_jobs
    return max(1, min(n_jobs, n_folds))


def threads_per_fold(n_parallel):
    """Native threads each of ``n_parallel`` concurrent folds may use, or
    ``None`` (the libraries' defaults) when folds run one at a time."""
    if n_parallel <= 1:
        return None
    return max(1, available_cpus() // n_parallel)


def run_limited(limit, function, *args, **kwargs):
    """``function(*args, **kwargs)`` with native thread pools limited to
    ``limit`` threads (``None``: unchanged) in the process or thread that runs
    it, restored afterwards. Module-level, so joblib can send it to workers."""
    if limit is None:
        return function(*args, **kwargs)
    with threadpool_limits(limits=limit):
        return function(*args, **kwargs)


@contextlib.contextmanager
def restored_limits(limit):
    """Limit this process's pools to ``limit`` threads while a batch of
    parallel folds runs, and put them back as they were on exit.

    Under joblib's threading backend the folds share this process, and BLAS
    pools are process-wide: a fold's :func:`run_limited` would restore the
    default on exit while another fold still runs (and the last fold to
    finish could leave its limit behind). With the limit already set here,
    every fold finds and restores the same value. Nothing to do when folds
    run one at a time (``limit`` is ``None``).
    """
    if limit is None:
        yield
        return
    with threadpool_limits(limits=limit):
        yield
