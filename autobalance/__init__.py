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
from .exceptions import NoCompletedTrialsError, StudyMismatchError

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_TECHNIQUES",
    "Algorithm",
    "AutoBalancedClassifier",
    "CategoricalParam",
    "Config",
    "FloatParam",
    "IntParam",
    "NoCompletedTrialsError",
    "SearchContext",
    "SearchSpace",
    "StudyMismatchError",
    "Technique",
    "__version__",
    "default_algorithms",
    "get_technique",
    "technique_names",
]
