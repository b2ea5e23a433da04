"""The starting configurations learned across datasets: the shipped file,
its loader against the space, and its place in the wheel (issue 17)."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sklearn.datasets import make_classification

from autobalance import AutoBalancedClassifier
from autobalance._guard import GUARD_PATH
from autobalance._plan import build_plan
from autobalance._portfolio import (
    PORTFOLIO_PATH,
    active_portfolio,
    config_of,
    portfolio_configs,
    read_portfolio,
    using_portfolio,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def space():
    X, y = make_classification(
        n_samples=200, n_features=6, weights=[0.85], random_state=0
    )
    return build_plan(AutoBalancedClassifier(random_state=0, cv=3), X, y).space


def _write(tmp_path, configs):
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps({"format": 1, "configs": configs, "provenance": {}}))
    return path


def test_loader_keeps_what_the_space_holds_and_says_why_it_skips(space, tmp_path):
    path = _write(
        tmp_path,
        [
            {
                "technique": "balanced_class_weight",
                "algorithm": "logistic_regression",
                "params": {"model__C": 0.1},
            },
            {"technique": "no_such_technique", "algorithm": "extra_trees"},
            {"technique": "none", "algorithm": "no_such_model"},
            {
                "technique": "none",
                "algorithm": "logistic_regression",
                "params": {"model__tol": 0.1},
            },
            {
                "technique": "none",
                "algorithm": "logistic_regression",
                "params": {"model__C": 1e6},
            },
            {
                "technique": "none",
                "algorithm": "extra_trees",
                "params": {"model__max_features": "log2"},
            },
            {"technique": "balanced_random_forest", "algorithm": None},
            {"technique": "none", "algorithm": "logistic_regression", "params": 3},
        ],
    )
    configs, skipped = portfolio_configs(space, path)
    assert [(c.technique, c.algorithm) for c in configs] == [
        ("balanced_class_weight", "logistic_regression"),
        ("balanced_random_forest", None),
    ]
    assert configs[0].params == {"logistic_regression__model__C": 0.1}
    reasons = [reason for _, reason in skipped]
    assert len(reasons) == 6
    assert "'no_such_technique' is not in the space" in reasons[0]
    assert "'no_such_model' is not paired" in reasons[1]
    assert "does not search 'model__tol'" in reasons[2]
    assert "outside [0.001, 100.0]" in reasons[3]
    assert "'log2' is not one of" in reasons[4]
    assert "'params' must be a dict" in reasons[5]
    # What is kept builds the search's pipeline with the learned value.
    model = space.build(configs[0])
    assert model.get_params()["model__C"] == 0.1


def test_technique_parameters_take_the_space_defaults(space):
    config, reason = config_of(space, "smote", "extra_trees", {})
    assert reason is None
    assert config == space.default_config("smote", "extra_trees")


def test_shipped_portfolio_applies_whole_to_dense_numeric_data(space):
    payload = read_portfolio()
    assert payload["provenance"]["learned_from"], "provenance names the datasets"
    configs, skipped = portfolio_configs(space)
    assert not skipped
    assert len(configs) == len(payload["configs"]) >= 1


def test_a_file_without_configs_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "portfolio.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match=r"build_portfolio\.py learn --write"):
        read_portfolio(path)


@pytest.mark.slow
def test_the_wheel_contains_the_portfolio(tmp_path):
    # Build from a copy: an in-tree build would leave build/ and egg-info.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "autobalance",
        src / "autobalance",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", out],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("autobalance-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "autobalance/data/portfolio.json" in names
    shipped = json.loads(zipfile.ZipFile(wheel).read("autobalance/data/portfolio.json"))
    assert shipped == json.loads(PORTFOLIO_PATH.read_text())
    # The small-data guard is learned data too (autobalance/_guard.py).
    guard = json.loads(
        zipfile.ZipFile(wheel).read("autobalance/data/selection_guard.json")
    )
    assert guard == json.loads(GUARD_PATH.read_text())


# -- the default search's first trials -------------------------------------------
EVERY_MODEL = {
    "logistic_regression",
    "extra_trees",
    "hist_gradient_boosting",
    "balanced_random_forest",
}


def _data():
    return make_classification(
        n_samples=150, n_features=5, weights=[0.8], random_state=1
    )


def _covered(configs):
    return {c.algorithm or c.technique for c in configs}


def _plan(est, portfolio=None):
    X, y = _data()
    if portfolio is None:
        return build_plan(est, X, y)
    with using_portfolio(portfolio):
        return build_plan(est, X, y)


def test_default_search_starts_with_the_learned_then_every_model(tmp_path):
    path = _write(
        tmp_path,
        [
            {"technique": "smote", "algorithm": "extra_trees"},
            {"technique": "no_such_technique", "algorithm": "extra_trees"},
            {
                "technique": "balanced_class_weight",
                "algorithm": "logistic_regression",
                "params": {"model__C": 0.1},
            },
            {
                "technique": "none",
                "algorithm": "extra_trees",
                "params": {"model__min_samples_leaf": 3},
            },
        ],
    )
    plan = _plan(AutoBalancedClassifier(random_state=0, cv=3), path)
    space = plan.space
    first = [
        config_of(space, "smote", "extra_trees", {})[0],
        config_of(
            space, "balanced_class_weight", "logistic_regression", {"model__C": 0.1}
        )[0],
        config_of(space, "none", "extra_trees", {"model__min_samples_leaf": 3})[0],
    ]
    # Learned first, in order; then what none of them covers, from today's
    # starting configurations: boosting with balanced weights, the forest.
    assert list(plan.starting_configs) == [
        *first,
        space.default_config("balanced_class_weight", "hist_gradient_boosting"),
        space.default_config("balanced_random_forest"),
    ]
    # The configuration the space cannot hold is left out, with the reason.
    ((entry, reason),) = plan.starting_skipped
    assert entry["technique"] == "no_such_technique"
    assert "is not in the space" in reason


def test_without_the_hook_the_default_search_starts_as_before():
    # The learned starting points are not the default yet (they lost on the
    # first outer folds of the public suite): no portfolio is active.
    assert active_portfolio() is None
    plan = _plan(AutoBalancedClassifier(random_state=0, cv=3))
    assert list(plan.starting_configs) == plan.space.starting_configs()
    assert plan.starting_skipped == ()


def test_shipped_portfolio_starts_the_default_search_with_every_model():
    plan = _plan(AutoBalancedClassifier(random_state=0, cv=3), PORTFOLIO_PATH)
    learned, _ = portfolio_configs(plan.space)
    kept = [c for c in plan.starting_configs if c in learned]
    assert kept and list(plan.starting_configs[: len(kept)]) == learned[: len(kept)]
    assert _covered(plan.starting_configs) >= EVERY_MODEL
    assert len(plan.starting_configs) <= len(plan.space.starting_configs()) + 2


def test_a_long_portfolio_is_cut_to_keep_every_model(tmp_path):
    path = _write(
        tmp_path,
        [
            {
                "technique": "none",
                "algorithm": "extra_trees",
                "params": {"model__min_samples_leaf": leaf},
            }
            for leaf in range(1, 13)
        ],
    )
    plan = _plan(AutoBalancedClassifier(random_state=0, cv=3), path)
    today = plan.space.starting_configs()
    assert len(plan.starting_configs) == len(today) + 2
    assert _covered(plan.starting_configs) >= EVERY_MODEL
    # 9 = 6 learned + LR, boosting, forest: the other 6 are dropped, and said so.
    learned = [c for c in plan.starting_configs if c.algorithm == "extra_trees"]
    assert [c.params["extra_trees__model__min_samples_leaf"] for c in learned] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert len(plan.starting_skipped) == 6
    assert all("over the budget of 9" in why for _, why in plan.starting_skipped)


def test_a_search_the_user_shaped_keeps_the_baseline_starting_configs(tmp_path):
    from optuna.distributions import FloatDistribution
    from sklearn.linear_model import LogisticRegression

    path = _write(tmp_path, [{"technique": "smote", "algorithm": "extra_trees"}])
    for est in (
        AutoBalancedClassifier(LogisticRegression(), random_state=0, cv=3),
        AutoBalancedClassifier(techniques=["none", "smote"], random_state=0, cv=3),
        AutoBalancedClassifier(
            param_distributions={
                "logistic_regression": {
                    "model__C": FloatDistribution(1e-2, 1e2, log=True)
                }
            },
            random_state=0,
            cv=3,
        ),
    ):
        plan = _plan(est, path)
        assert list(plan.starting_configs) == plan.space.starting_configs()
        assert not plan.starting_skipped


def test_the_search_runs_the_starting_configs_first(tmp_path):
    path = _write(
        tmp_path,
        [
            {
                "technique": "balanced_class_weight",
                "algorithm": "logistic_regression",
                "params": {"model__C": 0.1},
            },
            {"technique": "smote", "algorithm": "extra_trees"},
        ],
    )
    X, y = _data()
    with using_portfolio(path):
        clf = AutoBalancedClassifier(
            random_state=0, cv=3, n_trials=3, ensemble=False
        ).fit(X, y)
    params = clf.cv_results_["params"]
    assert [(p["technique"], p["algorithm"]) for p in params[:3]] == [
        ("balanced_class_weight", "logistic_regression"),
        ("smote", "extra_trees"),
        ("balanced_class_weight", "hist_gradient_boosting"),
    ]
    assert params[0]["logistic_regression__model__C"] == 0.1


def test_using_portfolio_restores_the_path_even_on_error(tmp_path):
    path = _write(tmp_path, [{"technique": "smote", "algorithm": "extra_trees"}])
    with pytest.raises(RuntimeError, match="boom"), using_portfolio(path):
        assert read_portfolio()["configs"] == [
            {"technique": "smote", "algorithm": "extra_trees"}
        ]
        raise RuntimeError("boom")
    assert active_portfolio() is None
    assert read_portfolio() == json.loads(PORTFOLIO_PATH.read_text())
    with pytest.raises(FileNotFoundError, match="--lodo-dir"):
        using_portfolio(tmp_path / "missing.json").__enter__()
    assert active_portfolio() is None
