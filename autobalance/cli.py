"""The ``autobalance`` command: a thin layer over the Python API.

Commands::

    autobalance fit DATA --target COL --out model.skops [search options]
        [--weight-column COL] [--group-column COL]
        [--storage URL --study-name NAME] [--report report.html]
    autobalance predict MODEL DATA --out predictions.csv
    autobalance evaluate DATA --target COL [--outer-cv 5] [search options]
        [--weight-column COL] [--group-column COL]
    autobalance report (--model MODEL [DATA --target COL [--weight-column COL]] |
                        --storage URL --study-name NAME) --out report.html
    autobalance worker --storage URL --study-name NAME [DATA --target COL ...]

DATA is a CSV (``.csv``, ``.csv.gz``, ``.tsv``) or Parquet (``.parquet``,
``.pq``) file; every column but the target is a feature, except the columns
named by ``--weight-column`` (row weights, ``sample_weight``) and
``--group-column`` (group labels: no group is both trained on and scored in
one fold), which are removed from the features; ``report`` weighs its
out-of-fold curves by the ``--weight-column`` the model was fitted with (as
``fit --report`` does). Models are saved with
skops (``.skops``, secure: use it for files you share or receive) or joblib
(``.joblib``, ``.pkl``: loading one runs any code it holds, so ``predict`` and
``report`` open it only with ``--trust-pickle``). Outputs are checked for
writability before any work starts, written atomically, and get the
permissions of a plain new file (``0o666`` less the umask).

Exit codes (a script can rely on them; each error is one line on stderr and no
output file is written):

====  ===========================================================
0     success
1     any other error (bad option value, data a model cannot use)
2     bad command line (unknown option, missing argument)
3     an input file is missing or unreadable, or an output folder is missing
4     a column is missing (the target, or a feature the model needs)
5     the target cannot be learned (one class, missing labels)
6     the storage cannot be opened, or holds no such study
7     the stored study was made for other data or search settings
8     no trial of the search completed
9     the model file is not a model autobalance can load safely (unexpected
      types in a skops file, or a pickle file without ``--trust-pickle``)
10    an output (``--out``, ``--report``) cannot be written: its folder is
      not writable, or its parent is not a folder
130   interrupted (Ctrl-C); run the same command again to resume a stored study
====  ===========================================================
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import warnings

from ._attrs import CONFIG_ATTR

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_COLUMN = 4
EXIT_TARGET = 5
EXIT_STORAGE = 6
EXIT_MISMATCH = 7
EXIT_NO_TRIAL = 8
EXIT_MODEL = 9
EXIT_OUTPUT = 10
EXIT_INTERRUPTED = 130

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


class CliError(Exception):
    """An error with its exit code; ``main`` prints it on one line."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def _suffix(path):
    name = os.path.basename(path).lower()
    for suffix in CSV_SUFFIXES + PARQUET_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return os.path.splitext(name)[1]


def _check_data_name(path):
    if _suffix(path) not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise CliError(
            EXIT_USAGE,
            f"{path}: unknown data format; use a .csv, .tsv or .parquet file.",
        )


def read_table(path):
    """Read a CSV or Parquet file into a DataFrame."""
    _check_data_name(path)
    if not os.path.isfile(path):
        raise CliError(EXIT_INPUT, f"{path}: no such file.")
    import pandas as pd

    try:
        if _suffix(path) in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        sep = "\t" if _suffix(path) == ".tsv" else ","
        return pd.read_csv(path, sep=sep)
    except ImportError as exc:
        raise CliError(
            EXIT_INPUT,
            f"{path}: reading Parquet needs pyarrow (pip install 'autobalance[cli]').",
        ) from exc
    except Exception as exc:
        raise CliError(EXIT_INPUT, f"{path}: cannot read it ({exc}).") from exc


def split_target(frame, target, path):
    """Features and labels; the target must exist and hold two classes."""
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:10]))
        raise CliError(
            EXIT_COLUMN,
            f"{path}: no column {target!r} to use as --target (columns: {shown}).",
        )
    y = frame[target]
    if y.isna().any():
        raise CliError(
            EXIT_TARGET,
            f"{path}: the target {target!r} has {int(y.isna().sum())} missing "
            "labels; drop or fill those rows.",
        )
    if y.nunique() < 2:
        only = repr(y.iloc[0]) if len(y) else "no rows"
        raise CliError(
            EXIT_TARGET,
            f"{path}: the target {target!r} has one class only ({only}); a "
            "classifier needs at least two.",
        )
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise CliError(EXIT_COLUMN, f"{path}: no feature column besides {target!r}.")
    return X, y.to_numpy()


#: CLI option -> fit keyword, for the columns that are metadata, not features.
METADATA_OPTIONS = {"--weight-column": "sample_weight", "--group-column": "groups"}


def split_metadata(frame, columns, path, target=None):
    """Remove the metadata columns from ``frame``: ``columns`` maps a CLI
    option to a column name (or ``None``). Returns the rest and the fit
    keywords ``{"sample_weight": ..., "groups": ...}`` of the named ones."""
    named = {o: c for o, c in columns.items() if c is not None}
    shown = ", ".join(map(str, list(frame.columns)[:10]))
    for option, column in named.items():
        if column not in frame.columns:
            raise CliError(
                EXIT_COLUMN,
                f"{path}: no column {column!r} to use as {option} (columns: {shown}).",
            )
        if column == target:
            raise CliError(
                EXIT_USAGE,
                f"{option} {column!r} is the target; name another column.",
            )
    if len(set(named.values())) < len(named):
        raise CliError(
            EXIT_USAGE,
            f"{' and '.join(named)} name the same column; name one column each.",
        )
    metadata = {METADATA_OPTIONS[o]: frame[c].to_numpy() for o, c in named.items()}
    return frame.drop(columns=list(named.values())), metadata


def _metadata_columns(config):
    """The metadata columns of a search config (older configs have none)."""
    return {
        "--weight-column": config.get("weight_column"),
        "--group-column": config.get("group_column"),
    }


def read_training_data(config, path=None):
    """Features, labels and fit keywords of a search config's data (read
    from ``path``, the data as the command line named it, when given)."""
    path = config["data"] if path is None else path
    frame, metadata = split_metadata(
        read_table(path), _metadata_columns(config), path, config["target"]
    )
    X, y = split_target(frame, config["target"], path)
    return X, y, metadata


def _check_out(path, kinds):
    """Fail before any work when an output cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.lexists(folder):
        raise CliError(EXIT_INPUT, f"{path}: the folder {folder} does not exist.")
    if os.path.isdir(path):
        raise CliError(EXIT_USAGE, f"{path}: is a folder; give a file name.")
    if kinds and _suffix(path) not in kinds:
        raise CliError(
            EXIT_USAGE, f"{path}: use one of the extensions {', '.join(kinds)}."
        )
    _probe_folder(path, folder)


def _probe_folder(path, folder):
    """Create and remove a file where the output's temporary file will go:
    what the atomic write needs. Permission bits alone do not tell (root
    writes anywhere they deny, not in /proc)."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(
            dir=folder, prefix=".autobalance-", suffix=".probe"
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, NotADirectoryError) or not os.path.isdir(folder):
            reason = f"{folder} is not a folder"
        raise CliError(
            EXIT_OUTPUT,
            f"{path}: cannot be written ({reason}); choose a path in a folder you "
            "can write to.",
        ) from exc
    os.close(fd)
    os.unlink(probe)


# --------------------------------------------------------------------------
# Building the estimator
# --------------------------------------------------------------------------
def _names(text):
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def search_config(args, data):
    """The options that define a search (recorded in a stored study)."""
    return {
        "data": os.path.abspath(data),
        "target": args.target,
        "estimator": _names(args.estimator),
        "techniques": _names(args.techniques),
        "scoring": args.scoring,
        "cv": args.cv,
        "pruning": args.pruning,
        "seed": args.seed,
        "n_trials": args.n_trials,
        "max_search_samples": args.max_search_samples,
        # Only when given: a config without them reads as before.
        **{
            key: value
            for key, value in (
                ("weight_column", args.weight_column),
                ("group_column", args.group_column),
            )
            if value is not None
        },
    }


def _portfolio(X):
    """The default portfolio, prepared for the columns of ``X``."""
    from . import default_algorithms
    from ._preprocessing import describe_features

    return default_algorithms(describe_features(X))


def build_estimator(config, X, **kwargs):
    """An AutoBalancedClassifier from a search config (see ``search_config``);
    ``--estimator`` picks models of the default portfolio, prepared for ``X``."""
    from . import AutoBalancedClassifier, technique_names

    estimator = None
    if config["estimator"]:
        algorithms = {a.name: a.estimator for a in _portfolio(X)}
        unknown = [n for n in config["estimator"] if n not in algorithms]
        if unknown:
            raise CliError(
                EXIT_USAGE,
                f"unknown --estimator {', '.join(unknown)}; choose from "
                f"{', '.join(algorithms)}.",
            )
        estimator = [(n, algorithms[n]) for n in config["estimator"]]
        if len(estimator) == 1:
            estimator = estimator[0][1]
    if config["techniques"]:
        unknown = [n for n in config["techniques"] if n not in technique_names()]
        if unknown:
            raise CliError(
                EXIT_USAGE,
                f"unknown --techniques {', '.join(unknown)}; choose from "
                f"{', '.join(technique_names())}.",
            )
    return AutoBalancedClassifier(
        estimator,
        techniques=config["techniques"],
        scoring=config["scoring"],
        cv=config["cv"],
        n_trials=config["n_trials"],
        max_search_samples=config.get("max_search_samples", "auto"),
        pruning=config["pruning"],
        random_state=config["seed"],
        **kwargs,
    )


def open_storage(args):
    from . import make_storage

    return make_storage(args.storage, heartbeat_interval=args.heartbeat)


def _progress(args):
    return sys.stderr.isatty() if args.progress is None else args.progress


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------
def _fmt(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def print_summary(clf, out=sys.stdout):
    """The leaderboard and the chosen setup."""
    import pandas as pd

    try:
        from .reporting import leaderboard

        board = leaderboard(clf)
    except Exception:  # reporting unavailable: the best trials
        frame = pd.DataFrame(clf.cv_results_)
        board = frame.sort_values("rank_test_score")[
            ["technique", "param_algorithm", "mean_test_score", "state"]
        ].head(10)
    with pd.option_context("display.width", 120, "display.max_columns", 12):
        print("Leaderboard (inner cross-validation):", file=out)
        print(board.to_string(float_format=lambda v: f"{v:.4f}"), file=out)
    params = {
        k: v for k, v in clf.best_params_.items() if k not in ("technique", "algorithm")
    }
    print(
        f"\nChosen: technique={clf.best_technique_} model={clf.best_algorithm_}"
        + "".join(f" {k}={_fmt(v)}" for k, v in params.items()),
        file=out,
    )
    n_done = int(sum(s == "COMPLETE" for s in clf.cv_results_["state"]))
    print(
        f"Inner CV score: {clf.best_score_:.4f} over {clf.n_splits_} folds, "
        f"{n_done} of {len(clf.cv_results_['state'])} trials complete (optimistic: "
        "`autobalance evaluate` gives an honest estimate).",
        file=out,
    )


def _write_frame(frame, path):
    from ._persist import atomic_path

    with atomic_path(path) as tmp:
        if _suffix(path) in PARQUET_SUFFIXES:
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, sep="\t" if _suffix(path) == ".tsv" else ",")


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------
def _record_config(storage, study_name, config):
    """Create the study if needed and record what workers need to join it."""
    import optuna

    from ._study import quiet_optuna

    with quiet_optuna():
        study = optuna.create_study(
            storage=storage,
            study_name=study_name,
            direction="maximize",
            load_if_exists=True,
        )
    if CONFIG_ATTR not in study.user_attrs:
        study.set_user_attr(CONFIG_ATTR, config)


def cmd_fit(args):
    from ._persist import save_model

    _check_out(args.out, (".skops", ".joblib", ".pkl", ".pickle"))
    if args.report:
        _check_out(args.report, (".html", ".htm"))
    if (args.storage is None) != (args.study_name is None):
        raise CliError(EXIT_USAGE, "--storage and --study-name go together.")
    config = search_config(args, args.data)
    X, y, metadata = read_training_data(config, args.data)
    storage = None
    if args.storage:
        storage = open_storage(args)
        _record_config(storage, args.study_name, config)
    clf = build_estimator(
        config,
        X,
        timeout=args.timeout,
        n_jobs=args.n_jobs,
        storage=storage,
        study_name=args.study_name,
        show_progress_bar=_progress(args),
    )
    clf.fit(X, y, **metadata)
    # The model first: a report that fails must not cost a long search.
    save_model(clf, args.out)
    print_summary(clf)
    print(f"Saved the model to {args.out}")
    if args.report:
        from .reporting import report

        try:
            report(clf, args.report, X, y, sample_weight=metadata.get("sample_weight"))
        except Exception as exc:
            weights = (
                f" --weight-column {args.weight_column}" if args.weight_column else ""
            )
            raise CliError(
                EXIT_ERROR,
                f"the model is saved to {args.out}, but writing the report "
                f"{args.report} failed ({type(exc).__name__}: {exc}); write it "
                f"later with `autobalance report --model {args.out} {args.data} "
                f"--target {args.target}{weights} --out {args.report}`.",
            ) from exc
        print(f"Wrote the report to {args.report}")
    return EXIT_OK


def load_cli_model(path, trusted=(), trust_pickle=False):
    from ._persist import UntrustedPickleError, UntrustedTypesError, load_model

    if not os.path.isfile(path):
        raise CliError(EXIT_INPUT, f"{path}: no such file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            model = load_model(path, trusted=list(trusted), trust_pickle=trust_pickle)
    except UntrustedTypesError as exc:
        raise CliError(
            EXIT_MODEL,
            f"{path}: refused, it holds unexpected types {', '.join(exc.types)} "
            "(pass --trust TYPE for each only if you trust the file).",
        ) from exc
    except UntrustedPickleError as exc:
        raise CliError(
            EXIT_MODEL,
            f"{path}: refused, loading a joblib/pickle file runs whatever code it "
            "holds; pass --trust-pickle only if you made it or trust where it "
            "comes from (share models as .skops files).",
        ) from exc
    except ValueError as exc:
        raise CliError(EXIT_USAGE, str(exc)) from exc
    except Exception as exc:
        raise CliError(EXIT_MODEL, f"{path}: not a model file ({exc}).") from exc
    if not hasattr(model, "predict"):
        raise CliError(EXIT_MODEL, f"{path}: holds a {type(model).__name__}, no model.")
    return model


def cmd_predict(args):
    import numpy as np
    import pandas as pd

    _check_out(args.out, CSV_SUFFIXES + PARQUET_SUFFIXES)
    model = load_cli_model(args.model, args.trust, args.trust_pickle)
    frame = read_table(args.data)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise CliError(
                EXIT_COLUMN,
                f"{args.data}: missing feature columns the model needs: "
                f"{', '.join(map(str, missing[:10]))}.",
            )
        frame = frame[list(names)]
    elif frame.shape[1] != getattr(model, "n_features_in_", frame.shape[1]):
        raise CliError(
            EXIT_COLUMN,
            f"{args.data}: {frame.shape[1]} columns, the model needs "
            f"{model.n_features_in_}.",
        )
    out = pd.DataFrame({"prediction": model.predict(frame)})
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(frame))
        for i, label in enumerate(model.classes_):
            out[f"proba_{label}"] = proba[:, i]
    _write_frame(out, args.out)
    print(f"Wrote {len(out)} predictions to {args.out}")
    return EXIT_OK


def cmd_evaluate(args):
    from . import nested_cross_validate

    if args.out:
        _check_out(args.out, CSV_SUFFIXES + PARQUET_SUFFIXES)
    config = search_config(args, args.data)
    X, y, metadata = read_training_data(config, args.data)
    clf = build_estimator(config, X, timeout=args.timeout)
    result = nested_cross_validate(
        clf,
        X,
        y,
        **metadata,
        outer_cv=args.outer_cv,
        n_jobs=args.n_jobs,
        random_state=args.seed,
    )
    import pandas as pd

    summary = result.summary()
    with pd.option_context("display.width", 120, "display.max_columns", 12):
        print(
            f"Nested cross-validation, {args.outer_cv} outer folds (each runs the "
            "whole search on its training part and is scored on data it never saw):"
        )
        print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
    if "roc_auc" in summary.index:
        row = summary.loc["roc_auc"]
        print(
            f"\nHonest estimate: ROC AUC {row['mean']:.4f} "
            f"(standard error {row['std_error']:.4f})"
        )
    print(repr(result))
    if args.out:
        frame = result.to_frame()
        for column in frame.columns:
            if any(isinstance(v, (dict, list, tuple)) for v in frame[column]):
                frame[column] = [json.dumps(v, default=str) for v in frame[column]]
        _write_frame(frame, args.out)
        print(f"Wrote the per-fold results to {args.out}")
    return EXIT_OK


def _stored_config(args):
    from ._distributed import study_attrs

    storage = open_storage(args)
    attrs = study_attrs(storage, args.study_name)
    if attrs is None:
        raise CliError(
            EXIT_STORAGE, f"no study {args.study_name!r} in the storage {args.storage}."
        )
    return storage, attrs.get(CONFIG_ATTR)


def cmd_report(args):
    from .reporting import report

    _check_out(args.out, (".html", ".htm"))
    X = y = None
    metadata = {}
    if args.model:
        clf = load_cli_model(args.model, args.trust, args.trust_pickle)
        if args.data:
            if not args.target:
                raise CliError(EXIT_USAGE, "give --target with DATA.")
            frame, metadata = split_metadata(
                read_table(args.data),
                {
                    "--weight-column": args.weight_column,
                    "--group-column": args.group_column,
                },
                args.data,
                args.target,
            )
            X, y = split_target(frame, args.target, args.data)
    else:
        if not (args.storage and args.study_name):
            raise CliError(
                EXIT_USAGE, "give --model MODEL, or --storage URL and --study-name."
            )
        storage, config = _stored_config(args)
        if config is None:
            raise CliError(
                EXIT_STORAGE,
                f"study {args.study_name!r} was not started by `autobalance fit`; "
                "load the model with --model instead.",
            )
        X, y, metadata = read_training_data(config)
        # Resuming a finished study runs no trial: it refits the winner.
        clf = build_estimator(config, X, storage=storage, study_name=args.study_name)
        clf.fit(X, y, **metadata)
    # The weights weigh the out-of-fold curves as they weighed the fit.
    report(clf, args.out, X, y, sample_weight=metadata.get("sample_weight"))
    print(f"Wrote the report to {args.out}")
    return EXIT_OK


def cmd_worker(args):
    from . import run_worker
    from ._distributed import wait_for_study

    storage = open_storage(args)
    if args.data:
        if not args.target:
            raise CliError(EXIT_USAGE, "give --target with DATA.")
        config = search_config(args, args.data)
    else:
        attrs = wait_for_study(
            storage, args.study_name, attr=CONFIG_ATTR, wait=args.wait
        )
        config = attrs[CONFIG_ATTR]
    X, y, metadata = read_training_data(config)
    clf = build_estimator(
        config,
        X,
        n_jobs=args.n_jobs,
        storage=storage,
        study_name=args.study_name,
    )
    n_run = run_worker(
        clf,
        X,
        y,
        **metadata,
        timeout=args.timeout,
        wait=args.wait,
        show_progress_bar=_progress(args),
    )
    print(f"Worker ran {n_run} trials of study {args.study_name!r}.")
    return EXIT_OK


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------
def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _trials(text):
    return "auto" if text.lower() == "auto" else _positive_int(text)


def _search_samples(text):
    if text.lower() == "auto":
        return "auto"
    if text.lower() in ("all", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'auto', 'all' or a number of rows, got {text!r}"
        ) from None
    if value < 100:
        raise argparse.ArgumentTypeError(f"must be at least 100 rows, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _add_search_options(p, *, target_required):
    p.add_argument("--target", required=target_required, help="the label column")
    p.add_argument(
        "--estimator",
        help="model(s), comma-separated: logistic_regression, extra_trees, "
        "hist_gradient_boosting (default: all three plus balanced ensembles)",
    )
    p.add_argument(
        "--techniques", help="techniques to search, comma-separated (default: all)"
    )
    p.add_argument(
        "--n-trials",
        type=_trials,
        default="auto",
        help="trials of the search (default auto: 12 when the smallest class has "
        "fewer than 1000 rows, else 30)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        help="seconds for the whole fit, refit included (default: none)",
    )
    p.add_argument(
        "--max-search-samples",
        type=_search_samples,
        default="auto",
        help="rows the search runs on: a stratified subsample on larger data, "
        "'all' for every row (default auto: 50000)",
    )
    p.add_argument("--cv", type=_positive_int, default=5, help="inner folds (5)")
    p.add_argument("--scoring", help="scikit-learn scorer name (default: roc_auc)")
    p.add_argument(
        "--pruning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stop clearly worse trials early (default: on)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--n-jobs", type=int, help="folds fitted in parallel")
    _add_metadata_options(p)


def _add_metadata_options(p):
    p.add_argument(
        "--weight-column",
        help="column of row weights (sample_weight), not a feature (default: none)",
    )
    p.add_argument(
        "--group-column",
        help="column of group labels (a patient, a customer), not a feature: no "
        "group is both trained on and scored in one fold (default: none)",
    )


def _add_storage_options(p, *, required):
    p.add_argument(
        "--storage",
        required=required,
        help="Optuna storage: sqlite:///file.db, postgresql+psycopg2://..., "
        "journal:file.log",
    )
    p.add_argument("--study-name", required=required, help="name of the stored study")
    p.add_argument(
        "--heartbeat",
        type=_positive_int,
        default=10,
        help="seconds between heartbeats of a running trial (default 10); a "
        "trial silent for 3 heartbeats is retried",
    )


def _add_trust_options(p):
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="TYPE",
        help="a type the skops file holds that autobalance does not expect, as "
        "the refusal names it; repeat for each (only for files you trust)",
    )
    p.add_argument(
        "--trust-pickle",
        action="store_true",
        help="open a .joblib/.pkl model: loading one runs any code it holds, "
        "so only for files you made or trust",
    )


def _add_progress(p):
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the command."""

    def error(self, message):
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def build_parser():
    from ._version import __version__

    parser = _Parser(
        prog="autobalance",
        description="Pick the class-imbalance technique (and model) for a data file.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 file missing or unreadable, "
        "4 column missing, 5 target unusable, 6 storage, 7 study mismatch, "
        "8 no trial completed, 9 model file refused, 10 output not writable, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--verbose", action="store_true", help="show library warnings")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="search and save the best model")
    p.add_argument("data", help="training data (.csv or .parquet)")
    _add_search_options(p, target_required=True)
    _add_storage_options(p, required=False)
    p.add_argument("--out", required=True, help="model file (.skops or .joblib)")
    p.add_argument("--report", help="also write an HTML report")
    _add_progress(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("predict", help="predict labels and probabilities")
    p.add_argument("model", help="model file from `fit`")
    p.add_argument("data", help="rows to predict (.csv or .parquet)")
    p.add_argument("--out", required=True, help="predictions (.csv or .parquet)")
    _add_trust_options(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="nested cross-validation of the search")
    p.add_argument("data", help="data (.csv or .parquet)")
    _add_search_options(p, target_required=True)
    p.add_argument("--outer-cv", type=_positive_int, default=5, help="outer folds")
    p.add_argument("--out", help="per-fold results (.csv or .parquet)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("report", help="HTML report of a model or a stored study")
    p.add_argument("--model", help="model file from `fit`")
    p.add_argument("data", nargs="?", help="training data, for the curves")
    p.add_argument("--target", help="label column of DATA")
    _add_metadata_options(p)
    _add_storage_options(p, required=False)
    p.add_argument("--out", required=True, help="HTML file")
    _add_trust_options(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("worker", help="run trials of a stored search")
    p.add_argument(
        "data", nargs="?", help="data (default: the file the driver recorded)"
    )
    _add_search_options(p, target_required=False)
    _add_storage_options(p, required=True)
    p.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the driver"
    )
    _add_progress(p)
    p.set_defaults(func=cmd_worker)
    return parser


def _error_code(exc):
    from .exceptions import NoCompletedTrialsError, StorageError, StudyMismatchError

    if isinstance(exc, StorageError):
        return EXIT_STORAGE
    if isinstance(exc, StudyMismatchError):
        return EXIT_MISMATCH
    if isinstance(exc, NoCompletedTrialsError):
        return EXIT_NO_TRIAL
    if isinstance(exc, FileNotFoundError):
        return EXIT_INPUT
    return EXIT_ERROR


@contextlib.contextmanager
def _sigterm_interrupts():
    """Treat SIGTERM (a scheduler stopping the job) like Ctrl-C: the running
    trial of a stored study is released and temporary files are removed."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line(text):
    return " ".join(str(text).split())


def main(argv=None):
    """Run the ``autobalance`` command; return its exit code.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments (``sys.argv[1:]`` when ``None``).

    Returns
    -------
    code : int
        The exit code (see the module docstring).

    Examples
    --------
    >>> from autobalance.cli import main
    >>> main(["predict", "no-such-model.skops", "data.csv", "--out", "p.csv"])
    3
    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings(), _sigterm_interrupts():
        if not args.verbose:
            for category in (FutureWarning, DeprecationWarning, RuntimeWarning):
                warnings.simplefilter("ignore", category)
            warnings.filterwarnings("ignore", module="sklearn")
            warnings.filterwarnings("ignore", module="optuna")
        try:
            return args.func(args)
        except CliError as exc:
            code, message = exc.code, str(exc)
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
            message = "interrupted; run the same command again to resume a stored study"
        except Exception as exc:
            if args.verbose:
                raise
            code = _error_code(exc)
            message = str(exc) or type(exc).__name__
    print(f"autobalance {args.command}: error: {_one_line(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
