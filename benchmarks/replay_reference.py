"""Would falling back to a robust reference setup have helped? (issue 17, point 3)

On the small datasets outside the public suite the search lost to extra trees
with balanced class weights alone (``et_balanced``): with 2 to 40 positives the
inner folds cannot tell setups apart. The lever this replays, offline on
``bench_selection.py``'s results: on each outer fold, refit the reference setup
(``balanced_class_weight`` on ``extra_trees`` at its defaults, a trial of every
default search) instead of the chosen one unless the chosen is clearly better
on the inner folds, by one of two rules:

- ``delta``: its mean inner score minus the reference's is below ``delta``;
- ``se``: the mean of the per-split differences (chosen minus reference, the
  same inner splits) is below ``k`` times their standard error.

The outer AUC of "refit the reference" is the ``et_balanced`` baseline's on the
same outer fold (the same setup at the same seed's folds; its trees differ by
seed, so this is a close estimate, not an identical refit). Reads
``<suite>_autobalance_5x2.csv``, its ``.trials.csv`` (which must have
``split_scores``) and ``<suite>_baselines_5x2.csv`` from ``--results``, and
prints per rule the suite's mean AUC, its gain over the search, wins / ties /
losses by dataset (ties within 0.001), the share of outer folds refitting the
reference, the mean and worst difference to the per-dataset best of the five
baselines.

``--learn`` gates the ``delta`` rule by the size of the data: it applies
only below a number of training rows (``--gate-features n_train,n_pos_train``:
or of minority rows), and learns the
gate and the margin from the replayed folds of every dataset of both
suites (all on ``../shared/meta-train.txt``), choosing the pair that most
raises the mean AUC over datasets. Its gain is reported leave-one-dataset-out
(for each dataset, the pair learned without it, scored on it); ``--write``
stores the pair learned on every dataset, with its provenance, as the
package's small-data guard (``autobalance/data/selection_guard.json``, read
by ``autobalance/_guard.py``).

Usage::

    python benchmarks/replay_reference.py --suites public,outside
    python benchmarks/replay_reference.py --learn \\
        [--write autobalance/data/selection_guard.json]
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
BASELINES = ("lr_balanced", "et_balanced", "grid_lr", "lr_tuned", "hgb")
REFERENCE = ("balanced_class_weight", "extra_trees")
DELTAS = (0.0, 0.01, 0.02, 0.03, 0.05)
KS = (0.5, 1.0, 1.5, 2.0, 3.0)
TIE = 0.001


def _splits(text):
    return np.array([float(x) for x in str(text).split(";")])


def paired_gaps(trials):
    """Per outer fold (``dataset``, ``fold``): the chosen trial's mean inner
    score minus the reference trial's (``gap``) and the standard error of
    their per-split differences (``se``); NaN where the reference did not
    complete."""
    rows = []
    for (dataset, fold), group in trials.groupby(["dataset", "fold"]):
        chosen = group[group.chosen.astype(bool)]
        ref = group[
            (group.technique == REFERENCE[0])
            & (group.algorithm == REFERENCE[1])
            & (group.state == "COMPLETE")
        ]
        gap = se = np.nan
        if len(chosen) and len(ref):
            diff = _splits(chosen.split_scores.iloc[0]) - _splits(
                ref.split_scores.iloc[0]
            )
            gap, se = diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff))
        rows.append({"dataset": dataset, "fold": fold, "gap": gap, "se": se})
    return pd.DataFrame(rows).set_index(["dataset", "fold"])


def fold_table(search, trials, baselines):
    """One row per outer fold: the search's outer AUC, its gap to the
    reference and each baseline's outer AUC."""
    if "split_scores" not in trials:
        raise SystemExit(
            "the trials CSV has no split_scores column: rerun bench_selection.py "
            "(it writes them since commit 7dc03a1)"
        )
    outer = baselines.pivot_table(
        index=["dataset", "fold"], columns="method", values="roc_auc"
    )
    table = search.set_index(["dataset", "fold"])[["roc_auc"]]
    return table.join(paired_gaps(trials)).join(outer[list(BASELINES)])


def replay(table, use_reference):
    """The per-dataset mean outer AUC when the folds in ``use_reference``
    refit the reference."""
    auc = np.where(use_reference, table.et_balanced, table.roc_auc)
    return pd.Series(auc, index=table.index).groupby("dataset").mean()


def rules(table):
    """``(name, boolean mask of folds refitting the reference)`` per rule."""
    known = table.gap.notna()
    for delta in DELTAS:
        yield f"delta={delta:g}", (table.gap < delta) & known
    for k in KS:
        yield f"se k={k:g}", (table.gap < k * table.se) & known


def report(suite, table):
    per = table.groupby("dataset")[["roc_auc", *BASELINES]].mean()
    best = per[list(BASELINES)].max(axis=1)
    print(
        f"== {suite}: {len(per)} datasets; search {per.roc_auc.mean():.4f}, "
        f"best of the five {best.mean():.4f}, et_balanced {per.et_balanced.mean():.4f}"
    )
    print(
        f"{'rule':<12} {'mean':>7} {'gain':>8} {'W/T/L':>9} {'ref':>5} "
        f"{'- best':>8} {'worst':>8}  worst dataset"
    )
    for name, mask in rules(table):
        got = replay(table, mask)
        gain = got - per.roc_auc
        below = got - best
        wtl = f"{(gain > TIE).sum()}/{(gain.abs() <= TIE).sum()}/{(gain < -TIE).sum()}"
        print(
            f"{name:<12} {got.mean():7.4f} {gain.mean():+8.4f} {wtl:>9} "
            f"{mask.mean():5.2f} {below.mean():+8.4f} {below.min():+8.4f}  "
            f"{below.idxmin()}"
        )


#: The sizes a gate may be learned on: training rows and minority rows of the
#: fit. The package's guard reads a bound on the rows only, so that is the
#: default (``--gate-features``).
GATE_FEATURES = ("n_train", "n_pos_train")


def gate_grid(table, features=("n_train",)):
    """Every ``(feature, bound, delta)``: refit the reference on the folds
    whose ``feature`` is below ``bound`` and whose gap is below ``delta``
    (``bound`` runs over the midpoints between the values seen, and past
    them: no gate)."""
    for feature in features:
        seen = np.unique(table[feature])
        for bound in [*((seen[1:] + seen[:-1]) / 2), np.inf]:
            for delta in DELTAS:
                yield feature, float(bound), delta


def gate_gains(table, features=("n_train",)):
    """Per dataset (rows) and gate (columns), the mean outer AUC gained over
    the search by refitting the reference where the gate says."""
    known = table.gap.notna()
    gains = {}
    for feature, bound, delta in gate_grid(table, features):
        mask = (table[feature] < bound) & (table.gap < delta) & known
        got = np.where(mask, table.et_balanced, table.roc_auc) - table.roc_auc
        gains[feature, bound, delta] = (
            pd.Series(got, index=table.index).groupby("dataset").mean()
        )
    return pd.DataFrame(gains)


def learn(tables, write=None, features=("n_train",)):
    """Learn the gate on every dataset of ``tables`` (``{suite: table}``) over
    ``features``, report its leave-one-dataset-out gain per suite, and write
    it."""
    table = pd.concat(tables.values())
    gains = gate_gains(table, features)
    # A tie goes to the first gate of the grid (the smaller bound and margin).
    lodo = {name: gains.drop(index=name).mean().idxmax() for name in gains.index}
    held_out = pd.Series({name: gains.loc[name, g] for name, g in lodo.items()})
    per = table.groupby("dataset")[["roc_auc", *BASELINES]].mean()
    best = per[list(BASELINES)].max(axis=1)
    print("== the gate learned without each dataset, scored on it (LODO)")
    for suite, part in tables.items():
        names = part.index.get_level_values("dataset").unique()
        gain, got = held_out[names], per.roc_auc[names] + held_out[names]
        below = got - best[names]
        search = per.roc_auc[names].mean()
        print(
            f"{suite:<8} {len(names):>3} datasets: search {search:.4f}"
            f" -> {got.mean():.4f} ({gain.mean():+.4f}; W/T/L "
            f"{(gain > TIE).sum()}/{(gain.abs() <= TIE).sum()}/{(gain < -TIE).sum()}); "
            f"vs the best of the five {below.mean():+.4f}, worst {below.min():+.4f} "
            f"({below.idxmin()}); worst change {gain.min():+.4f} ({gain.idxmin()})"
        )
    chosen = pd.Series(list(lodo.values())).value_counts()
    print("gates learned without one dataset:")
    for gate, count in chosen.items():
        print(f"  {gate[0]} < {gate[1]:g}, delta {gate[2]:g}: {count} datasets")
    feature, bound, delta = gains.mean().idxmax()
    print(
        f"learned on all {len(gains.index)}: {feature} < {bound:g}, delta {delta:g} "
        f"(in-sample gain {gains.mean().max():+.4f})"
    )
    if write is None:
        return
    if feature != "n_train":
        raise SystemExit(
            f"the gate learned is on {feature}; the package's guard reads a bound on "
            "the training rows only: extend autobalance/_guard.py first"
        )
    payload = {
        "format": 1,
        "reference": {"technique": REFERENCE[0], "algorithm": REFERENCE[1]},
        # The guard applies to fits on at most this many rows.
        "max_rows": int(np.floor(bound)),
        "margin": delta,
        "provenance": {
            "learned_from": sorted(gains.index),
            "rule": "refit the reference unless the chosen setup's mean inner "
            "ROC AUC beats it by at least the margin, on at most max_rows rows",
            "folds": "bench_selection.py outer 5x2, seed 0",
            "lodo_gain": {
                suite: float(
                    held_out[part.index.get_level_values("dataset").unique()].mean()
                )
                for suite, part in tables.items()
            },
            "command": "python benchmarks/replay_reference.py --learn --write "
            "autobalance/data/selection_guard.json",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        },
    }
    Path(write).write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {write}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--suites", default="public,outside")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--learn", action="store_true")
    parser.add_argument("--write", type=Path)
    parser.add_argument(
        "--gate-features",
        default="n_train",
        help=f"comma-separated, of {','.join(GATE_FEATURES)}",
    )
    args = parser.parse_args(argv)
    features = tuple(args.gate_features.split(","))
    if not set(features) <= set(GATE_FEATURES):
        parser.error(f"--gate-features takes {list(GATE_FEATURES)}, not {features}")
    tables = {}
    for suite in args.suites.split(","):
        stem = args.results / f"{suite}_autobalance_5x2.csv"
        search = pd.read_csv(stem)
        table = fold_table(
            search,
            pd.read_csv(f"{stem}.trials.csv"),
            pd.read_csv(args.results / f"{suite}_baselines_5x2.csv"),
        )
        if args.learn:
            sizes = search.set_index(["dataset", "fold"])[list(GATE_FEATURES)]
            tables[suite] = table.join(sizes)
        else:
            report(suite, table)
    if args.learn:
        learn(tables, args.write, features)


if __name__ == "__main__":
    main()
