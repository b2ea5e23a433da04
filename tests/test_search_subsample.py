"""A search on a subsample whose class prior differs from the data's.

``max_search_samples`` keeps at least ``min(rows, 1000)`` rows of each class,
so on large data with few positives the searched rows hold the small class
several times more often than the data. Everything the model is used with
(probabilities, thresholds, reports) must hold on the data's prior.
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

from autobalance import AutoBalancedClassifier
from autobalance._classifier import MIN_SEARCH_ROWS_PER_CLASS, search_subsample

PREVALENCE = 0.02


def _gaussian(n, seed):
    """Two Gaussian classes with shifted means: logistic regression is the
    true model, so a correct probability is attainable on any prior."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < PREVALENCE).astype(int)
    X = rng.normal(size=(n, 4))
    X[y == 1] += np.array([1.6, 1.0, 0.6, 0.0])
    return X, y


@pytest.fixture(scope="module")
def shifted_data():
    X, y = _gaussian(10_000, 0)
    X_new, y_new = _gaussian(100_000, 1)
    return X, y, X_new, y_new


# max_search_samples=1,000 keeps every one of the ~200 positives: the searched
# rows hold about 20 % positives against 2 % in the data.
MAX_ROWS = 1_000

CALIBRATION_PATHS = {
    "none": dict(techniques=["none"], calibration="auto"),
    "prior_shift": dict(
        techniques=["balanced_class_weight"], calibration="prior_shift"
    ),
    "sigmoid": dict(techniques=["smote"], calibration="sigmoid"),
    "isotonic": dict(techniques=["smote"], calibration="isotonic"),
}


def _fit(X, y, path, threshold=None):
    return AutoBalancedClassifier(
        LogisticRegression(),
        max_search_samples=MAX_ROWS,
        n_trials=2,
        cv=3,
        random_state=0,
        threshold=threshold,
        **CALIBRATION_PATHS[path],
    ).fit(X, y)


def test_the_subsample_shifts_the_prior_tenfold(shifted_data):
    X, y, _, _ = shifted_data
    clf = _fit(X, y, "none")
    searched = y[clf.search_rows_]
    assert searched.mean() > 8 * y.mean()
    assert clf.search_space_.context.subsampled


@pytest.mark.parametrize("path", list(CALIBRATION_PATHS))
def test_probabilities_hold_on_the_data_prior(shifted_data, path):
    X, y, X_new, y_new = shifted_data
    clf = _fit(X, y, path)
    assert clf.calibration_["method"] == path
    mean = clf.predict_proba(X_new)[:, 1].mean()
    # Fitted on the subsample's prior (about 20 %), sigmoid and isotonic
    # recalibrations predicted several times the prevalence.
    assert mean == pytest.approx(y_new.mean(), rel=0.2)
    # What the fitted rule reports is on the data's prior too.
    assert clf.calibration_["class_prior"][1] == pytest.approx(y.mean())
    assert clf.calibration_["oof_mean_proba"][1] == pytest.approx(y.mean(), rel=0.2)


@pytest.mark.parametrize("threshold", ["f1", {"recall": 0.8}])
@pytest.mark.parametrize("path", list(CALIBRATION_PATHS))
def test_threshold_recall_holds_on_new_rows(shifted_data, path, threshold):
    X, y, X_new, y_new = shifted_data
    clf = _fit(X, y, path, threshold=threshold)
    held_out = recall_score(y_new, clf.predict(X_new))
    # A threshold tuned on the subsample's prior reached 0.8 out of fold and
    # 0.1-0.2 on rows with the data's prior.
    assert held_out == pytest.approx(clf.threshold_info_["recall"], abs=0.1)


def test_threshold_precision_is_that_of_the_data_prior(shifted_data):
    X, y, X_new, y_new = shifted_data
    clf = _fit(X, y, "prior_shift", threshold="f1")
    pred = clf.predict(X_new) == 1
    precision = np.mean(y_new[pred] == 1)
    assert clf.threshold_info_["precision"] == pytest.approx(precision, abs=0.1)
    assert clf.threshold_info_["positive_rate"] == pytest.approx(pred.mean(), rel=0.3)


def test_subsample_floors_fit_a_small_max_rows():
    # 500 positives and max_rows=300: the floor of min(rows, 1000) positives
    # alone exceeded the subsample, and the majority's quota went negative.
    y = np.r_[np.zeros(9_500, dtype=int), np.ones(500, dtype=int)]
    rows = search_subsample(y, np.array([0, 1]), np.array([9_500, 500]), 300, 0)
    assert len(rows) == 300
    assert len(np.unique(rows)) == 300
    assert y[rows].sum() == 150  # each class keeps its floor of 300 // 2


def test_subsample_keeps_every_small_class_up_to_the_floor():
    y = np.repeat([0, 1, 2], [50_000, 3_000, 40])
    rows = search_subsample(y, np.array([0, 1, 2]), np.bincount(y), 10_000, 0)
    assert len(rows) == 10_000
    counts = np.bincount(y[rows])
    assert counts[2] == 40
    assert counts[1] == MIN_SEARCH_ROWS_PER_CLASS


# ---------------------------------------------------------------------------
# Reports and displays of a model searched on a subsample
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def subsampled_fit():
    X, y = _gaussian(3_000, 2)
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["random_over_sampler", "balanced_class_weight"],
        max_search_samples=400,
        n_trials=3,
        cv=3,
        random_state=0,
    ).fit(X, y)
    return clf, X, y


def test_context_describes_the_searched_rows(subsampled_fit):
    clf, _, y = subsampled_fit
    ctx = clf.search_space_.context
    searched = y[clf.search_rows_]
    assert ctx.n_samples == len(searched) == 400
    np.testing.assert_array_equal(ctx.class_counts, np.bincount(searched))
    assert ctx.refit_samples == len(y)
    np.testing.assert_array_equal(ctx.refit_counts, np.bincount(y))


@pytest.mark.parametrize(
    "display",
    ["ROCComparisonDisplay", "PrecisionRecallComparisonDisplay", "ReliabilityDisplay"],
)
def test_displays_take_the_data_of_fit(subsampled_fit, display):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import autobalance

    clf, X, y = subsampled_fit
    disp = getattr(autobalance, display).from_estimator(clf, X, y)
    assert disp.curves
    plt.close("all")
    # Any other data is still refused.
    with pytest.raises(ValueError, match="not the data the estimator was fitted on"):
        getattr(autobalance, display).from_estimator(clf, X[:-7], y[:-7])


def test_report_counts_the_refit_rows_and_the_searched_rows(subsampled_fit, tmp_path):
    from autobalance import report

    clf, X, y = subsampled_fit
    path = tmp_path / "report.html"
    report(clf, path, X, y)
    text = path.read_text()
    n_pos = int(y.sum())
    assert f"1: {n_pos}" in text  # the class counts of every row
    assert f"{len(y):,}" in text
    assert "400 (a stratified subsample" in text


def test_cli_report_on_a_subsampled_fit(tmp_path, monkeypatch):
    import pandas as pd

    from autobalance import load_model
    from autobalance.cli import main

    X, y = _gaussian(1_500, 3)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["Class"] = y
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "data.csv", "--target", "Class", "--estimator",
            "logistic_regression", "--techniques", "none,balanced_class_weight",
            "--cv", "3", "--n-trials", "2", "--max-search-samples", "300",
            "--out", "m.skops", "--report", "r.html"]  # fmt: skip
    assert main(argv) == 0
    assert load_model(tmp_path / "m.skops").search_rows_ is not None
    assert "300 (a stratified subsample" in (tmp_path / "r.html").read_text()


def test_cli_saves_the_model_before_a_failing_report(tmp_path, monkeypatch, capsys):
    import pandas as pd

    import autobalance.reporting
    from autobalance import load_model
    from autobalance.cli import EXIT_ERROR, main

    X, y = _gaussian(600, 4)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["Class"] = y
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.chdir(tmp_path)

    def broken_report(*args, **kwargs):
        raise RuntimeError("no room for the figures")

    monkeypatch.setattr(autobalance.reporting, "report", broken_report)
    argv = ["fit", "data.csv", "--target", "Class", "--estimator",
            "logistic_regression", "--techniques", "none", "--cv", "3",
            "--n-trials", "1", "--out", "m.skops", "--report", "r.html"]  # fmt: skip
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "the model is saved to m.skops" in err
    assert "no room for the figures" in err
    assert "autobalance report --model m.skops" in err
    assert load_model(tmp_path / "m.skops").best_technique_ == "none"
    assert not (tmp_path / "r.html").exists()


def test_curves_weigh_the_searched_rows_back_to_the_data_prior(subsampled_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autobalance import PrecisionRecallComparisonDisplay
    from autobalance.reporting import out_of_fold_predictions

    clf, X, y = subsampled_fit
    oof = out_of_fold_predictions(clf, X, y)
    searched = y[clf.search_rows_]
    assert searched.mean() > 3 * y.mean()
    # Precision of a random ranking is the data's prevalence, not the
    # subsample's.
    disp = PrecisionRecallComparisonDisplay.from_oof(oof)
    assert disp.prevalence == pytest.approx(y.mean())
    plt.close("all")


def test_weighted_reliability_curve_counts_rows_as_duplicates():
    from sklearn.calibration import calibration_curve

    from autobalance.reporting._plots import _weighted_calibration_curve

    rng = np.random.default_rng(0)
    scores = rng.random(200)
    is_pos = rng.random(200) < scores
    ones = np.ones(200)
    for strategy in ("uniform", "quantile"):
        expected = calibration_curve(is_pos, scores, n_bins=5, strategy=strategy)
        got = _weighted_calibration_curve(is_pos, scores, ones, 5, strategy)
        np.testing.assert_allclose(got, expected)
    # Integer weights are duplicated rows (uniform bins do not move).
    weight = rng.integers(1, 4, size=200)
    expected = calibration_curve(
        np.repeat(is_pos, weight), np.repeat(scores, weight), n_bins=5
    )
    got = _weighted_calibration_curve(is_pos, scores, weight, 5, "uniform")
    np.testing.assert_allclose(got, expected)


def test_curves_show_the_model_output_not_the_one_moved_to_the_refit_prior():
    from sklearn.model_selection import cross_val_predict

    from autobalance.reporting import out_of_fold_predictions

    X, y = _gaussian(3_000, 2)
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none"],
        max_search_samples=400,
        n_trials=2,
        cv=3,
        random_state=0,
    ).fit(X, y)
    (proba,) = out_of_fold_predictions(clf, X, y).probas.values()
    X_s, y_s = X[clf.search_rows_], y[clf.search_rows_]
    expected = cross_val_predict(
        clf._estimator_from_params(clf.best_params_),
        X_s,
        y_s,
        cv=list(clf.cv_.split(X_s, y_s)),
        method="predict_proba",
    )
    np.testing.assert_allclose(proba, expected)
    # The decision rule's out-of-fold probabilities were moved to the data's
    # lower prior, so they are not the model's output the curves show.
    kept = clf.decision_rule_.out_of_fold()
    assert kept["raw"][:, 1].mean() < 0.5 * expected[kept["row"], 1].mean()
