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
from autobalance._plan import build_plan
from autobalance._portfolio import (
    PORTFOLIO_PATH,
    config_of,
    portfolio_configs,
    read_portfolio,
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
