"""Saving and loading fitted models: skops (the secure format) or joblib.

A skops file is loaded only when every type it holds is one autobalance
expects: scikit-learn's and imbalanced-learn's estimator classes, the classes
of autobalance, and, by exact name, the functions and other types that the
built-in setups keep (:data:`TRUSTED_NAMES`); anything else must be named in
``trusted``. A joblib/pickle file runs code when loaded, so it is opened only
with ``trust_pickle=True``.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import platform
import stat
import tempfile
import threading
import warnings
from pathlib import Path

from ._urls import redact
from .exceptions import UntrustedPickleError, UntrustedTypesError

__all__ = [
    "UntrustedPickleError",
    "UntrustedTypesError",
    "library_versions",
    "load_model",
    "save_model",
]

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
# Packages whose classes a saved model may hold: every class of autobalance,
# the estimator classes of the other two. Classes are rebuilt without calling
# ``__init__``; calling one (an estimator's ``__init__`` only stores its
# arguments) does no harm.
OWN_PACKAGE = "autobalance"
ESTIMATOR_PACKAGES = ("sklearn", "imblearn")

# The score functions of scikit-learn's named scorers for classifiers
# (``scoring="f1"`` and so on keep the scorer, and it keeps its function).
SCORE_FUNCTIONS = (
    "sklearn.metrics._classification.accuracy_score",
    "sklearn.metrics._classification.balanced_accuracy_score",
    "sklearn.metrics._classification.brier_score_loss",
    "sklearn.metrics._classification.d2_brier_score",
    "sklearn.metrics._classification.d2_log_loss_score",
    "sklearn.metrics._classification.f1_score",
    "sklearn.metrics._classification.jaccard_score",
    "sklearn.metrics._classification.log_loss",
    "sklearn.metrics._classification.matthews_corrcoef",
    "sklearn.metrics._classification.precision_score",
    "sklearn.metrics._classification.recall_score",
    "sklearn.metrics._ranking.average_precision_score",
    "sklearn.metrics._ranking.roc_auc_score",
    "sklearn.metrics._ranking.top_k_accuracy_score",
    "sklearn.metrics._scorer.negative_likelihood_ratio",
    "sklearn.metrics._scorer.positive_likelihood_ratio",
)

#: Functions and non-estimator types that saved models of the built-in setups
#: hold, trusted by their exact dotted name (the name skops gives them). A
#: function is never trusted for its module alone: a file naming
#: ``autobalance.save_model`` in a ``FunctionTransformer`` would write the
#: caller's data wherever its author chose. ``tests/test_persistence.py``
#: saves every built-in setup and loads it untrusted, so a type the built-in
#: setups start to hold must be added here on purpose.
TRUSTED_NAMES = frozenset(
    {
        "builtins.object",  # the sentinel of required parameters
        # The builders, bounds and requirements of the built-in techniques
        # (``search_space_`` keeps the techniques).
        *(
            f"autobalance._catalogue.{name}"
            for name in (
                "_build_adasyn",
                "_build_balanced",
                "_build_borderline",
                "_build_brf",
                "_build_cc",
                "_build_custom_weight",
                "_build_easy",
                "_build_enn",
                "_build_ros",
                "_build_rus",
                "_build_smote_enn",
                "_build_smote_tomek",
                "_build_tomek",
                "_dense_only",
                "_k_default",
                "_k_high",
                "_needs_two_minority",
                "_numeric_only",
                "_over_ratio_high",
                "_ratio_low",
                "_shrinkage_high",
                "_smote",
                "_sparse_ok_no_nan",
                "_weight_default",
                "_weight_high",
                # A fitted sampler's float ratio (only a float and a str).
                "RatioStrategy",
            )
        ),
        # The string conversion of categorical columns before their codes.
        "autobalance._preprocessing._as_str",
        # HistGradientBoostingClassifier keeps a partial of check_array for
        # string columns, and the predictors of its trees.
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        # Trees, neighbour searches (samplers), folds, scorers, arrays.
        "sklearn.tree._tree.Tree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.model_selection._split.StratifiedKFold",
        # The inner splitter of an integer cv with groups, and the usual group
        # splitters a user passes as cv (plain parameters, no code).
        "sklearn.model_selection._split.GroupKFold",
        "sklearn.model_selection._split.StratifiedGroupKFold",
        "sklearn.metrics._scorer._Scorer",
        *SCORE_FUNCTIONS,
        "numpy.dtype",
        "scipy.sparse._csr.csr_matrix",
        # A user's ``param_distributions`` (plain data: bounds, log, choices).
        "optuna.distributions.CategoricalDistribution",
        "optuna.distributions.FloatDistribution",
        "optuna.distributions.IntDistribution",
    }
)


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

    from ._version import __version__

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


_UMASK_LOCK = threading.Lock()


def current_umask():
    """The process umask, read without changing it where the system says it
    (Linux), else set and restored at once under a lock."""
    with (
        contextlib.suppress(OSError, ValueError),
        open("/proc/self/status", encoding="ascii") as f,
    ):
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        # 0o077 while probing: a file another thread creates meanwhile is
        # created more private, never more open.
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _final_mode(path):
    """The permissions ``open(path, "w")`` would give: an existing file keeps
    its own, a new one gets ``0o666`` less the umask."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` when the
    block succeeds, delete it otherwise. Never leaves a partial file; the file
    gets the permissions a plain ``open(path, "w")`` would give."""
    path = Path(os.fspath(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder {str(path.parent)!r} does not exist; create it first."
        )
    try:
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"Cannot write {str(path)!r} ({exc.strerror}); choose a folder you "
            "can write to.",
        ) from exc
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file 0600 whatever the umask.
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename == tmp:
            # Name the user's file, not the temporary one.
            raise OSError(
                exc.errno, f"Cannot write {str(path)!r} ({exc.strerror})."
            ) from exc
        raise


def _storage_name(storage):
    """A storage as a URL without its password (``None`` if it has none)."""
    url = storage if isinstance(storage, str) else getattr(storage, "url", None)
    return redact(url) if isinstance(url, str) else None


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


def save_model(model, path, *, format=None, trusted=None):
    """Save a fitted model with skops (secure) or joblib.

    The file is written to a temporary name, loaded back, and only then
    renamed, so a file that cannot be read back is never left behind and an
    existing file is never left half-written. The file gets the permissions a
    plain ``open(path, "w")`` would give. The Optuna study (``study_``) is not
    saved; ``cv_results_`` holds every trial, and a stored study stays in its
    storage (the saved ``storage`` parameter is its URL without the password).

    Parameters
    ----------
    model : estimator
        Usually a fitted :class:`AutoBalancedClassifier`.
    path : str or path-like
        ``*.skops`` for skops, ``*.joblib`` / ``*.pkl`` / ``*.pickle`` for
        joblib; its folder must exist.
    format : {"skops", "joblib", "pickle"} or None, default=None
        Overrides the extension.
    trusted : list of str or None, default=None
        Types of your own code that the model holds (a custom model or
        scorer), to trust when the skops file is read back; load it with the
        same ``trusted``.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    UntrustedTypesError
        If the skops file would hold types autobalance does not expect and
        ``trusted`` does not name; nothing is written.

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
            # What a user's load_model would refuse is refused now.
            _load_skops(tmp, trusted, shown=path, saving=True)
        else:
            import joblib

            joblib.dump(model, tmp)
            joblib.load(tmp)  # the file just made from ``model``
    return path


def _is_expected(name):
    """Whether a type name from a skops file is one autobalance trusts."""
    if name in TRUSTED_NAMES:
        return True
    module, _, attr = name.rpartition(".")
    package = module.split(".")[0]
    if package != OWN_PACKAGE and package not in ESTIMATOR_PACKAGES:
        return False
    try:
        obj = getattr(importlib.import_module(module), attr)
    except Exception:
        return False
    if not isinstance(obj, type):
        return False  # ``autobalance.save_model`` is a function
    if package == OWN_PACKAGE:
        # A class of the package, also under the path it had before it moved
        # (kept as an import alias there, which skops files still name); not
        # ``autobalance._persist.Path``, pathlib's class imported there.
        return obj.__module__.split(".")[0] == OWN_PACKAGE and obj.__name__ == attr
    # Elsewhere only a class defined under this very name.
    if not (obj.__module__ == module and obj.__qualname__ == attr):
        return False
    from sklearn.base import BaseEstimator

    return issubclass(obj, BaseEstimator)


def skops_types(path):
    """The types a skops file holds that skops does not trust by default,
    split into those autobalance expects and the others."""
    import skops.io

    names = skops.io.get_untrusted_types(file=os.fspath(path))
    expected = [n for n in names if _is_expected(n)]
    return expected, [n for n in names if n not in expected]


def _load_skops(file, trusted, *, shown, saving=False):
    """Load a skops file after checking its types; ``shown`` is the path the
    messages name."""
    import skops.io

    expected, others = skops_types(file)
    unknown = [n for n in others if n not in set(trusted or ())]
    if unknown:
        if saving:
            message = (
                f"Not saved: {str(shown)!r} would hold types autobalance does not "
                f"expect ({', '.join(unknown)}), so load_model would refuse it. If "
                "they are your own code, pass trusted=[...] naming them to "
                "save_model and to load_model."
            )
        else:
            message = (
                f"{str(shown)!r} holds types autobalance does not expect: "
                f"{', '.join(unknown)}. Load it with trusted=[...] naming them "
                "only if you trust where the file comes from."
            )
        raise UntrustedTypesError(message, unknown)
    return skops.io.load(file, trusted=expected + list(others))


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


def load_model(path, *, trusted=None, format=None, trust_pickle=False):
    """Load a model saved by :func:`save_model`.

    A skops file is checked before anything is built from it: every type it
    holds must be one autobalance expects or be named in ``trusted``.
    Expected are the estimator classes of scikit-learn and imbalanced-learn,
    the classes of autobalance, and, by exact name, the functions and other
    types the built-in setups hold (``autobalance._persist.TRUSTED_NAMES``);
    no other function is trusted for its module alone. A joblib/pickle file
    runs whatever code it holds when loaded: it is opened only with
    ``trust_pickle=True``. Use skops files for models you share or receive. A
    model trained with other library versions (``versions_``) loads with a
    warning.

    Parameters
    ----------
    path : str or path-like
        The file.
    trusted : list of str or None, default=None
        Extra type names to trust in a skops file (for example a custom
        scorer's function), as listed by :class:`UntrustedTypesError`.
    format : {"skops", "joblib", "pickle"} or None, default=None
        Overrides the extension.
    trust_pickle : bool, default=False
        Open a joblib/pickle file. Only for files you made or whose source you
        trust: unpickling can run any code.

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
    UntrustedPickleError
        If ``path`` is a joblib/pickle file and ``trust_pickle`` is not set;
        the file is not read.

    Examples
    --------
    See :func:`save_model`.
    """
    fmt = _format(path, format)
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"No model file {str(path)!r}.")
    if fmt == "skops":
        model = _load_skops(path, trusted, shown=path)
    else:
        if not trust_pickle:
            raise UntrustedPickleError(
                f"{str(path)!r} is a joblib/pickle file, and loading one runs "
                "whatever code it holds. Load it with trust_pickle=True only if "
                "you made it or trust where it comes from; share models as .skops "
                "files, which load without running code."
            )
        import joblib

        model = joblib.load(path)
    check_versions(model)
    return model
