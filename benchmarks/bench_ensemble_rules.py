"""How should the ensemble weigh its members? (issue 17, point 3)

The default search averages the log-odds of its members equally
(``_ensemble.average_probabilities``). This benchmark compares, offline on the
same fits, other ways to combine the same members:

- ``equal``: the mean of their log-odds (the default);
- ``std``: each member's log-odds divided by their out-of-fold standard
  deviation (every member's spread counts alike);
- ``wstd``: the same, the spread measured with log-odds clipped to their 2nd
  and 98th percentiles (a fully grown forest gives many rows probability 0);
- ``platt``: each member's log-odds times the slope of a logistic regression
  of the labels on its out-of-fold log-odds (calibrated log-odds);
- ``rank``: the mean of each member's rank among its out-of-fold log-odds;
- ``proba``: the mean of their probabilities;
- ``best_member``: the member of the best inner score alone.

``capture`` fits ``AutoBalancedClassifier(random_state=seed + fold)`` on each
outer training half of ``bench_selection.py``'s 5x2 folds (the same folds and
seeds, so its choices are that benchmark's), and, when the search chose its
ensemble, keeps the members' out-of-fold probabilities on the inner folds and
their probabilities on the outer test half after a refit on the training
half: one pickle per fold in ``--dir``. ``compare`` scores every rule on the
outer test halves (folds where no ensemble was chosen count the chosen
model's AUC for every rule) and prints the mean per dataset and against
``equal``, separately for the public suite and the other datasets.

Usage::

    python benchmarks/bench_ensemble_rules.py capture --datasets glass4,ecoli3
    python benchmarks/bench_ensemble_rules.py compare
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import PUBLIC_SUITE, load_dataset
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

DIR = Path(__file__).resolve().parent / "results" / "ensemble_rules"
RULES = ("equal", "std", "wstd", "platt", "rank", "proba", "best_member")
FLOOR = 1e-6  # as _ensemble.PROBA_FLOOR


def capture(datasets, out_dir):
    import optuna
    from bench_selection import INNER_FOLDS, outer_folds

    import autobalance._selection as selection
    from autobalance import AutoBalancedClassifier
    from autobalance._ensemble import _members

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    seen = {}
    original = selection.add_ensemble_trial

    def spy(study, oof, splits, y, positive, members=None, **kw):
        chosen = members if members is not None else _members(study, oof)
        seen["oof"] = {
            t.number: [(f.test, f.y, f.raw) for f in oof[t.number]] for t in chosen
        }
        return original(study, oof, splits, y, positive, members=members, **kw)

    selection.add_ensemble_trial = spy  # the members' predictions, as chosen
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in datasets:
        X, y = load_dataset(name)
        for i, (train, test) in enumerate(outer_folds(y, 5, 2, 0)[0]):
            path = out_dir / f"{name}_{i}.pkl"
            if path.exists():
                continue
            seen.clear()
            cv = int(min(INNER_FOLDS, np.bincount(y[train]).min()))
            start = time.process_time()
            clf = AutoBalancedClassifier(random_state=i, n_jobs=1, cv=cv)
            clf.fit(X[train], y[train])
            record = {
                "dataset": name,
                "fold": i,
                "y_test": y[test],
                "ensemble": clf.best_technique_ == "ensemble",
                "chosen_auc": roc_auc_score(y[test], clf.predict_proba(X[test])[:, 1]),
                "cpu": time.process_time() - start,
            }
            if record["ensemble"]:
                numbers = list(clf.selection_["members"])
                record["oof"] = [seen["oof"][n] for n in numbers]
                record["outer"] = [
                    clf._estimator_from_params(p)
                    .fit(X[train], y[train])
                    .predict_proba(X[test])
                    for p in clf.best_params_["members"]
                ]
            path.write_bytes(pickle.dumps(record))
            print(name, i, clf.best_technique_, round(record["chosen_auc"], 4))


def _log_odds(p):
    p = np.clip(p, FLOOR, 1.0)
    return np.log(p[:, 1]) - np.log(p[:, 0])


def rule_scores(record):
    """Outer AUC of every rule on one captured fold."""
    if not record["ensemble"]:
        return dict.fromkeys(RULES, record["chosen_auc"])
    y = record["y_test"] == 1
    outer = [_log_odds(p) for p in record["outer"]]
    pooled = [np.concatenate([_log_odds(f[2]) for f in m]) for m in record["oof"]]
    labels = np.concatenate([f[1] for f in record["oof"][0]]) == 1
    spread = [np.mean([_log_odds(f[2]).std() for f in m]) for m in record["oof"]]
    clipped = [np.std(np.clip(p, *np.percentile(p, [2, 98]))) for p in pooled]
    slopes = [
        max(LogisticRegression(C=1e4).fit(p[:, None], labels).coef_[0, 0], 1e-3)
        for p in pooled
    ]
    ranks = [
        np.searchsorted(np.sort(p), o, "left") + np.searchsorted(np.sort(p), o, "right")
        for p, o in zip(pooled, outer, strict=True)
    ]
    inner = [
        np.mean([roc_auc_score(f[1] == 1, _log_odds(f[2])) for f in m])
        for m in record["oof"]
    ]
    scores = {
        "equal": np.mean(outer, 0),
        "std": np.average(outer, 0, 1 / np.array(spread)),
        "wstd": np.average(outer, 0, 1 / np.maximum(clipped, 1e-9)),
        "platt": np.average(outer, 0, slopes),
        "rank": np.mean(ranks, 0),
        "proba": np.mean([p[:, 1] for p in record["outer"]], 0),
        "best_member": outer[int(np.argmax(inner))],
    }
    return {k: roc_auc_score(y, s) for k, s in scores.items()}


def compare(out_dir):
    rows = []
    for path in sorted(out_dir.glob("*.pkl")):
        record = pickle.loads(path.read_bytes())
        rows.append(
            {
                "dataset": record["dataset"],
                "ensemble": record["ensemble"],
                **rule_scores(record),
            }
        )
    data = pd.DataFrame(rows)
    complete = data.groupby("dataset").size()
    data = data[data.dataset.isin(complete[complete == 10].index)]
    for suite, mask in (
        ("public suite", data.dataset.isin(PUBLIC_SUITE)),
        ("other listed datasets", ~data.dataset.isin(PUBLIC_SUITE)),
    ):
        part = data[mask]
        per = part.groupby("dataset")[list(RULES)].mean()
        print(
            f"{suite}: {len(per)} datasets, {int(part.ensemble.sum())} of "
            f"{len(part)} outer folds chose the ensemble"
        )
        for rule in RULES:
            diff = per[rule] - per["equal"]
            wins, losses = int((diff > 1e-9).sum()), int((diff < -1e-9).sum())
            print(
                f"  {rule:<12} {per[rule].mean():.4f}  vs equal {diff.mean():+.4f}"
                f"  W/T/L {wins}/{len(diff) - wins - losses}/{losses}"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("capture", "compare"))
    parser.add_argument("--datasets", default=",".join(PUBLIC_SUITE))
    parser.add_argument("--dir", type=Path, default=DIR)
    args = parser.parse_args(argv)
    if args.command == "capture":
        capture(args.datasets.split(","), args.dir)
    else:
        compare(args.dir)


if __name__ == "__main__":
    main()
