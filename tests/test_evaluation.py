"""Nested cross-validation: fold isolation, determinism, baseline, errors."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import KFold
from sklearn.preprocessing import label_binarize

from autobalance import AutoBalancedClassifier, NestedCVResult, nested_cross_validate
from autobalance.reporting._stats import corrected_std_error, paired_p_value

METRICS = ["roc_auc", "average_precision", "brier_score", "log_loss"]
TIMES = ["fit_time", "score_time", "baseline_fit_time"]


def _search(**kwargs):
    params = dict(
        techniques=["random_over_sampler", "balanced_class_weight"],
        n_trials=4,
        cv=3,
        random_state=0,
    )
    params.update(kwargs)
    return AutoBalancedClassifier(LogisticRegression(), **params)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240, n_features=5, n_informative=3, weights=[0.88], random_state=1
    )
    return X, y


@pytest.fixture(scope="module")
def result(data):
    X, y = data
    return nested_cross_validate(
        _search(), X, y, outer_cv=3, random_state=0, return_estimators=True
    )


class RecordingLogisticRegression(LogisticRegression):
    """Logs the row ids (column 0) of every fit, in this process."""

    fitted_ids = []

    def fit(self, X, y, sample_weight=None):
        RecordingLogisticRegression.fitted_ids.append(set(np.asarray(X)[:, 0]))
        return super().fit(X, y, sample_weight=sample_weight)


def test_result_has_one_row_per_outer_fold(result, data):
    _X, y = data
    frame = result.to_frame()
    assert isinstance(result, NestedCVResult)
    assert list(frame["fold"]) == [0, 1, 2]
    for column in [
        *METRICS,
        *(f"baseline_{m}" for m in METRICS),
        "technique",
        "algorithm",
        "params",
        "inner_score",
        "fit_time",
        "n_test_minority",
    ]:
        assert column in frame
    # Each row describes its own fold's search and scores its predictions on
    # that fold's test rows (positive class: the minority, 1).
    X, _ = data
    for i, (_, test) in enumerate(result.splits):
        est, row = result.estimators[i], frame.loc[i]
        assert row["technique"] == est.best_technique_
        assert row["algorithm"] == est.best_algorithm_
        assert row["inner_score"] == est.best_score_
        proba = est.predict_proba(X[test])
        expected = {
            "roc_auc": roc_auc_score(y[test], proba[:, 1]),
            "average_precision": average_precision_score(y[test], proba[:, 1]),
            "brier_score": brier_score_loss(y[test], proba[:, 1]),
            "log_loss": log_loss(y[test], proba),
        }
        for metric, value in expected.items():
            assert row[metric] == pytest.approx(value, rel=1e-12), (i, metric)
    # The outer test folds partition the rows; every fold is scored on its own.
    tests = np.concatenate([te for _, te in result.splits])
    assert sorted(tests) == list(range(len(y)))
    assert (frame["n_train"] + frame["n_test"] == len(y)).all()
    assert frame["n_test_minority"].sum() == np.sum(y == 1)


def test_selection_stability_counts_the_winners(result):
    frame = result.to_frame()
    stability = result.selection_stability
    assert stability["count"].sum() == len(frame)
    assert stability["count"].to_dict() == frame["technique"].value_counts().to_dict()
    assert math.isclose(stability["share"].sum(), 1.0)
    assert list(stability["count"]) == sorted(stability["count"], reverse=True)


def test_each_outer_fold_has_its_own_fresh_search(result):
    estimators = result.estimators
    assert len(estimators) == 3
    assert len({id(e.study_) for e in estimators}) == 3
    for est, (train, _) in zip(estimators, result.splits, strict=True):
        # The search saw the outer training part only, and ran its full budget.
        assert est.search_space_.context.n_samples == len(train)
        reasons = list(est.cv_results_["stop_reason"])
        assert len(reasons) - reasons.count("duplicate") == 4


def test_no_outer_test_row_reaches_any_fit():
    X, y = make_classification(
        n_samples=180, n_features=4, weights=[0.85], random_state=3
    )
    X = np.column_stack([np.arange(len(y), dtype=float), X])  # row ids
    search = AutoBalancedClassifier(
        RecordingLogisticRegression(),
        techniques=["random_over_sampler", "balanced_class_weight"],
        n_trials=3,
        cv=2,
        random_state=0,
    )
    RecordingLogisticRegression.fitted_ids = []
    result = nested_cross_validate(search, X, y, outer_cv=3, random_state=0)
    fits = RecordingLogisticRegression.fitted_ids
    tests = [set(te.astype(float)) for _, te in result.splits]
    assert len(fits) >= 3 * 5  # inner folds, refit and baseline of each fold
    for seen in fits:
        # Each fit belongs to one outer fold, so it misses that fold's test rows.
        assert any(not (seen & test) for test in tests)
    # Every outer fold trained something.
    for test in tests:
        assert any(not (seen & test) and seen for seen in fits)


def test_parallel_equals_sequential(data):
    X, y = data
    # random_state=None on the estimator: per-fold seeds come from nested's.
    search = _search(random_state=None)
    kwargs = dict(outer_cv=3, random_state=7)
    seq = nested_cross_validate(search, X, y, n_jobs=None, **kwargs).to_frame()
    par = nested_cross_validate(search, X, y, n_jobs=2, **kwargs).to_frame()
    pd.testing.assert_frame_equal(seq.drop(columns=TIMES), par.drop(columns=TIMES))


def test_baseline_is_the_plain_model_on_the_same_split(result, data):
    X, y = data
    frame = result.to_frame()
    for i, (train, test) in enumerate(result.splits):
        est = result.estimators[i]
        model = est._estimator_from_params(
            {"technique": "none", "algorithm": "logistic_regression"}
        )
        proba = clone(model).fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        assert math.isclose(
            frame.loc[i, "baseline_roc_auc"], roc_auc_score(y[test], proba)
        )
        assert frame.loc[i, "baseline_algorithm"] == "logistic_regression"
        auc = roc_auc_score(y[test], est.predict_proba(X[test])[:, 1])
        assert math.isclose(frame.loc[i, "roc_auc"], auc)


def test_when_none_wins_the_baseline_equals_the_chosen_setup(data):
    X, y = data
    search = AutoBalancedClassifier(
        LogisticRegression(), techniques=["none"], n_trials=2, cv=3, random_state=0
    )
    frame = nested_cross_validate(search, X, y, outer_cv=2, random_state=0).to_frame()
    assert (frame["technique"] == "none").all()
    for m in METRICS:
        np.testing.assert_allclose(frame[m], frame[f"baseline_{m}"])


def test_summary_pairs_chosen_and_none(result):
    summary = result.summary()
    frame = result.to_frame()
    assert list(summary.index) == METRICS
    diff = frame["roc_auc"] - frame["baseline_roc_auc"]
    assert math.isclose(summary.loc["roc_auc", "diff_mean"], diff.mean())
    assert summary.loc["roc_auc", "wins"] == int((diff > 0).sum())
    brier_diff = frame["brier_score"] - frame["baseline_brier_score"]
    assert summary.loc["brier_score", "wins"] == int((brier_diff < 0).sum())
    # The p-value of the corrected resampled t-test (Nadeau & Bengio),
    # recomputed from the fold scores: the variance is inflated by
    # 1/k + n_test/n_train because the outer training sets overlap.
    ratio = np.mean([len(te) / len(tr) for tr, te in result.splits])
    assert ratio == pytest.approx(0.5, abs=0.01)
    tested = 0
    for metric in METRICS:
        d = (frame[metric] - frame[f"baseline_{metric}"]).to_numpy()
        if not np.any(d):
            assert summary.loc[metric, "p_value"] == 1.0
            continue
        se = math.sqrt((1 / len(d) + ratio) * d.var(ddof=1))
        expected = 2 * stats.t.sf(abs(d.mean()) / se, df=len(d) - 1)
        assert summary.loc[metric, "p_value"] == pytest.approx(expected, rel=1e-9)
        tested += 1
    assert tested > 0, "the chosen setup equals the baseline on every fold"
    assert "Nadeau" in summary.attrs["test"]
    assert "outer folds" in repr(result)


def test_multiclass_metrics(multiclass_data):
    X, y = multiclass_data
    search = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["balanced_class_weight"],
        n_trials=2,
        cv=2,
        random_state=0,
    )
    result = nested_cross_validate(
        search, X, y, outer_cv=2, random_state=0, baseline=False,
        return_estimators=True,
    )  # fmt: skip
    frame = result.to_frame()
    assert "baseline_roc_auc" not in frame
    # One-vs-rest macro ROC AUC and average precision, the multi-class Brier
    # score and log loss, recomputed on each outer test fold.
    for i, (_, test) in enumerate(result.splits):
        proba = result.estimators[i].predict_proba(X[test])
        expected = {
            "roc_auc": roc_auc_score(y[test], proba, multi_class="ovr"),
            "average_precision": average_precision_score(
                label_binarize(y[test], classes=[0, 1, 2]), proba, average="macro"
            ),
            "brier_score": brier_score_loss(y[test], proba, labels=[0, 1, 2]),
            "log_loss": log_loss(y[test], proba),
        }
        for metric, value in expected.items():
            assert frame.loc[i, metric] == pytest.approx(value, rel=1e-12), metric
        assert frame.loc[i, "roc_auc"] > 0.8  # the classes are learnable


def test_storage_is_not_shared_between_folds(data, tmp_path):
    X, y = data
    db = tmp_path / "ab.db"
    search = _search(
        storage=f"sqlite:///{db}", study_name="s", n_trials=2, techniques=["none"]
    )
    with pytest.warns(UserWarning, match="ignores the estimator's storage"):
        nested_cross_validate(search, X, y, outer_cv=2, random_state=0)
    assert not db.exists()


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_outer_fold_lacking_a_class_is_refused():
    X, y = make_classification(n_samples=60, weights=[0.9], random_state=0)
    order = np.argsort(y)
    X, y = X[order], y[order]
    with pytest.raises(ValueError, match=r"Outer fold \d+ has no row of class"):
        nested_cross_validate(_search(cv=2), X, y, outer_cv=KFold(3))
    y_few = np.zeros(60, dtype=int)
    y_few[:3] = 1
    with pytest.raises(ValueError, match="no row of class 1 in its test part"):
        nested_cross_validate(_search(cv=2), X, y_few, outer_cv=5, random_state=0)


def test_inner_cv_too_large_for_outer_training_part_is_refused():
    X, y = make_classification(n_samples=80, random_state=0)
    y = np.zeros(80, dtype=int)
    y[:8] = 1
    with pytest.raises(ValueError, match=r"fewer than the estimator's inner cv=5"):
        nested_cross_validate(_search(cv=5), X, y, outer_cv=2, random_state=0)


def test_bad_arguments_are_refused(data):
    X, y = data
    with pytest.raises(TypeError, match="needs an AutoBalancedClassifier"):
        nested_cross_validate(LogisticRegression(), X, y)
    with pytest.raises(ValueError, match="test='t' is not a known paired test"):
        nested_cross_validate(_search(), X, y, test="t")
    with pytest.raises(ValueError, match="pos_label=5 is not a class of y"):
        nested_cross_validate(_search(), X, y, pos_label=5)
    with pytest.raises(ValueError, match="outer_cv=1 must be at least 2"):
        nested_cross_validate(_search(), X, y, outer_cv=1)
    with pytest.raises(ValueError, match="different numbers of rows"):
        nested_cross_validate(_search(), X, y[:-1])


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"n_trials": None, "timeout": None}, "would never stop"),
        ({"calibration": "platt"}, "'calibration' parameter"),
        ({"techniques": ["no_such_technique"]}, "no_such_technique"),
    ],
)
def test_settings_are_checked_before_any_outer_fold_runs(data, monkeypatch, bad, match):
    # The search plan is built up front: no outer search starts (and none
    # runs beside a failing one with n_jobs) when the settings cannot work.
    from autobalance import _evaluation

    started = []
    monkeypatch.setattr(
        _evaluation, "_fit_outer_fold", lambda *a, **k: started.append(a)
    )
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        nested_cross_validate(_search(**bad), X, y, outer_cv=2, random_state=0)
    assert started == []


def test_corrected_t_test_matches_nadeau_bengio():
    diffs = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    ratio = 0.25  # 5-fold CV: n_test / n_train
    se = math.sqrt((1 / 5 + ratio) * diffs.var(ddof=1))
    expected = 2 * stats.t.sf(diffs.mean() / se, df=4)
    got = paired_p_value(diffs, np.zeros(5), test_train_ratio=ratio)
    assert math.isclose(got, expected)
    # The correction makes it more cautious than a plain paired t-test.
    assert got > stats.ttest_rel(diffs, np.zeros(5)).pvalue
    assert math.isclose(corrected_std_error(diffs, ratio), se)
    # With 5 folds the Wilcoxon test cannot go below 2 / 2**5.
    assert math.isclose(
        paired_p_value(diffs, np.zeros(5), test="wilcoxon", test_train_ratio=ratio),
        0.0625,
    )
    assert paired_p_value(diffs, diffs, test_train_ratio=ratio) == 1.0
