"""Exceptions raised by autobalance."""

__all__ = ["NoCompletedTrialsError", "StudyMismatchError"]


class NoCompletedTrialsError(RuntimeError):
    """Raised by ``fit`` when every trial of the search failed or was pruned.

    The message counts the trials by failure reason.
    """


class StudyMismatchError(ValueError):
    """Raised when a stored study was created for other data or settings."""
