"""The models' own hyperparameters in the search space (issue 17, point 1):
declared by ``Algorithm.params``, given by users as ``param_distributions``."""

import pickle

import numpy as np
import pandas as pd
import pytest
from imblearn.datasets import make_imbalance
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FixedTrial
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import (
    Algorithm,
    AutoBalancedClassifier,
    CategoricalParam,
    FloatParam,
    IntParam,
    SearchContext,
    SearchSpace,
    default_algorithms,
    get_technique,
    load_model,
    save_model,
)
from autobalance._plan import build_plan
from autobalance._preprocessing import FeatureInfo
from autobalance._selection import estimator_from_params


def make_context(n_samples=225):
    return SearchContext(
        classes=np.array([0, 1]),
        class_counts=np.array([200, 25]),
        min_train_counts=np.array([160, 20]),
        max_train_minority_ratio=0.13,
        n_samples=n_samples,
        n_features=5,
        random_state=0,
    )


def two_model_space():
    lr = Algorithm(
        "lr",
        make_pipeline(StandardScaler(), LogisticRegression()),
        params=(FloatParam("logisticregression__C", 1e-3, 1e2, log=True),),
    )
    et = Algorithm(
        "et",
        ExtraTreesClassifier(n_estimators=10),
        params=(
            IntParam("min_samples_leaf", 1, 8),
            CategoricalParam("max_features", ("sqrt", 1.0)),
        ),
    )
    names = ("none", "smote", "balanced_class_weight")
    return SearchSpace([get_technique(n) for n in names], [lr, et], make_context())


def data(n=300, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=6, n_informative=4, weights=[0.85], random_state=seed
    )
    return X, y


# -- the space -----------------------------------------------------------------
def test_model_params_are_suggested_only_for_the_chosen_model():
    space = two_model_space()
    # FixedTrial raises when the space asks for a name it was not given, so
    # these suggestions prove that the other model's parameters are not asked.
    config = space.suggest(
        FixedTrial(
            {"technique": "none", "algorithm": "lr", "lr__logisticregression__C": 0.05}
        )
    )
    assert config.params == {"lr__logisticregression__C": 0.05}
    config = space.suggest(
        FixedTrial(
            {
                "technique": "smote",
                "algorithm": "et",
                "smote__k_neighbors": 3,
                "smote__sampling_strategy": 0.5,
                "et__min_samples_leaf": 4,
                "et__max_features": 1.0,
            }
        )
    )
    assert config.params == {
        "k_neighbors": 3,
        "sampling_strategy": 0.5,
        "et__min_samples_leaf": 4,
        "et__max_features": 1.0,
    }
    built = space.build(config)
    model = built.steps[-1][1]
    assert isinstance(model, ExtraTreesClassifier)
    assert (model.min_samples_leaf, model.max_features) == (4, 1.0)
    assert built.steps[0][1].k_neighbors == 3


def test_built_pipeline_sets_step_prefixed_params_under_class_weight():
    space = two_model_space()
    config = space.suggest(
        FixedTrial(
            {
                "technique": "balanced_class_weight",
                "algorithm": "lr",
                "lr__logisticregression__C": 0.02,
            }
        )
    )
    built = space.build(config)
    lr = built.named_steps["logisticregression"]
    assert lr.C == 0.02
    assert lr.class_weight == "balanced"


def test_starting_configs_are_the_models_own_values_and_round_trip():
    space = two_model_space()
    configs = space.starting_configs()
    et = next(c for c in configs if c.algorithm == "et")
    # No declared default: the estimator's own values (min_samples_leaf=1,
    # max_features="sqrt") start the search.
    assert et.params == {"et__min_samples_leaf": 1, "et__max_features": "sqrt"}
    lr = next(c for c in configs if c.algorithm == "lr")
    assert lr.params == {"lr__logisticregression__C": 1.0}
    for config in configs:
        again = space.suggest(FixedTrial(space.optuna_params(config)))
        assert again == config


def test_default_portfolio_starts_where_the_search_started_before():
    info = FeatureInfo(numeric=tuple(range(5)), n_rows=225)
    space = SearchSpace(
        [get_technique("none")], default_algorithms(info), make_context()
    )
    for config in space.starting_configs():
        algorithm = space.algorithms[config.algorithm]
        built = space.build(config)
        # The starting model is the portfolio's model as declared (up to the
        # 1e-6 l2 regularisation, a log range cannot hold 0).
        own = algorithm.estimator.get_params()
        for name in algorithm.set_params_of(config.params):
            expected = 1e-6 if name == "model__l2_regularization" else own[name]
            assert built.get_params()[name] == expected


def test_search_fidelity_and_memory_caps_win_over_model_params():
    info = FeatureInfo(numeric=tuple(range(5)), n_rows=100_000)
    large = {a.name: a for a in default_algorithms(info)}["extra_trees"]
    ctx = make_context(n_samples=100_000)
    space = SearchSpace([get_technique("none")], [large], ctx)
    config = space.suggest(
        FixedTrial(
            {
                "extra_trees__model__min_samples_leaf": 8,
                "extra_trees__model__max_features": 1.0,
            }
        )
    )
    built = space.build(config, search=True)
    model = built.named_steps["model"]
    assert model.min_samples_leaf == 8
    assert model.max_leaf_nodes == large.estimator.named_steps["model"].max_leaf_nodes
    assert model.max_leaf_nodes is not None
    # A user cannot lift the cap either.
    assert "caps the leaves" in large.refusal("model__max_leaf_nodes")
    assert large.refusal("model__min_samples_leaf") is None
    small = {a.name: a for a in default_algorithms()}["extra_trees"]
    space = SearchSpace([get_technique("none")], [small], make_context())
    config = space.default_config("none")
    assert space.build(config, search=True).named_steps["model"].n_estimators == 100
    assert space.build(config).named_steps["model"].n_estimators == 300


@pytest.mark.parametrize(
    "params, match",
    [
        ((IntParam("n_estimators", 10, 50),), "cheaper fidelity"),
        ((FloatParam("class_weight", 1.0, 2.0),), "class-weight techniques"),
        ((IntParam("random_state", 0, 5),), "seeds every model"),
    ],
)
def test_algorithm_refuses_params_the_search_sets(params, match):
    with pytest.raises(ValueError, match=match):
        Algorithm(
            "et",
            ExtraTreesClassifier(),
            search_params={"n_estimators": 20},
            params=params,
        )


def test_colliding_optuna_names_are_refused():
    model = Algorithm(
        "smote", LogisticRegression(), params=(IntParam("k_neighbors", 1, 3),)
    )
    with pytest.raises(ValueError, match=r"'smote__k_neighbors'.*rename the model"):
        SearchSpace([get_technique("smote")], [model], make_context())


# -- param_distributions ------------------------------------------------------------
def test_param_distributions_are_searched_shown_and_refitted():
    X, y = data()
    clf = AutoBalancedClassifier(
        make_pipeline(StandardScaler(), LogisticRegression()),
        techniques=["balanced_class_weight"],
        param_distributions={
            "logisticregression__C": FloatDistribution(1e-3, 1e2, log=True)
        },
        n_trials=5,
        cv=3,
        random_state=0,
    ).fit(X, y)
    results = pd.DataFrame(clf.cv_results_)
    column = results["param_logistic_regression__logisticregression__C"]
    assert column.nunique() >= 3  # searched, not fixed
    C = clf.best_params_["logistic_regression__logisticregression__C"]
    assert column[clf.best_index_] == C
    assert clf.best_estimator_.named_steps["logisticregression"].C == C
    # Any setup of cv_results_ is rebuilt with its own value.
    for i in range(len(results)):
        params = clf.cv_results_["params"][i]
        rebuilt = clf._estimator_from_params(params)
        assert column[i] == rebuilt.named_steps["logisticregression"].C


def test_portfolio_param_distributions_keyed_by_model_name():
    X, y = data()
    clf = AutoBalancedClassifier(
        [LogisticRegression(), ("forest", RandomForestClassifier(n_estimators=10))],
        techniques=["none"],
        param_distributions={
            "forest": {"max_depth": IntDistribution(2, 6)},
            "logistic_regression": {"C": CategoricalDistribution([0.1, 10.0])},
        },
        n_trials=6,
        cv=3,
        random_state=0,
        ensemble=False,
    ).fit(X, y)
    for params in clf.cv_results_["params"]:
        if params["algorithm"] == "forest":
            assert set(params) == {"technique", "algorithm", "forest__max_depth"}
            assert 2 <= params["forest__max_depth"] <= 6
        else:
            assert set(params) == {"technique", "algorithm", "logistic_regression__C"}
            assert params["logistic_regression__C"] in (0.1, 10.0)
    best = clf.best_params_
    model = clf.best_estimator_
    if best["algorithm"] == "forest":
        assert model.max_depth == best["forest__max_depth"]
    else:
        assert best["logistic_regression__C"] == model.C


def test_default_portfolio_entry_replaces_the_declared_space():
    X, y = data()
    est = AutoBalancedClassifier(
        techniques=["none"],
        param_distributions={
            "extra_trees": {},
            "logistic_regression": {"model__C": FloatParam("ignored", 0.5, 2.0)},
        },
        cv=3,
        random_state=0,
    )
    space = build_plan(est, X, y).space
    assert space.algorithms["extra_trees"].params == ()
    (C,) = space.algorithms["logistic_regression"].params
    assert (C.name, C.low, C.high) == ("model__C", 0.5, 2.0)
    # The model the user did not name keeps its declared space.
    assert len(space.algorithms["hist_gradient_boosting"].params) == 4


@pytest.mark.parametrize(
    "estimator, distributions, error, match",
    [
        (
            LogisticRegression(),
            {"Cc": FloatDistribution(0.1, 1.0)},
            ValueError,
            r"names 'Cc'.*Did you mean \['C'\]",
        ),
        (
            LogisticRegression(),
            {"C": [0.1, 1.0]},
            TypeError,
            r"param_distributions\['C'\] is \[0.1, 1.0\].*CategoricalDistribution",
        ),
        (
            LogisticRegression(),
            {"class_weight": CategoricalDistribution([None, "balanced"])},
            ValueError,
            "cannot tune 'class_weight'.*class-weight techniques",
        ),
        (
            LogisticRegression(),
            {"random_state": IntDistribution(0, 3)},
            ValueError,
            "cannot tune 'random_state'.*set random_state on AutoBalancedClassifier",
        ),
        (
            LogisticRegression(),
            {"C": FloatDistribution(1.0, 1.0)},
            ValueError,
            r"param_distributions\['C'\] has an empty range",
        ),
        (
            LogisticRegression(),
            {"C": FloatParam("C", 2.0, 1.0)},
            ValueError,
            r"param_distributions\['C'\] has an empty range",
        ),
        (
            LogisticRegression(),
            {"C": FloatDistribution(0.1, 1.0, step=0.1)},
            ValueError,
            "step=0.1",
        ),
        (
            None,
            {"extra_trees": {"model__n_estimators": IntDistribution(50, 200)}},
            ValueError,
            "cannot tune 'model__n_estimators' of model 'extra_trees'.*cheaper",
        ),
        (
            None,
            {"model__C": FloatDistribution(0.1, 1.0)},
            ValueError,
            "key it by model name",
        ),
        (
            None,
            {"svm": {"C": FloatDistribution(0.1, 1.0)}},
            ValueError,
            r"keyed by \['svm'\], which are not models",
        ),
    ],
)
def test_bad_param_distributions_are_refused_before_the_search(
    estimator, distributions, error, match, monkeypatch
):
    X, y = data()
    est = AutoBalancedClassifier(
        estimator, param_distributions=distributions, n_trials=3, cv=3
    )

    def no_search(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("the search started")

    monkeypatch.setattr("autobalance._classifier.run_study", no_search)
    with pytest.raises(error, match=match):
        est.fit(X, y)


def test_param_distributions_must_be_a_dict():
    X, y = data()
    est = AutoBalancedClassifier(param_distributions=[("C", 1.0)], n_trials=3)
    with pytest.raises(ValueError, match="param_distributions"):
        est.fit(X, y)


def test_clone_get_params_pickle_and_grid_search():
    distributions = {"C": FloatDistribution(1e-2, 1e2, log=True)}
    est = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none", "balanced_class_weight"],
        param_distributions=distributions,
        n_trials=3,
        cv=3,
        random_state=0,
    )
    assert est.get_params()["param_distributions"] is distributions
    copy = clone(est)
    assert copy.param_distributions == distributions
    assert copy.param_distributions is not distributions
    X, y = make_imbalance(
        *data(n=400, seed=1), sampling_strategy={0: 200, 1: 40}, random_state=0
    )
    grid = GridSearchCV(
        est,
        {
            "param_distributions": [
                distributions,
                {"C": FloatDistribution(1e-3, 1e-2, log=True)},
            ]
        },
        cv=2,
    ).fit(X, y)
    fitted = grid.best_estimator_
    C = fitted.best_params_["logistic_regression__C"]
    chosen = grid.best_params_["param_distributions"]["C"]
    assert chosen.low <= C <= chosen.high
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.predict_proba(X), fitted.predict_proba(X))


def test_fingerprint_follows_param_distributions():
    X, y = data()

    def fingerprint(distributions):
        est = AutoBalancedClassifier(
            LogisticRegression(),
            param_distributions=distributions,
            cv=3,
            random_state=0,
        )
        return build_plan(est, X, y).fingerprint

    a = fingerprint({"C": FloatDistribution(0.1, 1.0)})
    assert a == fingerprint({"C": FloatDistribution(0.1, 1.0)})
    assert a != fingerprint({"C": FloatDistribution(0.1, 2.0)})
    assert a != fingerprint(None)


def test_estimator_from_params_refuses_foreign_keys():
    space = two_model_space()
    params = {"technique": "none", "algorithm": "lr", "et__min_samples_leaf": 3}
    with pytest.raises(ValueError, match=r"\['et__min_samples_leaf'\] belong neither"):
        estimator_from_params(space, params)


def test_param_distributions_save_and_load_as_skops(tmp_path):
    X, y = data()
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none"],
        param_distributions={
            "C": FloatDistribution(1e-2, 1e2, log=True),
            "fit_intercept": CategoricalDistribution([True, False]),
            "max_iter": IntDistribution(100, 300),
        },
        n_trials=3,
        cv=3,
        random_state=0,
    ).fit(X, y)
    path = save_model(clf, tmp_path / "model.skops")
    loaded = load_model(path)  # untrusted: the distributions are expected
    assert loaded.best_params_ == clf.best_params_
    assert loaded.param_distributions["C"] == clf.param_distributions["C"]
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
