"""What a user's model does with the training data, checked before the search.

A ``Pipeline``'s tags cannot say whether its steps remove missing values
(scikit-learn tags every ``Pipeline`` ``allow_nan=False``, an imputing one
included), and no tag says whether a model takes text columns. So ``fit``
fits clones of each model's steps on a small sample of the rows (those with a
missing value and a few of each class) and looks at what comes out: whether
the rows a sampler would see (right before the final step, see
``_build.insert_sampler``) still hold missing values, and whether the model
can be fitted at all. A model that cannot is refused before any trial runs,
with the columns at fault and the fix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse as sp
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

__all__ = [
    "ModelInput",
    "check_model_input",
    "holds_missing",
    "missing_columns",
    "probe_rows",
    "sample",
]

#: Rows with a missing value in the sample a model is checked on (evenly spaced
#: among them), and rows of each class added to them, so that every class is
#: there (a model needs two classes to be fitted).
PROBE_MISSING_ROWS = 200
PROBE_ROWS_PER_CLASS = 50
# Columns named in an error message; more are counted.
MAX_NAMED_COLUMNS = 10


def _missing_mask(X):
    """Boolean (n_rows, n_columns) array of missing cells (dense), or the
    sparse matrix's rows and columns of NaN entries."""
    if sp.issparse(X):
        coo = X.tocoo()
        nan = np.isnan(coo.data) if coo.data.dtype.kind == "f" else []
        return coo.row[nan], coo.col[nan]
    if isinstance(X, pd.DataFrame):
        return X.isna().to_numpy()
    arr = np.asarray(X)
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype == object:
        return pd.isna(arr)
    return np.zeros(arr.shape, dtype=bool)


def holds_missing(X):
    """Whether ``X`` (array, DataFrame or sparse matrix) has a missing value."""
    mask = _missing_mask(X)
    if isinstance(mask, tuple):
        return len(mask[0]) > 0
    return bool(mask.any())


def missing_columns(X):
    """Columns of ``X`` holding a missing value: names for a DataFrame,
    positions for arrays and sparse matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance._inputs import missing_columns
    >>> missing_columns(np.array([[1.0, np.nan, 2.0], [np.nan, 1.0, 2.0]]))
    [0, 1]
    """
    mask = _missing_mask(X)
    if isinstance(mask, tuple):
        positions = np.unique(mask[1])
    else:
        positions = np.flatnonzero(mask.any(axis=0))
    if isinstance(X, pd.DataFrame):
        return [X.columns[j] for j in positions]
    return [int(j) for j in positions]


def describe_columns(columns):
    """``columns`` for a message: the first few, then how many more."""
    shown = [c if isinstance(c, (int, str)) else str(c) for c in columns]
    if len(shown) <= MAX_NAMED_COLUMNS:
        return repr(shown)
    rest = len(shown) - MAX_NAMED_COLUMNS
    return f"{shown[:MAX_NAMED_COLUMNS]!r} and {rest} more"


def probe_rows(X, y, classes):
    """Sorted indices of the rows a model is checked on: up to
    :data:`PROBE_MISSING_ROWS` rows with a missing value and up to
    :data:`PROBE_ROWS_PER_CLASS` rows of each class, evenly spaced."""
    mask = _missing_mask(X)
    if isinstance(mask, tuple):
        with_missing = np.unique(mask[0])
    else:
        with_missing = np.flatnonzero(mask.any(axis=1))
    picks = [_spaced(with_missing, PROBE_MISSING_ROWS)]
    for c in classes:
        picks.append(_spaced(np.flatnonzero(y == c), PROBE_ROWS_PER_CLASS))
    return np.unique(np.concatenate(picks))


def _spaced(rows, n):
    if len(rows) <= n:
        return rows
    return rows[np.linspace(0, len(rows) - 1, n).astype(int)]


@dataclass(frozen=True)
class ModelInput:
    """What one model does with the sampled rows.

    ``sampler_sees_missing``: the rows a sampler would be given still hold
    missing values. ``problem``: why the model cannot be trained on such
    data (``None`` when it can).
    """

    sampler_sees_missing: bool
    problem: str | None = None


def _first_line(exc):
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(exc).__name__}: {line[:200]}"


def _steps(estimator):
    from ._build import _flatten

    if isinstance(estimator, Pipeline):
        return _flatten(estimator.steps)
    return [("model", estimator)]


def _inspect(estimator, X, y, fit_model):
    steps = _steps(estimator)
    front, (_, final) = steps[:-1], steps[-1]
    after_first = None
    for i, (name, step) in enumerate(front):
        if step is not None and step != "passthrough":
            try:
                if hasattr(step, "fit_resample"):
                    X, y = clone(step).fit_resample(X, y)
                else:
                    X = clone(step).fit_transform(X, y)
            except Exception as exc:  # any failure: the model cannot be used
                return ModelInput(True, f"its step {name!r} raised {_first_line(exc)}")
        if i == 0:
            after_first = holds_missing(X)
    at_model = holds_missing(X)
    # A "prepared" sampler goes right after a first step named "prepare".
    sees = at_model or bool(front and front[0][0] == "prepare" and after_first)
    if isinstance(final, Pipeline):
        inner = _inspect(final, X, y, fit_model)
        return ModelInput(sees, inner.problem)
    if at_model and not get_tags(final).input_tags.allow_nan:
        model = type(final).__name__
        if front:
            problem = f"the steps before it leave missing values, which {model} "
            problem += "does not accept"
        else:
            problem = f"{model} does not accept missing values"
        return ModelInput(sees, problem)
    if fit_model:
        try:
            clone(final).fit(X, y)
        except Exception as exc:  # any failure: the model cannot be used
            return ModelInput(sees, f"{type(final).__name__} raised {_first_line(exc)}")
    return ModelInput(sees)


def check_model_input(estimator, X, y, *, fit_model=False):
    """Fit clones of ``estimator``'s steps on ``X, y`` (a small sample) and
    say what its sampler would see and whether it can be trained.

    Parameters
    ----------
    estimator : classifier or Pipeline
        A model of the portfolio, as the user gave it.
    X, y : array-like
        The sampled rows (see :func:`probe_rows`).
    fit_model : bool, default=False
        Also fit the final model on the output of the steps before it (for
        data whose column types a model may refuse, such as text columns);
        otherwise only its ``allow_nan`` tag is read.

    Returns
    -------
    ModelInput

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.impute import SimpleImputer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from autobalance._inputs import check_model_input
    >>> X = np.array([[0.0, np.nan], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> check_model_input(make_pipeline(SimpleImputer(), LogisticRegression()), X, y)
    ModelInput(sampler_sees_missing=False, problem=None)
    >>> check_model_input(make_pipeline(StandardScaler(), LogisticRegression()),
    ...                   X, y).problem
    'the steps before it leave missing values, which LogisticRegression does not accept'
    """
    with warnings.catch_warnings():
        # Convergence and similar warnings on a few hundred rows say nothing
        # about the search.
        warnings.simplefilter("ignore")
        return _inspect(estimator, X, y, fit_model)


def sample(X, y, rows):
    """``X`` and ``y`` restricted to ``rows`` (DataFrames stay DataFrames)."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows], np.asarray(y)[rows]
    if sp.issparse(X):
        return X.tocsr()[rows], np.asarray(y)[rows]
    return np.asarray(X)[rows], np.asarray(y)[rows]
