"""The keys autobalance writes on Optuna trials and studies, in one place.

Trial user attributes are read back by ``cv_results_``, the ensemble, the
budget, reports and resumed studies; the system attributes and study
attributes tie a stored study's trials to their slots and the study to its
data and settings. Nothing else in the package spells these keys out.

This module imports nothing: every floor of the package may use it.
"""

__all__ = [
    "ATTR_ALGORITHM",
    "ATTR_BUDGET_REFUSED",
    "ATTR_DUPLICATE",
    "ATTR_FAIL",
    "ATTR_FALLBACK",
    "ATTR_FAMILY",
    "ATTR_FIDELITY_ROWS",
    "ATTR_FIDELITY_TREES",
    "ATTR_FIT_TIMES",
    "ATTR_MEMBERS",
    "ATTR_MODEL_BYTES",
    "ATTR_PARAMS",
    "ATTR_PILOT_ROWS",
    "ATTR_PILOT_TIME",
    "ATTR_PROMOTED",
    "ATTR_RECALLS",
    "ATTR_SCORES",
    "ATTR_SCORE_TIMES",
    "ATTR_SCREEN_ROWS",
    "ATTR_SELECTION",
    "ATTR_TECHNIQUE",
    "BEAT_ATTR",
    "BUDGET_ATTR",
    "CONFIG_ATTR",
    "EARLY_STOP_ATTR",
    "FINGERPRINT_ATTR",
    "OUT_OF_TIME",
    "OWNER_ATTR",
    "SEARCH_END_ATTR",
    "SELECTION_ATTR",
    "SLOT_ATTR",
]

# Trial user attributes (written by the objective and the ensemble).
#: the technique's name
ATTR_TECHNIQUE = "technique"
#: the technique's family
ATTR_FAMILY = "family"
#: the model's name (None for model-replacing techniques)
ATTR_ALGORITHM = "algorithm"
#: the technique's parameters, JSON-able
ATTR_PARAMS = "params"
#: the score of each fold run
ATTR_SCORES = "split_scores"
#: seconds to fit each fold
ATTR_FIT_TIMES = "fit_times"
#: seconds to score each fold
ATTR_SCORE_TIMES = "score_times"
#: why the trial failed or stopped
ATTR_FAIL = "fail_reason"
#: the earlier trial whose scores a repeated setup reused
ATTR_DUPLICATE = "duplicate_of"
#: per-class recall of each fold (multi-class)
ATTR_RECALLS = "split_recalls"
#: size of each fold's fitted model
ATTR_MODEL_BYTES = "model_bytes"
#: True when the time budget refused the trial before its first fold: it ran
#: nothing, so a stored study does not count it and a resumed one runs its slot
ATTR_BUDGET_REFUSED = "budget_refused"
#: the trials an ensemble averages
ATTR_MEMBERS = "member_trials"
#: how the refitted trial was chosen (the estimator's ``selection_``)
ATTR_SELECTION = "selection"
#: mean rows a fold of the trial trained on (before any resampling)
ATTR_FIDELITY_ROWS = "fidelity_rows"
#: trees (or boosting rounds) of the trial's ensemble model while searching,
#: None for a model that is not an ensemble of trees
ATTR_FIDELITY_TREES = "fidelity_trees"
#: training rows and seconds of a timed trial's pilot fit, run before its
#: first full fold when the cost model had not measured its sampler setup
ATTR_PILOT_ROWS = "pilot_rows"
ATTR_PILOT_TIME = "pilot_fit_time"
#: (set when enqueued) the training rows per fold of a screening trial, which
#: is scored on that subsample of each training fold and ends PRUNED
ATTR_SCREEN_ROWS = "screen_rows"
#: (set when enqueued) the screening trial whose setup a trial runs at full
#: fidelity
ATTR_PROMOTED = "promoted_from"
#: true on the trial a timed search ran in full, whatever the time left, after
#: the budget refused every full-fidelity trial (the cheapest predicted setup)
ATTR_FALLBACK = "budget_fallback"

#: the ``fail_reason`` of a trial the time budget stopped (before a fold)
OUT_OF_TIME = "stopped: the time budget ran out"

# Trial system attributes of a stored study (autobalance's own).
#: (system) the slot of a stored study's trial
SLOT_ATTR = "autobalance:slot"
#: (system) the worker running it
OWNER_ATTR = "autobalance:worker"
#: (system) its last heartbeat
BEAT_ATTR = "autobalance:heartbeat"

# Study user attributes.
#: (study) the number of trials a stored study should reach
BUDGET_ATTR = "autobalance_n_trials"
#: (study) the fingerprint of the data and settings
FINGERPRINT_ATTR = "autobalance_fingerprint"
#: (study) what a CLI worker needs, recorded by `fit`
CONFIG_ATTR = "autobalance_cli"
#: (study) how the refitted trial was chosen (the estimator's ``selection_``)
SELECTION_ATTR = "autobalance_selection"
#: (study) why a search stopped early (``search_progress_["stop_detail"]``)
EARLY_STOP_ATTR = "autobalance_early_stop"
#: (study) what ended the last search (``search_progress_["ended"]``):
#: ``"n_trials"``, ``"budget"`` or ``"early_stop"``
SEARCH_END_ATTR = "autobalance_search_end"
