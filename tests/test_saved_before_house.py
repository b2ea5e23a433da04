"""A model saved before the modules moved (issue 16) still loads and predicts.

``tests/data/model_before_house.skops`` was saved at commit ef0c789 with::

    X, y = make_classification(200, weights=[0.85], random_state=0)
    AutoBalancedClassifier(LogisticRegression(),
                           techniques=["none", "random_over_sampler", "smote"],
                           threshold="f1", n_trials=4, cv=3, random_state=0)

skops records every object by ``module.Class``: a class that moves keeps an
import alias at its old path, and the trust list follows it.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification

from autobalance import AutoBalancedClassifier, load_model

SAVED = Path(__file__).parent / "data" / "model_before_house.skops"


# scikit-learn does not load models across its versions (attributes change,
# e.g. LogisticRegression lost ``multi_class`` in 1.8), so the file saved with
# 1.9 is checked where 1.9 or later is installed; what it tests is the move
# of autobalance's own modules, not scikit-learn's compatibility.
SAVED_WITH = (1, 9)


@pytest.mark.skipif(
    tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < SAVED_WITH,
    reason="the file was saved with scikit-learn 1.9",
)
def test_model_saved_before_the_move_loads_untrusted_and_predicts():
    X, _ = make_classification(200, weights=[0.85], random_state=0)
    with warnings.catch_warnings():
        # The file names the library versions of the day it was saved.
        warnings.simplefilter("ignore", UserWarning)
        clf = load_model(SAVED)  # no trust given: every type is expected
    assert isinstance(clf, AutoBalancedClassifier)
    assert clf.best_technique_ == "smote"
    assert clf.best_params_["k_neighbors"] == 6
    assert_allclose(
        clf.predict_proba(X[:4])[:, 1],
        [
            0.03552002911094972,
            0.15521501402794022,
            0.5675639740369709,
            0.0020990130063045587,
        ],
        rtol=1e-9,
    )
    assert_allclose(clf.threshold_, 0.21109372416912073, rtol=1e-12)
    assert int(np.sum(clf.predict(X))) == 47
