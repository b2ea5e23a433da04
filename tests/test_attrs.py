"""Trial and study attribute keys are spelled once, in ``autobalance._attrs``."""

import ast
from pathlib import Path

import autobalance._attrs as attrs

PACKAGE = Path(attrs.__file__).parent
ATTR_CONTAINERS = {"user_attrs", "system_attrs"}
ATTR_SETTERS = {"set_user_attr", "set_system_attr"}


def _key_of(node):
    """The key expression an attribute read or write uses, or ``None``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner, name = node.func.value, node.func.attr
        reads = name in ("get", "pop", "setdefault") and (
            isinstance(owner, ast.Attribute) and owner.attr in ATTR_CONTAINERS
        )
        if node.args and (name in ATTR_SETTERS or reads):
            return node.args[0]
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr in ATTR_CONTAINERS
    ):
        return node.slice
    return None


def _literal_keys(tree):
    """Line numbers where a string literal is used as an attribute key."""
    for node in ast.walk(tree):
        keys = [_key_of(node)]
        if isinstance(node, ast.Call):
            keys += [
                k
                for kw in node.keywords
                if kw.arg in ATTR_CONTAINERS and isinstance(kw.value, ast.Dict)
                for k in kw.value.keys
            ]
        for key in keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.lineno


def test_no_module_spells_an_attribute_key():
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_attrs.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        hits += [f"{path.relative_to(PACKAGE)}:{line}" for line in _literal_keys(tree)]
    assert not hits, f"attribute keys spelled out instead of from _attrs: {hits}"


def test_the_scan_finds_a_spelled_key():
    tree = ast.parse(
        "t.user_attrs.get('fail_reason')\n"
        "trial.set_user_attr('technique', 1)\n"
        "t.system_attrs['autobalance:slot']\n"
        "create_trial(user_attrs={'technique': 'x'})\n"
    )
    assert sorted(_literal_keys(tree)) == [1, 2, 3, 4]


def test_keys_are_distinct():
    values = [getattr(attrs, name) for name in attrs.__all__]
    assert len(set(values)) == len(values)
