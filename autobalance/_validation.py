"""Checks of the estimator's parameters and of ``X, y`` against them, made
before any trial runs (``fit``, :func:`~autobalance.run_worker`) and at
prediction time."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from scipy import sparse as sp
from sklearn.metrics import get_scorer_names
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    check_consistent_length,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from ._catalogue import _DENSE_REQUIREMENTS, _base_requirement, get_technique
from ._compat import HasMethods, Interval, StrOptions, validate_params
from ._ensemble import ENSEMBLE_RULES
from ._inputs import (
    check_model_input,
    describe_columns,
    missing_columns,
    probe_rows,
    sample,
)
from ._resolve import resolve_algorithms
from ._space import CategoricalParam, FloatParam, IntParam

__all__ = [
    "PARAMETER_CONSTRAINTS",
    "allow_nan",
    "allow_sparse",
    "check_X",
    "check_fold_weights",
    "check_group_folds",
    "check_groups",
    "check_groups_given",
    "check_groups_kept",
    "check_model_inputs",
    "check_sample_weight",
    "check_search_params",
    "check_sparse",
    "check_target",
    "keep_samplers_from_missing",
    "leave_out_unweighted",
    "with_param_distributions",
]


#: ``AutoBalancedClassifier._parameter_constraints``, checked by
#: scikit-learn's parameter validation before anything else.
PARAMETER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "predict"]), list, tuple, None],
    "techniques": [list, tuple, None],
    "param_distributions": [dict, None],
    "scoring": [StrOptions(set(get_scorer_names())), callable, None],
    "cv": ["cv_object"],
    "n_trials": [
        Interval(Integral, 1, None, closed="left"),
        StrOptions({"auto"}),
        None,
    ],
    "timeout": [Interval(Real, 0, None, closed="neither"), None],
    "max_search_samples": [
        Interval(Integral, 100, None, closed="left"),
        StrOptions({"auto"}),
        None,
    ],
    "pruning": ["boolean"],
    "n_jobs": [Integral, None],
    "storage": [str, HasMethods(["create_new_study"]), None],
    "study_name": [str, None],
    "random_state": ["random_state"],
    "show_progress_bar": ["boolean"],
    "ensemble": ["boolean", StrOptions(set(ENSEMBLE_RULES))],
    "calibration": [
        StrOptions({"auto", "prior_shift", "sigmoid", "isotonic", "off"}),
        None,
    ],
    "threshold": [
        StrOptions({"f1", "balanced_accuracy", "youden"}),
        dict,
        "array-like",
        None,
    ],
}


def label(value):
    return repr(value.item() if isinstance(value, np.generic) else value)


def check_search_params(est):
    """Refuse settings that cannot make a search (after scikit-learn's own
    parameter validation)."""
    validate_params(est)
    if est.n_trials is None and est.timeout is None:
        raise ValueError(
            "n_trials and timeout are both None, so the search would never stop; "
            "set n_trials (e.g. 30) or timeout in seconds."
        )
    if (est.storage is None) != (est.study_name is None):
        raise ValueError(
            "storage and study_name go together: give both to keep a resumable "
            "study, or neither for a fresh in-memory study."
        )
    if est.storage is not None and not isinstance(est.random_state, Integral):
        raise ValueError(
            "A stored study needs random_state set to an integer, so that a "
            "resumed or shared search uses the same folds and seeds; got "
            f"random_state={est.random_state!r}."
        )


def allow_nan(est, algorithms=None):
    """Whether every model takes missing values, as far as their tags tell
    before any data is seen (``fit`` checks what imputing pipelines do, see
    :func:`check_model_inputs`)."""
    # The default portfolio imputes in its shared ``prepare`` step.
    if est.estimator is None:
        return True
    algorithms = algorithms or resolve_algorithms(est.estimator)
    return all(a.allows_nan() for a in algorithms)


def allow_sparse(est, algorithms=None, info=None):
    # The default portfolio follows the data (sparse X: models and a
    # prepare step that keep it sparse), so once the data is described
    # (``info``) the portfolio for it decides, not the one for dense data.
    algorithms = algorithms or resolve_algorithms(est.estimator, info)
    return all(a.allows_sparse() for a in algorithms)


def check_sparse(est, X, algorithms):
    if not sp.issparse(X):
        return
    dense = [a.name for a in algorithms if not a.allows_sparse()]
    if dense and est.estimator is not None:
        raise ValueError(
            f"X is a sparse matrix, but the models {dense} need dense data. Pass "
            "X.toarray() if it fits in memory, or models that accept sparse "
            "input (e.g. LogisticRegression)."
        )
    named = [t for t in est.techniques or () if isinstance(t, str)]
    needs_dense = [
        n
        for n in named
        if _base_requirement(get_technique(n).requires) in _DENSE_REQUIREMENTS
    ]
    if needs_dense:
        raise ValueError(
            f"X is a sparse matrix, but the techniques {needs_dense} need "
            "dense data; pass X.toarray() or leave them out of techniques."
        )


def check_X(est, X, *, reset, y=None, allow_nan=None, info=None, target=None):
    """``validate_data`` with the estimator's settings; ``target`` (default
    ``est``) is the object whose ``n_features_in_`` and ``feature_names_in_``
    are set (``reset=True``) or checked against."""
    target = est if target is None else target
    if allow_nan is None:
        allow_nan = est.__sklearn_tags__().input_tags.allow_nan
    finite = "allow-nan" if allow_nan else True
    kwargs = {
        "reset": reset,
        "ensure_all_finite": finite,
        "accept_sparse": ("csr", "csc") if allow_sparse(est, info=info) else False,
    }
    if info is not None and info.categorical:
        # Mixed tables: column kinds were checked by describe_features; here
        # only the shape and the feature names are registered and checked.
        # Converting the table to one array would copy it, and fails for
        # some mixes (a categorical column next to a bool one: "Cannot
        # cast str dtype to float64").
        kwargs = {"reset": reset, "skip_check_array": True}
        if y is None:
            return validate_data(target, X, **kwargs), None
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return validate_data(target, X, y, **kwargs)
    try:
        if y is None:
            return validate_data(target, X, **kwargs), None
        return validate_data(target, X, y, **kwargs)
    except ValueError as exc:
        msg = str(exc)
        if "NaN" in msg and not allow_nan:
            # Only at predict: fit judges missing values by what the models
            # do with them (check_model_inputs).
            raise ValueError(
                f"{msg} The training data had no missing values, so fit did "
                "not check that the models handle them; fill them before "
                "predicting, or fit on data that holds them."
            ) from exc
        raise


def check_predict_input(est, X):
    """``X`` checked for prediction against what ``fit`` saw (a DataFrame
    with categorical columns must stay one)."""
    info = getattr(est, "_feature_info", None)
    if info is not None and info.categorical and not isinstance(X, pd.DataFrame):
        raise ValueError(
            "This model was fitted on a DataFrame with categorical columns; pass "
            f"a DataFrame with the columns {list(est.feature_names_in_)}."
        )
    X_checked, _ = check_X(
        est,
        X,
        reset=False,
        info=info,
        allow_nan=getattr(est, "_accepts_nan", None),
    )
    if isinstance(X, pd.DataFrame) and hasattr(est, "feature_names_in_"):
        return X
    return X_checked


def input_tags(est):
    """``(allow_nan, sparse)`` input tags of ``est`` before it is fitted: what
    its models accept."""
    try:
        algorithms = resolve_algorithms(est.estimator)
        # The default portfolio drops the models that need dense data when X
        # is sparse.
        sparse = est.estimator is None or allow_sparse(est, algorithms)
        return allow_nan(est, algorithms), sparse
    except ValueError:
        return False, False


def check_target(y):
    """The classes of ``y`` and their counts; refuses targets that are not
    class labels, one class, or a class of one row."""
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type {y_type!r}: AutoBalancedClassifier needs class "
            "labels. "
            "Pass one label per row (strings or integers); for a continuous "
            "target use a regressor."
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(
            f"y has only one class ({label(classes[0])}); balancing needs at "
            "least two classes. Check the target column."
        )
    if counts.min() < 2:
        raise ValueError(
            f"class {label(classes[counts.argmin()])} has only 1 row; every "
            "class needs at least 2 rows to be cross-validated."
        )
    return classes, counts


def _input_fixes(X, info):
    fixes = []
    if info.has_nan:
        fixes.append(
            f"X has missing values (NaN) in columns "
            f"{describe_columns(missing_columns(X))}: impute them in the "
            "model's pipeline, e.g. make_pipeline(SimpleImputer(), "
            "LogisticRegression()), or pass a model that takes them, "
            "e.g. HistGradientBoostingClassifier(), or estimator=None (the "
            "default portfolio imputes)."
        )
    if info.categorical:
        fixes.append(
            f"Columns {describe_columns(info.categorical)} are not "
            "numeric: encode them in the model's pipeline, e.g. "
            "make_pipeline(make_column_transformer((OneHotEncoder("
            "handle_unknown='ignore'), columns), remainder='passthrough'), "
            "model), or pass estimator=None (the default portfolio encodes "
            "them)."
        )
    return fixes


def check_model_inputs(est, algorithms, X, y, info, classes):
    """Refuse, before the search, models that cannot be trained on ``X``.

    Clones of each user model's steps are fitted on a sample of the rows
    (those with a missing value, and some of each class): a model passes
    when its steps before the final one remove the missing values or its
    final model takes them, and, for tables with non-numeric columns,
    when it can be fitted on them. Returns, for each model, whether the
    rows its sampler would see hold missing values (empty when ``X`` has
    none, or for the default portfolio, which imputes first).
    """
    if est.estimator is None or not (info.has_nan or info.categorical):
        return {}
    X_probe, y_probe = sample(X, y, probe_rows(X, y, classes))
    seen, problems = {}, []
    for algorithm in algorithms:
        result = check_model_input(
            algorithm.estimator,
            X_probe,
            y_probe,
            fit_model=bool(info.categorical),
        )
        seen[algorithm.name] = result.sampler_sees_missing
        if result.problem:
            problems.append(f"{algorithm.name!r}: {result.problem}")
    if problems:
        raise ValueError(
            f"Not every model can be trained on X ({'; '.join(problems)}). "
            + " ".join(_input_fixes(X, info))
        )
    return seen if info.has_nan else {}


def keep_samplers_from_missing(algorithms, techniques, context, seen):
    """Models whose sampler would see missing values (their steps do not
    impute) are not paired with the techniques that cannot take them,
    while models that impute first keep them."""
    if context.has_nan or not any(seen.values()):
        return algorithms
    with_missing = dataclasses.replace(context, has_nan=True)
    refused = tuple(
        t.name for t in techniques if t.why_not(with_missing) and not t.why_not(context)
    )
    return [
        dataclasses.replace(a, exclude_techniques=(*a.exclude_techniques, *refused))
        if seen.get(a.name)
        else a
        for a in algorithms
    ]


_DISTRIBUTION_TYPES = (
    "an Optuna distribution (optuna.distributions.FloatDistribution, "
    "IntDistribution or CategoricalDistribution) or a FloatParam, IntParam or "
    "CategoricalParam"
)


def _as_param(name, value, where):
    """One entry of ``param_distributions`` as the package's parameter."""
    if isinstance(value, FloatDistribution | IntDistribution) and value.step not in (
        None,
        1,
    ):
        raise ValueError(
            f"{where} has step={value.step!r}, which the search does not "
            "support; list the values in a CategoricalDistribution instead."
        )
    if isinstance(value, FloatDistribution):
        param = FloatParam(name, value.low, value.high, log=value.log)
    elif isinstance(value, IntDistribution):
        param = IntParam(name, value.low, value.high, log=value.log)
    elif isinstance(value, CategoricalDistribution):
        param = CategoricalParam(name, tuple(value.choices))
    elif isinstance(value, FloatParam | IntParam | CategoricalParam):
        param = dataclasses.replace(value, name=name)
    else:
        raise TypeError(
            f"{where} is {value!r} ({type(value).__name__}); pass "
            f"{_DISTRIBUTION_TYPES}, e.g. FloatDistribution(1e-3, 1e2, log=True); "
            "for a list of values, CategoricalDistribution([...])."
        )
    # Bounds that are functions of the data are checked on it, by the space.
    data_bounds = not isinstance(param, CategoricalParam) and (
        callable(param.low) or callable(param.high)
    )
    if not data_bounds and param.is_empty(None):
        raise ValueError(
            f"{where} has an empty range ({value!r}): give low < high (low <= "
            "high for integers) or at least one choice; to fix a value, set it "
            "on the estimator instead."
        )
    return param


def _model_params(algorithm, distributions, where):
    own = algorithm.estimator.get_params(deep=True)
    params = []
    for name, value in distributions.items():
        entry = f"{where}[{name!r}]"
        if not isinstance(name, str):
            raise TypeError(
                f"{entry}: parameter names must be strings (set_params names, "
                "step-prefixed for a Pipeline, e.g. 'logisticregression__C')."
            )
        reason = algorithm.refusal(name)
        if reason:
            raise ValueError(
                f"param_distributions cannot tune {name!r} of model "
                f"{algorithm.name!r}: {reason}. Remove it from {where}."
            )
        if name not in own:
            close = difflib.get_close_matches(name, own, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise ValueError(
                f"param_distributions names {name!r}, which model "
                f"{algorithm.name!r} does not have (its get_params(deep=True) "
                f"has no such key).{hint} Use set_params names, step-prefixed "
                "for a Pipeline as in GridSearchCV (e.g. 'logisticregression__C')."
            )
        params.append(_as_param(name, value, entry))
    return tuple(params)


def with_param_distributions(est, algorithms):
    """The models with the ``param_distributions`` of ``est`` as their own
    parameter spaces (replacing what a default model declares).

    Raises, naming the parameter, for a model or parameter the search does
    not have, a value that is no distribution, an empty range, and a
    parameter a technique, the seeds or the search fidelity set.
    """
    given = est.param_distributions
    if given is None:
        return algorithms
    by_name = {a.name: a for a in algorithms}
    keyed = bool(given) and all(isinstance(v, Mapping) for v in given.values())
    if not keyed:
        if len(algorithms) > 1:
            raise ValueError(
                f"param_distributions names parameters ({sorted(map(str, given))}) "
                f"but the search has {len(algorithms)} models {list(by_name)}; key "
                "it by model name, e.g. {'"
                + algorithms[0].name
                + "': {'C': FloatDistribution(1e-3, 1e2, log=True)}}."
            )
        given = {algorithms[0].name: given} if given else {}
        where = {algorithms[0].name: "param_distributions"}
    else:
        where = {name: f"param_distributions[{name!r}]" for name in given}
    unknown = [name for name in given if name not in by_name]
    if unknown:
        raise ValueError(
            f"param_distributions is keyed by {unknown}, which are not models of "
            f"this search; its models are {list(by_name)} (name a model with "
            "(name, estimator) pairs in estimator)."
        )
    return [
        dataclasses.replace(
            a,
            params=_model_params(a, given[a.name], where[a.name]),
        )
        if a.name in given
        else a
        for a in algorithms
    ]


def check_groups(groups, n_samples):
    """``groups`` as a 1-d array of one label per row, or ``None``; refuses
    the wrong length and missing labels before any work."""
    if groups is None:
        return None
    try:
        groups = column_or_1d(np.asarray(groups), warn=False)
    except ValueError as exc:
        raise ValueError(
            f"groups has shape {np.shape(groups)}; pass one group label per row "
            "of X (a 1-d array or a Series)."
        ) from exc
    if len(groups) != n_samples:
        raise ValueError(
            f"groups has {len(groups)} labels but X has {n_samples} rows; pass "
            "one group label per row of X."
        )
    missing = _missing_labels(groups)
    if missing:
        raise ValueError(
            f"groups has {missing} missing labels (NaN or None); give every row "
            "a group (e.g. a group of its own), or drop those rows."
        )
    return groups


def _missing_labels(groups):
    if groups.dtype.kind == "f":
        return int(np.isnan(groups).sum())
    if groups.dtype.kind == "O":
        return sum(
            g is None or (isinstance(g, Real) and g != g) for g in groups.tolist()
        )
    return 0


def check_group_folds(y, groups, classes, n_splits, *, where="The data", param="cv"):
    """Refuse ``groups`` that cannot fill ``n_splits`` group folds with every
    class: fewer groups than folds, or a class found in fewer groups than
    folds (some validation fold would then have none of it). ``where`` names
    the rows checked, ``param`` the parameter that sets the folds."""
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(
            f"{where} has {n_groups} distinct groups, fewer than the {n_splits} "
            f"group folds of {param}: every fold needs groups of its own. Use "
            f"{param}={max(2, n_groups)} or fewer folds, or finer groups."
        )
    for c in classes:
        n_with = len(np.unique(groups[y == c]))
        if n_with < n_splits:
            raise ValueError(
                f"{where} has class {label(c)} in only {n_with} groups, fewer than "
                f"the {n_splits} group folds of {param}, so some validation fold "
                f"would have no row of it. Use {param}={max(2, n_with)} or fewer "
                "folds, or collect more groups with that class."
            )


def splits_by_groups(splitter):
    """Whether ``splitter.split`` asks for ``groups`` (its metadata request:
    ``True`` for scikit-learn's group splitters)."""
    routing = getattr(splitter, "get_metadata_routing", None)
    if routing is None:
        return False
    return routing().split.requests.get("groups") is True


def check_groups_given(splitter, groups, param="cv"):
    """Refuse a group splitter without ``groups``, with what to pass."""
    if groups is None and splits_by_groups(splitter):
        raise ValueError(
            f"{param}={splitter!r} splits by groups, but no groups were given; "
            "pass one group label per row with fit(X, y, groups=groups), or an "
            f"integer {param} for stratified folds without groups."
        )


def check_groups_kept(splits, groups, splitter, *, name="Fold", param="cv"):
    """Refuse folds that put one group on both sides: the splitter ignored
    ``groups`` (as ``StratifiedKFold`` does), so rows of one group would be
    trained on and scored."""
    for i, (train, test) in enumerate(splits):
        shared = np.intersect1d(groups[train], groups[test])
        if len(shared):
            raise ValueError(
                f"{name} {i} of {param}={splitter!r} puts group {label(shared[0])} "
                "in both its training and validation parts: this splitter ignores "
                "groups, so rows of a group would be scored by a model trained on "
                f"that group. Use an integer {param} (stratified group folds), or "
                "a group splitter such as StratifiedGroupKFold or GroupKFold."
            )


def check_sample_weight(sample_weight, y, classes):
    """``sample_weight`` as a float array of one weight per row of ``y``, or
    an error naming the problem and the fix: a wrong length, values that are
    not numbers, NaN or infinite, negative, or every row of a class at
    weight 0.

    ``None``, and weights that are all 1 (what ``None`` means in
    scikit-learn), give ``None``: the search is then exactly the unweighted
    one, with the models and techniques that take no weights.
    """
    if sample_weight is None:
        return None
    y = np.asarray(y)
    raw = np.asarray(sample_weight)
    if raw.ndim == 0:
        raw = np.full(len(y), raw)
    if raw.ndim != 1 or len(raw) != len(y):
        shape = raw.shape if raw.ndim != 1 else f"{len(raw)} values"
        raise ValueError(
            f"sample_weight has {shape} but X has {len(y)} rows; pass one weight "
            "per row of X (a 1-d array of length n_samples)."
        )
    if raw.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight must be numbers, got dtype {raw.dtype}; convert it, "
            "e.g. df['weight'].astype(float)."
        )
    weight = raw.astype(float)
    bad = ~np.isfinite(weight)
    if bad.any():
        raise ValueError(
            f"sample_weight has {int(bad.sum())} NaN or infinite values (the first "
            f"at row {int(np.flatnonzero(bad)[0])}); give every row a finite weight "
            "(weight 0 leaves a row out), or drop those rows from X, y and "
            "sample_weight."
        )
    negative = weight < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise ValueError(
            f"sample_weight has {int(negative.sum())} negative values (the first "
            f"at row {first}: {weight[first]:g}); weights must be >= 0 (0 leaves a "
            "row out of the fit and the scores)."
        )
    if not np.any(weight > 0):
        raise ValueError(
            "sample_weight is zero for every row, so there is nothing to learn "
            "from; give the rows positive weights (or pass sample_weight=None)."
        )
    for c in classes:
        if not np.any(weight[y == c] > 0):
            raise ValueError(
                f"Every row of class {label(c)} has a zero sample_weight, so the "
                "search could neither learn nor score that class; give some of "
                "its rows a positive weight, or drop the class from y."
            )
    if np.all(weight == 1.0):
        return None
    return weight


def check_fold_weights(splits, y, sample_weight, classes, cv_name="cv"):
    """Every class keeps a positive total weight in the training and the
    validation part of every fold (a class weighing nothing in a validation
    part leaves its ROC AUC undefined)."""
    if sample_weight is None:
        return
    y = np.asarray(y)
    for i, (train, test) in enumerate(splits):
        for part, idx in (("training", train), ("validation", test)):
            for c in classes:
                if not np.any(sample_weight[idx][y[idx] == c] > 0):
                    raise ValueError(
                        f"Fold {i} of {cv_name} has no row of class {label(c)} "
                        f"with a positive sample_weight in its {part} part; use "
                        f"fewer folds ({cv_name}), or give more rows of class "
                        f"{label(c)} a positive weight."
                    )


#: Why a model or technique is left out of a search with sample weights.
NO_SAMPLE_WEIGHT = "its fit takes no sample_weight, so the weights could not reach it"


def leave_out_unweighted(algorithms, techniques, context):
    """The models and the model-replacing techniques that can be fitted with
    sample weights, and the reasons of the others.

    A model can when its final estimator's ``fit`` takes ``sample_weight``; a
    technique of kind ``"estimator"`` (a balanced ensemble) when the
    estimator it builds does. Samplers and class weights carry the weights
    to the model (:func:`~autobalance._build.fit_weighted`).

    Returns
    -------
    algorithms, techniques : list
        What the search keeps.
    left_out_algorithms, left_out_techniques : dict
        ``{name: reason}`` of the others.

    Raises
    ------
    ValueError
        If nothing that can be fitted with weights is left.
    """
    kept_algorithms, left_algorithms = [], {}
    for algorithm in algorithms:
        if algorithm.accepts_sample_weight():
            kept_algorithms.append(algorithm)
        else:
            left_algorithms[algorithm.name] = NO_SAMPLE_WEIGHT
    kept_techniques, left_techniques = [], {}
    for technique in techniques:
        if technique.kind == "estimator" and technique.why_not(context) is None:
            model = technique.make(context, technique.default_params(context))
            if not has_fit_parameter(model, "sample_weight"):
                left_techniques[technique.name] = NO_SAMPLE_WEIGHT
                continue
        kept_techniques.append(technique)
    if not kept_algorithms and not any(t.kind == "estimator" for t in kept_techniques):
        raise ValueError(
            "sample_weight was given, but no model of the search takes sample "
            f"weights ({', '.join([*left_algorithms, *left_techniques])}: "
            f"{NO_SAMPLE_WEIGHT}). Pass a model whose fit accepts sample_weight "
            "(e.g. LogisticRegression, HistGradientBoostingClassifier), or fit "
            "without sample_weight."
        )
    return kept_algorithms, kept_techniques, left_algorithms, left_techniques
