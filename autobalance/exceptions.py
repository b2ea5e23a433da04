"""Exceptions raised by autobalance."""

__all__ = [
    "NoCompletedTrialsError",
    "SkippedTechniqueWarning",
    "StorageError",
    "StudyMismatchError",
]


class NoCompletedTrialsError(RuntimeError):
    """Raised by ``fit`` when every trial of the search failed or was pruned.

    The message counts the trials by failure reason.
    """


class StudyMismatchError(ValueError):
    """Raised when a stored study was created for other data or settings."""


class StorageError(ValueError):
    """Raised when an Optuna storage cannot be opened or holds no such study.

    The message names the storage (without its password) and the cause.
    """


class SkippedTechniqueWarning(UserWarning):
    """Warned by ``fit`` when techniques are left out of the search because
    the data is too large for them (see ``max_search_samples``)."""
