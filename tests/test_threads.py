"""Native thread pools of folds fitted in parallel (issue 18): each fold gets
the available CPUs divided by the folds running at once; one fold at a time
keeps the libraries' defaults; the parent's pools are as before after fit."""

import json
import os
import threading
import uuid

import joblib
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

import autobalance._threads as threads
from autobalance import AutoBalancedClassifier

POOLS = ("openmp", "blas")


def _pools():
    """``{user_api: sorted thread counts}`` of this process's native pools."""
    out = {}
    for lib in threadpool_info():
        out.setdefault(lib["user_api"], set()).add(lib["num_threads"])
    return {api: sorted(n) for api, n in out.items()}


N_ROWS = 150


class PoolRecorder(ClassifierMixin, BaseEstimator):
    """Logistic regression that writes, in its ``fit``, its number of rows
    and the native thread pools of the process fitting it (a fold may run in
    a joblib worker)."""

    def __init__(self, log_dir=None):
        self.log_dir = log_dir

    def fit(self, X, y):
        path = os.path.join(self.log_dir, f"{uuid.uuid4().hex}.json")
        with open(path, "w") as f:
            json.dump({"rows": len(X), "pools": _pools()}, f)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


def _fit_recorder(log_dir, **params):
    """Fit a one-trial search of :class:`PoolRecorder` (3 folds); the pools
    each fit saw (``{"rows", "pools"}``) and the fitted estimator."""
    import sklearn.ensemble  # noqa: F401  (loads OpenMP, as the portfolio does)

    X, y = make_classification(n_samples=N_ROWS, weights=[0.8], random_state=0)
    clf = AutoBalancedClassifier(
        PoolRecorder(str(log_dir)),
        techniques=["none"],
        n_trials=1,
        cv=3,
        random_state=0,
        **params,
    ).fit(X, y)
    return [json.loads(p.read_text()) for p in log_dir.iterdir()], clf


def _search(log_dir, n_jobs):
    """The pools seen by the 3 folds of one trial, and by the refit."""
    seen, _ = _fit_recorder(log_dir, n_jobs=n_jobs)
    folds = [s["pools"] for s in seen if s["rows"] < N_ROWS]
    (refit,) = [s["pools"] for s in seen if s["rows"] == N_ROWS]
    assert len(folds) == 3
    return folds, refit


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_parallel_folds_share_the_cpus(tmp_path, monkeypatch, backend):
    # Under the threading backend the folds run in this process, where a
    # pretended count of CPUs is seen (two: one thread per fold, below any
    # library's default); under loky, the machine's own.
    n_cpus = threads.available_cpus()
    if backend == "threading":
        n_cpus = 2
        monkeypatch.setattr(threads, "available_cpus", lambda: n_cpus)
    before = _pools()
    with joblib.parallel_config(backend=backend):
        folds, refit = _search(tmp_path, n_jobs=2)
    # Two folds at a time: half the CPUs each, also for the third fold that
    # runs alone (a trial's folds are timed alike for the budget).
    limit = max(1, n_cpus // 2)
    for pools in folds:
        for api in POOLS:
            # A library never gets more threads than its default either.
            assert max(pools[api]) == min(limit, max(before[api])), (api, pools)
    assert refit == before  # the refit runs alone, with every core
    assert _pools() == before  # the parent's pools are restored


def test_one_fold_at_a_time_keeps_the_default_threads(tmp_path):
    before = _pools()
    folds, refit = _search(tmp_path, n_jobs=None)
    assert all(pools == before for pools in folds)
    assert refit == before
    assert _pools() == before


def test_threads_per_fold_never_exceeds_the_available_cpus(monkeypatch):
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    if hasattr(os, "sched_getaffinity"):
        # An affinity mask of 3 CPUs (a container's limit) wins over 8.
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
        assert threads.available_cpus() == 3
        assert threads.threads_per_fold(2) == 1
        assert threads.threads_per_fold(4) == 1
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    assert threads.threads_per_fold(1) is None
    assert threads.threads_per_fold(2) == 4
    assert threads.threads_per_fold(3) == 2
    assert threads.threads_per_fold(16) == 1
    assert threads.folds_in_parallel(-1, 5) == 5
    assert threads.folds_in_parallel(-1, 12) == 8


def test_run_limited_limits_the_thread_that_runs_the_fold():
    # As a fold sent to a joblib worker (thread or process): limited while it
    # runs, as before afterwards.
    import sklearn.ensemble  # noqa: F401

    before = _pools()
    out = {}
    worker = threading.Thread(
        target=lambda: out.update(pools=threads.run_limited(1, _pools))
    )
    worker.start()
    worker.join()
    assert out["pools"] == {api: [1] for api in before}
    assert threads.run_limited(None, _pools) == before
    assert _pools() == before


def test_restored_limits_holds_the_limit_for_the_whole_batch():
    import sklearn.ensemble  # noqa: F401

    before = _pools()
    with threads.restored_limits(1):
        # A fold that finishes first restores what it found: the batch's
        # limit, not the default, so the folds still running keep it.
        threads.run_limited(1, _pools)
        assert _pools() == {api: [1] for api in before}
    assert _pools() == before
    with threads.restored_limits(None):
        assert _pools() == before


def _timed_search(log_dir, timeout):
    """The pools seen by the folds and the refit of a one-trial search with
    ``timeout``, and the fitted estimator."""
    seen, clf = _fit_recorder(log_dir, timeout=timeout)
    return [s["pools"] for s in seen], clf


def test_a_timed_fit_on_a_busy_machine_uses_the_idle_cpus_only(tmp_path, monkeypatch):
    # Regression (issue 18): with one busy process on two cores, a timed fit
    # kept one OpenMP thread per core; spinning at barriers against the busy
    # process, boosting ran 12 times slower and a 30 s fit took 67 s.
    # The suite runs with one thread per pool (conftest): give the pools
    # four, as on an idle four-core machine, of which one is idle now.
    monkeypatch.setattr(threads, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "idle_cpus", lambda: 1)
    with threadpool_limits(limits=4):
        before = _pools()
        seen, clf = _timed_search(tmp_path, timeout=60)
        after = _pools()
    assert len(seen) == 4  # three folds and the refit
    for pools in seen:
        for api in POOLS:
            assert max(pools[api]) == 1, (api, pools)
    assert max(before["openmp"]) == 4
    assert clf.cost_model_["cpus"] == 1
    assert after == before  # restored after the fit


def test_an_idle_machine_or_an_untimed_fit_keeps_the_default_threads(
    tmp_path, monkeypatch
):
    before = _pools()
    monkeypatch.setattr(threads, "idle_cpus", lambda: threads.available_cpus())
    (tmp_path / "timed").mkdir()
    seen, clf = _timed_search(tmp_path / "timed", timeout=60)
    assert all(pools == before for pools in seen)
    assert clf.cost_model_["cpus"] == threads.available_cpus()

    def never(*args):
        raise AssertionError("an untimed fit samples no CPU counters")

    monkeypatch.setattr(threads, "idle_cpus", never)
    (tmp_path / "untimed").mkdir()
    seen, clf = _timed_search(tmp_path / "untimed", timeout=None)
    assert all(pools == before for pools in seen)
    assert clf.cost_model_["cpus"] is None


@pytest.mark.parametrize(
    "counters, expected",
    [
        ([(100, 1000), (150, 1100)], 1),  # half the machine busy
        ([(100, 1000), (195, 1100)], 2),  # nearly idle
        ([(100, 1000), (100, 1100)], 1),  # fully busy: still one
        ([None], 2),  # no counters (not Linux): every available CPU
    ],
)
def test_idle_cpus_reads_the_machines_counters(monkeypatch, counters, expected):
    readings = iter(counters)
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(readings))
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert threads.idle_cpus(window=0) == expected
