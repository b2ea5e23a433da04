"""The assumptions ``autobalance/_compat.py`` makes about private upstream
APIs. Each test fails when an upstream release changes what it relies on."""

import inspect
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
import scipy.sparse as sp
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import ClusterCentroids, TomekLinks
from optuna.trial import TrialState
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

import autobalance._compat as compat
from autobalance import AutoBalancedClassifier, StorageError, make_storage
from autobalance._attrs import BEAT_ATTR, SLOT_ATTR
from autobalance._distributed import SlotSampler
from autobalance._study import TPE_OPTIONS


def _objective(trial):
    return trial.suggest_float("x", 0.0, 1.0)


def _finished(n_trials=3):
    study = optuna.create_study(direction="maximize")
    study.optimize(_objective, n_trials=n_trials)
    return study


# --------------------------------------------------------------------------
# Optuna: studies
# --------------------------------------------------------------------------
def test_get_trials_has_the_signature_the_view_overrides():
    params = list(inspect.signature(optuna.study.Study._get_trials).parameters)
    assert params == ["self", "deepcopy", "states", "use_cache"]


def test_tpe_reads_trials_through_the_slot_ordered_view(monkeypatch):
    callers = set()
    original = compat._SortedTrialsStudy._get_trials

    def spy(self, deepcopy=True, states=None, use_cache=False):
        callers.add(sys._getframe(1).f_code.co_name)
        return original(self, deepcopy=deepcopy, states=states, use_cache=use_cache)

    monkeypatch.setattr(compat._SortedTrialsStudy, "_get_trials", spy)
    study = optuna.create_study(
        direction="maximize", sampler=SlotSampler(0, **TPE_OPTIONS)
    )
    study.optimize(_objective, n_trials=TPE_OPTIONS["n_startup_trials"] + 2)
    # TPE's sampling reads the finished trials through the private method
    # (not get_trials), so that is the one the view must order.
    assert {"sample_relative", "sample_independent"} & callers, callers


def test_the_view_lists_trials_in_key_order():
    study = _finished(4)
    view = compat.slot_ordered_view(study, key=lambda t: -t.number)
    expected = [3, 2, 1, 0]
    assert [t.number for t in view._get_trials(deepcopy=False, use_cache=True)] == (
        expected
    )
    assert [t.number for t in view.get_trials(deepcopy=False)] == expected
    assert [t.number for t in view.trials] == expected
    assert view.study_name == study.study_name


def test_the_trial_cache_goes_stale_until_cleared():
    study = _finished(2)
    assert len(study._get_trials(deepcopy=False, use_cache=True)) == 2
    study.enqueue_trial({"x": 0.5})
    # Optuna keeps serving its cached list: the reason for clearing it.
    assert len(study._get_trials(deepcopy=False, use_cache=True)) == 2
    compat.clear_trial_cache(study)
    assert len(study._get_trials(deepcopy=False, use_cache=True)) == 3


def test_study_storage_is_the_storage_the_study_writes():
    study = _finished(2)
    storage = compat.study_storage(study)
    assert isinstance(storage, optuna.storages.BaseStorage)
    study_id = storage.get_study_id_from_name(study.study_name)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, 1)
    assert storage.get_trial_number_from_id(trial_id) == 1


@pytest.mark.parametrize(
    "break_it, call",
    [
        (lambda s: delattr(s, "_storage"), compat.study_storage),
        (lambda s: delattr(s, "_thread_local"), compat.clear_trial_cache),
        (
            lambda s: setattr(s, "_thread_local", object()),
            compat.clear_trial_cache,
        ),
    ],
)
def test_a_missing_private_attribute_fails_loudly_with_the_versions(break_it, call):
    study = _finished(1)
    break_it(study)
    with pytest.raises(compat.UpstreamChangedError) as info:
        call(study)
    assert f"optuna {optuna.__version__}" in str(info.value)
    assert "scikit-learn" in str(info.value)


def test_a_waiting_trial_runs_with_its_fixed_parameters():
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"x": 0.25})
    # Study.enqueue_trial writes the key the ticket writes.
    assert study.trials[0].system_attrs == {compat.ENQUEUED_PARAMS_KEY: {"x": 0.25}}
    study.add_trial(compat.waiting_trial({"x": 0.75}, {SLOT_ATTR: 3}))
    study.optimize(_objective, n_trials=2)
    assert [t.params["x"] for t in study.trials] == [0.25, 0.75]
    assert study.trials[1].system_attrs[SLOT_ATTR] == 3


# --------------------------------------------------------------------------
# Optuna: heartbeats and retries
# --------------------------------------------------------------------------
def test_base_heartbeat_asks_for_what_the_journal_storage_implements():
    from optuna.storages._heartbeat import BaseHeartbeat

    cls = compat._journal_heartbeat_class()
    assert issubclass(cls, BaseHeartbeat)
    assert not cls.__abstractmethods__
    assert BaseHeartbeat.__abstractmethods__ <= {
        "record_heartbeat",
        "_get_stale_trial_ids",
        "get_heartbeat_interval",
        "get_heartbeat_stale_trial_callback",
        "get_failed_trial_callback",
    }
    params = list(inspect.signature(BaseHeartbeat._get_stale_trial_ids).parameters)
    assert params == ["self", "study_id"]
    assert compat.HeartbeatJournalStorage is cls  # found by name, for pickle


def test_fail_stale_trials_fails_and_retries_a_silent_journal_trial(tmp_path):
    storage = make_storage(f"journal:{tmp_path / 'search.log'}", grace_period=1)
    assert compat.heartbeat_enabled(storage)
    assert not compat.heartbeat_enabled(optuna.storages.InMemoryStorage())
    study = optuna.create_study(storage=storage, direction="maximize")
    study.enqueue_trial({"x": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ask() outside optimize
        trial = study.ask()  # RUNNING
    storage.set_trial_system_attr(trial._trial_id, BEAT_ATTR, time.time() - 60)
    with compat.warnings_quiet():
        optuna.storages.fail_stale_trials(study)
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.WAITING]
    assert compat.retry_histories(study.trials) == [[], [0]]
    # The retry keeps the ticket's fixed parameters (and its slot with them).
    assert study.trials[1].system_attrs[compat.ENQUEUED_PARAMS_KEY] == {"x": 0.5}


def test_the_retry_callback_is_found_on_both_kinds_of_storage(tmp_path):
    assert (
        compat.rdb_callback_kwarg()
        in inspect.signature(optuna.storages.RDBStorage).parameters
    )
    for url in (f"sqlite:///{tmp_path / 'a.db'}", f"journal:{tmp_path / 'a.log'}"):
        callback = compat.retry_callback_of(make_storage(url, max_retry=2))
        assert isinstance(callback, compat.RetryCallback)


def test_a_failing_heartbeat_is_raised_with_the_versions(tmp_path, monkeypatch):
    from autobalance._distributed import _heartbeat

    storage = make_storage(f"journal:{tmp_path / 'search.log'}")

    def changed_upstream(trial_id):
        raise TypeError("record_heartbeat() takes 1 positional argument")

    monkeypatch.setattr(storage, "record_heartbeat", changed_upstream)
    expected = f"optuna {optuna.__version__}"
    with pytest.raises(StorageError, match=expected) as info, _heartbeat(storage, 0):
        pass
    assert isinstance(info.value.__cause__, TypeError)


def test_a_transient_heartbeat_error_does_not_stop_the_trial(tmp_path, monkeypatch):
    # A dropped connection for one beat is not a broken upstream: the trial
    # keeps beating and finishes.
    from autobalance._distributed import _heartbeat

    storage = make_storage(
        f"journal:{tmp_path / 'search.log'}", heartbeat_interval=1, grace_period=2
    )
    calls = []

    def flaky(trial_id):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise OSError("connection reset by peer")

    monkeypatch.setattr(storage, "record_heartbeat", flaky)
    with _heartbeat(storage, 0):
        deadline = time.monotonic() + 5
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(calls) >= 2  # it beat again after the failure


def test_a_storage_unreachable_for_the_grace_period_is_raised(tmp_path, monkeypatch):
    from autobalance._distributed import _heartbeat

    storage = make_storage(
        f"journal:{tmp_path / 'search.log'}", heartbeat_interval=1, grace_period=1
    )

    def down(trial_id):
        raise OSError("database is locked")

    monkeypatch.setattr(storage, "record_heartbeat", down)
    with (
        pytest.raises(StorageError, match="database is locked") as info,
        _heartbeat(storage, 0),
    ):
        time.sleep(1.6)
    assert isinstance(info.value.__cause__, OSError)


def test_import_does_not_need_the_private_heartbeat_module():
    code = (
        "import sys, optuna\n"
        "sys.modules['optuna.storages._heartbeat'] = None\n"
        "from autobalance import AutoBalancedClassifier, StorageError, make_storage\n"
        "import autobalance._distributed, autobalance._study\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# --------------------------------------------------------------------------
# scikit-learn and imbalanced-learn
# --------------------------------------------------------------------------
def test_take_rows_takes_rows_of_every_input_form():
    X = np.arange(12).reshape(6, 2)
    rows = np.array([4, 1])
    frame = pd.DataFrame(X, index=list("abcdef"))
    assert compat.take_rows(frame, rows).index.tolist() == ["e", "b"]
    assert compat.take_rows(X.tolist(), rows) == [[8, 9], [2, 3]]
    np.testing.assert_array_equal(
        compat.take_rows(sp.csr_matrix(X), rows).toarray(), X[rows]
    )
    assert "axis" in inspect.signature(compat._safe_indexing).parameters


def test_validate_params_checks_the_parameter_constraints():
    with pytest.raises(ValueError, match="n_trials"):
        compat.validate_params(AutoBalancedClassifier(n_trials=0))
    compat.validate_params(AutoBalancedClassifier(n_trials=3))
    with pytest.raises(compat.UpstreamChangedError, match="_validate_params"):
        compat.validate_params(object())


def test_boosting_predictors_are_the_fitted_trees():
    X, y = make_classification(n_samples=120, random_state=0)
    hgb = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(X, y)
    predictors = compat.boosting_predictors(hgb)
    assert len(predictors) == hgb.n_iter_
    assert all(isinstance(p.nodes, np.ndarray) for row in predictors for p in row)
    assert compat.boosting_predictors(LogisticRegression()) is None


def test_sampling_type_of_imbalanced_learn_samplers():
    assert compat.sampling_type(SMOTE()) == "over-sampling"
    assert compat.sampling_type(ClusterCentroids()) == "under-sampling"
    assert compat.sampling_type(TomekLinks()) == "clean-sampling"
    assert compat.sampling_type(LogisticRegression()) is None
