"""Imports inside the package run one way (issue 16): no module imports,
directly or through others, a module that imports it back, not even inside a
function. The package's ``__init__`` counts as a module of its own."""

import ast
from pathlib import Path

import autobalance

PACKAGE = Path(autobalance.__file__).parent
NAME = "autobalance"


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module, node):
    """The ``autobalance.*`` modules one import statement names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == NAME]
    if node.level:
        is_package = module in _packages()
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != NAME:
        return []
    # ``from . import x`` names a submodule when one exists, an attribute of
    # the package otherwise.
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in _modules() else target)
    return out


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _packages():
    return {_module_name(p) for p in PACKAGE.rglob("__init__.py")}


def import_graph():
    """``{module: {modules it imports}}`` over every import at any depth."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in _resolve(name, node) if t in modules)
        # Importing ``autobalance.reporting._x`` from outside runs
        # ``reporting/__init__`` first. (The same holds for the package's own
        # ``__init__``, which would tie every module to every other: its
        # imports are lazy, so it counts as a module of its own that nothing
        # below may import.)
        for target in list(edges):
            parent = target.rpartition(".")[0]
            while parent not in ("", NAME):
                # From inside the package its ``__init__`` is already running.
                if not name.startswith(parent + "."):
                    edges.add(parent)
                parent = parent.rpartition(".")[0]
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph):
    """One cycle as a list of modules (first repeated last), or ``None``."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # cli imports the package's estimator; a module is never its own edge.
    assert "autobalance" in graph
    assert all(name not in edges for name, edges in graph.items())
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


#: The floors of the package, lowest first (CONTRIBUTING.md draws them): a
#: module imports only from its own floor or below.
FLOORS = [
    # neutral helpers any floor may use
    {
        "exceptions",
        "_attrs",
        "_compat",
        "_urls",
        "_version",
        "_prior",
        "_stats",
        "_threads",
        "_footprint",
        "_persist",
        "_routing",
        "_subsample",
        "datasets",
    },
    # space: techniques, models, parameters; build: configuration -> pipeline
    {"_preprocessing", "_build", "_space", "_catalogue", "_inputs", "_portfolio"},
    {"_oof"},  # out-of-fold predictions and what made them
    # one trial; its cost; cv_results_; the screening round of a timed search;
    # its early stop
    {"_objective", "_budget", "_cost", "_results", "_screening", "_early_stop"},
    {"_distributed", "_study"},  # the study runner: storage, queue, sampler
    # the decision rule; the small-data guard on the choice
    {"_calibration", "_threshold", "_ensemble", "_guard"},
    # plan; the trial to refit and its refit
    {"_resolve", "_validation", "_selection", "_leaderboard", "_plan", "_refit"},
    {"_classifier", "_worker"},  # the estimator and the worker's entry point
    {"_evaluation", "_learning_curve"},
    {"reporting"},
    {"cli", ""},  # the command line and the package's lazy __init__
]


def _floor(module):
    name = module[len(NAME) + 1 :] if module.startswith(NAME + ".") else ""
    if name.startswith("reporting"):
        name = "reporting"
    for i, floor in enumerate(FLOORS):
        if name in floor:
            return i
    raise AssertionError(
        f"{module} is on no floor: add it to FLOORS here and to CONTRIBUTING.md"
    )


def test_imports_only_point_down():
    upward = [
        f"{module} (floor {_floor(module)}) imports {target} (floor {_floor(target)})"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if _floor(target) > _floor(module)
    ]
    assert not upward, "imports pointing up:\n" + "\n".join(upward)
