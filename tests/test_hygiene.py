"""The project's tests are independent of the developer's shell and quick by default (conftest.py)."""

from __future__ import annotations

import os

import pytest

from conftest import KEPT, run_slow
from suite_runs import child_environment, run_pytest


def test_the_developers_agws_variables_do_not_reach_a_test() -> None:
    # Set by the developer's shell (or by the child run below); the autouse fixture removed them.
    assert not [n for n in os.environ if n.startswith("AGWS_") and n not in KEPT]


def test_slow_tests_run_when_asked_for_or_in_ci() -> None:
    assert run_slow(False, "", {}) is False
    assert run_slow(True, "", {}) is True
    assert run_slow(False, "slow", {}) is True and run_slow(False, "not slow", {}) is True  # -m decides then
    assert run_slow(False, "", {"CI": "true"}) is True and run_slow(False, "", {"CI": "1"}) is True
    assert run_slow(False, "", {"CI": "false"}) is False and run_slow(False, "", {"CI": ""}) is False


def test_a_child_run_gets_neither_agws_variables_nor_the_checkouts_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGWS_STRICT", "1")
    env = child_environment({"AGWS_SECRET": "given"})
    assert "AGWS_STRICT" not in env and env["AGWS_SECRET"] == "given" and "PYTHONPYCACHEPREFIX" in env


def test_agws_strict_in_the_shell_does_not_change_a_plugin_test(tmp_path) -> None:
    """The case the hygiene exists for: ``AGWS_STRICT=1 pytest tests/test_plugin.py`` used to fail."""
    done = run_pytest("tests/test_plugin.py", "-q", "-k", "should_violation", env={"AGWS_STRICT": "1"})
    assert done.returncode == 0, done.stdout[-3000:]
