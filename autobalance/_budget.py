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
from ._cost import ROWS_EXPONENT, CostModel
from ._space import Config

__all__ = ["REFIT_PLAN_SHARE", "ROWS_EXPONENT", "Budget", "trial_config"]
# Slack for the work after the refit (decision rule, bookkeeping), as a share
# of the timeout.
SLACK = 0.03
# Safety factor on the estimated time of the next fold.
FOLD_MARGIN = 1.25
#: A timed search plans at most this share of the ``timeout`` for the refit
#: of a setup, unless refitting it on the search's rows alone needs more: a
#: costlier refit trains on as many rows as the time left affords
#: (:mod:`._refit`), never fewer than the search trained on. Otherwise one
#: costly model's refit on a million rows, predicted from folds of a few
#: thousand, would hold the whole budget in reserve. At most half the time
#: the screening round leaves (two thirds of it), so that a promoted setup
#: with a planned refit still passes ``_screening``'s REFIT_SHARE (0.3 did
#: not, and left the full-fidelity folds uncapped).
REFIT_PLAN_SHARE = 0.2
#: The refitted model may weigh up to this many times the training data ...
MODEL_MEMORY_FACTOR = 2.0
#: ... or this many bytes, whichever is larger (small data: any model).
MODEL_MEMORY_FLOOR = 256 * 2**20


def trial_config(trial):
    """The :class:`~autobalance._space.Config` a search trial evaluated, from
    its user attributes."""
    attrs = trial.user_attrs
    return Config(
        attrs[ATTR_TECHNIQUE], attrs.get(ATTR_ALGORITHM), attrs.get(ATTR_PARAMS) or {}
    )


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
    train_counts, refit_counts : array-like or None, default=None
        Rows of each class of a mean training fold of the search and of the
        refit; ``None``: the class shares of the space's data times
        ``n_train`` and ``n_samples``.
    search_rows : int or None, default=None
        Rows the search ran on (a subsample of large data); the fewest a
        timed refit trains on. ``None``: ``n_samples``.

    Attributes
    ----------
    cost : CostModel
        The predicted seconds of folds and refits, learned from every
        measured fold.
    refuse_first : bool
        Whether a full-fidelity trial predicted not to fit may be refused
        before any trial completed (the caller then runs a fallback when none
        completes, see :func:`~autobalance._screening.run_fallback`).
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
        train_counts=None,
        refit_counts=None,
        search_rows=None,
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
        counts = np.asarray(space.context.class_counts, dtype=float)
        shares = counts / max(counts.sum(), 1.0)
        self.train_counts = (
            shares * n_train if train_counts is None else np.asarray(train_counts)
        )
        self.refit_counts = (
            shares * n_samples if refit_counts is None else np.asarray(refit_counts)
        )
        self.n_samples = int(n_samples)
        self.search_rows = self.n_samples if search_rows is None else int(search_rows)
        self.memory_limit = max(MODEL_MEMORY_FACTOR * data_bytes, MODEL_MEMORY_FLOOR)
        self.cost = CostModel(space)
        self.refuse_first = False
        self._fold_times = {}
        self._seen = {}  # setup -> its last measured config
        self._best = None  # (value, refit estimate) of the best trial so far

    def set_train_counts(self, counts):
        """Full-fidelity trials train on folds of class counts ``counts`` from
        now on (a timed search capped their rows): their predicted costs and
        the refit's rows ratio follow."""
        self.train_counts = np.asarray(counts, dtype=float)
        self.n_train = float(self.train_counts.sum())
        self.rows_ratio = float(self.refit_counts.sum()) / max(self.n_train, 1.0)

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
    def refit_counts_at(self, rows):
        """Class counts of a refit on ``rows`` rows (the data's class
        shares, as :func:`~autobalance._refit.refit_subsample` keeps them)."""
        return self.refit_counts * (rows / max(float(self.refit_counts.sum()), 1.0))

    def refit_seconds(self, configs, rows=None):
        """Predicted seconds to refit ``configs`` (an ensemble's members one
        after another) on ``rows`` rows (``None``: every row), or ``None``
        when the cost model cannot predict one of them."""
        counts = self.refit_counts if rows is None else self.refit_counts_at(rows)
        predicted = [self.cost.predict_refit(c, counts) for c in configs]
        if any(p is None for p in predicted):
            return None
        return float(sum(predicted))

    def refit_rows(self, configs, seconds=None):
        """Rows a timed refit of ``configs`` is predicted to train on when it
        may take ``seconds`` (``None``: the time left): every row when that
        refit is predicted to fit (and without a timeout, after a search of
        every row, or when the cost model cannot predict it: the refit then
        uses every row, see :mod:`._refit`), else the most rows, on a grid
        from the search's rows to every row, whose refit is predicted to fit;
        the search's rows at least."""
        n = self.n_samples
        if self.timeout is None or self.search_rows >= n:
            return n
        seconds = self.remaining() if seconds is None else seconds
        full = self.refit_seconds(configs)
        if full is None or full <= seconds:
            return n
        rows = self.search_rows
        for candidate in np.geomspace(self.search_rows, n, 40).astype(int):
            predicted = self.refit_seconds(configs, candidate)
            if predicted is not None and predicted <= seconds:
                rows = max(rows, int(candidate))
        return rows

    def planned(self, full, least):
        """Seconds the plan keeps for a refit that takes ``full`` seconds on
        every row and ``least`` on the search's rows: ``full``, capped at
        :data:`REFIT_PLAN_SHARE` of the ``timeout`` but never below
        ``least`` (a timed refit trains on the rows the time left affords)."""
        if self.timeout is None or self.search_rows >= self.n_samples:
            return full
        return min(full, max(least, REFIT_PLAN_SHARE * self.timeout))

    def planned_refit(self, configs):
        """:meth:`planned` seconds of the refit of ``configs``, or ``None``
        when the cost model cannot predict it."""
        full = self.refit_seconds(configs)
        if full is None:
            return None
        return self.planned(full, self.refit_seconds(configs, self.search_rows))

    def _predicted_refit(self, configs, least):
        """The cost model's refit of ``configs``: on the search's rows
        (``least``), else as planned; ``None`` when it cannot predict it."""
        if least:
            return self.refit_seconds(configs, self.search_rows)
        return self.planned_refit(configs)

    def refit_estimate(self, config, fit_times, least=False):
        """Seconds to refit ``config``: the cost model's :meth:`planned_refit`
        (``least``: on the search's rows only), else its fold fit times'
        mean scaled by the rows ratio (to the technique's cost exponent) and
        the fidelity ratio."""
        predicted = self._predicted_refit([config], least)
        if predicted is not None:
            return predicted
        if not fit_times:
            return 0.0
        exponent = self.cost.exponent(config)
        fold = float(np.mean(fit_times)) * self.space.fidelity_ratio(config)
        full = fold * self.rows_ratio**exponent
        fewest = fold * (self.search_rows / max(self.n_train, 1.0)) ** exponent
        return fewest if least else self.planned(full, fewest)

    def fold_estimate(self, config, fit_times, counts=None):
        """Seconds of the next fold of a trial of ``config`` (with margin
        :data:`FOLD_MARGIN`): its slowest fold so far (the very setup, its
        hyperparameters included), else the cost model's prediction on
        training rows of class counts ``counts`` (a full training fold by
        default), else 0 (unknown)."""
        # Fold fits vary (scoring and bookkeeping come on top): err long.
        if fit_times:
            return FOLD_MARGIN * float(np.max(fit_times))
        counts = self.train_counts if counts is None else counts
        predicted = self.cost.predict(config, counts)
        return 0.0 if predicted is None else FOLD_MARGIN * predicted

    def allows(
        self,
        config,
        fit_times,
        *,
        counts=None,
        batches=1,
        trial_batches=None,
        screening=False,
    ):
        """Whether the next batch of folds of a trial fits in the budget (a
        batch runs in parallel, so it takes about one fold's time).

        Parameters
        ----------
        config : Config
        fit_times : list of float
            The trial's folds measured so far.
        counts : array-like or None
            Rows of each class of the trial's training folds; ``None``: a
            full training fold.
        batches : int
            Batches of folds the trial has left, this one included.
        trial_batches : int or None
            Batches of folds of a whole trial; ``None``: ``batches``.
        screening : bool
            A screening trial (fewer rows): never refused before the first
            trial completes (the round keeps its own share of the time).

        Returns
        -------
        allowed : bool
            After a trial completed: the next fold fits in the time left
            minus the reserve, and a full-fidelity trial's folds and its own
            refit (on the search's rows) are predicted to fit in the time
            left before its first fold. Before: with :attr:`refuse_first`, a
            full-fidelity trial whose folds left and refit, as predicted,
            fit in the time left, or, once it has run folds, cost no more
            than the fallback would (the setup predicted cheapest, run in
            full); anything else is allowed.
        """
        if self.timeout is None:
            return True
        fold = self.fold_estimate(config, fit_times, counts)
        if self._best is not None:
            if fold > self.search_remaining():
                return False
            # A full trial whose own refit could not follow its folds could
            # never be chosen (``fits``): its folds would only spend the
            # budget (on 20,000 rows at 10 s, extra trees' 2.7 s trial left
            # 0.3 s for its 1.9 s refit, and logistic regression was refitted).
            if screening or fit_times or not self.cost.knows(config):
                return True
            after = batches * fold + self.refit_estimate(config, fit_times, least=True)
            return after <= self.refit_time_left()
        if screening or not self.refuse_first or not self.cost.knows(config):
            return True
        need = batches * fold + self.refit_estimate(config, fit_times)
        if need <= self.remaining():
            return True
        # Stopping a trial half-way would only make way for the fallback: go
        # on when the rest of this one costs less.
        cheapest = self.cheapest(trial_batches or batches)
        return bool(fit_times) and cheapest is not None and need <= cheapest[1]

    def needs_pilot(self, config):
        """Whether a full-fidelity trial of ``config`` first runs a pilot fit
        on a tenth of a training fold (:mod:`._objective`): in a timed
        search, a sampler setup the cost model has not measured. Its model's
        other setups predict the rows it trains on, not the sampler's own
        work (cluster centroids' k-means over 40,000 majority rows: 7 s, its
        model's folds 0.01 s)."""
        technique = self.space.techniques.get(config.technique)
        return (
            self.timeout is not None
            and getattr(technique, "kind", None) == "sampler"
            and not self.cost.measured(config)
        )

    def piloted(self, config, seconds, counts):
        """Learn the cost of ``config`` from a pilot fit that took
        ``seconds`` on training rows of class counts ``counts``."""
        self.cost.learn(config, [seconds], counts, pair=False)
        self._seen[(config.technique, config.algorithm)] = config

    def measured(self, config, fit_times, counts):
        """Learn the cost of ``config`` from folds that took ``fit_times``
        seconds on training rows of class counts ``counts`` (every measured
        batch: full-fidelity and screening folds alike)."""
        self.cost.learn(config, fit_times, counts)
        self._seen[(config.technique, config.algorithm)] = config

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

    def trial_cost(self, config, batches):
        """Predicted seconds of a full-fidelity trial of ``config`` of
        ``batches`` batches of folds, and of its refit; ``None`` when the cost
        model cannot predict it."""
        fold = self.cost.predict(config, self.train_counts)
        refit = self.planned_refit([config])
        if fold is None or refit is None:
            return None
        return batches * FOLD_MARGIN * fold + refit

    def cheapest(self, batches, configs=None):
        """``(config, seconds)`` of the setup predicted cheapest in full
        (:meth:`trial_cost`) among ``configs`` (by default the setups
        measured so far), the first of equals; ``None`` when none can be
        predicted."""
        configs = self._seen.values() if configs is None else configs
        best = None
        for config in configs:
            cost = self.trial_cost(config, batches)
            if cost is not None and (best is None or cost < best[1]):
                best = (config, cost)
        return best

    def model_estimate(self, config, model_bytes):
        """Bytes of ``config``'s model refitted on all rows, from its folds'."""
        if not len(model_bytes):
            return 0.0
        ratio = self.space.fidelity_ratio(config)
        return float(np.mean(model_bytes)) * self.rows_ratio * ratio

    # -- choosing under the budget -------------------------------------------
    @staticmethod
    def trial_configs(trial):
        """The setups a trial refits: its own, or an ensemble's members."""
        attrs = trial.user_attrs
        members = (attrs.get(ATTR_PARAMS) or {}).get("members")
        if members is None:
            return [trial_config(trial)]
        # An ensemble's members are entries of cv_results_["params"].
        return [
            Config(
                m["technique"],
                m["algorithm"],
                {k: v for k, v in m.items() if k not in ("technique", "algorithm")},
            )
            for m in members
        ]

    def trial_refit_estimate(self, trial, least=False):
        """Estimated refit seconds of a trial of the study (planned, see
        :meth:`planned_refit`; ``least``: on the search's rows only). With
        the cost model, the sum of its setups' (an ensemble refits its
        members one after another); else an ensemble trial holds the sums of
        its members' fold times, scaled with the costliest member's ratios."""
        configs = self.trial_configs(trial)
        predicted = self._predicted_refit(configs, least)
        if predicted is not None:
            return predicted
        fit_times = trial.user_attrs.get(ATTR_FIT_TIMES) or []
        return max(self.refit_estimate(c, fit_times, least) for c in configs)

    def refit_report(self, trial, measured, rows=None):
        """Keep the predicted and ``measured`` seconds of ``trial``'s refit on
        ``rows`` rows (``None``: every row); the cost model's report (the
        estimator's ``cost_model_``)."""
        predicted = self.refit_seconds(self.trial_configs(trial), rows)
        if predicted is None:
            predicted = self.trial_refit_estimate(trial)
        self.cost.record_refit(predicted, measured)
        return self.cost.report()

    def trial_model_estimate(self, trial):
        """Estimated bytes of a trial's model refitted on all rows: its fold
        models' mean, times the rows ratio and the fidelity ratio (fully grown
        trees have about one leaf per few rows; more trees, more nodes)."""
        sizes = trial.user_attrs.get(ATTR_MODEL_BYTES) or [0]
        return max(self.model_estimate(c, sizes) for c in self.trial_configs(trial))

    def refit_time_left(self):
        """Seconds a refit may take now: the time left, and the slack kept
        for the work after the search (a refit is that work)."""
        return self.remaining() + (0 if self.timeout is None else SLACK * self.timeout)

    def fits(self, trial):
        """``(refit in time, model in memory)`` for a trial of the study: its
        refit on the search's rows at least fits in the time left (the refit
        then trains on as many rows as that time affords)."""
        return (
            self.trial_refit_estimate(trial, least=True) <= self.refit_time_left(),
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
