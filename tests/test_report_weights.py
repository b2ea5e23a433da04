"""Reports of a search fitted with sample weights: the out-of-fold models are
fitted with the weights, and the curves and metrics weigh the rows."""

import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from autobalance import AutoBalancedClassifier, ROCComparisonDisplay, report
from autobalance.cli import main
from autobalance.reporting import out_of_fold_predictions

matplotlib.use("Agg")

WEIGHTED = "The curves and their metrics are weighted"
UNWEIGHTED = "The curves and their metrics are UNWEIGHTED"


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, weights=[0.85], random_state=0
    )
    # Weights that change the fit: the rows of one feature's upper half
    # weigh 20 times the others.
    w = np.where(X[:, 0] > np.median(X[:, 0]), 20.0, 1.0)
    return X, y, w


def _search(**kwargs):
    return AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["none", "balanced_class_weight"],
        n_trials=3,
        cv=3,
        random_state=0,
        **kwargs,
    )


@pytest.fixture(scope="module")
def refitted(data):
    """Fitted with weights; calibration='off' keeps no out-of-fold
    predictions, so the report refits both setups on each fold."""
    X, y, w = data
    return _search(calibration="off").fit(X, y, sample_weight=w)


@pytest.fixture(scope="module")
def kept(data):
    """Fitted with weights; the decision rule keeps the chosen setup's
    out-of-fold predictions (made by the search's weighted fold models)."""
    X, y, w = data
    return _search().fit(X, y, sample_weight=w)


def _by_hand(clf, X, y, w, params):
    """Out-of-fold probabilities of ``params`` (a LogisticRegression without
    class weights), each fold fitted with its training rows' weights."""
    est = clf._estimator_from_params(params)
    assert type(est) is LogisticRegression and est.class_weight is None
    proba = np.empty((len(y), 2))
    for train, test in clf.cv_.split(X, y):
        fold = clone(est).fit(X[train], y[train], sample_weight=w[train])
        proba[test] = fold.predict_proba(X[test])
    return proba


def _none_params(clf):
    techniques = list(clf.cv_results_["technique"])
    return clf.cv_results_["params"][techniques.index("none")]


def test_weighted_fold_models_and_curves(refitted, data):
    from matplotlib.figure import Figure

    X, y, w = data
    assert refitted.best_technique_ != "none"
    oof = out_of_fold_predictions(refitted, X, y, sample_weight=w)
    assert oof.weighted
    np.testing.assert_array_equal(oof.sample_weight, w)
    chosen, base = oof.probas
    # The fold models were fitted with their training rows' weights.
    expected = _by_hand(refitted, X, y, w, _none_params(refitted))
    np.testing.assert_allclose(oof.probas[base], expected, rtol=1e-10)
    with pytest.warns(UserWarning, match="fitted with sample_weight"):
        plain = out_of_fold_predictions(refitted, X, y)
    assert not plain.weighted and plain.sample_weight is None
    assert np.abs(plain.probas[base] - expected).max() > 1e-3
    # The curves weigh each row by its weight.
    disp = ROCComparisonDisplay.from_estimator(
        refitted, X, y, sample_weight=w, ax=Figure().subplots()
    )
    for name in (chosen, base):
        auc = roc_auc_score(y, oof.probas[name][:, 1], sample_weight=w)
        assert disp.curves[name][2] == pytest.approx(auc)
        assert auc != pytest.approx(roc_auc_score(y, oof.probas[name][:, 1]))


def test_kept_predictions_are_reused_with_their_weights(kept, data, monkeypatch):
    import autobalance._oof as oof_module

    X, y, w = data
    fitted = []
    real = oof_module.out_of_fold_predictions

    def spy(template, *args, **kwargs):
        fitted.append((template, kwargs.get("sample_weight")))
        return real(template, *args, **kwargs)

    monkeypatch.setattr(oof_module, "out_of_fold_predictions", spy)
    oof = out_of_fold_predictions(kept, X, y, sample_weight=w)
    chosen, base = oof.probas
    rule = kept.decision_rule_.out_of_fold()
    assert rule["origin"] == "search"
    np.testing.assert_array_equal(oof.probas[chosen][rule["row"]], rule["raw"])
    np.testing.assert_allclose(oof.sample_weight[rule["row"]], rule["weight"])
    # Only the none baseline is refitted, with the weights.
    ((template, weight),) = fitted
    assert repr(template) == repr(kept._estimator_from_params(_none_params(kept)))
    np.testing.assert_array_equal(weight, w)
    expected = _by_hand(kept, X, y, w, _none_params(kept))
    np.testing.assert_allclose(oof.probas[base], expected, rtol=1e-10)
    # Without weights, the weighted fold models are not reused.
    fitted.clear()
    with pytest.warns(UserWarning, match="curves and metrics are unweighted"):
        out_of_fold_predictions(kept, X, y)
    assert len(fitted) == 2 and all(weight is None for _, weight in fitted)


def test_wrong_weights_raise_before_any_fit(kept, refitted, data, tmp_path):
    X, y, w = data
    with pytest.raises(ValueError, match=r"has 299 values but X, y have 300 rows"):
        out_of_fold_predictions(kept, X, y, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="pass the sample_weight given to fit"):
        report(kept, tmp_path / "r.html", X, y, sample_weight=w[:-1])
    with pytest.raises(ValueError, match="not the one the estimator was fitted"):
        out_of_fold_predictions(kept, X, y, sample_weight=w[::-1])
    with pytest.raises(ValueError, match="pass the sample_weight given to fit"):
        out_of_fold_predictions(kept, X, y, sample_weight=np.ones(len(y)))
    with pytest.raises(ValueError, match="give X, y"):
        report(kept, tmp_path / "r.html", sample_weight=w)
    unweighted = _search(calibration="off").fit(X, y)
    assert unweighted._fit_weight_totals is None
    with pytest.raises(ValueError, match="fitted without sample_weight"):
        out_of_fold_predictions(unweighted, X, y, sample_weight=w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unweighted fit warns of nothing
        assert not out_of_fold_predictions(unweighted, X, y).weighted
    assert not (tmp_path / "r.html").exists()


def test_the_record_of_the_weights_goes_with_the_fit(data):
    X, y, w = data
    clf = _search(calibration="off").fit(X, y, sample_weight=w)
    totals = [w[y == c].sum() for c in (0, 1)]
    np.testing.assert_allclose(clf._fit_weight_totals, totals)
    clf._forget_fit()
    assert not hasattr(clf, "_fit_weight_totals")


def _notes(text):
    return " ".join(re.findall(r'class="note">([^<]*)', text))


def test_report_says_whether_its_curves_are_weighted(kept, data, tmp_path):
    X, y, w = data
    text = report(kept, tmp_path / "w.html", X, y, sample_weight=w).read_text()
    assert WEIGHTED in _notes(text) and UNWEIGHTED not in text
    assert "yes: fitted with sample_weight" in text
    # Where the decision rule's out-of-fold predictions came from.
    assert "search&#x27;s own fold models" in _notes(text)
    assert 'calibration_["oof_origin"] = &#x27;search&#x27;' in text
    with pytest.warns(UserWarning, match="fitted with sample_weight"):
        text = report(kept, tmp_path / "u.html", X, y).read_text()
    assert UNWEIGHTED in _notes(text) and WEIGHTED not in text


def test_cli_fit_report_and_report_with_weight_column(data, tmp_path, monkeypatch):
    X, y, w = data
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["Class"], frame["w"] = y, w
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.chdir(tmp_path)
    search = ["--techniques", "none,balanced_class_weight", "--cv", "3"]
    search += ["--n-trials", "3", "--estimator", "logistic_regression"]
    argv = ["fit", "data.csv", "--target", "Class", "--weight-column", "w", *search]
    assert main([*argv, "--out", "m.skops", "--report", "fit.html"]) == 0
    assert WEIGHTED in _notes((tmp_path / "fit.html").read_text())
    report_argv = ["report", "--model", "m.skops", "data.csv", "--target", "Class"]
    assert main([*report_argv, "--weight-column", "w", "--out", "r.html"]) == 0
    assert WEIGHTED in _notes((tmp_path / "r.html").read_text())
    with pytest.warns(UserWarning, match="fitted with sample_weight"):
        assert main([*report_argv, "--out", "u.html"]) == 0
    assert UNWEIGHTED in _notes((tmp_path / "u.html").read_text())
