"""Turn a chosen configuration into an unfitted estimator.

Resampling is always placed *inside* the returned estimator (an
imbalanced-learn ``Pipeline``), so it runs in ``fit`` only: validation and test
rows go through ``predict`` untouched.
"""

from __future__ import annotations

import numpy as np
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._preprocessing import prepare_for


def _set_random_states(estimator, seed):
    """Seed every unset ``random_state`` of ``estimator`` (deeply)."""
    params = estimator.get_params(deep=True)
    to_set = {
        k: seed
        for k, v in params.items()
        if (k == "random_state" or k.endswith("__random_state")) and v is None
    }
    if to_set:
        estimator.set_params(**to_set)
    return estimator


def clone_algorithm(algorithm, seed, search=False, params=None):
    """A clone of the model with its searched ``params`` (``set_params``
    names), then the search fidelity's values, then seeds."""
    estimator = clone(algorithm.estimator)
    if params:
        estimator.set_params(**params)
    if search and algorithm.search_params:
        estimator.set_params(**algorithm.search_params)
    return _set_random_states(estimator, seed)


def _inner_has(attr):
    def check(self):
        return hasattr(
            self.estimator_ if hasattr(self, "estimator_") else self.estimator, attr
        )

    return check


class ClassWeightAdapter(ClassifierMixin, BaseEstimator):
    """Applies ``class_weight`` to a model that only takes ``sample_weight``.

    Parameters
    ----------
    estimator : classifier
        A classifier whose ``fit`` accepts ``sample_weight``.
    class_weight : dict or "balanced"
        As in scikit-learn; turned into per-row weights at ``fit``.
    """

    def __init__(self, estimator, class_weight="balanced"):
        self.estimator = estimator
        self.class_weight = class_weight

    def fit(self, X, y, **fit_params):
        weights = compute_sample_weight(self.class_weight, y)
        if "sample_weight" in fit_params:
            weights = weights * np.asarray(fit_params.pop("sample_weight"))
        self.estimator_ = clone(self.estimator).fit(
            X, y, sample_weight=weights, **fit_params
        )
        self.classes_ = self.estimator_.classes_
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_inner_has("predict_log_proba"))
    def predict_log_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X):
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags


def _final_step(estimator):
    """(path to the final estimator as a set_params prefix, final estimator)."""
    prefix, est = "", estimator
    while isinstance(est, SkPipeline):
        name, est = est.steps[-1]
        prefix += f"{name}__"
    return prefix, est


def apply_class_weight(estimator, class_weight):
    """Set ``class_weight`` on the final model, or wrap it to use sample weights."""
    prefix, final = _final_step(estimator)
    if "class_weight" in final.get_params(deep=False):
        return estimator.set_params(**{f"{prefix}class_weight": class_weight})
    adapter = ClassWeightAdapter(final, class_weight=class_weight)
    if not prefix:
        return adapter
    return estimator.set_params(**{prefix[:-2]: adapter})


def _flatten(steps):
    """Splice nested pipelines in intermediate positions into one chain:
    imbalanced-learn's Pipeline refuses them."""
    out = []
    for i, (name, step) in enumerate(steps):
        if isinstance(step, SkPipeline) and i < len(steps) - 1:
            out.extend((f"{name}_{n}", s) for n, s in _flatten(step.steps))
        else:
            out.append((name, step))
    return out


def insert_sampler(estimator, sampler, placement="model"):
    """Put ``sampler`` just before the final step (after any preprocessing), or
    right after a first step named ``prepare`` for ``placement="prepared"``."""
    if isinstance(estimator, SkPipeline):
        steps = _flatten(estimator.steps)
        names = {n for n, _ in steps}
        name = "sampler"
        while name in names:
            name = "_" + name
        position = len(steps) - 1
        if placement == "prepared" and steps[0][0] == "prepare" and len(steps) > 1:
            position = 1
        return ImbPipeline(
            [*steps[:position], (name, sampler), *steps[position:]],
            memory=estimator.memory,
        )
    return ImbPipeline([("sampler", sampler), ("model", estimator)])


def shared_prepare(algorithms):
    """The ``prepare`` step the models share, if the first one has it.

    Model-replacing techniques (balanced ensembles) go behind it too, so they
    get the same imputation and categorical codes as the portfolio.
    """
    for algorithm in algorithms:
        est = algorithm.estimator
        if isinstance(est, SkPipeline) and est.steps[0][0] == "prepare":
            return est.steps[0][1]
        return None
    return None


def build_pipeline(
    technique, algorithm, params, ctx, prepare=None, search=False, model_params=None
):
    """The unfitted estimator for one (technique, algorithm, params) point;
    ``search=True`` gives the cheaper fidelity used while searching.
    ``model_params`` are ``set_params`` values of the model, set before the
    technique wraps it or puts a sampler in front of it."""
    seed = ctx.random_state
    if technique.kind == "estimator":
        model = technique.make(ctx, params)
        if search and technique.search_params:
            model.set_params(**technique.search_params)
        model = _set_random_states(model, seed)
        if prepare is None:
            return model
        prepare = prepare_for(model, clone(prepare), ctx.refit_samples)
        return SkPipeline([("prepare", prepare), ("model", model)])
    base = clone_algorithm(algorithm, seed, search=search, params=model_params)
    if technique.kind == "none":
        return base
    if technique.kind == "class_weight":
        return apply_class_weight(base, technique.make(ctx, params))
    sampler = _set_random_states(technique.make(ctx, params), seed)
    return insert_sampler(base, sampler, technique.placement)
