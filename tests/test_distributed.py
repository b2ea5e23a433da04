"""One search spread over processes (PostgreSQL) and folds on a Dask cluster.

The PostgreSQL test needs ``AUTOBALANCE_TEST_PG`` (``.ci/run`` starts a server
and sets it). Without it the test is skipped; with it, an unreachable server
is an error, never a skip.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.linear_model import LogisticRegression
from test_resume import TECHNIQUES, check_budget, make_data

from autobalance import AutoBalancedClassifier, load_model
from autobalance._attrs import OWNER_ATTR
from autobalance._distributed import _redact

N_TRIALS = 12


@pytest.fixture(scope="module")
def pg_url():
    url = os.environ.get("AUTOBALANCE_TEST_PG")
    if not url:
        pytest.skip(
            "AUTOBALANCE_TEST_PG is not set (.ci/run starts PostgreSQL and sets it)"
        )
    import sqlalchemy

    try:
        with sqlalchemy.create_engine(url).connect():
            pass
    except Exception as exc:
        pytest.fail(
            f"AUTOBALANCE_TEST_PG={_redact(url)} is set but PostgreSQL cannot be "
            f"reached: {type(exc).__name__}: {exc}"
        )
    return url


def _cli(folder, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "autobalance.cli", *map(str, args)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _owned_running(storage, name, pid):
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return []
    return [
        t
        for t in storage.get_all_trials(study_id, deepcopy=False)
        if t.state == TrialState.RUNNING
        and t.system_attrs.get(OWNER_ATTR, "").endswith(f":{pid}")
    ]


@pytest.mark.slow
def test_workers_share_the_budget_and_a_killed_worker_loses_nothing(pg_url, tmp_path):
    X, y = make_data()
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame.assign(Class=y).to_csv(tmp_path / "data.csv", index=False)
    name = f"autobalance-test-{uuid.uuid4().hex[:12]}"
    storage_args = ["--storage", pg_url, "--study-name", name, "--heartbeat", 1]
    # Workers wait for the driver, then read the data and settings it recorded.
    workers = [
        _cli(tmp_path, "worker", *storage_args, "--wait", 300, "--no-progress")
        for _ in range(2)
    ]
    driver = _cli(
        tmp_path, "fit", "data.csv", "--target", "Class",
        "--estimator", "logistic_regression", "--techniques", ",".join(TECHNIQUES),
        "--n-trials", N_TRIALS, "--cv", 3, "--out", "model.skops", "--no-progress",
        *storage_args,
    )  # fmt: skip
    storage = optuna.storages.RDBStorage(pg_url)
    try:
        victim, killed = workers[0], None
        while killed is None and victim.poll() is None and driver.poll() is None:
            running = _owned_running(storage, name, victim.pid)
            if running:
                victim.send_signal(signal.SIGKILL)
                killed = running[0].number
            time.sleep(0.02)
        victim.communicate()
        assert killed is not None, "the worker never ran a trial"
        assert [t.number for t in _owned_running(storage, name, victim.pid)] == [killed]

        out, err = driver.communicate(timeout=600)
        assert driver.returncode == 0, err
        survivor_out, survivor_err = workers[1].communicate(timeout=600)
        assert workers[1].returncode == 0, survivor_err
        assert "Worker ran" in survivor_out

        study = optuna.load_study(study_name=name, storage=pg_url)
        (retried,) = check_budget(study, N_TRIALS)  # exact, nothing lost
        assert retried.number == killed
        retry = [
            t for t in study.trials if killed in t.system_attrs.get("retry_history", ())
        ]
        assert [t.state for t in retry] in (
            [TrialState.COMPLETE],
            [TrialState.PRUNED],
        )
        owners = {t.system_attrs[OWNER_ATTR] for t in study.trials}
        assert len(owners) == 3  # the driver and both workers ran trials
        model = load_model(tmp_path / "model.skops")
        assert len(model.cv_results_["params"]) == N_TRIALS
        assert "Chosen: technique=" in out
    finally:
        for proc in [driver, *workers]:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=name, storage=pg_url)


@pytest.mark.slow
def test_folds_on_a_dask_cluster_give_the_sequential_search():
    distributed = pytest.importorskip("distributed")
    import joblib

    X, y = make_data()
    kwargs = {"techniques": TECHNIQUES, "n_trials": 6, "cv": 3, "random_state": 0}
    sequential = AutoBalancedClassifier(LogisticRegression(), **kwargs).fit(X, y)
    with (
        # Threads keep the test cheap; processes=True (the recipe) works alike.
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as stream,
        joblib.parallel_backend("dask"),
    ):
        on_dask = AutoBalancedClassifier(LogisticRegression(), n_jobs=3, **kwargs)
        on_dask.fit(X, y)
    assert len(stream.data) >= 3  # folds did run on the cluster
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
    )
    np.testing.assert_array_equal(on_dask.predict_proba(X), sequential.predict_proba(X))
