"""The small-data guard: on few rows, refit a robust reference setup unless
the search's choice clearly beats it, by a rule learned across datasets
(``data/selection_guard.json``).

With a few dozen positives the inner folds cannot tell setups apart, and the
best of many noisy trials (or their average) is mostly chosen for its luck:
on 31 listed datasets of 106 to 306 rows the default search lost to balanced
class weights on extra trees alone. The file says which setup is the
reference, up to how many rows the guard applies and by how much mean inner
ROC AUC the choice must beat the reference to be kept; it is written by
``benchmarks/replay_reference.py --learn --write`` from the replayed outer
folds of ``bench_selection.py`` (the gain is reported there leave one dataset
out).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from ._attrs import ATTR_SCORES
from ._objective import (
    ATTR_ALGORITHM,
    ATTR_DUPLICATE,
    ATTR_PARAMS,
    ATTR_TECHNIQUE,
    _clean,
)

__all__ = ["GUARD_PATH", "guarded_config", "read_guard", "reference_instead"]

#: The guard shipped with the package.
GUARD_PATH = Path(__file__).resolve().parent / "data" / "selection_guard.json"


@lru_cache(maxsize=4)
def read_guard(path=GUARD_PATH):
    """The guard file as a dict with ``reference`` (``technique``,
    ``algorithm``), ``max_rows``, ``margin`` and ``provenance``.

    Examples
    --------
    >>> from autobalance._guard import read_guard
    >>> guard = read_guard()
    >>> guard["reference"]["algorithm"], guard["max_rows"] > 0, guard["margin"] > 0
    ('extra_trees', True, True)
    """
    path = Path(path)
    payload = json.loads(path.read_text())
    missing = {"reference", "max_rows", "margin"} - set(payload)
    if missing:
        raise ValueError(
            f"{path} is not a selection guard file: it lacks {sorted(missing)}; "
            "rebuild it with benchmarks/replay_reference.py --learn --write."
        )
    return payload


def guarded_config(space, n_samples, guard=None):
    """The reference setup (a :class:`~autobalance._space.Config` at the
    space's defaults) when the guard applies to a fit of ``n_samples`` rows
    in ``space``, else ``None``."""
    guard = read_guard() if guard is None else guard
    technique = guard["reference"]["technique"]
    algorithm = guard["reference"]["algorithm"]
    if (
        n_samples > guard["max_rows"]
        or technique not in space.techniques
        or algorithm not in space.compatible.get(technique, ())
    ):
        return None
    return space.default_config(technique, algorithm)


def _reference_trial(trials, config):
    """The first complete trial of ``config`` (not a repeat), or ``None``
    when the search did not score it."""
    defaults = _clean(config.params)
    for trial in sorted(trials, key=lambda t: t.number):
        attrs = trial.user_attrs
        if (
            attrs.get(ATTR_TECHNIQUE) == config.technique
            and attrs.get(ATTR_ALGORITHM) == config.algorithm
            and ATTR_DUPLICATE not in attrs
            and attrs.get(ATTR_SCORES)
            and attrs.get(ATTR_PARAMS) == defaults
        ):
            return trial
    return None


def reference_instead(trials, chosen, space, n_samples, guard=None):
    """``(trial, record)``: the reference trial to refit instead of
    ``chosen`` when the guard applies, else ``(chosen, None)``.

    It applies on at most ``guard["max_rows"]`` rows, when the search scored
    the reference setup at its defaults and ``chosen``'s mean inner score
    beats the reference's by less than ``guard["margin"]``. ``record`` (the
    ``"reference"`` entry of ``selection_``) says which trial was passed
    over, by how much it led, and the guard's bound and margin.
    """
    guard = read_guard() if guard is None else guard
    config = guarded_config(space, n_samples, guard)
    reference = None if config is None else _reference_trial(trials, config)
    if reference is None or reference.number == chosen.number:
        return chosen, None
    lead = float(chosen.value) - float(reference.value)
    if lead >= guard["margin"]:
        return chosen, None
    return reference, {
        "instead_of": chosen.number,
        "lead": lead,
        "margin": float(guard["margin"]),
        "max_rows": int(guard["max_rows"]),
    }
