"""Sample weights (issue 19): validation, the rule of resampled rows, and the
weights reaching every consumer (fold fits, inner scores, calibration,
threshold, refit, ensemble members, nested CV, learning curve, fingerprint).

Each consumer's test compares with a reference computed here with the
weights, by scikit-learn directly, and checks that the weights change it.
"""

import copy

import numpy as np
import optuna
import pytest
from imblearn import FunctionSampler
from imblearn.combine import SMOTEENN, SMOTETomek
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import check_random_state

from autobalance import (
    AutoBalancedClassifier,
    minority_learning_curve,
    nested_cross_validate,
)
from autobalance._build import (
    ClassWeightAdapter,
    balanced_weights,
    fit_weighted,
    insert_sampler,
)
from autobalance._calibration import Recalibration, prior_shift_factors
from autobalance._catalogue import BUILTIN_TECHNIQUES, make_default_algorithms
from autobalance._ensemble import SoftVotingEnsemble
from autobalance._plan import build_plan
from autobalance._space import SearchContext
from autobalance._study import data_fingerprint
from autobalance._threshold import check_threshold, tune_threshold
from autobalance._validation import leave_out_unweighted
from autobalance.exceptions import SkippedTechniqueWarning

CLASSES = np.array([0, 1])


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300,
        n_features=5,
        n_informative=3,
        weights=[0.85],
        flip_y=0.05,
        random_state=0,
    )
    # Weights that change every result: uneven, some rows left out (0).
    w = np.random.default_rng(0).choice([0.0, 0.3, 1.0, 4.0], size=len(y))
    w[y == 1] = np.random.default_rng(1).choice([0.5, 6.0], size=int(y.sum()))
    return X, y, w


def _search(estimator=None, **kwargs):
    """Logistic regression as it is: one trial, three folds, a fixed seed."""
    settings = {
        "techniques": ["none"],
        "n_trials": 1,
        "cv": 3,
        "random_state": 0,
        "ensemble": False,
        **kwargs,
    }
    return AutoBalancedClassifier(estimator or LogisticRegression(), **settings)


def _lr(X, y, w=None):
    return LogisticRegression().fit(X, y, sample_weight=w)


@pytest.fixture(scope="module")
def weighted(data):
    """A weighted search with a sigmoid recalibration and an F1 threshold."""
    X, y, w = data
    clf = _search(calibration="sigmoid", threshold="f1").fit(X, y, sample_weight=w)
    splits = list(clf.cv_.split(X, y))
    # The fold models as scikit-learn fits them with the weights.
    raw = [_lr(X[tr], y[tr], w[tr]).predict_proba(X[te]) for tr, te in splits]
    return clf, splits, raw


# -- validation ------------------------------------------------------------------
def _bad(y, kind):
    w = np.ones(len(y))
    if kind == "length":
        return w[:-1]
    if kind == "2d":
        return np.ones((len(y), 2))
    if kind == "text":
        return np.array(["a"] * len(y))
    if kind == "negative":
        w[3] = -1.0
    elif kind == "nan":
        w[5] = np.nan
    elif kind == "inf":
        w[5] = np.inf
    elif kind == "class_zero":
        w[y == 1] = 0.0
    elif kind == "all_zero":
        w[:] = 0.0
    elif kind == "fold_zero":
        # Two positive rows weigh: some fold's part has none of them.
        w[y == 1] = 0.0
        w[np.flatnonzero(y == 1)[:2]] = 1.0
    return w


@pytest.mark.parametrize(
    "kind, match",
    [
        ("length", r"sample_weight has 299 values but X has 300 rows; pass one"),
        ("2d", r"sample_weight has \(300, 2\) but X has 300 rows"),
        ("text", r"sample_weight must be numbers.*convert it"),
        ("negative", r"1 negative values \(the first at row 3: -1\).*>= 0"),
        ("nan", r"1 NaN or infinite values \(the first at row 5\); give every"),
        ("inf", r"1 NaN or infinite values"),
        ("class_zero", r"Every row of class 1 has a zero sample_weight.*positive"),
        ("all_zero", r"sample_weight is zero for every row.*positive weights"),
        ("fold_zero", r"Fold \d of cv has no row of class 1 with a positive"),
    ],
)
def test_bad_weights_are_refused_before_the_search(data, monkeypatch, kind, match):
    X, y, _ = data
    trials = []
    monkeypatch.setattr(
        "autobalance._classifier.run_study", lambda *a, **k: trials.append(1)
    )
    clf = _search()
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, sample_weight=_bad(y, kind))
    assert not trials
    assert not hasattr(clf, "cv_results_")


def test_bad_weights_are_refused_by_nested_cv_and_the_learning_curve(data):
    X, y, w = data
    with pytest.raises(ValueError, match="sample_weight has 299 values"):
        nested_cross_validate(_search(), X, y, sample_weight=w[:-1], outer_cv=3)
    with pytest.raises(ValueError, match="negative values"):
        minority_learning_curve(LogisticRegression(), X, y, sample_weight=-w)


# -- all ones --------------------------------------------------------------------
def test_all_ones_is_the_unweighted_search(data):
    X, y, _ = data
    settings = {
        "techniques": ["random_over_sampler", "smote", "balanced_class_weight"],
        "n_trials": 5,
        "threshold": "f1",
    }
    plain = _search(**settings).fit(X, y)
    ones = _search(**settings).fit(X, y, sample_weight=np.ones(len(y)))
    assert_allclose(
        ones.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"]
    )
    assert ones.best_params_ == plain.best_params_
    assert_allclose(ones.predict_proba(X), plain.predict_proba(X))
    assert ones.threshold_ == plain.threshold_


def test_weighted_path_with_ones_scores_as_unweighted(data):
    """The weighted fits and scores themselves (not only the shortcut for
    all-ones weights) give the unweighted scores with weights of one."""
    X, y, _ = data
    est = _search(techniques=["random_over_sampler", "smote", "cluster_centroids"])
    plan = build_plan(est, X, y)
    ones = copy.copy(plan.objective)
    ones.sample_weight = np.ones(len(y))
    for config in plan.space.grid():
        params = plan.space.optuna_params(config)
        plain = plan.objective(optuna.trial.FixedTrial(params))
        assert ones(optuna.trial.FixedTrial(params)) == pytest.approx(plain, abs=1e-12)


# -- the consumers ---------------------------------------------------------------
def test_fold_models_are_fitted_with_weights(data, weighted):
    X, y, _ = data
    clf, splits, raw = weighted
    folds = clf.decision_rule_.oof_folds
    for fold, ref, (tr, te) in zip(folds, raw, splits, strict=True):
        assert_allclose(fold.raw, ref, rtol=1e-6)
        plain = _lr(X[tr], y[tr]).predict_proba(X[te])
        assert not np.allclose(fold.raw, plain, rtol=1e-3)


def test_inner_scores_are_weighted(data, weighted):
    _, y, w = data
    clf, splits, raw = weighted
    for k, ((_, te), p) in enumerate(zip(splits, raw, strict=True)):
        score = clf.cv_results_[f"split{k}_test_score"][0]
        assert score == pytest.approx(
            roc_auc_score(y[te], p[:, 1], sample_weight=w[te])
        )
        assert score != pytest.approx(roc_auc_score(y[te], p[:, 1]), abs=1e-4)


def test_inner_scores_of_any_scoring_are_weighted(data):
    X, y, w = data
    clf = _search(scoring="average_precision").fit(X, y, sample_weight=w)
    for k, (tr, te) in enumerate(clf.cv_.split(X, y)):
        p = _lr(X[tr], y[tr], w[tr]).predict_proba(X[te])[:, 1]
        score = clf.cv_results_[f"split{k}_test_score"][0]
        assert score == pytest.approx(
            average_precision_score(y[te], p, sample_weight=w[te])
        )
        assert score != pytest.approx(average_precision_score(y[te], p), abs=1e-4)


def test_calibration_is_fitted_on_weighted_rows(data, weighted):
    X, y, w = data
    clf, splits, raw = weighted
    assert clf.calibration_["method"] == "sigmoid"
    tests = np.concatenate([te for _, te in splits])
    assert_allclose(clf.decision_rule_.out_of_fold()["weight"], w[tests])

    def corrected(weight):
        cal = Recalibration("sigmoid", 2).fit(
            np.concatenate(raw), "predict_proba", y[tests], CLASSES, weight
        )
        return cal.transform(clf.best_estimator_.predict_proba(X), "predict_proba")

    assert_allclose(clf.predict_proba(X), corrected(w[tests]), rtol=1e-5)
    assert not np.allclose(clf.predict_proba(X), corrected(None), rtol=1e-3)


def test_threshold_is_tuned_on_weighted_rows(data, weighted):
    _, y, w = data
    clf, splits, _ = weighted
    scores = [p[:, 1] for p in clf.decision_rule_.oof_proba]
    ys = [y[te] for _, te in splits]
    objective = check_threshold("f1", CLASSES)

    def tuned(weights):
        return tune_threshold(ys, scores, objective, 1, weights)[0]

    assert clf.threshold_ == pytest.approx(tuned([w[te] for _, te in splits]))
    assert clf.threshold_ != pytest.approx(tuned(None))


def test_refit_uses_the_weights(data, weighted):
    X, y, w = data
    clf, _, _ = weighted
    assert_allclose(clf.best_estimator_.coef_, _lr(X, y, w).coef_, rtol=1e-5)
    assert not np.allclose(clf.best_estimator_.coef_, _lr(X, y).coef_, rtol=1e-2)


def test_ensemble_members_and_score_are_weighted(data):
    X, y, w = data
    models = [("lr", LogisticRegression()), ("lr_c", LogisticRegression(C=2.0))]
    clf = _search(models, n_trials=2, ensemble=True).fit(X, y, sample_weight=w)
    assert clf.best_technique_ == "ensemble"
    for member, C in zip(clf.best_estimator_.estimators_, (1.0, 2.0), strict=True):
        ref = LogisticRegression(C=C).fit(X, y, sample_weight=w)
        assert_allclose(member.coef_, ref.coef_, rtol=1e-5)
    row = clf.best_index_
    for k, ((_, te), fold) in enumerate(
        zip(clf.cv_.split(X, y), clf.decision_rule_.oof_folds, strict=True)
    ):
        score = clf.cv_results_[f"split{k}_test_score"][row]
        p = fold.raw[:, 1]
        assert score == pytest.approx(roc_auc_score(y[te], p, sample_weight=w[te]))
        assert score != pytest.approx(roc_auc_score(y[te], p), abs=1e-4)


def test_soft_voting_ensemble_fits_members_with_weights(data):
    X, y, w = data
    ens = SoftVotingEnsemble(
        [("a", LogisticRegression()), ("b", LogisticRegression(C=0.1))]
    )
    fit_weighted(ens, X, y, w)
    for member, C in zip(ens.estimators_, (1.0, 0.1), strict=True):
        assert_allclose(
            member.coef_, LogisticRegression(C=C).fit(X, y, sample_weight=w).coef_
        )


def test_nested_cross_validation_is_weighted(data):
    X, y, w = data
    result = nested_cross_validate(
        _search(),
        X,
        y,
        sample_weight=w,
        outer_cv=3,
        random_state=0,
        return_estimators=True,
    )
    frame = result.to_frame()
    for k, ((tr, te), est) in enumerate(
        zip(result.splits, result.estimators, strict=True)
    ):
        # The inner search and its refit saw the outer training rows' weights.
        assert_allclose(
            est.best_estimator_.coef_, _lr(X[tr], y[tr], w[tr]).coef_, rtol=1e-5
        )
        p = est.predict_proba(X[te])[:, 1]
        weighted_auc = roc_auc_score(y[te], p, sample_weight=w[te])
        assert frame["roc_auc"][k] == pytest.approx(weighted_auc)
        assert frame["baseline_roc_auc"][k] == pytest.approx(weighted_auc)
        assert frame["roc_auc"][k] != pytest.approx(roc_auc_score(y[te], p), abs=1e-4)


def test_learning_curve_is_weighted(data):
    X, y, w = data
    curve = minority_learning_curve(
        LogisticRegression(),
        X,
        y,
        sample_weight=w,
        fractions=(0.5, 1.0),
        n_repeats=1,
        cv=3,
        random_state=0,
    )
    seed = check_random_state(0).randint(2**31 - 1)
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(folds.split(X, y)):
        p = _lr(X[tr], y[tr], w[tr]).predict_proba(X[te])[:, 1]
        ref = roc_auc_score(y[te], p, sample_weight=w[te])
        assert curve.scores[-1, k] == pytest.approx(ref)
        plain = roc_auc_score(y[te], _lr(X[tr], y[tr]).predict_proba(X[te])[:, 1])
        assert curve.scores[-1, k] != pytest.approx(plain, abs=1e-4)


def test_fingerprint_holds_the_weights(data):
    X, y, w = data
    settings = {"cv": 3}
    plain = data_fingerprint(X, y, settings)
    assert data_fingerprint(X, y, settings, sample_weight=None) == plain
    assert data_fingerprint(X, y, settings, sample_weight=w) != plain
    assert data_fingerprint(X, y, settings, sample_weight=2 * w) != data_fingerprint(
        X, y, settings, sample_weight=w
    )

    def fingerprint(**fit_params):
        return build_plan(_search(), X, y, fit_params=fit_params).fingerprint

    assert fingerprint(sample_weight=w) == fingerprint(sample_weight=w.copy())
    assert fingerprint(sample_weight=w) != fingerprint()
    assert fingerprint(sample_weight=np.ones(len(y))) == fingerprint()


def test_class_prior_of_a_subsample_is_weighted():
    X, y = make_classification(n_samples=600, weights=[0.9], random_state=3)
    w = np.where(y == 1, 3.0, 0.5) * np.random.default_rng(0).uniform(0.5, 1.5, len(y))
    plan = build_plan(
        _search(max_search_samples=200), X, y, fit_params={"sample_weight": w}
    )
    assert plan.rows is not None
    totals = [w[y == c].sum() for c in CLASSES]
    searched = [w[plan.rows][y[plan.rows] == c].sum() for c in CLASSES]
    assert_allclose(plan.prior.counts, totals)
    assert_allclose(plan.prior.searched_counts, searched)
    assert_allclose(plan.objective.sample_weight, w[plan.rows])


def test_prior_shift_uses_weighted_class_totals(data):
    X, y, w = data
    ros = next(t for t in BUILTIN_TECHNIQUES if t.name == "random_over_sampler")
    ctx = _context(y)
    pipe = insert_sampler(LogisticRegression(), ros.make(ctx, ros.default_params(ctx)))
    fit_weighted(pipe, X, y, w)
    kept = pipe.steps[0][1].sample_indices_
    change = [w[kept][y[kept] == c].sum() / w[y == c].sum() for c in CLASSES]
    factors = prior_shift_factors(pipe, y, CLASSES, w).factors
    assert factors[1] / factors[0] == pytest.approx(change[1] / change[0])
    # Balanced class weights balance the weighted totals, as factors of them.
    lr = fit_weighted(LogisticRegression(class_weight="balanced"), X, y, w)
    totals = np.array([w[y == c].sum() for c in CLASSES])
    factors = prior_shift_factors(lr, y, CLASSES, w).factors
    assert factors[1] / factors[0] == pytest.approx(totals[0] / totals[1])


# -- duplicated and dropped rows ---------------------------------------------------
def test_integer_weights_are_duplicated_rows(data):
    X, y, _ = data
    k = np.random.default_rng(2).integers(1, 4, size=len(y))
    weighted = _search(calibration="off").fit(X, y, sample_weight=k)
    duplicated = _search(calibration="off").fit(
        np.repeat(X, k, axis=0), np.repeat(y, k)
    )
    assert_allclose(
        weighted.best_estimator_.coef_, duplicated.best_estimator_.coef_, rtol=1e-4
    )
    assert_allclose(
        weighted.best_estimator_.intercept_,
        duplicated.best_estimator_.intercept_,
        rtol=1e-4,
    )


def test_zero_weights_are_dropped_rows(data):
    X, y, _ = data
    keep = np.random.default_rng(3).random(len(y)) < 0.7
    w = keep.astype(float)
    weighted = _search(calibration="off").fit(X, y, sample_weight=w)
    dropped = _search(calibration="off").fit(X[keep], y[keep])
    assert_allclose(
        weighted.best_estimator_.coef_, dropped.best_estimator_.coef_, rtol=1e-5
    )


# -- resampled rows --------------------------------------------------------------
class Recorder(ClassifierMixin, BaseEstimator):
    """Records the labels and weights its fit receives."""

    def fit(self, X, y, sample_weight=None):
        self.y_ = np.asarray(y)
        self.weight_ = sample_weight
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def _context(y):
    counts = np.bincount(y)
    return SearchContext(
        classes=CLASSES,
        class_counts=counts,
        min_train_counts=counts * 2 // 3,
        max_train_minority_ratio=counts.min() / counts.max(),
        n_samples=len(y),
        n_features=5,
        random_state=0,
    )


SAMPLERS = [t.name for t in BUILTIN_TECHNIQUES if t.kind == "sampler"]


@pytest.mark.parametrize("name", SAMPLERS)
def test_resampled_rows_follow_the_rule(data, name):
    X, y, w = data
    technique = next(t for t in BUILTIN_TECHNIQUES if t.name == name)
    ctx = _context(y)
    pipe = insert_sampler(
        Recorder(), technique.make(ctx, technique.default_params(ctx))
    )
    fit_weighted(pipe, X, y, w)
    sampler, model = pipe.steps[0][1], pipe.steps[-1][1]
    mean = {c: w[y == c].mean() for c in CLASSES}
    n = len(y)
    if hasattr(sampler, "sample_indices_"):
        # Kept rows and copies: the weight of the row they are.
        expected = w[sampler.sample_indices_]
    elif name == "cluster_centroids":
        # The majority's centroids at its mean weight; the minority kept.
        n_centroids = int(np.sum(model.y_ == 0))
        assert n_centroids < np.sum(y == 0)
        expected = np.concatenate([np.full(n_centroids, mean[0]), w[y == 1]])
    elif isinstance(sampler, SMOTETomek | SMOTEENN):
        n_new = sampler.smote_.sampling_strategy_[1]
        smoted = np.concatenate([w, np.full(n_new, mean[1])])
        cleaner = getattr(sampler, "tomek_", None) or sampler.enn_
        expected = smoted[cleaner.sample_indices_]
    else:
        # Synthetic minority rows, after the input rows: the class's mean.
        assert len(model.y_) > n and np.all(model.y_[n:] == 1)
        expected = np.concatenate([w, np.full(len(model.y_) - n, mean[1])])
    assert_allclose(model.weight_, expected)


def test_sampler_without_row_origins_is_refused(data):
    X, y, w = data

    def keep_half(X, y):
        return X[::2], y[::2]

    pipe = insert_sampler(Recorder(), FunctionSampler(func=keep_half, validate=False))
    with pytest.raises(
        ValueError, match="FunctionSampler does not tell which input row"
    ):
        fit_weighted(pipe, X, y, w)


def test_class_weights_multiply_sample_weights(data):
    X, y, w = data
    adapter = fit_weighted(ClassWeightAdapter(Recorder(), {0: 1.0, 1: 5.0}), X, y, w)
    assert_allclose(adapter.estimator_.weight_, w * np.where(y == 1, 5.0, 1.0))
    balanced = fit_weighted(ClassWeightAdapter(Recorder(), "balanced"), X, y, w)
    got = balanced.estimator_.weight_
    # "balanced" balances the classes' total weights.
    assert got[y == 0].sum() == pytest.approx(got[y == 1].sum())
    assert balanced.class_weight == balanced_weights(y, w)


# -- what cannot take weights --------------------------------------------------------
def test_models_without_sample_weight_are_left_out(data):
    X, y, w = data
    models = [("lr", LogisticRegression()), ("knn", KNeighborsClassifier())]
    with pytest.warns(
        SkippedTechniqueWarning, match=r"the models \['knn'\].*knn: its fit"
    ):
        clf = _search(models, n_trials=2).fit(X, y, sample_weight=w)
    assert list(clf.excluded_algorithms_) == ["knn"]
    assert set(clf.cv_results_["param_algorithm"]) == {"lr"}
    assert _search(models, n_trials=2).fit(X, y).excluded_algorithms_ == {}


def test_balanced_ensembles_without_sample_weight_are_left_out(data):
    _, y, _ = data
    ctx = _context(y)
    algorithms, techniques, left_algorithms, left_techniques = leave_out_unweighted(
        make_default_algorithms(), list(BUILTIN_TECHNIQUES), ctx
    )
    assert list(left_techniques) == ["easy_ensemble"]
    assert "balanced_random_forest" in {t.name for t in techniques}
    assert left_algorithms == {} and len(algorithms) == 3


def test_nothing_left_is_an_error(data):
    X, y, w = data
    with pytest.raises(ValueError, match="no model of the search takes sample weights"):
        _search(KNeighborsClassifier()).fit(X, y, sample_weight=w)
