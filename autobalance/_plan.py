"""The search plan: everything a search needs before its study, built from an
estimator's parameters and ``X, y`` without changing the estimator.

``fit`` and :func:`~autobalance.run_worker` build the same plan, so a worker
runs exactly the driver's objective; ``fit`` sets its fitted attributes from
the plan once the search succeeded.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import check_scoring
from sklearn.model_selection import (
    GroupKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.utils import check_random_state

from . import _budget
from ._budget import Budget
from ._catalogue import SIZE_REASON
from ._compat import take_rows
from ._early_stop import EarlyStop
from ._ensemble import DEFAULT_ENSEMBLE_RULE, LIBRARY_SIZE
from ._footprint import data_nbytes
from ._guard import guarded_config
from ._objective import Objective
from ._portfolio import active_portfolio, default_starting_configs
from ._preprocessing import FeatureInfo, describe_features
from ._prior import ClassPrior
from ._resolve import resolve_algorithms, resolve_techniques
from ._space import SearchContext, SearchSpace
from ._study import data_fingerprint
from ._subsample import MIN_SEARCH_ROWS_PER_CLASS, search_subsample
from ._threshold import check_threshold
from ._validation import (
    allow_nan,
    check_fold_weights,
    check_group_folds,
    check_groups,
    check_groups_given,
    check_groups_kept,
    check_model_inputs,
    check_sample_weight,
    check_search_params,
    check_sparse,
    check_target,
    check_X,
    keep_samplers_from_missing,
    leave_out_unweighted,
    with_param_distributions,
)
from .exceptions import SkippedTechniqueWarning

__all__ = ["SearchPlan", "build_plan", "group_subsample", "search_subsample"]

#: ``n_trials="auto"``: fewer trials when the smallest class has fewer rows
#: than this (fold AUCs then differ by noise more than by technique).
AUTO_TRIALS_MINORITY_ROWS = 1_000
AUTO_TRIALS_FEW = 12
AUTO_TRIALS_MANY = 30

#: Rows the search runs on with ``max_search_samples="auto"``.
AUTO_MAX_SEARCH_SAMPLES = 50_000


@dataclass(frozen=True, eq=False)
class SearchPlan:
    """What one search runs on, decided before its study opens.

    ``context`` summarises the searched rows (its ``refit_class_counts``
    all rows), ``prior`` the class counts of both (their total weights with
    sample weights); ``feature_info`` the columns of ``X``. ``fit_params``
    is fit-time metadata of all rows: its ``sample_weight`` (validated, one
    float per row of ``X``, or ``None``) reaches every fit and score of the
    search, the refit and the decision rule; its ``groups`` the splitter.
    ``groups_search`` are the groups of the searched rows (``None`` without
    groups). ``excluded_algorithms`` names the models left out of the search,
    with the reason (models that cannot take the sample weights).
    ``starting_configs`` are the enqueued first trials (see
    :func:`starting_configs`), ``starting_skipped`` the learned ones left
    out, with the reason. ``early_stop`` is the rule that may stop a timed
    in-memory search with ``n_trials="auto"`` early (else ``None``; see
    :func:`early_stop_for`).
    """

    space: SearchSpace
    context: SearchContext
    prior: ClassPrior
    feature_info: FeatureInfo
    cv: Any
    splits: list
    scorer: Any
    budget: Budget
    fingerprint: str
    objective: Objective
    classes: np.ndarray
    X_search: Any
    y_search: np.ndarray
    X_full: Any
    y_full: np.ndarray
    rows: np.ndarray | None
    n_trials: int | None
    study_seed: int
    ensembling: str | None
    accepts_nan: bool
    n_features_in: int
    feature_names_in: np.ndarray | None
    fit_params: Mapping = field(default_factory=lambda: MappingProxyType({}))
    groups_search: np.ndarray | None = None
    excluded_algorithms: Mapping = field(default_factory=lambda: MappingProxyType({}))
    starting_configs: tuple = ()
    starting_skipped: tuple = ()
    early_stop: EarlyStop | None = None

    @property
    def sample_weight(self):
        """The weights of all training rows (``None``: no weights)."""
        return self.fit_params.get("sample_weight")

    @property
    def fit_weight_totals(self):
        """The total sample weight of each class of all training rows
        (``None``: no weights), kept by the fitted estimator so that its
        report can tell whether, and with which weights, it was fitted."""
        return None if self.sample_weight is None else self.prior.counts

    @property
    def search_sample_weight(self):
        """The weights of the searched rows (``None``: no weights)."""
        weight = self.sample_weight
        if weight is None or self.rows is None:
            return weight
        return weight[self.rows]


def default_scoring(classes):
    return "roc_auc" if len(classes) == 2 else "roc_auc_ovr"


def group_subsample(y, groups, classes, counts, max_rows, seed):
    """Row indices (sorted) of a subsample of whole groups, about ``max_rows``
    rows, or ``None`` when every row is searched.

    Groups are drawn in random order: first those with rows of a class below
    its floor (as in :func:`search_subsample`, rarest class first), then any
    group that still fits in ``max_rows``. A group is kept whole, so the folds
    of the subsample keep each group on one side as the folds of all rows
    would. The groups of a small class bring their other rows along, so the
    floors can take the subsample above ``max_rows``.
    """
    n = len(y)
    if max_rows is None or n <= max_rows:
        return None
    counts = np.asarray(counts, dtype=int)
    floor = np.minimum(counts, min(MIN_SEARCH_ROWS_PER_CLASS, max_rows // len(counts)))
    _, codes = np.unique(groups, return_inverse=True)
    sizes = np.bincount(codes)
    order = np.random.RandomState(seed).permutation(len(sizes))
    taken = np.zeros(len(sizes), dtype=bool)
    rows_of = [np.bincount(codes[y == c], minlength=len(sizes)) for c in classes]
    for i in np.argsort(counts, kind="stable"):
        have = int(rows_of[i][taken].sum())
        for g in order:
            if have >= floor[i]:
                break
            if not taken[g] and rows_of[i][g]:
                taken[g] = True
                have += int(rows_of[i][g])
    total = int(sizes[taken].sum())
    for g in order:
        if not taken[g] and total + sizes[g] <= max_rows:
            taken[g] = True
            total += int(sizes[g])
    return np.flatnonzero(taken[codes])


def n_trials_for(est, counts):
    """The trial budget: ``n_trials``, or the ``"auto"`` choice for ``counts``."""
    if est.n_trials != "auto":
        return est.n_trials
    few = counts.min() < AUTO_TRIALS_MINORITY_ROWS
    return AUTO_TRIALS_FEW if few else AUTO_TRIALS_MANY


def _max_search_samples(est):
    if est.max_search_samples == "auto":
        return AUTO_MAX_SEARCH_SAMPLES
    return est.max_search_samples


def make_splits(cv, X, y, counts, seed, groups=None):
    """The inner splitter of the ``cv`` parameter and its folds of ``X, y``
    (split by ``groups`` when given: an integer ``cv`` then gives stratified
    group folds, and a splitter must keep every group on one side)."""
    if isinstance(cv, Integral):
        if cv < 2:
            raise ValueError(f"cv={cv} must be at least 2.")
        if counts.min() < cv:
            raise ValueError(
                f"The smallest class has {int(counts.min())} rows, fewer than "
                f"cv={cv} folds, so some validation fold would miss it. Use "
                f"cv={max(2, int(counts.min()))} or collect more minority rows."
            )
        if groups is None:
            splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
        else:
            check_group_folds(y, groups, np.unique(y), cv)
            splitter = StratifiedGroupKFold(
                n_splits=cv, shuffle=True, random_state=seed
            )
    else:
        splitter = check_cv(cv, y, classifier=True)
        check_groups_given(splitter, groups)
        if groups is not None and isinstance(
            splitter, (GroupKFold, StratifiedGroupKFold)
        ):
            check_group_folds(y, groups, np.unique(y), splitter.get_n_splits())
    if groups is None:
        splits = list(splitter.split(X, y))
    else:
        splits = list(splitter.split(X, y, groups))
        check_groups_kept(splits, groups, splitter)
    for i, (train, test) in enumerate(splits):
        if len(np.unique(y[test])) < len(counts) or len(np.unique(y[train])) < len(
            counts
        ):
            raise ValueError(
                f"Fold {i} of cv lacks a class in its training or validation part; "
                "use a stratified splitter with fewer folds."
            )
    return splitter, splits


def search_context(est, classes, counts, y, splits, X, seed, info, missing_seen):
    """The :class:`SearchContext` of the searched rows ``X, y``."""
    min_train = np.array(
        [min(int(np.sum(y[train] == c)) for train, _ in splits) for c in classes]
    )
    ratios = []
    for train, _ in splits:
        c = np.array([np.sum(y[train] == k) for k in classes])
        ratios.append(c.min() / c.max())
    return SearchContext(
        classes=classes,
        class_counts=counts,
        min_train_counts=min_train,
        max_train_minority_ratio=float(max(ratios)),
        n_samples=X.shape[0],
        n_features=X.shape[1],
        # What the samplers see: missing values reach them only when no
        # model imputes before them (the default portfolio's ``prepare``
        # step, a user pipeline's imputer); see keep_samplers_from_missing
        # for portfolios where only some models impute.
        has_nan=bool(missing_seen) and all(missing_seen.values()),
        is_sparse=info.is_sparse,
        random_state=int(seed),
        categorical_positions=tuple(range(info.n_categorical))
        if est.estimator is None
        else (),
        n_prepared_features=len(info.categorical) + len(info.numeric),
    )


def search_settings(est, techniques, algorithms):
    # The objects themselves: data_fingerprint hashes them parameter by
    # parameter (reprs of long estimators are shortened).
    return {
        "techniques": list(techniques),
        "algorithms": list(algorithms),
        "scoring": est.scoring,
        "cv": est.cv,
        "pruning": est.pruning,
        "random_state": est.random_state,
    }


def warn_size_exclusions(space, n_rows):
    skipped = {n: r for n, r in space.excluded.items() if r.startswith(SIZE_REASON)}
    if skipped:
        by_reason = {}
        for name, reason in skipped.items():
            by_reason.setdefault(reason, []).append(name)
        reasons = "; ".join(f"{', '.join(n)}: {r}" for r, n in by_reason.items())
        warnings.warn(
            f"The data has {n_rows:,} rows: the techniques {list(skipped)} are "
            f"left out of the search ({reasons}). Subsample the data yourself "
            "to search them.",
            SkippedTechniqueWarning,
            stacklevel=4,
        )


def warn_weight_exclusions(left_algorithms, left_techniques):
    parts = [
        f"the {kind} {list(left)}"
        for kind, left in (("models", left_algorithms), ("techniques", left_techniques))
        if left
    ]
    if parts:
        reasons = "; ".join(
            f"{name}: {reason}"
            for name, reason in {**left_algorithms, **left_techniques}.items()
        )
        warnings.warn(
            f"sample_weight was given: {' and '.join(parts)} are left out of the "
            f"search ({reasons}); see excluded_algorithms_ and "
            "excluded_techniques_. Pass models whose fit accepts sample_weight "
            "to search them.",
            SkippedTechniqueWarning,
            stacklevel=4,
        )


def ensembling(est, classes, space):
    """The rule that may form an ensemble (one of
    :data:`~autobalance._ensemble.ENSEMBLE_RULES`), or ``None``: scored from
    out-of-fold ROC AUC kept in memory, so binary targets, the default
    metric, several models, and no stored (resumable) study."""
    n_models = len(space.algorithms) + sum(
        t.kind == "estimator" for t in space.techniques.values()
    )
    if not (
        est.ensemble
        and est.storage is None
        and len(classes) == 2
        and est.scoring in (None, "roc_auc")
        and n_models > 1
    ):
        return None
    return est.ensemble if isinstance(est.ensemble, str) else DEFAULT_ENSEMBLE_RULE


@dataclass(frozen=True, eq=False)
class _CheckedData:
    info: FeatureInfo
    algorithms: list
    techniques: list
    X: Any
    y: np.ndarray
    classes: np.ndarray
    counts: np.ndarray
    missing_seen: dict
    n_features_in: int
    feature_names_in: np.ndarray | None
    sample_weight: np.ndarray | None = None


def _checked_data(est, X, y, sample_weight=None):
    """Validate ``X, y`` against the settings of ``est`` (on a copy of it:
    ``validate_data`` registers the features on the object it is given)."""
    info = describe_features(X)
    algorithms = with_param_distributions(est, resolve_algorithms(est.estimator, info))
    techniques = resolve_techniques(est.estimator, est.techniques)
    check_sparse(est, X, algorithms)
    probe = copy.copy(est)
    # Missing values are judged by what the models do with them, below.
    X_checked, y = check_X(
        est, X, reset=True, y=y, allow_nan=True, info=info, target=probe
    )
    classes, counts = check_target(y)
    sample_weight = check_sample_weight(sample_weight, y, classes)
    check_threshold(est.threshold, classes)
    missing_seen = check_model_inputs(
        est,
        algorithms,
        X if isinstance(X, pd.DataFrame) else X_checked,
        y,
        info,
        classes,
    )
    return _CheckedData(
        info=info,
        algorithms=algorithms,
        techniques=techniques,
        X=X_checked,
        y=y,
        classes=classes,
        counts=counts,
        missing_seen=missing_seen,
        n_features_in=probe.n_features_in_,
        feature_names_in=getattr(probe, "feature_names_in_", None),
        sample_weight=sample_weight,
    )


def build_plan(est, X, y, *, fit_params=None):
    """The :class:`SearchPlan` of ``est`` (an ``AutoBalancedClassifier``,
    read, not changed) on ``X, y``; raises before any work when the settings
    or the data cannot make a search."""
    # The time budget counts from here: validation is part of the fit.
    clock = _budget.default_clock
    clock_start, started_at = clock(), datetime.datetime.now()
    check_search_params(est)
    fit_params = dict(fit_params or {})
    data = _checked_data(est, X, y, fit_params.get("sample_weight"))
    weight = data.sample_weight
    if "sample_weight" in fit_params:
        fit_params["sample_weight"] = weight
    info, algorithms, techniques = data.info, data.algorithms, data.techniques
    X_checked, y, classes, counts = data.X, data.y, data.classes, data.counts
    missing_seen = data.missing_seen
    rng = check_random_state(est.random_state)
    study_seed, cv_seed, model_seed = (
        int(s) for s in rng.randint(0, 2**31 - 1, size=3)
    )
    # Drawn after the others, so that the seeds above do not depend on
    # whether the data is subsampled.
    groups = check_groups(fit_params.get("groups"), len(y))
    subsample_seed = rng.randint(0, 2**31 - 1)
    if groups is None:
        rows = search_subsample(
            y, classes, counts, _max_search_samples(est), subsample_seed
        )
    else:
        fit_params["groups"] = groups
        rows = group_subsample(
            y, groups, classes, counts, _max_search_samples(est), subsample_seed
        )
    X_full = X if isinstance(X, pd.DataFrame) else X_checked
    y_full, full_counts = y, counts
    search_weight = weight
    groups_search = groups
    if rows is not None:
        X_checked, y = take_rows(X_checked, rows), y[rows]
        counts = np.array([np.sum(y == c) for c in classes])
        search_weight = None if weight is None else weight[rows]
        groups_search = None if groups is None else groups[rows]
    # The subsample's floor of rows per class shifts its class prior;
    # what is fitted on its out-of-fold predictions is moved back.
    prior = ClassPrior.from_labels(classes, y_full, y, weight, search_weight)
    cv, splits = make_splits(est.cv, X_checked, y, counts, cv_seed, groups_search)
    check_fold_weights(splits, y, search_weight, classes)
    context = search_context(
        est, classes, counts, y, splits, X_checked, model_seed, info, missing_seen
    )
    algorithms = keep_samplers_from_missing(
        algorithms, techniques, context, missing_seen
    )
    if rows is not None:
        # Size limits of costly techniques apply to the refit, on every row.
        context = dataclasses.replace(context, refit_class_counts=full_counts)
    left_algorithms, left_techniques = {}, {}
    if weight is not None:
        algorithms, techniques, left_algorithms, left_techniques = leave_out_unweighted(
            algorithms, techniques, context
        )
    space = SearchSpace(techniques, algorithms, context)
    # Never unweighted silently: what cannot take the weights is named.
    space.excluded.update(left_techniques)
    warn_size_exclusions(space, len(y_full))
    warn_weight_exclusions(left_algorithms, left_techniques)
    scorer = check_scoring(est, scoring=est.scoring or default_scoring(classes))
    # Pass DataFrames through so the models see column names.
    X_search = X_full if rows is None else take_rows(X_full, rows)
    budget = Budget(
        est.timeout,
        space=space,
        n_samples=len(y_full),
        n_train=float(np.mean([len(train) for train, _ in splits])),
        clock=clock,
        start=clock_start,
        started_at=started_at,
        data_bytes=data_nbytes(X_full),
        search_rows=len(y),
    )
    settings = search_settings(est, techniques, algorithms)
    if groups_search is not None:
        # Other groups make other folds: a stored study is resumed only with
        # the same groups (without groups, the fingerprint is as before).
        settings["groups"] = groups_search
    ensemble = ensembling(est, classes, space)
    decision_rule = est.calibration not in (None, "off") or est.threshold is not None
    objective = Objective(
        space,
        X_search,
        y,
        splits,
        scorer,
        n_jobs=est.n_jobs,
        labels=classes if len(classes) > 2 else None,
        keep_oof=bool(ensemble or decision_rule),
        library_size=LIBRARY_SIZE if ensemble in ("greedy", "auto") else 0,
        keep_config=None if ensemble is None else guarded_config(space, len(y_full)),
        budget=budget,
        auc=est.scoring in (None, default_scoring(classes)),
        sample_weight=search_weight,
    )
    return SearchPlan(
        space=space,
        context=context,
        prior=prior,
        feature_info=info,
        cv=cv,
        splits=splits,
        scorer=scorer,
        budget=budget,
        fingerprint=data_fingerprint(
            X_search, y, settings, sample_weight=search_weight
        ),
        objective=objective,
        classes=classes,
        X_search=X_search,
        y_search=y,
        X_full=X_full,
        y_full=y_full,
        rows=rows,
        n_trials=n_trials_for(est, counts),
        study_seed=study_seed,
        ensembling=ensemble,
        # predict lets missing values through when fit saw the models take them.
        accepts_nan=info.has_nan or allow_nan(est, algorithms),
        n_features_in=data.n_features_in,
        feature_names_in=data.feature_names_in,
        fit_params=MappingProxyType(fit_params),
        groups_search=groups_search,
        excluded_algorithms=MappingProxyType(left_algorithms),
        **starting_configs(est, space),
        early_stop=early_stop_for(est, budget),
    )


def early_stop_for(est, budget):
    """An :class:`~autobalance._early_stop.EarlyStop` for a timed in-memory
    search with ``n_trials="auto"``; ``None`` otherwise: an explicit
    ``n_trials`` (or ``None``: the whole ``timeout``) is what the user asked
    for, and a stored study's trials are shared by processes that each see
    only part of them."""
    if est.timeout is None or est.n_trials != "auto" or est.storage is not None:
        return None
    return EarlyStop(budget)


def starting_configs(est, space):
    """The enqueued first trials, as :class:`SearchPlan` fields.

    :meth:`SearchSpace.starting_configs`, except inside
    :func:`~autobalance._portfolio.using_portfolio`, where the default search
    (no ``estimator``, ``techniques`` or ``param_distributions``) starts with
    that learned portfolio, completed so that every model and the balanced
    random forest is scored
    (:func:`~autobalance._portfolio.default_starting_configs`). A search the
    user shaped never does: a portfolio learned on the default space says
    nothing about theirs.
    """
    shaped = (est.estimator, est.techniques, est.param_distributions)
    if active_portfolio() is not None and all(c is None for c in shaped):
        configs, skipped = default_starting_configs(space)
    else:
        configs, skipped = space.starting_configs(), []
    return {"starting_configs": tuple(configs), "starting_skipped": tuple(skipped)}
