"""The screening round of a timed search: successive halving over rows.

With a ``timeout``, a search that ran its starting points at full fidelity one
after another could spend its whole budget on the baseline and class weights
and never try a sampler. So a timed in-memory search starts with a round that
scores one representative setup per (technique family, model) on a share of
each training fold's rows (the test folds unchanged), then runs the best
third of them at full fidelity, best first, before TPE takes over.

- **Which setups**: each family's first technique of the space at its
  defaults, on every compatible model (:func:`round_configs`).
- **Which fraction**: the first setup of each model (the probes) runs on
  :data:`START_FRACTION` of the rows; from their measured times the rest of
  the round gets the largest fraction (up to :data:`MAX_FRACTION`) expected to
  keep the whole round within :data:`BUDGET_SHARE` of the budget
  (:func:`choose_fraction`), cheapest model first (the round stops where its
  share runs out, having covered the most families). When that fraction
  differs from the probes', the probes run again at it, so every score that
  is ranked was measured on the same rows. When the probes spent the share,
  or the rest of the round ran out of it before every family was scored,
  the families left still run on the cheapest model at the probes' rows if
  that takes at most :data:`COVERAGE_SHARE` of the budget
  (:func:`_cover_families`), so that every family is scored.
- **Which promoted**: the best :data:`PROMOTED_SHARE` (at least
  :data:`MIN_PROMOTED`; ties by trial number) of the setups scored at the
  round's fraction (:func:`promoted`).
- **Full fidelity the budget affords** (:func:`full_fidelity_rows`): when a
  full trial of the best promoted setup whose refit fits would take more than
  :data:`FULL_TRIAL_SHARE` of the time left, every full-fidelity trial from
  then on trains on fewer rows of each training fold (a stratified
  subsample, every minority row up to a floor; the test folds unchanged), as
  many as that share affords. Otherwise a 30-second search of 100,000 rows
  spends its time on one tree model's five folds, and the budget, unable to
  afford the rest, leaves the search to the cheapest model.

A screening trial records its fold scores and ends PRUNED (``stop_reason``
``"screened"``): the best trial, the ensemble, the decision rule and the
pruner's same-fold comparisons only read COMPLETE trials, so its low-fidelity
scores never compete with full-fidelity ones.
"""

from __future__ import annotations

import math

import numpy as np
from optuna.trial import TrialState

from ._attrs import (
    ATTR_FAMILY,
    ATTR_FIT_TIMES,
    ATTR_PROMOTED,
    ATTR_SCORE_TIMES,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
)
from ._budget import FOLD_MARGIN, trial_config
from ._cost import ROWS_EXPONENT
from ._subsample import search_subsample, subsample_counts

__all__ = [
    "BUDGET_SHARE",
    "COVERAGE_SHARE",
    "FULL_TRIAL_SHARE",
    "MAX_FRACTION",
    "MIN_PROMOTED",
    "MIN_ROWS_PER_CLASS",
    "PROMOTED_SHARE",
    "START_FRACTION",
    "choose_fraction",
    "fold_train_rows",
    "full_fidelity_rows",
    "promoted",
    "round_configs",
    "run_round",
    "screen_rows",
    "screened",
]

#: Share of each training fold's rows the probes run on.
START_FRACTION = 0.1
#: The largest share of the rows a screening trial runs on (a lower fidelity).
MAX_FRACTION = 0.5
#: The round is expected to take at most this share of the ``timeout``.
BUDGET_SHARE = 1 / 3
#: Share of the screened setups promoted to full fidelity ...
PROMOTED_SHARE = 1 / 3
#: ... and at least this many.
MIN_PROMOTED = 2
#: Rows of each class a screening fold keeps at least (or all of them), so
#: that samplers with neighbours still find their minority neighbours.
MIN_ROWS_PER_CLASS = 50
#: A fraction is raised over the probes' only when it grows at least this
#: much (running the probes again is not worth less); a capped full fidelity
#: keeps at least this many times the screening rows.
MIN_RAISE = 1.5
#: One full-fidelity trial of the best affordable promoted setup may take this
#: share of the time left after its refit (so several promoted setups and
#: TPE's trials still fit) ...
FULL_TRIAL_SHARE = 0.2
#: ... whose refit must fit in this share of the time left.
REFIT_SHARE = 0.5
#: When the probes spent the round's share, the families left are still
#: screened on the cheapest model if that takes at most this share of the
#: ``timeout``.
COVERAGE_SHARE = 0.05
#: A cap above this share of a training fold's rows is not worth its noise.
MAX_CAP_SHARE = 0.9
#: Nor a cap below this many rows: every model of the portfolio fits a few
#: thousand rows in about a second, so the cap would save little and cost
#: much (on abalone19, 570 of 2,337 rows lost 0.017 AUC).
MIN_CAPPED_ROWS = 5_000


def screened(trial):
    """Whether ``trial`` is a screening trial (scored on fewer rows)."""
    return trial.user_attrs.get(ATTR_SCREEN_ROWS) is not None


def round_configs(space):
    """One :class:`~autobalance._space.Config` per (family, model): the first
    technique of each family in the space, at its defaults, on every
    compatible model, and every model-replacing technique (its own model).
    Ordered by family, then model, so that the first setup of each model
    (its probe) comes before the rest of the round."""
    names, families = [], set()
    for name, technique in space.techniques.items():
        # A technique that replaces the model (the balanced random forest,
        # easy ensemble) is a model of its own: each is screened.
        if technique.kind == "estimator" or technique.family not in families:
            families.add(technique.family)
            names.append(name)
    configs = []
    for name in names:
        for algorithm in space.compatible[name] or [None]:
            configs.append(space.default_config(name, algorithm))
    return configs


def _model(config):
    return config.algorithm or config.technique


def screen_rows(n_train, n_classes, fraction):
    """Training rows of a screening fold at ``fraction``, never below
    :data:`MIN_ROWS_PER_CLASS` per class; ``None`` when that is more than
    :data:`MAX_FRACTION` of ``n_train`` (the data is too small for a
    cheaper fidelity)."""
    rows = max(round(fraction * n_train), n_classes * MIN_ROWS_PER_CLASS)
    return None if rows > MAX_FRACTION * n_train else int(rows)


def fold_train_rows(train, y, classes, max_rows, seed):
    """The training indices of a screening fold: a stratified subsample of
    ``train`` of ``max_rows`` rows keeping every row of a class up to a floor
    (:func:`~autobalance._subsample.search_subsample`), sorted."""
    y_train = np.asarray(y)[train]
    counts = np.array([np.sum(y_train == c) for c in classes])
    rows = search_subsample(y_train, classes, counts, max_rows, seed)
    return train if rows is None else np.asarray(train)[rows]


def _cost(trial):
    attrs = trial.user_attrs
    return float(
        np.sum(attrs.get(ATTR_FIT_TIMES) or [0.0])
        + np.sum(attrs.get(ATTR_SCORE_TIMES) or [0.0])
    )


def choose_fraction(probes, rest, allowance, start=START_FRACTION):
    """The fraction of the rows for the rest of the round.

    Parameters
    ----------
    probes : dict
        Model -> seconds its probe took at ``start``.
    rest : list of str
        The model of each setup of the round left to run.
    allowance : float
        Seconds the rest of the round may take.
    start : float
        The probes' fraction.

    Returns
    -------
    fraction : float
        ``start``, or the largest fraction up to :data:`MAX_FRACTION` whose
        expected time (the probes' times scaled by rows to the power
        :data:`~autobalance._budget.ROWS_EXPONENT`, the probes run again
        included) fits in ``allowance``; ``start`` unless it grows by
        :data:`MIN_RAISE`.
    """
    if not probes:
        return start
    slowest = max(probes.values())
    cost = sum(probes.get(m, slowest) for m in rest) + sum(probes.values())
    if cost <= 0:
        return MAX_FRACTION
    fraction = start * max(allowance / cost, 0.0) ** (1 / ROWS_EXPONENT)
    fraction = min(fraction, MAX_FRACTION)
    return fraction if fraction >= MIN_RAISE * start else start


def promoted(trials, rows, n_splits, refit_fits=None):
    """The screening trials run on ``rows`` rows with every fold scored, best
    :data:`PROMOTED_SHARE` (at least :data:`MIN_PROMOTED`) by mean screening
    score, best first (ties by trial number).

    ``refit_fits(trial) -> bool``, when given, passes over the setups whose
    refit the budget could not afford (they would never be chosen): the
    promoted are the best of the others, as many."""
    scored = [
        t
        for t in trials
        if t.user_attrs.get(ATTR_SCREEN_ROWS) == rows
        and len(t.user_attrs.get(ATTR_SCORES) or ()) == n_splits
    ]
    ranked = sorted(
        scored, key=lambda t: (-float(np.mean(t.user_attrs[ATTR_SCORES])), t.number)
    )
    k = max(MIN_PROMOTED, math.ceil(PROMOTED_SHARE * len(ranked)))
    if refit_fits is not None:
        ranked = [t for t in ranked if refit_fits(t)]
    return ranked[:k]


def _refit_fits(budget, trial):
    """Whether the refit of ``trial``'s setup (as planned: on every row, or
    on the rows a share of the budget affords, see
    :meth:`~autobalance._budget.Budget.planned_refit`) is predicted to fit in
    :data:`REFIT_SHARE` of the time left (unknown: it may)."""
    refit = budget.planned_refit([trial_config(trial)])
    return refit is None or refit <= REFIT_SHARE * budget.remaining()


def full_fidelity_rows(budget, configs, batches, screened_rows):
    """Training rows of a full-fidelity fold that the budget affords.

    Parameters
    ----------
    budget : Budget
        Its cost model (learned from the screening round), the time left,
        and the class counts of a full training fold and of the refit.
    configs : list of Config
        The promoted setups, best first.
    batches : int
        Batches of folds of one trial.
    screened_rows : int
        Training rows of the screening round's folds.

    Returns
    -------
    rows : int or None
        ``None`` (every row of the fold) when a trial of the best promoted
        setup whose refit fits in :data:`REFIT_SHARE` of the time left takes
        at most :data:`FULL_TRIAL_SHARE` of the time left after that refit
        (as predicted, with the budget's fold margin), or when no such setup
        can be predicted; else the most rows, at least :data:`MIN_RAISE`
        times ``screened_rows`` and :data:`MIN_CAPPED_ROWS`, whose trial
        does (``None`` when that floor is most of the fold).
    """
    if budget.timeout is None:
        return None
    left = budget.remaining()
    cost, full = budget.cost, budget.train_counts
    pick = refit = None
    for config in configs:
        refit = budget.planned_refit([config])
        if refit is not None and refit <= REFIT_SHARE * left:
            pick = config
            break
    if pick is None:
        return None
    allowance = FULL_TRIAL_SHARE * (left - refit)

    def trial_seconds(rows):
        counts = subsample_counts(np.round(full).astype(int), int(rows))
        return batches * FOLD_MARGIN * cost.predict(pick, counts)

    n_train = float(full.sum())
    if trial_seconds(n_train) <= allowance:
        return None
    low = max(math.ceil(MIN_RAISE * screened_rows), MIN_CAPPED_ROWS)
    if low >= MAX_CAP_SHARE * n_train:
        return None
    rows = low
    for candidate in np.geomspace(low, n_train, 40):
        if trial_seconds(candidate) <= allowance:
            rows = int(candidate)
    return None if rows >= MAX_CAP_SHARE * n_train else rows


def run_round(study, optimize, objective, budget, starting_params):
    """Run the screening round on a fresh ``study``, then enqueue the promoted
    setups at full fidelity, best first, and the starting points that are
    not setups of the round.

    The round ends early once its share of the budget
    (:data:`BUDGET_SHARE` of ``timeout`` from the start of ``fit``) is spent:
    the setups scored by then are ranked. When the budget stopped the search
    before any full-fidelity trial, one is still tried (the best screened
    setup, else the first starting point); should the budget refuse it too,
    ``_study.run_fallback`` runs the setup predicted cheapest, so that
    ``fit`` has a model to return.

    Parameters
    ----------
    study : optuna.Study
    optimize : callable
        ``optimize(n_trials) -> stopped``: runs that many trials of ``study``
        with the search's callbacks; ``stopped`` is true once the budget
        stopped the study.
    objective : Objective
        Gives the space, the folds and the labels.
    budget : Budget
        Its ``timeout`` and clock set the round's allowance.
    starting_params : list of dict
        The Optuna parameters of the search's starting points.

    Returns
    -------
    stopped : bool
        Whether the budget stopped the study.
    """
    space = objective.space
    n_train = float(np.mean([len(train) for train, _ in objective.splits]))
    n_classes = len(space.context.classes)
    configs = round_configs(space)
    rows = screen_rows(n_train, n_classes, START_FRACTION)
    stopped = False
    if rows is not None and len(configs) > 1:
        end = budget.start + BUDGET_SHARE * budget.timeout
        stopped, rows = _screen(study, optimize, space, configs, rows, budget, end)
        trials = study.get_trials(deepcopy=False)
        best = promoted(
            trials, rows, len(objective.splits), lambda t: _refit_fits(budget, t)
        )
        if not best:  # no refit predicted to fit: the best, whatever it costs
            best = promoted(trials, rows, len(objective.splits))
        if not stopped:
            _cap_full_fidelity(objective, budget, best, rows)
        for trial in best:
            study.enqueue_trial(trial.params, user_attrs={ATTR_PROMOTED: trial.number})
    # A starting point that was screened is represented by its screening.
    for params in starting_params:
        study.enqueue_trial(params, skip_if_exists=True)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if stopped and not complete:
        optimize(1)
    return stopped


def _cap_full_fidelity(objective, budget, best, rows):
    """Cap the training rows of the search's full-fidelity folds to what the
    budget affords (:func:`full_fidelity_rows`)."""
    batches = objective.trial_batches()
    configs = [trial_config(t) for t in best]
    capped = full_fidelity_rows(budget, configs, batches, rows)
    if capped is not None:
        splits = objective.cap_full_rows(capped)
        budget.set_train_counts(objective.class_counts(splits))


def _screen(study, optimize, space, configs, rows, budget, end):
    """The probes at ``rows``, then the rest of the round at the rows
    :func:`choose_fraction` affords before ``end`` (and the probes again when
    those differ), one trial at a time until ``end``; returns ``(stopped,
    rows)``: whether the budget stopped the study, and the rows of the
    round's ranked trials."""
    probes, rest = {}, []
    for config in configs:
        if _model(config) in probes:
            rest.append(config)
        else:
            probes[_model(config)] = config
    before = len(study.get_trials(deepcopy=False))
    if _run(study, optimize, space, probes.values(), rows, budget, end):
        return True, rows
    # Enqueued trials run in order: the probes that ran (all of them unless
    # the round's share ran out first) are the latest trials.
    latest = study.get_trials(deepcopy=False)[before:]
    costs = {model: _cost(t) for model, t in zip(probes, latest, strict=False)}
    if budget.clock() >= end:  # the round's share is spent
        return _cover_families(study, optimize, space, rest, costs, rows, budget), rows
    fraction = choose_fraction(costs, [_model(c) for c in rest], end - budget.clock())
    n_train = budget.n_train
    n_classes = len(space.context.classes)
    new_rows = screen_rows(n_train, n_classes, fraction) or rows
    again = list(probes.values()) if new_rows != rows else []
    # Cheapest model first: if the round's share runs out, it has covered the
    # most families (every model was covered by its probe).
    slowest = max(costs.values())
    todo = sorted([*again, *rest], key=lambda c: costs.get(_model(c), slowest))
    stopped = _run(study, optimize, space, todo, new_rows, budget, end)
    if not stopped:
        # Probes that nearly spent the round's share leave it to end before
        # every family was scored (sylva under load at 30 s: 2 of 6 left).
        left = _unscreened(study, space, rest)
        stopped = _cover_families(study, optimize, space, left, costs, rows, budget)
    return stopped, new_rows


def _unscreened(study, space, configs):
    """The ``configs`` whose family no screening trial of ``study`` scored."""
    scored = {
        t.user_attrs.get(ATTR_FAMILY)
        for t in study.get_trials(deepcopy=False)
        if screened(t) and t.user_attrs.get(ATTR_SCORES)
    }
    return [c for c in configs if space.family(c.technique) not in scored]


def _cover_families(study, optimize, space, rest, costs, rows, budget):
    """Once the probes spent the round's share (or nearly, so that it ran out
    before every family was scored), screen each family left in ``rest``
    on the model whose probe was cheapest, at the probes' rows, when that is
    expected to take at most :data:`COVERAGE_SHARE` of the ``timeout``: every
    family is then scored at least once (on large data the probes of the
    costly models can take the whole share). Returns whether the budget
    stopped the study."""
    if not costs:  # no probe ran before the round's share was spent
        return False
    cheapest = min(costs, key=costs.get)
    todo = [c for c in rest if _model(c) == cheapest]
    if not todo or costs[cheapest] * len(todo) > COVERAGE_SHARE * budget.timeout:
        return False
    return _run(study, optimize, space, todo, rows, budget, math.inf)


def _run(study, optimize, space, configs, rows, budget, end):
    """Screen ``configs`` on ``rows`` rows one after another, until ``end``
    on the budget's clock; returns whether the budget stopped the study."""
    for config in configs:
        if budget.clock() >= end:
            return False
        study.enqueue_trial(
            space.optuna_params(config), user_attrs={ATTR_SCREEN_ROWS: rows}
        )
        if optimize(1):
            return True
    return False
