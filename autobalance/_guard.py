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

__all__ = ["GUARD_PATH", "read_guard", "reference_instead"]

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


def _reference_trial(trials, space, guard):
    """The complete trial of the reference setup at the space's defaults, or
    ``None`` when the space lacks it or the search did not score it."""
    technique = guard["reference"]["technique"]
    algorithm = guard["reference"]["algorithm"]
    if technique not in space.techniques or algorithm not in space.compatible.get(
        technique, ()
    ):
        return None
    defaults = _clean(space.default_config(technique, algorithm).params)
    for trial in sorted(trials, key=lambda t: t.number):
        attrs = trial.user_attrs
        if (
            attrs.get(ATTR_TECHNIQUE) == technique
            and attrs.get(ATTR_ALGORITHM) == algorithm
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
    if n_samples > guard["max_rows"]:
        return chosen, None
    reference = _reference_trial(trials, space, guard)
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
