"""The budget of one ``fit``: time for the search and the refit, and the
memory of the refitted model.

Optuna's own ``timeout`` only stops *starting* trials: a trial that begins a
second before the deadline runs all its folds, and the refit of the chosen
setup on all rows (with the full model, not the cheaper one scored while
searching) comes on top. On large data each of those can take minutes. So the
budget here is checked before every batch of folds, and it keeps in reserve
the estimated refit time of the best setup so far.

Memory: every fold's model is weighed (``_footprint``); a setup whose refit
on all rows would weigh more than :data:`MODEL_MEMORY_FACTOR` times the
training data (and more than :data:`MODEL_MEMORY_FLOOR`) is passed over for
the best one that does not.
"""

from __future__ import annotations

import datetime
import time

import numpy as np

from ._attrs import (
    ATTR_ALGORITHM,
    ATTR_FIT_TIMES,
    ATTR_MODEL_BYTES,
    ATTR_PARAMS,
    ATTR_TECHNIQUE,
)
from ._space import Config

__all__ = ["Budget"]

# Tree and boosting fits grow a little faster than linearly with the rows
# (sorting); the refit on all rows is scaled from a training fold with this.
ROWS_EXPONENT = 1.15
# Slack for the work after the refit (decision rule, bookkeeping), as a share
# of the timeout.
SLACK = 0.03
# Safety factor on the estimated time of the next fold.
FOLD_MARGIN = 1.25
#: The refitted model may weigh up to this many times the training data ...
MODEL_MEMORY_FACTOR = 2.0
#: ... or this many bytes, whichever is larger (small data: any model).
MODEL_MEMORY_FLOOR = 256 * 2**20

#: The clock of every fit's budget, read when the budget is made (a test may
#: set a fake clock here to replay a timed search exactly).
default_clock = time.monotonic


class Budget:
    """Time and memory budget of one ``fit``.

    Parameters
    ----------
    timeout : float or None
        Seconds for the whole ``fit``; ``None``: no time limit.
    space : SearchSpace
        Gives the search-to-refit cost ratio of each setup.
    n_samples : int
        Rows of the refit.
    n_train : float
        Mean rows of a training fold of the search.
    clock : callable or None, default=None
        Seconds, as ``time.monotonic``; ``None``: :data:`default_clock`.
    start : float or None
        When the fit started, on ``clock``; now by default.
    data_bytes : int, default=0
        Bytes of the training data; sets the memory limit of the refitted
        model (``max(MODEL_MEMORY_FACTOR * data_bytes, MODEL_MEMORY_FLOOR)``).
    started_at : datetime.datetime or None, default=None
        ``start`` in local wall time, the clock of Optuna's trial datetimes
        (``search_progress_`` places trials in the budget with it); now by
        default.
    """

    def __init__(
        self,
        timeout,
        *,
        space,
        n_samples,
        n_train,
        clock=None,
        start=None,
        data_bytes=0,
        started_at=None,
    ):
        self.timeout = None if timeout is None else float(timeout)
        self.space = space
        self.clock = clock = default_clock if clock is None else clock
        self.start = clock() if start is None else start
        self.started_at = datetime.datetime.now() if started_at is None else started_at
        self.deadline = (
            np.inf
            if timeout is None
            else self.start + self.timeout - SLACK * self.timeout
        )
        self.n_train = float(n_train)
        self.rows_ratio = n_samples / max(n_train, 1.0)
        self.memory_limit = max(MODEL_MEMORY_FACTOR * data_bytes, MODEL_MEMORY_FLOOR)
        self._fold_times = {}
        # Screening trials' fold times scaled to full rows: kept apart from the
        # measured ones, as the last resort of an estimate.
        self._screened_times = {}
        self._best = None  # (value, refit estimate) of the best trial so far

    # -- clock -------------------------------------------------------------
    def remaining(self):
        """Seconds left before the deadline (negative once it has passed)."""
        return self.deadline - self.clock()

    @property
    def reserve(self):
        """Seconds kept for refitting the best setup found so far."""
        return 0.0 if self._best is None else self._best[1]

    def search_remaining(self):
        """Seconds the search may still use."""
        return self.remaining() - self.reserve

    def exhausted(self):
        """Whether not even the quickest fold seen so far fits any more (so
        the study stops instead of proposing trials that cannot run)."""
        if self._best is None or self.timeout is None:
            return False
        quickest = min(min(t) for t in self._fold_times.values() if t)
        return self.search_remaining() <= FOLD_MARGIN * quickest

    def spent(self):
        """Whether the search must not start another trial: the deadline has
        passed, or not even the quickest fold fits (:meth:`exhausted`). In-memory
        and stored studies stop on this same rule."""
        return self.remaining() <= 0 or self.exhausted()

    # -- estimates ---------------------------------------------------------
    def refit_estimate(self, config, fit_times):
        """Seconds to refit ``config`` on all rows, from its fold fit times."""
        if not fit_times:
            return 0.0
        technique = self.space.techniques.get(config.technique)
        exponent = getattr(technique, "cost_exponent", None) or ROWS_EXPONENT
        scale = self.rows_ratio**exponent
        return float(np.mean(fit_times)) * scale * self.space.fidelity_ratio(config)

    def _fold_estimate(self, config, fit_times):
        # Fold fits vary (scoring and bookkeeping come on top): err long.
        if fit_times:
            return FOLD_MARGIN * float(np.max(fit_times))
        # A setup not run yet: the same setup seen before, else the slowest
        # fold of the same model (a sampler may add rows), else unknown.
        if (config.technique, config.algorithm) in self._fold_times:
            return FOLD_MARGIN * float(
                np.median(self._fold_times[(config.technique, config.algorithm)])
            )
        if config.algorithm in self._fold_times:
            return FOLD_MARGIN * 1.5 * float(np.max(self._fold_times[config.algorithm]))
        if (config.technique, config.algorithm) in self._screened_times:
            return FOLD_MARGIN * float(
                np.median(self._screened_times[(config.technique, config.algorithm)])
            )
        return 0.0

    def allows_folds(self, config, fit_times):
        """Whether the next batch of folds of a trial fits in the budget (a
        batch runs in parallel, so it takes about one fold's time).

        Until one trial has completed everything is allowed, so that a fit
        always has a setup to return.
        """
        if self._best is None or self.timeout is None:
            return True
        return self._fold_estimate(config, fit_times) <= self.search_remaining()

    def record(self, config, fit_times, value, model_bytes=()):
        """Learn from a completed trial.

        The reserve follows the best trial that could be refitted: one whose
        model fits in the memory limit and whose refit fits in the time left
        (a setup that will be passed over must not stop the search early).
        The first trial counts in any case.
        """
        for key in ((config.technique, config.algorithm), config.algorithm):
            self._fold_times.setdefault(key, []).extend(fit_times)
        refit = self.refit_estimate(config, fit_times)
        size = self.model_estimate(config, model_bytes)
        usable = size <= self.memory_limit and refit <= self.remaining()
        if self._best is None or (usable and value > self._best[0]):
            self._best = (value, refit)

    def record_screened(self, config, fit_times, rows):
        """Learn the fold times of ``config`` from a screening trial that
        trained on ``rows`` rows per fold: scaled to the search's training
        rows, they estimate its first full-fidelity fold. They set no reserve
        (a screened setup is not refitted)."""
        technique = self.space.techniques.get(config.technique)
        exponent = getattr(technique, "cost_exponent", None) or ROWS_EXPONENT
        scale = (self.n_train / max(rows, 1)) ** exponent
        key = (config.technique, config.algorithm)
        self._screened_times.setdefault(key, []).extend(t * scale for t in fit_times)

    def model_estimate(self, config, model_bytes):
        """Bytes of ``config``'s model refitted on all rows, from its folds'."""
        if not len(model_bytes):
            return 0.0
        ratio = self.space.fidelity_ratio(config)
        return float(np.mean(model_bytes)) * self.rows_ratio * ratio

    # -- choosing under the budget -------------------------------------------
    @staticmethod
    def _configs(trial):
        """The setups a trial refits: its own, or an ensemble's members."""
        attrs = trial.user_attrs
        members = (attrs.get(ATTR_PARAMS) or {}).get("members")
        if members is None:
            return [Config(attrs[ATTR_TECHNIQUE], attrs[ATTR_ALGORITHM], {})]
        # An ensemble's members are entries of cv_results_["params"].
        return [Config(m["technique"], m["algorithm"], {}) for m in members]

    def trial_refit_estimate(self, trial):
        """Estimated refit seconds of a trial of the study. An ensemble trial
        holds the sums of its members' fold times; they are scaled with the
        costliest member's ratios."""
        fit_times = trial.user_attrs.get(ATTR_FIT_TIMES) or []
        return max(self.refit_estimate(c, fit_times) for c in self._configs(trial))

    def trial_model_estimate(self, trial):
        """Estimated bytes of a trial's model refitted on all rows: its fold
        models' mean, times the rows ratio and the fidelity ratio (fully grown
        trees have about one leaf per few rows; more trees, more nodes)."""
        sizes = trial.user_attrs.get(ATTR_MODEL_BYTES) or [0]
        return max(self.model_estimate(c, sizes) for c in self._configs(trial))

    def fits(self, trial):
        """``(refit in time, model in memory)`` for a trial of the study."""
        left = self.remaining() + (0 if self.timeout is None else SLACK * self.timeout)
        return (
            self.trial_refit_estimate(trial) <= left,
            self.trial_model_estimate(trial) <= self.memory_limit,
        )

    def affordable_best(self, trials, best):
        """``best`` if its refit fits in the time left and its model in the
        memory limit, else the best-scoring trial that does (by time first,
        then by memory), else the one with the cheapest refit."""
        fits = self.fits
        if all(fits(best)):
            return best
        ranked = sorted(trials, key=lambda t: (-t.value, t.number))
        for rule in (all, lambda ok: ok[0]):
            for trial in ranked:
                if rule(fits(trial)):
                    return trial
        return min(ranked, key=self.trial_refit_estimate)
