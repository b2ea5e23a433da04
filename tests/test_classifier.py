"""Behaviour of AutoBalancedClassifier: fitting, results, integration, errors."""

import pickle

import numpy as np
import optuna
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.class_weight import compute_sample_weight

import autobalance._plan as plan_module
from autobalance import AutoBalancedClassifier, NoCompletedTrialsError
from autobalance._ensemble import clearly_better
from autobalance._study import MAX_REFUSED_IN_A_ROW

FAST = {"n_trials": 5, "cv": 3, "random_state": 0}


def test_fit_sets_documented_attributes(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y)
    assert clf.best_technique_ == clf.best_params_["technique"]
    assert clf.best_params_["algorithm"] == "logistic_regression"
    assert 0.5 < clf.best_score_ <= 1.0
    assert clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.refit_time_ >= 0
    assert isinstance(clf.study_, optuna.study.Study)
    assert clf.best_score_ == pytest.approx(clf.study_.best_value)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_cv_results_follow_sklearn_layout(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y)
    res = clf.cv_results_
    n = len(res["params"])
    assert n == len(clf.study_.trials)
    # A trial repeating a setup already scored takes no trial of n_trials.
    assert n - list(res["stop_reason"]).count("duplicate") == FAST["n_trials"]
    for key in (
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "split0_test_score",
        "split2_test_score",
        "mean_fit_time",
        "param_technique",
        "technique",
        "state",
    ):
        assert len(res[key]) == n, key
    assert "split3_test_score" not in res
    best = clf.best_index_
    assert res["rank_test_score"][best] == 1
    assert res["params"][best] == clf.best_params_
    assert res["mean_test_score"][best] == pytest.approx(clf.best_score_)
    complete = res["state"] == "COMPLETE"
    folds = np.column_stack([res[f"split{i}_test_score"] for i in range(3)])
    np.testing.assert_allclose(
        res["mean_test_score"][complete], folds[complete].mean(axis=1)
    )
    # Parameters of other techniques are masked, as in GridSearchCV.
    df = pd.DataFrame(res)
    assert {"params", "mean_test_score", "technique"} <= set(df.columns)


def test_none_baseline_is_always_evaluated(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["smote"], n_trials=3, cv=3, random_state=0
    ).fit(X, y)
    techniques = list(clf.cv_results_["technique"])
    assert techniques[0] == "none"
    assert set(techniques) <= {"none", "smote"}


def test_same_random_state_gives_identical_results(binary_data):
    X, y = binary_data
    # Randomness everywhere: the study's sampler, the folds, SMOTE and the forest.
    kw = {
        "estimator": [LogisticRegression(), ExtraTreesClassifier(n_estimators=10)],
        "techniques": ["smote", "random_over_sampler", "random_under_sampler"],
        "n_trials": 8,
        "cv": 3,
        "random_state": 3,
    }
    a = AutoBalancedClassifier(**kw).fit(X, y)
    b = AutoBalancedClassifier(**kw).fit(X, y)
    assert a.best_params_ == b.best_params_
    np.testing.assert_allclose(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_parallel_folds_match_sequential(binary_data):
    X, y = binary_data
    kw = {"estimator": LogisticRegression(), "n_trials": 6, "cv": 3, "random_state": 1}
    seq = AutoBalancedClassifier(**kw).fit(X, y)
    par = AutoBalancedClassifier(**kw, n_jobs=2).fit(X, y)
    assert seq.best_params_ == par.best_params_
    np.testing.assert_allclose(
        seq.cv_results_["split0_test_score"], par.cv_results_["split0_test_score"]
    )


def test_fresh_study_per_fit(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST)
    clf.fit(X, y)
    first = clf.study_
    clf.fit(X, y)
    assert clf.study_ is not first
    assert len(clf.study_.trials) == len(first.trials)
    repeats = list(clf.cv_results_["stop_reason"]).count("duplicate")
    assert len(clf.study_.trials) - repeats == FAST["n_trials"]


def test_optuna_logging_level_is_restored(binary_data):
    X, y = binary_data
    optuna.logging.set_verbosity(optuna.logging.DEBUG)
    try:
        AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y)
        assert optuna.logging.get_verbosity() == optuna.logging.DEBUG
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)


def test_duplicate_configurations_are_not_refitted(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["tomek_links"],
        n_trials=6,
        cv=3,
        random_state=0,
    ).fit(X, y)
    dupes = [t for t in clf.study_.trials if "duplicate_of" in t.user_attrs]
    # Only two distinct configurations exist (none, tomek_links): a repeat
    # takes no trial, so the search asks on until MAX_REFUSED_IN_A_ROW repeats.
    assert len(dupes) == MAX_REFUSED_IN_A_ROW
    for t in dupes:
        original = clf.study_.trials[t.user_attrs["duplicate_of"]]
        assert t.value == original.value


def test_repeated_setups_take_no_trial_of_n_trials(binary_data):
    # A user's model without a parameter space: the sampler soon proposes
    # "none" or class weights again (4 of 12 trials before the fix).
    X, y = binary_data
    clf = AutoBalancedClassifier(
        LogisticRegression(), n_trials=12, cv=3, random_state=0
    ).fit(X, y)
    reasons = list(clf.cv_results_["stop_reason"])
    assert "duplicate" in reasons
    # Every one of the 12 trials asked for evaluated a setup not seen before.
    assert len(reasons) - reasons.count("duplicate") == 12
    assert clf.search_progress_["stopped_early"] is False


def test_a_space_smaller_than_n_trials_stops_after_repeats_and_says_so(
    binary_data, tmp_path
):
    from autobalance import report

    X, y = binary_data
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none", "balanced_class_weight"],
        n_trials=50,
        cv=3,
        random_state=0,
    ).fit(X, y)
    results, progress = clf.cv_results_, clf.search_progress_
    assert progress["ended"] == "early_stop"
    assert list(results["stop_reason"]).count("complete") == 2
    assert len(results["params"]) == 2 + MAX_REFUSED_IN_A_ROW
    detail = progress["stop_detail"]
    assert progress["stopped_early"] is True
    assert detail["reason"] == "repeated_setups"
    assert detail["repeats_in_a_row"] == MAX_REFUSED_IN_A_ROW
    stopped = results["trial_number"][results["early_stop"]]
    assert list(stopped) == [detail["trial_number"]]
    page = report(clf, tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"after trial {detail['trial_number']}: the sampler proposed" in page


# -- honesty -------------------------------------------------------------------
class RecordingSampler(BaseEstimator):
    """Adds 3 synthetic minority rows, marked with id -1, and records its input."""

    seen = []

    def fit_resample(self, X, y):
        RecordingSampler.seen.append(np.sort(X[:, 0]))
        minority = y == 1
        synthetic = X[minority][:3].copy()
        synthetic[:, 0] = -1.0
        return np.vstack([X, synthetic]), np.concatenate([y, y[minority][:3]])


class RecordingModel(LogisticRegression):
    scored = []

    def decision_function(self, X):
        RecordingModel.scored.append(np.sort(np.asarray(X)[:, 0]))
        return super().decision_function(X)


def test_no_resampled_row_reaches_a_validation_fold(binary_data):
    X, y = binary_data
    X = np.column_stack([np.arange(len(X), dtype=float), X])  # column 0 = row id
    RecordingSampler.seen.clear()
    RecordingModel.scored.clear()
    clf = AutoBalancedClassifier(
        RecordingModel(),
        techniques=[RecordingSampler()],
        n_trials=4,
        cv=3,
        pruning=False,
        random_state=0,
    ).fit(X, y)
    folds = list(clf.cv_.split(X, y))
    train_sets = [np.sort(tr.astype(float)) for tr, _ in folds]
    test_sets = [np.sort(te.astype(float)) for _, te in folds]
    assert RecordingSampler.seen, "the custom sampler never ran"
    for ids in RecordingSampler.seen:
        # The sampler only ever sees one whole training fold, or all rows at refit.
        assert any(np.array_equal(ids, t) for t in train_sets) or len(ids) == len(X)
    assert RecordingModel.scored
    for ids in RecordingModel.scored:
        assert -1.0 not in ids  # no synthetic row is ever scored
        assert any(np.array_equal(ids, t) for t in test_sets)


def test_resampled_rows_do_not_inflate_the_inner_score():
    # Pure noise: an honest cross-validated ROC AUC is near 0.5 for every setup.
    # Over-sampling before the split puts copies of a validation fold's
    # minority rows into its training part; a fully grown tree memorises them
    # and the inner score jumps far above 0.5, as the leaky computation shows.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8))
    y = (rng.random(300) < 0.15).astype(int)
    tree = DecisionTreeClassifier(random_state=0)
    clf = AutoBalancedClassifier(
        tree, techniques=["random_over_sampler"], n_trials=6, cv=3, random_state=0
    ).fit(X, y)
    X_leak, y_leak = RandomOverSampler(random_state=0).fit_resample(X, y)
    leaky = cross_val_score(tree, X_leak, y_leak, cv=clf.cv_, scoring="roc_auc")
    assert leaky.mean() > 0.8
    res = clf.cv_results_
    oversampled = (res["technique"] == "random_over_sampler") & (
        res["state"] == "COMPLETE"
    )
    assert oversampled.sum() >= 3
    assert np.all(res["mean_test_score"][oversampled] < 0.65)
    assert abs(clf.best_score_ - 0.5) < 0.1
    # The refitted model and its decision rule do not leak either.
    outer = cross_validate(clf, X, y, cv=3, scoring="roc_auc")
    assert abs(outer["test_score"].mean() - 0.5) < 0.1


# -- scikit-learn integration --------------------------------------------------
def test_clone_pickle_and_gridsearch(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST)
    assert repr(clone(clf).get_params()) == repr(clf.get_params())
    clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    grid = GridSearchCV(clf, {"n_trials": [2, 4]}, cv=3).fit(X, y)
    # score() uses the search's scorer (ROC AUC), not accuracy, so
    # GridSearchCV ranks by AUC: each split score is the fold's ROC AUC.
    train, test = next(StratifiedKFold(3).split(X, y))
    for i, n_trials in enumerate(grid.cv_results_["param_n_trials"]):
        est = clone(clf).set_params(n_trials=n_trials).fit(X[train], y[train])
        auc = roc_auc_score(y[test], est.predict_proba(X[test])[:, 1])
        assert grid.cv_results_["split0_test_score"][i] == pytest.approx(auc)
    best = int(np.argmax(grid.cv_results_["mean_test_score"]))
    assert grid.best_params_ == grid.cv_results_["params"][best]
    # The refitted clone ran the budget it was given.
    assert len(grid.best_estimator_.study_.trials) == grid.best_params_["n_trials"]


def test_last_step_of_a_pipeline_and_cross_validate(binary_data):
    X, y = binary_data
    pipe = make_pipeline(
        StandardScaler(), AutoBalancedClassifier(LogisticRegression(), **FAST)
    )
    out = cross_validate(pipe, X, y, cv=3, scoring="roc_auc")
    assert out["test_score"].mean() > 0.7


def test_sampler_goes_before_the_final_step_of_a_pipeline(binary_data):
    X, y = binary_data
    model = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())])
    clf = AutoBalancedClassifier(model, techniques=["smote"], **FAST).fit(X, y)
    built = clf._estimator_from_params(
        {
            "technique": "smote",
            "algorithm": "logistic_regression",
            "k_neighbors": 3,
            "sampling_strategy": 0.5,
        }
    )
    assert [name for name, _ in built.steps] == ["scale", "sampler", "lr"]
    # A nested pipeline in front is spliced: imblearn refuses nested pipelines.
    nested = Pipeline(
        [("pre", make_pipeline(StandardScaler())), ("lr", LogisticRegression())]
    )
    clf = AutoBalancedClassifier(nested, techniques=["smote"], **FAST).fit(X, y)
    assert "FAIL" not in set(clf.cv_results_["state"])


def test_methods_are_available_only_when_the_model_has_them(binary_data):
    X, y = binary_data
    lr = AutoBalancedClassifier(LogisticRegression(), **FAST)
    assert hasattr(lr, "decision_function")
    et = AutoBalancedClassifier(ExtraTreesClassifier(n_estimators=10), **FAST)
    assert not hasattr(et, "decision_function")
    et.fit(X, y)
    assert not hasattr(et, "decision_function")
    assert et.predict(X).shape == (len(X),)


def test_score_uses_the_search_metric(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y)
    from sklearn.metrics import roc_auc_score

    assert clf.score(X, y) == pytest.approx(
        roc_auc_score(y, clf.predict_proba(X)[:, 1])
    )


# -- techniques and models -----------------------------------------------------
def test_class_weight_uses_sample_weight_when_model_has_no_class_weight(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        GaussianNB(), techniques=["balanced_class_weight"], **FAST
    ).fit(X, y)
    built = clf._estimator_from_params(
        {"technique": "balanced_class_weight", "algorithm": "gaussian_nb"}
    )
    assert type(built).__name__ == "ClassWeightAdapter"
    fitted = built.fit(X, y)
    # The same model as GaussianNB fitted with balanced per-row weights, which
    # moves its class prior to 1:1; unweighted it keeps the 9:1 prior.
    weights = compute_sample_weight("balanced", y)
    weighted = GaussianNB().fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(fitted.predict_proba(X), weighted.predict_proba(X))
    np.testing.assert_allclose(fitted.estimator_.class_prior_, [0.5, 0.5])


def test_inapplicable_techniques_are_left_out_with_a_reason(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        KNeighborsClassifier(),
        techniques=["balanced_class_weight", "random_under_sampler"],
        **FAST,
    ).fit(X, y)
    assert "balanced_class_weight" in clf.excluded_techniques_
    assert "class_weight" in clf.excluded_techniques_["balanced_class_weight"]
    assert "balanced_class_weight" not in set(clf.cv_results_["technique"])


def test_neighbour_techniques_fit_tiny_minorities():
    # 6 positives, cv=3: 4 per training fold, so k_neighbors <= 3 everywhere.
    X, y = make_classification(n_samples=200, weights=[0.97], random_state=1)
    y[:] = 0
    y[:6] = 1
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["smote", "adasyn", "smote_tomek", "borderline_smote"],
        n_trials=12,
        cv=3,
        random_state=0,
    ).fit(X, y)
    res = clf.cv_results_
    for params, reason in zip(res["params"], res["fail_reason"], strict=True):
        k = params.get("k_neighbors", params.get("n_neighbors"))
        if k is not None:
            assert k <= 3
        assert "k_neighbors" not in reason and "n_neighbors" not in reason


def test_default_portfolio_searches_models_and_ensembles(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(n_trials=9, cv=3, random_state=0).fit(X, y)
    algorithms = set(clf.cv_results_["param_algorithm"].compressed())
    assert {
        "logistic_regression",
        "extra_trees",
        "hist_gradient_boosting",
    } <= algorithms
    assert "balanced_random_forest" in set(clf.cv_results_["technique"])
    assert "easy_ensemble" in clf.search_space_.techniques
    assert "FAIL" not in set(clf.cv_results_["state"]), clf.cv_results_["fail_reason"]


def test_user_portfolio_names_and_pairs(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        [("lr", LogisticRegression()), GaussianNB()], n_trials=6, cv=3, random_state=0
    ).fit(X, y)
    algos = set(clf.cv_results_["param_algorithm"].compressed()) - {None}
    assert algos == {"lr", "gaussian_nb"}
    assert "balanced_random_forest" not in set(clf.cv_results_["technique"])


def test_hist_gradient_boosting_accepts_missing_values(binary_data):
    X, y = binary_data
    X = X.copy()
    X[::7, 0] = np.nan
    clf = AutoBalancedClassifier(HistGradientBoostingClassifier(max_iter=20), **FAST)
    clf.fit(X, y)
    assert clf.__sklearn_tags__().input_tags.allow_nan
    assert "smote" in clf.excluded_techniques_
    assert clf.predict(X).shape == (len(X),)


class FailingClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("boom: this model cannot be fitted")

    def predict(self, X):  # pragma: no cover - never fitted
        return np.zeros(len(X))


def test_no_completed_trial_raises_a_summary(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(FailingClassifier(), n_trials=3, cv=3, random_state=0)
    with pytest.raises(NoCompletedTrialsError, match="3 x RuntimeError: boom"):
        clf.fit(X, y)


# -- labels --------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["neg", "pos"]),
        np.array([-1, 1]),
        np.array([3, 7]),
        np.array([False, True]),
    ],
    ids=["str", "minus-one", "int", "bool"],
)
def test_labels_round_trip(binary_data, labels):
    X, y = binary_data
    y_user = labels[y]
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y_user)
    np.testing.assert_array_equal(clf.classes_, labels)
    # The same search as on 0/1 labels, answered in the user's labels.
    ref = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y)
    pred = clf.predict(X)
    assert pred.dtype == labels.dtype
    np.testing.assert_array_equal(pred, labels[ref.predict(X)])
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X))
    # Column 1 is the probability of labels[1]: it ranks those rows first.
    assert roc_auc_score(y_user == labels[1], clf.predict_proba(X)[:, 1]) > 0.85
    assert (pred == y_user).mean() > np.mean(y == 0)  # beats the majority


def test_pandas_categorical_labels_and_dataframe(binary_data):
    X, y = binary_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    target = pd.Series(pd.Categorical(np.array(["no", "yes"])[y]))
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(df, target)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    pred = clf.predict(df)
    np.testing.assert_array_equal(pred, clf.classes_[clf.predict_proba(df).argmax(1)])
    assert roc_auc_score(target == "yes", clf.predict_proba(df)[:, 1]) > 0.85
    assert (pred == target).mean() > np.mean(y == 0)  # beats the majority
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[df.columns[::-1]])


def test_multiclass_probabilities_follow_classes_and_rank_the_true_class(
    multiclass_data,
):
    X, y = multiclass_data
    # Labels whose sorted order differs from the class sizes' order, so a
    # column in the wrong place shows.
    names = np.array(["zeta", "alpha", "mid"])
    labels = names[y]
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["alpha", "mid", "zeta"])
    assert "multi_class=ovr" in repr(clf.scorer_)
    assert "custom_class_weight" not in clf.excluded_techniques_
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Column j is the probability of classes_[j]: it ranks that class's rows
    # above the others (the data are separable, well above chance).
    for j, label in enumerate(clf.classes_):
        assert roc_auc_score(labels == label, proba[:, j]) > 0.85, label
    # The true class gets more probability than the other classes on average.
    true_col = np.searchsorted(clf.classes_, labels)
    assert proba[np.arange(len(X)), true_col].mean() > 0.6
    # threshold=None: predict is the most probable class.
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert (clf.predict(X) == labels).mean() > 0.8
    # The probabilities depend on the row (not one constant row).
    assert len(np.unique(proba.round(6), axis=0)) > len(X) // 2


# -- bad input, rejected before any trial runs ---------------------------------
@pytest.fixture
def no_search(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the search started before the input was checked")

    monkeypatch.setattr(plan_module, "Objective", forbidden)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (
            lambda X, y: (
                np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X),
                y,
            ),
            "infinity",
        ),
        (
            lambda X, y: (
                np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X),
                y,
            ),
            "missing values",
        ),
        (lambda X, y: (X, np.zeros_like(y)), "only one class"),
        (lambda X, y: (X, np.r_[1, np.zeros(len(y) - 1, dtype=int)]), "only 1 row"),
        (lambda X, y: (X, np.linspace(0, 1, len(y))), "Unknown label type"),
        (lambda X, y: (X, np.column_stack([y, y])), "1d array"),
        (
            lambda X, y: (
                X,
                np.r_[np.ones(2, dtype=int), np.zeros(len(y) - 2, dtype=int)],
            ),
            "fewer than cv=3",
        ),
    ],
    ids=["inf", "nan", "one-class", "one-minority", "continuous", "multilabel", "cv"],
)
def test_bad_input_is_rejected_before_the_search(binary_data, no_search, mutate, match):
    X, y = binary_data
    X_bad, y_bad = mutate(X.astype(float), y)
    with pytest.raises(ValueError, match=match):
        AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X_bad, y_bad)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_trials": None, "timeout": None}, "never stop"),
        ({"storage": "sqlite:///x.db"}, "storage and study_name go together"),
        ({"techniques": ["smoot"]}, "Unknown technique 'smoot'"),
        ({"techniques": ["smote", "smote"]}, "more than once"),
        ({"estimator": LinearRegression()}, "not a scikit-learn classifier"),
        ({"estimator": StandardScaler()}, "'estimator' parameter"),
        ({"n_trials": 0}, "n_trials"),
        ({"cv": 1}, "'cv' parameter"),
    ],
)
def test_bad_parameters_are_rejected_before_the_search(
    binary_data, no_search, params, match
):
    X, y = binary_data
    kw = {"estimator": LogisticRegression(), **FAST, **params}
    with pytest.raises(ValueError, match=match):
        AutoBalancedClassifier(**kw).fit(X, y)


def test_wrong_feature_count_at_predict(binary_data):
    X, y = binary_data
    clf = AutoBalancedClassifier(LogisticRegression(), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


def test_ensemble_of_the_best_setup_of_each_model(binary_data):
    X, y = binary_data
    kw = {
        "estimator": [
            ("lr", LogisticRegression()),
            ("nb", GaussianNB()),
            ("lr_weak", LogisticRegression(C=0.01)),
        ],
        "techniques": ["balanced_class_weight"],
        "n_trials": 6,
        "cv": 3,
        "random_state": 0,
    }
    clf = AutoBalancedClassifier(**kw).fit(X, y)
    res = clf.cv_results_
    row = list(res["technique"]).index("ensemble")
    members = res["params"][row]["members"]
    # The best setup of each model the best model does not beat clearly.
    splits = np.column_stack([res[f"split{i}_test_score"] for i in range(3)])
    best_of = {}
    for i, params in enumerate(res["params"]):
        name = params.get("algorithm")
        if i != row and (
            name not in best_of or splits[i].mean() > best_of[name].mean()
        ):
            best_of[name] = splits[i]
    top = max(best_of.values(), key=np.mean)
    close = {n for n, s in best_of.items() if not clearly_better(top, s)}
    assert len(close) >= 2
    assert {m["algorithm"] for m in members} == close
    # Its fold scores are the AUC of the averaged out-of-fold probabilities.
    folds = list(clf.cv_.split(X, y))
    from sklearn.metrics import roc_auc_score

    for i, (train, test) in enumerate(folds):
        probas = []
        for m in members:
            est = clf._estimator_from_params(m)
            # The search scored the cheaper fidelity; these members have none.
            probas.append(est.fit(X[train], y[train]).predict_proba(X[test])[:, 1])
        # The members' mean log-odds (probabilities clipped away from 0 and 1).
        p = np.clip(probas, 1e-6, 1.0)
        q = np.clip(1 - np.asarray(probas), 1e-6, 1.0)
        expected = roc_auc_score(y[test], np.mean(np.log(p) - np.log(q), axis=0))
        assert res[f"split{i}_test_score"][row] == pytest.approx(expected, abs=1e-6)
    # When it wins, the refitted model averages the members.
    ensemble = clf._estimator_from_params(res["params"][row]).fit(X, y)
    refitted = [clf._estimator_from_params(m).fit(X, y) for m in members]
    p = np.clip([m.predict_proba(X)[:, 1] for m in refitted], 1e-6, 1 - 1e-6)
    positive = expit(np.mean(np.log(p) - np.log1p(-p), axis=0))
    np.testing.assert_allclose(ensemble.predict_proba(X)[:, 1], positive, atol=1e-6)
    np.testing.assert_allclose(ensemble.predict_proba(X).sum(axis=1), 1.0)
    # Off: no ensemble row.
    off = AutoBalancedClassifier(**kw, ensemble=False).fit(X, y)
    assert "ensemble" not in set(off.cv_results_["technique"])
