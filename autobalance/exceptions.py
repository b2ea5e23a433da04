"""Exceptions raised by autobalance."""

__all__ = [
    "NoCompletedTrialsError",
    "SkippedTechniqueWarning",
    "StorageError",
    "StudyMismatchError",
    "UntrustedPickleError",
    "UntrustedTypesError",
]


class NoCompletedTrialsError(RuntimeError):
    """Raised by ``fit`` when every trial of the search failed or was pruned.

    The message lists every cause: each distinct failure reason with the
    number of trials it failed, and the techniques left out of the search with
    their reasons.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator, ClassifierMixin
    >>> from sklearn.datasets import make_classification
    >>> from autobalance import AutoBalancedClassifier, NoCompletedTrialsError
    >>> class Broken(ClassifierMixin, BaseEstimator):
    ...     def fit(self, X, y):
    ...         raise RuntimeError("cannot fit")
    ...     def predict(self, X):
    ...         return X[:, 0]
    >>> X, y = make_classification(n_samples=100, weights=[0.8], random_state=0)
    >>> try:
    ...     AutoBalancedClassifier(Broken(), n_trials=2, cv=2).fit(X, y)
    ... except NoCompletedTrialsError as exc:
    ...     print("2 x RuntimeError: cannot fit" in str(exc))
    True
    """


class StudyMismatchError(ValueError):
    """Raised when a stored study was created for other data or settings.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, StudyMismatchError
    >>> X, y = make_classification(n_samples=120, weights=[0.8], random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     clf = AutoBalancedClassifier(
    ...         LogisticRegression(), techniques=["none"], n_trials=1, cv=2,
    ...         random_state=0, storage=f"sqlite:///{tmp}/s.db", study_name="s")
    ...     _ = clf.fit(X, y)
    ...     try:
    ...         clf.fit(X[:-10], y[:-10])  # same study name, other rows
    ...     except StudyMismatchError as exc:
    ...         print("different data" in str(exc))
    True
    """


class StorageError(ValueError):
    """Raised when an Optuna storage cannot be opened or holds no such study.

    The message names the storage (without its password) and the cause.

    Examples
    --------
    >>> from autobalance import StorageError, make_storage
    >>> try:
    ...     make_storage("search.db")
    ... except StorageError as exc:
    ...     print("not a URL" in str(exc))
    True
    """


class SkippedTechniqueWarning(UserWarning):
    """Warned by ``fit`` when the size of the data or the budget rules a
    setup out: techniques left out of the search on large data (see
    ``max_search_samples``), or a better-scoring setup not refitted because
    its refit would not fit in the ``timeout`` or its model would weigh more
    than twice the training data (and more than 256 MiB).

    Examples
    --------
    An unattended script that must not run a narrower search than asked can
    turn the warning into an error (``fit`` then raises instead of warning):

    >>> import warnings
    >>> from autobalance import SkippedTechniqueWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", SkippedTechniqueWarning)
    ...     try:
    ...         warnings.warn("smote left out", SkippedTechniqueWarning)
    ...     except SkippedTechniqueWarning as exc:
    ...         print(exc)
    smote left out
    """


class UntrustedTypesError(ValueError):
    """Raised by :func:`~autobalance.load_model` when a skops file holds types
    that are neither expected nor named in ``trusted`` (and by
    :func:`~autobalance.save_model` when the file it wrote could not be loaded
    back for that reason). ``types`` lists them.

    Examples
    --------
    >>> from autobalance import UntrustedTypesError
    >>> exc = UntrustedTypesError("untrusted types", ["mypkg.Model"])
    >>> exc.types
    ['mypkg.Model']
    >>> # load_model(path, trusted=exc.types) after reviewing where they come from
    """

    def __init__(self, message, types):
        super().__init__(message)
        self.types = list(types)


class UntrustedPickleError(ValueError):
    """Raised by :func:`~autobalance.load_model` for a joblib or pickle file
    when ``trust_pickle=True`` is not given: unpickling runs whatever code the
    file holds, so such a file is opened only on request. Nothing is read from
    the file before the error.

    Examples
    --------
    >>> import os, tempfile
    >>> from autobalance import UntrustedPickleError, load_model
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "model.pkl")
    ...     with open(path, "wb") as f:  # never unpickled
    ...         _ = f.write(b"anything")
    ...     try:
    ...         load_model(path)
    ...     except UntrustedPickleError as exc:
    ...         print("trust_pickle=True" in str(exc))
    True
    """
