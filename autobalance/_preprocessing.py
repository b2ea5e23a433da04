"""What the data looks like, and the preprocessing of the default portfolio.

The default models share one ``prepare`` step (fitted on training folds only):
categorical columns first, as ordinal codes (a missing value is a category of
its own), then numeric columns imputed with the median, with missing-value
indicators, and scaled. Samplers that must respect categories (the SMOTE family,
random over/under-sampling) act right after it, so SMOTENC/SMOTEN see real
category codes; each model then encodes as it needs (one-hot for logistic
regression, native categories for histogram gradient boosting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OrdinalEncoder,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["FeatureInfo", "describe_features", "make_default_algorithms"]

#: Rows from which the default extra trees grow 100 trees instead of 300 and
#: the default tree ensembles are grown to :func:`tree_leaf_cap` leaves: fully
#: grown trees take memory in proportion to the rows (300 of them, about 15
#: times the data on 75,000 rows x 20 features), and on such data 100 trees
#: ranked as well as 300 (benchmarks/README.md, "Scale").
LARGE_DATA_ROWS = 50_000

#: On large data a fitted tree ensemble may weigh at most this many times the
#: prepared data: its trees are grown best-first to at most
#: :func:`tree_leaf_cap` leaves each. Fully grown, the default extra trees
#: weigh about 5 times the data on 75,000 rows x 20 features (100 trees), and
#: 13 times after SMOTE, whose synthetic rows interleave with the majority.
LARGE_MODEL_FACTOR = 1.0
# A fitted binary tree has 2 L - 1 nodes for L leaves, each about 76 bytes
# (node record and class counts of a binary target; measured).
TREE_LEAF_BYTES = 160
# Fewer leaves than this would cripple the trees on narrow data.
MIN_TREE_LEAVES = 256

#: Built-in samplers that keep all the rows or add to them (over-sampling,
#: cleaning, both). Above :data:`LARGE_DATA_ROWS` rows histogram gradient
#: boosting is not paired with them: the sampler holds its input, a copy and
#: its output at once, then boosting copies the resampled rows to split off
#: its early-stopping rows. On 75,000 rows x 20 such refits
#: peaked at 4.5 to 5.5 times the data; class weights give boosting the same
#: emphasis on the minority without a copy.
ROW_KEEPING_SAMPLERS = (
    "random_over_sampler",
    "smote",
    "borderline_smote",
    "adasyn",
    "tomek_links",
    "edited_nearest_neighbours",
    "smote_tomek",
    "smote_enn",
)

#: Built-in samplers that act on a model's encoded rows (placement
#: ``"model"``): for logistic regression on a table with categorical columns,
#: its one-hot encoded rows, wider than the prepared data. Above
#: :data:`LARGE_DATA_ROWS` rows such tables do not pair them with logistic
#: regression: on 75,000 rows x 20 (3 categorical) those refits peaked at 4.3
#: to 5.7 times the float64 table.
ONE_HOT_SAMPLERS = ("cluster_centroids", "tomek_links", "edited_nearest_neighbours")

# Histogram gradient boosting bins categories into at most 255 codes.
MAX_NATIVE_CATEGORIES = 250


@dataclass(frozen=True)
class FeatureInfo:
    """Column kinds of the training data.

    ``categorical`` and ``numeric`` hold column names for DataFrames and
    positions for arrays. With ``by_position``, the ``prepare`` step selects
    the columns by their positions, ``categorical_at`` and ``numeric_at``: a
    ``ColumnTransformer`` reads integer column names as positions, so a
    DataFrame whose names are not all strings cannot be selected by name.
    """

    categorical: tuple = ()
    numeric: tuple = ()
    is_dataframe: bool = False
    is_sparse: bool = False
    has_nan: bool = False
    native_categorical: tuple = ()  # positions among the categorical block
    n_rows: int = 0
    # Positions of the categorical and numeric columns in X, used instead of
    # the names when these are not all strings.
    by_position: bool = False
    categorical_at: tuple = ()
    numeric_at: tuple = ()

    @property
    def n_categorical(self):
        return len(self.categorical)


def _is_categorical_dtype(dtype):
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )


def describe_features(X):
    """Kinds of columns, missing values and sparsity of ``X``.

    Raises a ``ValueError`` for column types no model here can use (dates,
    time spans) or infinite numeric values, naming the columns.
    """
    if sp.issparse(X):
        X = X.tocsr()
        nan = X.data.dtype.kind == "f" and np.isnan(X.data)
        has_nan = bool(np.any(nan))
        if has_nan and X.shape[0]:
            per_column = np.bincount(X.indices[nan], minlength=X.shape[1])
            _check_some_values(per_column == X.shape[0], range(X.shape[1]))
        return FeatureInfo(
            numeric=tuple(range(X.shape[1])),
            is_sparse=True,
            has_nan=has_nan,
            n_rows=X.shape[0],
        )
    if isinstance(X, pd.DataFrame):
        bad = [
            str(c)
            for c, t in X.dtypes.items()
            if pd.api.types.is_datetime64_any_dtype(t)
            or pd.api.types.is_timedelta64_dtype(t)
            or isinstance(t, pd.PeriodDtype)
        ]
        if bad:
            raise ValueError(
                f"Columns {bad} hold dates or time spans; turn them into numbers "
                "(e.g. day of week, days since an event) before fitting."
            )
        duplicated = X.columns[X.columns.duplicated()].unique().tolist()
        if duplicated:
            raise ValueError(
                f"Column names {duplicated} appear more than once in X; give every "
                "column a unique name (e.g. X.columns = [...] or "
                "X.loc[:, ~X.columns.duplicated()] to drop the repeats)."
            )
        kinds = [_is_categorical_dtype(t) for t in X.dtypes]
        categorical = tuple(c for c, k in zip(X.columns, kinds, strict=True) if k)
        numeric = tuple(c for c, k in zip(X.columns, kinds, strict=True) if not k)
        num = (
            X[list(numeric)].to_numpy(dtype=float, na_value=np.nan) if numeric else None
        )
        if num is not None and np.isinf(num).any():
            cols = [
                str(c)
                for c, v in zip(numeric, np.isinf(num).any(axis=0), strict=True)
                if v
            ]
            raise ValueError(
                f"Input X contains infinity in columns {cols}; replace it with a "
                "finite value or NaN."
            )
        missing = X.isna().to_numpy()
        _check_some_values(missing.all(axis=0), X.columns)
        has_nan = bool(missing.any())
        native = tuple(
            i
            for i, c in enumerate(categorical)
            if X[c].nunique(dropna=True) <= MAX_NATIVE_CATEGORIES
        )
        return FeatureInfo(
            categorical,
            numeric,
            True,
            False,
            has_nan,
            native,
            n_rows=len(X),
            by_position=not all(isinstance(c, str) for c in X.columns),
            categorical_at=tuple(np.flatnonzero(kinds).tolist()),
            numeric_at=tuple(np.flatnonzero(~np.asarray(kinds, dtype=bool)).tolist()),
        )
    arr = np.asarray(X)
    if arr.ndim != 2:
        return FeatureInfo()  # validate_data explains the expected shape
    if arr.dtype.kind in "OUS":
        hint = (
            "X is an array holding strings or objects; pass a pandas DataFrame "
            "so that categorical columns can be told apart from numeric ones."
        )
        try:
            arr = arr.astype(np.float64)
        except TypeError as exc:
            raise TypeError(f"{exc}. {hint}") from None
        except ValueError:
            raise ValueError(hint) from None
    has_nan = bool(arr.dtype.kind == "f" and np.isnan(arr).any())
    if has_nan:
        _check_some_values(np.isnan(arr).all(axis=0), range(arr.shape[1]))
    return FeatureInfo(
        numeric=tuple(range(arr.shape[1])), has_nan=has_nan, n_rows=arr.shape[0]
    )


def _check_some_values(empty, columns):
    """Refuse a table whose every column is missing in every row
    (``empty``: one flag per column)."""
    if len(empty) and np.all(empty):
        raise ValueError(
            f"Every column of X ({list(columns)[:10]}) is missing in every row, "
            "so there is nothing to learn from; pass columns that hold values."
        )


def _as_str(X):
    """Each cell as the string of its value; a missing value is a category of
    its own, ``"__missing__"``.

    Column by column through ``pd.factorize``: only the distinct values are
    turned into strings, and the cells refer to them. Converting every cell
    (``astype(str)``) made one Python string per cell, about the size of the
    whole float64 table for three columns on 75,000 rows, much of it kept by
    the allocator after use.
    """
    frame = (
        X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
    )
    out = np.empty(frame.shape, dtype=object)
    for j in range(frame.shape[1]):
        codes, uniques = pd.factorize(frame.iloc[:, j], use_na_sentinel=True)
        names = [str(u) for u in np.asarray(uniques, dtype=object)]
        # Code -1 (missing) picks the last entry.
        out[:, j] = np.asarray([*names, "__missing__"], dtype=object)[codes]
    return out


def _input_names(transformer, input_features):
    """The names of a fitted transformer's input columns: ``input_features``,
    else the names seen in ``fit``, else ``x0, x1, ...``."""
    check_is_fitted(transformer)
    if input_features is None:
        input_features = getattr(transformer, "feature_names_in_", None)
    if input_features is None:
        input_features = [f"x{i}" for i in range(transformer.n_features_in_)]
    if len(input_features) != transformer.n_features_in_:
        raise ValueError(
            f"input_features has {len(input_features)} names; the data had "
            f"{transformer.n_features_in_} columns."
        )
    return list(input_features)


class NumericPrepare(TransformerMixin, BaseEstimator):
    """Median imputation with missing-value indicators, then scaling, for
    all-numeric dense data: the ``prepare`` step of such tables.

    The same output as ``SimpleImputer(strategy="median", add_indicator=True)``
    followed by ``StandardScaler()``, computed column by column into a single
    output array scaled in place. ``SimpleImputer`` takes its medians over a
    masked copy of the whole table and sorts it, and ``StandardScaler`` makes
    a centred copy for the variance: together about four copies of the data
    at once, which on a large table is most of a refit's peak memory. Here the
    peak is the output plus one column. Not a ``Pipeline``: imbalanced-learn
    refuses nested pipelines as intermediate steps.

    Parameters
    ----------
    dtype : {np.float64, np.float32}, default=np.float64
        Of the output. On large data the pipelines of logistic regression and
        the tree ensembles ask for float32 here (:func:`prepare_for`), which
        halves the prepared and resampled copies and spares the forests'
        own float32 copy.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features_in_,)
        The median of each input column (NaN for an all-missing column, which
        is dropped, as ``SimpleImputer`` drops it).
    indicator_features_ : ndarray of int
        Input columns that had missing values in ``fit``; each gets an
        indicator column after the imputed columns.
    mean_, scale_ : ndarray of shape (n_features_out,)
        Centring and scaling of each output column (``scale_`` is 1 where a
        column is constant, as in ``StandardScaler``).

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance._preprocessing import NumericPrepare
    >>> X = np.array([[1.0, np.nan], [3.0, 2.0], [5.0, 4.0]])
    >>> NumericPrepare().fit_transform(X).shape  # 2 scaled + 1 indicator
    (3, 3)
    >>> NumericPrepare(dtype=np.float32).fit_transform(X).dtype
    dtype('float32')
    """

    def __init__(self, dtype=np.float64):
        self.dtype = dtype

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        n_cols = X.shape[1]
        statistics = np.empty(n_cols)
        missing = np.zeros(n_cols, dtype=bool)
        for j in range(n_cols):
            column = X[:, j]
            missing[j] = np.isnan(column).any()
            statistics[j] = np.nanmedian(column) if missing[j] else np.median(column)
        self.statistics_ = statistics
        self.indicator_features_ = np.flatnonzero(missing)
        out = self._impute(X)
        mean = np.empty(out.shape[1])
        scale = np.empty(out.shape[1])
        for j in range(out.shape[1]):
            mean[j] = out[:, j].mean(dtype=np.float64)
            scale[j] = out[:, j].std(dtype=np.float64)
        # StandardScaler's rule for constant columns.
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        self.mean_, self.scale_ = mean, scale
        return self._scale(out)

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False
        )
        return self._scale(self._impute(X))

    def _impute(self, X):
        kept = np.flatnonzero(~np.isnan(self.statistics_))
        indicators = self.indicator_features_
        out = np.empty((X.shape[0], len(kept) + len(indicators)), dtype=self.dtype)
        if len(kept) == X.shape[1]:
            out[:, : len(kept)] = X
        else:  # one column at a time: X[:, kept] would be another copy
            for i, j in enumerate(kept):
                out[:, i] = X[:, j]
        for i, j in enumerate(kept):
            column = out[:, i]
            hole = np.isnan(column)
            if hole.any():
                column[hole] = self.statistics_[j]
        for i, j in enumerate(indicators):
            out[:, len(kept) + i] = np.isnan(X[:, j])
        return out

    def _scale(self, out):
        out -= self.mean_
        out /= self.scale_
        return out

    def get_feature_names_out(self, input_features=None):
        names = np.asarray(_input_names(self, input_features), dtype=object)
        kept = names[~np.isnan(self.statistics_)]
        flags = [f"missingindicator_{n}" for n in names[self.indicator_features_]]
        return np.asarray([*kept, *flags], dtype=object)


def make_prepare(info):
    """The shared ``prepare`` step: categorical codes first, then numbers."""
    # Always a ColumnTransformer: imbalanced-learn pipelines refuse a nested
    # Pipeline as an intermediate step.
    if info.is_sparse:
        numeric = make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(with_mean=False, copy=False),
        )
        return ColumnTransformer(
            [("numeric", numeric, slice(0, None))], sparse_threshold=1.0
        )
    if not info.categorical:
        return NumericPrepare()
    transformers = []
    if info.categorical:
        transformers.append(
            (
                "categorical",
                make_pipeline(
                    FunctionTransformer(_as_str, feature_names_out="one-to-one"),
                    OrdinalEncoder(
                        handle_unknown="use_encoded_value",
                        unknown_value=-1,
                        dtype=np.float64,
                    ),
                ),
                list(info.categorical_at if info.by_position else info.categorical),
            )
        )
    if info.numeric:
        # The same numbers as SimpleImputer(strategy="median",
        # add_indicator=True) then StandardScaler(), at one copy of the block
        # instead of about four.
        numeric = info.numeric_at if info.by_position else info.numeric
        transformers.append(("numeric", NumericPrepare(), list(numeric)))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


class OneHotCodes(TransformerMixin, BaseEstimator):
    """One-hot encoding of the first ``n_codes`` columns (the category codes
    of the ``prepare`` step), the other columns passed through, into a single
    output array of the input's dtype: logistic regression's ``encode`` step
    on tables with categorical columns.

    The same output as a ``ColumnTransformer`` of ``OneHotEncoder(
    handle_unknown="ignore", sparse_output=False)`` on those columns with
    ``remainder="passthrough"``, which builds each block, copies the
    passthrough columns, then stacks them into a third array (2.9 times the
    prepared data at once on 75,000 rows x 20 columns; here, the output
    alone). A code not seen in ``fit`` (``-1``, an unknown category) encodes
    as all zeros.

    Parameters
    ----------
    n_codes : int
        Number of leading columns that hold category codes.

    Attributes
    ----------
    categories_ : list of ndarray
        The codes seen in ``fit``, sorted, for each code column.

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance._preprocessing import OneHotCodes
    >>> X = np.array([[0.0, 1.5], [2.0, -0.5], [0.0, 0.0]])
    >>> OneHotCodes(n_codes=1).fit(X).transform([[2.0, 9.0], [-1.0, 1.0]])
    array([[0., 1., 9.],
           [0., 0., 1.]])
    """

    def __init__(self, n_codes):
        self.n_codes = n_codes

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self.categories_ = [np.unique(X[:, j]) for j in range(self.n_codes)]
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        widths = [len(c) for c in self.categories_]
        # In the input's dtype: float32 on large data (see prepare_for), where
        # cleaning samplers act on these rows before logistic regression.
        out = np.zeros(
            (X.shape[0], sum(widths) + X.shape[1] - self.n_codes), dtype=X.dtype
        )
        rows = np.arange(X.shape[0])
        start = 0
        for j, codes in enumerate(self.categories_):
            position = np.minimum(np.searchsorted(codes, X[:, j]), len(codes) - 1)
            known = codes[position] == X[:, j]
            out[rows[known], start + position[known]] = 1.0
            start += len(codes)
        out[:, start:] = X[:, self.n_codes :]
        return out

    def get_feature_names_out(self, input_features=None):
        input_features = _input_names(self, input_features)
        names = [
            f"{input_features[j]}_{code:g}"
            for j, codes in enumerate(self.categories_)
            for code in codes
        ]
        names += list(input_features[self.n_codes :])
        return np.asarray(names, dtype=object)


def _one_hot(info):
    if not info.categorical:
        return "passthrough"
    return OneHotCodes(n_codes=info.n_categorical)


def tree_leaf_cap(n_rows, n_columns, n_trees):
    """``max_leaf_nodes`` for the trees of an ensemble of ``n_trees`` on
    ``n_rows`` x ``n_columns`` prepared data: ``None`` (grow fully) up to
    :data:`LARGE_DATA_ROWS` rows, else the leaves that keep the ensemble within
    :data:`LARGE_MODEL_FACTOR` times the data (at least :data:`MIN_TREE_LEAVES`).

    Examples
    --------
    >>> from autobalance._preprocessing import tree_leaf_cap
    >>> tree_leaf_cap(5_000, 20, 300) is None
    True
    >>> tree_leaf_cap(75_000, 20, 100)
    750
    """
    if n_rows <= LARGE_DATA_ROWS:
        return None
    data_bytes = n_rows * max(1, n_columns) * 8
    cap = int(LARGE_MODEL_FACTOR * data_bytes / (n_trees * TREE_LEAF_BYTES))
    return max(MIN_TREE_LEAVES, cap)


def prepare_for(model, prepare, n_rows):
    """``prepare`` with float32 output on more than :data:`LARGE_DATA_ROWS`
    rows when ``model`` gains from it; else ``prepare`` as it is.

    Over-samplers copy their input whole before appending new rows (about 3.5
    times the prepared data at once), and tree ensembles copy any input into
    float32. In float32, both weigh half: tree ensembles use it directly, and
    logistic regression's float64 copy of the resampled rows is smaller than
    the sampler's peak it saves. Histogram gradient boosting keeps float64:
    it copies its input to float64, then again for early stopping. Below
    :data:`LARGE_DATA_ROWS` rows the data stays float64 and results are
    unchanged to the last bit.

    ``prepare`` is a :class:`NumericPrepare` (all-numeric tables) or the
    ``ColumnTransformer`` of a table with categorical columns, whose codes
    and numbers then both come out in float32; the sparse ``prepare`` step is
    left as it is.

    Examples
    --------
    >>> from sklearn.ensemble import ExtraTreesClassifier
    >>> from autobalance._preprocessing import NumericPrepare, prepare_for
    >>> prepare_for(ExtraTreesClassifier(), NumericPrepare(), 100_000).dtype
    <class 'numpy.float32'>
    >>> prepare_for(ExtraTreesClassifier(), NumericPrepare(), 5_000).dtype
    <class 'numpy.float64'>
    """
    if n_rows <= LARGE_DATA_ROWS or not isinstance(
        # Balanced random forests are random forests.
        model,
        (ExtraTreesClassifier, RandomForestClassifier, LogisticRegression),
    ):
        return prepare
    if isinstance(prepare, NumericPrepare):
        return prepare.set_params(dtype=np.float32)
    if isinstance(prepare, ColumnTransformer):
        # A table with categorical columns: codes and numbers both in float32
        # (codes are exact in float32 up to 2 ** 24 categories), so the
        # stacked output is float32 too. Not the sparse prepare step.
        params = {}
        for name, step, _ in prepare.transformers:
            if isinstance(step, NumericPrepare):
                params[f"{name}__dtype"] = np.float32
            elif isinstance(step, Pipeline) and isinstance(
                step.steps[-1][1], OrdinalEncoder
            ):
                params[f"{name}__{step.steps[-1][0]}__dtype"] = np.float32
            else:
                return prepare
        return prepare.set_params(**params)
    return prepare


def make_default_algorithms(info=None):
    """The default portfolio, each model behind the shared ``prepare`` step."""
    from ._space import Algorithm

    info = info or FeatureInfo()

    def pipe(encode, model):
        prepare = prepare_for(model, make_prepare(info), info.n_rows)
        return Pipeline([("prepare", prepare), ("encode", encode), ("model", model)])

    algorithms = [
        Algorithm(
            "logistic_regression",
            pipe(_one_hot(info), LogisticRegression(max_iter=1000)),
            exclude_techniques=ONE_HOT_SAMPLERS
            if info.categorical and info.n_rows > LARGE_DATA_ROWS
            else (),
        ),
        Algorithm(
            "extra_trees",
            pipe("passthrough", ExtraTreesClassifier(n_estimators=300, n_jobs=1)),
            # Trials rank setups; 100 trees rank them nearly as well at a third
            # of the cost, and the refit grows the full forest.
            search_params={"model__n_estimators": 100},
        )
        if info.n_rows <= LARGE_DATA_ROWS
        else Algorithm(
            "extra_trees",
            pipe(
                "passthrough",
                ExtraTreesClassifier(
                    n_estimators=100,
                    max_leaf_nodes=tree_leaf_cap(
                        info.n_rows, len(info.numeric) + len(info.categorical), 100
                    ),
                    n_jobs=1,
                ),
            ),
        ),
    ]
    if not info.is_sparse:
        native = list(info.native_categorical) or None
        algorithms.append(
            Algorithm(
                "hist_gradient_boosting",
                pipe(
                    "passthrough",
                    HistGradientBoostingClassifier(categorical_features=native),
                ),
                exclude_techniques=ROW_KEEPING_SAMPLERS
                if info.n_rows > LARGE_DATA_ROWS
                else (),
            )
        )
    return algorithms
