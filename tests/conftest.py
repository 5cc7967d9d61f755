"""The project's own tests: independent of the developer's environment, quick by default.

A developer's own ``AGWS_*`` variables (a staging target, ``AGWS_STRICT=1``, a seed) would
otherwise reach the plugin runs these tests start and change their outcome; each test that needs
one sets it itself (``monkeypatch.setenv``).

Tests marked ``slow`` (the detection and false-failure matrices, negative controls, whole-run
comparisons) are deselected locally and run with ``--run-slow``, with ``-m slow``, or when the
``CI`` variable is set, as every CI service and ``.ci/run`` do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

KEPT = frozenset({"AGWS_UPDATE_GOLDEN", "AGWS_CROSSCHECK_EXAMPLES"})
"""Variables meant for the project's tests themselves."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (the default when CI is set)")


def run_slow(option: bool, markexpr: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the slow tests run: asked for by flag, by a marker expression naming them, or in CI."""
    return option or "slow" in markexpr or environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _runs_slow(config: pytest.Config) -> bool:
    return run_slow(config.getoption("--run-slow"), config.getoption("markexpr", "") or "")


def auto_workers(cores: int) -> int:
    """``-n auto`` for the project's tests: twice the cores. Much of their time is spent waiting
    (whole-suite subprocess runs on the mock's clock, payments settling, callbacks' backoff,
    timeouts): on two cores, 4 workers ran the default selection in 110 s where 2 took 150 s,
    and the CI selection (slow tests included) in 470 s."""
    return 2 * cores


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return auto_workers(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _runs_slow(config):
        items.sort(key=expected_seconds, reverse=True)  # stable: the rest keeps its order
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.stash[_SLOW_DESELECTED] = len(slow)


_SLOW_DESELECTED = pytest.StashKey[int]()


def expected_seconds(item: pytest.Item) -> float:
    """``@pytest.mark.slow(seconds=N)``: roughly how long the test takes; 0 when unmarked.

    The longest go first, so under pytest-xdist with ``--dist loadgroup`` (every test its own work
    unit, handed out in this order as workers free up) the matrices start at once on different
    workers and the short tests fill in around them. Plain ``--dist load`` hands out chunks: both
    matrices landed on one worker, and its queue could not be shared at the end."""
    mark = item.get_closest_marker("slow")
    return float(mark.kwargs.get("seconds", 1)) if mark is not None else 0.0


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if _runs_slow(config) or hasattr(config, "workerinput"):
        return
    count = config.stash.get(_SLOW_DESELECTED, 0)  # unknown under xdist: the workers collected
    if count or config.pluginmanager.hasplugin("dsession"):
        what = f"{count} slow test(s)" if count else "the slow tests"
        terminalreporter.write_line(f"{what} deselected; run them with --run-slow (CI=true does)")


@pytest.fixture(autouse=True)
def _no_agws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AGWS_") and n not in KEPT]:
        monkeypatch.delenv(name)
