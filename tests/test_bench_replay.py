"""The offline replay of a fallback to the reference setup (issue 17): which
outer folds refit it under each rule, and the AUC that gives."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
replay_reference = pytest.importorskip("replay_reference")


def _write(tmp_path, search, trials, baselines):
    for name, rows in (
        ("public_autobalance_5x2.csv", search),
        ("public_autobalance_5x2.csv.trials.csv", trials),
        ("public_baselines_5x2.csv", baselines),
    ):
        pd.DataFrame(rows).to_csv(tmp_path / name, index=False)


def _trial_rows(dataset, fold, chosen_scores, reference_scores):
    """The chosen trial (SMOTE on boosting) and the reference one."""
    return [
        {
            "dataset": dataset,
            "fold": fold,
            "technique": technique,
            "algorithm": algorithm,
            "state": "COMPLETE",
            "chosen": is_chosen,
            "split_scores": scores,
        }
        for technique, algorithm, scores, is_chosen in (
            ("smote", "hist_gradient_boosting", chosen_scores, True),
            ("balanced_class_weight", "extra_trees", reference_scores, False),
        )
    ]


def _results(tmp_path):
    """Two datasets x 2 outer folds; on dataset "a" fold 0 the chosen trial
    barely beats the reference (gap 0.004 over noisy splits), elsewhere
    clearly (gap 0.1, no noise)."""
    search, trials, baselines = [], [], []
    for dataset in "ab":
        for fold in (0, 1):
            close = dataset == "a" and fold == 0
            chosen = "0.934;0.784;0.894" if close else "0.9;0.9;0.9"
            search.append({"dataset": dataset, "fold": fold, "roc_auc": 0.80})
            reference = "0.9;0.8;0.9" if close else "0.8;0.8;0.8"
            trials += _trial_rows(dataset, fold, chosen, reference)
            for method in replay_reference.BASELINES:
                auc = 0.95 if method == "et_balanced" else 0.7
                baselines.append(
                    {"dataset": dataset, "fold": fold, "method": method, "roc_auc": auc}
                )
    _write(tmp_path, search, trials, baselines)


def test_the_reference_replaces_only_folds_the_chosen_does_not_clearly_win(tmp_path):
    _results(tmp_path)
    root = tmp_path / "public_autobalance_5x2.csv"
    table = replay_reference.fold_table(
        pd.read_csv(root),
        pd.read_csv(f"{root}.trials.csv"),
        pd.read_csv(tmp_path / "public_baselines_5x2.csv"),
    )
    assert table.loc[("a", 0), "gap"] == pytest.approx(0.004)
    assert table.loc[("b", 1), "gap"] == pytest.approx(0.1)
    rules = dict(replay_reference.rules(table))
    # delta 0.01: only the close fold; k=1 standard error: the same (its
    # splits' differences are noisy); delta 0: none.
    for name in ("delta=0.01", "se k=1"):
        assert rules[name].tolist() == [True, False, False, False]
    assert not rules["delta=0"].any()
    got = replay_reference.replay(table, rules["delta=0.01"])
    assert got["a"] == pytest.approx((0.95 + 0.80) / 2) and got["b"] == pytest.approx(
        0.8
    )


def test_the_replay_prints_every_rule_and_refuses_trials_without_splits(
    tmp_path, capsys
):
    _results(tmp_path)
    replay_reference.main(["--suites", "public", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert "delta=0.03" in out and "se k=2" in out
    trials = tmp_path / "public_autobalance_5x2.csv.trials.csv"
    pd.read_csv(trials).drop(columns="split_scores").to_csv(trials, index=False)
    with pytest.raises(SystemExit, match="no split_scores column"):
        replay_reference.main(["--suites", "public", "--results", str(tmp_path)])


def test_the_learned_gate_refits_the_reference_on_small_data_only(tmp_path, capsys):
    """Small datasets (60 training rows) gain from the reference, large ones
    (600) lose: the gate learned lies between them, and the file it writes
    is one the package reads."""
    from autobalance._guard import read_guard

    search, trials, baselines = [], [], []
    for d in range(6):
        small = d < 3
        for fold in (0, 1):
            search.append(
                {
                    "dataset": f"d{d}",
                    "fold": fold,
                    "roc_auc": 0.80,
                    "n_train": 60 if small else 600,
                    "n_pos_train": 10 if small else 40,
                }
            )
            trials += _trial_rows(f"d{d}", fold, "0.825;0.825;0.825", "0.8;0.8;0.8")
            for method in replay_reference.BASELINES:
                auc = (0.85 if small else 0.75) if method == "et_balanced" else 0.7
                baselines.append(
                    {"dataset": f"d{d}", "fold": fold, "method": method, "roc_auc": auc}
                )
    _write(tmp_path, search, trials, baselines)
    out = tmp_path / "guard.json"
    replay_reference.main(
        [
            "--suites",
            "public",
            "--results",
            str(tmp_path),
            "--learn",
            "--write",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    # Learned without each dataset, the gate still refits the small ones only.
    assert "(+0.0250; W/T/L 3/3/0)" in printed
    guard = read_guard(out)
    assert 60 <= guard["max_rows"] < 600
    assert guard["margin"] == 0.03  # the smallest margin above the 0.025 gap
    assert guard["provenance"]["learned_from"] == [f"d{d}" for d in range(6)]
