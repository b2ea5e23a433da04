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


# fit takes sample_weight (issue 19) before the search consumes it: the weights
# half of issue 19 makes these pass and removes them from here.
_WEIGHTS_PENDING = "sample_weight is not consumed yet (issue 19, weights half)"
_WEIGHT_CHECKS = (
    "check_all_zero_sample_weights_error",
    "check_sample_weights_shape",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
)


def expected_failed_checks(estimator):
    return dict.fromkeys(_WEIGHT_CHECKS, _WEIGHTS_PENDING)


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
