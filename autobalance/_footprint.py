"""Memory a fitted model holds: what its refit on every row will weigh.

Fully grown tree ensembles hold one node per split, and their number grows
with the rows they were trained on (with over-sampling, with the synthetic
rows too): on 75,000 rows a 100-tree extra-trees forest weighs about 55 MiB,
five times the data. The search measures each fold's model so that a setup
whose refit would be far larger than the data is not chosen blindly.
"""

from __future__ import annotations

import numpy as np

from ._compat import boosting_predictors

__all__ = ["data_nbytes", "model_nbytes", "release_freed_memory"]

_LIBC = None


def release_freed_memory():
    """Hand memory the process has freed back to the operating system.

    glibc keeps freed blocks in its heaps for reuse, and numpy arrays larger
    than its (adaptive) mmap threshold are allocated there once a large one
    has been freed; tree fits free many such blocks. Over a search the
    resident memory then ratchets up to several times what is in use (8.2 x
    the data on 100,000 rows, 0.9 x after trimming). Called between trials and
    before the refit, as Dask workers do. A no-op where ``malloc_trim`` does not
    exist (macOS, Windows, musl).
    """
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        try:
            import ctypes
            import ctypes.util

            name = ctypes.util.find_library("c")
            libc = ctypes.CDLL(name) if name else None
            if libc is not None and hasattr(libc, "malloc_trim"):
                _LIBC = libc
        except OSError:
            pass
    if _LIBC:
        _LIBC.malloc_trim(0)


# sklearn.tree._tree.NODE_DTYPE: children, feature, threshold, impurity,
# sample counts and the missing-value flag (64 bytes a node).
_NODE_BYTES = 64


def data_nbytes(X):
    """Bytes of a training matrix (array, sparse matrix or DataFrame)."""
    if hasattr(X, "memory_usage"):
        return int(X.memory_usage(index=False, deep=False).sum())
    if hasattr(X, "indptr"):
        return int(X.data.nbytes + X.indices.nbytes + X.indptr.nbytes)
    return int(np.asarray(X).nbytes)


def _children(obj):
    steps = getattr(obj, "steps", None)
    if isinstance(steps, list):
        yield from (step for _, step in steps)
    for name, value in vars(obj).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, (list, tuple)):
            yield from value
        elif isinstance(value, np.ndarray) and value.dtype == object:
            yield from value.ravel()
        else:
            yield value


def model_nbytes(estimator):
    """Approximate bytes of the fitted model: decision-tree nodes and values,
    histogram-boosting predictors and array attributes, through pipelines,
    wrappers and ensembles."""
    seen = set()

    def size(obj):
        if obj is None or id(obj) in seen:
            return 0
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            return obj.nbytes if obj.dtype != object else 0
        tree = getattr(obj, "tree_", None)
        if tree is not None and hasattr(tree, "node_count"):
            return int(tree.node_count * _NODE_BYTES + tree.value.nbytes)
        predictors = boosting_predictors(obj)
        if predictors is not None:
            return int(sum(p.nodes.nbytes for row in predictors for p in row))
        if not hasattr(obj, "get_params"):
            return 0
        return int(sum(size(child) for child in _children(obj)))

    return size(estimator)
