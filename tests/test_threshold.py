"""Decision thresholds tuned on out-of-fold predictions (issue 7)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV

from autobalance import AutoBalancedClassifier
from autobalance._threshold import check_threshold, tune_threshold


def _search(estimator=None, **kwargs):
    """A small search: logistic regression, 3 folds, a fixed seed."""
    settings = {"n_trials": 2, "cv": 3, "random_state": 0, **kwargs}
    return AutoBalancedClassifier(estimator or LogisticRegression(), **settings)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=600,
        n_features=6,
        n_informative=3,
        weights=[0.88],
        flip_y=0.05,
        random_state=1,
    )
    return X, y


def _cost(y_true, y_pred):
    _, fp, fn, _ = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return (1.0 * fp + 5.0 * fn) / len(y_true)


OBJECTIVES = {
    "f1": ("f1", "f1"),
    "balanced_accuracy": ("balanced_accuracy", "balanced_accuracy"),
    "cost": ({"fp": 1, "fn": 5}, make_scorer(_cost, greater_is_better=False)),
}


@pytest.mark.parametrize(
    "name, calibration", [("f1", "off"), ("balanced_accuracy", "auto"), ("cost", "off")]
)
def test_threshold_matches_tuned_threshold_classifier_cv(data, name, calibration):
    X, y = data
    threshold, scoring = OBJECTIVES[name]
    clf = _search(
        techniques=["none"],
        n_trials=1,
        calibration=calibration,
        threshold=threshold,
    ).fit(X, y)
    assert clf.calibration_["method"] == "none"  # no balancing: nothing to correct
    ref = TunedThresholdClassifierCV(
        clf._estimator_from_params(clf.best_params_), scoring=scoring, cv=clf.cv_
    ).fit(X, y)
    assert clf.threshold_ == pytest.approx(ref.best_threshold_, abs=1e-9)
    assert clf.threshold_info_["score"] == pytest.approx(ref.best_score_, abs=1e-9)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_youden_is_balanced_accuracy(data):
    X, y = data
    ba = _search(techniques=["none"], n_trials=1, threshold="balanced_accuracy")
    youden = _search(techniques=["none"], n_trials=1, threshold="youden")
    ba.fit(X, y)
    youden.fit(X, y)
    assert youden.threshold_ == pytest.approx(ba.threshold_)
    assert youden.threshold_info_["score"] == pytest.approx(
        2 * ba.threshold_info_["score"] - 1
    )


def test_threshold_applies_to_corrected_probabilities(data):
    X, y = data
    clf = _search(
        techniques=["balanced_class_weight"],
        n_trials=3,
        threshold={"recall": 0.8},
    ).fit(X, y)
    info = clf.threshold_info_
    # The reported rates are those of the corrected out-of-fold probabilities
    # at threshold_, rows pooled over the folds.
    oof = clf.decision_rule_.out_of_fold()
    pred = oof["proba"][:, 1] >= clf.threshold_
    pos = oof["y"] == 1
    assert info["recall"] == pytest.approx((pred & pos).sum() / pos.sum())
    assert info["precision"] == pytest.approx((pred & pos).sum() / pred.sum())
    assert info["specificity"] == pytest.approx((~pred & ~pos).sum() / (~pos).sum())
    assert info["positive_rate"] == pytest.approx(pred.mean())
    # The target is met (mean over folds), and with about 12 % positives a
    # recall of 0.8 costs precision: well below 1, above the base rate.
    assert info["score"] >= 0.8
    assert info["recall"] >= 0.78
    assert pos.mean() < info["precision"] < 0.8
    proba = clf.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(clf.predict(X), (proba >= clf.threshold_).astype(int))
    # decision_function agrees with predict (positive means classes_[1]).
    np.testing.assert_array_equal(clf.decision_function(X) > 0, clf.predict(X) == 1)
    # The default rule predicts far fewer positives than a recall target of 0.8.
    default = _search(
        techniques=["balanced_class_weight"],
        n_trials=3,
    ).fit(X, y)
    assert default.threshold_ is None
    assert default.predict(X).mean() < clf.predict(X).mean()


def test_minority_as_first_class_is_the_positive_one(data):
    X, y = data
    labels = np.where(y == 1, "a_rare", "b_common")
    clf = _search(
        techniques=["none"],
        n_trials=1,
        threshold={"fp": 1, "fn": 10},
    ).fit(X, labels)
    assert clf.threshold_info_["pos_label"] == "a_rare"
    assert clf.threshold_info_["bayes_threshold"] == pytest.approx(1 / 11)
    p_rare = clf.predict_proba(X)[:, 0]
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred == "a_rare", p_rare >= clf.threshold_)
    np.testing.assert_array_equal(clf.decision_function(X) > 0, pred == "b_common")


@pytest.mark.parametrize(
    "threshold, match",
    [
        ("precision", "threshold"),
        ({"fp": 1, "fm": 2}, "unknown keys"),
        ({"recall": 1.5}, "target recall"),
        ([[0, 1, 2], [1, 0, 2]], "cost matrix"),
        ({"fp": 0, "fn": 0}, "mistakes cost more"),
    ],
)
def test_bad_thresholds_are_rejected_before_the_search(data, threshold, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        AutoBalancedClassifier(LogisticRegression(), threshold=threshold).fit(X, y)


def test_threshold_needs_a_binary_target():
    X, y = make_classification(
        n_samples=150, n_classes=3, n_informative=3, random_state=0
    )
    with pytest.raises(ValueError, match="binary target"):
        AutoBalancedClassifier(LogisticRegression(), threshold="f1").fit(X, y)


def test_cost_matrix_follows_the_order_of_classes():
    classes = np.array(["a_rare", "b_common"])
    # costs[true, predicted] in classes order: missing a rare row costs 10.
    matrix = check_threshold([[0, 10], [1, 0]], classes, pos_label="a_rare")
    as_dict = check_threshold({"fp": 1, "fn": 10}, classes, pos_label="a_rare")
    np.testing.assert_array_equal(matrix.costs, as_dict.costs)


def test_recall_target_is_met_by_the_highest_threshold_that_reaches_it():
    # Positives' scores crowd in a narrow band while the scores span [0, 1]:
    # a 100-point grid over the whole range put the threshold two steps of
    # 0.01 below the one needed, at a recall of 1.0 for a target of 0.8.
    rng = np.random.default_rng(0)
    y_splits, s_splits = [], []
    for _ in range(3):
        y = np.r_[np.zeros(300, dtype=int), np.ones(50, dtype=int)]
        s = np.r_[rng.random(300), 0.5 + 0.02 * rng.random(50)]
        y_splits.append(y)
        s_splits.append(s)
    objective = check_threshold({"recall": 0.8}, np.array([0, 1]))
    t, info = tune_threshold(y_splits, s_splits, objective, 1)
    fold_recall = [
        np.mean(s[y == 1] >= t) for y, s in zip(y_splits, s_splits, strict=True)
    ]
    assert np.mean(fold_recall) >= 0.8
    assert info["recall"] == pytest.approx(0.8, abs=1 / 50)
    # Any higher positive score misses the target.
    higher = np.unique(
        np.concatenate([s[y == 1] for y, s in zip(y_splits, s_splits, strict=True)])
    )
    higher = higher[higher > t]
    mean_at = np.mean(
        [
            np.mean(s[y == 1] >= higher[0])
            for y, s in zip(y_splits, s_splits, strict=True)
        ]
    )
    assert mean_at < 0.8
