"""Saving and loading fitted models: skops (trusted types only) and joblib."""

import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

import autobalance
import autobalance.cli
from autobalance import (
    BUILTIN_TECHNIQUES,
    AutoBalancedClassifier,
    UntrustedPickleError,
    UntrustedTypesError,
    library_versions,
    load_model,
    save_model,
)
from autobalance._persist import _is_expected, current_umask

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
    loaded = load_model(path, trust_pickle=not name.endswith(".skops"))
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
        ("imblearn.pipeline.Pipeline", True),
        ("autobalance._space.Technique", True),  # a class of the package
        ("sklearn.metrics._ranking.roc_auc_score", True),
        ("sklearn.utils.validation.check_array", True),  # kept by HGB
        ("functools.partial", True),
        ("builtins.object", True),
        ("builtins.eval", False),
        ("os.system", False),
        ("numpy.load", False),  # a NumPy function, not a class
        ("sklearn.no_such_module.Thing", False),
        # Functions are trusted by exact name only, never for their module.
        ("autobalance._persist.save_model", False),
        ("autobalance._persist.load_model", False),
        ("autobalance.cli.main", False),
        ("autobalance.reporting._html.report", False),
        ("sklearn.metrics._plot.roc_curve.RocCurveDisplay", False),  # no estimator
        ("sklearn.utils.validation.check_is_fitted", False),
        ("autobalance._persist.Path", False),  # pathlib's class, imported there
        # A class that moved (issue 16) keeps loading under its old path.
        ("autobalance._classifier._SamplerBuilder", True),
        ("autobalance._resolve._SamplerBuilder", True),
        ("autobalance._resolve.clone", False),  # scikit-learn's, imported there
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


# -- what the built-in setups hold loads untrusted -------------------------------
def _mixed_table(n=150, seed=0):
    """Numbers, numbers with gaps, text with gaps, a categorical, a boolean."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.25).astype(int)
    X = pd.DataFrame(
        {
            "num": rng.normal(size=n) + y,
            "gaps": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "text": pd.Series(rng.choice(["red", "green", "blue"], n), dtype=object),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "flag": rng.random(n) < 0.5,
        }
    )
    X.loc[::17, "text"] = None
    return X, y


def _small(estimator):
    """The same types at a fraction of the cost: few trees, few iterations."""
    params = estimator.get_params()
    estimator.set_params(
        **{k: 3 for k in params if k.endswith("n_estimators")},
        **{k: 5 for k in params if k.endswith("max_iter") and "model__" in k},
    )
    return estimator


def _round_trip(model, path, X):
    save_model(model, path)
    loaded = load_model(path)  # no trust given
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    return skops.io.get_untrusted_types(file=path)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_builtin_setup_loads_untrusted(tmp_path, binary_data):
    """Every built-in technique x model of the default portfolio, fitted on a
    mixed table (and, for the techniques that need numbers only, on a numeric
    one), and the search itself, save and load with no trust given. A type the
    built-in setups start to hold must be trusted on purpose
    (``_persist.TRUSTED_NAMES``)."""
    seen, fitted = set(), set()
    for name, (X, y) in {"mixed": _mixed_table(), "numeric": binary_data}.items():
        clf = AutoBalancedClassifier(n_trials=3, cv=3, random_state=0, threshold="f1")
        clf.fit(X, y)
        seen.update(_round_trip(clf, tmp_path / f"{name}.skops", X))
        space = clf.search_space_
        for config in space.grid():
            model = _small(space.build(config, search=True)).fit(X, y)
            path = tmp_path / f"{name}-{config.technique}-{config.algorithm}.skops"
            seen.update(_round_trip(model, path, X))
            fitted.add((config.technique, config.algorithm))
    assert {t for t, _ in fitted} == {t.name for t in BUILTIN_TECHNIQUES}
    models = {"logistic_regression", "extra_trees", "hist_gradient_boosting"}
    for technique in ("none", "smote", "random_under_sampler", "balanced_class_weight"):
        assert {(technique, m) for m in models} <= fitted
    # HistGradientBoosting on categorical columns: the types of bug 1.
    assert {"functools.partial", "sklearn.utils.validation.check_array"} <= seen
    # The techniques themselves (builders, bounds, requirements).
    path = tmp_path / "techniques.skops"
    skops.io.dump(list(BUILTIN_TECHNIQUES), path)
    assert len(load_model(path)) == len(BUILTIN_TECHNIQUES)


@pytest.mark.parametrize(
    "params",
    [
        {"calibration": "sigmoid"},
        {"calibration": "isotonic", "threshold": {"fp": 1, "fn": 5}},
        {"calibration": "prior_shift", "techniques": ["random_under_sampler"]},
        {"estimator": LogisticRegression(), "techniques": ["balanced_class_weight"]},
    ],
)
def test_calibrations_and_rules_load_untrusted(tmp_path, params):
    X, y = _mixed_table()
    X = X.drop(columns="gaps").dropna()  # a single model gets no imputation
    y = y[X.index]
    if isinstance(params.get("estimator"), LogisticRegression):
        X = X[["num"]]
    clf = AutoBalancedClassifier(n_trials=1, cv=3, random_state=0, **params)
    _round_trip(clf.fit(X, y), tmp_path / "m.skops", X)


def test_multiclass_search_loads_untrusted(tmp_path, multiclass_data):
    X, y = multiclass_data
    clf = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3, random_state=0)
    clf.fit(X, y)
    space = clf.search_space_
    _round_trip(clf, tmp_path / "search.skops", X)
    models = [space.build(c, search=True).fit(X, y) for c in space.grid()]
    assert any(m is not None for m in models)
    skops.io.dump(models, tmp_path / "setups.skops")
    assert len(load_model(tmp_path / "setups.skops")) == len(models)


@pytest.mark.parametrize(
    "scoring", ["accuracy", "average_precision", "balanced_accuracy", "f1",
                "neg_log_loss", "neg_brier_score", "matthews_corrcoef",
                "precision", "recall", "jaccard", "roc_auc", "roc_auc_ovr"],
)  # fmt: skip
def test_named_scorers_load_untrusted(tmp_path, scoring):
    from sklearn.metrics import get_scorer

    skops.io.dump(get_scorer(scoring), tmp_path / "s.skops")
    load_model(tmp_path / "s.skops")


# -- files that would run the caller's code for their author --------------------
def _transformer_file(tmp_path, func, **kw_args):
    from sklearn.preprocessing import FunctionTransformer

    path = tmp_path / "evil.skops"
    skops.io.dump(FunctionTransformer(func, kw_args=kw_args or None), path)
    return path


@pytest.mark.parametrize(
    "func, name",
    [
        (autobalance.save_model, "autobalance._persist.save_model"),
        (autobalance.load_model, "autobalance._persist.load_model"),
        (autobalance.cli.main, "autobalance.cli.main"),
    ],
)
def test_package_functions_in_a_file_are_refused(tmp_path, func, name):
    target = tmp_path / "stolen.joblib"
    kw = {"path": str(target), "format": "joblib"} if func is save_model else {}
    path = _transformer_file(tmp_path, func, **kw)
    with pytest.raises(UntrustedTypesError, match=name) as info:
        load_model(path)
    assert info.value.types == [name]
    assert not target.exists()


def test_save_refuses_what_load_would_refuse(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    with pytest.raises(UntrustedTypesError, match=r"Not saved.*trusted="):
        save_model(FunctionTransformer(autobalance.save_model), tmp_path / "m.skops")
    with pytest.raises(UntrustedTypesError, match="CustomLogisticRegression") as info:
        save_model(CustomLogisticRegression(), tmp_path / "m.skops")
    assert os.listdir(tmp_path) == []  # neither the file nor a temporary one
    (name,) = info.value.types
    path = save_model(CustomLogisticRegression(), tmp_path / "m.skops", trusted=[name])
    assert type(load_model(path, trusted=[name])) is CustomLogisticRegression


def test_hist_gradient_boosting_with_categories_round_trips(tmp_path):
    """Bug 1: with categorical columns (the portfolio's text columns) HGB keeps
    ``partial(check_array, ...)``, which the old allow-list refused."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=100), rng.integers(0, 3, 100)]
    y = rng.integers(0, 2, 100)
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[1])
    types = _round_trip(model.fit(X, y), tmp_path / "hgb.skops", X)
    assert {"functools.partial", "sklearn.utils.validation.check_array"} <= set(types)


# -- pickles only on request -----------------------------------------------------
class _TouchOnLoad:
    """Unpickling it creates ``marker``: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("name", ["x.pkl", "x.joblib", "x.pickle"])
def test_pickles_load_only_with_trust_pickle(tmp_path, name):
    marker = tmp_path / "code-ran"
    path = tmp_path / name
    path.write_bytes(pickle.dumps(_TouchOnLoad(marker)))
    with pytest.raises(UntrustedPickleError, match="runs whatever code") as info:
        load_model(path)
    assert "trust_pickle=True" in str(info.value) and ".skops" in str(info.value)
    assert not marker.exists()  # refused before unpickling
    load_model(path, trust_pickle=True)
    assert marker.exists()  # the file was live: the opt-in runs it


# -- permissions -----------------------------------------------------------------
@pytest.fixture
def umask():
    """Set the umask for one test; restore it after."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("name", ["model.skops", "model.joblib"])
def test_files_get_the_umask_permissions(fitted, tmp_path, umask, name):
    clf, _ = fitted
    umask(0o022)
    assert current_umask() == 0o022
    assert _mode(save_model(clf, tmp_path / name)) == 0o644
    umask(0o027)
    assert _mode(save_model(clf, tmp_path / f"other-{name}")) == 0o640
    # Like open(path, "w"), overwriting keeps the file's own permissions.
    os.chmod(tmp_path / name, 0o600)
    assert _mode(save_model(clf, tmp_path / name)) == 0o600


def test_report_gets_the_umask_permissions(fitted, tmp_path, umask):
    clf, _ = fitted
    umask(0o022)
    assert _mode(autobalance.report(clf, tmp_path / "r.html")) == 0o644


def test_unwritable_folder_names_the_users_path(fitted, tmp_path):
    clf, _ = fitted
    with pytest.raises(OSError, match=r"Cannot write '/proc/m\.skops'") as info:
        save_model(clf, "/proc/m.skops")
    assert ".tmp" not in str(info.value)
