"""Grouped data and metadata routing (issue 19): ``groups`` reaches the inner
and outer splitters, no group is on both sides of a fold, bad groups are
refused before the search, and ``sample_weight``/``groups`` are routed as in
scikit-learn's search estimators."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import autobalance._classifier as classifier_module
import autobalance._learning_curve as curve_module
from autobalance import (
    AutoBalancedClassifier,
    minority_learning_curve,
    nested_cross_validate,
)
from autobalance._plan import build_plan, group_subsample

N = 240


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=N, n_features=5, weights=[0.8], random_state=0)
    # Groups of 4 consecutive rows (a patient's repeated measurements).
    return X, y, np.arange(N) // 4


def _search(cv=3, **kwargs):
    return AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none", "random_over_sampler"],
        n_trials=3,
        cv=cv,
        random_state=0,
        **kwargs,
    )


def _assert_groups_kept(splits, groups):
    assert len(splits) >= 2
    for train, test in splits:
        assert len(test) and len(train)
        assert not np.intersect1d(groups[train], groups[test]).size


def _kept_folds(clf, n_rows):
    """The folds the search ran (test rows its decision rule kept)."""
    every = np.arange(n_rows)
    return [(np.setdiff1d(every, f.test), f.test) for f in clf.decision_rule_.oof_folds]


@pytest.fixture
def recorded(monkeypatch):
    """The ``fit_params`` every ``fit`` hands to ``build_plan``."""
    calls = []

    def record(est, X, y, *, fit_params=None):
        calls.append(dict(fit_params))
        return build_plan(est, X, y, fit_params=fit_params)

    monkeypatch.setattr(classifier_module, "build_plan", record)
    return calls


# -- groups in fit ---------------------------------------------------------------
@pytest.mark.parametrize(
    "cv", [3, GroupKFold(3), StratifiedGroupKFold(3)], ids=["int", "gkf", "sgkf"]
)
def test_inner_folds_keep_groups(data, cv):
    X, y, groups = data
    clf = _search(cv).fit(X, y, groups=groups)
    _assert_groups_kept(list(clf.cv_.split(X, y, groups)), groups)
    _assert_groups_kept(_kept_folds(clf, N), groups)
    if cv == 3:
        assert isinstance(clf.cv_, StratifiedGroupKFold) and clf.cv_.shuffle


def test_search_subsample_keeps_whole_groups(data):
    X, y, groups = data
    X = np.vstack([X, X + 0.1])
    y = np.concatenate([y, y])
    groups = np.concatenate([groups, groups + groups.max() + 1])
    clf = _search(max_search_samples=200).fit(X, y, groups=groups)
    rows = clf.search_rows_
    # Above 200: every minority row is kept, with its groups whole.
    assert rows is not None and len(rows) < len(y)
    assert np.sum(y[rows] == 1) == np.sum(y == 1)
    kept = np.isin(groups, groups[rows])
    # Every group is in the subsample whole, or not at all.
    np.testing.assert_array_equal(np.sort(rows), np.flatnonzero(kept))
    _assert_groups_kept(_kept_folds(clf, len(rows)), groups[rows])


def test_group_subsample_keeps_the_floor_of_small_classes():
    y = np.r_[np.zeros(900, int), np.ones(60, int)]
    groups = np.r_[np.arange(900) // 3, 1000 + np.arange(60) // 3]
    counts = np.array([900, 60])
    rows = group_subsample(y, groups, np.array([0, 1]), counts, 300, seed=0)
    # Floor min(60, 300 // 2): every minority row, and the rest fills 300.
    assert np.sum(y[rows] == 1) == 60
    assert len(rows) == 300
    assert np.array_equal(np.unique(np.bincount(groups[rows])[groups[rows]]), [3])


def test_fingerprint_counts_the_groups(data):
    X, y, groups = data
    est = _search()
    plain = build_plan(est, X, y).fingerprint
    assert build_plan(est, X, y, fit_params={"groups": None}).fingerprint == plain
    grouped = build_plan(est, X, y, fit_params={"groups": groups}).fingerprint
    other = build_plan(est, X, y, fit_params={"groups": groups // 2}).fingerprint
    assert len({plain, grouped, other}) == 3


@pytest.mark.parametrize(
    "cv, groups, match",
    [
        (3, np.arange(10), "groups has 10 labels but X has 240 rows"),
        (3, np.r_[np.nan, np.arange(N - 1.0)], "1 missing labels"),
        (3, np.array([None, *range(N - 1)], dtype=object), "1 missing"),
        (3, np.arange(N) % 2, "2 distinct groups, fewer than the 3 group folds"),
        (5, "one_minority_group", "class 1 in only 2 groups"),
        (GroupKFold(3), None, "splits by groups, but no groups were given"),
        (StratifiedKFold(3), "groups", "this splitter ignores groups"),
    ],
    ids=["length", "nan", "none", "few", "class", "missing", "ignored"],
)
def test_bad_groups_fail_before_the_search(data, monkeypatch, cv, groups, match):
    X, y, good = data
    if isinstance(groups, str) and groups == "groups":
        groups = good
    elif isinstance(groups, str):
        # The minority class only in two groups.
        groups = good.copy()
        groups[y == 1] = np.arange(np.sum(y == 1)) % 2 + 10_000

    def no_search(*args, **kwargs):
        raise AssertionError("the search started")

    monkeypatch.setattr(classifier_module, "run_study", no_search)
    params = {} if groups is None else {"groups": groups}
    with pytest.raises(ValueError, match=match):
        _search(cv).fit(X, y, **params)


def test_unknown_fit_parameter_is_refused(data):
    X, y, _ = data
    with pytest.raises(TypeError, match=r"unexpected parameters \['foo'\]"):
        _search().fit(X, y, foo=1)


def test_plain_keywords_reach_the_plan(data, recorded):
    X, y, groups = data
    w = np.linspace(0.5, 2.0, N)
    _search().fit(X, y, sample_weight=w, groups=groups)
    (params,) = recorded
    np.testing.assert_array_equal(params["sample_weight"], w)
    np.testing.assert_array_equal(params["groups"], groups)


# -- nested cross-validation and learning curve -------------------------------
@pytest.mark.parametrize("outer_cv", [3, GroupKFold(3)], ids=["int", "gkf"])
def test_nested_outer_and_inner_folds_keep_groups(data, outer_cv):
    X, y, groups = data
    result = nested_cross_validate(
        _search(),
        X,
        y,
        groups=groups,
        outer_cv=outer_cv,
        baseline=False,
        random_state=0,
        return_estimators=True,
    )
    _assert_groups_kept(result.splits, groups)
    for (train, _), est in zip(result.splits, result.estimators, strict=True):
        inner = groups[train]
        _assert_groups_kept(list(est.cv_.split(X[train], y[train], inner)), inner)
        _assert_groups_kept(_kept_folds(est, len(train)), inner)


def test_nested_refuses_an_outer_splitter_that_ignores_groups(data):
    X, y, groups = data
    with pytest.raises(ValueError, match="Outer fold 0 of outer_cv=StratifiedKFold"):
        nested_cross_validate(
            _search(), X, y, groups=groups, outer_cv=StratifiedKFold(3)
        )


def test_nested_refuses_too_few_groups_for_the_inner_cv(data):
    X, y, _ = data
    groups = np.arange(N) % 6
    with pytest.raises(ValueError, match="training part of outer fold 0 has 4"):
        nested_cross_validate(_search(cv=5), X, y, groups=groups, outer_cv=3)


def test_learning_curve_folds_keep_groups(data, monkeypatch):
    X, y, groups = data
    seen = []
    real = curve_module._one_unit

    def record(template, X, y, train, test, *args):
        seen.append((train, test))
        return real(template, X, y, train, test, *args)

    monkeypatch.setattr(curve_module, "_one_unit", record)
    minority_learning_curve(
        LogisticRegression(), X, y, groups=groups, n_repeats=1, cv=3, random_state=0
    )
    assert len(seen) == 3
    _assert_groups_kept(seen, groups)


# -- metadata routing ------------------------------------------------------------
@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_routing_requests(routing):
    router = _search().get_metadata_routing()
    # An integer cv splits by groups when given: it asks for them.
    assert router.consumes("fit", ["groups", "sample_weight"]) == {"groups"}
    router = _search(StratifiedKFold(3)).get_metadata_routing()
    assert router.consumes("fit", ["groups"]) == set()
    est = _search().set_fit_request(sample_weight=True)
    assert est.get_metadata_routing().consumes("fit", ["sample_weight"]) == {
        "sample_weight"
    }
    est = _search().set_score_request(sample_weight=True)
    assert est.get_metadata_routing().consumes("score", ["sample_weight"]) == {
        "sample_weight"
    }
    model = LogisticRegression().set_fit_request(sample_weight=True)
    router = AutoBalancedClassifier(model).get_metadata_routing()
    assert router.consumes("fit", ["sample_weight"]) == {"sample_weight"}


def _pipeline():
    # As for CalibratedClassifierCV, a consumer and router alike: the search
    # and its model each ask for the weights.
    model = LogisticRegression().set_fit_request(sample_weight=True)
    search = AutoBalancedClassifier(
        model,
        techniques=["none", "random_over_sampler"],
        n_trials=3,
        cv=3,
        random_state=0,
    )
    search.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
    pipe = Pipeline(
        [
            ("scale", StandardScaler().set_fit_request(sample_weight=False)),
            ("search", search),
        ]
    )
    # Pipeline.score takes sample_weight itself: scikit-learn < 1.8 asks the
    # pipeline, not only its last step, to request it.
    return pipe.set_score_request(sample_weight=True)


def _assert_rows_metadata(calls, groups):
    """Each recorded fit got the weights and groups of the same rows: the
    weights are row numbers plus one."""
    assert calls
    for params in calls:
        rows = params["sample_weight"].astype(int) - 1
        np.testing.assert_array_equal(params["groups"], groups[rows])


def test_routing_through_grid_search_and_pipeline(data, recorded):
    X, y, groups = data
    w = np.arange(1.0, N + 1)
    with sklearn.config_context(enable_metadata_routing=True):
        grid = GridSearchCV(
            _pipeline(), {"search__n_trials": [3]}, cv=GroupKFold(2)
        ).fit(X, y, sample_weight=w, groups=groups)
    # Two outer folds and the refit on every row.
    assert len(recorded) == 3
    _assert_rows_metadata(recorded, groups)
    assert len(recorded[-1]["sample_weight"]) == N
    search = grid.best_estimator_[-1]
    _assert_groups_kept(list(search.cv_.split(X, y, groups)), groups)


def test_routing_through_cross_validate(data, recorded):
    X, y, groups = data
    w = np.arange(1.0, N + 1)
    with sklearn.config_context(enable_metadata_routing=True):
        cross_validate(
            _pipeline(),
            X,
            y,
            cv=GroupKFold(3),
            params={"sample_weight": w, "groups": groups},
        )
    assert len(recorded) == 3
    _assert_rows_metadata(recorded, groups)
    for params in recorded:
        # The training rows of GroupKFold: whole groups.
        assert len(params["groups"]) < N
        assert np.all(np.bincount(params["groups"])[params["groups"]] == 4)


def test_routing_refuses_groups_a_splitter_ignores(data, routing):
    X, y, groups = data
    with pytest.raises(TypeError, match="not routed to any object"):
        _search(StratifiedKFold(3)).fit(X, y, groups=groups)


def test_routing_asks_the_model_to_set_its_request(data, routing):
    X, y, _ = data
    with pytest.raises(ValueError, match=r"LogisticRegression\.set_fit_request"):
        _search().fit(X, y, sample_weight=np.ones(N))
