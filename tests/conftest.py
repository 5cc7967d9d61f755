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
        items[:] = ci_order(items)
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config.stash[_SLOW_DESELECTED] = len(slow)


_SLOW_DESELECTED = pytest.StashKey[int]()


LONG_SECONDS = 60.0
"""A test declaring at least this long (the matrices) holds its worker for most of the run."""

FILLERS = 16
"""Quick tests put right behind the long ones: pytest-xdist (``--dist loadgroup``) hands each worker
a second test before its first is done, and the one behind a matrix waits for the matrix's end. A
quick one there costs nothing; a slow one waited 300 s to start and then held the run's end (with
4 workers, the tests at positions 5 and 6 land there; 16 covers up to 16 workers)."""


def ci_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """The order of a run with the slow tests: the long ones, quick fillers, the other slow tests
    (the longest declared first, the rest in file order), then the other quick tests.

    The fillers are the last quick tests in collection order (today the vectors' and the xdist
    controller's unit tests, each a few milliseconds): an unmarked test at the top of the
    collection may still start a subprocess."""
    slow = sorted((i for i in items if i.get_closest_marker("slow")), key=expected_seconds, reverse=True)
    quick = [i for i in items if not i.get_closest_marker("slow")]
    long = [i for i in slow if expected_seconds(i) >= LONG_SECONDS]
    rest = [i for i in slow if expected_seconds(i) < LONG_SECONDS]
    fillers = quick[-FILLERS:] if len(quick) > FILLERS else []
    return long + fillers + rest + quick[:len(quick) - len(fillers)]


def expected_seconds(item: pytest.Item) -> float:
    """``@pytest.mark.slow(seconds=N)``: roughly how long the test takes; 0 when unmarked.

    The longest go first, so under pytest-xdist with ``--dist loadgroup`` (every test its own work
    unit, handed out in this order as workers free up) the matrices start at once on different
    workers and the short tests fill in around them. A test that mostly waits on a clock declares
    its seconds too, so it starts beside the matrices instead of at the end, where its waiting
    would hold the run open with the cores idle. Plain ``--dist load`` hands out chunks: both
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
