"""The offline replay of selection rules (issue 17, point 3): the rebuilt
default rule, the leave-one-dataset-out prior and the shrinkage toward it."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
replay = pytest.importorskip("replay_selection")


def _trial(algorithm, scores, technique="none", outer=None):
    return {
        "number": 0,
        "algorithm": algorithm,
        "technique": technique,
        "family": technique,
        "scores": np.asarray(scores, dtype=float),
        "outer": outer,
    }


def test_default_rule_keeps_close_models_and_drops_a_clearly_worse_one():
    trials = [
        _trial("lr", [0.90, 0.80, 0.85]),
        _trial("lr", [0.89, 0.79, 0.84]),  # lr's second best: never a member
        _trial("et", [0.88, 0.83, 0.83]),  # close to the best
        _trial("hgb", [0.70, 0.60, 0.65]),  # clearly worse
    ]
    means = np.array([t["scores"].mean() for t in trials])
    assert replay.average_rule(trials, means) == [0, 2]
    # With only the clearly worse model beside the best: the best alone.
    assert replay.average_rule([trials[0], trials[3]], means[[0, 3]]) == [0]


def test_prior_is_learned_without_the_left_out_dataset():
    y = np.array([False, False, True, True])
    good, bad = np.array([0.0, 1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0, 0.0])

    def record(name, lr_outer):
        return {
            "dataset": name,
            "y_test": y,
            "trials": [
                _trial("lr", [0.8, 0.8], outer=lr_outer),
                _trial("et", [0.8, 0.8], outer=good),
            ],
        }

    records = [record(n, bad) for n in "abc"] + [record("d", good)]
    prior = replay.learn_prior(records, leave_out="d")
    # On a, b and c lr ranks in reverse (AUC 0 against et's 1).
    assert prior[("lr", "none")][0] == pytest.approx(-0.5)
    assert prior[("et", "none")][0] == pytest.approx(0.5)
    # Leaving out a bad dataset changes the prior: "d" did not reach it.
    assert replay.learn_prior(records, leave_out="a")[("lr", "none")][
        0
    ] == pytest.approx(-1 / 3)
    # Fewer than three datasets: no prior for the setup.
    assert replay.learn_prior(records[:2], leave_out="d") == {}


def test_prior_shrinkage_moves_noisy_scores_only():
    trials = [
        _trial("lr", [0.9, 0.9, 0.9]),  # no noise: its own score stands
        _trial("et", [0.6, 1.0, 0.8]),  # noisy: pulled toward level + offset
    ]
    prior = {("lr", "none"): (0.0, 0.01), ("et", "none"): (-0.2, 0.0001)}
    shrunk = replay.prior_shrunk(trials, prior)
    level = np.mean([0.9, 0.8])
    assert shrunk[0] == pytest.approx(0.9)
    noise = np.var([0.6, 1.0, 0.8], ddof=1) / 3
    w = 0.0001 / (0.0001 + noise)
    assert shrunk[1] == pytest.approx(w * 0.8 + (1 - w) * (level - 0.2))
    assert shrunk[1] < 0.8
