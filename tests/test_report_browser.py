"""The HTML report in a real browser: headless Chromium through Playwright.

Skipped only where no Chromium (or Playwright) is installed; with ``CI`` set
(``.ci/run`` installs both) a missing browser fails the test instead.
"""

import os
import shutil
from pathlib import Path

import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from autobalance import AutoBalancedClassifier, report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = (1280, 800)

# Elements that clip their content: overflow hidden (or clip) on an axis where
# the content is larger than the box.
CLIPPED = """() => Array.from(document.querySelectorAll("body *")).filter(el => {
    const s = getComputedStyle(el);
    const clips = v => v === "hidden" || v === "clip";
    return (clips(s.overflowX) && el.scrollWidth > el.clientWidth)
        || (clips(s.overflowY) && el.scrollHeight > el.clientHeight);
}).map(el => el.tagName + "." + el.className)"""

# Tables wider than their parent, each with the overflow-x of its nearest
# scrolling ancestor (or "none") and whether that ancestor fits the window.
WIDE_TABLES = """() => Array.from(document.querySelectorAll("table"))
.filter(t => t.offsetWidth > t.parentElement.clientWidth
             || t.parentElement.scrollWidth > t.parentElement.clientWidth)
.map(t => {
    let el = t.parentElement;
    while (el && !["auto", "scroll"].includes(getComputedStyle(el).overflowX)) {
        el = el.parentElement;
    }
    return {
        width: t.offsetWidth,
        overflowX: el ? getComputedStyle(el).overflowX : "none",
        boxRight: el ? el.getBoundingClientRect().right : null,
    };
})"""

IMAGES = """async () => {
    const images = Array.from(document.images);
    await Promise.all(images.map(img => img.decode().catch(() => null)));
    return images.map(img => img.naturalWidth);
}"""


def _in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def _missing(what):
    if _in_ci():
        pytest.fail(f"{what} (CI is set: .ci/run installs it, so this is an error).")
    pytest.skip(what)


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed; `pip install -e .[dev]` installs it")
    if not Path(CHROMIUM).exists():
        _missing(
            f"no Chromium at {CHROMIUM}; install Debian's package: "
            "`apt-get install chromium`"
        )
    return sync_playwright


@pytest.fixture(scope="module")
def wide_report(tmp_path_factory):
    """A report whose leaderboard (several techniques, twelve columns) is
    wider than a 1,280 px window."""
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, weights=[0.9], random_state=0
    )
    clf = AutoBalancedClassifier(
        LogisticRegression(),
        techniques=["random_over_sampler", "smote", "balanced_class_weight"],
        n_trials=6,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert len(clf.leaderboard_) >= 3
    return report(clf, tmp_path_factory.mktemp("report") / "report.html", X, y)


def test_report_fits_the_window_in_chromium(sync_playwright, wide_report):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                errors = []
                page.on(
                    "console",
                    lambda m, errors=errors: (
                        errors.append(m.text) if m.type == "error" else None
                    ),
                )
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto(wide_report.as_uri(), wait_until="load")

                natural_widths = page.evaluate(IMAGES)
                assert len(natural_widths) == 5
                assert all(w > 0 for w in natural_widths), natural_widths

                scroll_width, inner_width = page.evaluate(
                    "[document.documentElement.scrollWidth, window.innerWidth]"
                )
                assert scroll_width <= inner_width, (
                    f"at {width} px the page scrolls sideways: {scroll_width} px"
                )
                wide = page.evaluate(WIDE_TABLES)
                if width == 1280:  # the leaderboard: else the check proves nothing
                    assert wide, "no table is wider than the page; make it wider"
                for table in wide:
                    assert table["overflowX"] in ("auto", "scroll"), table
                    assert table["boxRight"] <= inner_width, table
                assert page.evaluate(CLIPPED) == []
                assert errors == []
                page.close()
        finally:
            browser.close()


def test_a_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _missing("no Chromium")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        _missing("no Chromium")
