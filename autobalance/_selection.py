"""Which trial of a finished search is refitted, and the out-of-fold
predictions the search kept for it."""

from __future__ import annotations

import warnings

from ._ensemble import (
    ATTR_MEMBERS,
    ENSEMBLE,
    SoftVotingEnsemble,
    add_ensemble_trial,
    ensemble_predictions,
)
from ._objective import ATTR_ALGORITHM, ATTR_DUPLICATE, ATTR_TECHNIQUE
from ._space import Config
from ._study import TrialState, best_trial_of
from .exceptions import SkippedTechniqueWarning

__all__ = ["choose_trial", "estimator_from_params", "search_predictions"]


def _warn_passed_over(best, chosen, budget):
    seconds = budget.trial_refit_estimate(best)
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
        reasons.append(f"about {seconds:,.0f} s to refit, more than the time left")

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


def choose_trial(study, plan):
    """The trial to refit: the averaged ensemble when it forms, else the best
    trial, passed over (with a warning) for the best one whose refit fits
    the time and memory left."""
    ensemble_trial = None
    if plan.ensembling:
        ensemble_trial = add_ensemble_trial(
            study,
            plan.objective.oof,
            plan.splits,
            plan.y_search,
            positive=plan.classes[1],
        )
    # Its members are the models the best one does not beat clearly; the
    # best single trial is an optimistic pick among many noisy ones, so the
    # average of close models is chosen over it.
    best = ensemble_trial if ensemble_trial is not None else best_trial_of(study)
    chosen = plan.budget.affordable_best(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), best
    )
    if chosen.number != best.number:
        _warn_passed_over(best, chosen, plan.budget)
    return chosen


def search_predictions(objective, trial):
    """The out-of-fold predictions the search made for ``trial`` (an ensemble:
    the average of its members'), or ``None`` when they were not kept."""
    oof = objective.oof
    if trial.user_attrs.get(ATTR_TECHNIQUE) == ENSEMBLE:
        numbers = trial.user_attrs.get(ATTR_MEMBERS)
        if numbers and all(n in oof for n in numbers):
            return ensemble_predictions(oof, numbers)
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
            ]
        )
    config = Config(params.pop("technique"), params.pop("algorithm"), params)
    return space.build(config)
