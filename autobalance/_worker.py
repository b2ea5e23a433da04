"""The worker's entry point: join a stored search and run its trials.

It builds the driver's :class:`~autobalance._plan.SearchPlan`, so it sits above
the plan (and the queue of :mod:`._distributed` below both).
"""

from __future__ import annotations

from ._attrs import BUDGET_ATTR
from ._distributed import as_storage, run_queue, wait_for_study
from ._plan import build_plan
from ._study import open_study, quiet_optuna

__all__ = ["run_worker"]


def run_worker(
    estimator,
    X,
    y,
    *,
    sample_weight=None,
    groups=None,
    timeout=None,
    wait=60.0,
    show_progress_bar=False,
):
    """Join the stored search of ``estimator`` and run its trials.

    The worker counterpart of ``estimator.fit(X, y)``: give it an estimator
    with the same parameters (``storage``, ``study_name``, space, scoring,
    cv, random_state) and the same data as the driver; the study's
    fingerprint refuses anything else. The worker claims queued trials until
    the driver's budget is spent, then returns; the driver refits the winner.
    Start the driver first (``wait`` gives it time to create the study).

    Every fold of a trial can also run on a Dask cluster: with
    ``estimator.n_jobs > 1``, fit under ``joblib.parallel_backend("dask")``
    after creating a ``dask.distributed.Client``.

    Parameters
    ----------
    estimator : AutoBalancedClassifier
        With ``storage`` and ``study_name`` set. It is left unchanged (not
        fitted): the driver's ``fit`` refits the winner.
    X : array-like of shape (n_samples, n_features)
        The driver's training data.
    y : array-like of shape (n_samples,)
        The driver's labels.
    sample_weight : array-like of shape (n_samples,), default=None
        The driver's ``sample_weight``.
    groups : array-like of shape (n_samples,), default=None
        The driver's ``groups`` (they make the folds, and count in the
        study's fingerprint).
    timeout : float or None, default=None
        Stop claiming trials after this many seconds. The estimator's
        ``timeout`` applies in any case, as in ``fit`` (counted from when the
        study is found): the worker stops claiming once the time left would
        not cover a fold.
    wait : float, default=60.0
        Seconds to wait for the driver to create the study.
    show_progress_bar : bool, default=False
        Show the study's progress on stderr.

    Returns
    -------
    n_run : int
        Number of trials this worker ran.

    Raises
    ------
    StorageError
        If the storage cannot be opened, or the study does not appear
        within ``wait`` seconds.
    StudyMismatchError
        If the study was created for other data or settings.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, make_storage, run_worker
    >>> X, y = make_classification(n_samples=200, weights=[0.85], random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     storage = make_storage("sqlite:///" + os.path.join(tmp, "ab.db"))
    ...     clf = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3,
    ...                                  random_state=0, storage=storage,
    ...                                  study_name="demo")
    ...     _ = clf.fit(X, y)          # the driver: spends the budget, refits
    ...     run_worker(clf, X, y)      # a late worker finds nothing left to do
    0
    """
    if getattr(estimator, "storage", None) is None or not getattr(
        estimator, "study_name", None
    ):
        raise ValueError(
            "run_worker needs an AutoBalancedClassifier with storage and study_name "
            "set, the same as the driver's."
        )
    storage = as_storage(estimator.storage)
    wait_for_study(storage, estimator.study_name, attr=BUDGET_ATTR, wait=wait)
    # The plan only reads the estimator: running trials does not fit (or
    # change) the estimator given.
    search = build_plan(
        estimator,
        X,
        y,
        fit_params={"sample_weight": sample_weight, "groups": groups},
    )
    with quiet_optuna():
        study = open_study(
            storage=storage,
            study_name=estimator.study_name,
            seed=search.study_seed,
            pruning=estimator.pruning,
            fingerprint=search.fingerprint,
            create=False,
        )
        return run_queue(
            study,
            search.objective,
            n_trials=search.n_trials,
            timeout=timeout,
            show_progress_bar=show_progress_bar,
            driver=False,
            budget=search.budget,
        )
