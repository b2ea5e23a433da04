"""``search_progress_``: the best score reached at shares of the budget
(issue 18), from the trials' completion times."""

import datetime
import math

import numpy as np
import optuna
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from autobalance import AutoBalancedClassifier
from autobalance._attrs import ATTR_DUPLICATE, ATTR_MEMBERS, ATTR_TECHNIQUE
from autobalance._results import PROGRESS_FRACTIONS, search_progress

State = optuna.trial.TrialState
START = datetime.datetime(2026, 1, 1, 12, 0, 0)


def trial(seconds, value, state=State.COMPLETE, **attrs):
    """A finished trial completed ``seconds`` after :data:`START`."""
    made = optuna.trial.create_trial(
        state=state,
        value=value,
        user_attrs={ATTR_TECHNIQUE: "none", **attrs},
    )
    made.datetime_start = START
    made.datetime_complete = START + datetime.timedelta(seconds=seconds)
    return made


def test_the_running_best_at_each_share_of_the_timeout():
    trials = [
        trial(15, 0.70),  # after 10 % of 100 s: nothing before it
        trial(20, 0.80),
        trial(40, 0.75),  # worse than the best so far: the best stays
        trial(90, 0.90),
    ]
    progress = search_progress(trials, START, timeout=100)
    assert progress["basis"] == "timeout"
    assert progress["fractions"] == list(PROGRESS_FRACTIONS)
    assert progress["seconds"] == [10.0, 25.0, 50.0, 100.0]
    assert_array_equal(progress["best_score"], [np.nan, 0.80, 0.80, 0.90])


def test_only_complete_trials_of_one_setup_count():
    trials = [
        trial(5, 0.70),
        trial(6, 0.99, state=State.PRUNED),  # its score ran on fewer folds
        trial(7, None, state=State.FAIL),
        trial(8, 0.98, **{ATTR_DUPLICATE: 0}),  # not scored again
        trial(30, 0.97, **{ATTR_MEMBERS: [0]}),  # the ensemble: not one setup
    ]
    progress = search_progress(trials, START, timeout=100)
    assert_array_equal(progress["best_score"], [0.70, 0.70, 0.70, 0.70])


def test_without_timeout_the_shares_are_of_the_elapsed_time():
    trials = [trial(30, 0.6), trial(150, 0.8)]
    end = START + datetime.timedelta(seconds=200)
    progress = search_progress(trials, START, end=end)
    assert progress["basis"] == "elapsed"
    assert progress["seconds"] == [20.0, 50.0, 100.0, 200.0]
    assert_array_equal(progress["best_score"], [np.nan, 0.6, 0.6, 0.8])


def test_a_trial_of_an_earlier_fit_is_reached_at_the_start():
    # A resumed stored study: its earlier trials completed before this fit.
    progress = search_progress([trial(-50, 0.65)], START, timeout=10)
    assert_array_equal(progress["best_score"], [0.65] * 4)


def test_no_complete_trial_gives_nan_everywhere():
    progress = search_progress([trial(1, 0.9, state=State.PRUNED)], START, timeout=10)
    assert all(math.isnan(v) for v in progress["best_score"])


def test_it_says_what_ended_the_search_and_when():
    end = START + datetime.timedelta(seconds=42)
    progress = search_progress([trial(1, 0.9)], START, timeout=300, end=end)
    assert progress["ended"] is None  # not recorded (a study of an older fit)
    assert progress["search_seconds"] == 42.0
    progress = search_progress(
        [trial(1, 0.9)], START, timeout=300, end=end, ended="n_trials"
    )
    # The shares stay of the budget, not of the search's duration.
    assert progress["ended"] == "n_trials" and progress["seconds"][-1] == 300


@pytest.mark.parametrize("timeout", [None, 600])
def test_fit_sets_search_progress(timeout):
    X, y = make_classification(300, weights=[0.85], random_state=0)
    clf = AutoBalancedClassifier(
        LogisticRegression(), n_trials=4, cv=3, timeout=timeout, random_state=0
    ).fit(X, y)
    progress = clf.search_progress_
    results = clf.cv_results_
    complete = results["stop_reason"] == "complete"
    assert progress["basis"] == ("timeout" if timeout else "elapsed")
    if timeout:
        assert progress["seconds"] == [60.0, 150.0, 300.0, 600.0]
    # By the end of the budget, the best complete trial of cv_results_.
    assert progress["best_score"][-1] == pytest.approx(
        np.max(results["mean_test_score"][complete])
    )
    reached = [v for v in progress["best_score"] if not math.isnan(v)]
    assert reached == sorted(reached)
    # Four trials asked for, far within any budget: they ended the search.
    assert progress["ended"] == "n_trials" and 0 < progress["search_seconds"] < 600
