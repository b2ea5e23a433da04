"""Out-of-fold predictions record which fitted models made them (issue 16):
the search's own fold models, at its fidelity, or the chosen setup built as
the refit builds it and fitted on each fold."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression

from autobalance import Algorithm, AutoBalancedClassifier
from autobalance._oof import REFIT, SEARCH
from autobalance._threshold import fit_decision_rule


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=300, n_features=6, weights=[0.85], random_state=0
    )


def _cheap_search_forest():
    # Scored with 5 trees while searching, refitted with 40 (as the default
    # portfolio's forests are searched with fewer trees): the two kinds of
    # out-of-fold predictions come from different models.
    return Algorithm(
        "forest",
        ExtraTreesClassifier(n_estimators=40, random_state=0),
        search_params={"n_estimators": 5},
    )


@pytest.fixture(scope="module")
def searched(data):
    import autobalance._plan as plan_module

    X, y = data
    with pytest.MonkeyPatch.context() as m:
        m.setattr(
            plan_module, "resolve_algorithms", lambda *a, **k: [_cheap_search_forest()]
        )
        return AutoBalancedClassifier(
            LogisticRegression(),
            techniques=["random_over_sampler"],
            calibration="sigmoid",
            n_trials=3,
            cv=3,
            random_state=0,
        ).fit(X, y)


def test_the_decision_rule_says_it_was_fitted_on_the_search_predictions(searched):
    assert searched.calibration_["oof_origin"] == SEARCH
    assert searched.decision_rule_.out_of_fold()["origin"] == SEARCH


def test_refitted_fold_predictions_are_marked_and_differ_from_the_search(
    data, searched
):
    X, y = data
    clf = searched
    searched = clf.decision_rule_.out_of_fold()
    rule = fit_decision_rule(clf, X, y)  # no folds given: refit each fold
    refitted = rule.out_of_fold()
    assert rule.calibration_info["oof_origin"] == REFIT
    assert refitted["origin"] == REFIT
    assert np.array_equal(np.sort(refitted["row"]), np.sort(searched["row"]))
    # 40 trees, not the search's 5: other predictions of the same rows.
    order_s, order_r = np.argsort(searched["row"]), np.argsort(refitted["row"])
    assert not np.allclose(searched["raw"][order_s], refitted["raw"][order_r])


def test_the_ensemble_keeps_its_members_origin(data):
    from autobalance._ensemble import ensemble_predictions
    from autobalance._oof import FoldPrediction

    y = np.array([0, 1, 0, 1])
    raw = np.full((4, 2), 0.5)
    oof = {
        n: [FoldPrediction(np.arange(4), y, raw, "predict_proba", None, origin=SEARCH)]
        for n in (1, 2)
    }
    (fold,) = ensemble_predictions(oof, [1, 2])
    assert fold.origin == SEARCH
