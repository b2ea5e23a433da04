"""Saving and loading fitted models: skops (the secure format) or joblib.

A skops file is loaded only when every type it holds is one autobalance
expects (classes of autobalance, scikit-learn, imbalanced-learn, NumPy and
SciPy, and the functions of autobalance and ``sklearn.metrics``); anything
else must be named in ``trusted``. A joblib/pickle file runs code when loaded:
load only files you made or trust.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import platform
import tempfile
import warnings
from pathlib import Path

__all__ = ["UntrustedTypesError", "library_versions", "load_model", "save_model"]

SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
VERSIONED = (
    "scikit-learn",
    "imbalanced-learn",
    "optuna",
    "numpy",
    "scipy",
    "pandas",
    "joblib",
)
# Types a saved AutoBalancedClassifier may hold.
TRUSTED_PACKAGES = ("autobalance", "sklearn", "imblearn", "numpy", "scipy")
TRUSTED_FUNCTION_MODULES = ("autobalance.", "sklearn.metrics.")
TRUSTED_NAMES = ("builtins.object",)  # the sentinel of required parameters


class UntrustedTypesError(ValueError):
    """Raised by :func:`load_model` when a skops file holds types that are
    neither expected nor named in ``trusted``. ``types`` lists them.

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


def library_versions():
    """Versions of Python and of the libraries a model depends on.

    Returns
    -------
    versions : dict
        ``{"python": ..., "autobalance": ..., "scikit-learn": ..., ...}``.

    Examples
    --------
    >>> from autobalance import library_versions
    >>> sorted(library_versions())[:3]
    ['autobalance', 'imbalanced-learn', 'joblib']
    """
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    out = {"python": platform.python_version(), "autobalance": __version__}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = None
    return out


def _format(path, format):
    if format is not None:
        if format not in ("skops", "joblib", "pickle"):
            raise ValueError(
                f"format={format!r} is not supported; use 'skops', 'joblib' or "
                "'pickle'."
            )
        return "skops" if format == "skops" else "joblib"
    suffix = Path(path).suffix.lower()
    if suffix in SKOPS_SUFFIXES:
        return "skops"
    if suffix in PICKLE_SUFFIXES:
        return "joblib"
    raise ValueError(
        f"Cannot tell the format of {os.fspath(path)!r} from its extension; name "
        "it *.skops (secure) or *.joblib / *.pkl, or pass format='skops'."
    )


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` when the
    block succeeds, delete it otherwise. Never leaves a partial file."""
    path = Path(os.fspath(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder {str(path.parent)!r} does not exist; create it first."
        )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _storage_name(storage):
    """A storage as a URL without its password (``None`` if it has none)."""
    from ._distributed import _redact

    url = storage if isinstance(storage, str) else getattr(storage, "url", None)
    return _redact(url) if isinstance(url, str) else None


def _without_study(model):
    """A shallow copy without ``study_`` and with ``storage`` reduced to its
    URL minus the password: the study is not part of a model (a stored one
    stays in its storage)."""
    storage = getattr(model, "storage", None)
    if not hasattr(model, "study_") and storage is None:
        return model
    out = copy.copy(model)
    if hasattr(out, "study_"):
        del out.study_
    if storage is not None:
        out.storage = _storage_name(storage)
    return out


def save_model(model, path, *, format=None):
    """Save a fitted model with skops (secure) or joblib.

    The file is written to a temporary name and renamed, so an existing file
    is never left half-written. The Optuna study (``study_``) is not saved;
    ``cv_results_`` holds every trial, and a stored study stays in its storage
    (the saved ``storage`` parameter is its URL without the password).

    Parameters
    ----------
    model : estimator
        Usually a fitted :class:`AutoBalancedClassifier`.
    path : str or path-like
        ``*.skops`` for skops, ``*.joblib`` / ``*.pkl`` / ``*.pickle`` for
        joblib; its folder must exist.
    format : {"skops", "joblib", "pickle"} or None, default=None
        Overrides the extension.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, load_model, save_model
    >>> X, y = make_classification(n_samples=200, weights=[0.85], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=3, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_model(clf, os.path.join(tmp, "model.skops"))
    ...     loaded = load_model(path)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    fmt = _format(path, format)
    model = _without_study(model)
    path = Path(os.fspath(path))
    with atomic_path(path) as tmp:
        if fmt == "skops":
            import skops.io

            skops.io.dump(model, tmp)
        else:
            import joblib

            joblib.dump(model, tmp)
    return path


def _is_expected(name):
    if name in TRUSTED_NAMES:
        return True
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] not in TRUSTED_PACKAGES:
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except Exception:
        return False
    if isinstance(obj, type):
        return True
    return (
        callable(obj)
        and name.startswith(TRUSTED_FUNCTION_MODULES)
        and getattr(obj, "__module__", None) == module
    )


def skops_types(path):
    """The types a skops file holds that skops does not trust by default,
    split into those autobalance expects and the others."""
    import skops.io

    names = skops.io.get_untrusted_types(file=os.fspath(path))
    expected = [n for n in names if _is_expected(n)]
    return expected, [n for n in names if n not in expected]


def check_versions(model):
    """Warn when ``model`` was trained with other library versions."""
    saved = getattr(model, "versions_", None)
    if not isinstance(saved, dict):
        return
    now = library_versions()
    diff = [
        f"{k} {saved[k]} (now {now[k]})"
        for k in sorted(saved)
        if k in now and k != "python" and saved[k] != now[k]
    ]
    if diff:
        warnings.warn(
            "The model was trained with " + ", ".join(diff) + "; predictions may "
            "differ. Refit it with the installed versions to be sure.",
            UserWarning,
            stacklevel=3,
        )


def load_model(path, *, trusted=None, format=None):
    """Load a model saved by :func:`save_model`.

    A skops file is checked before anything is built from it: every type it
    holds must be one autobalance expects (classes of autobalance,
    scikit-learn, imbalanced-learn, NumPy, SciPy; functions of autobalance and
    ``sklearn.metrics``) or be named in ``trusted``. A joblib/pickle file can
    run any code when loaded: load only files you trust. A model trained with
    other library versions (``versions_``) loads with a warning.

    Parameters
    ----------
    path : str or path-like
        The file.
    trusted : list of str or None, default=None
        Extra type names to trust in a skops file (for example a custom
        scorer's function), as listed by :class:`UntrustedTypesError`.
    format : {"skops", "joblib", "pickle"} or None, default=None
        Overrides the extension.

    Returns
    -------
    model : estimator
        The loaded model.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UntrustedTypesError
        If a skops file holds types that are neither expected nor trusted.

    Examples
    --------
    See :func:`save_model`.
    """
    fmt = _format(path, format)
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"No model file {str(path)!r}.")
    if fmt == "skops":
        import skops.io

        expected, others = skops_types(path)
        unknown = [n for n in others if n not in set(trusted or ())]
        if unknown:
            raise UntrustedTypesError(
                f"{str(path)!r} holds types autobalance does not expect: "
                f"{', '.join(unknown)}. Load it with trusted=[...] naming them only "
                "if you trust where the file comes from.",
                unknown,
            )
        model = skops.io.load(path, trusted=expected + list(others))
    else:
        import joblib

        model = joblib.load(path)
    check_versions(model)
    return model
