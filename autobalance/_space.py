"""The search space: techniques and algorithms declared as data.

Nothing in this module sees a study or the training rows. A
:class:`SearchContext` summarises what the space needs to know about the data
(class counts in the smallest training fold, whether values are missing, ...)
and :class:`SearchSpace` turns the catalogue into a conditional Optuna space
for that context: techniques that cannot apply are left out with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.utils.validation import has_fit_parameter

from ._build import (  # noqa: F401  (importable from here as before)
    _set_random_states,
    build_pipeline,
    clone_algorithm,
    shared_prepare,
)

__all__ = [
    "Algorithm",
    "CategoricalParam",
    "Config",
    "FloatParam",
    "IntParam",
    "SearchContext",
    "SearchSpace",
    "Technique",
]

FAMILIES = (
    "baseline",
    "over-sampling",
    "under-sampling",
    "combined",
    "class-weight",
    "ensemble",
    "custom",
)
KINDS = ("none", "sampler", "class_weight", "estimator")

# Marks a parameter whose range may be empty: then the technique cannot apply.
REQUIRED = object()


# --------------------------------------------------------------------------
# Context
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchContext:
    """What the search space needs to know about one training set.

    Parameters
    ----------
    classes : ndarray
        The class labels, sorted.
    class_counts : ndarray of int
        Number of rows of each class in the rows the search cross-validates
        on (a stratified subsample of the training set on large data, see
        ``max_search_samples``; otherwise the whole training set).
    min_train_counts : ndarray of int
        For each class, its smallest count over the CV training folds. Neighbour
        counts are bounded by these so that no trial fails on a small fold.
    max_train_minority_ratio : float
        Largest ``n_minority / n_majority`` over the training folds (binary
        only); a float ``sampling_strategy`` must not go below it.
    n_samples, n_features : int
        Shape of the rows the search cross-validates on.
    has_nan : bool
        Whether the rows the samplers see hold missing values: ``X`` has some
        and no model removes them before its sampler (the default portfolio's
        ``prepare`` step and a user pipeline's imputer do).
    is_sparse : bool
        Whether ``X`` is a sparse matrix.
    random_state : int
        Seed given to every sampler and model built from this context.
    categorical_positions : tuple of int
        Positions of categorical codes in what a ``"prepared"`` sampler sees
        (the default portfolio's ``prepare`` step puts them first).
    n_prepared_features : int
        Number of columns a ``"prepared"`` sampler sees (before missing-value
        indicators).
    refit_class_counts : ndarray of int or None
        Number of rows of each class in the whole training set, which the
        chosen setup is refitted on; ``None`` when the search used every row
        (then it is ``class_counts``). Size limits of costly techniques and
        models apply to these rows (:attr:`refit_samples`).

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance import SearchContext
    >>> ctx = SearchContext(classes=np.array([0, 1]), class_counts=np.array([90, 10]),
    ...                     min_train_counts=np.array([60, 6]),
    ...                     max_train_minority_ratio=0.12, n_samples=100, n_features=5)
    >>> ctx.imbalance_ratio, ctx.minority_train, ctx.is_binary
    (9.0, 6, True)
    """

    classes: np.ndarray
    class_counts: np.ndarray
    min_train_counts: np.ndarray
    max_train_minority_ratio: float
    n_samples: int
    n_features: int
    has_nan: bool = False
    is_sparse: bool = False
    random_state: int = 0
    categorical_positions: tuple = ()
    n_prepared_features: int = 0
    refit_class_counts: np.ndarray | None = None

    @property
    def refit_counts(self) -> np.ndarray:
        """Rows of each class the chosen setup is refitted on."""
        if self.refit_class_counts is None:
            return self.class_counts
        return self.refit_class_counts

    @property
    def refit_samples(self) -> int:
        """Rows the chosen setup is refitted on (every training row)."""
        if self.refit_class_counts is None:
            return self.n_samples
        return int(np.sum(self.refit_class_counts))

    @property
    def subsampled(self) -> bool:
        """Whether the search ran on a subsample of the training rows."""
        return self.refit_samples != self.n_samples

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def is_binary(self) -> bool:
        return self.n_classes == 2

    @property
    def n_minority(self) -> int:
        return int(self.class_counts.min())

    @property
    def minority_train(self) -> int:
        """Smallest count of any class in any CV training fold."""
        return int(self.min_train_counts.min())

    @property
    def imbalance_ratio(self) -> float:
        return float(self.class_counts.max() / self.class_counts.min())

    @property
    def minority_class(self):
        return self.classes[int(np.argmin(self.class_counts))]


def _resolve(value, ctx):
    return value(ctx) if callable(value) else value


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class IntParam:
    """An integer parameter; bounds may be callables of the context.

    If the range is empty for a context, the parameter takes ``fallback``; when
    ``fallback`` is left at its default the technique cannot apply.

    Examples
    --------
    A neighbour count bounded by the minority rows of the smallest training
    fold:

    >>> import numpy as np
    >>> from autobalance import SearchContext
    >>> ctx = SearchContext(classes=np.array([0, 1]), class_counts=np.array([90, 10]),
    ...                     min_train_counts=np.array([60, 6]),
    ...                     max_train_minority_ratio=0.12, n_samples=100, n_features=5)
    >>> from autobalance import IntParam
    >>> k = IntParam("k_neighbors", 1, lambda ctx: ctx.minority_train - 1, default=5)
    >>> k.bounds(ctx), k.default_value(ctx)
    ((1, 5), 5)
    """

    name: str
    low: Any
    high: Any
    default: Any = None
    log: bool = False
    fallback: Any = REQUIRED

    def bounds(self, ctx):
        return int(_resolve(self.low, ctx)), int(_resolve(self.high, ctx))

    def is_empty(self, ctx):
        low, high = self.bounds(ctx)
        return high < low

    def suggest(self, trial, key, ctx):
        low, high = self.bounds(ctx)
        if high < low:
            return self.fallback
        if low == high:
            return low
        return trial.suggest_int(key, low, high, log=self.log)

    def default_value(self, ctx):
        low, high = self.bounds(ctx)
        if high < low:
            return self.fallback
        default = _resolve(self.default, ctx)
        default = low if default is None else default
        return int(min(max(default, low), high))

    def optuna_items(self, key, value, ctx):
        low, high = self.bounds(ctx)
        return {} if high <= low else {key: value}


@dataclass(frozen=True)
class FloatParam:
    """A float parameter; bounds may be callables of the context.

    ``nullable=True`` adds the choice ``None`` (for example, no shrinkage):
    Optuna first picks ``<key>_set`` in ``(False, True)``, then the float.

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance import SearchContext
    >>> ctx = SearchContext(classes=np.array([0, 1]), class_counts=np.array([90, 10]),
    ...                     min_train_counts=np.array([60, 6]),
    ...                     max_train_minority_ratio=0.12, n_samples=100, n_features=5)
    >>> import optuna
    >>> from autobalance import FloatParam
    >>> shrinkage = FloatParam("shrinkage", 0.01, 1.0, log=True, nullable=True)
    >>> shrinkage.default_value(ctx) is None
    True
    >>> trial = optuna.trial.FixedTrial({"ros__shrinkage_set": True,
    ...                                  "ros__shrinkage": 0.2})
    >>> shrinkage.suggest(trial, "ros__shrinkage", ctx)
    0.2
    """

    name: str
    low: Any
    high: Any
    default: Any = None
    log: bool = False
    nullable: bool = False
    fallback: Any = REQUIRED

    def bounds(self, ctx):
        return float(_resolve(self.low, ctx)), float(_resolve(self.high, ctx))

    def is_empty(self, ctx):
        low, high = self.bounds(ctx)
        return not high > low

    def suggest(self, trial, key, ctx):
        low, high = self.bounds(ctx)
        if not high > low:
            return self.fallback
        if self.nullable and not trial.suggest_categorical(f"{key}_set", (False, True)):
            return None
        return trial.suggest_float(key, low, high, log=self.log)

    def default_value(self, ctx):
        low, high = self.bounds(ctx)
        if not high > low:
            return self.fallback
        default = _resolve(self.default, ctx)
        if default is None:
            return None if self.nullable else low
        return float(min(max(default, low), high))

    def optuna_items(self, key, value, ctx):
        low, high = self.bounds(ctx)
        if not high > low:
            return {}
        if self.nullable:
            if value is None:
                return {f"{key}_set": False}
            return {f"{key}_set": True, key: value}
        return {key: value}


@dataclass(frozen=True)
class CategoricalParam:
    """A parameter chosen from a fixed tuple of values.

    Examples
    --------
    >>> from autobalance import CategoricalParam
    >>> kind = CategoricalParam("kind", ("borderline-1", "borderline-2"))
    >>> kind.default_value(None)
    'borderline-1'
    """

    name: str
    choices: tuple
    default: Any = None
    fallback: Any = REQUIRED

    def is_empty(self, ctx):
        return len(self.choices) == 0

    def suggest(self, trial, key, ctx):
        if len(self.choices) == 1:
            return self.choices[0]
        return trial.suggest_categorical(key, self.choices)

    def default_value(self, ctx):
        return self.choices[0] if self.default is None else self.default

    def optuna_items(self, key, value, ctx):
        return {} if len(self.choices) <= 1 else {key: value}


# --------------------------------------------------------------------------
# Techniques and algorithms
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Technique:
    """One remedy for class imbalance, declared as data.

    Parameters
    ----------
    name : str
        Unique, readable name (``"smote"``); used in results.
    family : str
        One of ``"baseline"``, ``"over-sampling"``, ``"under-sampling"``,
        ``"combined"``, ``"class-weight"``, ``"ensemble"``, ``"custom"``.
    kind : str
        How the technique acts on the model:

        - ``"none"``: the model as it is;
        - ``"sampler"``: ``build`` returns an imbalanced-learn sampler, placed
          in front of the model's final step so it only sees training folds;
        - ``"class_weight"``: ``build`` returns a ``class_weight`` value, set on
          the model, or turned into ``sample_weight`` when it has none;
        - ``"estimator"``: ``build`` returns a classifier that replaces the
          model (for example a balanced random forest).
    build : callable, default=None
        ``build(context, **params)`` returns the object described by ``kind``.
    params : tuple of IntParam, FloatParam or CategoricalParam
        Parameters exposed to Optuna; they exist only when this technique is
        chosen.
    requires : callable, default=None
        ``requires(context)`` returns ``None`` when the technique applies, or a
        sentence saying why it does not.
    description : str
        One line for reports.
    search_params : dict, default={}
        For ``kind="estimator"``: ``set_params`` values used while searching
        only (e.g. fewer trees); the refit uses the full model.
    placement : {"model", "prepared"}, default="model"
        Where a sampler goes in a ``Pipeline``: right before the final model
        (``"model"``, on fully encoded features), or right after a first step
        named ``"prepare"`` when there is one (``"prepared"``: the default
        portfolio's imputed, scaled features with categories as codes, which
        SMOTENC and random samplers need).
    cost_exponent : float or None, default=None
        How the cost of a fit grows with the rows, ``cost ~ rows **
        cost_exponent``, used to predict the refit time on all rows from the
        search's folds under a ``timeout``. ``None``: 1.15 (tree and boosting
        fits); samplers that search neighbours among all rows grow faster
        (1.5 for the built-in ones).

    Examples
    --------
    >>> from imblearn.over_sampling import RandomOverSampler
    >>> from autobalance import Technique, FloatParam
    >>> def build(ctx, shrinkage):
    ...     return RandomOverSampler(shrinkage=shrinkage, random_state=ctx.random_state)
    >>> t = Technique("smoothed_ros", "over-sampling", "sampler", build,
    ...               params=(FloatParam("shrinkage", 0.05, 1.0, default=0.1),))
    >>> t.name
    'smoothed_ros'
    """

    name: str
    family: str
    kind: str
    build: Callable[..., Any] | None = None
    params: tuple = ()
    requires: Callable[[SearchContext], str | None] | None = None
    description: str = ""
    placement: str = "model"
    search_params: dict = field(default_factory=dict)
    cost_exponent: float | None = None

    def __post_init__(self):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(
                f"Technique name {self.name!r} must be lower-case letters, digits "
                "and underscores, starting with a letter (for example 'my_sampler')."
            )
        if self.family not in FAMILIES:
            raise ValueError(
                f"Technique {self.name!r} has family {self.family!r}; use one of "
                f"{FAMILIES}."
            )
        if self.kind not in KINDS:
            raise ValueError(
                f"Technique {self.name!r} has kind {self.kind!r}; use one of {KINDS}."
            )
        if self.placement not in ("model", "prepared"):
            raise ValueError(
                f"Technique {self.name!r} has placement {self.placement!r}; use "
                "'model' or 'prepared'."
            )
        if self.kind != "none" and self.build is None:
            raise ValueError(
                f"Technique {self.name!r} of kind {self.kind!r} needs a build."
            )

    def key(self, param_name):
        """The Optuna name of a parameter: unique across techniques."""
        return f"{self.name}__{param_name}"

    def why_not(self, ctx):
        """``None`` if the technique applies to ``ctx``, else the reason."""
        if self.requires is not None:
            reason = self.requires(ctx)
            if reason:
                return reason
        for p in self.params:
            if p.fallback is REQUIRED and p.is_empty(ctx):
                return f"parameter {p.name!r} has no valid value for this data"
        return None

    def suggest(self, trial, ctx):
        return {p.name: p.suggest(trial, self.key(p.name), ctx) for p in self.params}

    def default_params(self, ctx):
        return {p.name: p.default_value(ctx) for p in self.params}

    def optuna_params(self, params, ctx):
        """The Optuna parameters that reproduce ``params`` (for enqueueing)."""
        out = {}
        for p in self.params:
            out.update(p.optuna_items(self.key(p.name), params[p.name], ctx))
        return out

    def make(self, ctx, params):
        if self.build is None:
            return None
        return self.build(ctx, **params)


#: Model parameters a search never tunes, and why: techniques and the seeds
#: set them.
SET_BY_SEARCH = {
    "class_weight": (
        "the class-weight techniques set it (balanced_class_weight, "
        "custom_class_weight); leave class weights to the technique search"
    ),
    "random_state": (
        "the search seeds every model from the estimator's random_state; set "
        "random_state on AutoBalancedClassifier instead"
    ),
}

_PARAM_TYPES = ("IntParam", "FloatParam", "CategoricalParam")


def final_step(estimator):
    """The model at the end of ``estimator``'s pipelines (nested ones too),
    or ``estimator`` itself."""
    while isinstance(estimator, SkPipeline):
        estimator = estimator.steps[-1][1]
    return estimator


@dataclass(frozen=True)
class Algorithm:
    """A named model of the portfolio (the tutorial's "change the algorithm").

    ``search_params`` are ``set_params`` values used while searching only (a
    cheaper fidelity, e.g. fewer trees); the refit uses ``estimator`` as is.
    ``exclude_techniques`` names techniques never paired with this model (for
    example samplers whose copies, next to the model's own, would not fit in
    memory); they still apply to the other models.

    ``params`` is the model's own parameter space: :class:`IntParam`,
    :class:`FloatParam` or :class:`CategoricalParam` whose names are
    ``set_params`` names of ``estimator`` (step-prefixed for a ``Pipeline``,
    ``"model__C"``). They are searched jointly with the technique, only when
    this model is chosen, under the Optuna names ``"<name>__<param>"``
    (:meth:`key`), which are also their keys in ``best_params_`` and
    ``cv_results_``. Each parameter's ``default`` is the value of the first
    trials (``None``: the estimator's own value, if in range). A parameter
    the search fidelity (``search_params``), a technique (``class_weight``)
    or the seeds (``random_state``) set cannot be declared, nor one named in
    ``pinned_params``: ``(name, reason)`` pairs of parameters the package
    sets by rule (for example a leaf cap that bounds memory on large data).

    ``cost_exponent`` says how the model's fit time grows with its rows,
    ``cost ~ rows ** cost_exponent``, for a timed ``fit`` to predict folds
    and the refit on every row from the search's smaller folds (``None``:
    1.15, tree fits; a technique's own exponent, a sampler that searches
    neighbours, comes first). A model whose cost grows more slowly (boosting
    with capped iterations and early stopping on large data) declares a
    smaller one, and a timed fit then refits it on more rows.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from autobalance import Algorithm, FloatParam
    >>> algo = Algorithm("scaled_lr",
    ...                  make_pipeline(StandardScaler(), LogisticRegression()),
    ...                  params=(FloatParam("logisticregression__C", 0.01, 100.0,
    ...                                     default=1.0, log=True),))
    >>> type(algo.final_estimator).__name__, algo.supports_class_weight()
    ('LogisticRegression', True)
    >>> algo.key("logisticregression__C")
    'scaled_lr__logisticregression__C'
    """

    name: str
    estimator: Any
    search_params: dict = field(default_factory=dict)
    exclude_techniques: tuple = ()
    # Plain defaults (not factories): a model saved before these fields
    # existed loads with the class attribute.
    params: tuple = ()
    pinned_params: tuple = ()
    cost_exponent: float | None = None

    def __post_init__(self):
        exponent = self.cost_exponent
        if exponent is not None and not (
            isinstance(exponent, Real)
            and not isinstance(exponent, bool)
            and 0 < exponent <= 3
        ):
            raise ValueError(
                f"Algorithm {self.name!r}: cost_exponent must be a number in (0, 3] "
                f"(how the fit time grows with the rows) or None, got {exponent!r}."
            )
        names = self.exclude_techniques
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(
                f"Algorithm {self.name!r}: exclude_techniques must be a tuple of "
                f"technique names, got {names!r}; for one name write "
                f"exclude_techniques=({names!r},)."
            )
        object.__setattr__(self, "exclude_techniques", tuple(names))
        params = self.params
        if not isinstance(params, (tuple, list)) or not all(
            type(p).__name__ in _PARAM_TYPES and hasattr(p, "suggest") for p in params
        ):
            raise TypeError(
                f"Algorithm {self.name!r}: params must be a tuple of IntParam, "
                f"FloatParam or CategoricalParam, got {params!r}."
            )
        object.__setattr__(self, "params", tuple(params))
        object.__setattr__(
            self, "pinned_params", tuple(tuple(p) for p in self.pinned_params)
        )
        seen = set()
        for p in self.params:
            if p.name in seen:
                raise ValueError(
                    f"Algorithm {self.name!r} declares the parameter {p.name!r} "
                    "twice; declare each once."
                )
            seen.add(p.name)
            reason = self.refusal(p.name)
            if reason:
                raise ValueError(
                    f"Algorithm {self.name!r} cannot search {p.name!r}: {reason}."
                )

    def refusal(self, param_name):
        """Why the search may not tune ``param_name`` of this model, or
        ``None`` when it may."""
        leaf = param_name.rsplit("__", 1)[-1]
        if leaf in SET_BY_SEARCH:
            return SET_BY_SEARCH[leaf]
        if param_name in self.search_params:
            return (
                f"the search sets it to {self.search_params[param_name]!r} while "
                "scoring trials (a cheaper fidelity) and the refit uses the "
                "model's own value; set it on the estimator instead"
            )
        for name, reason in self.pinned_params:
            if name == param_name:
                return reason
        return None

    def key(self, param_name):
        """The Optuna name of a model parameter, also its key in
        ``best_params_``: unique across models and techniques."""
        return f"{self.name}__{param_name}"

    def suggest(self, trial, ctx):
        """The model parameters a trial tries, by :meth:`key`."""
        out = {}
        for p in self.params:
            value = p.suggest(trial, self.key(p.name), ctx)
            if value is not REQUIRED:  # an empty range: the model's own value
                out[self.key(p.name)] = value
        return out

    def default_params(self, ctx):
        """The parameters of the first trials, by :meth:`key`."""
        out = {}
        own = self.estimator.get_params(deep=True)
        for p in self.params:
            value = _own_default(p, own.get(p.name), ctx)
            if value is not REQUIRED:
                out[self.key(p.name)] = value
        return out

    def optuna_params(self, params, ctx):
        """The Optuna parameters that reproduce ``params`` (for enqueueing)."""
        out = {}
        for p in self.params:
            key = self.key(p.name)
            if key in params:
                out.update(p.optuna_items(key, params[key], ctx))
        return out

    def set_params_of(self, params):
        """The ``set_params`` values of the model parameters among
        ``params`` (the keys of :meth:`key`)."""
        prefix = f"{self.name}__"
        return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}

    @property
    def final_estimator(self):
        return final_step(self.estimator)

    def supports_class_weight(self):
        return "class_weight" in self.final_estimator.get_params(deep=False)

    def accepts_sample_weight(self):
        return has_fit_parameter(self.final_estimator, "sample_weight")

    def allows_nan(self):
        """Whether the model takes missing values as its tags tell: its own
        tag or, for a ``Pipeline`` (always tagged ``allow_nan=False`` by
        scikit-learn), its final model's. ``fit`` also checks on the data
        whether a pipeline's steps remove them."""
        return bool(
            self.estimator.__sklearn_tags__().input_tags.allow_nan
            or self.final_estimator.__sklearn_tags__().input_tags.allow_nan
        )

    def allows_sparse(self):
        return bool(self.estimator.__sklearn_tags__().input_tags.sparse)


def _own_default(param, own, ctx):
    """A model parameter's first value: its declared ``default``, else the
    estimator's own value when the range holds it, else the range's
    default."""
    if param.default is not None:
        return param.default_value(ctx)
    if isinstance(param, CategoricalParam):
        return own if _in_choices(own, param.choices) else param.default_value(ctx)
    if param.is_empty(ctx):
        return param.fallback
    low, high = param.bounds(ctx)
    if isinstance(own, Real) and not isinstance(own, bool) and low <= own <= high:
        return int(own) if isinstance(param, IntParam) else float(own)
    return param.default_value(ctx)


def _in_choices(value, choices):
    return any(type(value) is type(c) and value == c for c in choices)


@dataclass(frozen=True)
class Config:
    """One point of the space: what a trial evaluates and a refit rebuilds.

    ``params`` holds the technique's parameters by name and the model's own
    parameters under their :meth:`Algorithm.key` (``"<model>__<param>"``).

    Examples
    --------
    >>> from autobalance import Config
    >>> Config("smote", "logistic_regression", {"k_neighbors": 3}).as_params()
    {'technique': 'smote', 'algorithm': 'logistic_regression', 'k_neighbors': 3}
    """

    technique: str
    algorithm: str | None
    params: dict = field(default_factory=dict)

    def as_params(self):
        """The flat, readable dict used in ``best_params_`` and ``cv_results_``."""
        out = {"technique": self.technique, "algorithm": self.algorithm}
        out.update(self.params)
        return out

    def key(self):
        return (self.technique, self.algorithm, tuple(sorted(self.params.items())))


# --------------------------------------------------------------------------
# The space
# --------------------------------------------------------------------------
class SearchSpace:
    """A conditional Optuna space over (technique, algorithm, parameters).

    Parameters
    ----------
    techniques : list of Technique
    algorithms : list of Algorithm
    context : SearchContext

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance import SearchContext
    >>> ctx = SearchContext(classes=np.array([0, 1]), class_counts=np.array([90, 10]),
    ...                     min_train_counts=np.array([60, 6]),
    ...                     max_train_minority_ratio=0.12, n_samples=100, n_features=5)
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import Algorithm, SearchSpace, get_technique
    >>> names = ("none", "smote", "balanced_class_weight")
    >>> techniques = [get_technique(n) for n in names]
    >>> space = SearchSpace(techniques, [Algorithm("lr", LogisticRegression())], ctx)
    >>> [c.technique for c in space.starting_configs()]
    ['none', 'balanced_class_weight']
    >>> space.build(space.default_config("smote")).steps[0][1]
    SMOTE(random_state=0, sampling_strategy=RatioStrategy(ratio=1.0, mode='over'))
    """

    def __init__(self, techniques, algorithms, context):
        self.context = context
        self.algorithms = {a.name: a for a in algorithms}
        _check_unique_keys(techniques, algorithms)
        self.excluded = {}
        self.techniques = {}
        self.compatible = {}
        self._fidelity = {}
        for t in techniques:
            reason = t.why_not(context)
            algos = [] if reason else self._compatible_algorithms(t, context)
            if reason is None and not algos and t.kind != "estimator":
                reason = self._incompatibility_reason(t)
            if reason:
                self.excluded[t.name] = reason
                continue
            self.techniques[t.name] = t
            self.compatible[t.name] = algos
        if not self.techniques:
            raise ValueError(
                "No technique applies to this data, so there is nothing to "
                f"search: {self._left_out()}. Pass models that accept the data "
                "(e.g. impute missing values in a Pipeline with SimpleImputer, or "
                "use HistGradientBoostingClassifier), or techniques that apply "
                "to it."
            )

    def _left_out(self):
        return "; ".join(f"{name} ({reason})" for name, reason in self.excluded.items())

    # -- applicability -----------------------------------------------------
    def _compatible_algorithms(self, technique, ctx):
        if technique.kind == "estimator":
            return []
        out = []
        for name, algo in self.algorithms.items():
            if technique.name in algo.exclude_techniques:
                continue
            if ctx.has_nan and not algo.allows_nan():
                continue
            if ctx.is_sparse and not algo.allows_sparse():
                continue
            if technique.kind == "class_weight" and not (
                algo.supports_class_weight() or algo.accepts_sample_weight()
            ):
                continue
            out.append(name)
        return out

    def _incompatibility_reason(self, technique):
        models = self.algorithms.values()
        if all(technique.name in a.exclude_techniques for a in models):
            return "every model of the portfolio excludes it (exclude_techniques)"
        if technique.kind == "class_weight":
            return "no model of the portfolio takes class_weight or sample_weight"
        return "no model of the portfolio accepts this data"

    # -- Optuna --------------------------------------------------------------
    def _algorithm_key(self, technique_name):
        # A shared "algorithm" parameter lets TPE learn which model is good
        # across techniques; Optuna needs a fixed choice set per name, so a
        # technique limited to some models gets its own parameter.
        algos = self.compatible[technique_name]
        if len(algos) == len(self.algorithms):
            return "algorithm"
        return f"{technique_name}__algorithm"

    def suggest(self, trial):
        """Sample one :class:`Config` with ``trial`` (a Trial or FixedTrial)."""
        names = tuple(self.techniques)
        if not names:  # a space emptied after it was built
            raise ValueError(
                f"The search space has no technique: {self._left_out()}. Pass "
                "models that accept the data, or techniques that apply to it."
            )
        name = (
            names[0]
            if len(names) == 1
            else trial.suggest_categorical("technique", names)
        )
        technique = self.techniques[name]
        algorithm = None
        algos = self.compatible[name]
        if len(algos) == 1:
            algorithm = algos[0]
        elif algos:
            algorithm = trial.suggest_categorical(
                self._algorithm_key(name), tuple(algos)
            )
        params = technique.suggest(trial, self.context)
        if algorithm is not None:
            # The model's own parameters exist only under the chosen model.
            params.update(self.algorithms[algorithm].suggest(trial, self.context))
        return Config(name, algorithm, params)

    def optuna_params(self, config):
        """Optuna parameters that make ``suggest`` return ``config``."""
        out = {}
        if len(self.techniques) > 1:
            out["technique"] = config.technique
        if len(self.compatible[config.technique]) > 1:
            out[self._algorithm_key(config.technique)] = config.algorithm
        technique = self.techniques[config.technique]
        out.update(technique.optuna_params(config.params, self.context))
        if config.algorithm is not None:
            algorithm = self.algorithms[config.algorithm]
            out.update(algorithm.optuna_params(config.params, self.context))
        return out

    def default_config(self, technique_name, algorithm=None):
        technique = self.techniques[technique_name]
        algos = self.compatible[technique_name]
        if algorithm is None and algos:
            algorithm = algos[0]
        params = technique.default_params(self.context)
        if algorithm is not None:
            params.update(self.algorithms[algorithm].default_params(self.context))
        return Config(technique_name, algorithm, params)

    def starting_configs(self):
        """Sensible first trials: the baseline and balanced weights on every
        model, then the balanced random forest."""
        configs = []
        for tname in ("none", "balanced_class_weight"):
            if tname in self.techniques:
                for algo in self.compatible[tname] or [None]:
                    configs.append(self.default_config(tname, algo))
        # Of the model-replacing ensembles only the balanced random forest,
        # the cheaper one and the better in the benchmarks (easy ensemble was
        # never chosen and costs the most per trial); TPE may still try others.
        if "balanced_random_forest" in self.techniques:
            configs.append(self.default_config("balanced_random_forest"))
        return configs

    def grid(self):
        """Every technique at its defaults on every compatible model."""
        configs = []
        for tname in self.techniques:
            for algo in self.compatible[tname] or [None]:
                configs.append(self.default_config(tname, algo))
        return configs

    # -- building --------------------------------------------------------------
    def family(self, technique_name):
        return self.techniques[technique_name].family

    def build(self, config, search=False):
        """An unfitted estimator for ``config`` (resampling inside its ``fit``).

        ``search=True`` builds the cheaper fidelity used to score trials.
        """
        if config.technique not in self.techniques:
            raise ValueError(
                f"Technique {config.technique!r} is not in this search space; it has "
                f"{sorted(self.techniques)}."
            )
        technique = self.techniques[config.technique]
        algorithm = None
        if technique.kind != "estimator":
            if config.algorithm not in self.algorithms:
                raise ValueError(
                    f"Algorithm {config.algorithm!r} is not in this search space; it "
                    f"has {sorted(self.algorithms)}."
                )
            algorithm = self.algorithms[config.algorithm]
        technique_params, model_params = _split_params(technique, algorithm, config)
        prepare = shared_prepare(self.algorithms.values())
        return build_pipeline(
            technique,
            algorithm,
            technique_params,
            self.context,
            prepare=prepare,
            search=search,
            model_params=model_params,
        )

    def fidelity_ratio(self, config):
        """How many times costlier the refitted model is than the one scored
        while searching: the ratio of their ensemble sizes (``n_estimators``),
        1 when the search uses the full model."""
        # A string key: the space is saved with the model (skops writes JSON).
        key = f"{config.technique}/{config.algorithm}"
        cache = self._fidelity
        if key not in cache:
            # The model part alone sets the ratio: build at default parameters.
            base = self.default_config(config.technique, config.algorithm)
            full = self.build(base).get_params(deep=True)
            cheap = self.build(base, search=True).get_params(deep=True)
            ratio = 1.0
            for name, value in full.items():
                if name.endswith("n_estimators") and isinstance(value, int):
                    low = cheap.get(name)
                    if isinstance(low, int) and 0 < low < value:
                        ratio *= value / low
            cache[key] = ratio
        return cache[key]

    def describe(self):
        """A summary of what the space holds and what it left out, and why."""
        return {
            "techniques": {
                n: {"family": t.family, "algorithms": self.compatible[n]}
                for n, t in self.techniques.items()
            },
            "excluded": dict(self.excluded),
        }


def _split_params(technique, algorithm, config):
    """``config.params`` as the technique's parameters and the model's
    ``set_params`` values; refuses any other key."""
    names = {p.name for p in technique.params}
    technique_params = {k: v for k, v in config.params.items() if k in names}
    rest = {k: v for k, v in config.params.items() if k not in names}
    model_params = {} if algorithm is None else algorithm.set_params_of(rest)
    unknown = [
        k for k in rest if algorithm is None or not k.startswith(f"{algorithm.name}__")
    ]
    if unknown:
        raise ValueError(
            f"Parameters {unknown} belong neither to technique "
            f"{config.technique!r} nor to model {config.algorithm!r}; pass "
            "an entry of cv_results_['params'] of this search."
        )
    return technique_params, model_params


def _check_unique_keys(techniques, algorithms):
    """Optuna names must not collide across techniques and models (a model
    named like a technique, both with a parameter of the same name)."""
    owners = {}
    for t in techniques:
        owners[f"{t.name}__algorithm"] = f"technique {t.name!r}"
        for p in t.params:
            owners[t.key(p.name)] = f"technique {t.name!r}"
    for a in algorithms:
        for p in a.params:
            key = a.key(p.name)
            if key in owners:
                raise ValueError(
                    f"The search parameter {key!r} of model {a.name!r} has the "
                    f"name of one of {owners[key]}; rename the model (pass "
                    "(name, estimator) pairs)."
                )
            owners[key] = f"model {a.name!r}"
