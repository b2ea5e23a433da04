"""Leaderboard, Display plots and the HTML report."""

import math
import re
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import cross_val_predict

import autobalance.reporting._html as html_module
from autobalance import (
    AutoBalancedClassifier,
    OptimizationHistoryDisplay,
    PrecisionRecallComparisonDisplay,
    ReliabilityDisplay,
    ROCComparisonDisplay,
    TechniqueComparisonDisplay,
    leaderboard,
    nested_cross_validate,
    report,
)
from autobalance.reporting import out_of_fold_predictions
from autobalance.reporting._stats import paired_p_value

matplotlib.use("Agg")

PNG_MAGIC = b"\x89PNG"


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, weights=[0.9], random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def clf(data):
    X, y = data
    return AutoBalancedClassifier(
        LogisticRegression(),
        techniques=[
            "random_over_sampler",
            "balanced_class_weight",
            "custom_class_weight",
        ],
        n_trials=6,
        cv=3,
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def nested(data):
    X, y = data
    search = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["balanced_class_weight"],
        n_trials=2,
        cv=2,
        random_state=0,
    )
    return nested_cross_validate(search, X, y, outer_cv=2, random_state=0)


@pytest.fixture
def unfitted():
    return AutoBalancedClassifier(LogisticRegression(), n_trials=3, cv=3)


# -- leaderboard ------------------------------------------------------------------
def test_leaderboard_has_best_complete_trial_per_technique(clf):
    board = clf.leaderboard_
    results = pd.DataFrame(clf.cv_results_)
    complete = results[results["state"] == "COMPLETE"]
    assert set(board.index) == set(results["technique"])
    assert board.index.is_unique
    for technique, row in board.iterrows():
        mine = complete[complete["technique"] == technique]
        assert math.isclose(row["mean_test_score"], mine["mean_test_score"].max())
        assert row["n_trials"] == (results["technique"] == technique).sum()
    assert list(board["mean_test_score"]) == sorted(
        board["mean_test_score"], reverse=True
    )
    assert board.index[0] == clf.best_technique_
    assert board["rank"].iloc[0] == 1


def test_leaderboard_paired_comparison_with_none(clf):
    board = leaderboard(clf)
    results = clf.cv_results_
    folds = [f"split{i}_test_score" for i in range(3)]
    scores = {
        int(n): np.array([results[f][i] for f in folds])
        for i, n in enumerate(results["trial_number"])
    }
    base = scores[int(board.loc["none", "trial_number"])]
    assert board.loc["none", "diff_vs_none"] == 0
    assert np.isnan(board.loc["none", "p_value"])
    others = board.drop(index="none")
    assert len(others) > 0
    for _technique, row in others.iterrows():
        mine = scores[int(row["trial_number"])]
        assert math.isclose(row["diff_vs_none"], np.mean(mine - base))
        # cv=3 (stratified): n_test / n_train is about 1/2.
        expected = paired_p_value(mine, base, test_train_ratio=0.5)
        assert row["p_value"] == pytest.approx(expected, rel=1e-2)
    wilcoxon = leaderboard(clf, test="wilcoxon")
    assert "Wilcoxon" in wilcoxon.attrs["test"]
    assert (wilcoxon["p_value"].dropna() >= 0.25).all()  # 3 folds: 2 / 2**3


def test_leaderboard_errors(clf, unfitted):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        leaderboard(unfitted)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        unfitted.leaderboard_  # noqa: B018
    assert not hasattr(unfitted, "leaderboard_")
    with pytest.raises(TypeError, match="needs a fitted AutoBalancedClassifier"):
        leaderboard(LogisticRegression())
    with pytest.raises(ValueError, match="not a known paired test"):
        leaderboard(clf, test="anova")


# -- plots ------------------------------------------------------------------------
def _render(display, path):
    display.figure_.savefig(path)
    assert path.read_bytes()[:4] == PNG_MAGIC


def test_technique_comparison_plot(clf, tmp_path):
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    disp = TechniqueComparisonDisplay.from_estimator(clf, ax=ax)
    assert disp.ax_ is ax
    board = clf.leaderboard_
    assert list(disp.fold_scores) == list(board.index)
    assert disp.baseline == board.loc["none", "mean_test_score"]
    for scores in disp.fold_scores.values():
        assert len(scores) == 3
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(board.index)
    _render(disp, tmp_path / "techniques.png")


def test_optimisation_history_plot(clf, tmp_path):
    import matplotlib.pyplot as plt

    disp = OptimizationHistoryDisplay.from_estimator(clf)  # ax=None: own figure
    try:
        assert list(disp.trial_numbers) == list(range(len(clf.study_.trials)))
        assert disp.best_so_far[-1] == pytest.approx(clf.best_score_)
        assert np.all(np.diff(disp.best_so_far[~np.isnan(disp.best_so_far)]) >= 0)
        _render(disp, tmp_path / "history.png")
    finally:
        plt.close(disp.figure_)


@pytest.fixture(scope="module")
def oof(clf, data):
    X, y = data
    return out_of_fold_predictions(clf, X, y)


def test_out_of_fold_predictions_use_the_search_folds(clf, data, oof):
    X, y = data
    # The chosen setup and, as it is not ``none`` here, the best ``none`` trial.
    assert clf.best_technique_ != "none"
    chosen_name, base_name = oof.probas
    assert chosen_name.startswith("chosen: ")
    base_index = list(clf.cv_results_["trial_number"]).index(
        int(clf.leaderboard_.loc["none", "trial_number"])
    )
    # Each setup's OOF ROC AUC on each fold is its trial's fold score.
    for name, index in [(chosen_name, clf.best_index_), (base_name, base_index)]:
        proba = oof.probas[name]
        np.testing.assert_allclose(proba.sum(axis=1), 1)
        for i, (_, test) in enumerate(clf.cv_.split(X, y)):
            fold = clf.cv_results_[f"split{i}_test_score"][index]
            assert roc_auc_score(y[test], proba[test, 1]) == pytest.approx(fold), name
    with pytest.raises(ValueError, match="not the data the estimator was fitted on"):
        out_of_fold_predictions(clf, X[:-5], y[:-5])


@pytest.mark.parametrize(
    "display_cls, metric",
    [
        (ROCComparisonDisplay, roc_auc_score),
        (PrecisionRecallComparisonDisplay, average_precision_score),
        (ReliabilityDisplay, None),
    ],
)
def test_curve_plots(display_cls, metric, oof, tmp_path):
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    disp = display_cls.from_oof(oof, ax=ax)
    assert set(disp.curves) == set(oof.probas) == set(disp.lines_)
    assert disp.pos_label == 1  # the minority class
    if metric is not None:
        for name, proba in oof.probas.items():
            expected = metric(oof.y_true, proba[:, 1])
            assert disp.curves[name][2] == pytest.approx(expected)
    _render(disp, tmp_path / f"{display_cls.__name__}.png")


def test_curve_from_estimator_matches_from_oof(clf, data, oof):
    from matplotlib.figure import Figure

    X, y = data
    disp = ROCComparisonDisplay.from_estimator(clf, X, y, ax=Figure().subplots())
    again = ROCComparisonDisplay.from_oof(oof, ax=Figure().subplots())
    assert {k: v[2] for k, v in disp.curves.items()} == {
        k: v[2] for k, v in again.curves.items()
    }


def _spy_cross_val_predict(monkeypatch):
    """The estimators ``out_of_fold_predictions`` cross-validates, in order
    (each fitted on the search's folds by ``_oof.out_of_fold_predictions``)."""
    import autobalance._oof as oof_module

    fitted = []
    real = oof_module.out_of_fold_predictions

    def spy(template, *args, **kwargs):
        fitted.append(template)
        return real(template, *args, **kwargs)

    monkeypatch.setattr(oof_module, "out_of_fold_predictions", spy)
    return fitted


def _refitted(clf, X, y, params):
    splits = list(clf.cv_.split(X, y))
    est = clf._estimator_from_params(params)
    return cross_val_predict(est, X, y, cv=splits, method="predict_proba")


def test_out_of_fold_predictions_reuse_the_chosen_setups_fold_fits(
    clf, data, monkeypatch
):
    from matplotlib.figure import Figure

    X, y = data
    fitted = _spy_cross_val_predict(monkeypatch)
    oof = out_of_fold_predictions(clf, X, y)
    chosen, _ = oof.probas
    # Only the none baseline is cross-validated; the chosen setup's
    # predictions are those its decision_rule_ was fitted on.
    base_params = clf.cv_results_["params"][
        list(clf.cv_results_["technique"]).index("none")
    ]
    assert [repr(e) for e in fitted] == [repr(clf._estimator_from_params(base_params))]
    # The search's fold fits have the refit's seeds: refitting gives the same
    # probabilities, row for row, and so the same curves.
    refitted = _refitted(clf, X, y, clf.best_params_)
    np.testing.assert_array_equal(oof.probas[chosen], refitted)
    again = PrecisionRecallComparisonDisplay.from_predictions(
        y,
        {chosen: refitted[:, 1]},
        pos_label=1,
        ax=Figure().subplots(),
    )
    disp = PrecisionRecallComparisonDisplay.from_oof(oof, ax=Figure().subplots())
    for got, expected in zip(disp.curves[chosen], again.curves[chosen], strict=True):
        np.testing.assert_array_equal(got, expected)


def test_a_setup_searched_at_a_cheaper_fidelity_is_refitted(data, monkeypatch):
    import autobalance._plan as plan_module
    from autobalance import Algorithm

    X, y = data
    # A model searched as C=1e-3 and refitted as C=1 (as the catalogue's
    # forests are searched with fewer trees).
    cheap = Algorithm("lr", LogisticRegression(), search_params={"C": 1e-3})
    with monkeypatch.context() as m:
        m.setattr(plan_module, "resolve_algorithms", lambda *a, **k: [cheap])
        clf = AutoBalancedClassifier(
            LogisticRegression(),
            techniques=["balanced_class_weight"],
            n_trials=3,
            cv=3,
            random_state=0,
        ).fit(X, y)
    fitted = _spy_cross_val_predict(monkeypatch)
    oof = out_of_fold_predictions(clf, X, y)
    assert len(fitted) == len(oof.probas) == 2
    chosen = next(iter(oof.probas))
    refitted = _refitted(clf, X, y, clf.best_params_)
    np.testing.assert_allclose(oof.probas[chosen], refitted)
    kept = clf.decision_rule_.out_of_fold()
    assert not np.allclose(kept["raw"], refitted[kept["row"]])


@pytest.fixture(scope="module")
def over_sampled(data):
    """Random over-sampling lifts the raw minority probabilities far above
    the prevalence; the prior-shift correction brings them back."""
    X, y = data
    return AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["random_over_sampler"],
        calibration="prior_shift",
        n_trials=3,
        cv=3,
        random_state=0,
    ).fit(X, y)


def _lines(disp, word):
    return [name for name in disp.curves if word in name]


def test_report_reliability_curve_is_what_predict_proba_returns(
    over_sampled, data, tmp_path, monkeypatch
):
    from sklearn.calibration import calibration_curve

    X, y = data
    displays = []
    from_oof = ReliabilityDisplay.from_oof.__func__

    def spy(cls, *args, **kwargs):
        displays.append(from_oof(cls, *args, **kwargs))
        return displays[-1]

    monkeypatch.setattr(ReliabilityDisplay, "from_oof", classmethod(spy))
    text = report(over_sampled, tmp_path / "r.html", X, y).read_text()
    assert "what predict_proba returns" in text
    (disp,) = displays
    folds = over_sampled.decision_rule_.out_of_fold()
    (chosen,) = _lines(disp, "predict_proba")
    assert chosen.startswith("chosen: random_over_sampler")
    assert "prior_shift-corrected" in chosen
    expected = calibration_curve(
        folds["y"] == 1, folds["proba"][:, 1], n_bins=10, strategy="quantile"
    )
    np.testing.assert_allclose(disp.curves[chosen], expected)
    # Corrected: the mean predicted probability is the prevalence (0.11), where
    # the over-sampled model's raw output is far above it.
    assert np.mean(disp.curves[chosen][1]) == pytest.approx(y.mean(), abs=0.03)
    (raw,) = _lines(disp, "raw (before correction)")
    assert raw.startswith("chosen: random_over_sampler")
    assert np.mean(disp.curves[raw][1]) > 2 * y.mean()
    assert disp.lines_[raw].get_linestyle() == "--"
    (baseline,) = _lines(disp, "none")
    assert baseline.endswith("raw model output")


def test_reliability_without_correction_is_the_model_output(data):
    from matplotlib.figure import Figure
    from sklearn.calibration import calibration_curve

    X, y = data
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["random_over_sampler"],
        calibration="off",
        n_trials=3,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert clf.decision_rule_.out_of_fold() is None
    disp = ReliabilityDisplay.from_estimator(clf, X, y, ax=Figure().subplots())
    assert not _lines(disp, "raw (before correction)")
    (chosen,) = _lines(disp, "predict_proba")
    assert chosen.endswith("predict_proba (model output, no correction)")
    oof = out_of_fold_predictions(clf, X, y)
    proba = next(iter(oof.probas.values()))[:, 1]
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.best_estimator_.predict_proba(X)
    )
    expected = calibration_curve(y == 1, proba, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(disp.curves[chosen], expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda est, X, y: TechniqueComparisonDisplay.from_estimator(est),
        lambda est, X, y: OptimizationHistoryDisplay.from_estimator(est),
        lambda est, X, y: ROCComparisonDisplay.from_estimator(est, X, y),
        lambda est, X, y: PrecisionRecallComparisonDisplay.from_estimator(est, X, y),
        lambda est, X, y: ReliabilityDisplay.from_estimator(est, X, y),
    ],
)
def test_plots_refuse_unfitted_estimator(make, unfitted, data):
    X, y = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        make(unfitted, X, y)


def test_from_predictions_errors():
    y = np.array([0, 1, 0, 1])
    with pytest.raises(TypeError, match="non-empty dict"):
        ROCComparisonDisplay.from_predictions(y, [0.1, 0.2, 0.3, 0.4], pos_label=1)
    with pytest.raises(ValueError, match="have 3 rows but y_true has 4"):
        ROCComparisonDisplay.from_predictions(y, {"a": [0.1, 0.2, 0.3]}, pos_label=1)
    with pytest.raises(ValueError, match="must hold pos_label=2"):
        ReliabilityDisplay.from_predictions(y, {"a": [0.1, 0.2, 0.3, 0.4]}, pos_label=2)


def test_matplotlib_is_not_imported_with_the_package():
    code = "import sys, autobalance; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- HTML report ------------------------------------------------------------------
def test_report_is_one_self_contained_file(clf, data, nested, tmp_path):
    X, y = data
    path = report(clf, tmp_path / "r.html", X, y, nested=nested, title="My <run>")
    assert path == tmp_path / "r.html"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp file left
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "My &lt;run&gt;" in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 5
    import base64

    assert all(base64.b64decode(img)[:4] == PNG_MAGIC for img in images)
    assert not re.search(r'(src|href)="(https?:|file:|/)', text)
    for technique in clf.leaderboard_.index:
        assert technique in text
    assert "Leaderboard" in text and "diff_vs_none" in text
    assert "Imbalance ratio" in text and "300" in text
    assert "Nested cross-validation" in text and "Selection stability" in text
    assert f"{nested.summary().loc['roc_auc', 'mean']:.3f}" in text


def test_report_without_data_has_search_plots_only(clf, tmp_path):
    text = report(clf, tmp_path / "r.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 2
    assert "Pass X and y" in text
    assert "Nested cross-validation" not in text


def test_report_failure_keeps_the_old_file(clf, tmp_path, monkeypatch):
    path = tmp_path / "r.html"
    path.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(html_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        report(clf, path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_report_bad_input(clf, unfitted, data, tmp_path):
    X, _y = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        report(unfitted, tmp_path / "r.html")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        report(clf, tmp_path / "missing" / "r.html")
    with pytest.raises(ValueError, match="is a folder"):
        report(clf, tmp_path)
    with pytest.raises(TypeError, match="nested must be the result"):
        report(clf, tmp_path / "r.html", nested=pd.DataFrame())
    with pytest.raises(ValueError, match="Give both X and y"):
        report(clf, tmp_path / "r.html", X)
    assert list(tmp_path.iterdir()) == []
