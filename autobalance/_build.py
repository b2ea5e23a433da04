"""Turn a chosen configuration into an unfitted estimator, and fit one with
sample weights.

Resampling is always placed *inside* the returned estimator (an
imbalanced-learn ``Pipeline``), so it runs in ``fit`` only: validation and test
rows go through ``predict`` untouched.

Sample weights follow the rows through the samplers (:func:`fit_weighted`,
:func:`resampled_weights`): imbalanced-learn's ``Pipeline`` hands a sampler's
new rows to the next step but not their weights, so every fit with weights
goes through :func:`fit_weighted`, which resamples the weights with the rows.
"""

from __future__ import annotations

import numpy as np
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._compat import sampling_type
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


def _class_weight_on_encoded_labels(model):
    """Whether ``model`` reads a ``class_weight`` dict against its internally
    encoded labels (0, 1, ...) instead of the labels of ``y``: scikit-learn's
    histogram gradient boosting does, so a dict keyed by the labels (as the
    class-weight techniques make, and as "balanced" becomes with sample
    weights) fails on string labels or labels other than 0..k-1."""
    return isinstance(model, HistGradientBoostingClassifier)


def apply_class_weight(estimator, class_weight):
    """Set ``class_weight`` on the final model, or wrap it to use sample weights
    (models without the parameter, and those that read it on encoded labels)."""
    prefix, final = _final_step(estimator)
    if "class_weight" in final.get_params(
        deep=False
    ) and not _class_weight_on_encoded_labels(final):
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


# ---------------------------------------------------------------------------
# Sample weights through samplers
# ---------------------------------------------------------------------------
def _class_mean_weights(y, sample_weight, labels):
    """The mean weight of the rows of each of ``labels`` (a new row stands
    for its class as a whole)."""
    return {
        c: float(sample_weight[y == c].mean()) if np.any(y == c) else 1.0
        for c in labels
    }


def resampled_weights(sampler, y, sample_weight, y_res=None):
    """Labels and weights of the rows a fitted ``sampler`` made from rows with
    labels ``y`` and weights ``sample_weight``.

    The rule, for every sampler:

    - rows it keeps or copies (``sample_indices_``: random under- and
      over-sampling, Tomek links, edited nearest neighbours) keep the weight
      of the row they are;
    - rows an over-sampler makes anew (the SMOTE family, ADASYN), which
      imbalanced-learn appends after the input rows class by class, get the
      mean weight of their class's input rows: each stands for its class as
      a whole (its seed and neighbour are drawn from the class), so the
      class's total weight grows by the same factor as its rows;
    - cluster centroids, which replace a class's rows class by class, get
      the mean weight of that class's rows, for the same reason; the
      classes it does not resample keep their rows and weights;
    - SMOTE+Tomek and SMOTE+ENN: SMOTE's rule, then the cleaner's.

    Parameters
    ----------
    sampler : fitted sampler
    y : ndarray of shape (n_samples,)
        The labels it was fitted on.
    sample_weight : ndarray of shape (n_samples,)
    y_res : ndarray or None
        The labels it returned, when known: an over-sampler's new rows are
        then read from them (ADASYN makes about, not exactly, as many rows as
        its ``sampling_strategy_`` says); otherwise from its strategy.

    Returns
    -------
    (y_res, weight_res) : tuple of ndarray, or None
        ``None`` when the sampler does not tell which input row each output
        row comes from (a custom sampler without ``sample_indices_`` whose
        rows do not follow imbalanced-learn's layout).

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.over_sampling import SMOTE
    >>> X = np.arange(24.0).reshape(12, 2)
    >>> y = np.array([0] * 8 + [1] * 4)
    >>> w = np.array([1.0] * 8 + [1.0, 2.0, 3.0, 6.0])
    >>> sampler = SMOTE(k_neighbors=2, random_state=0)
    >>> _ = sampler.fit_resample(X, y)
    >>> y_res, w_res = resampled_weights(sampler, y, w)
    >>> w_res[12:]  # four synthetic rows of class 1, at its mean weight
    array([3., 3., 3., 3.])
    """
    y = np.asarray(y)
    sample_weight = np.asarray(sample_weight, dtype=float)
    inner = getattr(sampler, "sampler_", None)
    if inner is not None and hasattr(inner, "fit_resample"):
        # A wrapper that resamples with a fitted copy (IntegerLabels).
        return resampled_weights(inner, y, sample_weight, y_res)
    if isinstance(sampler, SMOTETomek | SMOTEENN):
        smoted = resampled_weights(sampler.smote_, y, sample_weight)
        cleaner = getattr(sampler, "tomek_", None) or getattr(sampler, "enn_", None)
        return resampled_weights(cleaner, *smoted)
    indices = getattr(sampler, "sample_indices_", None)
    if indices is not None:
        return y[indices], sample_weight[indices]
    strategy = getattr(sampler, "sampling_strategy_", None)
    if not isinstance(strategy, dict):
        return None
    kind = sampling_type(sampler)
    means = _class_mean_weights(y, sample_weight, np.unique(y))
    if kind == "over-sampling":
        if y_res is not None:
            new = np.asarray(y_res)[len(y) :]
        else:
            new = np.concatenate(
                [np.full(int(n), c, dtype=y.dtype) for c, n in strategy.items()]
                or [y[:0]]
            )
        labels = np.unique(y)
        mean_of = np.array([means[c] for c in labels])
        new_weights = mean_of[np.searchsorted(labels, new)]
        return np.concatenate([y, new]), np.concatenate([sample_weight, new_weights])
    if kind == "under-sampling":
        # Prototype generation: class by class in sorted order, the classes
        # of the strategy replaced by n_c new rows, the others kept.
        labels, weights = [], []
        for c in np.unique(y):
            if c in strategy:
                n = int(strategy[c])
                labels.append(np.full(n, c, dtype=y.dtype))
                weights.append(np.full(n, means[c]))
            else:
                labels.append(y[y == c])
                weights.append(sample_weight[y == c])
        return np.concatenate(labels), np.concatenate(weights)
    return None


def _resample_weighted(sampler, X, y, sample_weight):
    """``sampler.fit_resample`` that also gives the weights of its rows."""
    X_res, y_res = sampler.fit_resample(X, y)
    resampled = resampled_weights(sampler, y, sample_weight, np.asarray(y_res))
    if resampled is None or not np.array_equal(resampled[0], np.asarray(y_res)):
        raise ValueError(
            f"{type(sampler).__name__} does not tell which input row each of its "
            "output rows comes from (no sample_indices_, and its rows do not "
            "follow imbalanced-learn's layout), so sample weights cannot follow "
            "its rows. Leave it out of techniques, or fit without sample_weight."
        )
    return X_res, y_res, resampled[1]


def balanced_weights(y, sample_weight):
    """``class_weight="balanced"`` on weighted rows: each class's weight is
    the total weight over (classes x the class's total weight), so that the
    classes weigh the same after both are applied."""
    y = np.asarray(y)
    labels = np.unique(y)
    totals = np.array([sample_weight[y == c].sum() for c in labels])
    total = totals.sum()
    return {
        c: float(total / (len(labels) * t)) if t > 0 else 1.0
        for c, t in zip(labels.tolist(), totals, strict=True)
    }


def _fit_final_weighted(estimator, X, y, sample_weight):
    # scikit-learn's models do not agree on "balanced" with sample weights
    # (logistic regression balances the weighted class totals, trees and
    # boosting the row counts): the weighted totals are balanced here, for
    # every model alike, and the fitted model names the weights it used.
    if not type(estimator).__module__.startswith("imblearn.ensemble"):
        class_weight = estimator.get_params(deep=False).get("class_weight")
        if isinstance(class_weight, str) and class_weight == "balanced":
            estimator.set_params(class_weight=balanced_weights(y, sample_weight))
    return estimator.fit(X, y, sample_weight=sample_weight)


def fit_weighted(estimator, X, y, sample_weight=None):
    """Fit ``estimator`` (a model, a ``Pipeline`` with samplers, a
    :class:`ClassWeightAdapter`, an ensemble) on ``X, y`` with row weights.

    Without weights this is ``estimator.fit(X, y)``. With them, the steps of a
    pipeline are fitted one after the other: transformers as they are (as
    scikit-learn's ``Pipeline`` does unless a step requests the weights),
    samplers with their rows' weights resampled by :func:`resampled_weights`,
    and the final model with the weights of the rows it receives. Class
    weights multiply them (``"balanced"`` balances the classes' total
    weights, :func:`balanced_weights`).

    Parameters
    ----------
    estimator : estimator
        Unfitted; fitted in place.
    X : array-like or DataFrame
    y : ndarray
    sample_weight : ndarray or None

    Returns
    -------
    estimator : estimator
        The fitted ``estimator``.
    """
    if sample_weight is None:
        return estimator.fit(X, y)
    y = np.asarray(y)
    weight = np.asarray(sample_weight, dtype=float)
    if isinstance(estimator, SkPipeline):
        Xt, yt = X, y
        for _, step in estimator.steps[:-1]:
            if step is None or isinstance(step, str):
                continue
            if hasattr(step, "fit_resample"):
                Xt, yt, weight = _resample_weighted(step, Xt, yt, weight)
            else:
                Xt = step.fit_transform(Xt, yt)
        final = estimator.steps[-1][1]
        if not isinstance(final, str):
            fit_weighted(final, Xt, yt, weight)
        return estimator
    return _fit_final_weighted(estimator, X, y, weight)
