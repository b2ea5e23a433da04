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
    ATTR_PILOT_ROWS,
    ATTR_PILOT_TIME,
    ATTR_RECALLS,
    ATTR_SCORE_TIMES,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
    ATTR_TECHNIQUE,
    EARLY_STOP_ATTR,
    OUT_OF_TIME,
    SEARCH_END_ATTR,
)

__all__ = [
    "PROGRESS_FRACTIONS",
    "STOP_REASONS",
    "search_progress",
    "search_results",
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


def trials_to_cv_results(trials, n_splits, classes=None, early_stop=None):
    """Build ``cv_results_`` from finished trials (running ones are skipped).

    Pruned and failed trials keep the fold scores they got, but their
    ``mean_test_score`` is NaN and they rank after every completed trial, as a
    failed fit does in scikit-learn's searches. ``early_stop``: the decision
    of a search that stopped early (its ``trial_number`` is the trial after
    which it stopped, True in the ``early_stop`` column), or ``None``.
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
    results["pilot_rows"] = _numbers(trials, ATTR_PILOT_ROWS)
    results["pilot_fit_time"] = _numbers(trials, ATTR_PILOT_TIME)
    results["trial_number"] = np.array([t.number for t in trials], dtype=np.int64)
    # One entry per trial, as every column: True on the trial after which the
    # search stopped early (at most one), the why in search_progress_.
    stopped_after = None if early_stop is None else early_stop.get("trial_number")
    results["early_stop"] = np.array(
        [stopped_after is not None and t.number == stopped_after for t in trials],
        dtype=bool,
    )
    return results


#: The shares of the budget at which ``search_progress_`` reports the best score.
PROGRESS_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def _screening_score(trial):
    """The mean screening score of a screening trial with every fold scored
    (as the round ranks them), else ``None``."""
    scores = trial.user_attrs.get(ATTR_SCORES)
    if stop_reason(trial) != "screened" or not scores:
        return None
    scores = np.asarray(scores, dtype=float)
    return float(scores.mean()) if np.isfinite(scores).all() else None


def _running_best(reached, seconds):
    best = []
    for limit in seconds:
        values = [value for at, value in reached if at <= limit]
        best.append(max(values) if values else float("nan"))
    return best


def search_progress(
    trials, start, *, timeout=None, end=None, early_stop=None, ended=None
):
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
        When the search ended; now by default.
    early_stop : dict or None, default=None
        The decision of a search that stopped early (the study's
        :data:`~autobalance._attrs.EARLY_STOP_ATTR`), or ``None``.
    ended : str or None, default=None
        What ended the search (the study's
        :data:`~autobalance._attrs.SEARCH_END_ATTR`), or ``None`` (unknown).

    Returns
    -------
    progress : dict
        ``fractions`` (:data:`PROGRESS_FRACTIONS`), ``seconds`` (those shares
        of the budget), ``best_score`` (the best ``value`` of a trial whose
        ``stop_reason`` is ``"complete"``, completed by then; NaN before the
        first), ``screened_best_score`` (the same for the mean score of the
        screening trials, ``stop_reason`` ``"screened"``, on fewer rows: not
        comparable with ``best_score``), ``basis`` (``"timeout"`` or
        ``"elapsed"``), ``stopped_early`` (bool) and ``stop_detail`` (the
        early stop's decision, see
        :func:`~autobalance._early_stop.stop_detail`, or ``None``),
        ``ended`` (what ended the search: ``"n_trials"``, the trials asked for
        ran; ``"budget"``, the time left covered only the refit;
        ``"early_stop"``) and ``search_seconds`` (from the start of ``fit``
        to the end of the search). The averaged ensemble is not a trial of
        the search and does not count: the scores are on the scale of one
        setup's mean inner score.
    """
    end = datetime.datetime.now() if end is None else end
    elapsed = max((end - start).total_seconds(), 0.0)
    if timeout is None:
        total, basis = elapsed, "elapsed"
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
    screened = [
        ((t.datetime_complete - start).total_seconds(), _screening_score(t))
        for t in trials
        if t.datetime_complete is not None and _screening_score(t) is not None
    ]
    seconds = [share * total for share in PROGRESS_FRACTIONS]
    return {
        "fractions": list(PROGRESS_FRACTIONS),
        "seconds": seconds,
        "best_score": _running_best(reached, seconds),
        "screened_best_score": _running_best(screened, seconds),
        "basis": basis,
        "stopped_early": early_stop is not None,
        "stop_detail": None if early_stop is None else dict(early_stop),
        "ended": ended,
        "search_seconds": elapsed,
    }


def search_results(study, trials, plan, timeout):
    """``cv_results_`` and ``search_progress_`` of a search.

    Parameters
    ----------
    study : optuna.Study
        Its user attribute :data:`~autobalance._attrs.EARLY_STOP_ATTR` says
        whether and why the search stopped early.
    trials : list of optuna.trial.FrozenTrial
        The trials of the search (``_study.search_trials``).
    plan : SearchPlan
        Gives the folds (``splits``), ``classes`` and the budget's
        ``started_at``.
    timeout : float or None
        The fit's ``timeout``.

    Returns
    -------
    cv_results : dict
    search_progress : dict
    """
    early_stop = study.user_attrs.get(EARLY_STOP_ATTR)
    results = trials_to_cv_results(trials, len(plan.splits), plan.classes, early_stop)
    progress = search_progress(
        trials,
        plan.budget.started_at,
        timeout=timeout,
        early_stop=early_stop,
        ended=study.user_attrs.get(SEARCH_END_ATTR),
    )
    return results, progress
