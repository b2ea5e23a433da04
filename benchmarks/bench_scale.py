"""Does ``fit(timeout=...)`` hold its time and memory budget on large data?
(issue 4, "Scale")

Synthetic binary data (``make_classification``, 20 features, 1 % positives),
split 75/25 stratified. In ONE process, in this order:

1. baselines: ``lr_balanced`` (the portfolio's scaled logistic regression with
   balanced class weights) and ``HistGradientBoostingClassifier`` (defaults);
2. ``AutoBalancedClassifier(n_trials=None, timeout=T, random_state=seed)``.

For each: fit wall and CPU seconds (child processes included), the peak
resident memory the fit added (process + children, sampled) as a multiple of
``X_train.nbytes``, and held-out ROC AUC. Ratios are printed against the
baselines measured in the same process.

With ``--fold-peaks``, instead: every setup of the default grid (each
technique at its defaults on each compatible model, at search fidelity) is
fitted on the first training fold of the search that ``fit`` would run, and
the peak resident memory that fold fit adds is printed as a multiple of
``X_train.nbytes``, with the fitted model's own size. It shows which setups a
memory budget would have to bound, and by how much. ``--refit-peaks`` does
the same for the refit: every setup, full model, on all of X_train, scored
on the held-out part. ``--categorical K`` runs either on a DataFrame whose last
K columns are categories (a table with categorical columns).

Usage::

    python benchmarks/bench_scale.py --rows 100000 --timeout 120
    python benchmarks/bench_scale.py --rows 100000,1000000 --timeout 300
    python benchmarks/bench_scale.py --rows 100000 --fold-peaks
    python benchmarks/bench_scale.py --rows 100000 --refit-peaks
    python benchmarks/bench_scale.py --rows 100000 --refit-peaks --categorical 3
"""

from __future__ import annotations

import argparse
import gc
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import (
    CpuClock,
    PeakMemory,
    add_run_arguments,
    baseline_model,
    git_commit,
    maxrss_bytes,
    package_hash,
    synthetic,
    thread_limit,
)
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing

from autobalance import AutoBalancedClassifier
from autobalance._footprint import model_nbytes, release_freed_memory
from autobalance._plan import build_plan

MB = 1024**2


def make_data(rows, seed):
    X, y = synthetic(rows, seed)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)


def with_categories(X, n_categorical):
    """``X`` as a DataFrame whose last ``n_categorical`` columns are turned
    into categories (each binned at -1, 0 and 1: four levels)."""
    n_numeric = X.shape[1] - n_categorical
    frame = pd.DataFrame(X[:, :n_numeric], columns=[f"x{i}" for i in range(n_numeric)])
    for j in range(n_numeric, X.shape[1]):
        levels = np.digitize(X[:, j], [-1.0, 0.0, 1.0]).astype(str)
        frame[f"c{j}"] = pd.Categorical(levels)
    return frame


def measure(name, make, X_train, y_train, X_test, y_test):
    """Fit ``make()`` under the clocks; returns a dict of measurements."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with PeakMemory() as mem, CpuClock() as clock:
            model = make().fit(X_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    out = {
        "name": name,
        "wall": clock.wall,
        "cpu": clock.cpu,
        "mem_extra": mem.extra,
        "mem_peak": mem.peak,
        "auc": auc,
        "model": model,
    }
    print(
        f"  {name:<14} fit wall {clock.wall:8.1f}s  CPU {clock.cpu:8.1f}s  "
        f"peak +{mem.extra / MB:7.1f} MiB  held-out AUC {auc:.4f}",
        flush=True,
    )
    return out


def run_size(rows, args):
    X_train, X_test, y_train, y_test = make_data(rows, args.seed)
    nbytes = X_train.nbytes
    print(
        f"\n== {rows:,} rows: train {X_train.shape}, {int(y_train.sum()):,} positives, "
        f"X_train.nbytes {nbytes / MB:.1f} MiB ==",
        flush=True,
    )
    seed = args.seed
    base_lr = measure(
        "lr_balanced",
        lambda: baseline_model("lr", seed, class_weight="balanced"),
        X_train,
        y_train,
        X_test,
        y_test,
    )
    base_hgb = measure(
        "hist_gb",
        lambda: HistGradientBoostingClassifier(random_state=seed),
        X_train,
        y_train,
        X_test,
        y_test,
    )
    ab = measure(
        "autobalance",
        lambda: AutoBalancedClassifier(
            n_trials=args.n_trials,
            timeout=args.timeout,
            n_jobs=args.n_jobs,
            random_state=seed,
        ),
        X_train,
        y_train,
        X_test,
        y_test,
    )
    clf = ab["model"]
    res = clf.cv_results_
    states = list(res["state"])
    print(
        f"  autobalance chose {clf.best_technique_}/{clf.best_algorithm_} "
        f"(inner {clf.best_score_:.4f}); trials {len(states)}: "
        f"{states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, "
        f"{states.count('FAIL')} failed; refit {clf.refit_time_:.1f}s"
    )
    split_cols = [f"split{i}_test_score" for i in range(clf.n_splits_)]
    folds = np.isfinite(np.column_stack([res[k] for k in split_cols])).sum(axis=1)
    for i, params in enumerate(res["params"]):
        print(
            f"    trial {res['trial_number'][i]:>3} {params['technique']:<26} "
            f"{params['algorithm'] or '':<24} {states[i]:<9} {folds[i]} folds x "
            f"{res['mean_fit_time'][i]:7.1f}s fit  "
            f"inner {res['mean_test_score'][i]:.4f}"
        )
    within = ab["wall"] / args.timeout if args.timeout else float("nan")
    print(
        f"  wall / timeout          {within:6.3f}  (target <= 1.10: "
        f"{'MET' if within <= 1.10 else 'MISS'})"
    )
    mem_ratio = ab["mem_extra"] / nbytes
    print(
        f"  peak extra / X.nbytes   {mem_ratio:6.2f}  (target < 4: "
        f"{'MET' if mem_ratio < 4 else 'MISS'})"
    )
    for base in (base_lr, base_hgb):
        print(
            f"  vs {base['name']:<12} wall x{ab['wall'] / base['wall']:8.1f}  "
            f"CPU x{ab['cpu'] / base['cpu']:8.1f}  memory x"
            f"{ab['mem_extra'] / max(base['mem_extra'], 1):6.1f}  AUC "
            f"{ab['auc'] - base['auc']:+.4f}"
        )
    own, child = maxrss_bytes()
    print(
        f"  ru_maxrss so far: self {own / MB:.0f} MiB, largest child "
        f"{child / MB:.0f} MiB"
    )
    return {
        "rows": rows,
        "wall": ab["wall"],
        "timeout": args.timeout,
        "mem_ratio": mem_ratio,
        "auc": ab["auc"],
        "auc_lr": base_lr["auc"],
        "auc_hgb": base_hgb["auc"],
    }


def setup_peaks(rows, args, refit=False):
    """Peak memory of fitting every default setup once: on the first training
    fold of the search at search fidelity, or (``refit``) on all of X_train
    as the refit builds it."""
    X_train, X_test, y_train, y_test = make_data(rows, args.seed)
    # Multiples of the float64 array, also for a table with categories.
    nbytes = X_train.nbytes
    if args.categorical:
        X_train = with_categories(X_train, args.categorical)
        X_test = with_categories(X_test, args.categorical)
    search = build_plan(
        AutoBalancedClassifier(random_state=args.seed), X_train, y_train
    )
    if refit:
        X, y = search.X_full, search.y_full
        train, (X_eval, y_eval) = None, (X_test, y_test)
        where = f"all {len(y):,} rows of X_train, full models (the refit)"
    else:
        train, test = search.splits[0]
        X, y = search.X_search, search.y_search
        X_eval, y_eval = _safe_indexing(X, test), y[test]
        where = (
            f"search on {len(y):,} rows, first training fold {len(train):,} rows "
            f"({len(train) / len(X_train):.2f} x X_train), search fidelity"
        )
    print(
        f"\n== {rows:,} rows: X_train.nbytes {nbytes / MB:.1f} MiB; {where} ==",
        flush=True,
    )
    score = "held-out AUC" if refit else "fold AUC"
    print(f"  {'technique':<26} {'model':<24} peak/X  model/X  fit s  {score}")
    out = []
    for config in search.space.grid():
        estimator = search.space.build(config, search=not refit)
        gc.collect()
        release_freed_memory()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # A fold's rows are sliced inside the block, as the objective does.
            with PeakMemory(interval=0.02) as mem, CpuClock() as clock:
                if refit:
                    model = estimator.fit(X, y)
                else:
                    model = estimator.fit(_safe_indexing(X, train), y[train])
        auc = roc_auc_score(y_eval, model.predict_proba(X_eval)[:, 1])
        row = {
            "technique": config.technique,
            "algorithm": config.algorithm or "",
            "peak": mem.extra / nbytes,
            "model": model_nbytes(model) / nbytes,
            "wall": clock.wall,
            "auc": auc,
        }
        out.append(row)
        print(
            f"  {row['technique']:<26} {row['algorithm']:<24} {row['peak']:6.2f} "
            f"{row['model']:8.2f} {row['wall']:6.1f}  {auc:.4f}",
            flush=True,
        )
        del model, estimator
    over = [r for r in out if r["peak"] >= 4]
    print(f"  {len(over)} of {len(out)} setups peak at 4 x X_train or more")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="100000,1000000", help="comma-separated")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--n-trials", type=int, default=None, help="default: none, timeout only"
    )
    parser.add_argument(
        "--fold-peaks",
        action="store_true",
        help="peak memory of one search fold of every default setup, no fit",
    )
    parser.add_argument(
        "--refit-peaks",
        action="store_true",
        help="peak memory of refitting every default setup on all rows, no fit",
    )
    parser.add_argument(
        "--categorical",
        type=int,
        default=0,
        help="with --fold-peaks or --refit-peaks: turn the last K of the 20 "
        "columns into categories (a DataFrame); peaks stay multiples of the "
        "float64 array",
    )
    add_run_arguments(parser, n_jobs=None, threads=0)
    args = parser.parse_args(argv)
    if args.categorical and not (args.fold_peaks or args.refit_peaks):
        parser.error("--categorical needs --fold-peaks or --refit-peaks")
    if not 0 <= args.categorical <= 20:
        parser.error("--categorical takes 0 to 20 (the data has 20 columns)")
    try:
        sizes = [int(float(r)) for r in args.rows.split(",") if r]
    except ValueError:
        parser.error("--rows takes whole numbers, e.g. 100000,1000000")
    print(
        f"bench_scale: commit {git_commit()}, package {package_hash()}, "
        f"timeout {args.timeout}s, n_jobs {args.n_jobs}, "
        f"threads {args.threads or 'default'}"
    )
    if args.fold_peaks or args.refit_peaks:
        with thread_limit(args.threads or None):
            for rows in sizes:
                setup_peaks(rows, args, refit=args.refit_peaks)
        return
    with thread_limit(args.threads or None):
        summary = [run_size(rows, args) for rows in sizes]
    print("\nrows        wall/timeout  mem/X  AUC autobalance  lr_balanced  hist_gb")
    for s in summary:
        print(
            f"{s['rows']:<11,} {s['wall'] / s['timeout']:12.3f} {s['mem_ratio']:6.2f}"
            f" {s['auc']:16.4f} {s['auc_lr']:12.4f} {s['auc_hgb']:8.4f}"
        )


if __name__ == "__main__":
    main()
