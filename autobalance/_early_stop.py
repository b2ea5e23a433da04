"""Stopping a timed search early when more trials would hardly gain anything.

A timed in-memory search with ``n_trials="auto"`` stops before its budget
when the best score has stopped moving: over the last half of the time
elapsed (the window), the best score's gain per second, extrapolated to the
time the search has left, is below :data:`NEGLIGIBLE_GAIN`. The rule is
only applied once the fixed trials (the screening round, the promoted setups
and the starting points, all enqueued before TPE) have run, and once the
window holds at least :data:`MIN_TRIALS_IN_WINDOW` full-fidelity trials, so
that a flat stretch is evidence, not a lull between two slow trials.

A stored (or distributed) study never stops early: its workers share the
trial budget and each ``fit`` resumes it, so no one process sees the whole
history. Neither does a search without ``timeout`` or with an explicit
``n_trials`` (an int or ``None``): the user asked for that many trials, or for
the whole budget.
"""

from __future__ import annotations

import logging
import math

from optuna.trial import TrialState

from ._attrs import ATTR_MEMBERS, EARLY_STOP_ATTR
from ._results import stop_reason

__all__ = [
    "FLAT_SCORE",
    "MIN_TRIALS_IN_WINDOW",
    "NEGLIGIBLE_GAIN",
    "REPEATED_SETUPS",
    "EarlyStop",
    "stop_detail",
    "stop_sentence",
]

#: Full-fidelity trials the window (the last half of the elapsed time) must
#: hold before a flat best score counts as evidence.
MIN_TRIALS_IN_WINDOW = 10
#: Expected gain (in the score's units: 0.001 of ROC AUC by default) below
#: which further trials are not worth their time.
NEGLIGIBLE_GAIN = 0.001
#: ``reason`` of the early-stop record when the best score stopped moving ...
FLAT_SCORE = "flat_score"
#: ... and when the sampler proposed only setups already scored, many in a
#: row (recorded by the study runner, ``_study``): any search, timed or not,
#: whose space holds fewer distinct setups than it asked trials of.
REPEATED_SETUPS = "repeated_setups"
#: The window is this share of the elapsed time, ending now.
WINDOW_SHARE = 0.5

logger = logging.getLogger(__name__)


def stop_detail(history, elapsed, remaining, fixed_done):
    """Whether to stop the search now, and why.

    Parameters
    ----------
    history : list of (float, float)
        ``(seconds since the search started, value)`` of each full-fidelity
        trial that ran, in completion order; ``value`` is NaN for a trial
        that ran but has no score (pruned): it counts as a trial of the
        window that gained nothing.
    elapsed : float
        Seconds since the search started.
    remaining : float
        Seconds the search may still use.
    fixed_done : bool
        Whether the trials enqueued before TPE (screening round, promoted
        setups, starting points) have all run.

    Returns
    -------
    detail : dict or None
        ``None`` to go on; else the decision: ``expected_gain`` (the gain
        rate over the window times ``remaining_seconds``), ``window_seconds``,
        ``trials_in_window``, ``gain_in_window`` (the best score at the end
        of the window minus the best before it; the first score in the
        window when none came before), ``remaining_seconds`` and ``best``.

    Examples
    --------
    >>> flat = [(10.0 + i, 0.8) for i in range(12)]
    >>> stop_detail(flat, elapsed=22.0, remaining=30.0, fixed_done=True)["best"]
    0.8
    >>> stop_detail(flat, elapsed=22.0, remaining=30.0, fixed_done=False) is None
    True
    """
    if not fixed_done or elapsed <= 0 or not math.isfinite(remaining):
        return None
    window = WINDOW_SHARE * elapsed
    start = elapsed - window
    before = [v for t, v in history if t < start and not math.isnan(v)]
    inside = [v for t, v in history if start <= t <= elapsed]
    if len(inside) < MIN_TRIALS_IN_WINDOW:
        return None
    scored = [v for v in inside if not math.isnan(v)]
    if not before and not scored:
        return None  # no score at all yet: nothing to extrapolate from
    best = max(before + scored)
    # Without a score before the window, its first score is the baseline
    # (underestimates the gain by the first trial's, never overestimates).
    baseline = max(before) if before else scored[0]
    gain = best - baseline
    remaining = max(float(remaining), 0.0)
    expected = gain / window * remaining
    if expected >= NEGLIGIBLE_GAIN:
        return None
    return {
        "expected_gain": float(expected),
        "window_seconds": float(window),
        "trials_in_window": len(inside),
        "gain_in_window": float(gain),
        "remaining_seconds": float(remaining),
        "best": float(best),
    }


def stop_sentence(detail):
    """One sentence saying why a search stopped early, from its record
    (``search_progress_["stop_detail"]``).

    Examples
    --------
    >>> stop_sentence({"reason": REPEATED_SETUPS, "repeats_in_a_row": 10,
    ...                "trial_number": 14})[:46]
    'The search stopped early, after trial 14: the '
    """
    if detail.get("reason") == REPEATED_SETUPS:
        return (
            f"The search stopped early, after trial {detail['trial_number']}: the "
            f"sampler proposed {detail['repeats_in_a_row']} setups in a row that "
            "had already been scored (the space holds fewer distinct setups than "
            "trials were asked for)."
        )
    nan = float("nan")
    return (
        f"The search stopped early, after {detail.get('elapsed_seconds', nan):.1f}"
        f" s: the expected gain of the {detail.get('remaining_seconds', nan):.1f} s "
        f"left was {detail.get('expected_gain', nan):.4f}."
    )


def _full_fidelity(trial):
    """Whether ``trial`` ran folds of one setup on all the search's rows:
    complete or pruned by the pruner, not a screening trial, a repeated setup
    (it ran nothing) or the ensemble."""
    # A pruned trial ran folds and lost to the median: a trial without gain.
    # One the budget refused or stopped ran out of time, not out of promise.
    return ATTR_MEMBERS not in trial.user_attrs and stop_reason(trial) in (
        "complete",
        "pruned",
    )


class EarlyStop:
    """The early-stopping rule of one timed search, called after each trial.

    Parameters
    ----------
    budget : Budget
        The search's budget: its clock times the trials, and its
        ``search_remaining`` is the time left to extrapolate to.

    Attributes
    ----------
    history : list of (float, float)
        What :func:`stop_detail` reads: the full-fidelity trials so far.
    detail : dict or None
        The decision once the rule stopped the search (also in the study's
        user attribute :data:`~autobalance._attrs.EARLY_STOP_ATTR`).
    armed : bool
        Set by the study runner once the fixed trials are enqueued; until
        then (the screening round) the rule is not applied.
    """

    def __init__(self, budget):
        self.budget = budget
        self.history = []
        self.detail = None
        self.armed = False

    def __call__(self, study, trial):
        """Record ``trial``; returns whether the search should stop now
        (then records the decision on ``study`` and logs it)."""
        if self.detail is not None:
            return True
        if not _full_fidelity(trial):
            # No new evidence (and a trial that ran no fold took no time).
            return False
        now = self.budget.clock() - self.budget.start
        value = trial.value if trial.state == TrialState.COMPLETE else None
        self.history.append((now, math.nan if value is None else float(value)))
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        detail = stop_detail(
            self.history,
            elapsed=now,
            remaining=self.budget.search_remaining(),
            fixed_done=self.armed and not waiting,
        )
        if detail is None:
            return False
        detail = {
            **detail,
            "reason": FLAT_SCORE,
            "trial_number": trial.number,
            "elapsed_seconds": now,
        }
        self.detail = detail
        study.set_user_attr(EARLY_STOP_ATTR, detail)
        logger.info(
            "Stopping the search early after %.1f s: the best score (%.4f) "
            "gained %.4f over the last %.1f s (%d trials), so the %.1f s left "
            "would be expected to gain %.5f, below %g.",
            now,
            detail["best"],
            detail["gain_in_window"],
            detail["window_seconds"],
            detail["trials_in_window"],
            detail["remaining_seconds"],
            detail["expected_gain"],
            NEGLIGIBLE_GAIN,
        )
        return True
