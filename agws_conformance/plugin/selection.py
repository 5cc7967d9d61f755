"""A partial run is not a verdict: tell which suite tests a run left out, however it was told to.

Three ways drop suite tests, and each is seen differently:

- a ``pytest_deselected`` hook (-k, -m, --deselect, --lf, --agws-requirement, any plugin's own);
- suite files never collected: a subset of ``suites`` named on the command line, ``--ignore``,
  --lf's skipped files. The full set is the listing of the checkout's ``suites`` folder (every
  ``test_*.py`` under it); the check applies only to a run that collected a test from it (a
  custom suite elsewhere is not "the suite");
- node IDs on the command line (``suites/test_x.py::test_y``): pytest collects the rest of the
  file without deselecting it, so the arguments themselves say it.

A selection that keeps every test (``--ff``, ``-p no:randomly``) is not partial. What is found
goes into ``Run.selection`` (``state.Selection``); the verdict and the gate read it from there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agws_conformance.report.identity import suite_root
from agws_conformance.state import Selection


class SuiteSelection:
    """Registered per run (``pytest_configure``); fills ``selection`` in each process that collects."""

    def __init__(self, config: pytest.Config, selection: Selection) -> None:
        self.config = config
        self.selection = selection
        self.covered: set[Path] = set()  # files the run collected a test from (or that skipped themselves)
        self._seen: set[Path] = set()  # item.path as given: resolved once per file, not once per test

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.selection.note_deselected([i.nodeid for i in items if "agws" in getattr(i, "fixturenames", ())])

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        # Before any selection: a test deselected later still says its file was collected.
        if item.path not in self._seen:
            self._seen.add(item.path)
            self.covered.add(Path(item.path).resolve())

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A file that skips itself as a whole (pytest.skip at module level) ran as far as it could.
        # (--lf's skipped files report "passed" with no tests: not run.)
        if report.skipped and "::" not in report.nodeid and report.nodeid.endswith(".py"):
            self.covered.add((self.config.rootpath / report.nodeid).resolve())

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        suites = suite_root(self.config.rootpath) / "suites"
        if not suites.is_dir():
            return
        full = {p.resolve() for p in suites.rglob("test_*.py") if "__pycache__" not in p.parts}
        if not full & self.covered:
            return  # not the conformance suite (a custom suite, the project's own tests)
        self.selection.files_not_run = sorted(p.relative_to(suites.parent).as_posix() for p in full - self.covered)
        here = self.config.invocation_params.dir
        self.selection.node_ids = [arg for arg in map(str, self.config.args)
                                   if "::" in arg and (here / arg.split("::")[0]).resolve() in full]
