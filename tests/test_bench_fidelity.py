"""The benchmark's measurement of the screening round (issue 18): screened
setups sampled over families and models, scored again at full fidelity on the
search's own rows and folds, and the rank correlations reported."""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import optuna
import pytest

import autobalance._budget as budget_module
from autobalance import AutoBalancedClassifier
from autobalance._attrs import ATTR_MEMBERS, ATTR_PROMOTED, ATTR_SCREEN_ROWS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench_budget = pytest.importorskip("bench_budget")
_fidelity = pytest.importorskip("_fidelity")

N_SPLITS = 3


def _setup(number, family, model, screen, full=math.nan):
    return _fidelity.Setup(
        number=number,
        params={},
        key=str(number),
        family=family,
        model=model,
        screen=screen,
        full=full,
    )


def _grid():
    """12 setups of family "none" (3 models x 4 variants), 3 of "over" and of
    "under", 1 of "ensemble": the best is one of "over"'s."""
    setups, number = [], 0
    rng = np.random.default_rng(0)
    for family, models, variants in (
        ("none", ("lr", "et", "hgb"), 4),
        ("over", ("lr", "et", "hgb"), 1),
        ("under", ("lr", "et", "hgb"), 1),
        ("ensemble", ("brf",), 1),
    ):
        for model in models:
            for _ in range(variants):
                setups.append(_setup(number, family, model, rng.uniform(0.5, 0.8)))
                number += 1
    setups[13].screen = 0.95
    return setups


def test_the_sample_spreads_over_families_and_models_and_keeps_the_best():
    setups = _grid()
    sample = _fidelity.stratified_sample(setups, 8, seed=0)
    assert len(sample) == 8 and len({s.number for s in sample}) == 8
    assert sample[0] is setups[13]  # the round's best, whatever its family
    families = [s.family for s in sample]
    assert set(families) == {"none", "over", "under", "ensemble"}
    # "none" has 12 of the 19 setups, but no more picks than the others that
    # still have setups: 8 picks over 4 families, one of which has 1.
    assert max(families.count(f) for f in set(families)) <= 3
    assert families.count("ensemble") == 1
    models = [s.model for s in sample]
    assert set(models) == {"lr", "et", "hgb", "brf"}
    assert max(models.count(m) for m in set(models)) <= 3
    # Fewer setups than asked: all of them.
    assert len(_fidelity.stratified_sample(setups[:5], 8)) == 5


def test_the_correlations_of_a_constructed_case():
    screen = [0.9, 0.8, 0.7, 0.6]
    full = [0.80, 0.85, 0.75, 0.60]  # the first two swapped
    setups = [
        _setup(i, "f", "m", s, f)
        for i, (s, f) in enumerate(zip(screen, full, strict=True))
    ]
    setups.append(_setup(9, "f", "m", 0.99))  # no full-fidelity score: no pair
    out = _fidelity.summarise(setups, promoted_numbers={0, 1})
    assert out["fidelity_pairs"] == 4
    # Ranks 4,3,2,1 vs 3,4,2,1: 1 - 6 * 2 / (4 * 15); 5 concordant, 1 not.
    assert out["fidelity_spearman"] == pytest.approx(0.8)
    assert out["fidelity_kendall"] == pytest.approx(4 / 6)
    assert out["fidelity_top1_kept"] is True
    # The full-fidelity best (not the screening's best) was not promoted.
    out = _fidelity.summarise(setups, promoted_numbers={0, 2})
    assert out["fidelity_top1_kept"] is False
    # Fewer than 3 pairs: no correlation.
    out = _fidelity.summarise(setups[:2], promoted_numbers={0})
    assert math.isnan(out["fidelity_spearman"]) and out["fidelity_pairs"] == 2


class FrozenClock:
    """The budget never runs out: the timed search runs its n_trials."""

    def __call__(self):
        return 0.0


@pytest.fixture(scope="module")
def fitted(binary_data_shared):
    X, y = binary_data_shared
    est = AutoBalancedClassifier(timeout=60, n_trials=3, cv=N_SPLITS, random_state=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(budget_module, "default_clock", FrozenClock())
        clf, metrics = bench_budget.fit_scored(est, X, y, X, y)
    return clf, metrics, X, y


def _complete(clf):
    return [
        t
        for t in clf.study_.get_trials(deepcopy=False)
        if t.state == optuna.trial.TrialState.COMPLETE
        and ATTR_MEMBERS not in t.user_attrs
        and t.user_attrs.get(ATTR_SCREEN_ROWS) is None
    ]


def test_a_refit_scores_a_completed_setup_as_the_search_did(fitted):
    clf, _, X, y = fitted
    objective, search_rows = _fidelity.full_fidelity_objective(clf, X, y)
    assert search_rows == len(y)
    complete = _complete(clf)
    assert complete
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trial in complete[:2]:
            # The same rows, folds and model seeds: the same score.
            assert _fidelity.full_score(objective, trial.params) == pytest.approx(
                trial.value, abs=1e-12
            )


def test_the_round_is_ranked_at_its_rows_with_its_promoted_setups(fitted):
    clf, *_ = fitted
    trials = clf.study_.get_trials(deepcopy=False)
    setups, promoted, rows = _fidelity.round_setups(trials, N_SPLITS)
    assert (
        rows
        == max(
            (t for t in trials if t.user_attrs.get(ATTR_SCREEN_ROWS)),
            key=lambda t: t.number,
        ).user_attrs[ATTR_SCREEN_ROWS]
    )
    scores = [s.screen for s in setups]
    assert scores == sorted(scores, reverse=True)
    ran = {t.user_attrs[ATTR_PROMOTED] for t in trials if ATTR_PROMOTED in t.user_attrs}
    assert ran and ran <= promoted
    assert setups[0].number in promoted


def test_measure_reuses_the_searchs_full_scores_and_refits_the_rest(fitted):
    clf, _, X, y = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _fidelity.measure(clf, X, y, setups=4)
    assert out["fidelity_note"] == ""
    # The round's best was promoted and completed: its score is the search's.
    assert out["fidelity_reused"] >= 1
    assert out["fidelity_refits"] + out["fidelity_reused"] == out["fidelity_pairs"] == 4
    assert -1 <= out["fidelity_spearman"] <= 1
    sample = out["fidelity_sample"].split("; ")
    assert len(sample) == 4 and sum(text.endswith("=") for text in sample) >= 1
    skipped = _fidelity.measure(clf, X, y, max_rows=len(y) - 1)
    assert skipped["fidelity_note"].startswith("skipped")
    assert skipped["fidelity_refits"] == skipped["fidelity_pairs"] == 0


def test_bench_budget_rows_and_summary_carry_the_fidelity_columns(
    fitted, tmp_path, capsys
):
    clf, metrics, X, y = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = bench_budget.autobalance_row(clf, metrics, 60.0, (X, y), {"setups": 3})
    for column in _fidelity.COLUMNS:
        assert column in row
    assert "fidelity_correlation" not in row
    assert row["fidelity_pairs"] == 3 and np.isfinite(row["fidelity_spearman"])
    # The measuring is not in the fit's wall time.
    assert row["fit_wall"] == metrics["fit_wall"]
    # The early stop's and the screening round's progress columns.
    progress = clf.search_progress_
    assert row["stopped_early"] is bool(progress["stopped_early"])
    assert row["screened_progress_100"] == progress["screened_best_score"][-1] or (
        np.isnan(row["screened_progress_100"])
        and np.isnan(progress["screened_best_score"][-1])
    )
    assert np.isnan(row["stop_elapsed"]) != row["stopped_early"]
    out = tmp_path / "budget.csv"
    row.update(dataset="d", rows=len(y), seed=0, method="autobalance", budget=60.0)
    assert "stopped early" in bench_budget.describe(row) or not row["stopped_early"]
    bench_budget.append(out, {**row, "load": False})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no baselines in this file
        bench_budget.summary(out)
    table = capsys.readouterr().out
    assert "tau" in table and f"{row['fidelity_kendall']:6.3f}" in table


def test_bench_budget_says_when_a_search_stopped_early():
    row = {"stopped_early": True, "stop_elapsed": 12.25, "stop_expected_gain": 4e-4}
    assert "stopped early at 12.2 s" in bench_budget._stop_text(row)
    assert bench_budget._stop_text({**row, "stopped_early": False}) == ""
