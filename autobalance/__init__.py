"""autobalance: automatic selection of class-imbalance techniques.

``AutoBalancedClassifier`` searches over-sampling, under-sampling, combined
samplers, class weights and balanced ensembles (and, by default, a portfolio of
models) with Optuna under cross-validation, then refits the best setup.
"""

from ._catalogue import (
    BUILTIN_TECHNIQUES,
    default_algorithms,
    get_technique,
    technique_names,
)
from ._classifier import AutoBalancedClassifier
from ._distributed import make_storage, run_worker
from ._evaluation import NestedCVResult, nested_cross_validate
from ._learning_curve import MinorityLearningCurve, minority_learning_curve
from ._persist import UntrustedTypesError, library_versions, load_model, save_model
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
from .exceptions import (
    NoCompletedTrialsError,
    SkippedTechniqueWarning,
    StorageError,
    StudyMismatchError,
)
from .reporting import (
    OptimizationHistoryDisplay,
    PrecisionRecallComparisonDisplay,
    ReliabilityDisplay,
    ROCComparisonDisplay,
    TechniqueComparisonDisplay,
    leaderboard,
    report,
)

__version__ = "0.1.0"

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
