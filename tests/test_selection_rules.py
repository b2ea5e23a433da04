"""Selection that survives noise (issue 17, point 3): greedy ensemble selection
with replacement, the held-out comparison of selection rules, weighted
ensembles, and the ``ensemble`` parameter's rules."""

import pickle
from types import SimpleNamespace

import numpy as np
import optuna
import pytest
from imblearn.datasets import make_imbalance
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from autobalance import AutoBalancedClassifier
from autobalance._attrs import (
    ATTR_ALGORITHM,
    ATTR_FIT_TIMES,
    ATTR_SCORE_TIMES,
    ATTR_SCORES,
    ATTR_TECHNIQUE,
)
from autobalance._ensemble import (
    FoldLibrary,
    SoftVotingEnsemble,
    _members,
    weighted_auc,
)
from autobalance._oof import FoldPrediction
from autobalance._selection import RULES, _select, honest_scores

N, K = 1500, 5


def _signal(seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(N) < 0.15).astype(int)
    splits = np.array_split(rng.permutation(N), K)
    return rng, y, splits


def _study(y, splits, predictors):
    """A finished search whose trials predicted ``predictors`` (name -> log-odds
    of every row), with fold scores and kept out-of-fold probabilities."""
    study = optuna.create_study(direction="maximize")
    oof = {}
    for name, log_odds in predictors.items():
        p = expit(log_odds)
        folds = [
            FoldPrediction(t, y[t], np.c_[1 - p[t], p[t]], "predict_proba", None)
            for t in splits
        ]
        scores = [float(roc_auc_score(y[t], p[t])) for t in splits]
        study.add_trial(
            optuna.trial.create_trial(
                value=float(np.mean(scores)),
                user_attrs={
                    ATTR_SCORES: scores,
                    ATTR_TECHNIQUE: "none",
                    ATTR_ALGORITHM: name,
                    ATTR_FIT_TIMES: [0.0] * K,
                    ATTR_SCORE_TIMES: [0.0] * K,
                },
            )
        )
        oof[study.trials[-1].number] = folds
    return study, oof


def _complementary():
    # Two views of the signal with independent noise: their average ranks
    # better than either.
    rng, y, splits = _signal()
    predictors = {
        f"m{i}": 1.5 * y + rng.normal(0, 1.5, N) + rng.normal(0, 0.1) for i in range(2)
    }
    return y, splits, predictors


def _dominant():
    # One sharp model and two weak, noisy ones: adding either weakens it.
    rng, y, splits = _signal(1)
    predictors = {
        "sharp": 3.0 * y + rng.normal(0, 1, N),
        "weak1": 0.3 * y + rng.normal(0, 1, N),
        "weak2": 0.3 * y + rng.normal(0, 1, N),
    }
    return y, splits, predictors


def test_weighted_auc_is_roc_auc_with_ties_and_weights():
    rng = np.random.default_rng(0)
    score = rng.normal(size=400).round(1)  # many ties
    y = rng.random(400) < 0.3
    w = rng.random(400)
    assert weighted_auc(y, score, w) == pytest.approx(
        roc_auc_score(y, score, sample_weight=w), abs=1e-12
    )
    assert weighted_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_greedy_selection_keeps_complementary_models():
    y, splits, predictors = _complementary()
    study, oof = _study(y, splits, predictors)
    library = FoldLibrary(study, oof, y, 1)
    members, counts = library.greedy(list(range(K)))
    assert sorted(members) == [0, 1]
    # The average beats each member on the folds it was chosen on.
    both = np.mean([library.score(members, counts, k) for k in range(K)])
    assert both > library.scores.mean(axis=1).max() + 0.01


def test_greedy_selection_keeps_only_a_dominant_model():
    y, splits, predictors = _dominant()
    study, oof = _study(y, splits, predictors)
    library = FoldLibrary(study, oof, y, 1)
    assert library.greedy(list(range(K))) == ([0], [1])


def test_greedy_selection_picks_with_replacement():
    # Three noisy views of unequal quality: the best one weighs most.
    rng, y, splits = _signal(2)
    predictors = {
        "good": 2.0 * y + rng.normal(0, 1, N),
        "fair": 1.0 * y + rng.normal(0, 1, N),
        "poor": 0.6 * y + rng.normal(0, 1, N),
    }
    study, oof = _study(y, splits, predictors)
    members, counts = FoldLibrary(study, oof, y, 1).greedy(list(range(K)))
    weights = dict(zip(members, counts, strict=True))
    assert weights[0] > max(c for m, c in weights.items() if m != 0)


def test_greedy_selection_respects_sample_weights():
    # m1 ranks the heavy rows well and the light rows badly; unweighted it is
    # the worse model, weighted the better: the selection must follow weights.
    rng, y, splits = _signal(3)
    heavy = rng.random(N) < 0.5
    w = np.where(heavy, 10.0, 0.01)
    signal = 2.0 * y
    m0 = signal + rng.normal(0, 1.5, N)
    m1 = np.where(heavy, signal + rng.normal(0, 0.3, N), rng.normal(0, 1, N))
    study, oof = _study(y, splits, {"m0": m0, "m1": m1})
    for folds in oof.values():
        for f in folds:
            f.weight = w[f.test]
    library = FoldLibrary(study, oof, y, 1)
    # Start from m0 (its unweighted fold scores are higher) and compare: with
    # weights, adding m1 (or m1 alone) must beat m0 alone.
    assert library.scores[0].mean() > library.scores[1].mean()
    members, counts = library.greedy(list(range(K)))
    picks = dict(zip(members, counts, strict=True))
    assert picks[1] > picks.get(0, 0)  # unweighted, they are picked once each
    both = expit((m0 + m1) / 2)
    t = splits[0]
    assert library.score([0, 1], None, 0) == pytest.approx(
        roc_auc_score(y[t], both[t], sample_weight=w[t]), abs=1e-9
    )


def test_honest_scores_hold_each_split_out():
    # Two single trials (no kept predictions): "best" chooses on the other
    # split and is scored on the held-out one.
    study = optuna.create_study(direction="maximize")
    for name, scores in {"a": [0.9, 0.6], "b": [0.7, 0.8]}.items():
        study.add_trial(
            optuna.trial.create_trial(
                value=float(np.mean(scores)),
                user_attrs={ATTR_SCORES: scores, ATTR_TECHNIQUE: "none"}
                | {ATTR_ALGORITHM: name},
            )
        )
    library = FoldLibrary(study, {}, np.array([0, 1]), 1)
    # Split 0 held out: b is best on split 1 -> 0.7; split 1: a -> 0.6.
    assert honest_scores(library, ("best",)) == {"best": pytest.approx(0.65)}


def test_honest_rule_choice_prefers_best_when_one_model_dominates():
    y, splits, predictors = _dominant()
    study, oof = _study(y, splits, predictors)
    plan = SimpleNamespace(
        ensembling="auto",
        objective=SimpleNamespace(oof=oof),
        classes=np.array([0, 1]),
        splits=splits,
        y_search=y,
    )
    trial, selection = _select(study, plan)
    scores = selection["honest_scores"]
    # Greedy chooses the dominant model alone, as "best" does: a tie, which
    # goes to the simpler rule.
    assert scores["greedy"] == scores["best"]
    assert selection["rule"] == "best"
    assert trial is None  # the best trial is refitted


def test_honest_rule_choice_prefers_an_ensemble_of_complementary_models():
    y, splits, predictors = _complementary()
    study, oof = _study(y, splits, predictors)
    scores = honest_scores(FoldLibrary(study, oof, y, 1))
    assert max(RULES, key=scores.__getitem__) in ("average", "greedy")
    assert max(scores["average"], scores["greedy"]) > scores["best"] + 0.01


def test_the_library_average_rule_is_the_ensembles_on_all_folds():
    y, splits, predictors = _complementary()
    rng = np.random.default_rng(5)
    predictors["m2"] = 0.2 * y + rng.normal(0, 1, N)  # clearly worse: left out
    study, oof = _study(y, splits, predictors)
    library = FoldLibrary(study, oof, y, 1)
    members, _ = library.average(list(range(K)))
    assert [library.trials[i].number for i in members] == [
        t.number for t in _members(study, oof)
    ]
    assert 2 not in members


# -- the weighted ensemble ------------------------------------------------------
def test_weighted_ensemble_averages_log_odds_by_weight():
    X, y = make_classification(120, random_state=0)
    members = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
    ]
    ens = SoftVotingEnsemble(members, weights=[3, 1])
    for fitted in (
        clone(ens).fit(X, y),
        pickle.loads(pickle.dumps(ens.fit(X, y))),
    ):
        assert fitted.weights == [3, 1]
        a, b = (est.predict_proba(X)[:, 1] for est in fitted.estimators_)
        clip = (1e-6, 1.0)
        la = np.log(np.clip(a, *clip)) - np.log(np.clip(1 - a, *clip))
        lb = np.log(np.clip(b, *clip)) - np.log(np.clip(1 - b, *clip))
        expected = expit((3 * la + lb) / 4)
        np.testing.assert_allclose(fitted.predict_proba(X)[:, 1], expected)
    equal = SoftVotingEnsemble(members).fit(X, y).predict_proba(X)
    assert not np.allclose(equal, ens.predict_proba(X))
    with pytest.raises(ValueError, match="one finite weight"):
        SoftVotingEnsemble(members, weights=[1]).fit(X, y)


# -- the ensemble parameter -----------------------------------------------------
def _data():
    X, y = make_classification(
        400, 6, n_informative=3, weights=[0.5], flip_y=0.1, random_state=0
    )
    return make_imbalance(X, y, sampling_strategy={0: 190, 1: 40}, random_state=0)


def _search(**kw):
    kw.setdefault("estimator", [LogisticRegression(), DecisionTreeClassifier()])
    return AutoBalancedClassifier(
        techniques=["none", "balanced_class_weight", "random_over_sampler"],
        n_trials=6,
        cv=3,
        random_state=0,
        calibration="off",
        **kw,
    )


def test_a_bad_ensemble_value_raises_before_the_search(monkeypatch):
    from autobalance import _classifier

    def no_search(*a, **k):  # pragma: no cover - must not run
        raise AssertionError("the search started")

    monkeypatch.setattr(_classifier, "run_study", no_search)
    X, y = _data()
    with pytest.raises(ValueError, match=r"average.*auto|auto.*average"):
        _search(ensemble="greed").fit(X, y)


def test_average_rule_reproduces_the_previous_choice():
    X, y = _data()
    models = [LogisticRegression(), DecisionTreeClassifier(max_depth=3), GaussianNB()]
    clf = _search(ensemble="average", estimator=models).fit(X, y)
    # main (before the rules) chose the ensemble of trials 2 and 4 here.
    assert clf.selection_["members"] == [2, 4]
    res = clf.cv_results_
    # The previous rule, read from cv_results_: the best trial of each model,
    # the three best models, those the best does not beat by one SE.
    from autobalance._ensemble import clearly_better

    split = np.column_stack([res[f"split{i}_test_score"] for i in range(3)])
    best = {}
    for i in np.argsort(-res["mean_test_score"], kind="stable"):
        if res["technique"][i] != "ensemble" and np.isfinite(res["mean_test_score"][i]):
            best.setdefault(res["param_algorithm"][i], i)
    ranked = list(best.values())[:3]
    kept = [i for i in ranked if not clearly_better(split[ranked[0]], split[i])]
    assert clf.selection_["rule"] == ("average" if len(kept) > 1 else "best")
    if len(kept) > 1:
        assert clf.best_technique_ == "ensemble"
        assert sorted(clf.selection_["members"]) == sorted(
            int(res["trial_number"][i]) for i in kept
        )
        assert "weights" not in clf.best_params_
    else:
        assert clf.best_index_ == int(np.argmax(res["mean_test_score"]))


@pytest.mark.parametrize("ensemble", ["greedy", "auto", "average", True])
def test_rules_record_their_choice(ensemble):
    X, y = _data()
    clf = _search(ensemble=ensemble).fit(X, y)
    sel = clf.selection_
    assert sel["ensemble"] == ("average" if ensemble is True else ensemble)
    assert sel["trial"] == clf.cv_results_["trial_number"][clf.best_index_]
    assert clf.study_.user_attrs["autobalance_selection"]["rule"] == sel["rule"]
    if sel["ensemble"] == "auto":
        assert set(sel["honest_scores"]) == set(RULES)
        assert sel["rule"] == max(RULES, key=sel["honest_scores"].__getitem__)
    if clf.best_technique_ == "ensemble":
        n = len(clf.best_params_["members"])
        assert len(clf.best_estimator_.estimators_) == n
        weights = clf.best_params_.get("weights")
        assert clf.best_estimator_.weights == weights
    assert clf.score(X, y) > 0.7
    assert not hasattr(AutoBalancedClassifier(ensemble=False), "selection_")
    off = _search(ensemble=False).fit(X, y)
    assert off.selection_["rule"] == "best"
    # A pruned trial's mean is NaN, and ranks last (as in scikit-learn).
    assert off.best_index_ == int(np.nanargmax(off.cv_results_["mean_test_score"]))


def test_a_weighted_ensemble_is_rebuilt_from_its_params():
    from autobalance._selection import estimator_from_params

    X, y = _data()
    clf = _search(ensemble=False).fit(X, y)
    params = {
        "technique": "ensemble",
        "algorithm": None,
        "members": [clf.cv_results_["params"][i] for i in (0, 1)],
        "weights": [2, 1],
    }
    est = estimator_from_params(clf.search_space_, params)
    assert est.weights == [2, 1]
    assert len(est.estimators) == 2


def test_the_objective_keeps_the_librarys_predictions():
    # library_size keeps the best trials besides each model's best.
    from autobalance._objective import Objective

    obj = Objective(None, None, None, [], None, keep_oof=True, library_size=2)

    class C:
        def __init__(self, alg):
            self.algorithm, self.technique = alg, "none"

    for number, (alg, value) in enumerate(
        [("a", 0.7), ("a", 0.9), ("a", 0.8), ("b", 0.5), ("a", 0.6)]
    ):
        obj._retain(number, C(alg), value, [number])
    assert sorted(obj.oof) == [1, 2, 3]  # the two best, and b's best
    obj0 = Objective(None, None, None, [], None, keep_oof=True)
    for number, (alg, value) in enumerate([("a", 0.7), ("a", 0.9), ("a", 0.9)]):
        obj0._retain(number, C(alg), value, [number])
    assert sorted(obj0.oof) == [1]  # each model's best only; ties: the earlier
