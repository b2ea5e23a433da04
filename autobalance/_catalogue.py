"""The built-in techniques and the default portfolio of algorithms.

Every entry is data: a name, a family, a builder and the parameters it exposes.
Builders and bounds are module-level functions so fitted estimators pickle.
"""

from __future__ import annotations

import math

import numpy as np
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import (
    ADASYN,
    SMOTE,
    SMOTEN,
    SMOTENC,
    BorderlineSMOTE,
    RandomOverSampler,
)
from imblearn.under_sampling import (
    ClusterCentroids,
    EditedNearestNeighbours,
    RandomUnderSampler,
    TomekLinks,
)
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import MiniBatchKMeans
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder

from ._preprocessing import (
    LARGE_DATA_ROWS,
    ONE_HOT_SAMPLERS,
    ROW_KEEPING_SAMPLERS,
    FeatureInfo,
    _one_hot,
    make_prepare,
    prepare_for,
    tree_leaf_cap,
)
from ._space import (
    Algorithm,
    CategoricalParam,
    FloatParam,
    IntParam,
    Technique,
    final_step,
)

__all__ = [
    "BUILTIN_TECHNIQUES",
    "default_algorithms",
    "get_technique",
    "technique_names",
]

MAX_NEIGHBORS = 10


# -- bounds that depend on the data ---------------------------------------------
def _k_high(ctx):
    # SMOTE-style samplers need k_neighbors < minority count in every training fold.
    return min(MAX_NEIGHBORS, ctx.minority_train - 1)


def _k_default(ctx):
    return 5


def _ratio_low(ctx):
    # A float sampling_strategy below the current minority/majority ratio would
    # ask an over-sampler to remove rows (imbalanced-learn raises); keep a margin
    # because the ratio varies a little between folds.
    return min(1.0, max(0.1, 1.25 * ctx.max_train_minority_ratio))


#: On more than :data:`LARGE_DATA_ROWS` rows an over-sampler may raise the
#: minority/majority ratio by at most this much (it adds at most this share of
#: the majority's rows to each smaller class): balancing 1 % positives doubles
#: the rows, and SMOTE's interpolation holds several copies of the new rows at
#: once, so a full balance peaked at about 8 times the rows it was given
#: (``bench_scale.py --fold-peaks``).
LARGE_OVERSAMPLING_STEP = 0.25


def _over_ratio_high(ctx):
    if ctx.refit_samples <= LARGE_DATA_ROWS:
        return 1.0
    return min(1.0, ctx.max_train_minority_ratio + LARGE_OVERSAMPLING_STEP)


class RatioStrategy:
    """A float ``sampling_strategy`` as a callable: every class is brought to
    at least (over-sampling) or the majority classes to at most
    (under-sampling) ``ratio`` times the extreme class count, computed on each
    training fold; a class already past its target is left as it is."""

    def __init__(self, ratio, mode):
        self.ratio = ratio
        self.mode = mode

    def __call__(self, y):
        labels, counts = np.unique(y, return_counts=True)
        if self.mode == "over":
            target = int(self.ratio * counts.max())
            return {k: max(int(c), target) for k, c in zip(labels, counts, strict=True)}
        # Only the classes above the target: a prototype generator (cluster
        # centroids) would replace any class it is given, even at its count.
        target = max(1, int(counts.min() / self.ratio))
        return {k: target for k, c in zip(labels, counts, strict=True) if c > target}

    def __repr__(self):
        return f"RatioStrategy(ratio={self.ratio!r}, mode={self.mode!r})"


def _strategy(ctx, value, mode):
    # A float goes through RatioStrategy for two classes too: imbalanced-learn
    # raises when a float asks an over-sampler for no more rows than the
    # minority has (or an under-sampler for more than the majority has), and
    # the folds of a screening or capped trial, which keep every minority row
    # up to a floor, can be that balanced already (60 and 60 rows at ratio 1).
    if not isinstance(value, float):
        return value
    return RatioStrategy(value, mode)


def _shrinkage_high(ctx):
    # Smoothing would turn category codes into impossible values.
    return 0.0 if ctx.categorical_positions else 1.0


def _numeric_only(ctx):
    reason = _needs_two_minority(ctx)
    if reason:
        return reason
    if ctx.categorical_positions:
        return "needs all-numeric features (the data has categorical columns)"
    return None


def _weight_high(ctx):
    return max(2.0, 2.0 * ctx.imbalance_ratio)


def _weight_default(ctx):
    return math.sqrt(max(ctx.imbalance_ratio, 1.0))


def _dense_only(ctx):
    if ctx.has_nan:
        return "cannot handle missing values"
    if ctx.is_sparse:
        return "needs dense input"
    return None


def _needs_two_minority(ctx):
    reason = _dense_only(ctx)
    if reason:
        return reason
    if ctx.minority_train < 2:
        return "needs at least 2 minority rows in every training fold"
    return None


def _sparse_ok_no_nan(ctx):
    return "cannot handle missing values" if ctx.has_nan else None


# Techniques whose ``requires`` rules out sparse input.
_DENSE_REQUIREMENTS = (_dense_only, _needs_two_minority, _numeric_only)

#: Growth of a fit's cost with the rows for samplers that search neighbours
#: among all rows (measured: ADASYN + extra trees, 40,000 -> 750,000 rows,
#: 4.3 s -> 320 s, i.e. rows ** 1.47).
NEIGHBOUR_COST_EXPONENT = 1.5

#: Rows above which the techniques whose cost grows faster than linearly with
#: the data (k-means centroids of the majority, nearest-neighbour cleaning of
#: every row) are left out of the default search, with a warning.
COSTLY_MAX_ROWS = 100_000
SIZE_REASON = "skipped above"


class _WithinRows:
    """``requires`` that also rules a technique out on more than ``max_rows``
    training rows (the refit), where its cost explodes."""

    def __init__(self, base, max_rows=None):
        self.base = base
        self.max_rows = max_rows

    def __call__(self, ctx):
        reason = self.base(ctx)
        if reason:
            return reason
        limit = COSTLY_MAX_ROWS if self.max_rows is None else self.max_rows
        if ctx.refit_samples > limit:
            return (
                f"{SIZE_REASON} {limit:,} rows (the data has "
                f"{ctx.refit_samples:,}): its cost grows faster than linearly with the "
                "rows"
            )
        return None


class _NumericOrSmall:
    """``requires`` that also rules SMOTE out on more than
    :data:`LARGE_DATA_ROWS` rows of data with categorical columns.

    There it would be SMOTENC (or SMOTEN), which encodes the whole table as a
    sparse matrix, resamples that and decodes it back: on 75,000 rows x 20
    columns (3 categorical) a refit peaked at 13 times the data, against 2.1
    for SMOTE on the same numbers.
    """

    def __init__(self, base):
        self.base = base

    def __call__(self, ctx):
        reason = self.base(ctx)
        if reason:
            return reason
        if ctx.categorical_positions and ctx.refit_samples > LARGE_DATA_ROWS:
            return (
                f"{SIZE_REASON} {LARGE_DATA_ROWS:,} rows with categorical columns "
                f"(the data has {ctx.refit_samples:,}): SMOTENC's sparse encoding of "
                "the whole table takes about 13 times its memory"
            )
        return None


def _base_requirement(requires):
    while hasattr(requires, "base"):
        requires = requires.base
    return requires


_RATIO = FloatParam("sampling_strategy", _ratio_low, 1.0, default=1.0, fallback="auto")
_OVER_RATIO = FloatParam(
    "sampling_strategy",
    _ratio_low,
    _over_ratio_high,
    default=_over_ratio_high,
    fallback="auto",
)
_K = IntParam("k_neighbors", 1, _k_high, default=_k_default)


# -- builders --------------------------------------------------------------------
def _smote(ctx, k_neighbors, sampling_strategy="auto"):
    """SMOTE, or the variant that keeps categories valid: SMOTENC when some
    columns are categorical, SMOTEN when all are."""
    strategy = _strategy(ctx, sampling_strategy, "over")
    common = {"sampling_strategy": strategy, "random_state": ctx.random_state}
    cats = list(ctx.categorical_positions)
    if cats and len(cats) == ctx.n_prepared_features:
        return SMOTEN(k_neighbors=k_neighbors, **common)
    if cats:
        return SMOTENC(categorical_features=cats, k_neighbors=k_neighbors, **common)
    return SMOTE(k_neighbors=k_neighbors, **common)


def _build_ros(ctx, sampling_strategy, shrinkage):
    return RandomOverSampler(
        sampling_strategy=_strategy(ctx, sampling_strategy, "over"),
        shrinkage=shrinkage,
        random_state=ctx.random_state,
    )


def _build_borderline(ctx, k_neighbors, kind, sampling_strategy):
    return BorderlineSMOTE(
        k_neighbors=k_neighbors,
        kind=kind,
        sampling_strategy=_strategy(ctx, sampling_strategy, "over"),
        random_state=ctx.random_state,
    )


def _build_adasyn(ctx, n_neighbors, sampling_strategy):
    return ADASYN(
        n_neighbors=n_neighbors,
        sampling_strategy=_strategy(ctx, sampling_strategy, "over"),
        random_state=ctx.random_state,
    )


def _build_rus(ctx, sampling_strategy):
    return RandomUnderSampler(
        sampling_strategy=_strategy(ctx, sampling_strategy, "under"),
        random_state=ctx.random_state,
    )


def _build_cc(ctx, sampling_strategy):
    return ClusterCentroids(
        sampling_strategy=_strategy(ctx, sampling_strategy, "under"),
        estimator=MiniBatchKMeans(n_init=3, random_state=ctx.random_state),
        # With categorical codes, keep real rows (nearest to each centroid)
        # rather than centroids, whose codes would be impossible categories.
        voting="hard" if ctx.categorical_positions else "auto",
        random_state=ctx.random_state,
    )


def _build_tomek(ctx):
    return TomekLinks()


class IntegerLabels(BaseEstimator):
    """Runs ``sampler`` on integer-coded labels and decodes them after.

    imbalanced-learn's edited nearest neighbours with ``kind_sel="mode"`` calls
    ``scipy.stats.mode`` on the labels, which refuses strings.
    """

    def __init__(self, sampler):
        self.sampler = sampler

    def fit_resample(self, X, y, **params):
        encoder = LabelEncoder().fit(y)
        self.sampler_ = clone(self.sampler)
        X_res, y_res = self.sampler_.fit_resample(X, encoder.transform(y), **params)
        return X_res, encoder.inverse_transform(y_res)


def _build_enn(ctx, n_neighbors, kind_sel):
    enn = EditedNearestNeighbours(n_neighbors=n_neighbors, kind_sel=kind_sel)
    return enn if ctx.classes.dtype.kind in "biuf" else IntegerLabels(enn)


def _build_smote_tomek(ctx, k_neighbors, sampling_strategy):
    return SMOTETomek(
        smote=_smote(ctx, k_neighbors, sampling_strategy), random_state=ctx.random_state
    )


def _build_smote_enn(ctx, k_neighbors, sampling_strategy):
    return SMOTEENN(
        smote=_smote(ctx, k_neighbors, sampling_strategy), random_state=ctx.random_state
    )


def _build_balanced(ctx):
    return "balanced"


def _build_custom_weight(ctx, ratio):
    """Minority-to-majority weight ``ratio``; with several classes each class
    gets ``(n_max / n_c) ** p`` with ``p`` chosen so the rarest gets ``ratio``."""
    counts = ctx.class_counts
    n_max = counts.max()
    ir = n_max / counts.min()
    power = 0.0 if ir <= 1 else math.log(ratio) / math.log(ir)
    return {
        cls: float((n_max / c) ** power)
        for cls, c in zip(ctx.classes.tolist(), counts, strict=True)
    }


def _build_brf(ctx):
    n_columns = ctx.n_prepared_features or ctx.n_features
    # On large data, as the default extra trees: 100 trees, which rank as well.
    n_trees = 300 if ctx.refit_samples <= LARGE_DATA_ROWS else 100
    return BalancedRandomForestClassifier(
        n_estimators=n_trees,
        # The fitted forest holds each tree twice (in ``estimators_`` and, as
        # a separate copy, in ``pipelines_``).
        max_leaf_nodes=tree_leaf_cap(ctx.refit_samples, n_columns, 2 * n_trees),
        sampling_strategy="all",
        replacement=True,
        bootstrap=False,
        n_jobs=1,
        random_state=ctx.random_state,
    )


def _build_easy(ctx):
    return EasyEnsembleClassifier(n_estimators=10, random_state=ctx.random_state)


BUILTIN_TECHNIQUES = (
    Technique(
        "none",
        "baseline",
        "none",
        description="The model as it is: the protected baseline.",
    ),
    Technique(
        "random_over_sampler",
        "over-sampling",
        "sampler",
        _build_ros,
        params=(
            _OVER_RATIO,
            FloatParam(
                "shrinkage",
                0.01,
                _shrinkage_high,
                default=None,
                log=True,
                nullable=True,
                fallback=None,
            ),
        ),
        requires=_sparse_ok_no_nan,
        placement="prepared",
        description="Duplicate minority rows at random, optionally smoothed.",
    ),
    Technique(
        "smote",
        "over-sampling",
        "sampler",
        _smote,
        params=(_K, _OVER_RATIO),
        requires=_NumericOrSmall(_needs_two_minority),
        placement="prepared",
        description="Interpolate new minority rows between neighbours.",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "borderline_smote",
        "over-sampling",
        "sampler",
        _build_borderline,
        params=(
            _K,
            CategoricalParam("kind", ("borderline-1", "borderline-2")),
            _OVER_RATIO,
        ),
        requires=_numeric_only,
        placement="prepared",
        description="SMOTE focused on minority rows near the class border.",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "adasyn",
        "over-sampling",
        "sampler",
        _build_adasyn,
        params=(IntParam("n_neighbors", 1, _k_high, default=_k_default), _OVER_RATIO),
        requires=_numeric_only,
        placement="prepared",
        description="Generate more synthetic rows where the minority is hard to learn.",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "random_under_sampler",
        "under-sampling",
        "sampler",
        _build_rus,
        params=(_RATIO,),
        requires=_sparse_ok_no_nan,
        placement="prepared",
        description="Drop majority rows at random.",
    ),
    Technique(
        "cluster_centroids",
        "under-sampling",
        "sampler",
        _build_cc,
        params=(_RATIO,),
        requires=_WithinRows(_dense_only),
        description="Replace the majority by k-means centroids (mini-batch).",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "tomek_links",
        "under-sampling",
        "sampler",
        _build_tomek,
        requires=_WithinRows(_dense_only),
        description="Remove majority rows of Tomek links (cleaning).",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "edited_nearest_neighbours",
        "under-sampling",
        "sampler",
        _build_enn,
        params=(
            IntParam("n_neighbors", 2, 7, default=3),
            CategoricalParam("kind_sel", ("all", "mode")),
        ),
        requires=_WithinRows(_dense_only),
        description="Remove majority rows that disagree with their neighbours.",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "smote_tomek",
        "combined",
        "sampler",
        _build_smote_tomek,
        params=(_K, _OVER_RATIO),
        requires=_WithinRows(_NumericOrSmall(_needs_two_minority)),
        placement="prepared",
        description="SMOTE, then remove Tomek links.",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "smote_enn",
        "combined",
        "sampler",
        _build_smote_enn,
        params=(_K, _OVER_RATIO),
        requires=_WithinRows(_NumericOrSmall(_needs_two_minority)),
        placement="prepared",
        description="SMOTE, then clean with edited nearest neighbours.",
        cost_exponent=NEIGHBOUR_COST_EXPONENT,
    ),
    Technique(
        "balanced_class_weight",
        "class-weight",
        "class_weight",
        _build_balanced,
        description="Weigh classes inversely to their frequency.",
    ),
    Technique(
        "custom_class_weight",
        "class-weight",
        "class_weight",
        _build_custom_weight,
        params=(
            FloatParam("ratio", 1.0, _weight_high, default=_weight_default, log=True),
        ),
        description="Weigh the minority `ratio` times the majority.",
    ),
    Technique(
        "balanced_random_forest",
        "ensemble",
        "estimator",
        _build_brf,
        requires=_sparse_ok_no_nan,
        search_params={"n_estimators": 100},
        description="Random forest with each tree grown on a balanced bootstrap.",
    ),
    Technique(
        "easy_ensemble",
        "ensemble",
        "estimator",
        _build_easy,
        requires=_sparse_ok_no_nan,
        search_params={"n_estimators": 5},
        description="AdaBoost learners, each on a balanced random subset.",
    ),
)

_BY_NAME = {t.name: t for t in BUILTIN_TECHNIQUES}


def technique_names():
    """Names of the built-in techniques, in catalogue order.

    Examples
    --------
    >>> from autobalance import technique_names
    >>> technique_names()[:3]
    ['none', 'random_over_sampler', 'smote']
    """
    return list(_BY_NAME)


def get_technique(name):
    """The built-in :class:`Technique` called ``name``.

    Examples
    --------
    >>> from autobalance import get_technique
    >>> get_technique("smote").family
    'over-sampling'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"Unknown technique {name!r}. Built-in techniques are: "
            f"{', '.join(_BY_NAME)}; or pass a Technique or a sampler object."
        ) from None


#: The default portfolio's own parameter spaces (``set_params`` names of its
#: pipelines). Each default is the model's value before these were searched,
#: so the first trials are the setups searched before (``l2_regularization``
#: starts at 1e-6, no regularisation in effect: a log range cannot hold 0).
#: Ranges stay where a fit costs about what the default costs: at most twice
#: the leaves of boosting, and the extra trees' features up to all of them
#: (random thresholds make each split cheap).
LOGISTIC_REGRESSION_PARAMS = (FloatParam("model__C", 1e-3, 1e2, default=1.0, log=True),)
EXTRA_TREES_PARAMS = (
    CategoricalParam("model__max_features", ("sqrt", 0.5, 1.0)),
    IntParam("model__min_samples_leaf", 1, 16, default=1, log=True),
)
HIST_GRADIENT_BOOSTING_PARAMS = (
    FloatParam("model__learning_rate", 0.01, 0.3, default=0.1, log=True),
    IntParam("model__max_leaf_nodes", 7, 63, default=31, log=True),
    FloatParam("model__l2_regularization", 1e-6, 10.0, default=1e-6, log=True),
    IntParam("model__min_samples_leaf", 5, 100, default=20, log=True),
)
#: Parameters of the large-data extra trees that the memory rules set.
LARGE_EXTRA_TREES_FIXED = (
    (
        "model__max_leaf_nodes",
        f"on more than {LARGE_DATA_ROWS:,} rows it caps the leaves so that the "
        "forest stays within memory",
    ),
    (
        "model__n_estimators",
        f"on more than {LARGE_DATA_ROWS:,} rows the forest has 100 trees to "
        "stay within memory",
    ),
)


#: How histogram gradient boosting's fit time grows with its rows. Its
#: iterations are capped (``max_iter``): below 10,000 rows every one runs,
#: above them early stopping ends sooner, and each costs about the rows it
#: bins, less with threads; so a refit predicted linearly from a search fold
#: errs long, where ``rows ** 1.15`` predicted 11.4 s for a refit on 412,000
#: rows that took 4.7 (folds of 6,942 rows, one busy core). Measured from
#: 7,000 and 40,000 rows to 700,000 (``make_classification``, 1 % positives,
#: with and without class weights): 0.64 to 0.95.
HIST_GRADIENT_BOOSTING_COST_EXPONENT = 1.0


def model_cost_exponent(estimator):
    """The ``cost_exponent`` of a user's model (a pipeline's final model
    counts, as for :attr:`Algorithm.final_estimator`):
    :data:`HIST_GRADIENT_BOOSTING_COST_EXPONENT` for histogram gradient
    boosting, else ``None`` (the default).

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> model_cost_exponent(HistGradientBoostingClassifier())
    1.0
    >>> model_cost_exponent(LogisticRegression()) is None
    True
    """
    if isinstance(final_step(estimator), HistGradientBoostingClassifier):
        return HIST_GRADIENT_BOOSTING_COST_EXPONENT
    return None


def default_algorithms(info=None):
    """The default portfolio: logistic regression, extra trees and histogram
    gradient boosting, each behind a shared ``prepare`` step (imputation,
    categorical codes, scaling) fitted on training folds only.

    Scaling is harmless for the trees and lets neighbour-based samplers measure
    distances on comparable features.

    Examples
    --------
    >>> from autobalance import default_algorithms
    >>> [a.name for a in default_algorithms()]
    ['logistic_regression', 'extra_trees', 'hist_gradient_boosting']

    Each model declares its own parameter space, searched with the
    technique:

    >>> [p.name for p in default_algorithms()[0].params]
    ['model__C']
    """
    return make_default_algorithms(info)


def make_default_algorithms(info=None):
    """The default portfolio, each model behind the shared ``prepare`` step."""
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
            params=LOGISTIC_REGRESSION_PARAMS,
        ),
        Algorithm(
            "extra_trees",
            pipe("passthrough", ExtraTreesClassifier(n_estimators=300, n_jobs=1)),
            # Trials rank setups; 100 trees rank them nearly as well at a third
            # of the cost, and the refit grows the full forest.
            search_params={"model__n_estimators": 100},
            params=EXTRA_TREES_PARAMS,
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
            params=EXTRA_TREES_PARAMS,
            pinned_params=LARGE_EXTRA_TREES_FIXED,
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
                params=HIST_GRADIENT_BOOSTING_PARAMS,
                cost_exponent=HIST_GRADIENT_BOOSTING_COST_EXPONENT,
            )
        )
    return algorithms
