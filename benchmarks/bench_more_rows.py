"""Does a timed refit gain from refitting a setup as good that affords more
rows? (issue 18; ``autobalance._selection.MORE_ROWS``)

Histogram gradient boosting with class weights costs four to five times the
unweighted one per row, so when the search of a large dataset cannot tell the
two apart, refitting the weighted one in the time left trains it on a small
share of the rows. Per seed, on synthetic data (``_common.synthetic``: 20
features, 1 % positives) split 70/30, the search is restricted to those two
setups, ``AutoBalancedClassifier(HistGradientBoostingClassifier(),
techniques=["none", "balanced_class_weight"], timeout=T)``, and fitted twice:
with the rule (``on``) and without it (``off``: ``MORE_ROWS`` set to
infinity). Printed per run: wall time, held-out ROC AUC, the setup refitted,
its rows, ``selection_["more_rows"]`` and each complete trial's inner score;
then the mean AUC difference ``on - off``.

Usage::

    python benchmarks/bench_more_rows.py --load   # 1M rows, 60 s, seeds 0 and 1
    python benchmarks/bench_more_rows.py --rows 200000 --timeout 20 --seeds 0

``--load`` runs one CPU-bound process alongside (as ``bench_budget.py
--load``). Timed runs follow the clock: expect run-to-run spread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings

from _common import synthetic

import autobalance._selection as selection


def run(rows, seed, timeout, rule):
    """One timed fit; the fields printed and compared."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from autobalance import AutoBalancedClassifier

    X, y = synthetic(rows, seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    clf = AutoBalancedClassifier(
        HistGradientBoostingClassifier(random_state=seed),
        techniques=["none", "balanced_class_weight"],
        timeout=timeout,
        random_state=seed,
    )
    saved = selection.MORE_ROWS
    selection.MORE_ROWS = saved if rule else float("inf")
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X_train, y_train)
        wall = time.perf_counter() - start
    finally:
        selection.MORE_ROWS = saved
    results = clf.cv_results_
    complete = {
        str(t): round(float(s), 4)
        for t, s, r in zip(
            results["technique"],
            results["mean_test_score"],
            results["stop_reason"],
            strict=True,
        )
        if r == "complete"
    }
    return {
        "wall": wall,
        "auc": roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1]),
        "refitted": clf.best_technique_,
        "rows": len(y_train) if clf.refit_rows_ is None else len(clf.refit_rows_),
        "more_rows": clf.selection_.get("more_rows"),
        "inner": complete,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--load", action="store_true", help="one busy process")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    busy = None
    if args.load:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    diffs = []
    try:
        for seed in seeds:
            aucs = {}
            for rule in (True, False):
                out = run(args.rows, seed, args.timeout, rule)
                aucs[rule] = out["auc"]
                print(
                    f"seed {seed} {'on ' if rule else 'off'} wall {out['wall']:5.1f}s "
                    f"AUC {out['auc']:.4f} refitted {out['refitted']} on "
                    f"{out['rows']:,} rows; more_rows {out['more_rows']}; "
                    f"inner {out['inner']}",
                    flush=True,
                )
            diffs.append(aucs[True] - aucs[False])
    finally:
        if busy is not None:
            busy.terminate()
            busy.wait()
    mean = sum(diffs) / len(diffs)
    print(f"mean AUC on - off over {len(diffs)} seed(s): {mean:+.4f}")


if __name__ == "__main__":
    main()
