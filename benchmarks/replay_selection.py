"""Which rule should choose what the search refits? Replayed on every trial
(issue 17, point 3).

The default search refits the equal log-odds average of the best trial of
each model (those the best does not clearly beat, at most three). With 3 to
40 positives the inner folds barely tell setups apart, so whatever rule picks
among many noisy trials picks partly by luck. This benchmark makes the choice
a replay: ``capture`` fits ``AutoBalancedClassifier(random_state=fold)`` on
each outer training half of ``bench_selection.py``'s 5x2 folds (the same folds
and seeds, so its choices are that benchmark's), keeps the out-of-fold
log-odds of **every** complete trial on the inner folds, refits every complete
trial on the outer training half and keeps its log-odds on the outer test
half: one pickle per fold in ``--dir``. ``compare`` then applies each rule to
the inner scores alone and scores what it picks on the outer test half, so
rules are compared on the same fits, with no refit and no luck of their own.

Rules (``RULES``):

- ``default``: the search's own rule, rebuilt (checked against the AUC of the
  estimator the search actually refitted, ``chosen``);
- ``best``: the single trial of the best mean inner score;
- ``shrink_family``, ``shrink_model``: each trial's mean inner score shrunk
  toward its technique family's (or model's) mean by empirical Bayes (the
  weight of its own score is ``tau^2 / (tau^2 + s^2 / K)``: ``s^2`` the
  variance of its ``K`` split scores, ``tau^2`` the spread of the group's
  means beyond that noise), then the default rule on the shrunk scores;
- ``top3``, ``top5``: the equal log-odds average of the 3 (5) best trials,
  whatever their model;
- ``models_all``: the best trial of every model, none left out;
  ``models3_nofilter`` the best three models' without the "clearly better"
  filter, ``models_all_filter`` every model's with it (which of the default
  rule's two limits matters); ``models_top2``: the two best trials of every
  model;
- ``greedy``: greedy ensemble selection with replacement (Caruana et al. 2004)
  over every trial, as ``FoldLibrary.greedy``;
- ``prior_default``, ``prior_best``: each trial's mean inner score shrunk
  toward the fold's level plus its setup's offset learned on the other
  datasets (``learn_prior``, leave-one-dataset-out), then the default rule
  or the single best.

Usage::

    python benchmarks/replay_selection.py capture --datasets glass4,ecoli3
    python benchmarks/replay_selection.py compare \\
        [--baselines public_baselines_5x2.csv,...]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from _common import PUBLIC_SUITE, load_dataset, thread_limit
from sklearn.metrics import roc_auc_score

RESULTS = Path(__file__).resolve().parent / "results"
DIR = RESULTS / "selection_rules"
FLOOR = 1e-6  # as _ensemble.PROBA_FLOOR
MAX_MEMBERS = 3  # as _ensemble.MAX_MEMBERS
BASELINES = ("lr_balanced", "et_balanced", "grid_lr", "lr_tuned", "hgb")


def _log_odds(p):
    p = np.clip(np.asarray(p, dtype=float), FLOOR, 1.0)
    return (np.log(p[:, 1]) - np.log(p[:, 0])).astype(np.float32)


def capture(datasets, out_dir):
    import optuna
    from bench_selection import INNER_FOLDS, outer_folds

    import autobalance._objective as objective
    from autobalance import AutoBalancedClassifier

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    kept = {}
    original = objective.Objective._retain

    def spy(self, number, config, value, predictions):
        kept[number] = predictions  # every complete trial, not only the best
        return original(self, number, config, value, predictions)

    objective.Objective._retain = spy
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in datasets:
        X, y = load_dataset(name)
        for i, (train, test) in enumerate(outer_folds(y, 5, 2, 0)[0]):
            path = out_dir / f"{name}_{i}.pkl"
            lock = path.with_suffix(".lock")
            if path.exists():
                continue
            try:  # several processes may share the work: one per fold
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                continue
            kept.clear()
            cv = int(min(INNER_FOLDS, np.bincount(y[train]).min()))
            start = time.process_time()
            clf = AutoBalancedClassifier(random_state=i, n_jobs=1, cv=cv)
            clf.fit(X[train], y[train])
            search_cpu = time.process_time() - start
            res = clf.cv_results_
            trials = []
            for k, number in enumerate(res["trial_number"]):
                params = res["params"][k]
                if (
                    res["state"][k] != "COMPLETE"
                    or params["technique"] == "ensemble"
                    or number not in kept
                ):
                    continue
                folds = kept[number]
                if any(f.kind != "predict_proba" for f in folds):
                    continue
                model = clf._estimator_from_params(params).fit(X[train], y[train])
                trials.append(
                    {
                        "number": int(number),
                        "technique": params["technique"],
                        "algorithm": params["algorithm"] or params["technique"],
                        "family": clf.study_.trials[number].user_attrs.get("family"),
                        "scores": np.array(
                            [res[f"split{s}_test_score"][k] for s in range(len(folds))]
                        ),
                        "oof": [_log_odds(f.raw) for f in folds],
                        "outer": _log_odds(model.predict_proba(X[test])),
                    }
                )
            first = kept[trials[0]["number"]]
            record = {
                "dataset": name,
                "fold": i,
                "y_test": y[test] == 1,
                "y_inner": [f.y == 1 for f in first],
                "chosen": clf.best_technique_,
                "members": list((clf.selection_ or {}).get("members") or []),
                "best_number": int(res["trial_number"][clf.best_index_]),
                "chosen_auc": roc_auc_score(y[test], clf.predict_proba(X[test])[:, 1]),
                "search_cpu": search_cpu,
                "cpu": time.process_time() - start,
                "trials": trials,
            }
            path.write_bytes(pickle.dumps(record))
            lock.unlink()
            auc = round(record["chosen_auc"], 4)
            print(name, i, clf.best_technique_, auc, flush=True)


# ---------------------------------------------------------------------------
# The rules: each maps a captured fold to the trials (indices) it averages
# ---------------------------------------------------------------------------
def clearly_better(a, b):
    """As ``_ensemble.clearly_better``: the mean paired difference exceeds its
    standard error."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return bool(diff.mean() > se)


def average_rule(trials, value):
    """The default rule with the trials ranked by ``value``."""
    order = sorted(range(len(trials)), key=lambda i: (-value[i], trials[i]["number"]))
    best = {}
    for i in order:
        best.setdefault(trials[i]["algorithm"], i)
    ranked = list(best.values())[:MAX_MEMBERS]
    top = trials[ranked[0]]["scores"]
    kept = [i for i in ranked if not clearly_better(top, trials[i]["scores"])]
    return kept if len(kept) > 1 else [order[0]]


def shrunk(trials, key):
    """Mean inner scores shrunk toward their group's mean (empirical Bayes)."""
    means = np.array([t["scores"].mean() for t in trials])
    noise = np.array([t["scores"].var(ddof=1) / len(t["scores"]) for t in trials])
    out = means.copy()
    groups = {}
    for i, t in enumerate(trials):
        groups.setdefault(t[key], []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        m = means[members]
        tau2 = max(m.var(ddof=1) - noise[members].mean(), 0.0)
        weight = tau2 / (tau2 + noise[members]) if tau2 > 0 else 0.0
        out[members] = m.mean() + weight * (m - m.mean())
    return out


def greedy(trials, y_inner, rounds=15):
    means = np.array([t["scores"].mean() for t in trials])
    order = list(np.argsort(-means, kind="stable"))
    counts = {order[0]: 1}
    totals = [trials[order[0]]["oof"][k].astype(float) for k in range(len(y_inner))]

    def score(extra):
        return np.mean(
            [
                roc_auc_score(y_inner[k], totals[k] + trials[extra]["oof"][k])
                for k in range(len(y_inner))
            ]
        )

    current = np.mean(
        [roc_auc_score(y_inner[k], totals[k]) for k in range(len(y_inner))]
    )
    for _ in range(rounds - 1):
        value, pick = max(((score(i), i) for i in order[:20]), key=lambda g: g[0])
        if not value > current + 1e-12:
            break
        counts[pick] = counts.get(pick, 0) + 1
        totals = [totals[k] + trials[pick]["oof"][k] for k in range(len(y_inner))]
        current = value
    return [i for i, c in counts.items() for _ in range(c)]


def filtered(trials, ranked):
    """``ranked`` without the trials the first clearly beats."""
    top = trials[ranked[0]]["scores"]
    kept = [i for i in ranked if not clearly_better(top, trials[i]["scores"])]
    return kept if len(kept) > 1 else ranked[:1]


def top_per_model(trials, order, k):
    """The ``k`` best trials of every model."""
    seen = {}
    out = []
    for i in order:
        key = trials[i]["algorithm"]
        if seen.get(key, 0) < k:
            seen[key] = seen.get(key, 0) + 1
            out.append(i)
    return out


def setup_key(trial):
    return (trial["algorithm"], trial["technique"])


def learn_prior(records, leave_out):
    """Per setup (model, technique): the mean and the spread over datasets
    of its outer AUC minus the mean outer AUC of the fold's trials, learned
    on every dataset but ``leave_out`` (leave-one-dataset-out)."""
    per = {}
    for record in records:
        if record["dataset"] == leave_out or not record["trials"]:
            continue
        aucs = [roc_auc_score(record["y_test"], t["outer"]) for t in record["trials"]]
        level = np.mean(aucs)
        for t, auc in zip(record["trials"], aucs, strict=True):
            per.setdefault(setup_key(t), {}).setdefault(record["dataset"], []).append(
                auc - level
            )
    prior = {}
    for key, by_dataset in per.items():
        offsets = np.array([np.mean(v) for v in by_dataset.values()])
        if len(offsets) >= 3:
            prior[key] = (offsets.mean(), offsets.var(ddof=1))
    return prior


def prior_shrunk(trials, prior):
    """Each trial's mean inner score shrunk toward the fold's level plus its
    setup's learned offset (normal prior, variance the offsets' spread over
    datasets; the trial's noise its split scores' variance / K)."""
    means = np.array([t["scores"].mean() for t in trials])
    level = means.mean()
    out = means.copy()
    for i, t in enumerate(trials):
        if setup_key(t) not in prior:
            continue
        offset, tau2 = prior[setup_key(t)]
        noise = t["scores"].var(ddof=1) / len(t["scores"])
        w = tau2 / (tau2 + noise) if tau2 + noise > 0 else 1.0
        out[i] = w * means[i] + (1 - w) * (level + offset)
    return out


def rules(record, prior=None):
    trials = record["trials"]
    means = np.array([t["scores"].mean() for t in trials])
    order = list(np.argsort(-means, kind="stable"))
    best_of = {}
    for i in order:
        best_of.setdefault(trials[i]["algorithm"], i)
    return {
        "default": average_rule(trials, means),
        "best": [order[0]],
        "shrink_family": average_rule(trials, shrunk(trials, "family")),
        "shrink_model": average_rule(trials, shrunk(trials, "algorithm")),
        "top3": order[:3],
        "top5": order[:5],
        "models_all": list(best_of.values()),
        "models3_nofilter": list(best_of.values())[:MAX_MEMBERS],
        "models_all_filter": filtered(trials, list(best_of.values())),
        "models_top2": [i for i in order if i in set(top_per_model(trials, order, 2))],
        "greedy": greedy(trials, record["y_inner"]),
        **(
            {}
            if prior is None
            else {
                "prior_default": average_rule(trials, prior_shrunk(trials, prior)),
                "prior_best": [int(np.argmax(prior_shrunk(trials, prior)))],
            }
        ),
    }


RULES = (
    "default",
    "best",
    "shrink_family",
    "shrink_model",
    "top3",
    "top5",
    "models_all",
    "models3_nofilter",
    "models_all_filter",
    "models_top2",
    "greedy",
    "prior_default",
    "prior_best",
)


def outer_auc(record, members):
    total = np.mean([record["trials"][i]["outer"] for i in members], axis=0)
    return roc_auc_score(record["y_test"], total)


def compare(out_dir, baselines):
    rows = []
    records = [pickle.loads(p.read_bytes()) for p in sorted(out_dir.glob("*.pkl"))]
    priors = {r["dataset"]: None for r in records}
    for name in priors:
        priors[name] = learn_prior(records, leave_out=name)
    for record in records:
        if not record["trials"]:
            continue
        row = {
            "dataset": record["dataset"],
            "fold": record["fold"],
            "chosen": record["chosen_auc"],
        }
        for rule, members in rules(record, priors[record["dataset"]]).items():
            row[rule] = outer_auc(record, members)
        rows.append(row)
    data = pd.DataFrame(rows)
    complete = data.groupby("dataset").size()
    data = data[data.dataset.isin(complete[complete == 10].index)]
    base = pd.concat([pd.read_csv(RESULTS / b) for b in baselines if b])
    base = base[base.method.isin(BASELINES)]
    best = base.groupby(["dataset", "method"]).roc_auc.mean().unstack().max(axis=1)
    columns = ["chosen", *RULES]
    for suite, mask in (
        ("public suite", data.dataset.isin(PUBLIC_SUITE)),
        ("other listed datasets", ~data.dataset.isin(PUBLIC_SUITE)),
    ):
        per = data[mask].groupby("dataset")[columns].mean()
        if per.empty:
            continue
        ref = best.reindex(per.index)
        print(
            f"\n{suite}: {len(per)} datasets "
            f"(best of the five baselines: {ref.mean():.4f})"
        )
        print(f"  {'rule':<18} mean    vs default  W/T/L      vs best  worst")
        for rule in columns:
            diff = per[rule] - per["default"]
            wins, losses = int((diff > 1e-3).sum()), int((diff < -1e-3).sum())
            gap = per[rule] - ref
            print(
                f"  {rule:<18} {per[rule].mean():.4f}  {diff.mean():+.4f}    "
                f"{wins}/{len(diff) - wins - losses}/{losses}   "
                f"{gap.mean():+.4f}  {gap.min():+.4f} ({gap.idxmin()})"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("capture", "compare"))
    parser.add_argument("--datasets", default=",".join(PUBLIC_SUITE))
    parser.add_argument("--dir", type=Path, default=DIR)
    parser.add_argument(
        "--baselines",
        default="public_baselines_5x2.csv,outside_baselines_5x2.csv",
        help="files of benchmarks/results with the baselines' outer AUCs",
    )
    args = parser.parse_args(argv)
    if args.command == "capture":
        with thread_limit(1):
            capture(args.datasets.split(","), args.dir)
    else:
        compare(args.dir, args.baselines.split(","))


if __name__ == "__main__":
    main()
