"""The estimator stays thin (issue 16): ``_classifier.py`` validates, plans,
runs, selects, refits and decides; the work itself lives in modules named for
it. These limits keep it so as the package grows."""

import ast
from pathlib import Path

import autobalance

PACKAGE = Path(autobalance.__file__).parent
MAX_LINES = 600
MAX_FUNCTION_LINES = 60


def _functions(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_the_estimator_module_stays_small():
    path = PACKAGE / "_classifier.py"
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert n_lines <= MAX_LINES, (
        f"_classifier.py has {n_lines} lines (at most {MAX_LINES}): move the new "
        "work to the module whose job it is (CONTRIBUTING.md lists them)."
    )
    long = {name: n for name, n in _functions(path) if n > MAX_FUNCTION_LINES}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_limits_see_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    path = tmp_path / "m.py"
    path.write_text(f"def f():\n{body}\n", encoding="utf-8")
    assert dict(_functions(path))["f"] > MAX_FUNCTION_LINES
