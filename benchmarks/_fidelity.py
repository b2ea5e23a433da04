"""Does the screening round rank setups as full fidelity would? (issue 18)

A timed search screens one setup per (technique family, model) on a share of
each training fold's rows (``autobalance/_screening.py``) and promotes the
best third to full fidelity. The setups the search itself ran at full
fidelity are the promoted ones, the top of the ranking, so pairing them with
their screening scores says little about the rest. This module measures the
ranking directly, after the timed fit (its time is the benchmark's, not the
fit's):

1. the round's ranked setups (the screening trials on the round's rows, every
   fold scored, as :func:`autobalance._screening.promoted` ranks them);
2. a sample of them spread over families and models, the round's best always
   in it (:func:`stratified_sample`);
3. each sampled setup scored at full fidelity on the search's own rows and
   folds: the search's plan is rebuilt from the fitted estimator's parameters
   and the same ``X, y`` (:func:`autobalance._plan.build_plan` is
   deterministic given ``random_state``: the same subsample, the same folds,
   the same model seeds), and its objective, without the time budget, runs
   the setup (``space.build(config, search=True)``: the trees of the search,
   so only the rows differ from the screening). A setup the search already
   completed at full fidelity keeps the search's own score (no refit);
4. Spearman and Kendall rank correlations of screening and full-fidelity
   scores, and whether the full-fidelity best of the sample was among the
   round's promoted setups (:func:`summarise`).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np
from optuna.trial import FixedTrial, TrialState
from scipy.stats import kendalltau, spearmanr

from autobalance._attrs import (
    ATTR_ALGORITHM,
    ATTR_FAMILY,
    ATTR_MEMBERS,
    ATTR_PARAMS,
    ATTR_SCORES,
    ATTR_SCREEN_ROWS,
    ATTR_TECHNIQUE,
)
from autobalance._objective import TrialFailure
from autobalance._plan import build_plan
from autobalance._screening import promoted

__all__ = [
    "COLUMNS",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_SETUPS",
    "Setup",
    "full_fidelity_objective",
    "full_score",
    "measure",
    "round_setups",
    "setup_key",
    "stratified_sample",
    "summarise",
]

#: Screened setups scored at full fidelity per run (``--fidelity-setups``).
DEFAULT_SETUPS = 8
#: Searched rows above which the measurement is skipped (``--fidelity-max-rows``).
DEFAULT_MAX_ROWS = 200_000
#: The columns :func:`measure` adds to a benchmark row.
COLUMNS = (
    "fidelity_spearman",
    "fidelity_kendall",
    "fidelity_pairs",
    "fidelity_refits",
    "fidelity_reused",
    "fidelity_top1_kept",
    "fidelity_seconds",
    "fidelity_search_rows",
    "fidelity_screen_rows",
    "fidelity_sample",
    "fidelity_note",
)


@dataclass
class Setup:
    """A screened setup of the round: its trial, screening score, family and
    model; ``full`` its full-fidelity score once measured."""

    number: int
    params: dict
    key: str
    family: str
    model: str
    screen: float
    full: float = math.nan
    reused: bool = False
    technique: str = ""

    def describe(self, promoted_numbers):
        """``technique/model screen>full``, ``*`` when promoted, ``=`` when
        the full score is the search's own."""
        mark = ("*" if self.number in promoted_numbers else "") + (
            "=" if self.reused else ""
        )
        return f"{self.technique}/{self.model} {self.screen:.4f}>{self.full:.4f}{mark}"


def setup_key(trial):
    """What makes two trials the same setup: technique, model and parameters
    (as the objective's duplicate check compares them)."""
    attrs = trial.user_attrs
    return json.dumps(
        [attrs.get(ATTR_TECHNIQUE), attrs.get(ATTR_ALGORITHM), attrs.get(ATTR_PARAMS)],
        sort_keys=True,
        default=str,
    )


def round_setups(trials, n_splits):
    """The round's ranked setups and the promoted ones.

    Returns
    -------
    setups : list of Setup
        The screening trials on the round's rows (those of its last screening
        trial: the round's later part runs at the rows it ranks) with every
        fold scored, best first.
    promoted_numbers : set of int
        Trial numbers of the setups the round promoted
        (:func:`autobalance._screening.promoted`).
    rows : int or None
        The round's training rows per fold; ``None`` without a round.
    """
    screening = [t for t in trials if t.user_attrs.get(ATTR_SCREEN_ROWS) is not None]
    if not screening:
        return [], set(), None
    rows = max(screening, key=lambda t: t.number).user_attrs[ATTR_SCREEN_ROWS]
    ranked = promoted(screening, rows, n_splits)
    ranked_all = sorted(
        (
            t
            for t in screening
            if t.user_attrs.get(ATTR_SCREEN_ROWS) == rows
            and len(t.user_attrs.get(ATTR_SCORES) or ()) == n_splits
        ),
        key=lambda t: (-float(np.mean(t.user_attrs[ATTR_SCORES])), t.number),
    )
    setups = [
        Setup(
            number=t.number,
            params=dict(t.params),
            key=setup_key(t),
            family=t.user_attrs.get(ATTR_FAMILY),
            model=t.user_attrs.get(ATTR_ALGORITHM) or t.user_attrs.get(ATTR_TECHNIQUE),
            screen=float(np.mean(t.user_attrs[ATTR_SCORES])),
            technique=t.user_attrs.get(ATTR_TECHNIQUE),
        )
        for t in ranked_all
    ]
    return setups, {t.number for t in ranked}, int(rows)


def stratified_sample(setups, k, seed=0):
    """Up to ``k`` of ``setups`` (best first), spread over families and
    models: the best, then repeatedly a setup of the family with the fewest
    picks so far, of its models the one with the fewest picks (random among
    ties, seeded), so that the sample covers the whole ranking, not its
    top."""
    if not setups or k <= 0:
        return []
    best = max(setups, key=lambda s: (s.screen, -s.number))
    rng = np.random.default_rng(seed)
    rest = [s for s in setups if s is not best]
    tiebreak = {id(s): r for s, r in zip(rest, rng.permutation(len(rest)), strict=True)}
    chosen = [best]
    while rest and len(chosen) < k:
        families = Counter(s.family for s in chosen)
        models = Counter(s.model for s in chosen)
        pick = min(
            rest, key=lambda s: (families[s.family], models[s.model], tiebreak[id(s)])
        )
        chosen.append(pick)
        rest.remove(pick)
    return chosen


def summarise(setups, promoted_numbers):
    """Spearman, Kendall, the number of pairs, and whether the full-fidelity
    best of ``setups`` (those with both scores) was promoted; NaN with fewer
    than 3 pairs (the top-1 answer needs 1)."""
    pairs = [s for s in setups if np.isfinite(s.screen) and np.isfinite(s.full)]
    out = {
        "fidelity_spearman": math.nan,
        "fidelity_kendall": math.nan,
        "fidelity_pairs": len(pairs),
        "fidelity_top1_kept": math.nan,
    }
    if pairs:
        top = max(pairs, key=lambda s: (s.full, -s.number))
        out["fidelity_top1_kept"] = top.number in promoted_numbers
    if len(pairs) >= 3:
        low = [s.screen for s in pairs]
        high = [s.full for s in pairs]
        out["fidelity_spearman"] = float(spearmanr(low, high).statistic)
        out["fidelity_kendall"] = float(kendalltau(low, high).statistic)
    return out


def full_fidelity_objective(clf, X, y):
    """The search's objective, rebuilt from ``clf``'s parameters on the ``X,
    y`` it was fitted on, without a time budget and keeping no predictions;
    and the searched rows. Raises when the rebuilt subsample is not the
    search's (``search_rows_``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = build_plan(clf, X, y)
    rows = getattr(clf, "search_rows_", None)
    if (plan.rows is None) != (rows is None) or (
        rows is not None and not np.array_equal(plan.rows, rows)
    ):
        raise RuntimeError("the rebuilt search rows are not the search's")
    objective = plan.objective
    objective.budget = None
    objective.keep_oof = False
    return objective, len(plan.y_search)


def full_score(objective, params):
    """The mean full-fidelity score of the setup of Optuna ``params``, on the
    objective's folds; NaN when its pipeline fails."""
    trial = FixedTrial(dict(params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(objective(trial))
        except TrialFailure:  # a failing setup is a missing pair
            return math.nan


def _completed(trials):
    """Setup key -> the search's full-fidelity score of that setup."""
    out = {}
    for t in trials:
        if (
            t.state == TrialState.COMPLETE
            and t.user_attrs.get(ATTR_SCREEN_ROWS) is None
            and ATTR_MEMBERS not in t.user_attrs
            and t.value is not None
        ):
            out.setdefault(setup_key(t), float(t.value))
    return out


def _empty(note, search_rows=math.nan, screen_rows=math.nan):
    return {
        "fidelity_spearman": math.nan,
        "fidelity_kendall": math.nan,
        "fidelity_pairs": 0,
        "fidelity_refits": 0,
        "fidelity_reused": 0,
        "fidelity_top1_kept": math.nan,
        "fidelity_seconds": 0.0,
        "fidelity_search_rows": search_rows,
        "fidelity_screen_rows": screen_rows,
        "fidelity_sample": "",
        "fidelity_note": note,
    }


def measure(clf, X, y, *, setups=DEFAULT_SETUPS, max_rows=DEFAULT_MAX_ROWS, seed=0):
    """The :data:`COLUMNS` of a fitted timed search ``clf`` on its ``X, y``.

    Parameters
    ----------
    clf : AutoBalancedClassifier
        Fitted with a ``timeout`` (else there is no screening round: the
        columns are empty, with a note).
    X, y : array-like
        What ``clf`` was fitted on.
    setups : int
        Screened setups to score at full fidelity (:func:`stratified_sample`).
    max_rows : int
        Skip (with a note) when the search ran on more rows than this.
    seed : int
        Of the sample's ties.

    Returns
    -------
    columns : dict
        ``fidelity_refits``: full-fidelity cross-validations the benchmark
        ran; ``fidelity_reused``: sampled setups whose score the search had;
        ``fidelity_seconds``: the benchmark's time on all of it;
        ``fidelity_sample``: each sampled setup's screening and full scores
        (:meth:`Setup.describe`).
    """
    start = time.perf_counter()
    trials = clf.study_.get_trials(deepcopy=False)
    ranked, promoted_numbers, screen_rows = round_setups(trials, clf.n_splits_)
    rows = getattr(clf, "search_rows_", None)
    search_rows = len(y) if rows is None else len(rows)
    if not ranked:
        return _empty("no screening round", search_rows)
    if search_rows > max_rows:
        return _empty(
            f"skipped: {search_rows} search rows > {max_rows}", search_rows, screen_rows
        )
    sample = stratified_sample(ranked, setups, seed)
    completed = _completed(trials)
    objective = None
    refits = 0
    for s in sample:
        if s.key in completed:
            s.full, s.reused = completed[s.key], True
            continue
        if objective is None:
            objective, search_rows = full_fidelity_objective(clf, X, y)
        s.full = full_score(objective, s.params)
        refits += 1
    return {
        **summarise(sample, promoted_numbers),
        "fidelity_refits": refits,
        "fidelity_reused": sum(s.reused for s in sample),
        "fidelity_seconds": time.perf_counter() - start,
        "fidelity_search_rows": search_rows,
        "fidelity_screen_rows": screen_rows,
        "fidelity_sample": "; ".join(s.describe(promoted_numbers) for s in sample),
        "fidelity_note": "",
    }
