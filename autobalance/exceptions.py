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
    """Warned by ``fit`` when the size of the data or the budget rules a
    setup out: techniques left out of the search on large data (see
    ``max_search_samples``), or a better-scoring setup not refitted because
    its refit would not fit in the ``timeout`` or its model would weigh more
    than twice the training data (and more than 256 MiB)."""
