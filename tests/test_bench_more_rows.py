"""The A/B harness of the timed refit's "more rows" rule: both arms fit the
same restricted search, and the rule is restored whatever happens."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench = pytest.importorskip("bench_more_rows")


def test_the_off_arm_disables_the_rule_and_restores_it(monkeypatch):
    import autobalance._selection as selection

    seen = []
    original = selection._roomier

    def spy(trials, chosen, budget, objective):
        seen.append(selection.MORE_ROWS)
        return original(trials, chosen, budget, objective)

    monkeypatch.setattr(selection, "_roomier", spy)
    out = bench.run(3_000, 0, timeout=20, rule=False)
    assert seen == [float("inf")]
    assert selection.MORE_ROWS == 2.0
    assert 0.5 < out["auc"] <= 1.0
    assert out["refitted"] in ("none", "balanced_class_weight")
    assert set(out["inner"]) <= {"none", "balanced_class_weight"}
