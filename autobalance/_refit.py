"""The refit of the chosen setup: on every row, or, when a timed ``fit``
cannot afford that, on as many rows as the time left affords.

The search of large data runs on a subsample (``max_search_samples``), and
its cost model predicts the refit on every row from folds of a few thousand
rows: an extrapolation by a factor of hundreds, which errs long for models
with a large fixed cost (histogram gradient boosting: about 0.25 s on 3,200
rows and 3.4 s on a million, where ``rows ** 1.15`` from the first predicts
three minutes). Passing such a setup over for one whose refit is cheap to
predict returned a worse model on every large timed benchmark. So when the
refit on every row is predicted not to fit in the time left:

- it climbs a **ladder** of stratified subsamples (:func:`refit_subsample`,
  the data's class shares kept, so the refitted model's class prior is the
  data's and nothing fitted on the search's out-of-fold predictions moves):
  first the most rows predicted to fit in :data:`FIRST_SHARE` of the time
  left (never fewer than the search ran on, what the chosen setup's score
  was measured with), then up to :data:`STEP` times more rows at each step,
  each predicted from the step before (a short extrapolation, at the growth
  the last two steps measured, so a pessimistic cost model corrects itself),
  while :data:`STEP_MARGIN` times
  the prediction fits in the time left, up to every row;
- the last model fitted is the refit, and ``refit_rows_`` says on which rows.
  The steps before it are the price of not trusting a long extrapolation:
  with a fourfold step, about a quarter of the last step's time.

Without a ``timeout``, or when the cost model cannot predict the refit, the
refit uses every row, as before.
"""

from __future__ import annotations

import math
import time
import warnings

from ._build import fit_weighted
from ._compat import take_rows
from ._footprint import release_freed_memory
from ._subsample import refit_subsample
from ._threads import current_share

__all__ = ["FIRST_SHARE", "STEP", "STEP_MARGIN", "budgeted_refit", "refit_subsample"]

#: The first step of a ladder is predicted to take at most this share of the
#: time left (the cost model of a costly model errs long, rarely short).
FIRST_SHARE = 0.6
#: Each step trains on at most this many times the rows of the one before ...
STEP = 4.0
#: ... and runs only when this many times its prediction fits in the time
#: left (a fourfold extrapolation of a tree model at a cost exponent of 1.15
#: was measured up to 1.4 times short at 320,000 rows).
STEP_MARGIN = 1.5
#: The growth measured between two steps is believed down to this exponent
#: ...
MIN_EXPONENT = 1.0
#: ... and up to this one (a pause of the machine is not the model's cost).
MAX_EXPONENT = 2.0
#: A step that would add fewer than this share of rows is not worth its fit.
MIN_STEP = 1.5


def _exponent(budget, configs, steps):
    """The cost exponent of the next step: after one step, the setups' (the
    largest); after two, the growth measured between the last two, at least
    :data:`MIN_EXPONENT` (with a fixed cost, growth slows as rows grow, so
    linear growth from the last step errs long) and at most
    :data:`MAX_EXPONENT`."""
    if len(steps) < 2:
        return max(budget.cost.exponent(c) for c in configs)
    (r1, t1), (r2, t2) = steps[-2:]
    if t1 <= 0 or t2 <= 0:
        return MAX_EXPONENT
    measured = math.log(t2 / t1) / math.log(r2 / r1)
    return min(max(measured, MIN_EXPONENT), MAX_EXPONENT)


def _first_rows(budget, configs):
    """Rows of the first step: the most whose refit is predicted to take at
    most :data:`FIRST_SHARE` of the time left; the search's rows at least."""
    return budget.refit_rows(configs, FIRST_SHARE * budget.remaining())


def _next_rows(budget, steps, exponent, n):
    """Rows of the next step, or ``None``: the most, up to :data:`STEP` times
    the last step's, whose time (the last step's scaled to ``exponent``) fits
    :data:`STEP_MARGIN` times in the time left; ``None`` when that adds less
    than :data:`MIN_STEP` times the rows (short of every row)."""
    rows, seconds = steps[-1]
    left = budget.remaining()
    if left <= 0:  # the last step overran what was left (a busy machine)
        return None
    top = min(n, int(STEP * rows))
    if seconds <= 0:
        return top
    affordable = rows * (left / (STEP_MARGIN * seconds)) ** (1 / exponent)
    nxt = int(min(top, affordable))
    if nxt >= n:
        return n
    return nxt if nxt >= MIN_STEP * rows else None


def budgeted_refit(build, plan, trial):
    """Refit on every row, or on the ladder of subsamples the time left
    affords.

    Parameters
    ----------
    build : callable
        ``build() -> estimator``: a new unfitted estimator of the chosen setup.
    plan : SearchPlan
        Every row (``X_full``, ``y_full``, ``sample_weight``), the classes,
        the seed, and the budget (its ``timeout``, clock, cost model and the
        search's rows).
    trial : optuna.trial.FrozenTrial
        The chosen trial (an ensemble's members are refitted together).

    Returns
    -------
    estimator : estimator
        Fitted.
    rows : ndarray or None
        The rows it was fitted on; ``None``: every row.
    report : dict
        The cost model's report (the estimator's ``cost_model_``), with
        ``refit_steps``: the rows and seconds of every fit.
    """
    release_freed_memory()  # the search's freed heap, before the largest fit
    X, y, sample_weight = plan.X_full, plan.y_full, plan.sample_weight
    budget, classes, seed = plan.budget, plan.classes, plan.context.random_state
    configs = budget.trial_configs(trial)
    n = len(y)
    full = None if budget.timeout is None else budget.refit_seconds(configs)
    if full is None or budget.search_rows >= n or full <= budget.remaining():
        estimator = build()
        start = time.perf_counter()
        fit_weighted(estimator, X, y, sample_weight)
        return (
            estimator,
            None,
            _report(budget, trial, [(n, time.perf_counter() - start)]),
        )
    steps, rows, fitted = [], _first_rows(budget, configs), None
    while rows is not None:
        index = None if rows >= n else refit_subsample(y, classes, rows, seed)
        estimator = build()
        start = time.perf_counter()
        if index is None:
            fit_weighted(estimator, X, y, sample_weight)
        else:
            weight = None if sample_weight is None else sample_weight[index]
            fit_weighted(estimator, take_rows(X, index), y[index], weight)
        steps.append((int(rows), time.perf_counter() - start))
        fitted = (estimator, index)
        if index is None:
            break
        exponent = _exponent(budget, configs, steps)
        rows = _next_rows(budget, steps, exponent, n)
    estimator, index = fitted
    if index is not None:
        warnings.warn(
            f"The time budget afforded the refit on {len(index):,} of {n:,} rows "
            "(a stratified subsample with the data's class shares, at least the "
            f"{budget.search_rows:,} rows the search ran on); its refit on every "
            f"row was predicted at {full:,.0f} s. Pass a larger timeout to refit "
            "on every row.",
            UserWarning,
            stacklevel=4,
        )
    return estimator, index, _report(budget, trial, steps)


def _report(budget, trial, steps):
    """The cost model's report of a refit whose fits took ``steps`` (rows,
    seconds): the last one's prediction against its measure."""
    rows, seconds = steps[-1]
    report = budget.refit_report(trial, seconds, rows)
    report["refit_steps"] = [(int(r), float(t)) for r, t in steps]
    report["cpus"] = current_share()
    return report
