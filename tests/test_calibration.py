"""Probabilities on the original class prior (issue 7)."""

import numpy as np
import pytest
from imblearn.ensemble import BalancedRandomForestClassifier
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.svm import LinearSVC

from autobalance import AutoBalancedClassifier
from autobalance._calibration import fit_calibration, prior_shift_factors


def _search(estimator=None, **kwargs):
    """A small search: logistic regression, 3 folds, a fixed seed."""
    settings = {"n_trials": 2, "cv": 3, "random_state": 0, **kwargs}
    return AutoBalancedClassifier(estimator or LogisticRegression(), **settings)


@pytest.fixture(scope="module")
def prior_data():
    """A known prior: 10 % positives, in a training and a large test half."""
    X, y = make_classification(
        n_samples=3000,
        n_features=6,
        n_informative=4,
        weights=[0.9],
        flip_y=0.02,
        random_state=0,
    )
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)


FAMILIES = {
    "random_over_sampling": (
        make_pipeline(RandomOverSampler(random_state=0), LogisticRegression()),
        {"prior_shift"},
    ),
    "random_under_sampling": (
        make_pipeline(RandomUnderSampler(random_state=0), LogisticRegression()),
        {"prior_shift"},
    ),
    "class_weight": (LogisticRegression(class_weight="balanced"), {"prior_shift"}),
    "smote": (
        make_pipeline(SMOTE(random_state=0), LogisticRegression()),
        {"sigmoid", "isotonic"},
    ),
    "ensemble": (
        BalancedRandomForestClassifier(
            n_estimators=40,
            sampling_strategy="all",
            replacement=True,
            bootstrap=False,
            random_state=0,
        ),
        {"sigmoid", "isotonic"},
    ),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_corrected_probabilities_average_to_the_true_rate(prior_data, family):
    X_train, X_test, y_train, y_test = prior_data
    template, methods = FAMILIES[family]
    splits = list(
        StratifiedKFold(3, shuffle=True, random_state=0).split(X_train, y_train)
    )
    fitted = template.fit(X_train, y_train)
    technique_kind = "estimator" if family == "ensemble" else None
    correction, info, _, _ = fit_calibration(
        template,
        fitted,
        X_train,
        y_train,
        splits,
        np.array([0, 1]),
        technique_kind=technique_kind,
    )
    assert info["method"] in methods
    raw = fitted.predict_proba(X_test)
    corrected = correction.transform(raw, "predict_proba")
    rate = y_test.mean()
    # Balancing inflates the predicted risk several-fold ...
    assert raw[:, 1].mean() > rate + 0.08
    # ... the correction brings it back to the prior of the data.
    assert abs(corrected[:, 1].mean() - rate) < 0.025
    np.testing.assert_allclose(corrected.sum(axis=1), 1.0)
    assert info["oof_brier_after"] < info["oof_brier_before"]
    assert info["oof_log_loss_after"] < info["oof_log_loss_before"]
    # Every correction keeps the ranking (isotonic breaks its ties by the
    # model's score): ROC AUC is unchanged.
    assert info["oof_roc_auc_after"] == pytest.approx(
        info["oof_roc_auc_before"], abs=1e-9
    )
    assert roc_auc_score(y_test, corrected[:, 1]) == pytest.approx(
        roc_auc_score(y_test, raw[:, 1]), abs=1e-9
    )


def test_prior_shift_reads_the_counts_the_sampler_produced():
    y = np.array([0] * 80 + [1] * 20)
    X = np.random.default_rng(0).normal(size=(100, 2)) + y[:, None]
    pipe = make_pipeline(
        RandomUnderSampler(sampling_strategy=0.5, random_state=0), LogisticRegression()
    ).fit(X, y)
    shift = prior_shift_factors(pipe, y, np.array([0, 1]))
    # 40 of 80 negatives kept, all 20 positives: positives' odds doubled.
    assert shift.exact
    assert shift.factors[1] / shift.factors[0] == pytest.approx(2.0)
    weighted = LogisticRegression(class_weight={0: 1.0, 1: 7.0}).fit(X, y)
    shift = prior_shift_factors(weighted, y, np.array([0, 1]))
    assert shift.factors[1] / shift.factors[0] == pytest.approx(7.0)


def test_classifier_corrects_by_default_and_keeps_the_ranking(prior_data):
    X_train, X_test, y_train, y_test = prior_data
    clf = _search(
        techniques=["random_under_sampler", "balanced_class_weight", "smote"],
        n_trials=5,
    ).fit(X_train, y_train)
    info = clf.calibration_
    # The correction follows the winner: class weights and random
    # under-sampling change the class prior by a factor known exactly (their
    # counts), so they get the exact prior shift, SMOTE a recalibration.
    n_neg, n_pos = np.bincount(y_train)
    if clf.best_technique_ == "balanced_class_weight":
        odds_factor, tol = n_neg / n_pos, 1e-9
    elif clf.best_technique_ == "random_under_sampler":
        # Kept rows are whole numbers: the ratio is met up to rounding.
        odds_factor = clf.best_params_["sampling_strategy"] * n_neg / n_pos
        tol = 0.02
    else:
        odds_factor = None
    assert clf.best_technique_ != "none", "nothing to correct: pick other data"
    if odds_factor is None:
        assert clf.best_technique_ == "smote"
        assert info["method"] == min(info["candidates"], key=info["candidates"].get)
    else:
        assert info["method"] == "prior_shift"
        assert info["factors"][1] / info["factors"][0] == pytest.approx(
            odds_factor, rel=tol
        )
    # The out-of-fold predictions come from the search's folds and models.
    assert info["oof_roc_auc_before"] == pytest.approx(clf.best_score_, abs=1e-9)
    proba = clf.predict_proba(X_test)
    assert abs(proba[:, 1].mean() - y_test.mean()) < 0.03
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(1)])
    # decision_function ranks like the corrected probabilities.
    d = clf.decision_function(X_test)
    np.testing.assert_array_equal(d > 0, proba[:, 1] > 0.5)
    assert clf.score(X_test, y_test) == pytest.approx(
        roc_auc_score(y_test, clf.best_estimator_.predict_proba(X_test)[:, 1])
    )
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba)
    # The out-of-fold predictions behind it: every training row once, unseen.
    oof = clf.decision_rule_.out_of_fold()
    np.testing.assert_array_equal(np.sort(oof["row"]), np.arange(len(y_train)))
    np.testing.assert_array_equal(oof["y"], y_train[oof["row"]])
    assert abs(oof["proba"][:, 1].mean() - y_train.mean()) < 0.02


def test_calibration_off_is_the_raw_model(prior_data):
    X_train, X_test, y_train, _ = prior_data
    clf = _search(
        techniques=["balanced_class_weight"],
        n_trials=3,
        calibration=None,
    ).fit(X_train, y_train)
    assert clf.calibration_["method"] == "none"
    raw = clf.best_estimator_
    np.testing.assert_array_equal(clf.predict_proba(X_test), raw.predict_proba(X_test))
    np.testing.assert_array_equal(clf.predict(X_test), raw.predict(X_test))
    np.testing.assert_array_equal(
        clf.decision_function(X_test), raw.decision_function(X_test)
    )


@pytest.mark.parametrize("method", ["prior_shift", "sigmoid", "isotonic"])
def test_forced_methods_and_multiclass(method):
    X, y = make_classification(
        n_samples=900,
        n_features=6,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.75, 0.17, 0.08],
        random_state=0,
    )
    clf = _search(
        techniques=["balanced_class_weight"],
        n_trials=2,
        calibration=method,
    ).fit(X, y)
    assert clf.calibration_["method"] == method
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    counts = np.bincount(y)
    np.testing.assert_allclose(proba.mean(axis=0), counts / len(y), atol=0.03)
    # Each column ranks its own class's rows first.
    for j in range(3):
        assert roc_auc_score(y == j, proba[:, j]) > 0.85, j
    assert clf.best_technique_ == "balanced_class_weight", "no weight to correct"
    if method == "prior_shift":
        # Balanced weights raise each class's odds by 1 / its count: the
        # factors, scaled to 1 for the rarest class, are n_rarest / n_class.
        factors = [clf.calibration_["factors"][c] for c in range(3)]
        np.testing.assert_allclose(factors, counts.min() / counts, rtol=1e-9)
    else:
        # A forced recalibration is the only candidate; no prior factors.
        assert list(clf.calibration_["candidates"]) == [method]
        assert clf.calibration_["factors"] is None


def test_scores_that_are_not_probabilities_are_recalibrated(prior_data):
    X_train, X_test, y_train, y_test = prior_data
    clf = _search(
        LinearSVC(),
        techniques=["balanced_class_weight"],
        n_trials=2,
    ).fit(X_train, y_train)
    assert clf.calibration_["method"] in ("sigmoid", "isotonic")
    assert clf.calibration_["oof_brier_before"] is None
    proba = clf.predict_proba(X_test)
    assert abs(proba[:, 1].mean() - y_test.mean()) < 0.03
    off = _search(LinearSVC(), calibration="off").fit(X_train, y_train)
    assert not hasattr(off, "predict_proba")


def test_bad_calibration_value_is_rejected():
    X, y = make_classification(n_samples=60, weights=[0.8], random_state=0)
    with pytest.raises(ValueError, match="calibration"):
        AutoBalancedClassifier(LogisticRegression(), calibration="platt").fit(X, y)


def test_isotonic_keeps_the_ranking(prior_data):
    X_train, X_test, y_train, y_test = prior_data
    template = make_pipeline(SMOTE(random_state=0), LogisticRegression())
    splits = list(StratifiedKFold(3).split(X_train, y_train))
    fitted = template.fit(X_train, y_train)
    correction, info, _, _ = fit_calibration(
        template, fitted, X_train, y_train, splits, np.array([0, 1]), method="isotonic"
    )
    raw = fitted.predict_proba(X_test)
    corrected = correction.transform(raw, "predict_proba")
    assert info["method"] == "isotonic"
    assert len(np.unique(corrected[:, 1])) == len(np.unique(raw[:, 1]))
    assert roc_auc_score(y_test, corrected[:, 1]) == pytest.approx(
        roc_auc_score(y_test, raw[:, 1]), abs=1e-12
    )
    assert abs(corrected[:, 1].mean() - y_test.mean()) < 0.025


def test_auto_prior_shift_gives_way_when_the_model_ignores_the_weights(prior_data):
    from sklearn.ensemble import ExtraTreesClassifier

    # Fully grown trees have pure leaves whatever the class weights, so their
    # probabilities keep the data's prior; dividing their odds by the
    # "exact" factor of balanced weights (9) left the minority's predicted
    # risk several times too low.
    X_train, X_test, y_train, y_test = prior_data
    template = ExtraTreesClassifier(
        n_estimators=60, class_weight="balanced", random_state=0
    )
    splits = list(
        StratifiedKFold(3, shuffle=True, random_state=0).split(X_train, y_train)
    )
    fitted = template.fit(X_train, y_train)
    correction, info, _, _ = fit_calibration(
        template,
        fitted,
        X_train,
        y_train,
        splits,
        np.array([0, 1]),
        technique_kind="class_weight",
    )
    assert info["method"] in {"sigmoid", "isotonic"}, info["reason"]
    assert set(info["candidates"]) == {"prior_shift", "sigmoid", "isotonic"}
    assert info["candidates"][info["method"]] < info["candidates"]["prior_shift"]
    assert "does not learn the reweighted prior" in info["reason"]
    corrected = correction.transform(fitted.predict_proba(X_test), "predict_proba")
    assert corrected[:, 1].mean() == pytest.approx(y_test.mean(), rel=0.25)
