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

__all__ = [
    "DEFAULT_ENSEMBLE_RULE",
    "ENSEMBLE_RULES",
    "FoldLibrary",
    "SoftVotingEnsemble",
    "add_ensemble_trial",
    "weighted_auc",
]

ENSEMBLE = "ensemble"
MAX_MEMBERS = 3
#: the values of the estimator's ``ensemble`` besides booleans: the rule that
#: forms the refitted ensemble ("auto": whichever of the single best trial,
#: "average" and "greedy" scores best on folds it was not chosen on)
ENSEMBLE_RULES = ("average", "greedy", "auto")
#: the rule ``ensemble=True`` means (switched here after measurement)
DEFAULT_ENSEMBLE_RULE = "average"
#: best trials whose predictions the search keeps for greedy selection
LIBRARY_SIZE = 20
#: picks (with replacement) of greedy ensemble selection, the first included
GREEDY_ROUNDS = 15
#: a pick must raise the mean fold AUC by more than this (float noise)
GAIN_TOLERANCE = 1e-12


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
    weights : array-like of shape (n_members,), default=None
        Weight of each member's log-odds in the average (e.g. how many times
        greedy ensemble selection picked it); ``None``: equal weights.

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

    def __init__(self, estimators, weights=None):
        self.estimators = estimators
        self.weights = weights

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
        if self.weights is not None and (
            len(self.weights) != len(self.estimators)
            or not np.all(np.isfinite(self.weights))
            or np.any(np.asarray(self.weights, dtype=float) < 0)
            or not np.sum(self.weights) > 0
        ):
            raise ValueError(
                f"weights must hold one finite weight >= 0 per member "
                f"({len(self.estimators)}), not all zero; got {self.weights!r}. "
                "Pass weights=None for an equal average."
            )
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

    @property
    def log_odds_weights_(self):
        """The weights of :attr:`log_odds_members_` in the average (``None``:
        equal)."""
        check_is_fitted(self)
        return self.weights

    def predict_proba(self, X):
        check_is_fitted(self)
        return average_probabilities(
            [est.predict_proba(X) for est in self.estimators_], self.weights
        )

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# Probabilities are clipped here before their logarithm: a fully grown forest
# gives many rows exactly 0.
PROBA_FLOOR = 1e-6


def average_probabilities(probas, weights=None):
    """The normalised geometric mean of several models' class probabilities
    (weighted by ``weights``, ``None``: equally): for two classes, the mean
    of their log-odds.

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
    logs = [np.log(np.clip(p, PROBA_FLOOR, 1.0)) for p in probas]
    if weights is None:
        logs = np.mean(logs, axis=0)
    else:
        logs = np.average(logs, axis=0, weights=np.asarray(weights, dtype=float))
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


def _model_key(trial):
    return trial.user_attrs.get(ATTR_ALGORITHM) or trial.user_attrs.get(ATTR_TECHNIQUE)


def _members(study, oof):
    """The best complete trial of each of the best models, best first, leaving
    out a model the best one beats clearly: averaging in a clearly worse model
    dilutes the ranking, averaging close ones cancels their noise."""
    best = {}
    for t in study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
    ):
        if ATTR_DUPLICATE in t.user_attrs:
            continue
        key = _model_key(t)
        if key not in best or t.value > best[key].value:
            best[key] = t
    # Each model's best trial, then only those with probabilities: the search
    # may keep the predictions of other trials too (greedy selection's
    # library), and this rule must not pick a model's second best.
    best = {k: t for k, t in best.items() if _has_proba(oof.get(t.number))}
    ranked = sorted(best.values(), key=lambda t: (-t.value, t.number))[:MAX_MEMBERS]
    top = ranked[0].user_attrs[ATTR_SCORES] if ranked else None
    return [t for t in ranked if not clearly_better(top, t.user_attrs[ATTR_SCORES])]


def ensemble_predictions(oof, numbers, weights=None):
    """The out-of-fold predictions of the average of trials ``numbers``
    (weighted by ``weights``, ``None``: equally).

    The shares the average was trained on are the normalised geometric mean
    of its members' (see :func:`~autobalance._oof.trained_shares`); their
    ``origin`` is the members'.
    """
    folds = []
    for i, first in enumerate(oof[numbers[0]]):
        members = [oof[n][i] for n in numbers]
        raw = average_probabilities([m.raw for m in members], weights)
        shares = [m.train_shares for m in members]
        if any(s is None for s in shares):
            trained = None
        elif weights is None:
            trained = np.exp(np.mean(np.log(shares), axis=0))
            trained = trained / trained.sum()
        else:
            trained = np.exp(np.average(np.log(shares), axis=0, weights=weights))
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


def add_ensemble_trial(
    study, oof, splits, y, positive, members=None, weights=None, attrs=None
):
    """Score an ensemble on the search's folds and add it to ``study`` as a
    complete trial.

    ``oof`` maps trial numbers to their out-of-fold predictions (a list of
    ``FoldPrediction``, one per split). ``members`` (trials of ``study``) and
    their ``weights`` default to the best setup of each model, the models not
    clearly worse than the best, at most :data:`MAX_MEMBERS`, equally
    weighted. ``attrs`` are added to the trial's user attributes. Returns the
    added trial, or ``None`` when fewer than two members qualify.
    """
    if members is None:
        members = _members(study, oof)
    if len(members) < 2:
        return None
    # Listed, and so refitted, smallest model first: a refitted member stays in
    # memory while the next one fits, so the largest model had better come
    # last (a forest of the data's size next to a boosting fit's copies
    # exceeded four times the data on 75,000 rows).
    order = sorted(
        range(len(members)),
        key=lambda i: float(np.mean(members[i].user_attrs.get(ATTR_MODEL_BYTES) or 0)),
    )
    members = [members[i] for i in order]
    if weights is not None:
        weights = [weights[i] for i in order]
    folds = ensemble_predictions(oof, [t.number for t in members], weights)
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
    params = {"members": [trial_params(t) for t in members]}
    if weights is not None:
        params["weights"] = list(weights)
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
            ATTR_PARAMS: params,
            ATTR_MEMBERS: [t.number for t in members],
            ATTR_SCORES: scores,
            ATTR_FIT_TIMES: fit_times.tolist(),
            ATTR_SCORE_TIMES: score_times.tolist(),
            ATTR_MODEL_BYTES: model_bytes.tolist(),
            **(attrs or {}),
            # The members' folds, the same for all of them.
            ATTR_FIDELITY_ROWS: members[0].user_attrs.get(ATTR_FIDELITY_ROWS),
        },
    )
    study.add_trial(trial)
    return study.trials[-1]


# ---------------------------------------------------------------------------
# Selection on chosen folds: the rules the estimator compares
# ---------------------------------------------------------------------------
def weighted_auc(positive, score, weight=None):
    """Binary ROC AUC of ``score`` (ties count one half), with row weights:
    what :func:`~sklearn.metrics.roc_auc_score` gives, in one sort (greedy
    selection scores thousands of candidate averages).

    Examples
    --------
    >>> import numpy as np
    >>> from autobalance._ensemble import weighted_auc
    >>> float(weighted_auc(np.array([0, 1, 0, 1], bool), np.array([0, 1, 1, 2.0])))
    0.875
    """
    positive = np.asarray(positive, dtype=bool)
    weight = np.ones(len(score)) if weight is None else np.asarray(weight, float)
    order = np.argsort(score)
    score, positive, weight = score[order], positive[order], weight[order]
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])  # tied runs
    pos_weight = weight * positive
    pos = np.add.reduceat(pos_weight, starts)
    neg = np.add.reduceat(weight - pos_weight, starts)
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (pos.sum() * neg.sum()))


class FoldLibrary:
    """The complete trials of a binary search, with their fold scores and the
    log-odds of their out-of-fold predictions, so that a selection rule can
    be applied on some splits and scored on another.

    Parameters
    ----------
    study : optuna.study.Study
        The finished search (duplicate trials and ensembles are left out).
    oof : dict
        Trial number -> list of ``FoldPrediction``, one per split: the trials
        an ensemble may use (those with ``predict_proba``).
    y : ndarray
        The searched labels.
    positive : label
        The positive class.

    Attributes
    ----------
    trials : list of optuna.trial.FrozenTrial
        The candidates, by trial number.
    scores : ndarray of shape (n_trials, n_splits)
        Their fold scores.
    n_splits : int
    """

    def __init__(self, study, oof, y, positive):
        complete = study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        n_splits = max(len(t.user_attrs.get(ATTR_SCORES) or ()) for t in complete)
        self.trials = [
            t
            for t in sorted(complete, key=lambda t: t.number)
            if ATTR_DUPLICATE not in t.user_attrs
            and t.user_attrs.get(ATTR_TECHNIQUE) != ENSEMBLE
            and len(t.user_attrs.get(ATTR_SCORES) or ()) == n_splits
        ]
        self.n_splits = n_splits
        self.scores = np.array(
            [t.user_attrs[ATTR_SCORES] for t in self.trials], dtype=float
        ).reshape(len(self.trials), n_splits)
        self.keys = [_model_key(t) for t in self.trials]
        column = int(np.flatnonzero(np.unique(y) == positive)[0])
        # The log-odds of the positive class: for two classes the normalised
        # geometric mean ranks rows by their weighted mean.
        self.log_odds = {}
        for i, t in enumerate(self.trials):
            folds = oof.get(t.number)
            if _has_proba(folds) and len(folds) == n_splits:
                self.log_odds[i] = [
                    np.log(np.clip(f.raw[:, column], PROBA_FLOOR, 1.0))
                    - np.log(np.clip(f.raw[:, 1 - column], PROBA_FLOOR, 1.0))
                    for f in folds
                ]
        first = next(iter(oof.values()), None) if oof else None
        self._positive = [] if first is None else [f.y == positive for f in first]
        self._weight = [] if first is None else [f.weight for f in first]

    def _mean(self, folds):
        return self.scores[:, folds].mean(axis=1)

    def _ranked(self, folds, among):
        mean = self._mean(folds)
        return sorted(among, key=lambda i: (-mean[i], self.trials[i].number))

    def best(self, folds):
        """The single trial of the best mean score on ``folds`` (ties: the
        earliest)."""
        return [self._ranked(folds, range(len(self.trials)))[0]], None

    def average(self, folds):
        """The members of the averaged ensemble chosen on ``folds`` (the
        rule of :func:`add_ensemble_trial`), or the best trial when fewer
        than two qualify."""
        best = {}
        for i in self._ranked(folds, range(len(self.trials))):
            best.setdefault(self.keys[i], i)
        ranked = [i for i in best.values() if i in self.log_odds][:MAX_MEMBERS]
        kept = [
            i
            for i in ranked
            if not clearly_better(self.scores[ranked[0], folds], self.scores[i, folds])
        ]
        return (kept, None) if len(kept) > 1 else self.best(folds)

    def _auc(self, indices, counts, split):
        pairs = zip(indices, counts, strict=True)
        total = sum(c * self.log_odds[i][split] for i, c in pairs)
        return weighted_auc(self._positive[split], total, self._weight[split])

    def greedy(self, folds, rounds=None):
        """Greedy ensemble selection with replacement (Caruana et al., 2004)
        on ``folds``: from the best trial, add the trial that most raises the
        mean fold ROC AUC of the weighted log-odds average, up to ``rounds``
        picks or until none raises it. Returns ``(trials, counts)``."""
        rounds = GREEDY_ROUNDS if rounds is None else rounds
        library = self._ranked(folds, self.log_odds)
        if not library:
            return self.best(folds)
        counts = {library[0]: 1}
        totals = {k: self.log_odds[library[0]][k] for k in folds}

        def score(i):
            return np.mean(
                [
                    weighted_auc(
                        self._positive[k],
                        totals[k] + self.log_odds[i][k],
                        self._weight[k],
                    )
                    for k in folds
                ]
            )

        current = np.mean(
            [weighted_auc(self._positive[k], totals[k], self._weight[k]) for k in folds]
        )
        for _ in range(rounds - 1):
            # max keeps the first of equal gains: the better-ranked trial.
            value, pick = max(((score(i), i) for i in library), key=lambda g: g[0])
            if not value > current + GAIN_TOLERANCE:
                break
            counts[pick] = counts.get(pick, 0) + 1
            totals = {k: totals[k] + self.log_odds[pick][k] for k in folds}
            current = value
        members = list(counts)
        return members, [counts[i] for i in members]

    def score(self, indices, counts, split):
        """The score on ``split`` of the predictor a rule chose: a single
        trial's own fold score, else the AUC of the weighted average."""
        if len(indices) == 1:
            return float(self.scores[indices[0], split])
        counts = [1] * len(indices) if counts is None else counts
        return self._auc(indices, counts, split)
