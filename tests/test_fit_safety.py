"""A fit is all or nothing, and only the trial's pipeline can fail a trial.

- a failed ``fit`` (at any point) leaves an unfitted estimator, also when it
  had been fitted before; ``run_worker`` does not change its estimator;
- an error of the pipeline (sampler, model, scorer) is a recorded trial
  failure; an error of the code around it (suggesting, building, recording)
  is a bug and raises out of ``fit``;
- a multi-class model without ``predict_proba`` is searched and usable.
"""

import copy
import pickle

import imblearn.over_sampling
import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import check_scoring, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

import autobalance._selection as selection_module
from autobalance import AutoBalancedClassifier, NoCompletedTrialsError, run_worker
from autobalance._objective import (
    Objective,
    TrialFailure,
    _fit_and_score,
    ovr_roc_auc,
)
from autobalance._space import SearchSpace

FAST = {"n_trials": 4, "cv": 3, "random_state": 0}


class InjectedBug(Exception):
    """An error planted in the package's own code by a test."""


class FailingClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("boom: this model cannot be fitted")

    def predict(self, X):  # pragma: no cover - never fitted
        return np.zeros(len(X))


class FailsOnManyRows(LogisticRegression):
    """Fits on the search's training folds, fails on every row (the refit)."""

    def __init__(self, max_rows=250):
        super().__init__()
        self.max_rows = max_rows

    def fit(self, X, y, sample_weight=None):
        if len(X) > self.max_rows:
            raise MemoryError("refit: too many rows")
        return super().fit(X, y, sample_weight=sample_weight)


def fit_state(clf):
    """The attributes a fit leaves behind."""
    return sorted(
        name
        for name in vars(clf)
        if (name.endswith("_") and not name.startswith("__")) or name == "_feature_info"
    )


def _fail_decision_rule(*args, **kwargs):
    raise InjectedBug("decision rule")


# -- item 5: a failed fit leaves no fitted attribute -----------------------------
@pytest.mark.parametrize("fitted_before", [False, True])
@pytest.mark.parametrize("stage", ["validation", "search", "refit", "decision_rule"])
def test_failed_fit_leaves_an_unfitted_estimator(
    binary_data, monkeypatch, stage, fitted_before
):
    X, y = binary_data
    clf = AutoBalancedClassifier(
        FailsOnManyRows(), techniques=["balanced_class_weight"], **FAST
    )
    if fitted_before:
        clf.fit(X[:200], y[:200])  # 200 rows: the refit fits too
        assert "cv_" in fit_state(clf) and "best_estimator_" in fit_state(clf)
    expected = {
        "validation": ValueError,
        "search": NoCompletedTrialsError,
        "refit": MemoryError,
        "decision_rule": InjectedBug,
    }[stage]
    if stage == "validation":
        y = np.zeros_like(y)  # one class
    elif stage == "search":
        clf.set_params(estimator=FailingClassifier())
    elif stage == "decision_rule":
        X, y = X[:200], y[:200]
        monkeypatch.setattr(selection_module, "fit_decision_rule", _fail_decision_rule)
    with pytest.raises(expected):
        clf.fit(X, y)
    assert fit_state(clf) == []
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_run_worker_leaves_its_estimator_unchanged(binary_data, tmp_path):
    X, y = binary_data
    url = "sqlite:///" + str(tmp_path / "ab.db")
    params = dict(estimator=LogisticRegression(), storage=url, study_name="s", **FAST)
    driver = AutoBalancedClassifier(**params).fit(X, y)

    worker = AutoBalancedClassifier(**params)
    before = copy.deepcopy(vars(worker))
    assert run_worker(worker, X, y) == 0  # the driver spent the budget
    after = vars(worker)
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert repr(after[key]) == repr(value), key

    # A fitted estimator keeps its own fit, not the worker's preparation.
    fitted = dict(vars(driver))
    run_worker(driver, X, y)
    assert vars(driver).keys() == fitted.keys()
    for key, value in fitted.items():
        assert vars(driver)[key] is value, key


# -- item 6: only the trial's pipeline fails a trial -----------------------------
def _raise_bug(*args, **kwargs):
    raise InjectedBug("bug in the package")


def _stored(tmp_path):
    return {"storage": "sqlite:///" + str(tmp_path / "ab.db"), "study_name": "s"}


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "stored"])
@pytest.mark.parametrize(
    "target",
    [(SearchSpace, "suggest"), (SearchSpace, "build"), (Objective, "_record")],
    ids=["suggest", "build", "record"],
)
def test_a_bug_around_the_pipeline_raises_out_of_fit(
    binary_data, monkeypatch, tmp_path, target, stored
):
    X, y = binary_data
    owner, name = target
    patch = staticmethod(_raise_bug) if name == "_record" else _raise_bug
    monkeypatch.setattr(owner, name, patch)
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["random_under_sampler"],
        **FAST,
        **(_stored(tmp_path) if stored else {}),
    )
    with pytest.raises(InjectedBug, match="bug in the package"):
        clf.fit(X, y)
    assert fit_state(clf) == []
    if stored:
        # The ticket goes back to the queue: once fixed, the search resumes
        # with nothing lost and no trial left running.
        study = optuna.load_study(study_name="s", storage=clf.storage)
        assert TrialState.RUNNING not in {t.state for t in study.trials}
        monkeypatch.undo()
        clf.fit(X, y)
        assert list(clf.cv_results_["state"]) == ["COMPLETE"] * FAST["n_trials"]


@pytest.mark.parametrize("stored", [False, True], ids=["memory", "stored"])
def test_a_failing_sampler_is_a_recorded_trial_failure(
    binary_data, monkeypatch, tmp_path, stored
):
    X, y = binary_data

    def broken_fit_resample(self, X, y, **params):
        raise ValueError("SMOTE exploded")

    monkeypatch.setattr(
        imblearn.over_sampling.SMOTE, "fit_resample", broken_fit_resample
    )
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["smote", "random_under_sampler"],
        n_trials=6,
        cv=3,
        random_state=0,
        **(_stored(tmp_path) if stored else {}),
    ).fit(X, y)
    res = clf.cv_results_
    smote = res["technique"] == "smote"
    assert smote.any(), "the search should have tried SMOTE"
    assert set(res["state"][smote]) == {"FAIL"}
    assert all(r == "ValueError: SMOTE exploded" for r in res["fail_reason"][smote])
    assert "COMPLETE" in set(res["state"][~smote])
    assert clf.best_technique_ != "smote"
    assert clf.predict(X).shape == y.shape


def test_pipeline_errors_become_trial_failures_inside_the_fold(binary_data):
    # With n_jobs, folds run in joblib workers: the error must be wrapped
    # there (joblib re-raises the worker's exception as it is).
    X, y = binary_data
    scorer = check_scoring(LogisticRegression(), "roc_auc")
    train, test = np.arange(0, 200), np.arange(200, 300)
    with pytest.raises(TrialFailure, match="RuntimeError: boom") as info:
        _fit_and_score(FailingClassifier(), X, y, train, test, scorer)
    assert isinstance(info.value.error, RuntimeError)


class UnpicklableError(Exception):
    def __init__(self, message, extra):
        super().__init__(message)
        self.extra = extra

    def __reduce__(self):
        raise TypeError("cannot pickle this error")


def test_trial_failure_survives_the_trip_back_from_a_worker():
    # joblib's process workers pickle the exception they send back.
    failure = pickle.loads(pickle.dumps(TrialFailure(RuntimeError("boom"))))
    assert isinstance(failure, TrialFailure)
    assert isinstance(failure.error, RuntimeError)
    assert failure.reason == "RuntimeError: boom"
    failure = pickle.loads(pickle.dumps(TrialFailure(UnpicklableError("odd", 1))))
    assert isinstance(failure, TrialFailure)
    assert failure.reason == "UnpicklableError: odd"


# -- item 7: multi-class models without predict_proba ----------------------------
def test_ovr_roc_auc_matches_scikit_learn_on_probabilities(multiclass_data):
    X, y = multiclass_data
    proba = LogisticRegression().fit(X, y).predict_proba(X)
    classes = np.unique(y)
    expected = roc_auc_score(y, proba, multi_class="ovr", average="macro")
    assert ovr_roc_auc(y, proba, classes) == pytest.approx(expected)
    # Per-class scores on any scale: only each column's ranking counts.
    assert ovr_roc_auc(y, np.log(proba) * 3 + 1, classes) == pytest.approx(expected)


@pytest.mark.parametrize("calibration", ["auto", "off"])
def test_multiclass_model_without_predict_proba(multiclass_data, calibration):
    X, y = multiclass_data
    labels = np.array(["a", "b", "c"])[y]
    clf = AutoBalancedClassifier(LinearSVC(), calibration=calibration, **FAST).fit(
        X, labels
    )
    res = clf.cv_results_
    assert "FAIL" not in set(res["state"]), res["fail_reason"]
    # Scored as roc_auc_ovr would score its one-vs-rest decision values.
    best = clf.best_estimator_
    assert clf.score(X, labels) > 0.8
    decision = clf.best_estimator_.decision_function(X)
    if calibration == "off":
        assert not hasattr(clf, "predict_proba")
        assert clf.score(X, labels) == pytest.approx(
            ovr_roc_auc(labels, decision, best.classes_)
        )
    else:
        proba = clf.predict_proba(X)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert clf.calibration_["method"] in ("sigmoid", "isotonic")
        assert (clf.classes_[proba.argmax(axis=1)] == labels).mean() > 0.7
    predicted = clf.predict(X)
    assert set(predicted) <= set(clf.classes_)
    assert (predicted == labels).mean() > 0.7


def test_multiclass_model_without_predict_proba_on_a_label_metric(multiclass_data):
    X, y = multiclass_data
    clf = AutoBalancedClassifier(LinearSVC(), scoring="balanced_accuracy", **FAST).fit(
        X, y
    )
    assert "FAIL" not in set(clf.cv_results_["state"]), clf.cv_results_["fail_reason"]
    assert 0.5 < clf.best_score_ < 1.0
    assert set(clf.predict(X)) == {0, 1, 2}


def test_multiclass_probabilistic_model_keeps_the_ovr_scorer(multiclass_data):
    # GaussianNB has predict_proba and no decision_function: the binary
    # shortcut must not score it as if it had two classes.
    X, y = multiclass_data
    clf = AutoBalancedClassifier(GaussianNB(), n_trials=1, cv=3, random_state=0)
    clf.fit(X, y)
    scorer = check_scoring(GaussianNB(), "roc_auc_ovr")
    expected = [
        scorer(GaussianNB().fit(X[train], y[train]), X[test], y[test])
        for train, test in clf.cv_.split(X, y)
    ]
    scores = [clf.cv_results_[f"split{i}_test_score"][0] for i in range(3)]
    np.testing.assert_allclose(scores, expected)
