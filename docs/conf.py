"""Sphinx configuration of the autobalance documentation.

Build (warnings are errors, as in CI)::

    pip install -e ".[docs]"
    sphinx-build -W -b html docs docs/_build/html

The build needs no network: no intersphinx inventories, no remote images. The
gallery (``examples/plot_*.py``) runs at build time on small data; set
``AUTOBALANCE_DOCS_NO_GALLERY=1`` to skip running it while writing prose.

Generated files go to ``docs/gen_modules/`` (API stub pages, the technique
table, the command-line help) and ``docs/auto_examples/`` (the gallery); both
are ignored by git.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from pathlib import Path

# The gallery fits many small models: threads only add overhead there, and on
# a busy machine idle OpenMP/BLAS threads spin. One thread each, unless the
# caller says otherwise (set before numpy and scikit-learn are imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import autobalance  # noqa: E402

# -- project -----------------------------------------------------------------
project = "autobalance"
author = "autobalance developers"
copyright = "autobalance developers, BSD-3-Clause"
release = autobalance.__version__
version = ".".join(release.split(".")[:2])

# -- general -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # CHANGELOG.md is Markdown
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
# Only reStructuredText pages; Markdown (the changelog) is included explicitly.
source_suffix = {".rst": "restructuredtext"}
myst_heading_anchors = 3
root_doc = "index"
default_role = "literal"
# No network at build time: no intersphinx (its inventories are downloads).
intersphinx_mapping = {}

# -- autodoc / autosummary / numpydoc ------------------------------------------
autosummary_ignore_module_all = False
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
autoclass_content = "class"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"autobalance {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    # Icons come from the theme's bundled Font Awesome: nothing remote.
    "icon_links": [],
}
html_sidebars = {"index": [], "changelog": []}
html_show_sourcelink = False

# -- gallery -------------------------------------------------------------------
run_gallery = os.environ.get("AUTOBALANCE_DOCS_NO_GALLERY", "") in ("", "0")
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Only plot_* scripts run. The quick start and the full abalone19 tutorial
    # take minutes with their default budgets and parse sys.argv, so they stay
    # scripts (the user guide points to them) and out of the gallery.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|quickstart|plot_abalone19_tutorial)\.py$",
    "plot_gallery": "True" if run_gallery else "False",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("autobalance",),
    "reference_url": {"autobalance": None},
    "capture_repr": ("_repr_html_", "__repr__"),
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 5,
    "download_all_examples": False,
    # Its timing page loads scripts from CDNs; the build log has the times.
    "write_computation_times": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}


# -- generated pages -------------------------------------------------------------
GEN = HERE / "gen_modules"


def _write(path, text):
    """Write ``text`` only when it changed (Sphinx rebuilds what changed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


def _param_text(param):
    kind = type(param).__name__
    if kind == "CategoricalParam":
        return f"{param.name} in {{{', '.join(map(str, param.choices))}}}"
    text = param.name
    if getattr(param, "nullable", False):
        text += " (or None)"
    return text


def write_technique_table():
    """The catalogue as a list table, read from ``BUILTIN_TECHNIQUES``."""
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 14 12 24 28",
        "",
        "   * - technique",
        "     - family",
        "     - kind",
        "     - searched parameters",
        "     - what it does",
    ]
    for t in autobalance.BUILTIN_TECHNIQUES:
        params = ", ".join(_param_text(p) for p in t.params) or "-"
        lines += [
            f"   * - ``{t.name}``",
            f"     - {t.family}",
            f"     - {t.kind}",
            f"     - {params}",
            f"     - {t.description.replace('`', '``') or '-'}",
        ]
    _write(GEN / "techniques_table.rst.inc", "\n".join(lines) + "\n")


def write_cli_help():
    """The command line's module docstring (commands, exit codes) and the help
    of ``autobalance`` and of each command, as the installed code prints them."""
    try:
        from autobalance import cli
    except ImportError:  # the command line is optional
        _write(GEN / "cli_doc.rst.inc", "The command line is not available.\n")
        _write(GEN / "cli_help.txt", "(not available)\n")
        return
    _write(GEN / "cli_doc.rst.inc", inspect.cleandoc(cli.__doc__ or "") + "\n")
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal's width
    try:
        parser = cli.build_parser()
        parts = [f"$ autobalance --help\n{parser.format_help()}"]
        for action in parser._actions:
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    parts.append(f"$ autobalance {name} --help\n{sub.format_help()}")
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    _write(GEN / "cli_help.txt", "\n".join(parts))


def _pruner_text(pruner):
    """The pruning rule of ``pruner`` in words (the search's pruner changes
    with the benchmarks, so the guide reads it from the code)."""
    name = type(pruner).__name__
    attrs = vars(pruner)
    if name == "WilcoxonPruner":
        return (
            "Optuna's ``WilcoxonPruner`` compares the folds done so far with the "
            "same folds of the best trial: when a one-sided Wilcoxon signed-rank "
            "test on the paired fold differences says the trial is worse "
            f"(``p < {attrs.get('_p_threshold')}``, not before "
            f"{max(2, attrs.get('_n_startup_steps', 2))} folds), the trial stops. "
            "The exact test on ``k`` pairs cannot go below ``1 / 2**k``, so with "
            "few folds it rarely prunes."
        )
    if name in ("MedianPruner", "PercentilePruner"):
        percentile = attrs.get("_percentile", 50.0)
        where = (
            "the median" if percentile == 50.0 else f"the {percentile:g}th percentile"
        )
        warmup = attrs.get("_n_warmup_steps", 0)
        return (
            f"Optuna's ``{name}`` stops a trial when its best fold score so far "
            f"is below {where} of the completed trials' scores on the same fold "
            "(the folds are shared, so these scores are comparable). It prunes "
            f"once {attrs.get('_n_startup_trials')} trials have completed, and "
            f"from the fold numbered {warmup} on (counting from 0)."
        )
    return f"Optuna's ``{name}`` decides after each fold whether the trial stops."


def write_pruner_text():
    try:
        from autobalance._study import make_pruner, quiet_optuna

        with quiet_optuna():
            text = _pruner_text(make_pruner(True))
    except Exception:  # a private helper: describe pruning without it
        text = "Optuna's pruner decides after each fold whether the trial stops."
    _write(GEN / "pruner.rst.inc", text + "\n")


# API reference. api.rst lists the public names by theme, in autosummary
# blocks. So that the build follows the package rather than breaking on it:
#
# - the stub pages are generated here, from the entries of api.rst that the
#   installed package has, plus every name of ``autobalance.__all__`` that
#   api.rst does not list yet (shown under "Other" at the end of the page);
# - when api.rst is read, entries the package does not have (yet) are dropped.
API_SKIP = {"__version__"}
API_STUBS = "gen_modules/api_stubs.rst"  # autosummary reads it; not a page
exclude_patterns.append(API_STUBS)
autosummary_generate = [API_STUBS]
_MODULE_LINE = re.compile(r"^\.\. (?:current)?module:: ([\w.]+)\s*$")
_ENTRY_LINE = re.compile(r"^   (\w+)\s*$")


def _walk_api(text):
    """Yield ``(line, module, name)``; ``name`` is set on autosummary entries."""
    module, in_block = "autobalance", False
    for line in text.splitlines():
        found = _MODULE_LINE.match(line)
        if found:
            module, in_block = found.group(1), False
        elif line.startswith(".. autosummary::"):
            in_block = True
        elif in_block and line.strip() and not line.startswith("   "):
            in_block = False
        entry = _ENTRY_LINE.match(line) if in_block else None
        yield line, module, entry.group(1) if entry else None


def _exists(module, name):
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def _api_text():
    return (HERE / "api.rst").read_text(encoding="utf-8")


def _listed_in_api():
    """Names api.rst documents: autosummary entries and ``.. data::`` items."""
    text = _api_text()
    names = {name for _, _, name in _walk_api(text) if name}
    return names | set(re.findall(r"^\.\. data:: (\w+)\s*$", text, flags=re.M))


def unlisted_api_names():
    listed = _listed_in_api()
    return [n for n in autobalance.__all__ if n not in listed and n not in API_SKIP]


def write_api_stubs():
    """The autosummary source the stub pages are generated from."""
    entries = [(m, n) for _, m, n in _walk_api(_api_text()) if n and _exists(m, n)]
    entries += [("autobalance", n) for n in unlisted_api_names()]
    lines = []
    for module in dict.fromkeys(m for m, _ in entries):
        lines += [f".. currentmodule:: {module}", "", ".. autosummary::"]
        lines += ["   :toctree: .", ""]
        lines += [f"   {n}" for m, n in entries if m == module]
        lines.append("")
    _write(GEN / Path(API_STUBS).name, "\n".join(lines))
    # Stubs of names that are gone would be pages outside any toctree.
    keep = {f"{m}.{n}.rst" for m, n in entries}
    for stub in GEN.glob("autobalance.*.rst"):
        if stub.name not in keep:
            stub.unlink()


def _add_unlisted(app, docname, source):
    """On reading api.rst: drop entries the package lacks, add "Other"."""
    if docname != "api":
        return
    kept = [
        line
        for line, module, name in _walk_api(source[0])
        if name is None or _exists(module, name)
    ]
    text = "\n".join(kept) + "\n"
    names = unlisted_api_names()
    if names:
        text += "\n".join(
            [
                "",
                ".. currentmodule:: autobalance",
                "",
                "Other",
                "=====",
                "",
                "Public names not yet sorted into a section above.",
                "",
                ".. autosummary::",
                "   :toctree: gen_modules",
                "   :nosignatures:",
                "",
                *[f"   {n}" for n in names],
                "",
            ]
        )
    source[0] = text


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing setters (set_score_request, ...) are
    # generated on every estimator; their docstrings link into scikit-learn's
    # own site.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
    write_technique_table()
    write_pruner_text()
    write_cli_help()
    write_api_stubs()
    app.connect("source-read", _add_unlisted)
