"""Which trial of a finished search is refitted (the rule that chooses it,
scored on folds it was not chosen on), and the out-of-fold predictions the
search kept for it."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._attrs import ATTR_FIT_TIMES, ATTR_SCORES, ATTR_SELECTION, SELECTION_ATTR
from ._budget import FOLD_MARGIN, trial_config
from ._ensemble import (
    ATTR_MEMBERS,
    ENSEMBLE,
    FoldLibrary,
    SoftVotingEnsemble,
    add_ensemble_trial,
    clearly_better,
    ensemble_predictions,
)
from ._guard import reference_instead
from ._objective import ATTR_ALGORITHM, ATTR_DUPLICATE, ATTR_PARAMS, ATTR_TECHNIQUE
from ._oof import out_of_fold_predictions
from ._space import Config
from ._study import TrialState, best_trial_of
from ._threshold import fit_decision_rule
from .exceptions import SkippedTechniqueWarning

__all__ = [
    "choose_trial",
    "estimator_from_params",
    "honest_scores",
    "refit_decision_rule",
    "search_predictions",
]


def _seconds(value):
    """Seconds as a warning says them: whole above 10, else to a tenth (a
    10 s budget's refits take fractions of a second).

    Examples
    --------
    >>> _seconds(1234.5), _seconds(0.04), _seconds(2.26)
    ('1,234', '0.0', '2.3')
    """
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _warn_passed_over(best, chosen, budget):
    seconds = budget.trial_refit_estimate(best, least=True)
    size = budget.trial_model_estimate(best) / 2**20
    in_time, in_memory = budget.fits(best)
    reasons = []
    if not in_memory:
        reasons.append(
            f"a model of about {size:,.0f} MiB refitted on every row (the limit is "
            f"{budget.memory_limit / 2**20:,.0f} MiB: twice the training data, at "
            "least 256 MiB)"
        )
    if not in_time:
        left = max(budget.refit_time_left(), 0.0)
        reasons.append(
            f"about {_seconds(seconds)} s to refit, more than the "
            f"{_seconds(left)} s left"
        )

    def name(trial):
        attrs = trial.user_attrs
        return f"{attrs.get(ATTR_TECHNIQUE)}/{attrs.get(ATTR_ALGORITHM)}"

    warnings.warn(
        f"The best setup {name(best)} would need {' and '.join(reasons)}; "
        f"refitting {name(chosen)} instead (the best that fits). Pass "
        "estimator= with smaller models (e.g. min_samples_leaf on trees) or a "
        "larger timeout to search them.",
        SkippedTechniqueWarning,
        stacklevel=4,
    )


#: the rules "auto" compares, simplest first: a tie goes to the simpler
RULES = ("best", "average", "greedy")


def _apply(library, rule, folds):
    if rule == "best":
        return library.best(folds)
    if rule == "average":
        return library.average(folds)
    return library.greedy(folds)


def honest_scores(library, rules=RULES):
    """The score of each selection rule on folds it was not chosen on: for
    each split, the rule is applied on the other splits and its predictor
    scored on this one; the mean over splits.

    A rule scored on the folds it chose on looks better the more it can pick
    among (the best of many noisy trials is optimistic); held out, a rule that
    merely fits the folds' noise loses to a simpler one.
    """
    splits = range(library.n_splits)
    out = {}
    for rule in rules:
        held_out = []
        for k in splits:
            members, counts = _apply(library, rule, [j for j in splits if j != k])
            held_out.append(library.score(members, counts, k))
        out[rule] = float(np.mean(held_out))
    return out


def _select(study, plan):
    """``(trial, selection)``: the trial a rule of ``plan.ensembling`` forms
    (``None``: the best trial), and the record of the choice."""
    setting = plan.ensembling
    selection = {"ensemble": setting, "rule": "best", "honest_scores": {}}
    if setting is None:
        return None, selection
    oof, positive = plan.objective.oof, plan.classes[1]
    library = None
    rule = setting
    if setting != "average":
        library = FoldLibrary(study, oof, plan.y_search, positive)
    if setting == "auto":
        scores = honest_scores(library)
        selection["honest_scores"] = scores
        rule = max(RULES, key=scores.__getitem__)  # the first of equals
    members = counts = None
    if rule == "greedy":
        members, counts = library.greedy(list(range(library.n_splits)))
        if len(members) == 1:
            selection.update(rule="greedy", members=[library.trials[members[0]].number])
            return library.trials[members[0]], selection
        members = [library.trials[i] for i in members]
        # Equal counts are the plain average.
        counts = None if len(set(counts)) == 1 else counts
    elif rule != "average":
        return None, selection
    selection["rule"] = rule
    trial = add_ensemble_trial(
        study,
        oof,
        plan.splits,
        plan.y_search,
        positive=positive,
        members=members,
        weights=counts,
        attrs={ATTR_SELECTION: selection},
    )
    if trial is None:  # fewer than two models qualify for the average
        selection["rule"] = "best"
        return None, selection
    selection["members"] = trial.user_attrs[ATTR_MEMBERS]
    selection["weights"] = (trial.user_attrs[ATTR_PARAMS]).get("weights")
    return trial, selection


#: A timed refit of a subsampled search trains on a trial the search cannot
#: tell from the chosen one instead, when it is predicted to afford at least
#: this many times the rows.
MORE_ROWS = 2.0


def _has_predictions(trial, objective):
    """Whether nothing more is needed for ``trial``'s decision rule: the
    search kept its out-of-fold predictions, or keeps none (no rule)."""
    return not objective.keep_oof or search_predictions(objective, trial) is not None


def _fold_refits(trial, objective):
    """Seconds to refit ``trial``'s folds for its decision rule (0 when
    :func:`_has_predictions`), with the budget's fold margin."""
    if _has_predictions(trial, objective):
        return 0.0
    if trial.user_attrs.get(ATTR_TECHNIQUE) == ENSEMBLE:
        return math.inf  # its members' folds: not worth a refit this late
    return FOLD_MARGIN * float(sum(trial.user_attrs.get(ATTR_FIT_TIMES) or ()))


def _roomier(trials, chosen, budget, objective):
    """``(trial, record)``: the trial to refit instead of ``chosen`` when a
    timed refit cannot train on every row, else ``(chosen, None)``.

    Among the complete trials whose fold scores ``chosen``'s do not beat by
    more than one standard error (the search cannot tell them apart), the one
    whose refit is predicted to train on the most rows in the time left, when
    that is at least :data:`MORE_ROWS` times ``chosen``'s: on large data a
    model refitted on more rows ranks better, which a search run on a few
    thousand of them cannot see (class-weighted histogram gradient boosting
    costs four to five times the unweighted one per row). A trial whose
    out-of-fold predictions the search did not keep (it keeps each model's
    best) has its folds refitted for the decision rule first: their time
    comes off its refit's.
    """
    if budget.timeout is None or budget.search_rows >= budget.n_samples:
        return chosen, None
    scores = chosen.user_attrs.get(ATTR_SCORES)
    rows = budget.refit_rows(
        budget.trial_configs(chosen),
        budget.remaining() - _fold_refits(chosen, objective),
    )
    if not scores or rows >= budget.n_samples:
        return chosen, None
    best, best_rows = chosen, rows
    for trial in sorted(trials, key=lambda t: (-t.value, t.number)):
        other = trial.user_attrs.get(ATTR_SCORES)
        if (
            trial.number == chosen.number
            or ATTR_DUPLICATE in trial.user_attrs
            or not other
            or len(other) != len(scores)
            or clearly_better(scores, other)
            or not all(budget.fits(trial))
        ):
            continue
        left = budget.remaining() - _fold_refits(trial, objective)
        if left <= 0:
            continue
        trial_rows = budget.refit_rows(budget.trial_configs(trial), left)
        if trial_rows > best_rows:
            best, best_rows = trial, trial_rows
    if best_rows < MORE_ROWS * rows:
        return chosen, None
    return best, {"instead_of": chosen.number, "rows": best_rows, "rows_instead": rows}


def _keep_predictions(trial, plan):
    """Refit ``trial``'s folds now when the search did not keep its
    out-of-fold predictions (its decision rule is fitted on them), so that
    the refit after it spends only the time they leave."""
    objective = plan.objective
    if _has_predictions(trial, objective):
        return
    objective.oof[trial.number] = out_of_fold_predictions(
        plan.budget.space.build(trial_config(trial)),
        plan.X_search,
        plan.y_search,
        objective.full_splits,
        plan.classes,
        n_jobs=objective.n_jobs,
        sample_weight=plan.search_sample_weight,
    )


def choose_trial(study, plan):
    """``(trial, selection)``: the trial to refit and the record of why.

    The trial is the ensemble (or single trial) that the rule of
    ``plan.ensembling`` chooses (see :func:`honest_scores`), else the best
    trial; passed over (with a warning) for the best one whose refit fits
    the time and memory left. ``selection`` (the estimator's
    ``selection_``, also the study's user attribute
    ``"autobalance_selection"``) says which rule chose it, with the held-out
    score of each rule when ``"auto"`` compared them.
    """
    ensemble_trial, selection = _select(study, plan)
    best = ensemble_trial if ensemble_trial is not None else best_trial_of(study)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if plan.ensembling is not None:
        # Where the ensemble may be formed (binary, ROC AUC): the conditions
        # the guard was learned under.
        best, reference = reference_instead(
            complete, best, plan.budget.space, len(plan.y_full)
        )
        if reference is not None:
            selection["reference"] = reference
    chosen = plan.budget.affordable_best(complete, best)
    if chosen.number != best.number:
        _warn_passed_over(best, chosen, plan.budget)
    chosen, more_rows = _roomier(complete, chosen, plan.budget, plan.objective)
    if more_rows is not None:
        _keep_predictions(chosen, plan)
        selection["more_rows"] = more_rows
    selection["trial"] = chosen.number
    if plan.ensembling is not None:
        study.set_user_attr(SELECTION_ATTR, selection)
    return chosen, selection


def search_predictions(objective, trial):
    """The out-of-fold predictions the search made for ``trial`` (an ensemble:
    the average of its members'), or ``None`` when they were not kept."""
    oof = objective.oof
    if trial.user_attrs.get(ATTR_TECHNIQUE) == ENSEMBLE:
        numbers = trial.user_attrs.get(ATTR_MEMBERS)
        if numbers and all(n in oof for n in numbers):
            weights = (trial.user_attrs.get(ATTR_PARAMS) or {}).get("weights")
            return ensemble_predictions(oof, numbers, weights)
        return None
    number = trial.user_attrs.get(ATTR_DUPLICATE, trial.number)
    return oof.get(number)


def estimator_from_params(space, params):
    """An unfitted estimator for one entry of ``cv_results_["params"]`` of a
    search of ``space``, built exactly as its trial built it."""
    params = dict(params)
    if params["technique"] == ENSEMBLE:
        return SoftVotingEnsemble(
            [
                (f"member{i}", estimator_from_params(space, member))
                for i, member in enumerate(params["members"])
            ],
            weights=params.get("weights"),
        )
    config = Config(params.pop("technique"), params.pop("algorithm"), params)
    return space.build(config)


def refit_decision_rule(estimator, plan, trial, refit_rows=None):
    """The decision rule (calibration, threshold) of ``estimator``'s refit of
    ``trial`` on ``refit_rows`` (``None``: every row), fitted on the
    out-of-fold predictions the search kept for it (refitting the folds when
    it kept none)."""
    y_refit, refit_weight = plan.y_full, plan.sample_weight
    if refit_rows is not None:
        y_refit = y_refit[refit_rows]
        refit_weight = None if refit_weight is None else refit_weight[refit_rows]
    return fit_decision_rule(
        estimator,
        plan.X_search,
        plan.y_search,
        folds=search_predictions(plan.objective, trial),
        y_refit=y_refit,
        prior=plan.prior,
        # A timed search may have capped its folds' training rows.
        splits=plan.objective.full_splits,
        sample_weight=plan.search_sample_weight,
        refit_sample_weight=refit_weight,
    )
