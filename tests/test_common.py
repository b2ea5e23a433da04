"""scikit-learn's common estimator checks."""

from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from autobalance import AutoBalancedClassifier

# Small budgets: the checks fit many times; what they test does not depend on
# the size of the search.
ESTIMATORS = [
    AutoBalancedClassifier(LogisticRegression(), n_trials=3, cv=2, random_state=0),
    AutoBalancedClassifier(
        [LogisticRegression(), DecisionTreeClassifier(max_depth=3)],
        n_trials=3,
        cv=2,
        random_state=0,
    ),
]


def expected_failed_checks(estimator):
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
