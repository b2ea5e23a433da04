"""Explaining a fitted search: leaderboard, plots and an HTML report.

matplotlib is imported only when a plot is drawn.
"""

from ._html import report
from ._leaderboard import leaderboard
from ._plots import (
    OptimizationHistoryDisplay,
    OutOfFoldPredictions,
    PrecisionRecallComparisonDisplay,
    ReliabilityDisplay,
    ROCComparisonDisplay,
    TechniqueComparisonDisplay,
    out_of_fold_predictions,
)

__all__ = [
    "OptimizationHistoryDisplay",
    "OutOfFoldPredictions",
    "PrecisionRecallComparisonDisplay",
    "ROCComparisonDisplay",
    "ReliabilityDisplay",
    "TechniqueComparisonDisplay",
    "leaderboard",
    "out_of_fold_predictions",
    "report",
]
