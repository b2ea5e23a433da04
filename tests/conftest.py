import os

# Tests run in parallel (pytest-xdist): one OpenMP/BLAS thread per worker avoids
# oversubscribing the cores, which slows histogram gradient boosting badly.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import pytest
from sklearn.datasets import make_classification


def _binary():
    return make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        weights=[0.9],
        flip_y=0.01,
        random_state=0,
    )


@pytest.fixture
def binary_data():
    """300 rows, about 10 % positives, informative features (a fresh copy
    per test: a test may change them)."""
    return _binary()


@pytest.fixture(scope="session")
def binary_data_shared():
    """``binary_data`` for module-scoped fixtures that only read it."""
    return _binary()


@pytest.fixture
def multiclass_data():
    X, y = make_classification(
        n_samples=400,
        n_features=6,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        weights=[0.75, 0.17, 0.08],
        random_state=0,
    )
    return X, y


@pytest.fixture
def rng():
    return np.random.default_rng(0)
