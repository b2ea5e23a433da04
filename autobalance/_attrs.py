"""Keys of what autobalance stores on Optuna trials and studies.

The one place these keys are spelled: every module that writes or reads an
attribute imports its key from here (this module imports nothing from the
package, so any floor can). Stored studies keep them, so a key never
changes: a resumed search reads what an earlier version wrote.

The columns of ``cv_results_`` (``"technique"``, ``"fail_reason"``, ...) are
the estimator's public layout, not these keys, even where the spelling is
the same.
"""

__all__ = [
    "ATTR_ALGORITHM",
    "ATTR_BUDGET_REFUSED",
    "ATTR_DUPLICATE",
    "ATTR_FAIL",
    "ATTR_FAMILY",
    "ATTR_FIT_TIMES",
    "ATTR_MEMBERS",
    "ATTR_MODEL_BYTES",
    "ATTR_PARAMS",
    "ATTR_RECALLS",
    "ATTR_SCORES",
    "ATTR_SCORE_TIMES",
    "ATTR_TECHNIQUE",
    "BEAT_ATTR",
    "BUDGET_ATTR",
    "CONFIG_ATTR",
    "FINGERPRINT_ATTR",
    "OWNER_ATTR",
    "SLOT_ATTR",
]

# --------------------------------------------------------------------------
# Trial user attributes: written by the objective (and on the ensemble's
# trial), read back into cv_results_, the refit choice and the budget.
# --------------------------------------------------------------------------
ATTR_TECHNIQUE = "technique"  # name of the trial's imbalance technique
ATTR_FAMILY = "family"  # the technique's family (sampler, weights, ...)
ATTR_ALGORITHM = "algorithm"  # name of the trial's model in the portfolio
ATTR_PARAMS = "params"  # the setup's own parameters, JSON-safe
ATTR_SCORES = "split_scores"  # score on each fold, in fold order
ATTR_FIT_TIMES = "fit_times"  # seconds to fit on each fold
ATTR_SCORE_TIMES = "score_times"  # seconds to score each fold
ATTR_FAIL = "fail_reason"  # why the trial failed or stopped (text)
ATTR_DUPLICATE = "duplicate_of"  # number of the earlier trial with this setup
ATTR_RECALLS = "split_recalls"  # per-class recall on each fold
ATTR_MODEL_BYTES = "model_bytes"  # approximate size of each fold's model
# True on a trial the time budget refused before its first fold: it ran
# nothing, so a stored study does not count it and a resumed one runs its slot.
ATTR_BUDGET_REFUSED = "budget_refused"
ATTR_MEMBERS = "member_trials"  # numbers of an ensemble trial's member trials

# --------------------------------------------------------------------------
# Trial system attributes of stored searches (_distributed).
# --------------------------------------------------------------------------
SLOT_ATTR = "autobalance:slot"  # the ticket's place in the trial budget
OWNER_ATTR = "autobalance:worker"  # "host:pid" of the process that claimed it
BEAT_ATTR = "autobalance:heartbeat"  # time of a journal trial's last heartbeat

# --------------------------------------------------------------------------
# Study user attributes of stored searches.
# --------------------------------------------------------------------------
FINGERPRINT_ATTR = "autobalance_fingerprint"  # hash of data and search settings
BUDGET_ATTR = "autobalance_n_trials"  # the driver's n_trials; workers wait for it
CONFIG_ATTR = "autobalance_cli"  # what a CLI worker needs, recorded by `fit`
