"""Would more data help? The minority learning curve (issue 7)."""

import math

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from autobalance import AutoBalancedClassifier, minority_learning_curve


@pytest.fixture(scope="module")
def learnable():
    """Many features for few positives: the model still learns with more."""
    return make_classification(
        n_samples=1200,
        n_features=30,
        n_informative=8,
        weights=[0.92],
        flip_y=0,
        class_sep=1.0,
        random_state=1,
    )


def test_curve_rises_where_more_positives_help(learnable):
    X, y = learnable
    curve = minority_learning_curve(
        LogisticRegression(), X, y, n_repeats=2, cv=3, random_state=0
    )
    assert curve.scores.shape == (4, 6)
    assert np.all(np.diff(curve.n_minority) > 0)
    assert np.all(np.diff(curve.mean) > -0.005)  # non-decreasing within noise
    assert curve.mean[-1] - curve.mean[0] > 0.02
    assert curve.gain > 0
    assert curve.gain_low <= curve.gain <= curve.gain_high
    assert curve.n_minority_total == int(np.sum(y == 1))
    assert curve.sentence.startswith(
        f"Collecting about {curve.n_minority_total} more positives"
    )
    assert "ROC AUC" in curve.sentence


def test_curve_is_flat_without_signal(learnable):
    X, _ = learnable
    y = np.random.default_rng(0).random(len(X)) < 0.08
    curve = minority_learning_curve(
        LogisticRegression(), X, y, n_repeats=2, cv=3, random_state=0
    )
    assert np.all(np.abs(curve.mean - 0.5) < 0.1)
    assert abs(curve.gain) < 0.05
    assert curve.gain_low < 0 < curve.gain_high
    assert not curve.helps
    assert "unlikely to help" in curve.sentence


def test_curve_of_a_fitted_search_plots_and_tabulates(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    X, y = make_classification(n_samples=300, weights=[0.85], random_state=0)
    clf = AutoBalancedClassifier(
        LogisticRegression(), n_trials=2, cv=3, random_state=0
    ).fit(X, y)
    curve = minority_learning_curve(clf, X, y, n_repeats=2, random_state=0)
    # The search's 3 folds (not the default 5), twice.
    assert clf.n_splits_ == 3
    assert curve.scores.shape == (4, 2 * 3)
    # n_minority: the share of each training fold's minority rows, rounded
    # up, averaged over the folds (stratified folds hold fixed class counts).
    train_minority = [
        np.sum(y[train] == 1) for train, _ in StratifiedKFold(3).split(X, y)
    ]
    expected = [
        np.mean([max(2, math.ceil(f * n)) for n in train_minority])
        for f in curve.fractions
    ]
    np.testing.assert_allclose(curve.n_minority, expected)
    assert curve.n_minority[-1] == pytest.approx(np.sum(y == 1) * 2 / 3)
    # With every minority row the chosen setup scores like in the search.
    assert curve.current == pytest.approx(curve.scores[-1].mean())
    assert abs(curve.current - clf.best_score_) < 0.05
    # The table holds the same numbers, each under its fraction and unit.
    frame = curve.to_frame()
    assert set(frame.columns) == {"fraction", "n_minority", "repeat", "fold", "score"}
    assert len(frame) == 4 * 6
    for row in frame.itertuples():
        i = int(np.flatnonzero(curve.fractions == row.fraction)[0])
        assert row.n_minority == curve.n_minority[i]
        assert row.score == curve.scores[i, row.repeat * 3 + row.fold]
    assert sorted(set(zip(frame["repeat"], frame["fold"], strict=True))) == [
        (r, f) for r in range(2) for f in range(3)
    ]
    ax = curve.plot()
    path = tmp_path / "curve.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_smote_neighbours_shrink_with_few_positives():
    X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    pipe = make_pipeline(SMOTE(k_neighbors=10, random_state=0), LogisticRegression())
    curve = minority_learning_curve(
        pipe, X, y, fractions=(0.2, 1.0), n_repeats=1, cv=3, random_state=0
    )
    assert not np.isnan(curve.scores).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fractions": (0.5,)}, "at least two increasing"),
        ({"fractions": (0.5, 0.25)}, "at least two increasing"),
        ({"fractions": (0.5, 1.5)}, "at least two increasing"),
        ({"n_repeats": 0}, "n_repeats"),
        ({"cv": 1}, "cv"),
    ],
)
def test_bad_arguments(kwargs, match):
    X, y = make_classification(n_samples=100, weights=[0.8], random_state=0)
    with pytest.raises(ValueError, match=match):
        minority_learning_curve(LogisticRegression(), X, y, **kwargs)


def test_unfitted_search_and_multiclass_are_rejected():
    X, y = make_classification(
        n_samples=150, n_classes=3, n_informative=3, random_state=0
    )
    with pytest.raises(ValueError, match="not fitted"):
        minority_learning_curve(AutoBalancedClassifier(), X, y)
    with pytest.raises(ValueError, match="binary target"):
        minority_learning_curve(LogisticRegression(), X, y)
    with pytest.raises(ValueError, match="too few"):
        minority_learning_curve(
            LogisticRegression(), X[:30], (np.arange(30) < 3).astype(int), cv=5
        )
