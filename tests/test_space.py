"""The search space and the objective, tested without a study (FixedTrial)."""

import dataclasses
import functools

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import EditedNearestNeighbours
from optuna.trial import FixedTrial
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold, cross_val_score

from autobalance import (
    BUILTIN_TECHNIQUES,
    Algorithm,
    AutoBalancedClassifier,
    FloatParam,
    SearchContext,
    SearchSpace,
    Technique,
    default_algorithms,
    get_technique,
)
from autobalance._catalogue import IntegerLabels
from autobalance._objective import Objective, _fit_and_score


def make_context(minority_train=20, n_classes=2, ratio=0.1, classes=None):
    counts = np.array([200] + [max(minority_train + 5, 2)] * (n_classes - 1))
    return SearchContext(
        classes=np.arange(n_classes) if classes is None else np.asarray(classes),
        class_counts=counts,
        min_train_counts=np.array([160] + [minority_train] * (n_classes - 1)),
        max_train_minority_ratio=ratio,
        n_samples=int(counts.sum()),
        n_features=5,
        random_state=0,
    )


def lr_space(ctx, techniques=BUILTIN_TECHNIQUES):
    algos = [Algorithm("lr", LogisticRegression())]
    return SearchSpace([t for t in techniques if t.kind != "estimator"], algos, ctx)


def test_fixed_trial_builds_the_chosen_configuration():
    space = lr_space(make_context())
    trial = FixedTrial(
        {"technique": "smote", "smote__k_neighbors": 3, "smote__sampling_strategy": 0.5}
    )
    config = space.suggest(trial)
    assert config.technique == "smote"
    assert config.params == {"k_neighbors": 3, "sampling_strategy": 0.5}
    pipe = space.build(config)
    sampler = dict(pipe.steps)["sampler"]
    assert isinstance(sampler, SMOTE)
    assert sampler.k_neighbors == 3
    # A float ratio reaches the sampler as a RatioStrategy (it never asks
    # imbalanced-learn to remove rows from a class already past it).
    assert sampler.sampling_strategy.ratio == 0.5
    assert sampler.sampling_strategy.mode == "over"


def test_parameters_exist_only_under_their_technique():
    space = lr_space(make_context())
    config = space.suggest(FixedTrial({"technique": "none"}))
    assert config.params == {}
    # Asking for another technique's parameter is not needed: FixedTrial would
    # raise if the space suggested a parameter that is not given.
    config = space.suggest(FixedTrial({"technique": "tomek_links"}))
    assert config.params == {}


@pytest.mark.parametrize("minority_train", [2, 4, 7, 30])
def test_neighbour_bounds_follow_the_smallest_training_fold(minority_train):
    ctx = make_context(minority_train=minority_train)
    space = lr_space(ctx)
    k = space.techniques["smote"].params[0]
    assert k.bounds(ctx) == (1, min(10, minority_train - 1))
    high = min(10, minority_train - 1)
    if high == 1:  # a single value: fixed, not suggested
        config = space.suggest(
            FixedTrial({"technique": "smote", "smote__sampling_strategy": 0.5})
        )
        assert config.params["k_neighbors"] == 1
        return
    with pytest.warns(UserWarning, match="out of the range"):
        space.suggest(
            FixedTrial(
                {
                    "technique": "smote",
                    "smote__k_neighbors": high + 1,
                    "smote__sampling_strategy": 0.5,
                }
            )
        )


def test_techniques_that_cannot_apply_are_left_out():
    ctx = make_context(minority_train=1)
    space = lr_space(ctx)
    for name in ("smote", "adasyn", "borderline_smote", "smote_tomek", "smote_enn"):
        assert name in space.excluded
        assert name not in space.techniques
    assert "none" in space.techniques


def test_ratio_range_respects_the_current_ratio():
    ctx = make_context(ratio=0.6)
    ratio = lr_space(ctx).techniques["random_under_sampler"].params[0]
    assert ratio.bounds(ctx) == (pytest.approx(0.75), 1.0)
    # Almost balanced data: no ratio parameter, imbalanced-learn's "auto".
    balanced = lr_space(make_context(ratio=0.9))
    config = balanced.suggest(FixedTrial({"technique": "random_under_sampler"}))
    assert config.params == {"sampling_strategy": "auto"}


def test_shrinkage_is_none_or_a_float():
    space = lr_space(make_context())
    plain = space.suggest(
        FixedTrial(
            {
                "technique": "random_over_sampler",
                "random_over_sampler__sampling_strategy": 1.0,
                "random_over_sampler__shrinkage_set": False,
            }
        )
    )
    assert plain.params["shrinkage"] is None
    smooth = space.suggest(
        FixedTrial(
            {
                "technique": "random_over_sampler",
                "random_over_sampler__sampling_strategy": 1.0,
                "random_over_sampler__shrinkage_set": True,
                "random_over_sampler__shrinkage": 0.1,
            }
        )
    )
    sampler = dict(space.build(smooth).steps)["sampler"]
    assert isinstance(sampler, RandomOverSampler)
    assert sampler.shrinkage == 0.1


def test_optuna_params_round_trip_every_default_configuration():
    space = SearchSpace(BUILTIN_TECHNIQUES, default_algorithms(), make_context())
    for config in space.grid():
        again = space.suggest(FixedTrial(space.optuna_params(config)))
        assert again == config


def test_custom_weight_ratio_for_binary_and_multiclass():
    weight = get_technique("custom_class_weight")
    binary = weight.make(make_context(), {"ratio": 8.0})
    assert binary == {0: 1.0, 1: 8.0}
    ctx = SearchContext(
        classes=np.array(["a", "b", "c"]),
        class_counts=np.array([400, 100, 25]),
        min_train_counts=np.array([300, 75, 18]),
        max_train_minority_ratio=0.06,
        n_samples=525,
        n_features=3,
    )
    multi = weight.make(ctx, {"ratio": 4.0})
    assert multi["a"] == 1.0
    assert multi["c"] == pytest.approx(4.0)
    assert multi["b"] == pytest.approx(2.0)  # (400/100) ** 0.5


def test_technique_declarations_are_validated():
    with pytest.raises(ValueError, match="lower-case"):
        Technique("My Sampler", "custom", "sampler", lambda ctx: None)
    with pytest.raises(ValueError, match="family"):
        Technique("x", "magic", "sampler", lambda ctx: None)
    with pytest.raises(ValueError, match="kind"):
        Technique("x", "custom", "transformer", lambda ctx: None)
    with pytest.raises(ValueError, match="needs a build"):
        Technique("x", "custom", "sampler")


def test_a_user_technique_with_its_own_parameter():
    def build(ctx, shrinkage):
        return RandomOverSampler(shrinkage=shrinkage, random_state=ctx.random_state)

    smoothed = Technique(
        "smoothed",
        "custom",
        "sampler",
        build,
        params=(FloatParam("shrinkage", 0.05, 1.0, default=0.2),),
    )
    space = lr_space(make_context(), techniques=[get_technique("none"), smoothed])
    config = space.suggest(
        FixedTrial({"technique": "smoothed", "smoothed__shrinkage": 0.3})
    )
    assert dict(space.build(config).steps)["sampler"].shrinkage == 0.3
    assert space.default_config("smoothed").params == {"shrinkage": 0.2}


def test_objective_scores_like_cross_val_score(binary_data):
    X, y = binary_data
    classes, counts = np.unique(y, return_counts=True)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    ctx = SearchContext(
        classes=classes,
        class_counts=counts,
        min_train_counts=np.array(
            [min(np.sum(y[tr] == c) for tr, _ in splits) for c in classes]
        ),
        max_train_minority_ratio=0.15,
        n_samples=len(y),
        n_features=X.shape[1],
        random_state=0,
    )
    space = lr_space(ctx)
    objective = Objective(space, X, y, splits, get_scorer("roc_auc"))
    params = {"technique": "balanced_class_weight"}
    value = objective(FixedTrial(params))
    expected = cross_val_score(
        LogisticRegression(class_weight="balanced"),
        X,
        y,
        cv=splits,
        scoring="roc_auc",
    ).mean()
    assert value == pytest.approx(expected)


@pytest.mark.parametrize("model", [ExtraTreesClassifier(5), LogisticRegression()])
def test_fold_auc_from_the_kept_probabilities(binary_data, model):
    # A model without decision_function is scored from the probabilities kept
    # for the decision rule: one predict_proba per fold instead of two, the
    # same score as the scorer's (string labels too).
    X, y = binary_data
    labels = np.array(["no", "yes"])[y]
    train, test = next(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    calls = []
    original = type(model).predict_proba

    @functools.wraps(original)  # the scorer reads the method's name
    def counted(self, X):
        calls.append(len(X))
        return original(self, X)

    scorer = get_scorer("roc_auc")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(model), "predict_proba", counted)
        score, *_, prediction, _ = _fit_and_score(
            clone(model).set_params(random_state=0), X, labels, train, test,
            scorer, classes=np.array(["no", "yes"]), auc=True,
        )  # fmt: skip
        n_calls = len(calls)
        fitted = clone(model).set_params(random_state=0).fit(X[train], labels[train])
        expected = scorer(fitted, X[test], labels[test])
    assert score == pytest.approx(expected, abs=1e-12)
    assert n_calls == 1
    assert prediction.raw.shape == (len(test), 2)


def test_edited_nearest_neighbours_with_string_labels(binary_data):
    X, y = binary_data
    labels = np.array(["no", "yes"])[y]
    ctx = make_context(classes=["no", "yes"])
    enn = get_technique("edited_nearest_neighbours").make(
        ctx, {"n_neighbors": 3, "kind_sel": "mode"}
    )
    assert isinstance(enn, IntegerLabels)
    X_res, y_res = enn.fit_resample(X, labels)
    # The rows and labels imbalanced-learn keeps with 0/1 labels, decoded.
    reference = EditedNearestNeighbours(n_neighbors=3, kind_sel="mode")
    X_int, y_int = reference.fit_resample(X, y)
    assert len(y_int) < len(y)  # some majority rows were edited out
    np.testing.assert_array_equal(X_res, X_int)
    np.testing.assert_array_equal(y_res, np.array(["no", "yes"])[y_int])


@pytest.mark.parametrize("labels", [("no", "yes"), (1, 2)])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_weights_reach_boosting_whatever_the_labels(labels, weighted):
    # scikit-learn's histogram gradient boosting reads a class_weight dict on
    # its encoded labels (0, 1): a dict keyed by "no"/"yes" or 1/2 made every
    # custom-weight trial on it fail (and "balanced" too, with sample weights).
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y01 = make_classification(n_samples=240, weights=[0.85], random_state=0)
    y = np.where(y01 == 1, labels[1], labels[0])
    weight = np.linspace(0.5, 2.0, len(y)) if weighted else None
    clf = AutoBalancedClassifier(
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
        techniques=["custom_class_weight", "balanced_class_weight"],
        n_trials=8,
        cv=3,
        pruning=False,
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    results = clf.cv_results_
    assert set(results["technique"]) >= {"custom_class_weight", "balanced_class_weight"}
    failed = results["state"] == "FAIL"
    assert not failed.any(), results["fail_reason"][failed]


@pytest.mark.parametrize(
    "technique", ["random_over_sampler", "smote", "smote_tomek", "random_under_sampler"]
)
def test_a_sampler_at_its_ratio_fits_a_fold_already_past_it(technique):
    # A screening or capped fold keeps every minority row up to a floor, so
    # it can be balanced already (60 and 60 rows); a float ratio of 1 made
    # imbalanced-learn raise ("required to remove samples from the minority
    # class"), and the over-sampling and combined families failed screening.
    space = lr_space(make_context())
    ratio = 1.0 if technique != "random_under_sampler" else 0.5
    config = space.default_config(technique, space.compatible[technique][0])
    config = dataclasses.replace(
        config, params={**config.params, "sampling_strategy": ratio}
    )
    pipe = space.build(config)
    rng = np.random.RandomState(0)
    X, y = rng.randn(120, 3), np.r_[np.zeros(60, int), np.ones(60, int)]
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (120, 2)
