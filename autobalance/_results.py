"""Trials -> ``cv_results_`` in scikit-learn's layout."""

from __future__ import annotations

import datetime
import warnings

import numpy as np
from scipy.stats import rankdata

from ._attrs import (
    ATTR_ALGORITHM,
    ATTR_BUDGET_REFUSED,
    ATTR_DUPLICATE,
    ATTR_FAIL,
    ATTR_FAMILY,
    ATTR_FIDELITY_ROWS,
    ATTR_FIDELITY_TREES,
    ATTR_FIT_TIMES,
    ATTR_MEMBERS,
    ATTR_PARAMS,
    ATTR_RECALLS,
    ATTR_SCORE_TIMES,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
    ATTR_TECHNIQUE,
    OUT_OF_TIME,
)

__all__ = [
    "PROGRESS_FRACTIONS",
    "STOP_REASONS",
    "search_progress",
    "stop_reason",
    "trials_to_cv_results",
]

#: The values of ``cv_results_["stop_reason"]``.
STOP_REASONS = (
    "complete",
    "pruned",
    "failed",
    "out_of_time",
    "duplicate",
    "screened",
)


def _padded(values, n_splits):
    out = np.full(n_splits, np.nan)
    if values:
        values = list(values)[:n_splits]
        out[: len(values)] = values
    return out


def trial_params(trial):
    """The readable parameters of a trial, as in ``best_params_``."""
    params = {
        "technique": trial.user_attrs.get(ATTR_TECHNIQUE),
        "algorithm": trial.user_attrs.get(ATTR_ALGORITHM),
    }
    params.update(trial.user_attrs.get(ATTR_PARAMS) or {})
    return params


def stop_reason(trial):
    """Why ``trial`` stopped: ``"complete"`` (every fold ran), ``"duplicate"``
    (a repeated setup, whose scores were reused), ``"pruned"`` (the pruner
    stopped it), ``"out_of_time"`` (the time budget stopped it before a fold),
    ``"screened"`` (a screening trial of a timed search, scored on fewer rows
    of each training fold, see ``fidelity_rows``) or ``"failed"`` (its
    pipeline or the scorer raised)."""
    attrs = trial.user_attrs
    if trial.state.name == "FAIL":
        return "failed"
    if trial.state.name == "PRUNED":
        if attrs.get(ATTR_FAIL) == OUT_OF_TIME or attrs.get(ATTR_BUDGET_REFUSED):
            return "out_of_time"
        if attrs.get(ATTR_SCREEN_ROWS) is not None:
            return "screened"
        return "pruned"
    if ATTR_DUPLICATE in attrs:
        return "duplicate"
    return "complete"


def _numbers(trials, attr):
    """A float column of a trial attribute, NaN where it is missing."""
    values = [t.user_attrs.get(attr) for t in trials]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def trials_to_cv_results(trials, n_splits, classes=None):
    """Build ``cv_results_`` from finished trials (running ones are skipped).

    Pruned and failed trials keep the fold scores they got, but their
    ``mean_test_score`` is NaN and they rank after every completed trial, as a
    failed fit does in scikit-learn's searches.
    """
    trials = [
        t for t in trials if t.state.is_finished() and ATTR_TECHNIQUE in t.user_attrs
    ]
    n = len(trials)
    results = {}
    params = [trial_params(t) for t in trials]
    results["params"] = params

    names = []
    for p in params:
        for k in p:
            if k not in names:
                names.append(k)
    for name in names:
        column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
        for i, p in enumerate(params):
            if name in p:
                column[i] = p[name]
        results[f"param_{name}"] = column

    scores = (
        np.vstack([_padded(t.user_attrs.get(ATTR_SCORES), n_splits) for t in trials])
        if n
        else np.empty((0, n_splits))
    )
    complete = np.array([t.state.name == "COMPLETE" for t in trials], dtype=bool)
    for i in range(n_splits):
        results[f"split{i}_test_score"] = scores[:, i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        mean = np.nanmean(scores, axis=1) if n else np.empty(0)
        std = np.nanstd(scores, axis=1) if n else np.empty(0)
    mean[~complete] = np.nan
    std[~complete] = np.nan
    results["mean_test_score"] = mean
    results["std_test_score"] = std
    if n:
        finite = np.where(np.isfinite(mean), mean, -np.inf)
        results["rank_test_score"] = rankdata(-finite, method="min").astype(np.int32)
    else:
        results["rank_test_score"] = np.empty(0, dtype=np.int32)

    for key, attr in (("fit", ATTR_FIT_TIMES), ("score", ATTR_SCORE_TIMES)):
        times = (
            np.vstack([_padded(t.user_attrs.get(attr), n_splits) for t in trials])
            if n
            else np.empty((0, n_splits))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            results[f"mean_{key}_time"] = (
                np.nanmean(times, axis=1) if n else np.empty(0)
            )
            results[f"std_{key}_time"] = np.nanstd(times, axis=1) if n else np.empty(0)

    if classes is not None and any(ATTR_RECALLS in t.user_attrs for t in trials):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for j, label in enumerate(classes):
                per_trial = [
                    np.nanmean([r[j] for r in t.user_attrs[ATTR_RECALLS]])
                    if t.user_attrs.get(ATTR_RECALLS)
                    else np.nan
                    for t in trials
                ]
                results[f"mean_test_recall_{label}"] = np.array(per_trial)

    results["technique"] = np.array([p["technique"] for p in params], dtype=object)
    results["family"] = np.array(
        [t.user_attrs.get(ATTR_FAMILY) for t in trials], dtype=object
    )
    results["state"] = np.array([t.state.name for t in trials], dtype=object)
    results["fail_reason"] = np.array(
        [t.user_attrs.get(ATTR_FAIL, "") for t in trials], dtype=object
    )
    results["stop_reason"] = np.array([stop_reason(t) for t in trials], dtype=object)
    results["fidelity_rows"] = _numbers(trials, ATTR_FIDELITY_ROWS)
    results["fidelity_trees"] = _numbers(trials, ATTR_FIDELITY_TREES)
    results["trial_number"] = np.array([t.number for t in trials], dtype=np.int64)
    return results


#: The shares of the budget at which ``search_progress_`` reports the best score.
PROGRESS_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def search_progress(trials, start, *, timeout=None, end=None):
    """The best score the search had reached at shares of its budget.

    Parameters
    ----------
    trials : list of optuna.trial.FrozenTrial
        The trials of the search.
    start : datetime.datetime
        When the fit started, on the clock of Optuna's ``datetime_complete``
        (local wall time). A trial completed before it (an earlier fit of a
        resumed stored study) counts as reached at the start.
    timeout : float or None, default=None
        The fit's ``timeout``: the budget the shares are of. ``None``: the
        shares are of the time from ``start`` to ``end``.
    end : datetime.datetime or None, default=None
        When the search ended; now by default. Only used without ``timeout``.

    Returns
    -------
    progress : dict
        ``fractions`` (:data:`PROGRESS_FRACTIONS`), ``seconds`` (those shares
        of the budget), ``best_score`` (the best ``value`` of a trial whose
        ``stop_reason`` is ``"complete"``, completed by then; NaN before the
        first) and ``basis`` (``"timeout"`` or ``"elapsed"``). The averaged
        ensemble is not a trial of the search and does not count: the scores
        are on the scale of one setup's mean inner score.
    """
    if timeout is None:
        end = datetime.datetime.now() if end is None else end
        total, basis = max((end - start).total_seconds(), 0.0), "elapsed"
    else:
        total, basis = float(timeout), "timeout"
    reached = [
        ((t.datetime_complete - start).total_seconds(), float(t.value))
        for t in trials
        if stop_reason(t) == "complete"
        and ATTR_MEMBERS not in t.user_attrs
        and t.datetime_complete is not None
        and t.value is not None
        and np.isfinite(t.value)
    ]
    seconds = [share * total for share in PROGRESS_FRACTIONS]
    best = []
    for limit in seconds:
        values = [value for at, value in reached if at <= limit]
        best.append(max(values) if values else float("nan"))
    return {
        "fractions": list(PROGRESS_FRACTIONS),
        "seconds": seconds,
        "best_score": best,
        "basis": basis,
    }
