"""What ``cv_results_`` says of each trial (issue 18): the fidelity it ran at
(``fidelity_rows``, ``fidelity_trees``) and why it stopped (``stop_reason``)."""

import numpy as np
import optuna
from imblearn.base import BaseSampler
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression

from autobalance import AutoBalancedClassifier
from autobalance._attrs import ATTR_SCREEN_ROWS
from autobalance._objective import ensemble_size
from autobalance._plan import build_plan
from autobalance._results import STOP_REASONS, trials_to_cv_results
from autobalance._study import TrialFailure


class RaisingSampler(BaseSampler):
    """A sampler whose resampling always raises: its trials fail."""

    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {}

    def __init__(self):
        super().__init__()

    def _fit_resample(self, X, y):
        raise RuntimeError("this sampler always breaks")


class PruneTrialOne(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return trial.number == 1


class OneFoldBudget:
    """A time budget that affords one fold per trial, then runs out."""

    def allows(self, config, fit_times, **kwargs):
        return len(fit_times) < 1

    def needs_pilot(self, config):
        return False

    def measured(self, *args, **kwargs):
        pass

    def record(self, *args, **kwargs):
        pass


def _data():
    return make_classification(
        n_samples=240, n_features=5, weights=[0.85], random_state=0
    )


def test_each_stop_reason_is_the_way_its_trial_stopped():
    X, y = _data()
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none", "random_over_sampler", RaisingSampler()],
        cv=3,
        random_state=0,
    )
    plan = build_plan(clf, X, y)
    space = plan.space
    raising = next(
        n for n in space.techniques if n not in {"none", "random_over_sampler"}
    )
    study = optuna.create_study(direction="maximize", pruner=PruneTrialOne())
    for technique in (raising, "none", "none", "none"):
        config = space.default_config(technique, "logistic_regression")
        study.enqueue_trial(space.optuna_params(config))
    over = space.optuna_params(
        space.default_config("random_over_sampler", "logistic_regression")
    )
    # A screening trial of a timed search (see _screening): 80 training rows.
    study.enqueue_trial(over, user_attrs={ATTR_SCREEN_ROWS: 80})
    study.enqueue_trial(over)
    study.optimize(plan.objective, n_trials=5, catch=(TrialFailure,))
    plan.objective.budget = OneFoldBudget()
    study.optimize(plan.objective, n_trials=1)
    results = trials_to_cv_results(study.trials, 3)
    assert list(results["stop_reason"]) == [
        "failed",  # its sampler raised
        "pruned",  # the pruner stopped it after its first fold
        "complete",
        "duplicate",  # the same setup as the trial before: scores reused
        "screened",  # scored on fewer rows of each training fold
        "out_of_time",  # the budget stopped it after one fold
    ]
    assert set(results["stop_reason"]) == set(STOP_REASONS)
    n_scores = [len(t.user_attrs["split_scores"]) for t in study.trials[1:]]
    assert n_scores == [1, 3, 3, 3, 1]
    # Every fold trained on two thirds of the 240 rows (the screening trial
    # on 80 of them); no trees in LR.
    np.testing.assert_array_equal(results["fidelity_rows"], [160] * 4 + [80, 160])
    assert np.isnan(results["fidelity_trees"]).all()


def test_fidelity_trees_is_the_ensemble_size_while_searching():
    X, y = _data()
    clf = AutoBalancedClassifier(
        [LogisticRegression(), ExtraTreesClassifier(n_estimators=7)],
        techniques=["none"],
        n_trials=2,
        cv=3,
        random_state=0,
        ensemble=False,
    ).fit(X, y)
    results = clf.cv_results_
    trees = dict(
        zip(results["param_algorithm"], results["fidelity_trees"], strict=True)
    )
    assert trees["extra_trees_classifier"] == 7
    assert np.isnan(trees["logistic_regression"])
    assert list(results["stop_reason"]) == ["complete", "complete"]


def test_the_default_extra_trees_are_searched_with_fewer_trees():
    X, y = _data()
    plan = build_plan(AutoBalancedClassifier(cv=3, random_state=0), X, y)
    config = plan.space.default_config("none", "extra_trees")
    assert ensemble_size(plan.space.build(config, search=True)) == 100
    assert ensemble_size(plan.space.build(config)) == 300
