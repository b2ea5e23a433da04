"""Nested cross-validation: the whole search inside each outer training fold,
the refitted winner scored on the outer test fold, next to the ``none``
baseline fitted and scored on the very same split."""

from __future__ import annotations

import time
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, check_cv
from sklearn.preprocessing import label_binarize
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from ._build import fit_weighted
from ._classifier import AutoBalancedClassifier
from ._compat import take_rows
from ._plan import build_plan
from ._stats import (
    TESTS,
    check_test,
    corrected_std_error,
    paired_p_value,
)
from ._validation import (
    check_fold_weights,
    check_group_folds,
    check_groups,
    check_groups_given,
    check_groups_kept,
    check_sample_weight,
)

__all__ = ["METRICS", "NestedCVResult", "nested_cross_validate"]

# metric -> greater is better
METRICS = {
    "roc_auc": True,
    "average_precision": True,
    "brier_score": False,
    "log_loss": False,
}


def probability_metrics(y_true, proba, classes, pos_label, sample_weight=None):
    """ROC AUC, average precision, Brier score and log loss of ``proba``
    (each row weighing ``sample_weight``, ones when ``None``).

    Binary: for ``pos_label``. Multi-class: ROC AUC one-vs-rest macro, average
    precision macro over one-vs-rest problems, the multi-class Brier score
    (halved, in [0, 1]) and log loss.
    """
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    w = sample_weight
    if len(classes) == 2:
        pos = int(np.flatnonzero(classes == pos_label)[0])
        is_pos = y_true == pos_label
        return {
            "roc_auc": float(roc_auc_score(is_pos, proba[:, pos], sample_weight=w)),
            "average_precision": float(
                average_precision_score(is_pos, proba[:, pos], sample_weight=w)
            ),
            "brier_score": float(
                brier_score_loss(is_pos, proba[:, pos], sample_weight=w)
            ),
            "log_loss": float(log_loss(y_true, proba, labels=classes, sample_weight=w)),
        }
    onehot = label_binarize(y_true, classes=classes)
    return {
        "roc_auc": float(
            roc_auc_score(
                y_true,
                proba,
                multi_class="ovr",
                average="macro",
                labels=classes,
                sample_weight=w,
            )
        ),
        "average_precision": float(
            average_precision_score(onehot, proba, average="macro", sample_weight=w)
        ),
        "brier_score": float(
            brier_score_loss(y_true, proba, labels=classes, sample_weight=w)
        ),
        "log_loss": float(log_loss(y_true, proba, labels=classes, sample_weight=w)),
    }


def _label(value):
    return repr(value.item() if isinstance(value, np.generic) else value)


def _outer_splits(outer_cv, X, y, seed, groups=None):
    if isinstance(outer_cv, Integral) and not isinstance(outer_cv, bool):
        if outer_cv < 2:
            raise ValueError(f"outer_cv={outer_cv} must be at least 2.")
        kind = StratifiedKFold if groups is None else StratifiedGroupKFold
        if groups is not None:
            check_group_folds(y, groups, np.unique(y), int(outer_cv), param="outer_cv")
        splitter = kind(n_splits=int(outer_cv), shuffle=True, random_state=seed)
    else:
        splitter = check_cv(outer_cv, y, classifier=True)
        check_groups_given(splitter, groups, param="outer_cv")
    if groups is None:
        return splitter, [
            (np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y)
        ]
    splits = [
        (np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups)
    ]
    check_groups_kept(splits, groups, splitter, name="Outer fold", param="outer_cv")
    return splitter, splits


def _check_folds(splits, y, classes, inner_cv, groups=None):
    for i, (train, test) in enumerate(splits):
        for part, idx in (("test", test), ("training", train)):
            missing = np.setdiff1d(classes, np.unique(y[idx]))
            if len(missing):
                raise ValueError(
                    f"Outer fold {i} has no row of class {_label(missing[0])} in its "
                    f"{part} part, so ROC AUC and average precision are undefined "
                    "there. Use fewer outer folds (e.g. outer_cv=3) or a stratified "
                    "splitter."
                )
        if isinstance(inner_cv, Integral):
            smallest = min(int(np.sum(y[train] == c)) for c in classes)
            if smallest < inner_cv:
                raise ValueError(
                    f"The training part of outer fold {i} has only {smallest} rows of "
                    f"its smallest class, fewer than the estimator's inner cv="
                    f"{inner_cv}. Lower the estimator's cv or use fewer outer folds."
                )
            if groups is not None:
                check_group_folds(
                    y[train],
                    groups[train],
                    classes,
                    inner_cv,
                    where=f"The training part of outer fold {i}",
                )


def _baseline_params(search):
    """The ``none`` setup to compare with: the best completed ``none`` trial of
    the inner search (with one model, the model as it is); if no ``none`` trial
    completed, ``none`` on the first model."""
    res = search.cv_results_
    best, best_score = None, -np.inf
    for i, technique in enumerate(res["technique"]):
        score = res["mean_test_score"][i]
        if technique == "none" and res["state"][i] == "COMPLETE" and score > best_score:
            best, best_score = i, score
    if best is not None:
        return dict(res["params"][best]), float(best_score)
    return search.search_space_.default_config("none").as_params(), np.nan


def _fit_outer_fold(
    estimator,
    X,
    y,
    train,
    test,
    classes,
    pos_label,
    minority,
    baseline,
    keep,
    metadata,
):
    X_train, y_train = take_rows(X, train), y[train]
    X_test, y_test = take_rows(X, test), y[test]
    # The search's metadata of its training rows, as fit's keywords.
    fit_params = {k: v[train] for k, v in metadata.items() if v is not None}
    weight = metadata["sample_weight"]
    w_train = w_test = None
    if weight is not None:
        w_train, w_test = weight[train], weight[test]
    start = time.perf_counter()
    search = estimator.fit(X_train, y_train, **fit_params)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    proba = search.predict_proba(X_test)
    score_time = time.perf_counter() - start
    complete = search.cv_results_["state"] == "COMPLETE"
    record = {
        "n_train": len(train),
        "n_test": len(test),
        "n_test_minority": int(np.sum(y_test == minority)),
        "technique": search.best_technique_,
        "algorithm": search.best_algorithm_,
        "params": {
            k: v
            for k, v in search.best_params_.items()
            if k not in ("technique", "algorithm")
        },
        "inner_score": search.best_score_,
        "n_trials_complete": int(complete.sum()),
        "fit_time": fit_time,
        "score_time": score_time,
        **probability_metrics(y_test, proba, classes, pos_label, w_test),
    }
    if baseline:
        params, inner = _baseline_params(search)
        record["baseline_algorithm"] = params["algorithm"]
        record["baseline_inner_score"] = inner
        if params == search.best_params_:
            # The winner is the baseline: same setup, same seeds, same fit.
            base_proba, base_time = proba, search.refit_time_
        else:
            model = search._estimator_from_params(params)
            start = time.perf_counter()
            fit_weighted(model, X_train, y_train, w_train)
            base_time = time.perf_counter() - start
            base_proba = model.predict_proba(X_test)
        record["baseline_fit_time"] = base_time
        for name, value in probability_metrics(
            y_test, base_proba, classes, pos_label, w_test
        ).items():
            record[f"baseline_{name}"] = value
    return record, (search if keep else None)


class NestedCVResult:
    """Per-outer-fold results of :func:`nested_cross_validate`.

    Attributes
    ----------
    folds : list of dict
        One record per outer fold (see :meth:`to_frame` for the keys).
    splits : list of (ndarray, ndarray)
        The outer (train, test) row indices.
    outer_cv : cross-validation splitter
        The outer splitter.
    classes : ndarray
        Class labels.
    pos_label : object
        The class scored as positive by the binary metrics.
    estimators : list of AutoBalancedClassifier or None
        The estimator fitted on each outer training fold, with
        ``return_estimators=True``.
    test : str
        The paired test of :meth:`summary`.

    Examples
    --------
    See :func:`nested_cross_validate`.
    """

    def __init__(
        self,
        folds,
        splits,
        outer_cv,
        classes,
        pos_label,
        estimators=None,
        test="corrected_t",
    ):
        self.folds = folds
        self.splits = splits
        self.outer_cv = outer_cv
        self.classes = classes
        self.pos_label = pos_label
        self.estimators = estimators
        self.test = test

    @property
    def has_baseline(self):
        return bool(self.folds) and "baseline_roc_auc" in self.folds[0]

    def to_frame(self):
        """One row per outer fold.

        Columns: ``fold``, ``n_train``, ``n_test``, ``n_test_minority`` (rows of
        the least frequent class in the test fold), ``technique``, ``algorithm``,
        ``params``, ``inner_score`` (best mean inner CV score),
        ``n_trials_complete``, ``fit_time`` (search and refit), ``score_time``,
        the metrics ``roc_auc``, ``average_precision``, ``brier_score``,
        ``log_loss``; with the baseline, ``baseline_algorithm``,
        ``baseline_inner_score``, ``baseline_fit_time`` and ``baseline_<metric>``.

        Returns
        -------
        frame : pandas.DataFrame
        """
        frame = pd.DataFrame(self.folds)
        frame.insert(0, "fold", np.arange(len(frame)))
        return frame

    def _test_train_ratio(self):
        return float(np.mean([len(te) / len(tr) for tr, te in self.splits]))

    def summary(self):
        """Mean and spread of each metric over the outer folds, for the chosen
        setup and the ``none`` baseline, with the paired difference.

        Columns: ``mean``, ``std``, ``std_error`` (corrected for overlapping
        training sets, Nadeau & Bengio), and with the baseline ``none_mean``,
        ``none_std``, ``diff_mean`` (chosen minus none), ``wins`` (folds where
        the chosen setup is better), ``p_value`` (the paired test over outer
        folds named by ``test``).

        Returns
        -------
        summary : pandas.DataFrame
            One row per metric.
        """
        frame = self.to_frame()
        ratio = self._test_train_ratio()
        rows = {}
        for metric, greater in METRICS.items():
            values = frame[metric].to_numpy(dtype=float)
            row = {
                "mean": values.mean(),
                "std": values.std(ddof=1) if len(values) > 1 else np.nan,
                "std_error": corrected_std_error(values, ratio),
            }
            if self.has_baseline:
                base = frame[f"baseline_{metric}"].to_numpy(dtype=float)
                diff = values - base
                row.update(
                    none_mean=base.mean(),
                    none_std=base.std(ddof=1) if len(base) > 1 else np.nan,
                    diff_mean=diff.mean(),
                    wins=int(np.sum(diff > 0 if greater else diff < 0)),
                    p_value=paired_p_value(
                        values, base, test=self.test, test_train_ratio=ratio
                    ),
                )
            rows[metric] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.attrs["test"] = TESTS[self.test]
        out.attrs["n_folds"] = len(frame)
        return out

    @property
    def selection_stability(self):
        """How often each technique won across the outer folds.

        Returns
        -------
        stability : pandas.DataFrame
            Index ``technique``; columns ``count``, ``share`` and
            ``algorithms`` (the models it won with), most frequent first.
        """
        frame = self.to_frame()
        counts = frame["technique"].value_counts(sort=False)
        order = sorted(counts.index, key=lambda t: (-counts[t], str(t)))
        out = pd.DataFrame(
            {
                "count": [int(counts[t]) for t in order],
                "share": [counts[t] / len(frame) for t in order],
                "algorithms": [
                    sorted(set(frame.loc[frame["technique"] == t, "algorithm"]))
                    for t in order
                ],
            },
            index=pd.Index(order, name="technique"),
        )
        return out

    def __repr__(self):
        frame = self.to_frame()
        if frame.empty:
            return "NestedCVResult(no folds)"
        auc = frame["roc_auc"]
        text = (
            f"NestedCVResult({len(frame)} outer folds: ROC AUC {auc.mean():.3f} "
            f"+/- {auc.std(ddof=1):.3f}"
        )
        if self.has_baseline:
            base = frame["baseline_roc_auc"]
            text += f"; none {base.mean():.3f} +/- {base.std(ddof=1):.3f}"
        winners = ", ".join(
            f"{t} x{c}" for t, c in self.selection_stability["count"].items()
        )
        return text + f"; chosen: {winners})"


def nested_cross_validate(
    estimator,
    X,
    y,
    *,
    groups=None,
    sample_weight=None,
    outer_cv=5,
    baseline=True,
    pos_label=None,
    n_jobs=None,
    random_state=None,
    return_estimators=False,
    test="corrected_t",
):
    """Estimate how well the whole search generalises, with nested CV.

    For each outer fold, a fresh clone of ``estimator`` runs its complete
    search (its own inner CV, a new in-memory study) on the outer training part
    only; the refitted winner is then scored on the outer test part, which the
    search never saw. Selection is thereby scored on data it did not see,
    unlike ``best_score_``, which is optimistic.

    The ``none`` baseline is fitted on the same outer training part and scored
    on the same outer test part, so the gain from balancing is a paired
    comparison on identical splits. The baseline is the best ``none`` setup of
    that fold's inner search: with one model, the model as it is; with a
    portfolio, the model that did best without balancing, chosen on inner data
    only.

    Parameters
    ----------
    estimator : AutoBalancedClassifier
        The (unfitted or fitted) search to evaluate; it is cloned for every
        outer fold. A ``storage`` is dropped from the clones (each outer fold
        needs its own fresh study). Other classifiers: use
        :func:`sklearn.model_selection.cross_validate`.
    X : array-like of shape (n_samples, n_features)
        Data (array or DataFrame).
    y : array-like of shape (n_samples,)
        Class labels.
    groups : array-like of shape (n_samples,), default=None
        Group labels of the rows (a patient, a customer). The outer folds
        then keep every group on one side (an integer ``outer_cv`` gives a
        shuffled ``StratifiedGroupKFold``; a splitter that ignores groups is
        refused), and each outer fold's search gets the groups of its
        training part for its inner folds, as ``fit(X, y, groups=...)``.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights: each outer fold's search (and its baseline) is fitted
        with its training rows' weights, and the outer metrics are weighted
        by its test rows'. Validated as in
        :meth:`AutoBalancedClassifier.fit`.
    outer_cv : int or cross-validation splitter, default=5
        Outer folds. An integer gives a shuffled ``StratifiedKFold`` seeded by
        ``random_state`` (``StratifiedGroupKFold`` with ``groups``). Every
        outer fold must hold every class.
    baseline : bool, default=True
        Also fit and score the ``none`` baseline on each outer fold.
    pos_label : label or None, default=None
        Positive class of the binary metrics (average precision and Brier
        score); ``None`` picks the least frequent class. Ignored with more than
        two classes.
    n_jobs : int or None, default=None
        Outer folds run in parallel (joblib processes). The seeds of every fold
        are drawn before dispatch, so results equal a sequential run with the
        same ``random_state``. The estimator's own ``n_jobs`` still applies to
        its inner folds, inside each outer worker (joblib runs nested jobs in
        threads); parallelise one level to avoid oversubscribing the CPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds the outer folds and, when the estimator's ``random_state`` is not
        an integer, one seed per outer fold for its search.
    return_estimators : bool, default=False
        Keep the estimator fitted on each outer fold in ``estimators``.
    test : {"corrected_t", "wilcoxon"}, default="corrected_t"
        Paired test over outer folds used by :meth:`NestedCVResult.summary`.

    Returns
    -------
    result : NestedCVResult
        ``result.to_frame()`` has one row per outer fold (metrics, chosen
        technique, parameters, fit time, the baseline's metrics);
        ``result.summary()`` the mean, spread and paired comparison;
        ``result.selection_stability`` how often each technique won.

    Raises
    ------
    TypeError
        If ``estimator`` is not an AutoBalancedClassifier.
    ValueError
        If an outer fold lacks a class, or an outer training part has fewer
        rows of a class than the estimator's inner ``cv``; with ``groups``,
        if they have the wrong length or missing labels, fewer groups (of a
        class) than outer or inner folds, or the outer splitter ignores them.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, nested_cross_validate
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> search = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3,
    ...                                 random_state=0)
    >>> result = nested_cross_validate(search, X, y, outer_cv=3, random_state=0)
    >>> result.to_frame()[["technique", "roc_auc", "baseline_roc_auc"]].shape
    (3, 3)
    >>> int(result.selection_stability["count"].sum())
    3
    """
    if not isinstance(estimator, AutoBalancedClassifier):
        raise TypeError(
            "nested_cross_validate needs an AutoBalancedClassifier (it reports the "
            f"technique each outer fold chose); got {type(estimator).__name__}. "
            "For another classifier use sklearn.model_selection.cross_validate."
        )
    check_test(test)
    y = column_or_1d(np.asarray(y), warn=True)
    if len(y) != (X.shape[0] if hasattr(X, "shape") else len(X)):
        raise ValueError(
            "X and y have different numbers of rows; pass one label per row of X."
        )
    y_type = type_of_target(y, input_name="y")
    if y_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Unknown label type {y_type!r}: nested_cross_validate needs class labels."
        )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError("y has only one class; nested CV needs at least two.")
    # Bad weights are refused before any outer fold runs.
    sample_weight = check_sample_weight(sample_weight, y, classes)
    minority = classes[int(np.argmin(counts))]
    if pos_label is None:
        pos_label = minority
    elif pos_label not in classes:
        raise ValueError(
            f"pos_label={pos_label!r} is not a class of y; classes are "
            f"{[c.item() if isinstance(c, np.generic) else c for c in classes]}."
        )

    groups = check_groups(groups, len(y))
    metadata = {"groups": groups, "sample_weight": sample_weight}
    rng = check_random_state(random_state)
    outer_seed = int(rng.randint(0, 2**31 - 1))
    splitter, splits = _outer_splits(outer_cv, X, y, outer_seed, groups)
    _check_folds(splits, y, classes, estimator.cv, groups)
    check_fold_weights(splits, y, sample_weight, classes, cv_name="outer_cv")
    fold_seeds = rng.randint(0, 2**31 - 1, size=len(splits))

    if estimator.storage is not None:
        warnings.warn(
            "nested_cross_validate ignores the estimator's storage: each outer fold "
            "runs a fresh in-memory study so no study crosses folds.",
            UserWarning,
            stacklevel=2,
        )
    estimators = []
    for seed in fold_seeds:
        est = clone(estimator).set_params(
            storage=None, study_name=None, show_progress_bar=False
        )
        if not isinstance(estimator.random_state, Integral):
            est.set_params(random_state=int(seed))
        estimators.append(est)

    # The settings and the data are checked as the first outer fold's fit
    # checks them, before any fold runs: a mistake fails at once, not after
    # (or, with n_jobs, alongside) the first outer search.
    first_train = splits[0][0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each fold's fit warns for itself
        build_plan(estimators[0], take_rows(X, first_train), y[first_train])
    jobs = (
        delayed(_fit_outer_fold)(
            est,
            X,
            y,
            train,
            test_idx,
            classes,
            pos_label,
            minority,
            baseline,
            return_estimators,
            metadata,
        )
        for est, (train, test_idx) in zip(estimators, splits, strict=True)
    )
    results = Parallel(n_jobs=n_jobs)(jobs)
    return NestedCVResult(
        folds=[record for record, _ in results],
        splits=splits,
        outer_cv=splitter,
        classes=classes,
        pos_label=pos_label,
        estimators=[fitted for _, fitted in results] if return_estimators else None,
        test=test,
    )
