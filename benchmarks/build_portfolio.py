"""Learn what the default search should try first, across datasets, and say
honestly whether it helps (issue 17, point 2).

Two steps:

``run``
    The performance matrix: every declared candidate (a concrete point of the
    default search space: technique at its defaults + model + model
    parameters, see :data:`CANDIDATES`) scored by stratified 3-fold ROC AUC
    (repeated when the minority is small) on each dataset of
    ``../shared/meta-train.txt``. Pipelines are built by the package's own
    ``SearchSpace`` from the plan ``AutoBalancedClassifier(random_state=seed)``
    makes on the data, as the search builds them (search fidelity: 100 trees).
    One CSV row per dataset x candidate, written after each dataset, so a run
    resumes where it stopped and can be split in parts.

``learn``
    Greedy portfolio building (Feurer et al. 2022, auto-sklearn 2.0): add the
    candidate that most raises the mean over datasets of the best-so-far
    normalised score, ``(auc - min) / (max - min)`` per dataset. Evaluated
    leave-one-dataset-out (LODO): for each dataset, the portfolio is built
    without it, and the held-out dataset's best of the first ``k`` members is
    compared with the best of the first ``k`` of today's
    ``SearchSpace.starting_configs()``. ``--write`` stores the portfolio
    learned on all datasets, with its provenance, for the package.

Usage::

    python benchmarks/build_portfolio.py run --max-rows 1200 --out M.csv
    python benchmarks/build_portfolio.py run --datasets glass4,ecoli3 --out M.csv
    python benchmarks/build_portfolio.py learn --matrix M.csv
    python benchmarks/build_portfolio.py learn --matrix M.csv \\
        --write autobalance/data/portfolio.json

Every dataset loaded comes from ``../shared/meta-train.txt``; a name not on
it is refused before anything is loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import CpuClock, git_commit, load_dataset, thread_limit
from scipy.stats import wilcoxon
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from autobalance import AutoBalancedClassifier
from autobalance._plan import build_plan
from autobalance._portfolio import PORTFOLIO_PATH, config_of

LISTING = Path(__file__).resolve().parents[2] / "shared" / "meta-train.txt"
N_SPLITS = 3
#: Larger datasets are subsampled (stratified, seeded) to this many rows:
#: the matrix ranks setups, and thousands of rows rank them about as well.
MAX_ROWS = 3000
MODELS = ("logistic_regression", "extra_trees", "hist_gradient_boosting")
GRID_TECHNIQUES = (
    "none",
    "random_over_sampler",
    "smote",
    "borderline_smote",
    "adasyn",
    "random_under_sampler",
    "cluster_centroids",
    "tomek_links",
    "edited_nearest_neighbours",
    "smote_tomek",
    "smote_enn",
    "balanced_class_weight",
    "custom_class_weight",
)
ESTIMATOR_TECHNIQUES = ("balanced_random_forest", "easy_ensemble")
#: Model-hyperparameter variants (``set_params`` names of the default
#: portfolio's pipelines), each tried without a technique and with balanced
#: weights: one step away from the model's default along each declared range.
MODEL_VARIANTS = {
    "logistic_regression": (
        {"model__C": 0.01},
        {"model__C": 0.1},
        {"model__C": 10.0},
    ),
    "extra_trees": (
        {"model__min_samples_leaf": 3},
        {"model__min_samples_leaf": 10},
        {"model__max_features": 0.5},
        {"model__max_features": 1.0},
    ),
    "hist_gradient_boosting": (
        {"model__learning_rate": 0.03},
        {"model__max_leaf_nodes": 7},
        {"model__min_samples_leaf": 50},
        {"model__l2_regularization": 1.0},
        {
            "model__learning_rate": 0.05,
            "model__max_leaf_nodes": 15,
            "model__l2_regularization": 1.0,
        },
    ),
}
#: Today's first trials of the default search, in their order
#: (``SearchSpace.starting_configs()`` on a dense numeric dataset).
TODAY = (
    "none/logistic_regression",
    "none/extra_trees",
    "none/hist_gradient_boosting",
    "balanced_class_weight/logistic_regression",
    "balanced_class_weight/extra_trees",
    "balanced_class_weight/hist_gradient_boosting",
    "balanced_random_forest",
)


def candidate_name(technique, algorithm, model_params):
    name = technique if algorithm is None else f"{technique}/{algorithm}"
    if model_params:
        inner = ",".join(
            f"{k.removeprefix('model__')}={v}" for k, v in model_params.items()
        )
        name += f"[{inner}]"
    return name


def declared_candidates():
    """The fixed candidate set: ``{name: (technique, algorithm, model_params)}``."""
    out = {}
    for technique in GRID_TECHNIQUES:
        for model in MODELS:
            out[candidate_name(technique, model, {})] = (technique, model, {})
    for technique in ESTIMATOR_TECHNIQUES:
        out[technique] = (technique, None, {})
    for model, variants in MODEL_VARIANTS.items():
        for params in variants:
            for technique in ("none", "balanced_class_weight"):
                out[candidate_name(technique, model, params)] = (
                    technique,
                    model,
                    dict(params),
                )
    return out


CANDIDATES = declared_candidates()
assert all(name in CANDIDATES for name in TODAY)
#: What the default search adds for a model (or model-replacing technique) of
#: ``TODAY`` that no learned member covers, and how many first trials it runs
#: at most: mirrors ``autobalance._portfolio.default_starting_configs``.
FALLBACK = {
    "logistic_regression": "balanced_class_weight/logistic_regression",
    "extra_trees": "balanced_class_weight/extra_trees",
    "hist_gradient_boosting": "balanced_class_weight/hist_gradient_boosting",
    "balanced_random_forest": "balanced_random_forest",
}
MAX_STARTING = len(TODAY) + 2


def covers(name):
    technique, algorithm, _ = CANDIDATES[name]
    return algorithm if algorithm is not None else technique


def wired(members):
    """The first trials the default search runs from these learned members:
    as many members as fit, then one fallback per model none of them covers."""
    for n in range(len(members), -1, -1):
        covered = {covers(m) for m in members[:n]}
        missing = [c for key, c in FALLBACK.items() if key not in covered]
        if n + len(missing) <= MAX_STARTING:
            return list(members[:n]) + missing
    raise AssertionError("unreachable: the fallbacks alone fit")


def listed_datasets():
    if not LISTING.exists():
        raise SystemExit(f"{LISTING} is missing: the datasets allowed are listed there")
    return [
        line.strip()
        for line in LISTING.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def n_repeats(n_minority):
    """More repeats when the minority is small: its AUC is noisier."""
    return 3 if n_minority < 20 else 2 if n_minority < 60 else 1


def capped(X, y, max_rows, seed):
    if len(y) <= max_rows:
        return X, y
    X, _, y, _ = train_test_split(
        X, y, train_size=max_rows, stratify=y, random_state=seed
    )
    return X, y


def score_dataset(name, X, y, seed, names):
    """Rows of the matrix for one dataset: each candidate's mean fold AUC."""
    n_min = int(np.bincount(y).min())
    cv = RepeatedStratifiedKFold(
        n_splits=N_SPLITS, n_repeats=n_repeats(n_min), random_state=seed
    )
    plan = build_plan(AutoBalancedClassifier(random_state=seed, cv=cv), X, y)
    space, Xs, ys = plan.space, np.asarray(plan.X_search), plan.y_search
    rows = []
    for cand in names:
        technique, algorithm, model_params = CANDIDATES[cand]
        row = {"dataset": name, "candidate": cand, "n_rows": len(ys)}
        config, reason = config_of(space, technique, algorithm, model_params)
        if config is None:
            rows.append({**row, "auc": np.nan, "status": f"skipped: {reason}"})
            continue
        estimator = space.build(config, search=True)
        aucs = []
        with CpuClock() as clock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                for train, test in plan.splits:
                    model = clone(estimator).fit(Xs[train], ys[train])
                    proba = model.predict_proba(Xs[test])[:, 1]
                    aucs.append(roc_auc_score(ys[test], proba))
                status = "ok"
            except Exception as exc:  # a failing setup is a result, not a stop
                status = f"failed: {type(exc).__name__}: {str(exc)[:120]}"
                aucs = []
        rows.append(
            {
                **row,
                "auc": float(np.mean(aucs)) if aucs else np.nan,
                "auc_std": float(np.std(aucs)) if aucs else np.nan,
                "n_folds": len(aucs),
                "cpu_s": round(clock.cpu, 3),
                "status": status,
            }
        )
    return rows


def cmd_run(args):
    allowed = listed_datasets()
    wanted = args.datasets.split(",") if args.datasets else allowed
    refused = [d for d in wanted if d not in allowed]
    if refused:
        raise SystemExit(
            f"{refused} are not in {LISTING}; only listed datasets may be used."
        )
    out = Path(args.out)
    done = pd.read_csv(out) if out.exists() else pd.DataFrame()
    have = (
        set()
        if done.empty
        else set(zip(done["dataset"], done["candidate"], strict=True))
    )
    started = time.perf_counter()
    for name in wanted:
        todo = [c for c in CANDIDATES if (name, c) not in have]
        if not todo:
            continue
        X, y = load_dataset(name)
        if args.max_rows and len(y) > args.max_rows:
            print(f"{name}: {len(y)} rows, above --max-rows; skipped for now")
            continue
        X, y = capped(X, y, MAX_ROWS, args.seed)
        with CpuClock() as clock, thread_limit(args.threads or None):
            rows = score_dataset(name, X, y, args.seed, todo)
        frame = pd.DataFrame(rows)
        frame.to_csv(out, mode="a", header=not out.exists(), index=False)
        ok = frame["status"].eq("ok").sum()
        print(
            f"{name}: {len(y)} rows, {ok}/{len(todo)} candidates scored, "
            f"best {frame['auc'].max():.4f}, {clock.cpu:.0f} s CPU, "
            f"{time.perf_counter() - started:.0f} s elapsed",
            flush=True,
        )


# --------------------------------------------------------------------------
# Learning the portfolio
# --------------------------------------------------------------------------
def load_matrix(path):
    """Datasets x candidates AUC (NaN: not applicable or failed); only
    listed datasets with every candidate attempted."""
    frame = pd.read_csv(path)
    frame = frame[frame["dataset"].isin(listed_datasets())]
    matrix = frame.pivot_table(
        index="dataset", columns="candidate", values="auc", dropna=False
    )
    attempted = frame.groupby("dataset")["candidate"].nunique()
    complete = attempted[attempted == len(CANDIDATES)].index
    return matrix.reindex(index=sorted(complete), columns=list(CANDIDATES))


def normalise(matrix):
    """Per dataset ``(auc - min) / (max - min)``; a candidate that did not
    run on a dataset counts as its worst (0)."""
    low = matrix.min(axis=1)
    span = (matrix.max(axis=1) - low).replace(0, 1.0)
    return matrix.sub(low, axis=0).div(span, axis=0).fillna(0.0)


def greedy_portfolio(norm, size):
    """Auto-sklearn 2.0's greedy portfolio: each step adds the candidate that
    most raises the mean over datasets of the best normalised score so far
    (ties: the best mean normalised score)."""
    chosen = []
    best = np.zeros(len(norm))
    values = norm.to_numpy()
    mean = values.mean(axis=0)
    for _ in range(size):
        gain = np.maximum(values, best[:, None]).mean(axis=0)
        gain[[norm.columns.get_loc(c) for c in chosen]] = -np.inf
        # Once every dataset has its best, gains tie: then the candidate
        # best on average, not the first declared.
        tied = np.flatnonzero(gain >= gain.max() - 1e-12)
        pick = int(tied[np.argmax(mean[tied])])
        chosen.append(norm.columns[pick])
        best = np.maximum(best, values[:, pick])
    return chosen


def best_of_first(row, members, k):
    values = row[list(members[:k])].to_numpy(dtype=float)
    return np.nanmax(values) if np.isfinite(values).any() else np.nan


def lodo(matrix, kmax):
    """Per held-out dataset and k: AUC and normalised score of the first k
    portfolio members (learned without it) and of today's first k; and of
    the first trials the search runs from a portfolio of k members
    (:func:`wired`) against all of today's."""
    norm = normalise(matrix)
    rows = []
    for held in matrix.index:
        members = greedy_portfolio(norm.drop(index=held), kmax)
        for k in range(1, kmax + 1):
            start = wired(members[:k])
            rows.append(
                {
                    "dataset": held,
                    "k": k,
                    "portfolio": best_of_first(matrix.loc[held], members, k),
                    "today": best_of_first(matrix.loc[held], TODAY, k),
                    "portfolio_norm": best_of_first(norm.loc[held], members, k),
                    "today_norm": best_of_first(norm.loc[held], TODAY, k),
                    "wired": best_of_first(matrix.loc[held], start, len(start)),
                    "wired_norm": best_of_first(norm.loc[held], start, len(start)),
                    "wired_size": len(start),
                    "all_today": best_of_first(matrix.loc[held], TODAY, len(TODAY)),
                    "all_today_norm": best_of_first(norm.loc[held], TODAY, len(TODAY)),
                    "first": members[0],
                }
            )
    return pd.DataFrame(rows)


def summary_table(result, tol=1e-4, ours="portfolio", theirs="today"):
    def one(group):
        diff = group[ours] - group[theirs]
        extra = {"size": group["wired_size"].mean()} if ours == "wired" else {}
        return pd.Series(
            {
                **extra,
                f"{ours}_auc": group[ours].mean(),
                f"{theirs}_auc": group[theirs].mean(),
                "mean_diff": diff.mean(),
                f"{ours}_norm": group[f"{ours}_norm"].mean(),
                f"{theirs}_norm": group[f"{theirs}_norm"].mean(),
                "wins": int((diff > tol).sum()),
                "ties": int((diff.abs() <= tol).sum()),
                "losses": int((diff < -tol).sum()),
                "worst_diff": diff.min(),
                "wilcoxon_p": wilcoxon(diff).pvalue if (diff != 0).any() else 1.0,
            }
        )

    return result.groupby("k")[list(result.columns)].apply(one)


def cmd_learn(args):
    matrix = load_matrix(args.matrix)
    if len(matrix) < 3:
        raise SystemExit(f"{args.matrix} has {len(matrix)} complete datasets; run more")
    print(f"{len(matrix)} datasets x {matrix.shape[1]} candidates\n")
    result = lodo(matrix, args.k)
    table = summary_table(result)
    wired_table = summary_table(result, ours="wired", theirs="all_today")
    with pd.option_context("display.width", 160, "display.precision", 4):
        print("LODO: held-out best of the first k (portfolio learned without it)")
        print(table.to_string())
        print(
            "\nLODO, as wired: the search's first trials from a portfolio of k "
            f"(k members, then a fallback per uncovered model, at most "
            f"{MAX_STARTING}) against all {len(TODAY)} of today's"
        )
        print(wired_table.to_string())
        print("\nfirst member chosen across the LODO folds:")
        print(result[result.k == 1]["first"].value_counts().to_string())
    if args.lodo_out:
        result.to_csv(args.lodo_out, index=False)
    members = greedy_portfolio(normalise(matrix), args.k)
    print("\nportfolio learned on all datasets:")
    for i, m in enumerate(members, 1):
        print(f"  {i}. {m}")
    if args.write:
        write_portfolio(Path(args.write), members, list(matrix.index), args)
    if args.lodo_dir:
        norm = normalise(matrix)
        out = Path(args.lodo_dir)
        for held in matrix.index:
            members = greedy_portfolio(norm.drop(index=held), args.k)
            kept = [d for d in matrix.index if d != held]
            write_portfolio(out / f"{held}.json", members, kept, args, held, False)
        print(f"wrote {len(matrix)} leave-one-dataset-out portfolios to {out}")


def write_portfolio(path, members, datasets, args, held_out=None, say=True):
    entries = []
    for name in members:
        technique, algorithm, model_params = CANDIDATES[name]
        entries.append(
            {"technique": technique, "algorithm": algorithm, "params": model_params}
        )
    where = f"--lodo-dir {args.lodo_dir}" if held_out else f"--write {args.write}"
    payload = {
        "format": 1,
        "configs": entries,
        "provenance": {
            **({"held_out": held_out} if held_out else {}),
            "learned_from": datasets,
            "candidates": len(CANDIDATES),
            "score": f"ROC AUC, stratified {N_SPLITS}-fold, repeated when the "
            "minority is small, search fidelity",
            "method": "greedy portfolio (auto-sklearn 2.0), per-dataset "
            "(auc - min) / (max - min)",
            "command": "python benchmarks/build_portfolio.py learn --matrix "
            f"{args.matrix} --k {args.k} {where}",
            "commit": git_commit(),
            "date": datetime.now(timezone.utc).date().isoformat(),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    if say:
        print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="score the candidates on the datasets")
    run.add_argument("--datasets", help="comma-separated; default: all listed")
    run.add_argument("--out", default="portfolio_matrix.csv")
    run.add_argument(
        "--max-rows",
        type=int,
        default=0,
        help="skip datasets with more rows for now (0: none skipped)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threads", type=int, default=1)
    learn = sub.add_parser("learn", help="greedy portfolio and its LODO table")
    learn.add_argument("--matrix", default="portfolio_matrix.csv")
    learn.add_argument("--k", type=int, default=8)
    learn.add_argument("--lodo-out")
    learn.add_argument("--write", help=f"e.g. {PORTFOLIO_PATH.name} in the package")
    learn.add_argument(
        "--lodo-dir",
        help="write DIR/<dataset>.json for each dataset of the matrix: the "
        "portfolio learned without it (for bench_selection.py --portfolio-dir)",
    )
    args = parser.parse_args(argv)
    {"run": cmd_run, "learn": cmd_learn}[args.command](args)


if __name__ == "__main__":
    main()
