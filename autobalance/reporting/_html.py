"""One self-contained HTML report of a fitted search (plots embedded)."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._early_stop import stop_sentence
from .._persist import atomic_path
from ._leaderboard import check_search, leaderboard
from ._plots import (
    OptimizationHistoryDisplay,
    PrecisionRecallComparisonDisplay,
    ReliabilityDisplay,
    ROCComparisonDisplay,
    TechniqueComparisonDisplay,
    _check_matplotlib,
    fitted_with_weights,
    out_of_fold_predictions,
)

__all__ = ["report"]

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em;
       max-width: 70em; color: #222; line-height: 1.4;
       overflow-wrap: break-word; }
.table-scroll { max-width: 100%; overflow-x: auto; margin: 0.5em 0 1.5em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.note { color: #555; font-size: 0.9em; }
figure { display: inline-block; max-width: calc(100% - 1em); margin: 0.5em; }
img { max-width: 100%; height: auto; }
"""


def _scrolling_tables(page):
    """Each table in its own horizontally scrolling box.

    A leaderboard is wider than a page; in its own box it scrolls alone
    instead of widening the page (or being cut off). All text in the page is
    escaped, so every ``<table`` is a tag.
    """
    return page.replace("<table", '<div class="table-scroll"><table').replace(
        "</table>", "</table></div>"
    )


def _text(value):
    return html.escape(str(value))


def _table(frame, float_format="{:.4f}".format):
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: v if isinstance(v, str) else repr(v)
            )
    return frame.to_html(float_format=float_format, na_rep="", border=0)


def _label(value):
    return value.item() if isinstance(value, np.generic) else value


def _png(display_cls, *args, **kwargs):
    """Render one display on a pyplot-free Figure; the base64 PNG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    factory = getattr(display_cls, kwargs.pop("_factory", "from_estimator"))
    factory(*args, ax=ax, **kwargs)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(png, caption):
    return (
        f'<figure><img alt="{_text(caption)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{_text(caption)}</figcaption></figure>"
    )


_WEIGHTED_FIT = {
    True: "yes: fitted with sample_weight",
    False: "no",
    None: "not recorded (a model saved by an older version)",
}

#: Where the out-of-fold predictions of the decision rule came from.
_OOF_ORIGINS = {
    "search": "the search's own fold models of the chosen setup, at the "
    "search's fidelity (its searched rows, and a cheaper model where the "
    "search used one)",
    "refit": "the chosen setup built as it was refitted, fitted again on each "
    "of the search's folds",
}


def _origin_note(clf):
    """One sentence: which fold models made the out-of-fold predictions the
    probability correction and the threshold were fitted on."""
    origin = clf.calibration_.get("oof_origin")
    if origin not in _OOF_ORIGINS and getattr(clf.decision_rule_, "oof_folds", None):
        return (
            '<p class="note">Which fold models made the out-of-fold predictions '
            "of the probability correction and the threshold was not recorded "
            "(a model saved by an older version).</p>"
        )
    if origin is None:
        return (
            '<p class="note">No out-of-fold predictions were kept with the model '
            "(calibration='off' and no threshold): predict_proba is the refitted "
            "model's own output.</p>"
        )
    fitted = "and the decision threshold were" if clf.threshold_ is not None else "was"
    return (
        '<p class="note">The probability correction '
        f"({_text(clf.calibration_['method'])}) {fitted} "
        f"fitted on out-of-fold predictions of {_text(_OOF_ORIGINS[origin])} "
        f'(calibration_["oof_origin"] = {_text(repr(origin))}).</p>'
    )


def _weighting_note(clf, oof):
    """Whether the out-of-fold curves weigh the rows by their sample weights."""
    if oof.weighted:
        return (
            "The curves and their metrics are weighted: the fold models were "
            "fitted with their rows' sample weights, and each row weighs its "
            "sample weight."
        )
    if fitted_with_weights(clf):
        return (
            "The curves and their metrics are UNWEIGHTED although the model was "
            "fitted with sample weights: none were given to the report, so the "
            "fold models were refitted without them. Pass the weights of fit "
            "(report(..., sample_weight=w), or --weight-column) for the curves "
            "of the fitted model."
        )
    return "The curves and their metrics are unweighted (no sample weights)."


def _data_section(clf):
    ctx = clf.search_space_.context
    counts = ctx.refit_counts
    classes = ", ".join(
        f"{_label(c)!r}: {int(n)}" for c, n in zip(ctx.classes, counts, strict=True)
    )
    states = pd.Series(clf.cv_results_["state"]).value_counts()
    trials = ", ".join(f"{int(n)} {s.lower()}" for s, n in states.items())
    if ctx.subsampled:
        searched = ", ".join(
            f"{_label(c)!r}: {int(n)}"
            for c, n in zip(ctx.classes, ctx.class_counts, strict=True)
        )
        search_rows = (
            f"{ctx.n_samples:,} (a stratified subsample, max_search_samples; "
            f"classes {searched})"
        )
    else:
        search_rows = f"{ctx.n_samples:,} (every row)"
    rows = [
        ("Rows (the model was refitted on)", f"{ctx.refit_samples:,}"),
        ("Rows the search cross-validated on", search_rows),
        ("Features", ctx.n_features),
        ("Classes (rows)", classes),
        (
            "Imbalance ratio (majority : minority)",
            f"{counts.max() / counts.min():.1f} : 1",
        ),
        ("Sample weights (fit)", _WEIGHTED_FIT[fitted_with_weights(clf)]),
        ("Inner cross-validation", repr(clf.cv_)),
        ("Scorer", repr(clf.scorer_)),
        ("Trials", trials),
    ]
    body = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in rows)
    excluded = ""
    if clf.excluded_techniques_:
        items = "".join(
            f"<li><b>{_text(k)}</b>: {_text(v)}</li>"
            for k, v in clf.excluded_techniques_.items()
        )
        excluded = f"<p>Left out of the search for this data:</p><ul>{items}</ul>"
    return f"<h2>Data</h2><table>{body}</table>{excluded}"


def _chosen_section(clf):
    params = {
        k: v for k, v in clf.best_params_.items() if k not in ("technique", "algorithm")
    }
    rows = [
        ("Technique", clf.best_technique_),
        ("Model", clf.best_algorithm_),
        ("Parameters", params or "(none)"),
        ("Mean inner CV score", f"{clf.best_score_:.4f}"),
        ("Refit time (s)", f"{clf.refit_time_:.2f}"),
    ]
    body = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in rows)
    return (
        f"<h2>Chosen setup</h2><table>{body}</table>"
        '<p class="note">The inner CV score was maximised over these folds, so it is '
        "optimistic; the nested estimate below (when given) is the honest one.</p>"
        f"{_guard_note(clf)}{_origin_note(clf)}"
    )


def _guard_note(clf):
    """Why the small-data guard refitted the reference setup, when it did."""
    guard = (getattr(clf, "selection_", None) or {}).get("reference")
    if not guard:
        return ""
    return (
        '<p class="note">Chosen by the small-data guard: on at most '
        f"{guard['max_rows']:,} rows the search refits this reference setup "
        f"unless its choice beats it by {guard['margin']:g} in mean inner score; "
        f"trial {guard['instead_of']} led it by only {guard['lead']:+.4f}.</p>"
    )


def _end_sentence(progress, timeout):
    """What ended a search that did not stop early, and when."""
    at = f"{progress['search_seconds']:.1f} s into the fit"
    if timeout is not None:
        at += f" (a {timeout:g} s budget)"
    if progress["ended"] == "budget":
        return f"The search ended {at}: the time left only covered the refit."
    return (
        f"The search ended {at}, after the trials asked for (n_trials); it did "
        "not stop early."
    )


def _progress_section(clf):
    """How the search spent its budget: the best scores by share of it,
    whether it stopped early, the trials by why they stopped, the rows of
    its full-fidelity folds and how well the cost model predicted."""
    progress = getattr(clf, "search_progress_", None)
    if progress is None:  # a model saved before search_progress_ existed
        return ""
    basis = "timeout" if progress["basis"] == "timeout" else "search's duration"
    frame = pd.DataFrame(
        {
            f"share of the {basis}": [f"{f:.0%}" for f in progress["fractions"]],
            "seconds": progress["seconds"],
            "best complete trial": progress["best_score"],
            "best screening trial": progress.get(
                "screened_best_score", [np.nan] * len(progress["fractions"])
            ),
        }
    )
    results = clf.cv_results_
    reasons = pd.Series(results["stop_reason"]).value_counts()
    complete = np.asarray(results["stop_reason"]) == "complete"
    rows = np.asarray(results["fidelity_rows"], dtype=float)[complete]
    lines = [
        "Trials by why they stopped: "
        + ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        + "."
    ]
    if rows.size and np.isfinite(rows).any():
        lines.append(
            f"Complete trials trained on {int(np.nanmax(rows)):,} rows of each "
            "training fold (fidelity_rows; fewer than the folds hold when the time "
            "budget could not afford them all)."
        )
    if progress.get("stopped_early"):
        lines.append(stop_sentence(progress.get("stop_detail") or {}))
    elif progress.get("ended") is not None:
        lines.append(_end_sentence(progress, clf.timeout))
    elif clf.timeout is not None:  # a model saved before "ended" existed
        lines.append("The search did not stop early.")
    cost = getattr(clf, "cost_model_", None) or {}
    if cost.get("fold_ratios"):
        lines.append(
            "Cost model, measured / predicted seconds of a fold: median "
            f"{cost['fold_ratio_median']:.2f}, 90th percentile "
            f"{cost['fold_ratio_p90']:.2f} ({len(cost['fold_ratios'])} folds)."
        )
    refit_rows = getattr(clf, "refit_rows_", None)
    if refit_rows is not None:
        steps = cost.get("refit_steps") or ()
        lines.append(
            f"The time budget afforded the refit on {len(refit_rows):,} rows "
            "(refit_rows_, a stratified subsample with the data's class shares), "
            f"not every row, in {len(steps)} step(s) of "
            + ", ".join(f"{r:,}" for r, _ in steps)
            + " rows."
        )
    paragraphs = "".join(f"<p>{_text(line)}</p>" for line in lines)
    return f"<h2>Search progress</h2>{_table(frame)}{paragraphs}"


def _nested_section(nested):
    summary = nested.summary()
    frame = nested.to_frame()
    auc = summary.loc["roc_auc"]
    line = (
        f"Over {len(frame)} outer folds, the whole search scored ROC AUC "
        f"{auc['mean']:.3f} (std {auc['std']:.3f}, corrected standard error "
        f"{auc['std_error']:.3f}) on data it never saw"
    )
    if "none_mean" in summary:
        line += (
            f"; the none baseline on the same folds scored {auc['none_mean']:.3f} "
            f"(std {auc['none_std']:.3f}). The chosen setup was better in "
            f"{int(auc['wins'])} of {len(frame)} folds, paired p = "
            f"{auc['p_value']:.3g} ({summary.attrs['test']})"
        )
    return (
        "<h2>Nested cross-validation</h2>"
        f"<p>{_text(line)}.</p>"
        f"{_table(summary)}"
        "<h3>Selection stability</h3>"
        f"{_table(nested.selection_stability)}"
        "<h3>Outer folds</h3>"
        f"{_table(frame.drop(columns=['score_time'], errors='ignore'))}"
    )


def report(
    estimator,
    path,
    X=None,
    y=None,
    *,
    sample_weight=None,
    nested=None,
    title=None,
    n_jobs=None,
):
    """Write one self-contained HTML report of a fitted search.

    The file holds the data summary (rows, classes, imbalance ratio), the
    chosen setup, the search's progress (``search_progress_``: the best
    scores by share of the budget, whether it stopped early, the trials by
    why they stopped, the rows of its full-fidelity folds and the cost
    model's accuracy), the :func:`leaderboard`, the technique comparison and
    optimisation history plots and, when ``X, y`` are given, ROC,
    precision-recall and reliability curves of the chosen setup against
    ``none`` from out-of-fold predictions. With ``nested`` (a
    :class:`NestedCVResult`), the nested estimate, its spread, the paired
    comparison with ``none`` and the selection stability. Plots are PNGs
    embedded in the page, so the file can be mailed or archived alone.

    The file is written to a temporary file next to ``path`` and renamed, so
    an existing report is never left half-written.

    Parameters
    ----------
    estimator : AutoBalancedClassifier
        A fitted search.
    path : str or path-like
        Where to write the HTML file; its folder must exist.
    X, y : array-like or None, default=None
        The data ``estimator`` was fitted on, for the out-of-fold curves.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        The sample weights ``estimator`` was fitted with, with ``X, y``: the
        out-of-fold models are fitted with them and the curves weigh each
        row by its weight (:func:`out_of_fold_predictions`). An estimator
        fitted with weights whose report gets none warns, and the report
        says its curves are unweighted.
    nested : NestedCVResult or None, default=None
        From :func:`nested_cross_validate`.
    title : str or None, default=None
        Page title.
    n_jobs : int or None, default=None
        Folds fitted in parallel for the out-of-fold predictions.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from autobalance import AutoBalancedClassifier, report
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = AutoBalancedClassifier(LogisticRegression(), n_trials=4, cv=3,
    ...                              random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = report(clf, os.path.join(tmp, "report.html"), X, y)
    ...     "<table" in out.read_text()
    True
    """
    from .._evaluation import NestedCVResult

    check_search(estimator, "report")
    path = Path(os.fspath(path))
    if path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder {str(path.parent)!r} does not exist; create it first."
        )
    if nested is not None and not isinstance(nested, NestedCVResult):
        raise TypeError(
            "nested must be the result of nested_cross_validate; got "
            f"{type(nested).__name__}."
        )
    if (X is None) != (y is None):
        raise ValueError("Give both X and y (the training data of fit), or neither.")
    if sample_weight is not None and X is None:
        raise ValueError(
            "sample_weight weighs the out-of-fold curves, which need X and y; "
            "give X, y (the training data of fit) with it, or leave it out."
        )
    _check_matplotlib("report")

    name = title or "autobalance report"
    board = leaderboard(estimator)
    oof = (
        None
        if X is None
        else out_of_fold_predictions(
            estimator, X, y, sample_weight=sample_weight, n_jobs=n_jobs
        )
    )

    figures = [
        _figure(
            _png(TechniqueComparisonDisplay, estimator),
            "Fold-by-fold scores of each technique's best trial",
        ),
        _figure(_png(OptimizationHistoryDisplay, estimator), "Optimisation history"),
    ]
    if oof is not None:
        for cls, caption in (
            (ROCComparisonDisplay, "ROC curves, chosen setup vs none"),
            (PrecisionRecallComparisonDisplay, "Precision-recall, chosen vs none"),
        ):
            figures.append(_figure(_png(cls, oof, _factory="from_oof"), caption))
        reliability = _png(
            ReliabilityDisplay, oof, _factory="from_oof", estimator=estimator
        )
        figures.append(
            _figure(reliability, "Reliability: what predict_proba returns, vs none")
        )
        curves_note = (
            '<p class="note">The curves use out-of-fold predictions on the '
            "search's own folds; the chosen setup was selected on them, so its "
            "curve is somewhat optimistic. The reliability curve of the chosen "
            "setup shows what predict_proba returns: the out-of-fold "
            "probabilities after the correction the model applies "
            f"({_text(estimator.calibration_['method'])}), with the raw ones "
            "(before correction) dashed beside them when they differ. "
            f"{_text(_weighting_note(estimator, oof))}</p>"
        )
    else:
        curves_note = (
            '<p class="note">Pass X and y to add ROC, precision-recall and '
            "reliability curves.</p>"
        )

    from .._version import __version__

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_text(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_text(name)}</h1>",
        _data_section(estimator),
        _chosen_section(estimator),
        _progress_section(estimator),
        "<h2>Leaderboard</h2>",
        '<p class="note">One row per technique (its best completed trial). '
        "diff_vs_none and p_value compare its fold scores with the best none trial "
        f"on the same folds ({_text(board.attrs['test'])}; not corrected for "
        "multiple comparisons).</p>",
        _table(board),
        "<h2>Plots</h2>",
        curves_note,
        *figures,
    ]
    if nested is not None:
        parts.append(_nested_section(nested))
    parts.append(
        f'<p class="note">Written by autobalance {_text(__version__)}.</p>'
        "</body></html>"
    )
    with atomic_path(path) as tmp:
        Path(tmp).write_text(_scrolling_tables("\n".join(parts)), encoding="utf-8")
    return path
