"""Native thread pools (OpenMP, BLAS) sized for folds fitted in parallel.

Histogram gradient boosting (OpenMP) and BLAS start one thread per CPU in
every process. With ``n_jobs`` folds at once that is ``n_jobs`` times too many
threads: they compete, and a fold's time depends on what else runs. Each fold
fitted in parallel gets ``available_cpus() // folds in parallel`` threads
(at least one); one fold at a time keeps the libraries' defaults (every core).
"""

from __future__ import annotations

import contextlib
import os

from joblib import cpu_count
from threadpoolctl import threadpool_limits

__all__ = [
    "available_cpus",
    "folds_in_parallel",
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
    return max(1, int(n))


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
