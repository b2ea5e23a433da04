"""Checks of the estimator's parameters and of ``X, y`` against them, made
before any trial runs (``fit``, :func:`~autobalance.run_worker`) and at
prediction time."""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real

import numpy as np
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
from ._inputs import (
    check_model_input,
    describe_columns,
    missing_columns,
    probe_rows,
    sample,
)
from ._resolve import resolve_algorithms

__all__ = [
    "PARAMETER_CONSTRAINTS",
    "allow_nan",
    "allow_sparse",
    "check_X",
    "check_fold_weights",
    "check_model_inputs",
    "check_sample_weight",
    "check_search_params",
    "check_sparse",
    "check_target",
    "keep_samplers_from_missing",
    "leave_out_unweighted",
]


#: ``AutoBalancedClassifier._parameter_constraints``, checked by
#: scikit-learn's parameter validation before anything else.
PARAMETER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "predict"]), list, tuple, None],
    "techniques": [list, tuple, None],
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
    "ensemble": ["boolean"],
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
