"""Saving and loading fitted models: skops (trusted types only) and joblib."""

import os
import pickle

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from autobalance import (
    AutoBalancedClassifier,
    UntrustedTypesError,
    library_versions,
    load_model,
    save_model,
)
from autobalance._persist import _is_expected

TECHNIQUES = ["none", "smote", "random_under_sampler", "balanced_class_weight"]


class CustomLogisticRegression(LogisticRegression):
    """A type no one told autobalance about."""


@pytest.fixture(scope="module")
def fitted(request):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=240, n_features=5, weights=[0.85], random_state=0
    )
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=TECHNIQUES,
        n_trials=4,
        cv=3,
        random_state=0,
    ).fit(X, y)
    return clf, X


@pytest.mark.parametrize("name", ["model.skops", "model.joblib", "model.pkl"])
def test_round_trip_predicts_identically(fitted, tmp_path, name):
    clf, X = fitted
    path = save_model(clf, tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left
    loaded = load_model(path)
    assert type(loaded) is AutoBalancedClassifier
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.best_params_ == clf.best_params_
    assert loaded.versions_ == clf.versions_ == library_versions()
    # The study is not part of the saved model; the fitted one keeps it.
    assert not hasattr(loaded, "study_") and hasattr(clf, "study_")


def test_versions_name_the_libraries(fitted):
    clf, _ = fitted
    for name in ("python", "autobalance", "scikit-learn", "imbalanced-learn", "optuna"):
        assert clf.versions_[name]


def test_skops_refuses_unexpected_types(tmp_path):
    path = tmp_path / "custom.skops"
    skops.io.dump(CustomLogisticRegression(), path)
    with pytest.raises(UntrustedTypesError, match="CustomLogisticRegression") as info:
        load_model(path)
    (name,) = info.value.types
    assert load_model(path, trusted=[name]).__class__ is CustomLogisticRegression


@pytest.mark.parametrize(
    "name, expected",
    [
        ("autobalance._classifier.AutoBalancedClassifier", True),
        ("sklearn.linear_model._logistic.LogisticRegression", True),
        ("sklearn.metrics._ranking.roc_auc_score", True),
        ("builtins.object", True),
        ("builtins.eval", False),
        ("os.system", False),
        ("numpy.load", False),  # a NumPy function, not a class
        ("sklearn.no_such_module.Thing", False),
    ],
)
def test_only_expected_types_are_trusted(name, expected):
    assert _is_expected(name) is expected


def test_loading_other_versions_warns(fitted, tmp_path):
    clf, X = fitted
    clf_old = pickle.loads(pickle.dumps(clf))
    clf_old.versions_ = {**clf.versions_, "scikit-learn": "0.0.1"}
    path = save_model(clf_old, tmp_path / "old.skops")
    with pytest.warns(UserWarning, match=r"scikit-learn 0\.0\.1 \(now "):
        loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_bad_paths(fitted, tmp_path):
    clf, _ = fitted
    with pytest.raises(ValueError, match=r"\*\.skops"):
        save_model(clf, tmp_path / "model.bin")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_model(clf, tmp_path / "missing" / "model.skops")
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model(tmp_path / "nothing.skops")
    assert os.listdir(tmp_path) == []


def test_failed_save_leaves_nothing(tmp_path):
    model = LogisticRegression()
    model.callback_ = lambda: None  # cannot be pickled
    with pytest.raises(Exception, match=r"lambda|pickle"):
        save_model(model, tmp_path / "model.joblib")
    assert os.listdir(tmp_path) == []
