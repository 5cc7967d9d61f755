"""The report plugin: wires pytest-html, the JSON summary and the run identity into pytest.

Registered by the main plugin (``register_report``); it only reads what the main plugin recorded
(``report.agws`` payloads, ``Results``, ``Run``), so the numbers in the terminal, the HTML and the
JSON are the same numbers.
"""

from __future__ import annotations

import dataclasses
import html as _html
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from agws_conformance.catalogue import load_catalogue
from agws_conformance.results import Results
from agws_conformance.state import HARNESS_PHASE, RESULTS_KEY, RUN_KEY, SUMMARY_KEY
from agws_conformance.transcript import redact_deep

if TYPE_CHECKING:
    from agws_conformance.plugin.run import Run

from . import html as fragments
from .identity import run_identity
from .summary import (checked_summary, final_summary, mock_words, partial_reason, usage_fix, usage_summary,
                      verdict_words, write_summary)

REPORTED_METADATA = frozenset({"Python", "Packages", "Plugins"})
"""pytest-metadata entries the HTML report keeps by default (no platform, host or CI details)."""
_RANK = {"error": 0, "failed": 1, "warn": 2, "skipped": 3, "passed": 4}
"""Worst first: the phase whose outcome stands for the whole test."""


def _stash(config: pytest.Config) -> tuple[Run, Results]:
    return config.stash[RUN_KEY], config.stash[RESULTS_KEY]


def _sanitize(value: Any, redact: Any) -> Any:
    """pytest-html renders the environment table with innerHTML: escape and redact its values."""
    if isinstance(value, dict):
        return {_html.escape(redact(str(k))): _sanitize(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v, redact) for v in value]
    return _html.escape(redact(str(value)))


def redacted_results(results: Results, redact: Any) -> Results:
    """A copy of ``results`` with every text redacted once more before it is published.

    Exchanges are redacted at capture, but finding messages quote response bodies, and a target
    that echoes the secret must not get it into a partner's report through them.
    """
    out = Results()
    out.tests = {key: dataclasses.replace(t, findings=redact_deep(t.findings, redact),
                                          exchanges=redact_deep(t.exchanges, redact),
                                          harness=redact(t.harness) if t.harness else t.harness,
                                          message=redact(t.message), nodeid=redact(t.nodeid))
                 for key, t in results.tests.items()}
    return out


def _has_a_row(payload: dict[str, Any], outcome: str) -> bool:
    """Whether a test is a row of the results table: it failed, warned, hit harness trouble, or
    passed with an INFO observation to report (the soak's statistics, a variant detected). A plain
    pass or a skip is listed in the summary instead (html.listed_tests)."""
    return (outcome in ("failed", "error", "warn") or bool(payload.get("harness"))
            or any(f.get("outcome") == "info" for f in payload.get("findings") or ()))


def skip_reason(report: pytest.TestReport) -> str:
    """A skip's reason as its words: no suite file path, no line number, no "Skipped:" prefix."""
    longrepr = report.longrepr
    words = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
    return words.removeprefix("Skipped: ")


class ReportHooks:
    """HTML report hooks (pytest-html 4.x) and the ``--agws-json`` summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.budget = fragments.TranscriptBudget()
        self._payloads: dict[str, list[tuple[pytest.TestReport, dict[str, Any]]]] = defaultdict(list)
        self._harness: dict[str, pytest.TestReport] = {}
        self._html_data: Any = None
        self._left_out: dict[str, int] = defaultdict(int)

    # -- configuration ------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        # A partner gets one file: no assets/ folder next to it. This runs while the main plugin's
        # tryfirst pytest_configure registers us, before pytest-html reads its public option.
        if getattr(config.option, "htmlpath", None):
            config.option.self_contained_html = True

    def _rerun_options(self) -> list[str]:
        run, _ = _stash(self.config)
        opts = run.target_options()
        seed = run.settings.hypothesis_seed
        if seed is not None:
            opts.append(f"--hypothesis-seed={seed}")
        return [run.redactor.redact(o) for o in opts]

    # -- per test ----------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Iterator[None]:
        if hasattr(self.config, "workerinput"):
            # An xdist worker: the controller writes the reports from the reports it receives;
            # details attached here would travel with the report and be attached twice.
            return (yield)
        payload = getattr(report, "agws", None)
        if payload:
            self._payloads[report.nodeid].append((report, payload))
        if report.when == HARNESS_PHASE:
            self._harness[report.nodeid] = report
        harness = None
        if report.when == "teardown":
            self._junit_properties(report)
            self._attach_details(report)
            # pytest-html shows only setup/call/teardown rows; show harness trouble as an error row
            # for the duration of its processing (JUnit and the terminal already saw "harness").
            harness = self._harness.pop(report.nodeid, None)
            if harness is not None:
                harness.when = "setup"
        try:
            return (yield)
        finally:
            if harness is not None:
                harness.when = HARNESS_PHASE  # type: ignore[assignment]

    def _junit_properties(self, teardown: pytest.TestReport) -> None:
        """JUnit writes a test's <properties> from its teardown report: put the requirement IDs,
        the target and the AGWS result there (once each), whichever phase recorded them."""
        entries = self._payloads.get(teardown.nodeid, [])
        if not entries:
            return
        worst = min((p.get("outcome") or r.outcome for r, p in entries), key=lambda o: _RANK.get(o, 5))
        wanted: list[tuple[str, object]] = []
        for _, payload in entries:
            wanted += [("requirement", r) for r in payload.get("requirements") or []]
            # The rules whose violation failed it (the first "requirement" is not necessarily one).
            wanted += [("failed_requirement", r) for r in payload.get("failed_requirements") or []]
            if payload.get("target"):
                wanted.append(("agws_target", payload["target"]))
        wanted.append(("agws_result", worst))
        present = {(k, str(v)) for k, v in teardown.user_properties}
        has_result = any(k == "agws_result" for k, _ in teardown.user_properties)
        for name, value in dict.fromkeys(wanted):
            if (name, str(value)) in present or (name == "agws_result" and has_result):
                continue
            teardown.user_properties.append((name, value))

    def _attach_details(self, teardown: pytest.TestReport) -> None:
        """A failed, warned or erroring test's details (findings, re-run command, transcript) in
        its row. A passed or skipped test gets none: its findings and exchanges are in the JSON
        summary, its re-run command is the pattern stated once under the banner, and leaving them
        out keeps the page small enough to open and send (issue 26)."""
        entries = self._payloads.pop(teardown.nodeid, [])
        if not entries or not getattr(self.config.option, "htmlpath", None):
            return
        from pytest_html import extras

        report, payload = min(entries, key=lambda e: (_RANK.get(e[1].get("outcome") or "", 5), e[0].when != "call"))
        outcome = payload.get("outcome") or report.outcome
        run, _ = _stash(self.config)
        if not _has_a_row(payload, outcome) and run.settings.transcripts != "all":
            return
        payload = redact_deep(payload, run.redactor.redact)
        details = fragments.details_html(
            payload, outcome=outcome, catalogue=load_catalogue(),
            rerun=fragments.rerun_command(teardown.nodeid, self._rerun_options()),
            show_transcript=run.settings.transcripts == "all" or outcome in ("failed", "error", "warn"),
            budget=self.budget)
        teardown.extras = [*getattr(teardown, "extras", []), extras.html(details)]  # type: ignore[attr-defined]

    # -- pytest-html ---------------------------------------------------------------------------
    def pytest_html_report_title(self, report: Any) -> None:
        report.title = "AGWS conformance report"
        self._html_data = report

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, "<th>Requirements</th>")
        cells.insert(3, "<th>Expected vs observed</th>")

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        run, _ = _stash(self.config)
        payload = redact_deep(getattr(report, "agws", None) or {}, run.redactor.redact)
        # pytest-html puts the node ID in unescaped; parametrize IDs come from target files.
        label = report.nodeid + (" (harness error)" if payload.get("harness") else
                                 f"::{report.when}" if report.when not in ("call", HARNESS_PHASE) else "")
        outcome = payload.get("outcome") or report.outcome
        if not _has_a_row(payload, outcome) and (report.passed or report.skipped) \
                and run.settings.transcripts != "all":
            # A passed or skipped test is listed in the summary ("Tests passed", "Tests skipped" by
            # reason), not as a row here: each row costs about a kilobyte of escaped JSON, and the
            # table then holds what needs a look (html.listed_tests).
            cells.clear()
            self._left_out[outcome] += 1
            return
        fallback = skip_reason(report) if report.skipped else ""
        if report.failed:
            lines = [ln[2:] for ln in str(report.longreprtext).splitlines() if ln.startswith("E ")]
            fallback = lines[0].strip() if lines else str(report.longreprtext).strip().splitlines()[-1:][0] \
                if str(report.longreprtext).strip() else ""
        sentence, cut = fragments.clip(run.redactor.redact(fragments.expected_observed(payload, outcome, fallback)), 300)
        mark = fragments.chip("WARN", "warn") + " " if outcome == "warn" else ""
        chips = fragments.row_chips(payload.get("requirements") or [], payload.get("failed_requirements") or [])
        # Attributes unquoted where HTML allows it: every row travels JSON-escaped inside one
        # attribute of the page, where each quote costs six characters.
        cells[:] = [fragments.compact_cell(c) for c in cells]
        cells[1] = f"<td class=col-testId>{fragments.text(label)}</td>"
        cells.insert(2, f"<td class=col-requirements>{chips}</td>")
        cells.insert(3, f"<td class=col-observed>{mark}{fragments.text(sentence)}{'…' if cut else ''}</td>")

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        """The log under a row: a skip's reason as its text (pytest-html would show Python's tuple of
        the suite file's absolute path, a line number and the text); nothing for a passed test."""
        if report.skipped:
            data[:] = [_html.escape(skip_reason(report))]
        elif report.passed:
            data.clear()

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str],
                                    session: pytest.Session) -> None:
        run, results = _stash(session.config)
        if run.usage_error and not results.tests:
            # The run stopped before any test: the page is the error and its fix, nothing that
            # could read like a verdict (issue 26).
            error = run.redactor.redact(run.usage_error)
            prefix.insert(0, fragments.usage_banner(error, usage_fix(error)))
            if self._html_data is not None:
                self._html_data.title = "AGWS conformance report: USAGE ERROR, no test ran"
            self._sanitize_environment(session.config, run.redactor.redact)
            return
        catalogue = load_catalogue()
        identity = run_identity(run, session.config, catalogue)
        published = redacted_results(results, run.redactor.redact)
        document = final_summary(published, identity, catalogue)
        prefix.insert(0, fragments.summary_block(published, identity, catalogue, document, self._rerun_options()))
        if self.budget.refused:
            prefix.insert(1, f'<p class="agws-note">{self.budget.refused} transcript(s) omitted to keep the report small.</p>')
        if self._html_data is not None:
            mock = mock_words(document)
            self._html_data.title = (f"AGWS conformance report: DEMO RUN against {mock}, not evidence about any gateway "
                                     f"({verdict_words(document)} on the mock)" if mock else
                                     f"AGWS conformance report: {verdict_words(document)}") + (
                " (partial)" if partial_reason(identity) else "")
        self._count_left_out(session.config)
        self._sanitize_environment(session.config, run.redactor.redact)

    def _count_left_out(self, config: pytest.Config) -> None:
        """pytest-html counts only the rows it was given: add the passed and skipped tests listed in the summary
        instead, so its "N Passed" and "N tests took" stay true. Its report data is not public API:
        when it is not found, the counts are only lower (the summary's own counts are exact)."""
        for plugin in config.pluginmanager.get_plugins():
            data = getattr(plugin, "_report", None)
            outcomes = getattr(data, "_outcomes", None)
            if isinstance(outcomes, dict):
                for outcome, n in self._left_out.items():
                    if isinstance(outcomes.get(outcome), dict):
                        outcomes[outcome]["value"] += n
                self._left_out.clear()

    def _sanitize_environment(self, config: pytest.Config, redact: Any) -> None:
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:  # pragma: no cover - pytest-html depends on pytest-metadata
            return
        metadata = config.stash.get(metadata_key, None)
        if metadata is not None:
            # A partner-facing report names the suite's tools, not the machine it ran on (its platform,
            # CI variables, paths), unless --agws-host-details asks for them.
            kept = dict(metadata) if getattr(config.option, "agws_host_details", False) else \
                {k: v for k, v in metadata.items() if k in REPORTED_METADATA}
            clean = _sanitize(kept, redact)
            metadata.clear()
            metadata.update(clean)

    # -- JSON summary ----------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            return
        run, results = _stash(session.config)
        if not run.settings.json_path:
            return
        if not results.tests and run.usage_error:
            # A usage error: the summary says it, so a pipeline that gates on it answers the same.
            catalogue = load_catalogue()
            empty = final_summary(Results(), run_identity(run, session.config, catalogue), catalogue)
            write_summary(run.settings.json_path, checked_summary(
                usage_summary(empty, run.redactor.redact(run.usage_error))))
            return
        if not results.tests:
            # No suite test ran (-k matched nothing): no summary, and no stale one from an earlier
            # run left at this path for a gate to pass on.
            Path(run.settings.json_path).unlink(missing_ok=True)
            return
        document = session.config.stash.get(SUMMARY_KEY, None)
        if document is None:  # the main plugin builds it at its session finish; this is only a fallback
            catalogue = load_catalogue()
            document = final_summary(redacted_results(results, run.redactor.redact),
                                     run_identity(run, session.config, catalogue), catalogue)
        write_summary(run.settings.json_path, document)

    def pytest_terminal_summary(self, terminalreporter: Any, config: pytest.Config) -> None:
        run, results = _stash(config)
        if run.settings.json_path and (results.tests or run.usage_error):
            terminalreporter.write_line(f"JSON summary: {run.settings.json_path}")
