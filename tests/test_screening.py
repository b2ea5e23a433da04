"""The screening round of a timed search (issue 18): every family and model
scored early on fewer rows, never competing with full-fidelity trials, the
best promoted to full fidelity."""

import math
import warnings

import numpy as np
import optuna
import pytest
from optuna.trial import FixedTrial
from sklearn.datasets import make_classification

import autobalance._budget as budget_module
from autobalance import AutoBalancedClassifier
from autobalance._attrs import (
    ATTR_FIDELITY_ROWS,
    ATTR_MEMBERS,
    ATTR_PROMOTED,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
)
from autobalance._plan import build_plan
from autobalance._screening import (
    MAX_FRACTION,
    MIN_PROMOTED,
    START_FRACTION,
    choose_fraction,
    promoted,
    round_configs,
    screened,
)

N_SPLITS = 3


class FrozenClock:
    """A clock that never moves: the budget never runs out, so a timed
    search runs exactly its n_trials, whatever the machine's load."""

    def __call__(self):
        return 0.0


def _data():
    return make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        weights=[0.9],
        flip_y=0.01,
        random_state=0,
    )


@pytest.fixture(scope="module")
def timed_search():
    X, y = _data()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(budget_module, "default_clock", FrozenClock())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = AutoBalancedClassifier(
                timeout=60, n_trials=6, cv=N_SPLITS, random_state=0
            ).fit(X, y)
    return clf


def _full_rows(clf):
    res = clf.cv_results_
    return res["fidelity_rows"][res["stop_reason"] == "complete"].max()


def test_a_timed_search_screens_every_family_and_model_on_fewer_rows(timed_search):
    clf = timed_search
    res = clf.cv_results_
    space = clf.search_space_
    is_screened = res["stop_reason"] == "screened"
    families = {t.family for t in space.techniques.values()}
    assert set(res["family"][is_screened]) == families
    screened_models = set(res["param_algorithm"][is_screened].compressed()) - {None}
    assert screened_models == set(space.algorithms)
    assert "balanced_random_forest" in set(res["technique"][is_screened])
    # Every row of a screening trial's folds is fewer than a full trial's,
    # and its state keeps its score out of the ranking.
    assert (res["fidelity_rows"][is_screened] < _full_rows(clf)).all()
    assert (res["state"][is_screened] == "PRUNED").all()
    assert np.isnan(res["mean_test_score"][is_screened]).all()
    assert np.isfinite(res["split0_test_score"][is_screened]).all()


def test_screening_trials_are_never_the_best_nor_ensemble_members(timed_search):
    clf = timed_search
    res = clf.cv_results_
    assert res["stop_reason"][clf.best_index_] == "complete"
    assert res["fidelity_rows"][clf.best_index_] == _full_rows(clf)
    trials = clf.study_.get_trials(deepcopy=False)
    screening = {t.number for t in trials if screened(t)}
    ensembles = [t for t in trials if ATTR_MEMBERS in t.user_attrs]
    for trial in ensembles:
        assert not screening & set(trial.user_attrs[ATTR_MEMBERS])
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and not screening & {t.number for t in complete}


def test_promoted_setups_run_at_full_fidelity_right_after_the_round(timed_search):
    clf = timed_search
    trials = clf.study_.get_trials(deepcopy=False)
    last = max(t.number for t in trials if screened(t))
    round_rows = trials[last].user_attrs[ATTR_SCREEN_ROWS]
    ranked = sorted(
        (t for t in trials if t.user_attrs.get(ATTR_SCREEN_ROWS) == round_rows),
        key=lambda t: (-np.mean(t.user_attrs[ATTR_SCORES]), t.number),
    )
    expected = ranked[: max(MIN_PROMOTED, math.ceil(len(ranked) / 3))]
    after = trials[last + 1 : last + 1 + len(expected)]
    assert [t.params for t in after] == [t.params for t in expected]
    assert [t.user_attrs[ATTR_PROMOTED] for t in after] == [t.number for t in expected]
    full = _full_rows(clf)
    assert all(t.user_attrs[ATTR_FIDELITY_ROWS] == full for t in after)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in after)
    # n_trials counts the full-fidelity trials only.
    full_trials = [t for t in trials if ATTR_MEMBERS not in t.user_attrs]
    assert sum(not screened(t) for t in full_trials) == 6


def test_an_untimed_search_does_not_screen():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = AutoBalancedClassifier(n_trials=4, cv=N_SPLITS, random_state=0).fit(X, y)
    trials = clf.study_.get_trials(deepcopy=False)
    assert not any(screened(t) for t in trials)
    assert "screened" not in set(clf.cv_results_["stop_reason"])
    starting = [clf.search_space_.optuna_params(c) for c in _starting(clf)]
    assert [t.params for t in trials[:4]] == starting[:4]


def _starting(clf):
    return clf.search_space_.starting_configs()


def test_the_objective_subsamples_the_training_folds_of_a_screening_trial():
    X, y = _data()
    est = AutoBalancedClassifier(timeout=60, cv=N_SPLITS, random_state=0)
    plan = build_plan(est, X, y)
    objective, space = plan.objective, plan.space
    config = space.default_config("none", "logistic_regression")
    rows = 80
    trial = FixedTrial(space.optuna_params(config))
    trial.set_user_attr(ATTR_SCREEN_ROWS, rows)
    with pytest.raises(optuna.TrialPruned, match="screened"):
        objective(trial)
    assert trial.user_attrs[ATTR_FIDELITY_ROWS] == rows
    assert len(trial.user_attrs[ATTR_SCORES]) == N_SPLITS
    # Nothing of it is kept for the ensemble or the decision rule, and the
    # budget reserves no refit for it.
    assert objective.oof == {}
    assert plan.budget.reserve == 0.0
    folds = objective.splits_for(trial)
    again = FixedTrial(space.optuna_params(config))
    again.set_user_attr(ATTR_SCREEN_ROWS, rows)
    for (train, test), (full_train, full_test), (train2, _) in zip(
        folds, plan.splits, objective.splits_for(again), strict=True
    ):
        np.testing.assert_array_equal(test, full_test)
        assert len(train) == rows and set(train) <= set(full_train)
        np.testing.assert_array_equal(train, train2)
        # Every minority row is kept (fewer than the floor).
        minority = plan.y_search[full_train] == 1
        assert np.sum(plan.y_search[train] == 1) == np.sum(minority)
    # Another seed draws other rows of the majority.
    est2 = AutoBalancedClassifier(timeout=60, cv=N_SPLITS, random_state=1)
    plan2 = build_plan(est2, X, y)
    trial2 = FixedTrial(space.optuna_params(config))
    trial2.set_user_attr(ATTR_SCREEN_ROWS, rows)
    assert any(
        set(a[0]) != set(b[0])
        for a, b in zip(folds, plan2.objective.splits_for(trial2), strict=True)
    )
    # A full-fidelity trial runs on the search's folds.
    assert objective.splits_for(FixedTrial({})) is objective.splits


def test_round_configs_take_each_familys_first_technique_on_every_model():
    X, y = _data()
    plan = build_plan(AutoBalancedClassifier(timeout=60, cv=N_SPLITS), X, y)
    configs = round_configs(plan.space)
    pairs = [(c.technique, c.algorithm) for c in configs]
    models = list(plan.space.algorithms)
    for technique in (
        "none",
        "random_over_sampler",
        "random_under_sampler",
        "smote_tomek",
        "balanced_class_weight",
    ):
        assert [a for t, a in pairs if t == technique] == models
    # Every model-replacing ensemble is a model of its own, each screened.
    assert ("balanced_random_forest", None) in pairs
    assert ("easy_ensemble", None) in pairs
    assert not {"smote", "custom_class_weight"} & {t for t, _ in pairs}
    # The probes (first setup of each model) come first.
    assert pairs[: len(models)] == [("none", m) for m in models]


class _Trial:
    def __init__(self, number, scores, rows):
        self.number = number
        self.user_attrs = {ATTR_SCORES: scores, ATTR_SCREEN_ROWS: rows}


def test_promoted_is_the_best_third_ties_by_number_at_the_rounds_rows():
    trials = [
        _Trial(0, [0.7, 0.7], 10),  # a probe at the first rows: left out
        _Trial(1, [0.6, 0.6], 20),
        _Trial(2, [0.9, 0.9], 20),
        _Trial(3, [0.8, 0.8], 20),
        _Trial(4, [0.9, 0.9], 20),
        _Trial(5, [0.5], 20),  # not every fold scored: left out
        _Trial(6, [0.5, 0.5], 20),
        _Trial(7, [0.4, 0.4], 20),
        _Trial(8, [0.85, 0.85], 20),
    ]
    assert [t.number for t in promoted(trials, 20, 2)] == [2, 4, 8]
    assert [t.number for t in promoted(trials[:3], 20, 2)] == [2, 1]


def test_the_fraction_fits_the_round_in_its_allowance():
    probes = {"lr": 1.0, "hgb": 3.0}
    rest = ["lr", "hgb", "lr", "hgb"]
    # Nothing more fits: the probes' fraction.
    assert choose_fraction(probes, rest, 10.0) == START_FRACTION
    # Time for twice the rows: (8 + 4) s at the start, 2 ** 1.15 more.
    fraction = choose_fraction(probes, rest, 12 * 2**1.15)
    assert fraction == pytest.approx(2 * START_FRACTION)
    assert choose_fraction(probes, rest, 1e6) == MAX_FRACTION


class TickingClock:
    """Each reading is ``step`` seconds after the previous one: time passes
    with the search's work, the same way on any machine."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def _ticking_fit(monkeypatch, step, n_trials=4):
    X, y = _data()
    monkeypatch.setattr(budget_module, "default_clock", TickingClock(step))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoBalancedClassifier(
            timeout=60, n_trials=n_trials, cv=N_SPLITS, random_state=0
        ).fit(X, y)


def test_the_round_ends_on_its_share_of_the_budget(monkeypatch):
    clf = _ticking_fit(monkeypatch, step=1.0)
    reasons = list(clf.cv_results_["stop_reason"])
    # 16 setups would need more clock readings than a third of 60 s.
    assert 0 < reasons.count("screened") < len(round_configs(clf.search_space_))
    first_full = reasons.index("complete")
    assert set(reasons[:first_full]) == {"screened"}
    assert clf.cv_results_["stop_reason"][clf.best_index_] == "complete"


def test_a_budget_spent_during_the_round_still_runs_a_full_trial(monkeypatch):
    import autobalance._screening as screening

    # The round may take the whole budget: the deadline passes inside it.
    monkeypatch.setattr(screening, "BUDGET_SHARE", 10.0)
    clf = _ticking_fit(monkeypatch, step=3.0)
    res = clf.cv_results_
    reasons = list(res["stop_reason"])
    assert 0 < reasons.count("screened") < len(round_configs(clf.search_space_))
    # The deadline passed in the round: one full trial, the best screened.
    assert reasons.count("complete") == 1 and reasons[-1] == "complete"
    assert res["stop_reason"][clf.best_index_] == "complete"
    assert res["fidelity_rows"][clf.best_index_] > res["fidelity_rows"].min()
