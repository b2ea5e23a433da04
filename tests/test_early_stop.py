"""Early stop of a timed search (issue 18): the rule on a history of trials,
and its wiring into ``fit`` under a fake clock."""

import datetime
import logging
import math

import numpy as np
import optuna
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import autobalance._budget as budget_module
from autobalance import AutoBalancedClassifier
from autobalance._attrs import (
    ATTR_DUPLICATE,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
    ATTR_TECHNIQUE,
    EARLY_STOP_ATTR,
)
from autobalance._early_stop import (
    MIN_TRIALS_IN_WINDOW,
    NEGLIGIBLE_GAIN,
    EarlyStop,
    stop_detail,
)
from autobalance._objective import Objective
from autobalance._results import search_progress, trials_to_cv_results

State = optuna.trial.TrialState


def flat(n=12, value=0.8, first=10.0):
    """``n`` trials of the same value, one a second from ``first``."""
    return [(first + i, value) for i in range(n)]


# -- the rule -------------------------------------------------------------------
def test_a_flat_history_with_enough_trials_stops():
    # Elapsed 22 s: the window is [11, 22] s, with the trials at 11..21 s.
    detail = stop_detail(flat(), elapsed=22.0, remaining=30.0, fixed_done=True)
    assert detail == {
        "expected_gain": 0.0,
        "window_seconds": 11.0,
        "trials_in_window": 11,
        "gain_in_window": 0.0,
        "remaining_seconds": 30.0,
        "best": 0.8,
    }


def test_fewer_trials_in_the_window_than_the_minimum_go_on():
    history = flat(n=MIN_TRIALS_IN_WINDOW - 1, first=20.0)
    assert stop_detail(history, elapsed=30.0, remaining=5.0, fixed_done=True) is None
    history = flat(n=MIN_TRIALS_IN_WINDOW, first=20.0)
    assert stop_detail(history, elapsed=30.0, remaining=5.0, fixed_done=True)


def test_trials_before_the_window_do_not_count_towards_its_minimum():
    # 20 trials, but only 9 in the last half of 40 s.
    history = [(float(t), 0.8) for t in range(11)] + flat(n=9, first=21.0)
    assert stop_detail(history, elapsed=40.0, remaining=5.0, fixed_done=True) is None


def test_a_rising_best_goes_on():
    history = [(10.0 + i, 0.8 + 0.001 * i) for i in range(12)]
    # Gained 0.01 in the 11 s window: 30 s more would be expected to gain 0.027.
    assert stop_detail(history, elapsed=22.0, remaining=30.0, fixed_done=True) is None


def test_a_small_gain_stops_only_when_little_time_is_left():
    # 0.0005 gained over the 11 s window (from 0.8 before it to 0.8005).
    history = [(5.0, 0.8), *flat(n=11, value=0.8005, first=11.0)]
    at = dict(elapsed=22.0, fixed_done=True)
    # 30 s left: 0.0005 / 11 * 30 = 0.00136, above NEGLIGIBLE_GAIN.
    assert stop_detail(history, remaining=30.0, **at) is None
    detail = stop_detail(history, remaining=10.0, **at)
    assert detail["gain_in_window"] == pytest.approx(0.0005)
    assert detail["expected_gain"] == pytest.approx(0.0005 / 11 * 10)
    assert detail["expected_gain"] < NEGLIGIBLE_GAIN
    assert detail["best"] == pytest.approx(0.8005)


def test_nothing_stops_before_the_fixed_trials_ran():
    assert stop_detail(flat(), elapsed=22.0, remaining=30.0, fixed_done=False) is None


def test_an_unbounded_remaining_time_goes_on():
    # No time limit: no gain rate is small enough.
    assert (
        stop_detail(flat(), elapsed=22.0, remaining=math.inf, fixed_done=True) is None
    )


def test_without_a_score_before_the_window_its_first_score_is_the_baseline():
    # Every trial inside the window, rising from 0.6 to 0.71: a gain of 0.11.
    history = [(11.0 + i, 0.6 + 0.01 * i) for i in range(12)]
    assert stop_detail(history, elapsed=22.0, remaining=30.0, fixed_done=True) is None


def test_pruned_trials_count_as_trials_without_gain():
    history = [(11.0 + i, 0.8 if i % 2 else math.nan) for i in range(10)]
    detail = stop_detail(history, elapsed=22.0, remaining=30.0, fixed_done=True)
    assert detail["trials_in_window"] == 10
    assert detail["best"] == 0.8
    # Only pruned trials: no score to extrapolate from.
    history = [(11.0 + i, math.nan) for i in range(10)]
    assert stop_detail(history, elapsed=22.0, remaining=30.0, fixed_done=True) is None


# -- the callback ---------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeBudget:
    def __init__(self, clock, left=100.0):
        self.clock, self.start, self.left = clock, 0.0, left

    def search_remaining(self):
        return self.left


def _finished(study, value, state=State.COMPLETE, **attrs):
    study.add_trial(
        optuna.trial.create_trial(
            state=state,
            value=value if state == State.COMPLETE else None,
            user_attrs={ATTR_TECHNIQUE: "none", ATTR_SCORES: [value], **attrs},
        )
    )
    return study.trials[-1]


def test_the_callback_stops_once_armed_and_records_why(caplog):
    clock = FakeClock()
    stop = EarlyStop(FakeBudget(clock))
    study = optuna.create_study(direction="maximize")
    decisions = []
    for i in range(12):
        clock.now = 10.0 + i
        if i == 11:
            stop.armed = True  # the fixed trials were all enqueued
        with caplog.at_level(logging.INFO, logger="autobalance"):
            decisions.append(stop(study, _finished(study, 0.8)))
    # Not armed: no stop however flat.
    assert decisions == [False] * 11 + [True]
    detail = study.user_attrs[EARLY_STOP_ATTR]
    assert detail["trial_number"] == 11 and detail["trials_in_window"] == 11
    assert stop.detail == detail
    assert "Stopping the search early after 21.0 s" in caplog.text


def test_the_callback_waits_for_enqueued_trials():
    clock = FakeClock()
    stop = EarlyStop(FakeBudget(clock))
    stop.armed = True
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"x": 1})  # a fixed trial not run yet
    results = []
    for i in range(12):
        clock.now = 10.0 + i
        results.append(stop(study, _finished(study, 0.8)))
    assert not any(results)


def test_only_full_fidelity_trials_are_history():
    clock = FakeClock()
    stop = EarlyStop(FakeBudget(clock))
    stop.armed = True
    study = optuna.create_study(direction="maximize")
    others = [
        _finished(study, 0.9, state=State.PRUNED, **{ATTR_SCREEN_ROWS: 80}),
        _finished(study, 0.8, **{ATTR_DUPLICATE: 0}),
        _finished(study, 0.1, state=State.FAIL),
    ]
    for trial in others:
        assert not stop(study, trial)
    assert stop.history == []
    clock.now = 3.0
    stop(study, _finished(study, 0.7, state=State.PRUNED))  # pruned: no value
    assert len(stop.history) == 1 and math.isnan(stop.history[0][1])


# -- cv_results_ and search_progress_ ---------------------------------------------
START = datetime.datetime(2026, 1, 1, 12, 0, 0)


def _at(seconds, value, state=State.COMPLETE, **attrs):
    made = optuna.trial.create_trial(
        state=state,
        value=value if state == State.COMPLETE else None,
        user_attrs={ATTR_TECHNIQUE: "none", ATTR_SCORES: [value, value], **attrs},
    )
    made.datetime_start = START
    made.datetime_complete = START + datetime.timedelta(seconds=seconds)
    return made


def test_search_progress_reports_the_screened_best_and_the_stop():
    screened = {"state": State.PRUNED, ATTR_SCREEN_ROWS: 80}
    trials = [
        _at(5, 0.9, **screened),  # reached by 10 % of 100 s
        _at(20, 0.95, **screened),
        _at(30, 0.99, state=State.PRUNED),  # pruned, not screened
        _at(40, 0.7),
    ]
    progress = search_progress(trials, START, timeout=100)
    np.testing.assert_array_equal(
        progress["screened_best_score"], [0.9, 0.95, 0.95, 0.95]
    )
    np.testing.assert_array_equal(progress["best_score"], [np.nan] * 2 + [0.7] * 2)
    assert progress["stopped_early"] is False and progress["stop_detail"] is None
    detail = {"expected_gain": 0.0, "trial_number": 3}
    progress = search_progress(trials, START, timeout=100, early_stop=detail)
    assert progress["stopped_early"] is True and progress["stop_detail"] == detail
    assert list(trials_to_cv_results(trials, 2)["early_stop"]) == [False] * 4
    for number, made in enumerate(trials):
        made.number = number
    column = trials_to_cv_results(trials, 2, early_stop=detail)["early_stop"]
    assert list(column) == [False, False, False, True]


def test_no_screening_trial_gives_nan():
    progress = search_progress([_at(5, 0.8)], START, timeout=10)
    assert all(math.isnan(v) for v in progress["screened_best_score"])


# -- fit, under a fake clock ------------------------------------------------------
@pytest.fixture
def fake_time(monkeypatch):
    """Every trial takes one second of a fake clock, whatever it costs."""
    clock = FakeClock()
    monkeypatch.setattr(budget_module, "default_clock", clock)
    objective = Objective.__call__

    def one_second(self, trial):
        clock.now += 1.0
        return objective(self, trial)

    monkeypatch.setattr(Objective, "__call__", one_second)
    return clock


def _flat_data():
    # Every setup of a linear model scores about the same on this data (a
    # flat search); 1,200 minority rows make n_trials="auto" 30.
    return make_classification(
        4000,
        n_features=5,
        n_informative=3,
        class_sep=2.0,
        flip_y=0,
        weights=[0.7],
        random_state=0,
    )


def _model(**settings):
    # Searching C too: no trial repeats an earlier setup (a repeat runs no fold).
    c = optuna.distributions.FloatDistribution(0.01, 100, log=True)
    return AutoBalancedClassifier(
        LogisticRegression(),
        param_distributions={"C": c},
        cv=3,
        random_state=0,
        **settings,
    )


def test_a_flat_timed_search_stops_early_and_says_so(fake_time, tmp_path):
    from autobalance import report

    X, y = _flat_data()
    clf = _model(timeout=1000).fit(X, y)
    results, progress = clf.cv_results_, clf.search_progress_
    full = np.isin(results["stop_reason"], ["complete", "pruned"])
    assert progress["stopped_early"] is True
    assert progress["ended"] == "early_stop"
    detail = progress["stop_detail"]
    assert detail["trials_in_window"] >= MIN_TRIALS_IN_WINDOW
    assert detail["expected_gain"] < NEGLIGIBLE_GAIN
    # Long before the 1000 s budget and the 30 trials.
    assert detail["elapsed_seconds"] < 100 and full.sum() < 30
    stopped = np.flatnonzero(results["early_stop"])
    assert list(results["trial_number"][stopped]) == [detail["trial_number"]]
    # The last trial of the search (an ensemble is not a trial of it).
    searched = results["trial_number"][results["technique"] != "ensemble"]
    assert detail["trial_number"] == searched.max()
    # The report says so, with the best scores by share of the budget.
    page = report(clf, tmp_path / "report.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>Search progress</h2>") :]
    section = section[: section.index("<h2>", 5)]
    assert f"after {detail['elapsed_seconds']:.1f} s" in section
    assert "stopped early" in section and "share of the timeout" in section
    assert f"{progress['best_score'][-1]:.4f}" in section
    n_screened = int((results["stop_reason"] == "screened").sum())
    assert f"{n_screened} screened" in section


@pytest.mark.parametrize(
    "settings",
    [{"timeout": None, "n_trials": 20}, {"timeout": 1000, "n_trials": 20}],
    ids=["untimed", "explicit-n_trials"],
)
def test_an_untimed_or_counted_search_never_stops_early(fake_time, settings, tmp_path):
    from autobalance import report

    X, y = _flat_data()
    clf = _model(**settings).fit(X, y)
    results = clf.cv_results_
    assert clf.search_progress_["stopped_early"] is False
    assert clf.search_progress_["stop_detail"] is None
    # The trials asked for ended it, and the report says so.
    assert clf.search_progress_["ended"] == "n_trials"
    page = report(clf, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "after the trials asked for (n_trials); it did not stop early" in page
    assert not results["early_stop"].any()
    assert EARLY_STOP_ATTR not in clf.study_.user_attrs
    # Every requested trial ran (screening trials take no trial of n_trials).
    counted = results["stop_reason"] != "screened"
    counted &= results["technique"] != "ensemble"
    assert counted.sum() == 20
