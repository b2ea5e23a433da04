"""Fit-time metadata: what ``fit`` receives besides ``X, y``, and where it
goes, with and without scikit-learn's metadata routing.

As in scikit-learn's search estimators, ``groups`` goes to the inner splitter
and ``sample_weight`` to the search (its models, scores and decision rule).
With routing enabled (``sklearn.set_config(enable_metadata_routing=True)``),
:func:`metadata_router` tells a ``Pipeline``, ``GridSearchCV`` or
``cross_validate`` around the estimator what to pass on, and
:func:`fit_params` routes what ``fit`` received through it.
"""

from __future__ import annotations

from numbers import Integral

import sklearn
from sklearn.model_selection import StratifiedGroupKFold, check_cv
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)

__all__ = ["FIT_PARAMS", "fit_params", "metadata_router"]

#: What ``fit`` takes as metadata.
FIT_PARAMS = ("sample_weight", "groups")


def _user_models(estimator):
    """``(name, model)`` of the models the user gave (none for the default
    portfolio, which the user cannot set requests on)."""
    if estimator is None:
        return []
    if isinstance(estimator, (list, tuple)):
        pairs = []
        for i, item in enumerate(estimator):
            if isinstance(item, tuple) and len(item) == 2:
                pairs.append((f"estimator_{item[0]}", item[1]))
            else:
                pairs.append((f"estimator_{i}", item))
        return pairs
    return [("estimator", estimator)]


def _routed_splitter(cv):
    """The splitter routing reports for ``cv``: an integer cv splits by
    groups when they are given (stratified group folds), so it asks for them."""
    if isinstance(cv, Integral):
        return StratifiedGroupKFold(n_splits=cv)
    return check_cv(cv, classifier=True)


def metadata_router(est):
    """The :class:`~sklearn.utils.metadata_routing.MetadataRouter` of ``est``:
    its own requests (``set_fit_request``, ``set_score_request``), the
    user's model(s) (``fit`` to ``fit``) and the splitter (``fit`` to
    ``split``)."""
    router = MetadataRouter(owner=est).add_self_request(est)
    for name, model in _user_models(est.estimator):
        router.add(
            **{name: model},
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
    router.add(
        splitter=_routed_splitter(est.cv),
        method_mapping=MethodMapping().add(caller="fit", callee="split"),
    )
    return router


def _unsupported(keys):
    return (
        f"AutoBalancedClassifier.fit got unexpected parameters {sorted(keys)}; it "
        "takes sample_weight and groups only: other fit parameters cannot follow "
        "the rows through the samplers that resample them. Pass per-row weights "
        "as sample_weight and group labels as groups."
    )


def fit_params(est, sample_weight, params):
    """The metadata of the search, ``{"sample_weight": ..., "groups": ...}``,
    from ``fit(X, y, sample_weight, **params)``; raises ``TypeError`` on a
    parameter the search cannot use."""
    if not sklearn.get_config()["enable_metadata_routing"]:
        params = dict(params)
        groups = params.pop("groups", None)
        if params:
            raise TypeError(_unsupported(params))
        return {"sample_weight": sample_weight, "groups": groups}
    passed = dict(params)
    if sample_weight is not None:
        passed["sample_weight"] = sample_weight
    # Refuses (TypeError) metadata that nothing here requested, and metadata
    # a user's model leaves unset (UnsetMetadataPassedError).
    routed = process_routing(est, "fit", **passed)
    groups = routed.splitter.split.get("groups")
    for name, _ in _user_models(est.estimator):
        extra = set(routed[name].fit) - set(FIT_PARAMS)
        if extra:
            raise TypeError(_unsupported(extra))
        if sample_weight is None:
            # A model's request under an alias (set_fit_request(sample_weight=
            # "w")) routes another key to the weights.
            sample_weight = routed[name].fit.get("sample_weight")
    return {"sample_weight": sample_weight, "groups": groups}
