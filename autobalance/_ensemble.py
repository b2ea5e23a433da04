"""An ensemble of the best setups of different models, averaging their
log-odds.

With 20 to 300 positives, picking the single best of many noisy trials overfits
the folds; averaging the probabilities of the best setup of each model (e.g.
logistic regression, extra trees and a balanced random forest) is both more
stable and often better ranked. The ensemble is scored on the search's own
folds from the out-of-fold probabilities the trials already produced, so it
costs no extra fit during the search, and it competes with the single setups
as one more row of ``cv_results_`` (technique ``"ensemble"``).
"""

from __future__ import annotations

import numpy as np
import optuna
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from ._attrs import (
    ATTR_ALGORITHM,
    ATTR_DUPLICATE,
    ATTR_FAMILY,
    ATTR_FIDELITY_ROWS,
    ATTR_FIT_TIMES,
    ATTR_MEMBERS,
    ATTR_MODEL_BYTES,
    ATTR_PARAMS,
    ATTR_SCORE_TIMES,
    ATTR_SCORES,
    ATTR_TECHNIQUE,
)
from ._build import fit_weighted
from ._footprint import release_freed_memory
from ._oof import FoldPrediction
from ._results import trial_params

__all__ = ["SoftVotingEnsemble", "add_ensemble_trial"]

ENSEMBLE = "ensemble"
MAX_MEMBERS = 3


class SoftVotingEnsemble(ClassifierMixin, BaseEstimator):
    """Average the class probabilities of several classifiers on the log-odds
    scale (:func:`average_probabilities`).

    Unlike :class:`~sklearn.ensemble.VotingClassifier` the members are fitted
    on the labels as given (not re-encoded), so class-weight dictionaries keyed
    by the user's labels keep working.

    Parameters
    ----------
    estimators : list of (str, classifier)
        The members; each needs ``predict_proba``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from autobalance._ensemble import SoftVotingEnsemble
    >>> X, y = make_classification(random_state=0)
    >>> ens = SoftVotingEnsemble([("lr", LogisticRegression()),
    ...                           ("tree", DecisionTreeClassifier(max_depth=2))])
    >>> ens.fit(X, y).predict_proba(X[:1]).shape
    (1, 2)
    """

    def __init__(self, estimators):
        self.estimators = estimators

    def fit(self, X, y, sample_weight=None):
        """Fit each member on ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,) or None
            Row weights, passed to every member's fit
            (:func:`~autobalance._build.fit_weighted`).

        Returns
        -------
        self : SoftVotingEnsemble
        """
        self.estimators_ = []
        for _, est in self.estimators:
            self.estimators_.append(fit_weighted(clone(est), X, y, sample_weight))
            release_freed_memory()  # the member's copies, before the next fit
        self.classes_ = self.estimators_[0].classes_
        for est in self.estimators_[1:]:
            if not np.array_equal(est.classes_, self.classes_):
                raise ValueError("The members of the ensemble disagree on classes_.")
        return self

    @property
    def log_odds_members_(self):
        """The fitted members whose log-odds :meth:`predict_proba` averages
        (read by the class-prior correction)."""
        check_is_fitted(self)
        return self.estimators_

    def predict_proba(self, X):
        check_is_fitted(self)
        return average_probabilities([est.predict_proba(X) for est in self.estimators_])

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# Probabilities are clipped here before their logarithm: a fully grown forest
# gives many rows exactly 0.
PROBA_FLOOR = 1e-6


def average_probabilities(probas):
    """The normalised geometric mean of several models' class probabilities:
    for two classes, the mean of their log-odds.

    Members trained with class weights or resampling have their probabilities
    shifted by a constant on the log-odds scale (a prior shift). An arithmetic
    mean of probabilities lets the member with the largest shift dominate the
    ranking; in a mean of log-odds that constant moves every row alike, so each
    member's ranking counts the same, whatever its prior.

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance._ensemble import average_probabilities
    >>> p = average_probabilities([np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])])
    >>> p.round(3)  # log-odds -2.197 and 0: their mean is -1.099
    array([[0.75, 0.25]])
    """
    logs = np.mean([np.log(np.clip(p, PROBA_FLOOR, 1.0)) for p in probas], axis=0)
    logs -= logs.max(axis=1, keepdims=True)
    out = np.exp(logs)
    out /= out.sum(axis=1, keepdims=True)
    return out


def _has_proba(folds):
    return folds is not None and all(f.kind == "predict_proba" for f in folds)


def clearly_better(a, b):
    """Whether fold scores ``a`` beat ``b`` by more than one standard error of
    their paired differences (the folds are shared, so pairing removes the
    fold-to-fold variation both have in common)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    return bool(diff.mean() > se)


def _members(study, oof):
    """The best complete trial of each of the best models, best first, leaving
    out a model the best one beats clearly: averaging in a clearly worse model
    dilutes the ranking, averaging close ones cancels their noise."""
    best = {}
    for t in study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
    ):
        if not _has_proba(oof.get(t.number)) or ATTR_DUPLICATE in t.user_attrs:
            continue
        key = t.user_attrs.get(ATTR_ALGORITHM) or t.user_attrs.get(ATTR_TECHNIQUE)
        if key not in best or t.value > best[key].value:
            best[key] = t
    ranked = sorted(best.values(), key=lambda t: (-t.value, t.number))[:MAX_MEMBERS]
    top = ranked[0].user_attrs[ATTR_SCORES] if ranked else None
    return [t for t in ranked if not clearly_better(top, t.user_attrs[ATTR_SCORES])]


def ensemble_predictions(oof, numbers):
    """The out-of-fold predictions of the average of trials ``numbers``.

    The shares the average was trained on are the normalised geometric mean
    of its members' (see :func:`~autobalance._oof.trained_shares`); their
    ``origin`` is the members'.
    """
    folds = []
    for i, first in enumerate(oof[numbers[0]]):
        members = [oof[n][i] for n in numbers]
        raw = average_probabilities([m.raw for m in members])
        shares = [m.train_shares for m in members]
        if any(s is None for s in shares):
            trained = None
        else:
            trained = np.exp(np.mean(np.log(shares), axis=0))
            trained = trained / trained.sum()
        folds.append(
            FoldPrediction(
                first.test,
                first.y,
                raw,
                "predict_proba",
                None,
                trained,
                weight=first.weight,
                origin=first.origin,
            )
        )
    return folds


def add_ensemble_trial(study, oof, splits, y, positive):
    """Score the ensemble of the best setup of each model (the models not
    clearly worse than the best, at most :data:`MAX_MEMBERS`) on the search's
    folds and add it to ``study`` as a complete trial.

    ``oof`` maps trial numbers to their out-of-fold predictions (a list of
    ``FoldPrediction``, one per split). Returns the added trial, or ``None``
    when fewer than two models qualify.
    """
    members = _members(study, oof)
    if len(members) < 2:
        return None
    # Listed, and so refitted, smallest model first: a refitted member stays in
    # memory while the next one fits, so the largest model had better come
    # last (a forest of the data's size next to a boosting fit's copies
    # exceeded four times the data on 75,000 rows).
    members.sort(key=lambda t: float(np.mean(t.user_attrs.get(ATTR_MODEL_BYTES) or 0)))
    folds = ensemble_predictions(oof, [t.number for t in members])
    column = int(np.flatnonzero(np.unique(y) == positive)[0])
    # Weighted as the members' scores were (the rows' sample weights).
    scores = [
        float(roc_auc_score(f.y == positive, f.raw[:, column], sample_weight=f.weight))
        for f in folds
    ]
    fit_times = np.sum([t.user_attrs[ATTR_FIT_TIMES] for t in members], axis=0)
    score_times = np.sum([t.user_attrs[ATTR_SCORE_TIMES] for t in members], axis=0)
    model_bytes = np.sum(
        [t.user_attrs.get(ATTR_MODEL_BYTES) or [0] * len(splits) for t in members],
        axis=0,
    )
    trial = optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE,
        value=float(np.mean(scores)),
        params={},
        distributions={},
        intermediate_values=dict(enumerate(scores)),
        user_attrs={
            ATTR_TECHNIQUE: ENSEMBLE,
            ATTR_FAMILY: ENSEMBLE,
            ATTR_ALGORITHM: None,
            ATTR_PARAMS: {"members": [trial_params(t) for t in members]},
            ATTR_MEMBERS: [t.number for t in members],
            ATTR_SCORES: scores,
            ATTR_FIT_TIMES: fit_times.tolist(),
            ATTR_SCORE_TIMES: score_times.tolist(),
            ATTR_MODEL_BYTES: model_bytes.tolist(),
            # The members' folds, the same for all of them.
            ATTR_FIDELITY_ROWS: members[0].user_attrs.get(ATTR_FIDELITY_ROWS),
        },
    )
    study.add_trial(trial)
    return study.trials[-1]
