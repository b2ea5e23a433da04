"""Stored searches survive interruption and resume to the same search."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import joblib
import numpy as np
import optuna
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from optuna.trial import TrialState
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

import autobalance._budget as budget_module
import autobalance._objective as objective_module
from autobalance import (
    AutoBalancedClassifier,
    FloatParam,
    StorageError,
    StudyMismatchError,
    Technique,
    load_model,
    make_storage,
    run_worker,
)
from autobalance._attrs import OWNER_ATTR
from autobalance._distributed import (
    _claim,
    budget_refused,
    counted_trials,
    slot_of,
    top_up,
)
from autobalance._objective import Objective
from autobalance._plan import build_plan
from autobalance._study import canonical, open_study

# Written by Optuna's retry callback on the trial that retries another.
RETRY_HISTORY = "retry_history"
TECHNIQUES = ["none", "random_over_sampler", "smote", "balanced_class_weight"]


def make_data():
    X, y = make_classification(
        n_samples=240, n_features=5, weights=[0.85], random_state=0
    )
    return X, y


def searcher(storage, n_trials, **kwargs):
    return AutoBalancedClassifier(
        LogisticRegression(),
        techniques=TECHNIQUES,
        n_trials=n_trials,
        cv=3,
        random_state=0,
        storage=storage,
        study_name="s",
        **kwargs,
    )


def trajectory(study):
    """What each slot of the budget tried and got."""
    return [
        (
            slot_of(t),
            t.user_attrs["technique"],
            t.user_attrs["params"],
            t.state,
            t.value,
        )
        for t in counted_trials(study.get_trials())
    ]


def check_budget(study, n_trials):
    """Exactly ``n_trials`` count; the rest failed and were retried."""
    trials = study.get_trials()
    counted = counted_trials(trials)
    assert len(counted) == n_trials
    assert sorted(slot_of(t) for t in counted) == list(range(n_trials))
    retried = {n for t in trials for n in t.system_attrs.get(RETRY_HISTORY, ())}
    for t in trials:
        assert t.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
            t.state == TrialState.FAIL and t.number in retried
        ), (t.number, t.state)
    return [t for t in trials if t.number in retried]


# -- the acceptance test: SIGKILL a `fit`, run it again ------------------------
N_KILL = 8
CLI_ARGS = [
    "--target", "Class", "--estimator", "logistic_regression",
    "--techniques", ",".join(TECHNIQUES), "--n-trials", str(N_KILL), "--cv", "3",
    "--seed", "0", "--study-name", "s", "--heartbeat", "1", "--no-progress",
]  # fmt: skip


def _running(path):
    """(number, slot) of the RUNNING trials, read with sqlite3 directly (cheap,
    and never creates the database the command is creating)."""
    import sqlite3

    query = (
        "SELECT t.number, a.value_json FROM trials t "
        "LEFT JOIN trial_system_attributes a "
        "ON a.trial_id = t.trial_id AND a.key = 'autobalance:slot' "
        "WHERE t.state = 'RUNNING'"
    )
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            return [(n, int(slot)) for n, slot in db.execute(query).fetchall()]
    except sqlite3.OperationalError:  # not created yet
        return []


def _reference(folder):
    """The same search, uninterrupted, built as the command builds it."""
    from autobalance.cli import build_estimator, build_parser, search_config

    data = str(folder / "data.csv")
    url = f"sqlite:///{folder / 'ref.db'}"
    args = build_parser().parse_args(["fit", data, *CLI_ARGS, "--out", "x.skops"])
    frame = pd.read_csv(data)
    X = frame.drop(columns="Class")
    clf = build_estimator(search_config(args, data), X, storage=url, study_name="s")
    return clf.fit(X, frame["Class"].to_numpy())


@pytest.mark.slow
def test_killed_fit_resumes_to_the_same_search(tmp_path):
    X, y = make_data()
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame.assign(Class=y).to_csv(tmp_path / "data.csv", index=False)
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    command = [sys.executable, "-m", "autobalance.cli", "fit", "data.csv", *CLI_ARGS,
               "--storage", url, "--out", "m.skops"]  # fmt: skip
    quiet = {"capture_output": True, "text": True, "cwd": tmp_path}
    victim = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    killed = None
    while victim.poll() is None and killed is None:
        late = [n for n, slot in _running(tmp_path / "killed.db") if slot >= 4]
        if late:  # mid-trial, half-way through the budget
            victim.send_signal(signal.SIGKILL)
            killed, at = late[0], time.monotonic()
        time.sleep(0.02)
    victim.communicate()
    assert killed is not None, "the fit finished before it could be killed"
    assert not (tmp_path / "m.skops").exists()
    assert [n for n, _ in _running(tmp_path / "killed.db")] == [killed]

    reference = _reference(tmp_path)  # meanwhile the dead trial goes stale
    time.sleep(max(0.0, 3.5 - (time.monotonic() - at)))  # > 3 heartbeats
    again = subprocess.run(command, timeout=300, **quiet)
    assert again.returncode == 0, again.stderr

    study = optuna.load_study(study_name="s", storage=url)
    (retried,) = check_budget(study, N_KILL)
    assert retried.number == killed
    assert trajectory(study) == trajectory(reference.study_)
    model = load_model(tmp_path / "m.skops")
    assert model.best_params_ == reference.best_params_
    np.testing.assert_array_equal(
        model.predict_proba(frame), reference.predict_proba(frame)
    )

    # `report` on the stored study refits its winner on the recorded data (the
    # HTML itself is tested in test_cli.py).
    import autobalance.reporting
    from autobalance.cli import main

    reported = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            autobalance.reporting, "report", lambda *a, **k: reported.append(a)
        )
        argv = ["report", "--storage", url, "--study-name", "s", "--out", "r.html"]
        assert main([*argv[:-1], str(tmp_path / "r.html")]) == 0
    ((clf, _, X_seen, _),) = reported
    assert clf.best_params_ == model.best_params_
    assert len(clf.cv_results_["params"]) == N_KILL
    # The data as the command read it back: pandas < 3 parses CSV floats to
    # within one ulp, not to the values written.
    np.testing.assert_array_equal(
        X_seen, pd.read_csv(tmp_path / "data.csv").drop(columns="Class")
    )
    assert len(clf.study_.trials) == N_KILL + 1  # no trial was added


# -- in-process: Ctrl-C, a dead process on a journal file, budgets -------------
def _interrupt_after(monkeypatch, n_calls):
    """Make the objective raise KeyboardInterrupt in its ``n_calls``-th trial."""
    calls = {"n": 0}
    original = Objective.__call__

    def call(self, trial):
        calls["n"] += 1
        if calls["n"] == n_calls:
            raise KeyboardInterrupt  # before it draws: the resumed run samples it
        return original(self, trial)

    monkeypatch.setattr(Objective, "__call__", call)


def test_ctrl_c_releases_the_trial_and_resume_matches(tmp_path, monkeypatch):
    X, y = make_data()
    reference = searcher(f"sqlite:///{tmp_path / 'ref.db'}", 11).fit(X, y)
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 11)  # slot 10: the first one TPE samples
        with pytest.raises(KeyboardInterrupt):
            searcher(url, 11).fit(X, y)
    study = optuna.load_study(study_name="s", storage=url)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.RUNNING) == 0  # released at once, no grace
    assert states.count(TrialState.FAIL) == 1
    resumed = searcher(url, 11).fit(X, y)
    (retried,) = check_budget(resumed.study_, 11)
    assert slot_of(retried) == 10
    assert trajectory(resumed.study_) == trajectory(reference.study_)
    assert resumed.best_params_ == reference.best_params_
    np.testing.assert_array_equal(
        resumed.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"]
    )


def _interrupt_mid_draw(monkeypatch, after_slot):
    """KeyboardInterrupt once, in the first trial past ``after_slot`` that
    draws a third parameter: its first two are drawn and recorded."""
    fired = []

    def wrap(name):
        original = getattr(optuna.trial.Trial, name)

        def suggest(self, param, *args, **kwargs):
            frozen = self.study._storage.get_trial(self._trial_id)
            drawn = frozen.params
            late = slot_of(frozen) > after_slot
            if not fired and late and len(drawn) >= 2 and param not in drawn:
                fired.append(slot_of(frozen))
                raise KeyboardInterrupt
            return original(self, param, *args, **kwargs)

        monkeypatch.setattr(optuna.trial.Trial, name, suggest)

    for name in ("suggest_float", "suggest_int", "suggest_categorical"):
        wrap(name)
    return fired


def test_trial_cut_between_draws_resumes_to_the_same_search(tmp_path, monkeypatch):
    # The retried trial keeps the parameters drawn before the cut and draws
    # the rest; those draws must not shift.
    X, y = make_data()
    reference = searcher(f"sqlite:///{tmp_path / 'ref.db'}", 10).fit(X, y)
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    with monkeypatch.context() as patch:
        fired = _interrupt_mid_draw(patch, after_slot=3)
        with pytest.raises(KeyboardInterrupt):
            searcher(url, 10).fit(X, y)
    assert fired
    (failed,) = optuna.load_study(study_name="s", storage=url).get_trials(
        states=(TrialState.FAIL,)
    )
    assert len(failed.params) >= 2
    resumed = searcher(url, 10).fit(X, y)
    (retried,) = check_budget(resumed.study_, 10)
    assert slot_of(retried) == fired[0]
    assert trajectory(resumed.study_) == trajectory(reference.study_)


def test_larger_budget_extends_the_study(tmp_path):
    X, y = make_data()
    url = f"sqlite:///{tmp_path / 'grow.db'}"
    first = trajectory(searcher(url, 4).fit(X, y).study_)
    grown = searcher(url, 6).fit(X, y)
    check_budget(grown.study_, 6)
    assert trajectory(grown.study_)[:4] == first
    assert len(grown.cv_results_["params"]) == 6
    again = searcher(url, 6).fit(X, y)  # nothing left to run: refit only
    assert len(again.study_.trials) == 6
    assert again.best_params_ == grown.best_params_


# -- timeout: the fit's budget, on a clock that advances one second per fold ----
class FoldClock:
    now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def fold_clock(monkeypatch):
    """Every fold fit takes one second on the budget's clock: a timed search
    replayed exactly, whatever the machine's load."""
    clock = FoldClock()
    fit_and_score = objective_module._fit_and_score

    def one_second(*args, **kwargs):
        score, _, *rest = fit_and_score(*args, **kwargs)
        clock.now += 1.0
        return (score, 1.0, *rest)

    monkeypatch.setattr(objective_module, "_fit_and_score", one_second)
    monkeypatch.setattr(budget_module, "default_clock", clock)
    return clock


def test_stored_search_stops_where_the_in_memory_one_stops(tmp_path, fold_clock):
    # 3 folds of 1 s per trial; after two trials (6 s) the 8.5 s budget keeps
    # 0.25 s for the search once the refit (~1.6 s) and the slack are reserved.
    X, y = make_data()
    memory = searcher(None, 8, timeout=8.5).set_params(study_name=None).fit(X, y)
    stopped_at = fold_clock.now
    fold_clock.now = 0.0
    url = f"sqlite:///{tmp_path / 'timed.db'}"
    stored = searcher(url, 8, timeout=8.5).fit(X, y)
    assert fold_clock.now == stopped_at == 6.0
    assert trajectory(stored.study_) == trajectory(memory.study_)
    # The tickets after the stop were never claimed: none was refused, none
    # took a slot of the budget, and a resumed fit runs them.
    states = [t.state for t in stored.study_.get_trials()]
    assert states == [TrialState.COMPLETE] * 2 + [TrialState.WAITING] * 6
    resumed = searcher(url, 8).fit(X, y)
    check_budget(resumed.study_, 8)
    assert trajectory(resumed.study_)[:2] == trajectory(memory.study_)


def test_trials_refused_by_the_budget_do_not_count(tmp_path, fold_clock):
    # At 9.5 s the budget refuses setups not seen yet (their first fold is
    # estimated at 1.5 times the model's slowest) while seen ones still fit.
    X, y = make_data()
    url = f"sqlite:///{tmp_path / 'refused.db'}"
    timed = searcher(url, 8, timeout=9.5).fit(X, y)
    trials = timed.study_.get_trials()
    refused = {slot_of(t) for t in trials if budget_refused(t)}
    assert refused
    for t in trials:
        if budget_refused(t):
            assert t.state == TrialState.PRUNED and not t.user_attrs["split_scores"]
    assert not refused & {slot_of(t) for t in counted_trials(trials)}
    assert len(timed.cv_results_["params"]) == 8 - len(refused)
    # A resumed, larger search runs the refused slots again: every slot of its
    # budget has its fold scores.
    grown = searcher(url, 10).fit(X, y)
    check_budget(grown.study_, 10)
    counted = counted_trials(grown.study_.get_trials())
    assert all(t.user_attrs["split_scores"] for t in counted)


def test_in_memory_search_lists_no_trial_the_budget_refused(fold_clock):
    # As the stored search above: at 9.5 s the budget refuses unseen setups
    # before their first fold. Such a trial ran nothing: it is not a row of
    # cv_results_ and takes no trial of n_trials, which runs others instead.
    X, y = make_data()
    timed = searcher(None, 8, timeout=9.5).set_params(study_name=None).fit(X, y)
    trials = timed.study_.get_trials()
    refused = [t.number for t in trials if budget_refused(t)]
    assert refused
    results = timed.cv_results_
    assert not set(refused) & set(results["trial_number"])
    assert len(results["params"]) == 8
    # Every listed trial ran folds (one stopped after a fold is listed: this
    # clock's folds take 1 s whatever their rows, where the cost model
    # predicts fewer for a sampler that trains on fewer rows).
    for number in results["trial_number"]:
        assert trials[number].user_attrs["split_scores"]


def test_in_memory_search_stops_when_the_budget_refuses_every_proposal(
    fold_clock, monkeypatch
):
    # After the first trial every proposal is too slow for the time left: the
    # search stops after a few refusals instead of spinning until the deadline
    # (the clock does not move while nothing runs). Refusing all of them,
    # whatever the sampler proposes, keeps the test independent of TPE's
    # choices (letting one technique through made it run for minutes when
    # the proposals of that technique repeated: a duplicate runs no fold).
    import autobalance._study as study_module

    X, y = make_data()
    allows = budget_module.Budget.allows
    monkeypatch.setattr(
        budget_module.Budget,
        "allows",
        lambda self, config, fit_times, **kw: (
            allows(self, config, fit_times, **kw) and self._best is None
        ),
    )
    timed = searcher(None, None, timeout=30).set_params(study_name=None)
    timed.fit(X, y)
    trials = timed.study_.get_trials()

    # The search stopped after that many trials in a row that ran no fold:
    # refused, or repeating the one setup that ran (a duplicate runs no fold
    # either; letting duplicates reset the count made this search spin).
    def idle(t):
        return budget_refused(t) or "duplicate_of" in t.user_attrs

    tail = trials[-study_module.MAX_REFUSED_IN_A_ROW :]
    assert all(idle(t) for t in tail)
    assert any(budget_refused(t) for t in tail)
    assert not idle(trials[-study_module.MAX_REFUSED_IN_A_ROW - 1])


@pytest.mark.parametrize("url", ["sqlite:///search.db", "journal:search.log"])
def test_process_dead_right_after_its_claim_is_retried(tmp_path, monkeypatch, url):
    monkeypatch.chdir(tmp_path)
    X, y = make_data()
    storage = make_storage(url, heartbeat_interval=1, grace_period=2)
    clf = searcher(storage, 5)
    search = build_plan(clf, X, y)
    study = open_study(
        storage=storage,
        study_name="s",
        seed=search.study_seed,
        pruning=True,
        fingerprint=search.fingerprint,
    )
    top_up(study, 5, [])
    dead = _claim(study)  # a process claims a trial and dies at once
    time.sleep(2.5)  # no heartbeat for longer than the grace period
    clf.fit(X, y)
    (retried,) = check_budget(clf.study_, 5)
    assert retried._trial_id == dead
    assert len(clf.cv_results_["params"]) == 5  # the dead trial is left out
    assert {t.system_attrs[OWNER_ATTR] for t in clf.study_.trials} == {
        f"{os.uname().nodename}:{os.getpid()}"
    }


def test_storage_errors_are_clear(tmp_path):
    with pytest.raises(StorageError, match="not a URL"):
        make_storage("search.db")
    with pytest.raises(StorageError, match="does not exist"):
        make_storage(f"journal:{tmp_path / 'no' / 'search.log'}")
    with pytest.raises(StorageError, match="Cannot open storage") as info:
        make_storage("postgresql+psycopg2://me:secret@127.0.0.1:9/db")
    assert "secret" not in str(info.value)
    X, y = make_data()
    with pytest.raises(ValueError, match="random_state set to an integer"):
        AutoBalancedClassifier(
            storage=f"sqlite:///{tmp_path / 'a.db'}", study_name="s"
        ).fit(X, y)


def test_workers_join_only_the_same_search(tmp_path):
    X, y = make_data()
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with pytest.raises(StorageError, match="Start the driver first"):
        run_worker(searcher(url, 3), X, y, wait=0)
    driver = searcher(url, 3).fit(X, y)
    assert run_worker(searcher(url, 3), X, y) == 0  # the budget is spent
    with pytest.raises(StudyMismatchError, match="different data"):
        run_worker(searcher(url, 3), X[:-10], y[:-10])
    check_budget(driver.study_, 3)


# -- the fingerprint counts every parameter -------------------------------------
COLUMNS = [f"column_{i:02d}" for i in range(40)]


def long_pipeline(degree):
    """A pipeline whose repr scikit-learn shortens: the polynomial degree falls
    in the elided middle."""
    columns = ColumnTransformer(
        [
            ("scale", StandardScaler(), COLUMNS),
            ("poly", PolynomialFeatures(degree=degree), COLUMNS),
        ]
    )
    return make_pipeline(columns, LogisticRegression())


def wide_data():
    X, y = make_classification(
        n_samples=150, n_features=40, weights=[0.85], random_state=0
    )
    return pd.DataFrame(X, columns=COLUMNS), y


def _fingerprint(clf, X, y):
    return build_plan(clf, X, y).fingerprint


def _ros(ctx, shrinkage):
    return RandomOverSampler(shrinkage=shrinkage, random_state=ctx.random_state)


def _rus(ctx, shrinkage):
    return RandomUnderSampler(random_state=ctx.random_state)


def test_canonical_settings_count_every_parameter():
    two, three = long_pipeline(2), long_pipeline(3)
    assert repr(two) == repr(three)  # why reprs cannot tell them apart
    assert joblib.hash(canonical(two)) != joblib.hash(canonical(three))
    assert joblib.hash(canonical(clone(two))) == joblib.hash(canonical(two))
    # A user's technique counts by its parameters' ranges and its build.
    shrink = FloatParam("shrinkage", 0.05, 1.0, default=0.1)
    technique = Technique("mine", "custom", "sampler", _ros, params=(shrink,))
    narrower = Technique(
        "mine",
        "custom",
        "sampler",
        _ros,
        params=(FloatParam("shrinkage", 0.05, 0.5, default=0.1),),
    )
    other_build = Technique("mine", "custom", "sampler", _rus, params=(shrink,))
    hashes = {joblib.hash(canonical(t)) for t in (technique, narrower, other_build)}
    assert len(hashes) == 3
    # ... and not by its description.
    described = Technique(
        "mine", "custom", "sampler", _ros, params=(shrink,), description="Mine."
    )
    assert joblib.hash(canonical(described)) == joblib.hash(canonical(technique))


def test_fingerprint_tells_deep_parameters_and_user_samplers_apart():
    X, y = wide_data()
    by_estimator = {
        degree: _fingerprint(
            AutoBalancedClassifier(long_pipeline(degree), random_state=0), X, y
        )
        for degree in (2, 3)
    }
    assert by_estimator[2] != by_estimator[3]
    same = AutoBalancedClassifier(clone(long_pipeline(2)), random_state=0)
    assert _fingerprint(clone(same), X, y) == by_estimator[2]

    def with_sampler(strategy):
        sampler = RandomUnderSampler(sampling_strategy=strategy, random_state=0)
        return AutoBalancedClassifier(
            LogisticRegression(), techniques=[sampler], random_state=0
        )

    half, most = with_sampler(0.5), with_sampler(0.9)
    assert _fingerprint(half, X, y) != _fingerprint(most, X, y)
    assert _fingerprint(clone(half), X, y) == _fingerprint(half, X, y)


def test_resume_with_a_changed_deep_parameter_is_refused(tmp_path):
    X, y = wide_data()
    url = f"sqlite:///{tmp_path / 'deep.db'}"

    def search(degree):
        return AutoBalancedClassifier(
            long_pipeline(degree),
            techniques=["none"],
            n_trials=2,
            cv=3,
            random_state=0,
            storage=url,
            study_name="s",
        )

    search(2).fit(X, y)
    with pytest.raises(StudyMismatchError, match="different data or search settings"):
        search(3).fit(X, y)
    assert len(search(2).fit(X, y).study_.trials) == 2  # the same search resumes
