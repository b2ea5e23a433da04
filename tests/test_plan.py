"""The search plan is built from the estimator's parameters and ``X, y``
without changing the estimator; ``fit`` takes its fitted attributes from it."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from autobalance import AutoBalancedClassifier
from autobalance._plan import build_plan


@pytest.fixture
def frame():
    X, y = make_classification(n_samples=150, weights=[0.8], random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y


def test_build_plan_does_not_change_the_estimator(frame):
    X, y = frame
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["none", "smote"], n_trials=3, cv=3,
        random_state=0,
    )  # fmt: skip
    before = dict(vars(clf))
    plan = build_plan(clf, X, y)
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    assert plan.n_features_in == X.shape[1]
    assert list(plan.feature_names_in) == list(X.columns)
    assert len(plan.splits) == 3 and plan.cv.get_n_splits() == 3
    assert plan.n_trials == 3 and plan.rows is None
    assert dict(plan.fit_params) == {}
    with pytest.raises(AttributeError):
        plan.n_trials = 5  # frozen


def test_fit_takes_its_fitted_attributes_from_the_plan(frame):
    X, y = frame
    clf = AutoBalancedClassifier(
        LogisticRegression(), techniques=["none", "smote"], n_trials=3, cv=3,
        random_state=0,
    )  # fmt: skip
    plan = build_plan(clf, X, y)
    clf.fit(X, y)
    assert clf.n_features_in_ == plan.n_features_in
    assert list(clf.feature_names_in_) == list(plan.feature_names_in)
    assert clf.search_space_.context.class_counts.tolist() == (
        plan.context.class_counts.tolist()
    )
    folds = [test for _, test in clf.cv_.split(X, y)]
    assert all(
        np.array_equal(a, b) for a, (_, b) in zip(folds, plan.splits, strict=True)
    )
    # An array after a DataFrame: the names are forgotten, as with validate_data.
    clf.fit(X.to_numpy(), y)
    assert not hasattr(clf, "feature_names_in_")
