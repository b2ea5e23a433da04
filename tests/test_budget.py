"""Cost-aware search: the time budget, search subsamples, size limits of costly
techniques, and reuse of the search's out-of-fold predictions."""

import dataclasses
import warnings

import numpy as np
import optuna
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import autobalance._catalogue as catalogue
import autobalance._threshold as threshold_module
from autobalance import (
    Algorithm,
    AutoBalancedClassifier,
    SearchContext,
    SearchSpace,
    SkippedTechniqueWarning,
)
from autobalance._attrs import ATTR_ALGORITHM, ATTR_PROMOTED, ATTR_TECHNIQUE
from autobalance._budget import Budget
from autobalance._catalogue import (
    BUILTIN_TECHNIQUES,
    HIST_GRADIENT_BOOSTING_COST_EXPONENT,
    LARGE_OVERSAMPLING_STEP,
    default_algorithms,
)
from autobalance._classifier import search_subsample
from autobalance._footprint import model_nbytes
from autobalance._preprocessing import (
    LARGE_MODEL_FACTOR,
    MIN_TREE_LEAVES,
    tree_leaf_cap,
)
from autobalance._resolve import resolve_algorithms
from autobalance._space import Config

COSTLY = {
    "cluster_centroids",
    "tomek_links",
    "edited_nearest_neighbours",
    "smote_tomek",
    "smote_enn",
}


def _context(n_samples, counts=(900, 100)):
    counts = np.array(counts)
    return SearchContext(
        classes=np.array([0, 1]),
        class_counts=counts,
        min_train_counts=(counts * 0.8).astype(int),
        max_train_minority_ratio=float(counts.min() / counts.max()),
        n_samples=n_samples,
        n_features=5,
    )


def _space(n_samples=1000):
    return SearchSpace(BUILTIN_TECHNIQUES, default_algorithms(), _context(n_samples))


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


# -- Budget ------------------------------------------------------------------
def test_budget_reserves_the_refit_of_the_best_setup():
    clock = FakeClock()
    space = _space()
    budget = Budget(100, space=space, n_samples=1000, n_train=800, clock=clock)
    lr = Config("none", "logistic_regression", {})
    et = Config("none", "extra_trees", {})
    # Nothing completed yet: always allowed, so that fit has a setup to return.
    clock.now = 99.0
    assert budget.allows(et, [])
    clock.now = 0.0
    budget.record(lr, [1.0, 1.0], value=0.7)
    assert budget.reserve == pytest.approx((1000 / 800) ** 1.15)
    budget.record(et, [2.0, 2.0], value=0.8)
    # Extra trees are searched with a third of their trees: the refit is 3x.
    refit = 2.0 * (1000 / 800) ** 1.15 * space.fidelity_ratio(et)
    assert space.fidelity_ratio(et) == pytest.approx(3.0)
    assert budget.reserve == pytest.approx(refit)
    # A worse trial does not change the reserve.
    budget.record(lr, [0.5], value=0.6)
    assert budget.reserve == pytest.approx(refit)
    # Next fold of a running trial: its slowest fold so far, with a margin.
    left = budget.remaining() - refit
    assert budget.allows(et, [left / 2])
    assert not budget.allows(et, [left])
    assert not budget.exhausted()
    # Exhausted once not even the quickest fold seen (0.5 s) fits.
    clock.now = budget.deadline - refit - 1.25 * 0.5 + 0.01
    assert budget.exhausted()
    clock.now -= 0.02
    assert not budget.exhausted()


def test_budget_estimates_an_unseen_setup_from_its_model():
    clock = FakeClock()
    budget = Budget(10, space=_space(), n_samples=1000, n_train=800, clock=clock)
    lr = Config("none", "logistic_regression", {})
    et = Config("none", "extra_trees", {})
    full = budget.train_counts  # 720 and 80 rows
    for config, seconds in ((lr, 0.1), (et, 4.0)):
        budget.measured(config, [seconds], full)
        budget.record(config, [seconds], value=0.7)
    smote_et = Config("smote", "extra_trees", {"sampling_strategy": 1.0})
    # Same model, another technique: the model's cost on the rows SMOTE
    # trains it on (the minority brought up to the majority: 1440 rows).
    predicted = 4.0 * (1440 / 800) ** 1.15
    assert budget.fold_estimate(smote_et, []) == pytest.approx(1.25 * predicted)
    # The fold's rule (a screening trial's; a full trial's own refit must
    # also fit, see below).
    clock.now = budget.deadline - 1.25 * predicted - budget.reserve + 0.01
    assert not budget.allows(smote_et, [], screening=True)
    clock.now -= 0.02
    assert budget.allows(smote_et, [], screening=True)
    assert not budget.allows(smote_et, [])
    # Unknown model: no estimate, allowed while the search has time left.
    assert budget.allows(Config("none", "hist_gradient_boosting", {}), [])


def test_affordable_best_falls_back_to_a_setup_whose_refit_fits():
    study = optuna.create_study(direction="maximize")
    for value, algorithm, times in [
        (0.9, "extra_trees", [10.0]),
        (0.8, "logistic_regression", [0.1]),
        (0.7, "hist_gradient_boosting", [0.5]),
    ]:
        study.add_trial(
            optuna.trial.create_trial(
                value=value,
                user_attrs={
                    "technique": "none",
                    "algorithm": algorithm,
                    "fit_times": times,
                },
            )
        )
    trials = study.get_trials()
    clock = FakeClock()
    budget = Budget(10, space=_space(), n_samples=1000, n_train=1000, clock=clock)
    assert budget.affordable_best(trials, trials[0]) is trials[1]
    budget = Budget(100, space=_space(), n_samples=1000, n_train=1000, clock=clock)
    assert budget.affordable_best(trials, trials[0]) is trials[0]
    # Nothing fits: the cheapest refit.
    clock.now = 200.0
    assert budget.affordable_best(trials, trials[0]) is trials[1]
    # The warning says the refit and the time left, to a tenth of a second
    # below 10 s (a 10 s fit's read "about 0 s to refit, more than the time
    # left").
    from autobalance._selection import _warn_passed_over

    budget = Budget(10, space=_space(), n_samples=1000, n_train=1000, clock=clock)
    clock.now += 9.0
    passed_over = r"would need about 30 s to refit, more than the 1\.0 s left"
    with pytest.warns(SkippedTechniqueWarning, match=passed_over):
        _warn_passed_over(trials[0], trials[1], budget)


def test_timeout_stops_the_search_but_fit_returns_a_model(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        LogisticRegression(), n_trials=None, timeout=1e-3, cv=3, random_state=0
    ).fit(X, y)
    states = list(clf.cv_results_["state"])
    # The first trial always runs; the budget is spent by then, so none other.
    assert states[0] == "COMPLETE"
    assert len(states) <= 2
    assert clf.best_technique_ == "none"
    assert clf.predict_proba(X).shape == (len(X), 2)


# -- Search subsample ----------------------------------------------------------
def test_search_subsample_is_stratified_seeded_and_keeps_rare_classes():
    y = np.r_[np.zeros(20_000, int), np.ones(1_500, int), np.full(30, 2)]
    classes, counts = np.unique(y, return_counts=True)
    rows = search_subsample(y, classes, counts, 5_000, seed=0)
    assert len(rows) == 5_000
    assert np.all(np.diff(rows) > 0)
    kept = np.bincount(y[rows])
    # Every class keeps at least min(its rows, 1000); the majority gives way.
    assert kept[2] == 30 and kept[1] == 1_000 and kept[0] == 5_000 - 1_030
    np.testing.assert_array_equal(rows, search_subsample(y, classes, counts, 5_000, 0))
    assert not np.array_equal(rows, search_subsample(y, classes, counts, 5_000, 1))
    assert search_subsample(y, classes, counts, None, 0) is None
    assert search_subsample(y, classes, counts, len(y), 0) is None


def test_search_runs_on_a_subsample_and_refits_on_every_row():
    X, y = make_classification(
        n_samples=900, n_features=5, weights=[0.85], random_state=0
    )
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        max_search_samples=300,
        n_trials=4,
        cv=3,
        random_state=0,
    ).fit(X, y)
    rows = clf.search_rows_
    assert len(rows) == 300
    # The search and the decision rule saw only the subsample ...
    oof = clf.decision_rule_.out_of_fold()
    assert len(oof["row"]) == 300
    # ... the refit saw every row.
    refit = clf._estimator_from_params(clf.best_params_).fit(X, y)
    np.testing.assert_allclose(
        clf.best_estimator_.predict_proba(X), refit.predict_proba(X)
    )
    full = AutoBalancedClassifier(
        LogisticRegression(), max_search_samples=None, n_trials=2, cv=3
    ).fit(X, y)
    assert full.search_rows_ is None


def test_bad_max_search_samples_is_rejected(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="max_search_samples"):
        AutoBalancedClassifier(max_search_samples=10).fit(X, y)


# -- Size limits of costly techniques ------------------------------------------
def test_costly_techniques_are_left_out_on_large_data():
    small = _space(n_samples=50_000)
    large = _space(n_samples=150_000)
    assert set(small.techniques) >= COSTLY
    assert COSTLY.isdisjoint(large.techniques)
    for name in COSTLY:
        assert large.excluded[name].startswith("skipped above 100,000 rows")
    assert {"smote", "random_under_sampler"} <= set(large.techniques)


def test_fit_warns_when_it_skips_costly_techniques(binary_data, monkeypatch):
    X, y = binary_data
    monkeypatch.setattr(catalogue, "COSTLY_MAX_ROWS", 100)
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["tomek_links", "smote"], n_trials=2, cv=3
    )
    # Each technique with its reason.
    match = r"\['tomek_links'\].*tomek_links: skipped above 100 rows"
    with pytest.warns(SkippedTechniqueWarning, match=match):
        clf.fit(X, y)
    assert "tomek_links" in clf.excluded_techniques_
    monkeypatch.setattr(catalogue, "COSTLY_MAX_ROWS", 100_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedTechniqueWarning)
        clf.fit(X, y)


# -- Out-of-fold predictions of the search are reused ----------------------------
def test_decision_rule_reuses_the_search_predictions(binary_data, monkeypatch):
    X, y = binary_data

    def refit_forbidden(*args, **kwargs):
        raise AssertionError("the chosen setup was refitted on the folds")

    monkeypatch.setattr(threshold_module, "out_of_fold_predictions", refit_forbidden)
    kw = {"n_trials": 6, "cv": 3, "random_state": 0}
    for estimator in (
        LogisticRegression(),
        [("lr", LogisticRegression()), ("et", ExtraTreesClassifier(n_estimators=20))],
    ):
        clf = AutoBalancedClassifier(estimator, threshold="f1", **kw).fit(X, y)
        # The out-of-fold AUC the rule starts from is the search's own score.
        assert clf.calibration_["oof_roc_auc_before"] == pytest.approx(
            clf.best_score_, abs=1e-9
        )
        assert clf.threshold_ is not None


def test_ensemble_choice_uses_the_average_of_its_members_predictions():
    from types import SimpleNamespace

    from scipy.special import expit, logit

    from autobalance._calibration import FoldPrediction
    from autobalance._selection import search_predictions as _search_predictions

    def folds(p):
        return [
            FoldPrediction(
                np.arange(2), np.array([0, 1]), np.array(p), "predict_proba", None
            )
        ]

    objective = SimpleNamespace(
        oof={3: folds([[0.8, 0.2], [0.4, 0.6]]), 5: folds([[0.6, 0.4], [0.2, 0.8]])}
    )
    ensemble = SimpleNamespace(
        number=9, user_attrs={"technique": "ensemble", "member_trials": [3, 5]}
    )
    (fold,) = _search_predictions(objective, ensemble)
    # The mean of the members' log-odds.
    positive = expit((logit([0.2, 0.6]) + logit([0.4, 0.8])) / 2)
    np.testing.assert_allclose(fold.raw, np.column_stack([1 - positive, positive]))
    # A duplicate trial uses the predictions of the trial it repeats.
    duplicate = SimpleNamespace(number=7, user_attrs={"duplicate_of": 5})
    assert _search_predictions(objective, duplicate) is objective.oof[5]
    # Not kept (e.g. run by another worker): None, and the rule refits.
    assert (
        _search_predictions(objective, SimpleNamespace(number=1, user_attrs={})) is None
    )
    missing = SimpleNamespace(
        number=9, user_attrs={"technique": "ensemble", "member_trials": [3, 4]}
    )
    assert _search_predictions(objective, missing) is None


def test_default_extra_trees_are_smaller_on_large_data():
    from autobalance._catalogue import make_default_algorithms
    from autobalance._preprocessing import FeatureInfo

    def extra_trees(n_rows):
        info = FeatureInfo(numeric=(0, 1), n_rows=n_rows)
        (et,) = [a for a in make_default_algorithms(info) if a.name == "extra_trees"]
        return et

    small, large = extra_trees(1_000), extra_trees(60_000)
    assert small.estimator.get_params()["model__n_estimators"] == 300
    assert small.search_params == {"model__n_estimators": 100}
    # Large data: the refit grows the 100 trees the search scored.
    assert large.estimator.get_params()["model__n_estimators"] == 100
    assert large.search_params == {}
    # ... grown to a bounded number of leaves.
    assert small.estimator.get_params()["model__max_leaf_nodes"] is None
    cap = large.estimator.get_params()["model__max_leaf_nodes"]
    assert cap == tree_leaf_cap(60_000, 2, 100) == MIN_TREE_LEAVES


@pytest.mark.parametrize("n_rows", [60_000, 120_000])
def test_capped_forests_weigh_at_most_the_data_they_are_built_for(n_rows):
    # The cap is what keeps an ensemble of fully grown trees within the
    # data's size; check it against real trees on rows that would grow far
    # more leaves (random labels: every leaf splits until pure).
    cap = tree_leaf_cap(n_rows, 20, 3)
    assert cap is not None and cap > MIN_TREE_LEAVES
    rng = np.random.RandomState(0)
    X = rng.rand(4 * cap, 20)
    y = rng.randint(0, 2, len(X))
    forest = ExtraTreesClassifier(n_estimators=3, max_leaf_nodes=cap, random_state=0)
    forest.fit(X, y)
    assert all(t.tree_.n_leaves == cap for t in forest.estimators_)
    assert model_nbytes(forest) <= LARGE_MODEL_FACTOR * n_rows * 20 * 8


def test_balanced_random_forest_is_capped_on_large_data():
    brf = catalogue.get_technique("balanced_random_forest")
    small = brf.make(_context(1_000), {})
    assert (small.n_estimators, small.max_leaf_nodes) == (300, None)
    large = brf.make(_context(80_000, counts=(72_000, 8_000)), {})
    # 100 trees, each held twice by the fitted forest.
    assert large.n_estimators == 100
    assert large.max_leaf_nodes == tree_leaf_cap(80_000, 5, 200)


def test_balanced_random_forest_within_the_data_it_is_capped_for():
    # imbalanced-learn keeps a second copy of every tree (and of its
    # sampler) in ``pipelines_``: the cap must count both.
    from imblearn.ensemble import BalancedRandomForestClassifier

    cap = tree_leaf_cap(60_000, 20, 2 * 4)
    rng = np.random.RandomState(0)
    X = rng.rand(20 * cap, 20)
    y = (rng.rand(len(X)) < 0.16).astype(int)
    forest = BalancedRandomForestClassifier(
        n_estimators=4,
        max_leaf_nodes=cap,
        sampling_strategy="all",
        replacement=True,
        bootstrap=False,
        random_state=0,
    ).fit(X, y)
    trees = sum(model_nbytes(t) for t in forest.estimators_)
    assert all(t.tree_.n_leaves == cap for t in forest.estimators_)
    assert model_nbytes(forest) > 2 * trees  # the second copy is real
    # The samplers' row indices come on top; the memory budget weighs them
    # (a few percent of the trees on imbalanced data).
    assert 2 * trees <= LARGE_MODEL_FACTOR * 60_000 * 20 * 8


def test_boosting_is_not_paired_with_row_keeping_samplers_on_large_data():
    from autobalance._catalogue import make_default_algorithms
    from autobalance._preprocessing import ROW_KEEPING_SAMPLERS, FeatureInfo

    def space(n_rows):
        info = FeatureInfo(numeric=(0, 1), n_rows=n_rows)
        counts = (n_rows - n_rows // 50, n_rows // 50)
        return SearchSpace(
            BUILTIN_TECHNIQUES, make_default_algorithms(info), _context(n_rows, counts)
        )

    small, large = space(5_000), space(80_000)
    assert all(
        "hist_gradient_boosting" in small.compatible[name]
        for name in ROW_KEEPING_SAMPLERS
    )
    for name in ROW_KEEPING_SAMPLERS:
        assert "hist_gradient_boosting" not in large.compatible[name]
        assert "extra_trees" in large.compatible[name]
    for name in ("none", "random_under_sampler", "balanced_class_weight"):
        assert "hist_gradient_boosting" in large.compatible[name]
    assert not any(
        c.algorithm == "hist_gradient_boosting" and c.technique == "smote"
        for c in large.grid()
    )


def test_logistic_regression_without_one_hot_samplers_on_large_tables():
    from autobalance._catalogue import make_default_algorithms
    from autobalance._preprocessing import ONE_HOT_SAMPLERS, FeatureInfo

    def excluded(n_rows, categorical):
        info = FeatureInfo(
            categorical=("c",) if categorical else (), numeric=("x",), n_rows=n_rows
        )
        (lr,) = [
            a for a in make_default_algorithms(info) if a.name == "logistic_regression"
        ]
        return lr.exclude_techniques

    assert excluded(80_000, categorical=True) == ONE_HOT_SAMPLERS
    assert excluded(80_000, categorical=False) == ()
    assert excluded(5_000, categorical=True) == ()


def test_an_algorithm_can_exclude_techniques():
    from autobalance import Algorithm

    algorithms = [
        Algorithm("lr", LogisticRegression(), exclude_techniques=("smote",)),
        Algorithm("et", ExtraTreesClassifier(n_estimators=5)),
    ]
    techniques = [catalogue.get_technique(n) for n in ("none", "smote")]
    space = SearchSpace(techniques, algorithms, _context(1_000))
    assert space.compatible == {"none": ["lr", "et"], "smote": ["et"]}
    # One name is a tuple of one name, not a string to search in.
    with pytest.raises(TypeError, match=r"exclude_techniques=\('smote',\)"):
        Algorithm("lr", LogisticRegression(), exclude_techniques="smote")
    listed = Algorithm("lr", LogisticRegression(), exclude_techniques=["smote"])
    assert listed.exclude_techniques == ("smote",)
    # Excluded by every model: the technique is out, with a reason.
    only_lr = SearchSpace(techniques, algorithms[:1], _context(1_000))
    assert "excludes it" in only_lr.excluded["smote"]


def test_large_numeric_data_is_prepared_in_float32_for_models_that_gain():
    from imblearn.pipeline import Pipeline as ImbPipeline

    from autobalance._catalogue import make_default_algorithms
    from autobalance._preprocessing import FeatureInfo

    def dtypes(n_rows):
        info = FeatureInfo(numeric=(0, 1), n_rows=n_rows)
        return {
            a.name: a.estimator.named_steps["prepare"].dtype
            for a in make_default_algorithms(info)
        }

    assert set(dtypes(5_000).values()) == {np.float64}
    # A table with categorical columns: codes and numbers in float32 too.
    import pandas as pd

    from autobalance._preprocessing import describe_features

    table = pd.DataFrame({"x": np.arange(6.0), "c": pd.Categorical(list("abcabc"))})
    mixed = make_default_algorithms(
        dataclasses.replace(describe_features(table), n_rows=60_000)
    )
    for algorithm in mixed:
        prepared = algorithm.estimator.named_steps["prepare"].fit_transform(table)
        expected = (
            np.float64 if algorithm.name == "hist_gradient_boosting" else np.float32
        )
        assert prepared.dtype == expected, algorithm.name
        np.testing.assert_allclose(prepared[:, 0], [0, 1, 2, 0, 1, 2])
    assert dtypes(60_000) == {
        "logistic_regression": np.float32,
        "extra_trees": np.float32,
        # It copies any input to float64: float32 would add a copy.
        "hist_gradient_boosting": np.float64,
    }
    # The balanced random forest gets a float32 prepare step of its own, even
    # behind the float64 one of histogram gradient boosting.
    ctx = _context(80_000, counts=(72_000, 8_000))
    large = make_default_algorithms(FeatureInfo(numeric=(0, 1), n_rows=80_000))
    hgb = [a for a in large if a.name == "hist_gradient_boosting"]
    space = SearchSpace([catalogue.get_technique("balanced_random_forest")], hgb, ctx)
    (config,) = space.grid()
    pipe = space.build(config)
    assert pipe.named_steps["prepare"].dtype == np.float32
    # Samplers keep the prepared dtype: the resampled copy is float32 too.
    smote = SearchSpace([catalogue.get_technique("smote")], large, ctx)
    (config,) = [c for c in smote.grid() if c.algorithm == "extra_trees"]
    pipe = smote.build(config)
    assert isinstance(pipe, ImbPipeline)
    X, y = make_classification(300, weights=[0.9], random_state=0)
    pipe.fit(X, y)
    prepared = pipe.named_steps["prepare"].transform(X)
    assert prepared.dtype == np.float32
    X_res, _ = pipe.named_steps["sampler"].fit_resample(prepared, y)
    assert X_res.dtype == np.float32


@pytest.mark.parametrize("technique", ["random_over_sampler", "smote", "smote_enn"])
def test_over_samplers_add_a_bounded_share_of_rows_on_large_data(technique):
    param = next(
        p
        for p in catalogue.get_technique(technique).params
        if p.name == "sampling_strategy"
    )
    small = _context(1_000)
    assert param.bounds(small) == (pytest.approx(0.1388, abs=1e-3), 1.0)
    assert param.default_value(small) == 1.0
    # 1 % positives on 80,000 rows: at most a quarter of the majority's rows
    # more, instead of doubling the data.
    large = _context(80_000, counts=(79_200, 800))
    low, high = param.bounds(large)
    assert (low, high) == (0.1, pytest.approx(800 / 79_200 + LARGE_OVERSAMPLING_STEP))
    assert param.default_value(large) == high
    # Under-sampling removes rows: its range stays whole.
    rus = catalogue.get_technique("random_under_sampler").params[0]
    assert rus.bounds(large)[1] == 1.0


def test_auto_n_trials_depends_on_the_smallest_class(binary_data):
    from autobalance._plan import n_trials_for

    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression())
    assert clf.n_trials == "auto"
    assert n_trials_for(clf, np.array([5_000, 999])) == 12
    assert n_trials_for(clf, np.array([5_000, 1_000])) == 30
    assert n_trials_for(AutoBalancedClassifier(n_trials=7), np.array([9, 1])) == 7
    clf.set_params(cv=3, random_state=0).fit(X, y)
    reasons = list(clf.cv_results_["stop_reason"])
    assert len(reasons) - reasons.count("duplicate") == 12


def test_prepare_step_never_modifies_the_input():
    # The scaler works in place on the imputer's copy, never on the caller's X.
    from scipy import sparse as sp

    from autobalance._preprocessing import describe_features, make_prepare

    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    X[3, 1] = np.nan
    S = sp.random(60, 5, density=0.3, format="csr", random_state=0)
    for data in (X, S):
        before = data.copy()
        prepare = make_prepare(describe_features(data))
        out = prepare.fit_transform(data)
        prepare.transform(data)
        after = data.toarray() if sp.issparse(data) else data
        expected = before.toarray() if sp.issparse(before) else before
        np.testing.assert_array_equal(after, expected)
        assert not np.shares_memory(np.asarray(out), after)


def _search_with_oof(scores, model_bytes=None, seed=0):
    """A study of one complete trial per model (``scores``: name -> fold
    scores), with random out-of-fold probabilities for each; returns
    ``(study, oof, splits, y)``."""
    from autobalance._calibration import FoldPrediction

    n_folds = len(next(iter(scores.values())))
    y = np.tile([0, 0, 0, 1], 5)
    splits = [(np.arange(20), np.arange(20))] * n_folds
    study = optuna.create_study(direction="maximize")
    rng = np.random.default_rng(seed)
    oof = {}
    for number, (name, fold_scores) in enumerate(scores.items()):
        attrs = {
            "algorithm": name,
            "technique": "none",
            "params": {},
            "split_scores": fold_scores,
            "fit_times": [0.1] * n_folds,
            "score_times": [0.1] * n_folds,
        }
        if model_bytes is not None:
            attrs["model_bytes"] = [model_bytes[name]] * n_folds
        study.add_trial(
            optuna.trial.create_trial(
                value=float(np.mean(fold_scores)), user_attrs=attrs
            )
        )
        positive = rng.random(20)
        raw = np.column_stack([1 - positive, positive])
        oof[number] = [
            FoldPrediction(t, y, raw, "predict_proba", None) for _, t in splits
        ]
    return study, oof, splits, y


def test_ensemble_members_are_refitted_smallest_model_first(monkeypatch):
    from autobalance import _ensemble
    from autobalance._ensemble import SoftVotingEnsemble, add_ensemble_trial

    # The best model is the largest; both are close, so both are members.
    study, oof, splits, y = _search_with_oof(
        {"big": [0.86, 0.84, 0.85], "small": [0.85, 0.85, 0.85]},
        model_bytes={"big": 9e6, "small": 1e4},
    )
    ensemble = add_ensemble_trial(study, oof, splits, y, positive=1)
    assert ensemble.user_attrs["member_trials"] == [1, 0]
    members = ensemble.user_attrs["params"]["members"]
    assert [m["algorithm"] for m in members] == ["small", "big"]

    # Memory freed by one member's fit is handed back before the next one.
    calls = []
    monkeypatch.setattr(_ensemble, "release_freed_memory", lambda: calls.append(1))
    X, y = make_classification(60, random_state=0)
    SoftVotingEnsemble(
        [("a", LogisticRegression()), ("b", LogisticRegression(C=0.1))]
    ).fit(X, y)
    assert len(calls) == 2


def test_ensemble_ranking_ignores_a_members_prior_shift():
    # Class weights or resampling shift a member's log-odds by a constant: the
    # ensemble must rank rows as it would without the shift (an arithmetic
    # mean of probabilities does not: the shifted member dominates).
    from scipy.special import expit, logit
    from scipy.stats import spearmanr

    from autobalance._ensemble import average_probabilities

    rng = np.random.RandomState(0)
    a, b = expit(rng.randn(200) - 3), expit(rng.randn(200) - 3)

    def positive(p, q):
        both = [np.column_stack([1 - p, p]), np.column_stack([1 - q, q])]
        return average_probabilities(both)[:, 1]

    shifted = expit(logit(b) + 4.0)
    assert spearmanr(positive(a, b), positive(a, shifted))[0] == pytest.approx(1.0)
    assert spearmanr((a + b) / 2, (a + shifted) / 2)[0] < 0.95
    # Probabilities that sum to one, also for three classes.
    three = average_probabilities([rng.dirichlet([1, 1, 1], 5) for _ in range(3)])
    np.testing.assert_allclose(three.sum(axis=1), 1.0)
    assert average_probabilities([np.array([[1.0, 0.0]])] * 2)[0, 1] > 0


def test_clearly_better_is_one_standard_error_of_paired_differences():
    from autobalance._ensemble import clearly_better

    ensemble = [0.80, 0.82, 0.84, 0.86, 0.88]
    # Better on average, but within one standard error of the paired differences.
    assert not clearly_better([0.90, 0.78, 0.86, 0.84, 0.90], ensemble)
    # Better on every fold: clearly better.
    assert clearly_better([0.83, 0.85, 0.87, 0.89, 0.91], ensemble)
    assert not clearly_better(ensemble, ensemble)


def test_the_ensemble_leaves_out_a_clearly_worse_model():
    from scipy.special import expit, logit

    from autobalance._ensemble import add_ensemble_trial, ensemble_predictions

    scores = {
        "a": [0.90, 0.80, 0.85, 0.88],
        "b": [0.86, 0.83, 0.80, 0.89],  # behind a, within one standard error
        "c": [0.70, 0.62, 0.66, 0.69],  # behind a on every fold
    }
    study, oof, splits, y = _search_with_oof(scores)
    ensemble = add_ensemble_trial(study, oof, splits, y, positive=1)
    assert ensemble.user_attrs["member_trials"] == [0, 1]
    log_odds = np.mean([logit(oof[n][0].raw[:, 1]) for n in (0, 1)], axis=0)
    expected = np.column_stack([1 - expit(log_odds), expit(log_odds)])
    (fold, *_) = ensemble_predictions(oof, ensemble.user_attrs["member_trials"])
    np.testing.assert_allclose(fold.raw, expected)
    # Nothing close to the best: no ensemble.
    del oof[1]
    study2 = optuna.create_study(direction="maximize")
    for t in study.trials[:3]:
        study2.add_trial(t)
    assert add_ensemble_trial(study2, oof, splits, y, positive=1) is None


# -- Memory of the refitted model ----------------------------------------------
def test_model_and_data_bytes():
    import pickle

    import pandas as pd
    from scipy import sparse as sp

    from autobalance._footprint import data_nbytes, model_nbytes

    X, y = make_classification(n_samples=2_000, weights=[0.9], random_state=0)
    small = ExtraTreesClassifier(n_estimators=10, random_state=0).fit(X, y)
    large = ExtraTreesClassifier(n_estimators=40, random_state=0).fit(X, y)
    assert model_nbytes(small) == pytest.approx(len(pickle.dumps(small)), rel=0.1)
    assert model_nbytes(large) > 3 * model_nbytes(small)
    # Through pipelines and wrappers (the default portfolio's models).
    pipe = default_algorithms()[1].estimator.set_params(model__n_estimators=10)
    assert model_nbytes(pipe.fit(X, y)) >= model_nbytes(small) * 0.5
    assert model_nbytes(LogisticRegression().fit(X, y)) < 1_000
    assert data_nbytes(X) == X.nbytes
    assert data_nbytes(pd.DataFrame(X)) == X.nbytes
    S = sp.csr_matrix(X)
    assert data_nbytes(S) == S.data.nbytes + S.indices.nbytes + S.indptr.nbytes


def _trial(value, algorithm, fit_times, model_bytes):
    return optuna.trial.create_trial(
        value=value,
        user_attrs={
            "technique": "none",
            "algorithm": algorithm,
            "fit_times": fit_times,
            "model_bytes": model_bytes,
        },
    )


def test_a_model_too_large_for_the_memory_limit_is_passed_over():
    space = _space()
    budget = Budget(None, space=space, n_samples=1000, n_train=500, data_bytes=2**30)
    assert budget.memory_limit == 2 * 2**30
    big = _trial(0.9, "hist_gradient_boosting", [1.0], [2**30])  # 2 GiB refitted
    small = _trial(0.8, "logistic_regression", [1.0], [1_000])
    assert budget.trial_model_estimate(big) == pytest.approx(2 * 2**30)
    assert budget.affordable_best([big, small], big) is big
    # Extra trees are searched with a third of the trees: three times heavier.
    trees = _trial(0.9, "extra_trees", [1.0], [2**30])
    assert budget.affordable_best([trees, small], trees) is small
    # Small data: the floor of 256 MiB, not twice the data.
    tiny = Budget(None, space=space, n_samples=10, n_train=5, data_bytes=1_000)
    assert tiny.memory_limit == 256 * 2**20


def test_fit_warns_when_it_passes_over_a_heavy_model(binary_data, monkeypatch):
    import autobalance._budget as budget_module

    X, y = binary_data
    monkeypatch.setattr(budget_module, "MODEL_MEMORY_FLOOR", 0)
    monkeypatch.setattr(budget_module, "MODEL_MEMORY_FACTOR", 0.5)
    clf = AutoBalancedClassifier(
        [("lr", LogisticRegression()), ("et", ExtraTreesClassifier(n_estimators=50))],
        techniques=["balanced_class_weight"],
        ensemble=False,
        n_trials=4,
        cv=3,
        random_state=0,
    )
    with pytest.warns(SkippedTechniqueWarning, match="MiB refitted on every row"):
        clf.fit(X, y)
    assert clf.best_algorithm_ == "lr"


def test_neighbour_samplers_refit_cost_grows_faster_with_rows():
    budget = Budget(100, space=_space(), n_samples=4000, n_train=1000)
    lr = Config("none", "logistic_regression", {})
    adasyn = Config("adasyn", "logistic_regression", {})
    assert budget.refit_estimate(lr, [1.0]) == pytest.approx(4**1.15)
    # ADASYN searches neighbours among all rows: rows ** 1.5.
    assert budget.refit_estimate(adasyn, [1.0]) == pytest.approx(4**1.5)


def test_the_reserve_ignores_setups_that_will_be_passed_over():
    clock = FakeClock()
    budget = Budget(
        100, space=_space(), n_samples=1000, n_train=500, clock=clock, data_bytes=1
    )
    lr = Config("none", "logistic_regression", {})
    hgb = Config("none", "hist_gradient_boosting", {})
    budget.record(lr, [1.0], value=0.7, model_bytes=[1_000])
    first = budget.reserve
    # Better, but its model would weigh 2 GiB: not refitted, so not reserved.
    budget.record(hgb, [10.0], value=0.9, model_bytes=[2**30])
    assert budget.reserve == first
    # Better and too slow to refit in the time left: not reserved either.
    budget.record(hgb, [60.0], value=0.95, model_bytes=[1_000])
    assert budget.reserve == first
    budget.record(hgb, [2.0], value=0.8, model_bytes=[1_000])
    assert budget.reserve == pytest.approx(
        2.0 * 2**HIST_GRADIENT_BOOSTING_COST_EXPONENT
    )


def test_prior_shift_after_a_subsampled_search_uses_the_refit_rows():
    # The sampler refitted on every row knows every row's index; the
    # correction must read its counts on all rows, not on the subsample.
    X, y = make_classification(
        n_samples=900, n_features=5, weights=[0.85], flip_y=0.05, random_state=0
    )
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["random_under_sampler"],
        # Every one of the 153 positives and 247 of the 747 negatives.
        max_search_samples=400,
        n_trials=4,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert clf.best_technique_ == "random_under_sampler"
    assert clf.calibration_["method"] == "prior_shift"
    # Under-sampled to minority:majority = s on all 900 rows: the majority's
    # share shrank by (n_minority / n_majority) / s of the full data.
    ratio = np.sum(y == 1) / np.sum(y == 0)
    strategy = clf.best_params_["sampling_strategy"]
    majority_after = int(np.sum(y == 1) / strategy)
    assert clf.calibration_["factors"][0] == pytest.approx(
        majority_after / np.sum(y == 0)
    )
    assert majority_after / np.sum(y == 0) == pytest.approx(ratio / strategy, rel=0.01)
    assert clf.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=0.05)


def test_numeric_prepare_matches_imputer_then_scaler():
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from autobalance._preprocessing import NumericPrepare

    rng = np.random.RandomState(1)
    X = pd.DataFrame(rng.randn(50, 3), columns=["a", "b", "c"])
    X.iloc[[2, 7], 1] = np.nan
    reference = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
    ).fit(X)
    prepare = NumericPrepare().fit(X)
    X_new = X.sample(frac=1.0, random_state=0)
    np.testing.assert_allclose(prepare.transform(X_new), reference.transform(X_new))
    np.testing.assert_allclose(
        NumericPrepare().fit_transform(X), reference.transform(X)
    )
    assert list(prepare.get_feature_names_out()) == [
        "a",
        "b",
        "c",
        "missingindicator_b",
    ]
    assert list(prepare.feature_names_in_) == ["a", "b", "c"]

    # An all-missing column is dropped (its indicator stays), a constant one
    # is left unscaled, new missing values are filled; numpy input too.
    X2 = rng.randn(40, 4)
    X2[:, 1] = np.nan
    X2[:, 2] = 3.0
    X2[[0, 5], 3] = np.nan
    X2_new = rng.randn(10, 4)
    X2_new[[1, 2], 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SimpleImputer warns of the empty one
        reference = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        ).fit(X2)
        expected = reference.transform(X2_new)
    prepare = NumericPrepare().fit(X2)
    np.testing.assert_allclose(prepare.transform(X2_new), expected)
    assert list(prepare.get_feature_names_out()) == list(
        reference.get_feature_names_out()
    )
    with pytest.raises(ValueError, match="4 features"):
        prepare.transform(X2[:, :3])

    # float32 output: the same numbers, rounded once.
    single = NumericPrepare(dtype=np.float32).fit(X2)
    out = single.transform(X2_new)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(single.mean_, prepare.mean_, rtol=1e-6)


def test_freed_memory_is_released_between_trials_and_before_the_refit(monkeypatch):
    import autobalance._refit as refit_module
    import autobalance._study as study_module
    from autobalance._footprint import release_freed_memory

    release_freed_memory()  # a no-op or malloc_trim: never raises
    calls = []
    monkeypatch.setattr(
        study_module, "release_freed_memory", lambda: calls.append("trial")
    )
    monkeypatch.setattr(
        refit_module, "release_freed_memory", lambda: calls.append("refit")
    )
    X, y = make_classification(n_samples=120, weights=[0.8], random_state=0)
    AutoBalancedClassifier(
        LogisticRegression(), techniques=["none", "smote"], n_trials=3, cv=3,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    assert calls == ["trial"] * 3 + ["refit"]


# -- The cost model (issue 18) ---------------------------------------------------
def test_effective_rows_follow_each_kind_of_technique():
    from autobalance._cost import effective_rows

    def rows(name, counts=(9_000, 1_000), **params):
        return effective_rows(catalogue.get_technique(name), params, counts)

    # Every row: no technique, class weights, balanced ensembles, cleaning.
    for name in (
        "none",
        "balanced_class_weight",
        "custom_class_weight",
        "balanced_random_forest",
        "easy_ensemble",
        "tomek_links",
        "edited_nearest_neighbours",
    ):
        assert rows(name) == 10_000, name
    # Over-sampling and combined: the majority times (1 + r); r = 1 when the
    # sampler balances fully ("auto" or no ratio given).
    assert rows("random_over_sampler", sampling_strategy=0.5) == 9_000 * 1.5
    assert rows("smote", sampling_strategy="auto") == 18_000
    assert rows("smote_tomek", sampling_strategy=0.25) == 9_000 * 1.25
    assert rows("smote_enn") == 18_000
    # A ratio below the current one adds no row.
    assert rows("random_over_sampler", sampling_strategy=0.1) == 10_000
    # Under-sampling to a ratio: the minority times (1 + 1/r).
    assert rows("random_under_sampler", sampling_strategy=0.5) == 1_000 * 3
    # ... unless its own work runs over every row (cluster centroids'
    # k-means, 7 s on a 40,000-row fold whose model then trained on 800).
    assert rows("cluster_centroids") == 10_000
    # Several classes: each brought up to (down to) r times the largest
    # (the smallest over r).
    three = (6_000, 3_000, 1_000)
    assert rows("random_over_sampler", three, sampling_strategy=1.0) == 18_000
    assert rows("random_under_sampler", three, sampling_strategy=1.0) == 3_000
    # A user's sampler of family "custom": every row.
    from autobalance import Technique

    custom = Technique("mine", "custom", "sampler", lambda ctx: None)
    assert effective_rows(custom, {}, (9_000, 1_000)) == 10_000


def test_the_cost_model_learns_from_screened_folds_and_predicts_full_ones():
    # A full training fold: 16,000 rows, 160 positives. A screening fold keeps
    # every positive and a tenth of the rest.
    context = _context(20_000, counts=(19_800, 200))
    space = SearchSpace(BUILTIN_TECHNIQUES, default_algorithms(), context)
    clock = FakeClock()
    budget = Budget(
        60,
        space=space,
        n_samples=20_000,
        n_train=16_000,
        clock=clock,
        train_counts=(15_840, 160),
        refit_counts=(19_800, 200),
    )
    screened = np.array([1_584, 160])
    lr = Config("none", "logistic_regression", {})
    rus_et = Config("random_under_sampler", "extra_trees", {"sampling_strategy": 1.0})
    assert budget.fold_estimate(lr, []) == 0.0  # nothing measured: unknown
    budget.measured(lr, [0.1, 0.1, 0.1], screened)
    budget.measured(rus_et, [0.5, 0.5, 0.5], screened)
    # The baseline trains on every row: 10 times the rows, to the power 1.15.
    assert budget.cost.predict(lr, budget.train_counts) == pytest.approx(
        0.1 * (16_000 / 1_744) ** 1.15
    )
    # The under-sampler trains on 2 x 160 rows in both: the same seconds.
    assert budget.cost.predict(rus_et, budget.train_counts) == pytest.approx(0.5)
    assert budget.fold_estimate(rus_et, []) == pytest.approx(1.25 * 0.5)
    # Its refit: every positive twice, and three times the search's trees.
    assert budget.refit_estimate(rus_et, [0.5]) == pytest.approx(
        0.5 * (400 / 320) ** 1.15 * space.fidelity_ratio(rus_et)
    )
    # An unmeasured setup of a measured model: its model's cost on its rows.
    et = Config("none", "extra_trees", {})
    assert budget.cost.predict(et, budget.train_counts) == pytest.approx(
        0.5 * (16_000 / 320) ** 1.15
    )
    # A measured full fold keeps (predicted, measured); the first screened
    # folds had no prediction.
    budget.measured(lr, [0.8], budget.train_counts)
    report = budget.cost.report()
    expected = 0.1 * (16_000 / 1_744) ** 1.15
    assert report["fold_predicted"] == [pytest.approx(expected)]
    assert report["fold_measured"] == [0.8]
    assert report["fold_ratio_median"] == pytest.approx(0.8 / expected)
    # The trial's own folds come first (they measured this very setup).
    assert budget.fold_estimate(lr, [2.0]) == pytest.approx(1.25 * 2.0)


def test_the_cost_model_learns_a_fixed_cost_from_two_row_counts():
    from autobalance._cost import FIXED_SHARE, CostModel

    space = _space(200_000)
    cost = CostModel(space)
    hgb = Config("none", "hist_gradient_boosting", {})
    hgb_weighted = Config("balanced_class_weight", "hist_gradient_boosting", {})
    big = np.array([990_000, 10_000])
    e = cost.exponent(hgb)  # the model's own (1.0), not the trees' 1.15
    assert e == HIST_GRADIENT_BOOSTING_COST_EXPONENT
    # Measured on 4,000 rows only: a power law, 250 times the rows.
    cost.learn(hgb, [0.26, 0.25, 0.27], [3_960, 40])
    assert cost.predict(hgb, big) == pytest.approx(0.26 * 250**e)
    # Then on 8,000 rows: 0.12 s of every fit is fixed (the line through
    # the two row counts), and only the rest grows with the rows.
    cost.learn(hgb, [0.4, 0.4], [7_920, 80])
    slope = (0.4 - 0.26) / (8_000**e - 4_000**e)
    fixed = 0.26 - slope * 4_000**e
    assert fixed == pytest.approx(0.12, abs=1e-3)
    assert cost.predict(hgb, big) == pytest.approx(fixed + (0.4 - fixed) * 125**e)
    # A fixed cost is at most FIXED_SHARE of a fold on the fewest rows ...
    flat = Config("none", "logistic_regression", {})
    cost.learn(flat, [1.0], [3_960, 40])
    cost.learn(flat, [1.0], [7_920, 80])
    assert cost.predict(flat, big) == pytest.approx(
        FIXED_SHARE + (1 - FIXED_SHARE) * 125**1.15
    )
    # ... and a setup of the same model measured on one row count borrows it.
    cost.learn(hgb_weighted, [0.3], [3_960, 40])
    assert cost.predict(hgb_weighted, big) == pytest.approx(
        fixed + (0.3 - fixed) * 250**e
    )


def test_a_models_cost_exponent_predicts_its_refit():
    # Histogram gradient boosting caps its iterations: its refit, predicted
    # from folds 100 times smaller at the trees' rows ** 1.15, was 2.4 times
    # too long, so a 60 s fit on 1M rows refitted on 412,000 of 700,000 rows
    # with 4 s unused.
    from autobalance._cost import ROWS_EXPONENT, CostModel

    cost = CostModel(_space(200_000))
    counts, big = np.array([6_930, 70]), np.array([693_000, 7_000])
    hgb = Config("none", "hist_gradient_boosting", {})
    et = Config("none", "extra_trees", {})
    smote_hgb = Config("smote", "hist_gradient_boosting", {})
    for config in (hgb, et, smote_hgb):
        cost.learn(config, [0.5], counts)
    assert cost.predict_refit(hgb, big) == pytest.approx(0.5 * 100)
    assert cost.predict_refit(et, big) == pytest.approx(
        0.5 * 100**ROWS_EXPONENT * cost.space.fidelity_ratio(et)
    )
    # A technique's own exponent (neighbour searches) comes first.
    assert cost.exponent(smote_hgb) == 1.5
    # A user's boosting, alone or at the end of a pipeline, is the same model.
    for estimator in (
        HistGradientBoostingClassifier(),
        make_pipeline(StandardScaler(), HistGradientBoostingClassifier()),
        make_pipeline(
            StandardScaler(), make_pipeline(HistGradientBoostingClassifier())
        ),
    ):
        (algorithm,) = resolve_algorithms(estimator)
        assert algorithm.cost_exponent == HIST_GRADIENT_BOOSTING_COST_EXPONENT
    (algorithm,) = resolve_algorithms(LogisticRegression())
    assert algorithm.cost_exponent is None


@pytest.mark.parametrize("bad", [0, -1.0, 4.0, True, "1.0"])
def test_a_bad_cost_exponent_is_refused(bad):
    with pytest.raises(ValueError, match="cost_exponent must be a number in"):
        Algorithm("lr", LogisticRegression(), cost_exponent=bad)


def _trees_and_lr_budget():
    """A 10 s budget on a fake clock, extra trees and logistic regression."""
    clock = FakeClock()
    budget = Budget(10, space=_space(), n_samples=1000, n_train=800, clock=clock)
    trees = Config("none", "extra_trees", {})
    return clock, budget, trees, Config("none", "logistic_regression", {})


def test_a_first_full_trial_predicted_not_to_fit_is_refused():
    clock, budget, et, lr = _trees_and_lr_budget()
    budget.measured(et, [2.0], budget.train_counts)
    budget.measured(lr, [0.01], budget.train_counts)
    # Without a fallback (a stored study): allowed until a trial completes.
    assert budget.allows(et, [], batches=3)
    budget.refuse_first = True
    # 3 batches of 2.5 s and a refit of 2 * 1.25 ** 1.15 * 3 s: no.
    assert not budget.allows(et, [], batches=3, trial_batches=3)
    assert budget.allows(lr, [], batches=3, trial_batches=3)
    # A screening trial, or a setup nothing predicts, is not refused.
    assert budget.allows(et, [], batches=3, screening=True)
    assert budget.allows(Config("none", "hist_gradient_boosting", {}), [])
    # Half-way through the cheapest setup, out of time: finishing it costs
    # less than the fallback (that same setup from its first fold).
    clock.now = 20.0
    assert budget.cheapest(3)[0] is lr
    assert budget.allows(lr, [0.01], batches=2, trial_batches=3)
    assert not budget.allows(et, [2.0], batches=2, trial_batches=3)


def test_a_full_trial_whose_own_refit_cannot_follow_it_is_refused():
    clock, budget, et, lr = _trees_and_lr_budget()
    budget.measured(et, [0.5], budget.train_counts)
    budget.record(lr, [0.01], 0.7)
    # With 4 s left, each fold of the trees (0.6 s with the margin) fits,
    # but not 5 of them and their refit (0.5 * 1.25 ** 1.15 * 3 = 1.9 s).
    clock.now = 5.7
    assert budget.fold_estimate(et, []) <= budget.search_remaining()
    assert not budget.allows(et, [], batches=5)
    assert budget.allows(et, [], batches=2)  # 1.25 s of folds and the refit
    # Once it runs (half-way, the rest is the budget's fold-by-fold call), a
    # screening trial, or a setup nothing predicts: the folds' rule only.
    assert budget.allows(et, [0.5], batches=4)
    assert budget.allows(et, [], batches=5, screening=True)
    assert budget.allows(Config("none", "hist_gradient_boosting", {}), [], batches=5)


class SimulatedMachine:
    """A machine on a fake clock where a fit of a model on ``n`` rows takes
    ``seconds[model] * n ** 1.15`` (the cost model's own law): a timed search
    replayed exactly, whatever the load."""

    def __init__(self, seconds, fixed=None, exponent=1.15):
        self.seconds = seconds
        self.fixed = fixed or {}  # model -> seconds of any fit on top
        self.exponent = exponent
        self.now = 0.0

    def __call__(self):
        return self.now

    def fit(self, estimator, X, y, sample_weight=None):
        from autobalance._build import fit_weighted

        fit_weighted(estimator, X, y, sample_weight)
        parts = [estimator, *estimator.get_params(deep=True).values()]
        # Each part (a sampler, the model) costs its own time on the rows.
        for kind, coef in self.seconds.items():
            if any(isinstance(p, kind) for p in parts):
                self.now += self.fixed.get(kind, 0.0) + coef * len(y) ** self.exponent
        return estimator

    def install(self, monkeypatch):
        from types import SimpleNamespace

        import autobalance._budget as budget_module
        import autobalance._classifier as classifier_module
        import autobalance._objective as objective_module
        import autobalance._refit as refit_module

        monkeypatch.setattr(budget_module, "default_clock", self)
        fake_time = SimpleNamespace(perf_counter=self)
        monkeypatch.setattr(classifier_module, "time", fake_time)
        for module in (objective_module, refit_module):
            monkeypatch.setattr(module, "fit_weighted", self.fit)
            monkeypatch.setattr(module, "time", fake_time)
        return self


def _timed_fit(
    monkeypatch,
    estimator,
    timeout,
    tree_seconds=10.0,
    techniques=("none", "balanced_class_weight"),
):
    from sklearn.dummy import DummyClassifier

    X, y = make_classification(2_000, weights=[0.9], random_state=0)
    # A training fold of the search (3 folds): 1,333 rows. The trees take
    # ``tree_seconds`` on it, the dummy 0.01 s.
    machine = SimulatedMachine(
        {
            ExtraTreesClassifier: tree_seconds / 1_333**1.15,
            DummyClassifier: 0.01 / 1_333**1.15,
        }
    ).install(monkeypatch)
    clf = AutoBalancedClassifier(
        estimator,
        techniques=list(techniques),
        timeout=timeout,
        cv=3,
        ensemble=False,
        random_state=0,
    )
    return clf.fit(X, y), machine


def _first_complete(clf):
    trials = clf.study_.get_trials(deepcopy=False)
    first = next(t.number for t in trials if t.state.name == "COMPLETE")
    return trials, first


def test_a_timed_fit_refuses_a_first_full_trial_that_cannot_fit(monkeypatch):
    from sklearn.dummy import DummyClassifier

    from autobalance._distributed import budget_refused
    from autobalance._screening import screened

    estimator = [
        ("dummy", DummyClassifier()),
        ("trees", ExtraTreesClassifier(n_estimators=5, random_state=0)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkippedTechniqueWarning)  # no fallback
        clf, machine = _timed_fit(monkeypatch, estimator, timeout=20)
    # The screening round scored the trees best, but their refit (16 s) was
    # predicted not to fit in half the time left: they were not promoted, and
    # any full trial of them (3 folds of 10 s and the refit) was refused
    # before any fold, before the first completion; the fit kept its 20 s.
    trials, first = _first_complete(clf)
    assert any(screened(t) and t.user_attrs["algorithm"] == "trees" for t in trials)
    promoted = [t for t in trials if ATTR_PROMOTED in t.user_attrs]
    assert promoted
    assert all(t.user_attrs["algorithm"] == "dummy" for t in promoted)
    full_trees = [
        t
        for t in trials[:first]
        if not screened(t) and t.user_attrs.get("algorithm") == "trees"
    ]
    assert all(budget_refused(t) for t in full_trees)
    assert machine.now <= 20.0
    assert clf.predict_proba(np.zeros((1, 20))).shape == (1, 2)
    # The cost model, on a machine that follows its law: exact predictions.
    report = clf.cost_model_
    n = len(report["fold_predicted"])
    assert n > 0 and len(report["fold_measured"]) == len(report["fold_ratios"]) == n
    np.testing.assert_allclose(report["fold_ratios"], 1.0, rtol=0.01)
    assert report["fold_ratio_median"] == pytest.approx(1.0, rel=0.01)
    assert report["fold_ratio_p90"] == pytest.approx(1.0, rel=0.01)
    assert report["refit_measured"] == clf.refit_time_
    assert report["refit_predicted"] == pytest.approx(clf.refit_time_, rel=0.01)


def test_a_timed_fit_whose_every_full_trial_is_refused_runs_the_cheapest(
    monkeypatch,
):
    trees = ExtraTreesClassifier(n_estimators=5, random_state=0)
    with pytest.warns(SkippedTechniqueWarning, match="refused every full-fidelity"):
        clf, machine = _timed_fit(monkeypatch, trees, timeout=20)
    trials, first = _first_complete(clf)
    fallback = trials[first]
    # Only the trees: every full trial was refused; the fallback ran one in
    # full (with its refit: 3 x 10 s + 16 s, on top of the screening round).
    assert fallback.user_attrs.get("budget_fallback") is True
    assert fallback.number == trials[-1].number
    assert clf.best_index_ == list(clf.cv_results_["trial_number"]).index(first)
    assert clf.cv_results_["stop_reason"][clf.best_index_] == "complete"
    assert machine.now == pytest.approx(4.24 + 30 + 16, abs=0.5)
    assert hasattr(clf, "best_estimator_") and clf.cost_model_["refit_measured"] > 0


def test_a_pilot_fit_keeps_an_unmeasured_costly_sampler_within_the_budget(
    monkeypatch,
):
    # A training fold (3 folds of 6,000 rows): 4,000 rows, 200 positives.
    # Cluster centroids' k-means takes 30 s there, logistic regression 0.01 s.
    # Measured so far: the model without a technique and with random
    # under-sampling (as a screening round measures each family's first
    # technique), never cluster centroids: its model's setups predicted its
    # first fold at 0.01 s and the fold overran the 20 s budget. A pilot fit
    # on about 930 rows (the class shares, at least 50 positives) costs 5.6 s
    # and predicts 53 s: no fold runs.
    from imblearn.under_sampling import ClusterCentroids

    from autobalance._objective import pilot_rows
    from autobalance._plan import build_plan
    from autobalance._results import trials_to_cv_results

    X, y = make_classification(6_000, weights=[0.95], random_state=0)
    machine = SimulatedMachine(
        {
            ClusterCentroids: 30.0 / 4_000**1.15,
            LogisticRegression: 0.01 / 4_000**1.15,
        }
    ).install(monkeypatch)
    techniques = ["none", "random_under_sampler", "cluster_centroids"]
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=techniques, timeout=20, cv=3, random_state=0
    )
    plan = build_plan(clf, X, y)
    study = optuna.create_study(direction="maximize")
    for technique in [*techniques, "cluster_centroids", "random_under_sampler"]:
        config = plan.space.default_config(technique, "logistic_regression")
        study.enqueue_trial(plan.space.optuna_params(config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.optimize(plan.objective, n_trials=5)
    results = trials_to_cv_results(study.trials, 3)
    assert machine.now <= 20.0
    assert list(results["stop_reason"]) == ["complete"] * 2 + ["out_of_time"] * 2 + [
        "duplicate"
    ]
    # The first trial of the setup ran its pilot and no fold; the second was
    # predicted from the pilot.
    train = plan.objective.splits[0][0]
    rows = pilot_rows(np.bincount(y[train]))
    assert 900 < rows < 1_000
    assert results["pilot_rows"][2] == rows and np.isnan(results["pilot_rows"][3])
    assert results["pilot_fit_time"][2] == pytest.approx(
        30.0 * (rows / 4_000) ** 1.15, rel=0.01
    )
    assert all(not t.user_attrs["split_scores"] for t in study.trials[2:4])
    # Random under-sampling's first trial ran one too (a sampler setup not
    # measured yet); no technique, or a setup measured before, none. A pilot
    # is not a fold of the cost model's report: of the 6 folds that ran, the
    # first had no prediction.
    assert results["pilot_rows"][1] == rows
    assert np.isnan(results["pilot_rows"][[0, 4]]).all()
    assert len(plan.budget.cost.fold_pairs) == 5


def test_pilot_rows_keep_the_class_shares_and_enough_of_the_rarest():
    from autobalance._objective import pilot_rows

    # At most half the fold: a smaller one runs its folds unpiloted.
    assert pilot_rows([90_000, 10_000]) == 10_000  # a tenth
    assert pilot_rows([99_000, 1_000]) == 10_000
    assert pilot_rows([99_500, 500]) == 10_000  # 50 positives at 0.5 %
    assert pilot_rows([99_800, 200]) == 25_000  # 50 positives at 0.2 %
    assert pilot_rows([9_990, 10]) is None  # half the fold would not do
    assert pilot_rows([500, 0, 500]) == 100  # an absent class is no share


# -- the full fidelity a timed search affords ----------------------------------
def test_full_fidelity_rows_caps_a_costly_best_setup_to_its_share_of_the_time(
    monkeypatch,
):
    import autobalance._screening as screening
    from autobalance._screening import (
        FULL_TRIAL_SHARE,
        MIN_RAISE,
        full_fidelity_rows,
    )

    # Small data is never capped (MIN_CAPPED_ROWS); here it stands for large.
    monkeypatch.setattr(screening, "MIN_CAPPED_ROWS", 0)

    clock = FakeClock()
    space = _space()
    budget = Budget(100, space=space, n_samples=1000, n_train=800, clock=clock)
    et = Config("none", "extra_trees", {})
    lr = Config("none", "logistic_regression", {})
    budget.measured(et, [10.0], budget.train_counts)
    budget.measured(lr, [0.001], budget.train_counts)
    # The cheap setup first: a full trial of it fits, every row is kept.
    assert full_fidelity_rows(budget, [lr, et], batches=3, screened_rows=80) is None
    # The trees first: 3 folds of 10 s on 800 rows (with the margin 37.5 s)
    # exceed a fifth of the time left after their refit.
    left = budget.remaining()
    refit = budget.cost.predict_refit(et, budget.refit_counts)
    allowance = FULL_TRIAL_SHARE * (left - refit)
    rows = full_fidelity_rows(budget, [et, lr], batches=3, screened_rows=80)
    expected = 800 * (allowance / (3 * 1.25 * 10.0)) ** (1 / 1.15)
    assert MIN_RAISE * 80 <= rows <= expected
    assert rows == pytest.approx(expected, rel=0.06)
    # Never below the floor of MIN_RAISE times the screening rows ...
    assert full_fidelity_rows(budget, [et], batches=3, screened_rows=250) == 375
    # ... nor below MIN_CAPPED_ROWS; no cap when that is most of the fold.
    monkeypatch.setattr(screening, "MIN_CAPPED_ROWS", 600)
    assert full_fidelity_rows(budget, [et], batches=3, screened_rows=80) == 600
    monkeypatch.setattr(screening, "MIN_CAPPED_ROWS", 750)
    assert full_fidelity_rows(budget, [et], batches=3, screened_rows=80) is None
    monkeypatch.setattr(screening, "MIN_CAPPED_ROWS", 0)
    # Late in the budget the trees' refit no longer fits in half the time
    # left: the rows are sized for the next promoted setup (cheap: no cap).
    clock.now = 50.0
    assert refit > 0.5 * budget.remaining()
    assert full_fidelity_rows(budget, [et, lr], batches=3, screened_rows=80) is None
    # An untimed search never caps.
    untimed = Budget(None, space=space, n_samples=1000, n_train=800, clock=clock)
    untimed.measured(et, [10.0], untimed.train_counts)
    assert full_fidelity_rows(untimed, [et], batches=3, screened_rows=80) is None


def test_a_timed_fit_runs_its_full_trials_on_the_rows_the_budget_affords(
    monkeypatch,
):
    # Trees of 4 s per 1,333-row fold, the only model: a full trial (3 folds
    # and the margin: 15 s) would take more than its share of the 60 s (a
    # fifth of the time left after the refit).
    import autobalance._screening as screening

    # Small data is never capped (MIN_CAPPED_ROWS); here it stands for large.
    monkeypatch.setattr(screening, "MIN_CAPPED_ROWS", 0)
    trees = ExtraTreesClassifier(n_estimators=5, random_state=0)
    clf, machine = _timed_fit(monkeypatch, trees, timeout=60, tree_seconds=4.0)
    results = clf.cv_results_
    complete = np.flatnonzero(results["stop_reason"] == "complete")
    assert len(complete) >= 2
    rows = results["fidelity_rows"][complete]
    # Every complete trial on the same capped rows, more than the screening's
    # and fewer than a training fold's 1,333; their scores stay comparable.
    assert len(set(rows)) == 1
    screened_rows = results["fidelity_rows"][results["stop_reason"] == "screened"]
    assert screened_rows.max() < rows[0] < 1_333
    assert machine.now <= 60.0
    # The test folds are the search's: every fold scored, on every row.
    assert clf.n_splits_ == 3
    for i in range(3):
        assert np.isfinite(results[f"split{i}_test_score"][complete]).all()


def test_probes_that_spend_the_round_still_leave_every_family_screened(monkeypatch):
    from sklearn.dummy import DummyClassifier

    from autobalance._screening import screened

    # The trees' probe (3 folds of a tenth of the rows) takes about 14 s, more
    # than the round's third of 30 s: the families left are screened on the
    # dummy, whose probe was cheap.
    estimator = [
        ("dummy", DummyClassifier()),
        ("trees", ExtraTreesClassifier(n_estimators=5, random_state=0)),
    ]
    # (No under-sampler: the simulated machine charges a pipeline for the rows
    # it is given, not those its sampler leaves.)
    techniques = ["none", "balanced_class_weight", "random_over_sampler"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedTechniqueWarning)
        clf, machine = _timed_fit(
            monkeypatch, estimator, 30, tree_seconds=65.0, techniques=techniques
        )
    trials = clf.study_.get_trials(deepcopy=False)
    families = {t.user_attrs["family"] for t in trials if screened(t)}
    assert families == {"baseline", "class-weight", "over-sampling"}
    # Each was scored: a screening fold's raised minority share (every
    # minority row up to the floor) does not make an over-sampler fail.
    assert all(t.state.name != "FAIL" for t in trials if screened(t))
    late = [t for t in trials if screened(t) and t.user_attrs["algorithm"] == "trees"]
    assert [t.user_attrs["technique"] for t in late] == ["none"]
    assert machine.now <= 30.0 * 1.1


def test_a_round_that_runs_out_after_its_probes_still_screens_every_family(
    monkeypatch,
):
    from sklearn.dummy import DummyClassifier

    from autobalance._screening import screened

    # The probes end 0.5 s before the round's third of 30 s: the trees'
    # (3 folds of 133 rows) takes 8.6 s, the dummy's 0.9 s. The rest of the
    # round, cheapest model first, ran one more dummy setup (class weights)
    # and ended with the share, leaving over-sampling unscored; the families
    # left are now screened on the dummy, as when the probes spend it all.
    X, y = make_classification(2_000, weights=[0.9], random_state=0)
    machine = SimulatedMachine(
        {
            ExtraTreesClassifier: 8.6 / 3 / 133**1.15,
            DummyClassifier: 0.3 / 133**1.15,
        }
    ).install(monkeypatch)
    clf = AutoBalancedClassifier(
        [
            ("dummy", DummyClassifier()),
            ("trees", ExtraTreesClassifier(n_estimators=5, random_state=0)),
        ],
        techniques=["none", "balanced_class_weight", "random_over_sampler", "smote"],
        timeout=30,
        cv=3,
        ensemble=False,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkippedTechniqueWarning)
        clf.fit(X, y)
    trials = [t for t in clf.study_.get_trials(deepcopy=False) if screened(t)]
    setups = [(t.user_attrs["technique"], t.user_attrs["algorithm"]) for t in trials]
    assert setups == [
        ("none", "dummy"),
        ("none", "trees"),
        ("balanced_class_weight", "dummy"),
        ("random_over_sampler", "dummy"),
    ]
    assert machine.now <= 30.0 * 1.1


def test_refit_subsample_keeps_the_class_shares_and_every_class():
    from autobalance._refit import refit_subsample

    y = np.array([0] * 9_000 + [1] * 990 + [2] * 10)
    classes = np.array([0, 1, 2])
    rows = refit_subsample(y, classes, 2_000, seed=0)
    assert len(rows) == 2_000 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(np.bincount(y[rows]), [1_800, 198, 2])
    # A class too rare for its share keeps one row, so the refit knows it.
    rare = refit_subsample(y, classes, 150, seed=0)
    assert np.bincount(y[rare])[2] == 1
    np.testing.assert_array_equal(rows, refit_subsample(y, classes, 2_000, seed=0))


def _large_timed_fit(monkeypatch, timeout, fixed=0.0, exponent=1.15):
    """A timed fit of extra trees on 12,000 rows, searched on 1,500 of them
    (3 folds of 1,000 training rows, 1 s each on the fake clock, ``fixed`` of
    it a fixed cost of every fit, the rest growing as rows ** ``exponent``)."""
    X, y = make_classification(12_000, weights=[0.9], random_state=0)
    coef = (1.0 - fixed) / 1_000**exponent
    machine = SimulatedMachine(
        {ExtraTreesClassifier: coef}, {ExtraTreesClassifier: fixed}, exponent
    ).install(monkeypatch)
    clf = AutoBalancedClassifier(
        ExtraTreesClassifier(n_estimators=5, random_state=0),
        techniques=["none", "balanced_class_weight"],
        timeout=timeout,
        max_search_samples=1_500,
        cv=3,
        n_trials=50,
        ensemble=False,
        random_state=0,
    )
    return clf, machine, X, y


def test_a_refit_that_cannot_fit_on_every_row_trains_on_the_rows_it_can(
    monkeypatch, tmp_path
):
    from autobalance import report

    clf, machine, X, y = _large_timed_fit(monkeypatch, timeout=12.0)
    with pytest.warns(UserWarning, match=r"refit on [\d,]+ of 12,000 rows"):
        clf.fit(X, y)
    # The refit on every row is predicted at 1.0 * 12 ** 1.15 = 17 s.
    rows = clf.refit_rows_
    assert rows is not None and 1_500 <= len(rows) < 12_000
    np.testing.assert_allclose(
        np.bincount(y[rows]) / len(rows), np.bincount(y) / len(y), atol=1e-3
    )
    steps = clf.cost_model_["refit_steps"]
    assert steps[-1][0] == len(rows)
    assert [r for r, _ in steps] == sorted(r for r, _ in steps)
    # The whole fit, the steps before the last included, kept the budget.
    assert machine.now <= 12.0
    assert clf.predict_proba(X[:5]).shape == (5, 2)
    # The report says on how many rows, and in which steps.
    page = report(clf, tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"afforded the refit on {len(rows):,} rows" in page
    # The budget, not the 50 trials asked for, ended the search.
    assert clf.search_progress_["ended"] == "budget"
    assert "the time left only covered the refit" in page
    assert f"step(s) of {steps[0][0]:,}" in page


def _ladder(monkeypatch, fixed, left, model=None):
    """The refit ladder of ``model`` (extra trees) on 12,000 rows with
    ``left`` seconds left, after a search that measured folds of 1,000 rows
    at 1 s: a fit costs ``fixed`` s plus the rest of the 1 s growing linearly
    with rows."""
    from types import SimpleNamespace

    from autobalance._refit import budgeted_refit

    X, y = make_classification(12_000, weights=[0.9], random_state=0)
    model = model or ExtraTreesClassifier(n_estimators=5, random_state=0)
    machine = SimulatedMachine(
        {type(model): (1.0 - fixed) / 1_000},
        {type(model): fixed},
        exponent=1.0,
    ).install(monkeypatch)
    (algorithm,) = resolve_algorithms([("et", model)])
    space = SearchSpace(
        [catalogue.get_technique("none")], [algorithm], _context(12_000)
    )
    budget = Budget(
        left / 0.97, space=space, n_samples=12_000, n_train=1_000, search_rows=1_500
    )
    config = space.default_config("none", "et")
    budget.measured(config, [1.0, 1.0, 1.0], [900.0, 100.0])
    plan = SimpleNamespace(
        X_full=X,
        y_full=y,
        sample_weight=None,
        budget=budget,
        classes=np.array([0, 1]),
        context=SimpleNamespace(random_state=0),
    )
    trial = SimpleNamespace(user_attrs={ATTR_TECHNIQUE: "none", ATTR_ALGORITHM: "et"})
    return budgeted_refit(lambda: space.build(config), plan, trial), machine


def _measured_budget(timeout, space, n_samples, search_rows, measured):
    """A budget of a search of ``search_rows`` of ``n_samples`` rows (training
    folds of 1,000 rows, 900 and 100 per class) on a fake clock, each
    ``(config, seconds)`` of ``measured`` measured on three folds."""
    budget = Budget(
        timeout,
        space=space,
        n_samples=n_samples,
        n_train=1_000,
        clock=FakeClock(),
        search_rows=search_rows,
    )
    for config, seconds in measured:
        budget.measured(config, [seconds] * 3, [900.0, 100.0])
    return budget


def test_the_budget_plans_a_share_of_the_timeout_for_a_costly_refit():
    from autobalance._budget import REFIT_PLAN_SHARE

    space = _space(12_000)
    et = Config("none", "extra_trees", {})
    ratio = space.fidelity_ratio(et)

    def budget(timeout, search_rows):
        return _measured_budget(timeout, space, 12_000, search_rows, [(et, 1.0)])

    timed = budget(30, 1_500)
    full = 12**1.15 * ratio
    assert timed.refit_seconds([et]) == pytest.approx(full)
    # Not the 17 s of every row: the share of the timeout, which the ladder of
    # the refit then spends on as many rows as it affords.
    assert timed.refit_estimate(et, []) == pytest.approx(REFIT_PLAN_SHARE * 30)
    timed.record(et, [1.0, 1.0, 1.0], 0.8)
    assert timed.reserve == pytest.approx(REFIT_PLAN_SHARE * 30)
    # A trial fits when its refit on the searched rows does.
    assert timed.refit_estimate(et, [], least=True) == pytest.approx(1.5**1.15 * ratio)
    # The searched rows' refit is the least a refit trains on ...
    assert budget(30, 11_000).refit_estimate(et, []) == pytest.approx(11**1.15 * ratio)
    # ... and without a timeout or a subsample the refit uses every row.
    assert budget(None, 1_500).refit_estimate(et, []) == pytest.approx(full)
    assert budget(30, 12_000).refit_estimate(et, []) == pytest.approx(full)


def test_a_refit_ladder_corrects_a_cost_model_that_errs_long(monkeypatch):
    # Most of a fit is a fixed cost: the refit on every row takes 1.9 s where
    # the cost model's rows ** 1.15 from the folds predicts 17 s.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no refit on fewer rows
        (estimator, rows, report), machine = _ladder(monkeypatch, 0.9, left=8.0)
    steps = report["refit_steps"]
    assert rows is None and hasattr(estimator, "classes_")
    assert steps[-1][0] == 12_000 and len(steps) >= 2
    assert machine.now <= 8.0


def test_a_refit_ladder_stops_at_the_rows_the_time_left_affords(monkeypatch):
    # Without a fixed cost the refit on every row takes 12 s: 8 s afford
    # fewer rows, and every step together keeps within them.
    with pytest.warns(UserWarning, match="refit on"):
        (_, rows, _), machine = _ladder(monkeypatch, 0.0, left=8.0)
    assert rows is not None and 1_500 <= len(rows) < 12_000
    assert machine.now <= 8.0


def test_boosting_refits_every_row_when_its_linear_cost_fits(monkeypatch):
    # Histogram gradient boosting grows at most linearly (capped iterations):
    # 12 s on every row fit in 14 s left in one fit. At the trees' rows **
    # 1.15 (17.5 s predicted) it refitted on a subsample after a ladder.
    model = HistGradientBoostingClassifier(max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no refit on fewer rows
        (estimator, rows, report), machine = _ladder(monkeypatch, 0.0, 14.0, model)
    assert rows is None and hasattr(estimator, "classes_")
    assert report["refit_steps"] == [(12_000, pytest.approx(12.0))]
    assert report["refit_predicted"] == pytest.approx(12.0)
    assert machine.now <= 14.0


def test_a_refit_ladder_stops_when_a_step_overran_the_time_left(monkeypatch):
    # Regression: a first step that took longer than the time left (a busy
    # machine) left a negative time, whose root made the next step's rows a
    # complex number and the fit raise TypeError after its whole search.
    with pytest.warns(UserWarning, match="refit on 1,500 of 12,000 rows"):
        (estimator, rows, report), _ = _ladder(monkeypatch, 0.0, left=0.5)
    assert len(rows) == 1_500 and hasattr(estimator, "classes_")
    assert [r for r, _ in report["refit_steps"]] == [1_500]


def _close_trials(hgb_scores, hgb_fit_times=()):
    """A search of 2,000 of 100,000 rows whose best trial is class-weighted
    histogram gradient boosting (1 s a fold), then unweighted (0.2 s a fold,
    fold scores ``hgb_scores``, its trial's ``hgb_fit_times``), then logistic
    regression, clearly worse."""
    from types import SimpleNamespace

    space = _space(100_000)
    weighted = Config("balanced_class_weight", "hist_gradient_boosting", {})
    hgb = Config("none", "hist_gradient_boosting", {})
    lr = Config("none", "logistic_regression", {})
    study = optuna.create_study(direction="maximize")
    for config, scores in [
        (weighted, [0.79, 0.81, 0.80]),
        (hgb, hgb_scores),
        (lr, [0.70, 0.70, 0.70]),
    ]:
        study.add_trial(
            optuna.trial.create_trial(
                value=float(np.mean(scores)),
                user_attrs={
                    ATTR_TECHNIQUE: config.technique,
                    ATTR_ALGORITHM: config.algorithm,
                    "split_scores": scores,
                    "fit_times": list(hgb_fit_times) if config is hgb else [],
                },
            )
        )

    def plan(timeout):
        budget = _measured_budget(
            timeout, space, 100_000, 2_000, [(weighted, 1.0), (hgb, 0.2), (lr, 0.01)]
        )
        return SimpleNamespace(
            ensembling=None, budget=budget, objective=SimpleNamespace(keep_oof=False)
        )

    return study, plan


def test_a_timed_refit_takes_a_close_setup_that_affords_more_rows():
    from autobalance._selection import choose_trial

    # Within one standard error of the best, four times the rows in 29 s
    # (about 76,000 against 19,000): refit the unweighted model.
    study, plan = _close_trials([0.80, 0.78, 0.805])
    chosen, selection = choose_trial(study, plan(30))
    assert chosen.number == 1
    more = selection["more_rows"]
    assert more["instead_of"] == 0 and more["rows"] >= 2 * more["rows_instead"]
    # Not without a time budget: every setup refits on every row.
    chosen, selection = choose_trial(study, plan(None))
    assert chosen.number == 0 and "more_rows" not in selection
    # Not when a larger budget refits the best on every row.
    chosen, _ = choose_trial(study, plan(10_000))
    assert chosen.number == 0


def test_a_timed_refit_keeps_a_best_setup_that_is_clearly_better():
    from autobalance._selection import choose_trial

    # Fold by fold 0.01 above: one standard error of the paired differences
    # says the search can tell them apart, whatever the rows.
    study, plan = _close_trials([0.78, 0.80, 0.79])
    chosen, selection = choose_trial(study, plan(30))
    assert chosen.number == 0 and "more_rows" not in selection


def test_a_close_setup_without_kept_predictions_pays_for_its_fold_refits():
    from types import SimpleNamespace

    from autobalance._oof import REFIT
    from autobalance._selection import choose_trial

    # The search keeps each model's best predictions: the unweighted trial's
    # are gone, so its decision rule needs its folds refitted first.
    X, y = make_classification(300, n_features=5, weights=[0.9], random_state=0)
    splits = [(np.arange(100, 300), np.arange(100))] * 3

    def search_plan(fold_seconds):
        study, plan = _close_trials([0.80, 0.78, 0.805], [fold_seconds] * 3)
        p = plan(30)
        p.X_search, p.y_search, p.classes = X, y, np.array([0, 1])
        p.search_sample_weight = None
        p.objective = SimpleNamespace(
            keep_oof=True, oof={0: ["kept"]}, full_splits=splits, n_jobs=None
        )
        return study, p

    # Cheap folds: refitted now, so the decision rule finds them.
    study, p = search_plan(0.2)
    chosen, selection = choose_trial(study, p)
    assert chosen.number == 1 and "more_rows" in selection
    folds = p.objective.oof[1]
    assert len(folds) == 3 and all(f.origin == REFIT for f in folds)
    # Folds that would take the time the rows need: the best stays.
    study, p = search_plan(7.0)
    chosen, selection = choose_trial(study, p)
    assert chosen.number == 0 and 1 not in p.objective.oof
