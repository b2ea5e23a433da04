"""The ``autobalance`` command, run for real in subprocesses on small files.

Every subprocess pays for importing scikit-learn, so independent commands run
concurrently; further error cases call ``main`` in this process.
"""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import optuna
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from autobalance import load_model
from autobalance.cli import (
    EXIT_COLUMN,
    EXIT_INPUT,
    EXIT_MISMATCH,
    EXIT_MODEL,
    EXIT_OUTPUT,
    EXIT_STORAGE,
    EXIT_TARGET,
    EXIT_USAGE,
    main,
)

SEARCH = [
    "--estimator",
    "logistic_regression",
    "--techniques",
    "none,random_over_sampler,smote,balanced_class_weight",
    "--cv",
    "3",
]
INPUTS = ["data.csv", "new.parquet", "no_x4.csv", "one_class.csv", "custom.skops"]

# The four error cases of the issue: (arguments, exit code, message).
ERRORS = {
    "missing_file": (
        ["fit", "nope.csv", "--target", "Class", "--out", "m.skops"],
        EXIT_INPUT,
        "nope.csv: no such file",
    ),
    "missing_target": (
        ["fit", "data.csv", "--target", "Label", "--out", "m.skops"],
        EXIT_COLUMN,
        "no column 'Label'",
    ),
    "one_class": (
        ["fit", "one_class.csv", "--target", "Class", "--out", "m.skops"],
        EXIT_TARGET,
        "one class only",
    ),
    "bad_storage": (
        ["fit", "data.csv", "--target", "Class", "--out", "m.skops",
         "--storage", "postgresql+psycopg2://u:secret@127.0.0.1:9/db",
         "--study-name", "s"],
        EXIT_STORAGE,
        "Cannot open storage",
    ),
}  # fmt: skip


def command():
    """The installed console script (the real command)."""
    script = shutil.which("autobalance", path=os.path.dirname(sys.executable))
    script = script or shutil.which("autobalance")
    assert script, "the `autobalance` console script is not installed"
    return script


def run_all(jobs):
    """Run ``{name: (cwd, args)}`` concurrently; return ``{name: result}``."""
    procs = {
        name: subprocess.Popen(
            [command(), *map(str, args)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (cwd, args) in jobs.items()
    }
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        out[name] = subprocess.CompletedProcess(
            proc.args, proc.returncode, stdout, stderr
        )
    return out


class Custom(LogisticRegression):
    """A type autobalance does not expect in a model file."""


def _write_inputs(folder):
    X, y = make_classification(
        n_samples=240, n_features=5, weights=[0.85], random_state=0
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["Class"] = y
    frame.to_csv(folder / "data.csv", index=False)
    frame.drop(columns="Class").iloc[:50].to_parquet(folder / "new.parquet")
    frame.drop(columns=["Class", "x4"]).to_csv(folder / "no_x4.csv", index=False)
    frame.assign(Class=1).to_csv(folder / "one_class.csv", index=False)
    skops.io.dump(Custom(), folder / "custom.skops")


def _folder(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    _write_inputs(folder)
    return folder


def test_console_script_is_declared():
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="autobalance")
    assert script.value == "autobalance.cli:main"
    command()  # installed: every subprocess here runs it


def test_fit_then_predict_and_report(tmp_path):
    folder = _folder(tmp_path, "main")
    fit = ["fit", "data.csv", "--target", "Class", *SEARCH, "--n-trials", 5]
    (result,) = run_all({"fit": (folder, [*fit, "--out", "model.skops"])}).values()
    assert result.returncode == 0, result.stderr
    assert "Leaderboard" in result.stdout and "Chosen: technique=" in result.stdout
    model = load_model(folder / "model.skops")
    assert f"technique={model.best_technique_}" in result.stdout
    assert len(model.cv_results_["params"]) == 5
    assert model.versions_["scikit-learn"]

    predict = ["predict", "model.skops", "new.parquet", "--out", "pred.csv"]
    report = ["report", "--model", "model.skops", "--out", "report.html"]
    results = run_all({"predict": (folder, predict), "report": (folder, report)})
    assert results["predict"].returncode == 0, results["predict"].stderr
    pred = pd.read_csv(folder / "pred.csv")
    assert list(pred.columns) == ["prediction", "proba_0", "proba_1"]
    X_new = pd.read_parquet(folder / "new.parquet")
    np.testing.assert_array_equal(pred["prediction"], model.predict(X_new))
    np.testing.assert_allclose(
        pred[["proba_0", "proba_1"]], model.predict_proba(X_new), rtol=1e-12
    )
    assert results["report"].returncode == 0, results["report"].stderr
    text = (folder / "report.html").read_text()
    assert "<table" in text and "<img" in text


def test_evaluate_prints_the_nested_estimate(tmp_path):
    folder = _folder(tmp_path, "evaluate")
    evaluate = ["evaluate", "data.csv", "--target", "Class", *SEARCH, "--n-trials"]
    args = [*evaluate, 3, "--outer-cv", 2, "--out", "folds.csv"]
    (result,) = run_all({"evaluate": (folder, args)}).values()
    assert result.returncode == 0, result.stderr
    folds = pd.read_csv(folder / "folds.csv")
    assert len(folds) == 2
    # The printed estimate is the mean outer-fold ROC AUC of the saved folds
    # (not the optimistic inner score, not the baseline's).
    (line,) = [s for s in result.stdout.splitlines() if "Honest estimate" in s]
    printed = float(re.search(r"ROC AUC (\d\.\d{4})", line).group(1))
    assert printed == pytest.approx(folds["roc_auc"].mean(), abs=5e-5)


def test_errors_exit_with_one_line_and_no_output(tmp_path):
    """The issue's error cases, each in its own folder to see it writes nothing."""
    folders = {name: _folder(tmp_path, name) for name in ERRORS}
    results = run_all({name: (folders[name], spec[0]) for name, spec in ERRORS.items()})
    for case, (_, code, message) in ERRORS.items():
        result = results[case]
        assert result.returncode == code, (case, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (case, result.stderr)
        assert lines[0].startswith("autobalance fit: error: ")
        assert "secret" not in result.stderr  # the storage password is hidden
        assert sorted(os.listdir(folders[case])) == sorted(INPUTS), case


# -- more error cases, in this process -----------------------------------------
@pytest.fixture
def inputs(tmp_path, monkeypatch):
    _write_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _check_error(capsys, folder, argv, code, message):
    def files():  # a database's own side files (-wal, -shm) do not count
        return sorted(n for n in os.listdir(folder) if ".db-" not in n)

    before = files()
    assert main(argv) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert files() == before


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["fit", "data.csv", "--target", "Class", "--out", "no/dir/m.skops"],
         EXIT_INPUT, "does not exist"),
        (["fit", "data.csv", "--target", "Class", "--out", "m.txt"], EXIT_USAGE,
         ".skops"),
        (["fit", "data.xlsx", "--target", "Class", "--out", "m.skops"], EXIT_USAGE,
         "unknown data format"),
        (["fit", "data.csv", "--target", "Class", "--out", "m.skops",
          "--storage", "sqlite:////no/such/folder/s.db", "--study-name", "s"],
         EXIT_STORAGE, "Cannot open storage"),
        (["fit", "data.csv", "--target", "Class", "--out", "m.skops",
          "--storage", "sqlite:///s.db"], EXIT_USAGE, "go together"),
        (["predict", "missing.skops", "data.csv", "--out", "p.csv"], EXIT_INPUT,
         "missing.skops: no such file"),
        (["predict", "custom.skops", "data.csv", "--out", "p.csv"], EXIT_MODEL,
         "unexpected types"),
        (["report", "--out", "r.html"], EXIT_USAGE, "--model"),
    ],
)  # fmt: skip
def test_more_errors(inputs, capsys, argv, code, message):
    _check_error(capsys, inputs, argv, code, message)


def test_usage_errors_are_one_line(inputs, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", "data.csv"])
    assert info.value.code == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--target, --out" in err[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("auto", "auto"), ("all", None), ("20000", 20000)],
)
def test_max_search_samples_option(inputs, value, expected):
    from autobalance.cli import build_estimator, build_parser, search_config

    argv = ["fit", "data.csv", "--target", "Class", "--out", "m.skops"]
    args = build_parser().parse_args([*argv, "--max-search-samples", value])
    config = search_config(args, "data.csv")
    clf = build_estimator(config, pd.read_csv("data.csv"))
    assert clf.max_search_samples == expected


def test_bad_max_search_samples_option_is_one_line(inputs, capsys):
    argv = ["fit", "data.csv", "--target", "Class", "--out", "m.skops"]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--max-search-samples", "10"])
    assert info.value.code == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least 100 rows" in err[0]


def test_predict_needs_the_model_columns(inputs, capsys):
    from autobalance import AutoBalancedClassifier, save_model

    data = pd.read_csv("data.csv")
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["none"], n_trials=1, cv=2, random_state=0
    ).fit(data.drop(columns="Class"), data["Class"])
    save_model(clf, "model.skops")
    argv = ["predict", "model.skops", "no_x4.csv", "--out", "p.csv"]
    _check_error(capsys, inputs, argv, EXIT_COLUMN, "x4")


def test_study_made_for_other_data_is_refused(inputs, capsys):
    url = f"sqlite:///{inputs / 's.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="maximize")
    study.set_user_attr("autobalance_fingerprint", "made for other data")
    argv = ["fit", "data.csv", "--target", "Class", *SEARCH, "--storage", url,
            "--study-name", "s", "--out", "m.skops"]  # fmt: skip
    _check_error(capsys, inputs, argv, EXIT_MISMATCH, "different data")


# -- files a user can trust ------------------------------------------------------
def _mixed_frame(n=150, seed=0, missing=True):
    """Numbers, text, a categorical, a boolean and (optionally) gaps."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.25).astype(int)
    frame = pd.DataFrame(
        {
            "num": rng.normal(size=n) + y,
            "gaps": rng.normal(size=n),
            "text": pd.Series(rng.choice(["red", "green", "blue"], n), dtype=object),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "flag": rng.random(n) < 0.5,
            "Class": y,
        }
    )
    if missing:
        frame.loc[rng.random(n) < 0.1, "gaps"] = np.nan
        frame.loc[::17, "text"] = None
    return frame


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    "estimator",
    [None, "logistic_regression", "extra_trees", "hist_gradient_boosting"],
)
def test_round_trip_on_a_mixed_table(tmp_path, monkeypatch, capsys, estimator, fmt):
    """fit -> predict -> evaluate -> report on an ordinary table, no --trust
    (bug 1: HGB with a text column saved a file predict refused)."""
    monkeypatch.chdir(tmp_path)
    frame = _mixed_frame(missing=True)
    data, new = f"data.{fmt}", f"new.{fmt}"
    if fmt == "csv":
        frame.to_csv(data, index=False)
        frame.drop(columns="Class").to_csv(new, index=False)
    else:
        frame.to_parquet(data)
        frame.drop(columns="Class").to_parquet(new)
    search = ["--n-trials", "3", "--cv", "3"]
    if estimator:
        search += ["--estimator", estimator]
    assert main(["fit", data, "--target", "Class", *search, "--out", "m.skops"]) == 0
    assert main(["predict", "m.skops", new, "--out", "p.csv"]) == 0
    argv = ["evaluate", data, "--target", "Class", *search, "--outer-cv", "2"]
    assert main(argv) == 0
    argv = ["report", "--model", "m.skops", data, "--target", "Class"]
    assert main([*argv, "--out", "r.html"]) == 0, capsys.readouterr().err
    model = load_model("m.skops")
    if estimator:
        assert model.best_algorithm_.startswith(estimator)
    assert len(pd.read_csv("p.csv")) == len(frame)


def test_pickle_needs_trust_pickle(inputs, capsys):
    from autobalance import AutoBalancedClassifier, save_model

    data = pd.read_csv("data.csv")
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["none"], n_trials=1, cv=2, random_state=0
    ).fit(data.drop(columns="Class"), data["Class"])
    save_model(clf, "model.pkl")
    argv = ["predict", "model.pkl", "data.csv", "--out", "p.csv"]
    _check_error(capsys, inputs, argv, EXIT_MODEL, "--trust-pickle")
    assert main([*argv, "--trust-pickle"]) == 0
    assert len(pd.read_csv("p.csv")) == len(data)


@pytest.mark.parametrize("option", ["--out", "--report"])
@pytest.mark.parametrize("where", ["file_parent", "proc"])
def test_unwritable_output_fails_before_the_search(inputs, capsys, monkeypatch,
                                                   option, where):  # fmt: skip
    """An output that cannot be written is found before any trial runs, with
    the user's path in the message (not a temporary file)."""
    import autobalance.cli as cli

    def no_search(*args, **kwargs):
        raise AssertionError("the search started")

    monkeypatch.setattr(cli, "build_estimator", no_search)
    name = "m.skops" if option == "--out" else "r.html"
    bad = f"data.csv/{name}" if where == "file_parent" else f"/proc/{name}"
    argv = ["fit", "data.csv", "--target", "Class", "--out", "m.skops", option, bad]
    _check_error(capsys, inputs, argv, EXIT_OUTPUT, f"{bad}: cannot be written")


def test_output_check_leaves_nothing(inputs, capsys):
    before = sorted(os.listdir(inputs))
    argv = ["predict", "custom.skops", "data.csv", "--out", "p.csv"]
    assert main(argv) == EXIT_MODEL  # after the output check passed
    assert sorted(os.listdir(inputs)) == before


def test_outputs_get_the_umask_permissions(inputs):
    import stat

    from autobalance import AutoBalancedClassifier, save_model

    data = pd.read_csv("data.csv")
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["none"], n_trials=1, cv=2, random_state=0
    ).fit(data.drop(columns="Class"), data["Class"])
    previous = os.umask(0o022)
    try:
        save_model(clf, "model.skops")
        assert main(["predict", "model.skops", "data.csv", "--out", "p.csv"]) == 0
        for name in ("model.skops", "p.csv"):
            assert stat.S_IMODE(os.stat(name).st_mode) == 0o644, name
    finally:
        os.umask(previous)


# -- weight and group columns (issue 19) -----------------------------------------
def _grouped_inputs(folder):
    frame = pd.read_csv(folder / "data.csv")
    frame["patient"] = np.arange(len(frame)) // 4
    frame["w"] = np.linspace(0.5, 2.0, len(frame))
    frame.to_csv(folder / "grouped.csv", index=False)
    return frame


GROUPED = ["--group-column", "patient", "--weight-column", "w"]


def test_fit_with_group_and_weight_columns(inputs, capsys, monkeypatch):
    import autobalance._classifier as classifier_module
    from autobalance._plan import build_plan

    frame = _grouped_inputs(inputs)
    seen = []

    def record(est, X, y, *, fit_params=None):
        seen.append((list(X.columns), dict(fit_params)))
        return build_plan(est, X, y, fit_params=fit_params)

    monkeypatch.setattr(classifier_module, "build_plan", record)
    argv = ["fit", "grouped.csv", "--target", "Class", *SEARCH, *GROUPED]
    assert main([*argv, "--n-trials", "3", "--out", "m.skops"]) == 0
    ((columns, params),) = seen
    assert columns == [f"x{i}" for i in range(5)]
    np.testing.assert_array_equal(params["groups"], frame["patient"])
    # Read back from CSV: pandas < 2.2 parses floats to within 1 ulp.
    np.testing.assert_allclose(params["sample_weight"], frame["w"], rtol=1e-12)
    model = load_model(inputs / "m.skops")
    assert list(model.feature_names_in_) == [f"x{i}" for i in range(5)]
    groups = frame["patient"].to_numpy()
    X = frame[columns]
    for train, test in model.cv_.split(X, frame["Class"], groups):
        assert not np.intersect1d(groups[train], groups[test]).size
    # Predicting needs neither column.
    assert main(["predict", "m.skops", "new.parquet", "--out", "p.csv"]) == 0


def test_evaluate_with_group_column(inputs, capsys, monkeypatch):
    import autobalance

    frame = _grouped_inputs(inputs)
    real = autobalance.nested_cross_validate
    results = []

    def record(*args, **kwargs):
        results.append(real(*args, **kwargs, return_estimators=True))
        return results[-1]

    monkeypatch.setattr(autobalance, "nested_cross_validate", record)
    argv = ["evaluate", "grouped.csv", "--target", "Class", *SEARCH, *GROUPED]
    assert main([*argv, "--n-trials", "3", "--outer-cv", "2"]) == 0
    (result,) = results
    groups = frame["patient"].to_numpy()
    X, y = frame[[f"x{i}" for i in range(5)]], frame["Class"].to_numpy()
    for (train, test), est in zip(result.splits, result.estimators, strict=True):
        assert not np.intersect1d(groups[train], groups[test]).size
        inner = groups[train]
        for tr, te in est.cv_.split(X.iloc[train], y[train], inner):
            assert not np.intersect1d(inner[tr], inner[te]).size


@pytest.mark.parametrize(
    "extra, code, message",
    [
        (["--group-column", "site"], EXIT_COLUMN,
         "no column 'site' to use as --group-column (columns: x0, x1"),
        (["--weight-column", "weight"], EXIT_COLUMN,
         "no column 'weight' to use as --weight-column"),
        (["--weight-column", "Class"], EXIT_USAGE, "is the target"),
        (["--weight-column", "w", "--group-column", "w"], EXIT_USAGE,
         "name the same column"),
    ],
)  # fmt: skip
def test_bad_metadata_columns(inputs, capsys, extra, code, message):
    _grouped_inputs(inputs)
    argv = ["fit", "grouped.csv", "--target", "Class", "--out", "m.skops", *extra]
    _check_error(capsys, inputs, argv, code, message)
    argv = ["evaluate", "grouped.csv", "--target", "Class", *extra]
    _check_error(capsys, inputs, argv, code, message)
