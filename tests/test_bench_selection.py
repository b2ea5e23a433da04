"""The selection benchmark measures what users get (regression: after the
learned portfolio shipped but stayed off by default, ``bench_selection.py``
still started its ``autobalance`` method from it)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench_selection = pytest.importorskip("bench_selection")


def test_the_default_search_is_measured_without_a_portfolio():
    assert bench_selection.portfolio_file("glass4", None) is None


def test_the_shipped_portfolio_is_refused_where_it_was_learned():
    from autobalance._portfolio import PORTFOLIO_PATH, read_portfolio

    assert bench_selection.portfolio_file("glass4", "shipped") == PORTFOLIO_PATH
    learned = read_portfolio(PORTFOLIO_PATH)["provenance"]["learned_from"]
    problem = bench_selection.check_portfolio_dir("shipped", learned[:1])
    assert problem is not None and "learned from" in problem
