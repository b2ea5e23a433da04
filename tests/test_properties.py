"""Property-based input suite: whatever table a user passes, ``fit`` either
gives a model that predicts, or refuses the data before the search.

Hypothesis draws the structure of each table (rows, column kinds, missing
fractions, column names, container, label type and class sizes); the values
come from a NumPy generator seeded by Hypothesis, so a falsifying example is
printed in full and reproduces exactly. Every bug found here also has a plain
regression test (``tests/test_mixed_data.py``).
"""

from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from autobalance import AutoBalancedClassifier
from autobalance._inputs import holds_missing
from autobalance._objective import Objective

COLUMN_KINDS = (
    "int",
    "float32",
    "float64",
    "bool",
    "category",
    "object",
    "string",
    "datetime",
    "all_nan",
)
NUMERIC_KINDS = ("int", "float32", "float64", "all_nan")
# Drawn less often: tables with dates, or with names of mixed types, are
# refused whatever else they hold.
COMMON_KINDS = tuple(k for k in COLUMN_KINDS if k != "datetime")
NAME_STYLES = ("strings", "strings", "integers", "duplicated", "mixed")
NEW_ROWS = 5


def _column(kind, n, nan_fraction, rng):
    holes = rng.random(n) < nan_fraction
    if kind == "int":
        return pd.Series(rng.integers(-5, 6, n))
    if kind in ("float32", "float64"):
        values = rng.normal(size=n).astype(kind)
        values[holes] = np.nan
        return pd.Series(values)
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if kind == "all_nan":
        return pd.Series(np.full(n, np.nan))
    words = rng.choice(["red", "green", "blue"], n).astype(object)
    words[holes] = None
    if kind == "category":
        return pd.Series(pd.Categorical(words))
    if kind == "string":
        return pd.Series(words, dtype="string")
    if kind == "object":
        return pd.Series(words, dtype=object)
    assert kind == "datetime"
    return pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "D"))


@st.composite
def problems(draw):
    """``(X, y, X_new)``: a table, its labels, and new rows of its schema."""
    n_classes = draw(st.sampled_from([2, 3, 4, 1]))
    label_type = draw(
        st.sampled_from(["int", "str", "bool"] if n_classes <= 2 else ["int", "str"])
    )
    minorities = draw(
        st.lists(st.integers(1, 50), min_size=n_classes - 1, max_size=n_classes - 1)
    )
    n_majority = draw(st.integers(1, 300 - sum(minorities)))
    counts = [n_majority, *minorities]
    n = sum(counts)

    n_columns = draw(st.integers(1, 5))
    kinds = draw(
        st.lists(
            st.sampled_from(COMMON_KINDS) | st.sampled_from(COLUMN_KINDS),
            min_size=n_columns,
            max_size=n_columns,
        )
    )
    nan_fraction = draw(st.sampled_from([0.0, 0.05, 0.5]))
    names = draw(st.sampled_from(NAME_STYLES))
    container = draw(st.sampled_from(["frame", "array", "sparse"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    total = n + NEW_ROWS
    frame = pd.concat(
        [_column(k, total, nan_fraction, rng) for k in kinds], axis=1, ignore_index=True
    )
    if names == "strings":
        frame.columns = [f"c{j}" for j in range(n_columns)]
    elif names == "integers":
        frame.columns = list(rng.permutation(n_columns) + 1)
    elif names == "mixed":
        frame.columns = [f"c{j}" if j % 2 else j for j in range(n_columns)]
    else:
        frame.columns = ["c0"] * n_columns

    if container != "frame":
        numeric = [j for j, k in enumerate(kinds) if k in NUMERIC_KINDS]
        if not numeric:
            container = "frame"
        else:
            values = frame.iloc[:, numeric].to_numpy(dtype=np.float64)
            frame = sparse.csr_matrix(values) if container == "sparse" else values

    labels = np.repeat(np.arange(n_classes), counts)[rng.permutation(n)]
    if label_type == "str":
        labels = np.array(["major", "minor", "rare", "tiny"])[labels]
    elif label_type == "bool":
        labels = labels.astype(bool)

    if isinstance(frame, pd.DataFrame):
        return frame.iloc[:n], labels, frame.iloc[n:]
    return frame[:n], labels, frame[n:]


ESTIMATORS = {"default": None, "logistic_regression": LogisticRegression()}


@pytest.mark.parametrize("name", list(ESTIMATORS))
@settings(
    derandomize=True,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(problem=problems())
def test_fit_predicts_or_refuses_before_the_search(name, problem):
    X, y, X_new = problem
    clf = AutoBalancedClassifier(
        ESTIMATORS[name], n_trials=3, cv=2, ensemble=False, random_state=0
    )
    trials = []
    run_trial = Objective.__call__

    def spy(self, trial):
        trials.append(trial.number)
        return run_trial(self, trial)

    with mock.patch.object(Objective, "__call__", spy):
        try:
            clf.fit(X, y)
        except (ValueError, TypeError):
            # Refusing the data is fine, but only before any trial runs.
            assert not trials, "the search started on data it then refused"
            event("refused")
            return
    event("fitted")
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    if name != "default" and holds_missing(X_new) and not holds_missing(X):
        # A model that takes no missing values, fitted without any: predict
        # refuses new ones, saying so (the default portfolio imputes them).
        with pytest.raises(ValueError, match="fill them before predicting"):
            clf.predict(X_new)
        return
    predicted = clf.predict(X_new)
    assert set(np.asarray(predicted).tolist()) <= set(clf.classes_.tolist())
    proba = clf.predict_proba(X_new)
    assert proba.shape == (X_new.shape[0], len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
