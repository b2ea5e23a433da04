"""The small-data guard (issue 17, point 3): on few rows the search refits
balanced class weights on extra trees unless its choice beats them by the
learned margin."""

import json

import numpy as np
import optuna
import pytest
from sklearn.datasets import make_classification

from autobalance import AutoBalancedClassifier, _guard
from autobalance._attrs import ATTR_SCORES
from autobalance._guard import GUARD_PATH, read_guard, reference_instead
from autobalance._objective import (
    ATTR_ALGORITHM,
    ATTR_DUPLICATE,
    ATTR_PARAMS,
    ATTR_TECHNIQUE,
    _clean,
)
from autobalance._plan import build_plan

GUARD = {
    "reference": {"technique": "balanced_class_weight", "algorithm": "extra_trees"},
    "max_rows": 200,
    "margin": 0.03,
}


def _small(n=120, seed=1):
    return make_classification(
        n_samples=n, n_features=6, weights=[0.85], flip_y=0.05, random_state=seed
    )


@pytest.fixture(scope="module")
def space():
    X, y = _small()
    return build_plan(AutoBalancedClassifier(random_state=0), X, y).space


def _trial(number, technique, algorithm, params, value, **attrs):
    trial = optuna.trial.create_trial(
        value=value,
        user_attrs={
            ATTR_TECHNIQUE: technique,
            ATTR_ALGORITHM: algorithm,
            ATTR_PARAMS: _clean(params),
            ATTR_SCORES: [value] * 5,
            **attrs,
        },
    )
    trial.number = number
    return trial


def _reference(space, value, number=4, **attrs):
    config = space.default_config("balanced_class_weight", "extra_trees")
    return _trial(
        number, config.technique, config.algorithm, config.params, value, **attrs
    )


def _chosen(value, number=9):
    return _trial(number, "smote", "logistic_regression", {"model__C": 3.0}, value)


@pytest.mark.parametrize(
    ("lead", "n_samples", "replaced"),
    [
        (0.02, 120, True),  # a lead below the margin: the reference
        (0.0, 200, True),  # at the bound, still small data
        (0.03, 120, False),  # a lead of the margin keeps the choice
        (0.02, 201, False),  # above the bound the guard never applies
        (-0.05, 120, True),  # a choice worse than the reference (an ensemble's
        # mean over folds may be)
    ],
)
def test_the_reference_replaces_a_choice_that_does_not_clearly_beat_it(
    space, lead, n_samples, replaced
):
    reference, chosen = _reference(space, 0.80), _chosen(0.80 + lead)
    trial, record = reference_instead(
        [chosen, reference], chosen, space, n_samples, GUARD
    )
    assert (trial is reference) is replaced
    if replaced:
        assert record == {
            "instead_of": chosen.number,
            "lead": pytest.approx(lead),
            "margin": 0.03,
            "max_rows": 200,
        }
    else:
        assert record is None


def test_only_the_reference_at_its_defaults_is_the_reference(space):
    chosen = _chosen(0.81)
    tuned = _trial(
        5,
        "balanced_class_weight",
        "extra_trees",
        {"model__min_samples_leaf": 3},
        0.80,
    )
    repeat = _reference(space, 0.80, number=6, **{ATTR_DUPLICATE: 4})
    unscored = _reference(space, 0.80, number=7)
    unscored.user_attrs[ATTR_SCORES] = None
    for others in ([tuned], [repeat], [unscored]):
        trial, record = reference_instead([chosen, *others], chosen, space, 100, GUARD)
        assert trial is chosen and record is None
    # A space without extra trees has no reference.
    guard = {
        **GUARD,
        "reference": {
            "technique": "balanced_class_weight",
            "algorithm": "no_such_model",
        },
    }
    reference = _reference(space, 0.80)
    trial, _ = reference_instead([chosen, reference], chosen, space, 100, guard)
    assert trial is chosen


def test_the_shipped_guard_is_learned_data_with_its_provenance():
    guard = read_guard()
    assert guard["reference"] == GUARD["reference"]
    assert 0 < guard["margin"] < 0.1 and guard["max_rows"] >= 50
    provenance = json.loads(GUARD_PATH.read_text())["provenance"]
    assert len(provenance["learned_from"]) >= 30
    assert "replay_reference.py --learn" in provenance["command"]


def test_a_file_without_the_rule_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "guard.json"
    path.write_text(json.dumps({"reference": GUARD["reference"]}))
    with pytest.raises(ValueError, match=r"lacks \['margin', 'max_rows'\].*--learn"):
        read_guard(path)


def _fit(monkeypatch, guard, **params):
    monkeypatch.setattr(_guard, "read_guard", lambda: guard)
    X, y = _small()
    return AutoBalancedClassifier(random_state=0, **params).fit(X, y), X


def test_a_small_fit_refits_the_reference_and_says_so(monkeypatch):
    # A margin no choice reaches: the guard must replace whatever was chosen.
    est, X = _fit(monkeypatch, {**GUARD, "margin": 1.0})
    record = est.selection_["reference"]
    chosen = est.cv_results_["trial_number"][est.best_index_]
    assert record["instead_of"] != chosen
    assert est.selection_["trial"] == chosen
    assert (est.best_technique_, est.best_algorithm_) == (
        "balanced_class_weight",
        "extra_trees",
    )
    assert est.best_score_ == pytest.approx(
        est.cv_results_["mean_test_score"][est.best_index_]
    )
    model = est.best_estimator_
    assert model[-1].class_weight == "balanced"
    # The search kept the reference's out-of-fold predictions for its
    # decision rule: no fold is refitted after the search.
    assert est.calibration_["oof_origin"] == "search"
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()


@pytest.mark.parametrize(
    ("guard", "params"),
    [
        ({**GUARD, "margin": -1.0}, {}),  # every choice clearly beats it
        ({**GUARD, "margin": 1.0, "max_rows": 100}, {}),  # more rows than the bound
        ({**GUARD, "margin": 1.0}, {"ensemble": False}),  # the plain best asked for
    ],
)
def test_the_guard_leaves_the_choice_alone_outside_its_conditions(
    monkeypatch, guard, params
):
    est, _ = _fit(monkeypatch, guard, **params)
    assert "reference" not in est.selection_


def test_the_report_says_when_the_guard_chose(monkeypatch, tmp_path):
    from autobalance.reporting import report

    est, _ = _fit(monkeypatch, {**GUARD, "margin": 1.0})
    lead = est.selection_["reference"]["lead"]
    report(est, tmp_path / "report.html")
    html = (tmp_path / "report.html").read_text()
    assert "Chosen by the small-data guard" in html
    assert f"led it by only {lead:+.4f}" in html
