"""autobalance: automatic selection of class-imbalance techniques.

``AutoBalancedClassifier`` searches over-sampling, under-sampling, combined
samplers, class weights and balanced ensembles (and, by default, a portfolio of
models) with Optuna under cross-validation, then refits the best setup.
"""

import importlib
from typing import TYPE_CHECKING

from ._version import __version__
from .exceptions import (
    NoCompletedTrialsError,
    SkippedTechniqueWarning,
    StorageError,
    StudyMismatchError,
    UntrustedPickleError,
    UntrustedTypesError,
)

# Public names are imported on first use (PEP 562): importing scikit-learn,
# imbalanced-learn, SciPy and Optuna takes seconds, and the command line should
# answer ``--help`` or reject a bad argument without paying for them.
_LAZY = {
    "._catalogue": (
        "BUILTIN_TECHNIQUES",
        "default_algorithms",
        "get_technique",
        "technique_names",
    ),
    "._classifier": ("AutoBalancedClassifier",),
    "._distributed": ("make_storage",),
    "._worker": ("run_worker",),
    "._evaluation": ("NestedCVResult", "nested_cross_validate"),
    "._learning_curve": ("MinorityLearningCurve", "minority_learning_curve"),
    "._persist": (
        "library_versions",
        "load_model",
        "save_model",
    ),
    "._space": (
        "Algorithm",
        "CategoricalParam",
        "Config",
        "FloatParam",
        "IntParam",
        "SearchContext",
        "SearchSpace",
        "Technique",
    ),
    ".reporting": (
        "OptimizationHistoryDisplay",
        "PrecisionRecallComparisonDisplay",
        "ReliabilityDisplay",
        "ROCComparisonDisplay",
        "TechniqueComparisonDisplay",
        "leaderboard",
        "report",
    ),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._catalogue import (
        BUILTIN_TECHNIQUES,
        default_algorithms,
        get_technique,
        technique_names,
    )
    from ._classifier import AutoBalancedClassifier
    from ._distributed import make_storage
    from ._evaluation import NestedCVResult, nested_cross_validate
    from ._learning_curve import MinorityLearningCurve, minority_learning_curve
    from ._persist import (
        library_versions,
        load_model,
        save_model,
    )
    from ._space import (
        Algorithm,
        CategoricalParam,
        Config,
        FloatParam,
        IntParam,
        SearchContext,
        SearchSpace,
        Technique,
    )
    from ._worker import run_worker
    from .reporting import (
        OptimizationHistoryDisplay,
        PrecisionRecallComparisonDisplay,
        ReliabilityDisplay,
        ROCComparisonDisplay,
        TechniqueComparisonDisplay,
        leaderboard,
        report,
    )


__all__ = [
    "BUILTIN_TECHNIQUES",
    "Algorithm",
    "AutoBalancedClassifier",
    "CategoricalParam",
    "Config",
    "FloatParam",
    "IntParam",
    "MinorityLearningCurve",
    "NestedCVResult",
    "NoCompletedTrialsError",
    "OptimizationHistoryDisplay",
    "PrecisionRecallComparisonDisplay",
    "ROCComparisonDisplay",
    "ReliabilityDisplay",
    "SearchContext",
    "SearchSpace",
    "SkippedTechniqueWarning",
    "StorageError",
    "StudyMismatchError",
    "Technique",
    "TechniqueComparisonDisplay",
    "UntrustedPickleError",
    "UntrustedTypesError",
    "__version__",
    "default_algorithms",
    "get_technique",
    "leaderboard",
    "library_versions",
    "load_model",
    "make_storage",
    "minority_learning_curve",
    "nested_cross_validate",
    "report",
    "run_worker",
    "save_model",
    "technique_names",
]
