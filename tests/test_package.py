"""The package's import surface: public names resolve lazily and the command
line starts without importing the scientific stack."""

import subprocess
import sys

import pytest

import autobalance


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()


def test_import_does_not_load_the_scientific_stack():
    heavy = ["sklearn", "imblearn", "optuna", "scipy", "pandas"]
    code = (
        "import sys, autobalance, autobalance.cli\n"
        f"print(*[m for m in {heavy!r} if m in sys.modules])"
    )
    assert _run(code) == []


def test_first_use_of_a_public_name_imports_its_module():
    code = (
        "import sys, autobalance\n"
        "autobalance.AutoBalancedClassifier\n"
        "print('sklearn' in sys.modules, 'autobalance._classifier' in sys.modules)"
    )
    assert _run(code) == ["True", "True"]


@pytest.mark.parametrize("name", autobalance.__all__)
def test_every_public_name_resolves(name):
    assert getattr(autobalance, name) is not None
    assert name in dir(autobalance)


def test_star_import_gives_every_public_name():
    namespace = {}
    exec("from autobalance import *", namespace)
    assert set(autobalance.__all__) <= set(namespace)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'AutoBalanced'"):
        autobalance.AutoBalanced  # noqa: B018
