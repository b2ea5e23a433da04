"""Starting configurations learned across datasets (``data/portfolio.json``),
read and checked against the search space they are to start.

The file is written by ``benchmarks/build_portfolio.py``: a list of
configurations (technique, model, the model's own parameters by their
``set_params`` names) and the provenance of the learning (datasets, command,
date). The technique's parameters are not stored: they take the space's
defaults for the data at hand, as every first trial does.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from numbers import Real
from pathlib import Path

from ._space import CategoricalParam, FloatParam, IntParam

#: The portfolio shipped with the package.
PORTFOLIO_PATH = Path(__file__).resolve().parent / "data" / "portfolio.json"
#: The portfolio file the default search starts from; ``None`` (the default):
#: none, the search starts with :meth:`SearchSpace.starting_configs`. Only
#: :func:`using_portfolio` sets it. Not on by default: on the first outer
#: folds of the public suite the learned starting points lost to the former
#: ones (glass4 0.940 against 0.970; see ``benchmarks/README.md``), although
#: they win leave-one-dataset-out in the performance matrix.
_active_path = None
#: At most this many more first trials than :meth:`SearchSpace.starting_configs`
#: gives: ``n_trials="auto"`` is 12 on small data, and TPE needs a few of them.
EXTRA_STARTING_CONFIGS = 2


@contextmanager
def using_portfolio(path):
    """Within the block, the default search starts from the portfolio file at
    ``path`` (e.g. :data:`PORTFOLIO_PATH`, the shipped one); restored on exit,
    also on error.

    A private hook for benchmarks that score a portfolio on a dataset it was
    learned without (``bench_selection.py --portfolio-dir``) while the
    learned starting points are not the default. It changes a module-level
    setting: not for concurrent fits with different files.

    Examples
    --------
    >>> from autobalance._portfolio import PORTFOLIO_PATH, using_portfolio
    >>> with using_portfolio(PORTFOLIO_PATH):
    ...     pass
    """
    global _active_path
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No portfolio file at {path}; pass a file written by "
            "benchmarks/build_portfolio.py learn --write or --lodo-dir."
        )
    before, _active_path = _active_path, path
    try:
        yield path
    finally:
        _active_path = before


def active_portfolio():
    """The portfolio file the default search starts from, or ``None``."""
    return _active_path


def read_portfolio(path=None):
    """The portfolio file (the shipped one unless :func:`using_portfolio` or
    ``path`` says otherwise) as a dict with ``"configs"``
    and ``"provenance"``.

    Examples
    --------
    >>> from autobalance._portfolio import read_portfolio
    >>> sorted(read_portfolio())
    ['configs', 'format', 'provenance']
    """
    if path is None:
        path = PORTFOLIO_PATH if _active_path is None else _active_path
    path = Path(path)
    payload = json.loads(path.read_text())
    if not isinstance(payload, dict) or not isinstance(payload.get("configs"), list):
        raise ValueError(
            f"{path} is not a portfolio file: it needs a list under 'configs'; "
            "rebuild it with benchmarks/build_portfolio.py learn --write."
        )
    return payload


def _value_reason(param, value, ctx):
    """Why ``value`` is outside ``param``'s range on this data, or ``None``."""
    if isinstance(param, CategoricalParam):
        if any(type(value) is type(c) and value == c for c in param.choices):
            return None
        return f"{value!r} is not one of {param.choices}"
    if param.is_empty(ctx):
        return "its range is empty on this data"
    if isinstance(param, FloatParam) and param.nullable and value is None:
        return None
    if not isinstance(value, Real) or isinstance(value, bool):
        return f"{value!r} is not a number"
    if isinstance(param, IntParam) and int(value) != value:
        return f"{value!r} is not an integer"
    low, high = param.bounds(ctx)
    if not low <= value <= high:
        return f"{value!r} is outside [{low}, {high}] on this data"
    return None


def config_of(space, technique, algorithm, model_params):
    """The :class:`Config` of ``technique`` (at the space's defaults) on
    model ``algorithm`` with the model's own parameters ``model_params``
    (``set_params`` names, ``{"model__C": 0.1}``), or ``(None, reason)``
    when the space does not hold it.

    Returns
    -------
    config : Config or None
    reason : str or None
        Why the configuration is not in this space.
    """
    if technique not in space.techniques:
        why = space.excluded.get(technique, "the search does not use it")
        return None, f"technique {technique!r} is not in the space ({why})"
    compatible = space.compatible[technique]
    if algorithm is None:
        if compatible:
            return None, f"technique {technique!r} needs a model"
    elif algorithm not in compatible:
        return None, (
            f"model {algorithm!r} is not paired with {technique!r} here "
            f"(the space pairs it with {compatible})"
        )
    if algorithm is None and model_params:
        return None, f"technique {technique!r} replaces the model: no model params"
    config = space.default_config(technique, algorithm)
    if not model_params:
        return config, None
    model = space.algorithms[algorithm]
    declared = {p.name: p for p in model.params}
    params = dict(config.params)
    for name, value in model_params.items():
        if name not in declared:
            return None, (
                f"model {algorithm!r} does not search {name!r} "
                f"(it searches {sorted(declared)})"
            )
        reason = _value_reason(declared[name], value, space.context)
        if reason:
            return None, f"{algorithm}'s {name}: {reason}"
        params[model.key(name)] = value
    return type(config)(config.technique, config.algorithm, params), None


def portfolio_configs(space, path=None):
    """The learned starting configurations that ``space`` holds, in order,
    and those it does not, with the reason (a portfolio learned for another
    space or version is used as far as it applies, never a crash).

    Returns
    -------
    configs : list of Config
    skipped : list of (dict, str)
        The file's entry and why it was left out.
    """
    configs, skipped, seen = [], [], set()
    for entry in read_portfolio(path)["configs"]:
        if not isinstance(entry, dict) or "technique" not in entry:
            skipped.append((entry, "an entry needs at least a 'technique'"))
            continue
        params = entry.get("params") or {}
        if not isinstance(params, dict):
            skipped.append((entry, "'params' must be a dict of model parameters"))
            continue
        config, reason = config_of(
            space, entry["technique"], entry.get("algorithm"), params
        )
        if config is None:
            skipped.append((entry, reason))
        elif config.key() not in seen:
            seen.add(config.key())
            configs.append(config)
    return configs, skipped


def _covers(config):
    """What a starting configuration stands for: its model, or the technique
    when the technique is the model (the balanced random forest)."""
    return config.algorithm if config.algorithm is not None else config.technique


def default_starting_configs(space, path=None):
    """The first trials of the default search: the learned configurations in
    order, then, for each model or model-replacing technique of
    :meth:`SearchSpace.starting_configs` that none of them covers, one of its
    starting configurations (balanced class weights when the space has them,
    else the first), so that every model and the balanced random forest is
    scored in the first trials. At most :data:`EXTRA_STARTING_CONFIGS` more
    than :meth:`SearchSpace.starting_configs`: learned configurations are
    dropped from the end until the list fits.

    Returns
    -------
    configs : list of Config
    skipped : list of (dict, str)
        The learned entries this space does not hold and why (see
        :func:`portfolio_configs`), then those dropped for the budget.
    """
    learned, skipped = portfolio_configs(space, path)
    baseline = space.starting_configs()
    fallback = {}
    for config in baseline:
        current = fallback.get(_covers(config))
        if current is None or (
            config.technique == "balanced_class_weight"
            and current.technique != "balanced_class_weight"
        ):
            fallback[_covers(config)] = config
    limit = len(baseline) + EXTRA_STARTING_CONFIGS
    for n in range(len(learned), -1, -1):
        covered = {_covers(c) for c in learned[:n]}
        missing = [c for key, c in fallback.items() if key not in covered]
        if n + len(missing) <= limit:
            break
    for config in learned[n:]:
        skipped.append(
            (
                {"technique": config.technique, "algorithm": config.algorithm},
                f"over the budget of {limit} starting configurations",
            )
        )
    return learned[:n] + missing, skipped
