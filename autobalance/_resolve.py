"""From the estimator's ``estimator`` and ``techniques`` parameters to the
models (:class:`Algorithm`) and techniques (:class:`Technique`) a search
combines."""

from __future__ import annotations

import re

from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline as SkPipeline

from ._catalogue import (
    BUILTIN_TECHNIQUES,
    default_algorithms,
    get_technique,
    model_cost_exponent,
)
from ._space import Algorithm, Technique

__all__ = ["resolve_algorithms", "resolve_techniques"]


def _snake(name):
    # LogisticRegression -> logistic_regression, GaussianNB -> gaussian_nb
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class _SamplerBuilder:
    """Builds a clone of a user's sampler (a picklable ``Technique.build``)."""

    def __init__(self, sampler):
        self.sampler = sampler

    def __call__(self, ctx):
        return clone(self.sampler)


def resolve_algorithms(estimator, info=None):
    """The models of the ``estimator`` parameter (the default portfolio for
    ``info``'s data when it is ``None``), each under a unique name."""
    if estimator is None:
        return default_algorithms(info)
    items = estimator if isinstance(estimator, (list, tuple)) else [estimator]
    if len(items) == 0:
        raise ValueError("estimator is an empty list; pass at least one classifier.")
    algorithms, seen = [], set()
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, est = item
        else:
            est = item
            final = est.steps[-1][1] if isinstance(est, SkPipeline) else est
            name = _snake(type(final).__name__)
        if not is_classifier(est):
            raise ValueError(
                f"estimator {est!r} is not a scikit-learn classifier; pass a "
                "classifier (or a Pipeline ending in one)."
            )
        base, k = name, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        algorithms.append(Algorithm(name, est, cost_exponent=model_cost_exponent(est)))
    return algorithms


def _technique(item):
    if isinstance(item, str):
        return get_technique(item)
    if isinstance(item, Technique):
        return item
    if hasattr(item, "fit_resample"):
        return Technique(
            _snake(type(item).__name__),
            "custom",
            "sampler",
            _SamplerBuilder(item),
            description=f"User sampler {type(item).__name__}.",
        )
    raise ValueError(
        f"techniques entries must be technique names, Technique objects or "
        f"samplers with fit_resample; got {item!r}."
    )


def resolve_techniques(estimator, techniques):
    """The techniques of the ``techniques`` parameter, ``"none"`` first when
    not given; every built-in one (the model-replacing ensembles only with the
    default portfolio, ``estimator=None``) when ``techniques`` is ``None``."""
    if techniques is None:
        portfolio = estimator is None
        return [t for t in BUILTIN_TECHNIQUES if portfolio or t.kind != "estimator"]
    out = [_technique(item) for item in techniques]
    names = [t.name for t in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"techniques lists {dupes} more than once; give each once.")
    if "none" not in names:
        out.insert(0, get_technique("none"))
    return out


def estimator_has(attr):
    """Methods exist when the refitted model (or, before fit, every candidate
    model) has them, like scikit-learn's search estimators."""

    def check(self):
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, attr)
        return all(
            hasattr(a.estimator, attr) for a in resolve_algorithms(self.estimator)
        )

    return check


def has_proba(self):
    """Probabilities exist when the model gives them or, with calibration on,
    when its scores can be recalibrated."""
    if hasattr(self, "decision_rule_"):
        return self.decision_rule_.has_proba(self.best_estimator_)
    if estimator_has("predict_proba")(self):
        return True
    return self.calibration not in (None, "off") and all(
        hasattr(a.estimator, "decision_function")
        for a in resolve_algorithms(self.estimator)
    )
