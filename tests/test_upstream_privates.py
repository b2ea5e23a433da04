"""Private upstream APIs stay in ``autobalance/_compat.py``.

Every other module of the package is scanned with ``ast`` for the three
forms a private use of Optuna, scikit-learn or imbalanced-learn takes: an
import of an underscore-prefixed module or name, an access to one of their
private attributes, and a literal system-attribute key Optuna reads or
writes. A new use belongs in ``_compat.py``, next to its reason and the
public alternative, where the tests of ``tests/test_compat.py`` check the
assumption it makes.
"""

import ast
import pathlib

import pytest

import autobalance

PACKAGE = pathlib.Path(autobalance.__file__).parent
COMPAT = PACKAGE / "_compat.py"
UPSTREAM = ("optuna", "sklearn", "imblearn")

# Private attributes of upstream objects the package has needed (or its
# overrides name): studies, trials, storages, samplers, fitted estimators.
PRIVATE_ATTRIBUTES = frozenset(
    {
        "_storage",
        "_study_id",
        "_thread_local",
        "_trial_id",
        "_get_trials",
        "_get_stale_trial_ids",
        "_cached_frozen_trial",
        "_fixed_params",
        "_sampling_type",
        "_predictors",
        "_heartbeat",
        "_safe_indexing",
        "_param_validation",
        "_validate_params",
        "_validate_data",
        "_CachedStorage",
    }
)
# Names whose underscore attributes are upstream's whatever the attribute.
UPSTREAM_OBJECTS = frozenset({"study", "trial", "storage", "sampler", "frozen"})
# Trial system attributes Optuna itself reads or writes.
SYSTEM_ATTRIBUTE_KEYS = frozenset({"fixed_params", "retry_history", "failed_trial"})


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return list(reversed(parts))


def private_uses(source, filename="<source>"):
    """``(line, what)`` of every private upstream use in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in UPSTREAM and any(map(_private, parts)):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] not in UPSTREAM:
                continue
            names = [a.name for a in node.names]
            if any(map(_private, parts)) or any(map(_private, names)):
                found.append(
                    (node.lineno, f"from {node.module} import {', '.join(names)}")
                )
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            root = _root(node)
            if (
                node.attr in PRIVATE_ATTRIBUTES
                or root in UPSTREAM
                or (
                    isinstance(node.value, ast.Name)
                    and node.value.id in UPSTREAM_OBJECTS
                )
            ):
                found.append((node.lineno, ".".join(_dotted(node)) or node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in PRIVATE_ATTRIBUTES
        ):
            found.append((node.lineno, f"{node.func.id}(..., {node.args[1].value!r})"))
        elif isinstance(node, ast.Constant) and node.value in SYSTEM_ATTRIBUTE_KEYS:
            found.append((node.lineno, f"system attribute key {node.value!r}"))
    return sorted(found)


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p != COMPAT)


def test_no_private_upstream_use_outside_compat():
    offences = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {what}"
        for path in _modules()
        for line, what in private_uses(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not offences, (
        "Private upstream APIs used outside autobalance/_compat.py; route them "
        "through a function of _compat.py (with the reason and the public "
        "alternative):\n" + "\n".join(offences)
    )


def test_the_scan_covers_every_module():
    names = {p.name for p in _modules()}
    assert {"_distributed.py", "_classifier.py", "cli.py", "_plots.py"} <= names
    assert "_compat.py" not in names


@pytest.mark.parametrize(
    "source",
    [
        "from optuna.storages._heartbeat import BaseHeartbeat",
        "import optuna.storages._heartbeat",
        "from sklearn.utils import _safe_indexing",
        "from sklearn.utils._param_validation import Interval",
        "from imblearn.utils._validation import check_sampling_strategy",
        "x = study._storage",
        "x = t._trial_id",
        "study._thread_local.cached_all_trials = None",
        "trials = self._study._get_trials()",
        "kind = getattr(sampler, '_sampling_type', None)",
        "p = getattr(obj, '_predictors', None)",
        "x = sampler._anything",
        "m = optuna.storages._heartbeat",
        "self._validate_params()",
        "attrs = {'fixed_params': {}}",
        "n = t.system_attrs.get('retry_history', ())",
    ],
)
def test_the_scan_finds_each_form(source):
    assert private_uses(source)


@pytest.mark.parametrize(
    "source",
    [
        "from optuna import __version__",
        "from sklearn.utils import check_random_state",
        "from ._compat import take_rows",
        "from . import _compat",
        "x = self._inner",
        "x = estimator._estimator_from_params(p)",
        "key = 'fail_reason'",
    ],
)
def test_the_scan_lets_public_and_own_names_pass(source):
    assert not private_uses(source)
