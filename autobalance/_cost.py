"""The cost model of a timed search: seconds of a fold and of the refit,
predicted from the rows a model actually trains on, learned from every
measured fold.

A fold of setup ``s`` (technique, model) on training rows with class counts
``n`` is predicted to take ``fixed(s) + coef(s) * effective_rows(s, n) **
exponent(s)`` seconds, the refit on every row that times the setup's fidelity ratio (the
search scores fewer trees than the refit grows,
:meth:`~autobalance._space.SearchSpace.fidelity_ratio`).

- **Effective rows** (:func:`effective_rows`): what the model is fitted on
  after the sampler. Over-sampling and combined techniques bring each class up
  to ``r`` times the largest (``n_maj * (1 + r)`` for two classes), an
  under-sampler with a target ratio brings the larger classes down to the
  smallest over ``r`` (``n_min * (1 + 1/r)``), where ``r`` is the sampler's
  ``sampling_strategy`` (1 when it balances fully), unless it declares a
  ``cost_exponent``: its own work (cluster centroids' k-means over the
  majority) then costs every row it is given. Everything else trains on
  every row: no technique, class weights, cleaning under-samplers (Tomek
  links, edited nearest neighbours remove a few rows), and the balanced
  ensembles, whose per-learner balanced draws are not their whole cost (a
  balanced random forest of 100 trees on 200 positives took 0.5, 0.75 and
  2.3 s with 2k, 20k and 80k negatives: all rows errs long, not short).
  A screening fold (fewer rows of the majority, every minority row up to a
  floor) thus teaches the same coefficient as a full fold: an under-sampler
  screened on every positive costs what it costs in full.
- **Exponent**: the technique's ``cost_exponent`` (1.5 for samplers that
  search neighbours), else the model's (1.0 for histogram gradient
  boosting), else :data:`ROWS_EXPONENT`.
- **Fixed cost**: what a fit costs whatever its rows (histogram gradient
  boosting: about 0.25 s on 3,200 rows, 3.4 s on a million; ``rows ** 1.15``
  from the first predicts three minutes). Once a setup was measured at two
  row counts at least :data:`MIN_SPREAD` apart, the line through its
  smallest and largest (``a + b * rows ** exponent``) gives it, at most
  :data:`FIXED_SHARE` of its fold on the fewest rows (folds are noisy, and a
  prediction that errs short overruns the budget); a setup measured at one
  row count takes its model's (the median of its setups'), else none.
- **Prediction**: from the setup's largest measured rows (the median fold
  there, ``t``), ``a + (t - a) * (rows / largest) ** exponent``. A setup
  measured before uses its own folds; an unmeasured one the median of its
  model's setups' predictions (each at its own exponent, on the new setup's
  rows); an unmeasured model is unknown (``None``: the budget lets the fold
  run). A sampler's own work is not in its model's other setups: a timed
  search measures an unmeasured sampler setup on a pilot fit of a tenth of
  the rows before its first full fold (:mod:`._objective`).

Every fold measured while a prediction existed keeps the pair
``(predicted, measured)``, and so does the refit: :meth:`CostModel.report`
(the estimator's ``cost_model_``) says how far off the predictions were.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["FIXED_SHARE", "MIN_SPREAD", "ROWS_EXPONENT", "CostModel", "effective_rows"]

# Tree and boosting fits grow a little faster than linearly with the rows
# (sorting).
ROWS_EXPONENT = 1.15
#: A fixed cost is learned from row counts at least this far apart ...
MIN_SPREAD = 1.5
#: ... and is at most this share of the fold on the fewest rows.
FIXED_SHARE = 2 / 3
#: Rows within this ratio are one row count (the folds of a trial differ by
#: a row or two).
SAME_ROWS = 1.05


def _ratio(params):
    """The sampler's target minority/majority ratio: its float
    ``sampling_strategy``, else 1 (``"auto"``, ``"all"``: fully balanced)."""
    value = (params or {}).get("sampling_strategy")
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0:
        return float(value)
    return 1.0


def effective_rows(technique, params, counts):
    """Rows the model of a setup trains on, after its sampler.

    Parameters
    ----------
    technique : Technique or None
        The setup's technique (its ``family``, ``kind`` and parameters);
        ``None``: every row.
    params : dict
        The setup's parameters (``sampling_strategy`` sets the ratio).
    counts : array-like of float
        Rows of each class of the training rows.

    Returns
    -------
    rows : float

    Examples
    --------
    >>> from autobalance._catalogue import get_technique
    >>> counts = [9_900, 100]
    >>> effective_rows(get_technique("none"), {}, counts)
    10000.0
    >>> effective_rows(get_technique("smote"), {"sampling_strategy": 0.5}, counts)
    14850.0
    >>> effective_rows(get_technique("random_under_sampler"), {}, counts)
    200.0
    """
    counts = np.asarray(counts, dtype=float)
    total = float(counts.sum())
    if technique is None or technique.kind != "sampler" or len(counts) < 2:
        return total
    ratio = _ratio(params)
    if technique.family in ("over-sampling", "combined"):
        # Each class up to ratio times the largest (never fewer rows).
        return float(np.maximum(counts, ratio * counts.max()).sum())
    if (
        technique.family == "under-sampling"
        # A sampler with a cost exponent works over every row it is given
        # (cluster centroids' k-means): its setups cost those rows.
        and getattr(technique, "cost_exponent", None) is None
        and any(p.name == "sampling_strategy" for p in technique.params)
    ):
        # The larger classes down to the smallest over ratio.
        return float(np.minimum(counts, counts.min() / ratio).sum())
    return total


def _setup(config):
    return (config.technique, config.algorithm)


def _model(config):
    # A model-replacing technique (balanced random forest) is its own model.
    return config.algorithm or config.technique


def _level(group):
    return (
        float(np.mean([r for r, _ in group])),
        float(np.median([t for _, t in group])),
    )


class CostModel:
    """Seconds of a fold or a refit of a setup, learned online.

    Parameters
    ----------
    space : SearchSpace
        Its techniques (family, kind, ``cost_exponent``) and
        :meth:`~autobalance._space.SearchSpace.fidelity_ratio`.
    """

    def __init__(self, space):
        self.space = space
        # setup -> [(rows, seconds)] of its measured folds; model -> its setups
        self._setups = {}
        self._models = {}
        self._level_cache = {}  # setup -> its _levels
        self.fold_pairs = []  # (predicted, measured) seconds of a fold
        self.refit_pairs = []  # (predicted, measured) seconds of the refit

    def _technique(self, config):
        return self.space.techniques.get(config.technique)

    def exponent(self, config):
        """The setup's cost exponent: its technique's, else its model's
        (:class:`~autobalance.Algorithm`'s ``cost_exponent``), else
        :data:`ROWS_EXPONENT`."""
        # getattr: a model saved before the field existed has none.
        algorithm = self.space.algorithms.get(config.algorithm)
        return (
            getattr(self._technique(config), "cost_exponent", None)
            or getattr(algorithm, "cost_exponent", None)
            or ROWS_EXPONENT
        )

    def rows(self, config, counts):
        """:func:`effective_rows` of ``config`` on training rows of class
        counts ``counts``."""
        return max(effective_rows(self._technique(config), config.params, counts), 1.0)

    def measured(self, config):
        """Whether folds of ``config``'s very setup (technique and model)
        were measured."""
        return _setup(config) in self._setups

    def knows(self, config):
        """Whether a fold of ``config`` can be predicted."""
        return _setup(config) in self._setups or _model(config) in self._models

    def _levels(self, setup):
        """``(rows, median seconds)`` of each row count ``setup`` was
        measured at, fewest rows first (kept until it learns again: every
        fold's budget check predicts)."""
        if setup not in self._level_cache:
            self._level_cache[setup] = self._group(self._setups[setup])
        return self._level_cache[setup]

    @staticmethod
    def _group(samples):
        levels, group = [], []
        for rows, seconds in sorted(samples):
            if group and rows > SAME_ROWS * group[0][0]:
                levels.append(_level(group))
                group = []
            group.append((rows, seconds))
        levels.append(_level(group))
        return levels

    def _own_fixed(self, setup, exponent):
        """The fixed cost the setup's own folds show, or ``None`` (measured
        at one row count)."""
        levels = self._levels(setup)
        (r1, t1), (r2, t2) = levels[0], levels[-1]
        if r2 < MIN_SPREAD * r1:
            return None
        slope = (t2 - t1) / (r2**exponent - r1**exponent)
        return min(max(t1 - slope * r1**exponent, 0.0), FIXED_SHARE * t1)

    def _model_fixed(self, model):
        """The median fixed cost of the model's setups that show one, or 0."""
        fixed = [
            self._own_fixed(setup, exponent)
            for setup, exponent in self._models.get(model, {}).items()
        ]
        fixed = [f for f in fixed if f is not None]
        return float(np.median(fixed)) if fixed else 0.0

    def _from(self, setup, exponent, rows, model_fixed):
        """A fold of ``rows`` effective rows predicted from ``setup``'s folds."""
        levels = self._levels(setup)
        fixed = self._own_fixed(setup, exponent)
        if fixed is None:
            fixed = min(model_fixed, FIXED_SHARE * levels[0][1])
        largest, seconds = levels[-1]
        return fixed + (seconds - fixed) * (rows / largest) ** exponent

    def predict(self, config, counts):
        """Seconds of one search fold of ``config`` on training rows of class
        counts ``counts``, or ``None`` when neither the setup nor its model
        was measured."""
        rows = self.rows(config, counts)
        model = _model(config)
        if model not in self._models:
            return None
        model_fixed = self._model_fixed(model)
        if _setup(config) in self._setups:
            return float(
                self._from(_setup(config), self.exponent(config), rows, model_fixed)
            )
        # Each measured setup of the model, at its own exponent, on this
        # setup's rows (a sampler's rows are counted, its own work not).
        return float(
            np.median(
                [
                    self._from(setup, exponent, rows, model_fixed)
                    for setup, exponent in self._models[model].items()
                ]
            )
        )

    def predict_refit(self, config, counts):
        """Seconds of the refit of ``config`` (the full model, see
        ``fidelity_ratio``) on rows of class counts ``counts``, or ``None``."""
        fold = self.predict(config, counts)
        if fold is None:
            return None
        return fold * self.space.fidelity_ratio(config)

    def learn(self, config, fit_times, counts, pair=True):
        """Learn from folds of ``config`` that took ``fit_times`` seconds on
        training rows of class counts ``counts``; a fold predicted before
        keeps its ``(predicted, measured)`` pair (unless ``pair`` is false: a
        pilot fit, whose prediction nothing acted on)."""
        if not len(fit_times):
            return
        predicted = self.predict(config, counts) if pair else None
        if predicted is not None:
            self.fold_pairs.extend((predicted, float(t)) for t in fit_times)
        rows = self.rows(config, counts)
        self._level_cache.pop(_setup(config), None)
        self._setups.setdefault(_setup(config), []).extend(
            (rows, float(t)) for t in fit_times
        )
        self._models.setdefault(_model(config), {})[_setup(config)] = self.exponent(
            config
        )

    def record_refit(self, predicted, measured):
        """Keep the predicted and measured seconds of the refit."""
        self.refit_pairs.append((predicted, float(measured)))

    def report(self):
        """The predictions against the measurements (the estimator's
        ``cost_model_``).

        Returns
        -------
        report : dict
            ``fold_predicted``, ``fold_measured`` (seconds of every fold
            measured while a prediction existed), ``fold_ratios``
            (measured / predicted), ``fold_ratio_median``, ``fold_ratio_p90``
            (NaN without a pair), ``refit_predicted`` (``None`` when unknown)
            and ``refit_measured`` (``None`` before the refit).
        """
        predicted = [p for p, _ in self.fold_pairs]
        measured = [m for _, m in self.fold_pairs]
        ratios = [m / p for p, m in self.fold_pairs if p > 0]
        refit_predicted = refit_measured = None
        if self.refit_pairs:
            refit_predicted, refit_measured = self.refit_pairs[-1]
        return {
            "fold_predicted": predicted,
            "fold_measured": measured,
            "fold_ratios": ratios,
            "fold_ratio_median": float(np.median(ratios)) if ratios else np.nan,
            "fold_ratio_p90": float(np.percentile(ratios, 90)) if ratios else np.nan,
            "refit_predicted": refit_predicted,
            "refit_measured": refit_measured,
        }
