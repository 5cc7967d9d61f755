"""The agws-conformance pytest plugin: options, the ``requirement`` marker, fixtures, result levels.

Hooks stay thin; the logic lives in plain modules (options, run, context, findings, results).
The plugin is inert in a session that collects no suite test: nothing is resolved, started or sent.
"""

from __future__ import annotations

import gc
from typing import Any, Callable, Generator, Iterator

import pytest

from agws_conformance.client import HarnessError
from agws_conformance.coverage import method_of
from agws_conformance.errors import did_you_mean
from agws_conformance.findings import NOT_APPLICABLE, ConformanceFailure
from agws_conformance.preflight import preflight_evidence
from agws_conformance.report import register_report
from agws_conformance.results import EXIT_INCOMPLETE, Outcome, Results, TestResult, classify, result_of
from agws_conformance.state import (CONTEXTS_KEY, EXCHANGES_KEY, FROZE_KEY, GENERATED_KEY, HARNESS_PHASE, RESULTS_KEY,
                                    RUN_KEY, SUMMARY_KEY, build_payload, observed_targets)
from agws_conformance.transcript import ExchangeLog

from .context import SIGN, Agws
from .journaling import WORKER_JOURNAL, WORKER_RUN_ID, JournalHooks
from .options import Settings, add_options, settings_from
from .run import Run
from .selection import SuiteSelection
from .workers import WORKER_OUTPUT_KEY, note_usage_error, receive_from_worker, send_to_controller

__all__ = ["SIGN", "Agws", "Run", "Settings", "RUN_KEY", "RESULTS_KEY"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# tryfirst: the report hooks must set pytest-html's --self-contained-html before pytest-html
# configures itself (its pytest_configure reads the option once).
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.add_cleanup(lambda: _unfreeze_heap(config))
    config.addinivalue_line("markers", "requirement(*ids): catalogue requirement IDs that this test judges")
    config.addinivalue_line("markers", "method(name): the endpoints.METHODS method a test without a method or "
                                       "endpoint parameter is about (the rule x method matrix)")
    config.addinivalue_line("markers", "receiver: judges an integrator's callback receiver (a [receiver] target file); "
                                       "not applicable to a gateway, as every other suite test is to a receiver")
    config.addinivalue_line("markers", "generated: explores Hypothesis-generated requests without side effects; "
                                       "under --agws-profile soak these tests run last and share the time budget")
    # Under pytest-xdist a worker knows how many share the run; a child pytest inherits only env vars.
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    settings = settings_from(config)
    if settings.profile == "soak" and (workers > 1 or getattr(config.option, "numprocesses", None)):
        raise pytest.UsageError("--agws-profile soak runs in one process (its generated tests share one time "
                                "budget, one after the other): drop -n/--numprocesses")
    workerinput = getattr(config, "workerinput", {})
    config.stash[RUN_KEY] = Run(settings, workers=workers, run_id=workerinput.get(WORKER_RUN_ID),
                                journal=workerinput.get(WORKER_JOURNAL), worker=workerinput.get("workerid", "main"))
    config.stash[RESULTS_KEY] = Results()
    config.pluginmanager.register(_Interruption(config.stash[RUN_KEY]), "agws-interruption")
    config.pluginmanager.register(JournalHooks(config.stash[RUN_KEY], config), "agws-journal")
    config.pluginmanager.register(_ResultCollector(config.stash[RESULTS_KEY]), "agws-results")
    config.pluginmanager.register(SuiteSelection(config, config.stash[RUN_KEY].selection), "agws-selection")
    register_report(config)  # HTML report, JSON summary


def _run(config: pytest.Config) -> Run:
    return config.stash[RUN_KEY]


def _target_names(run: Run) -> list[str] | None:
    try:
        return [t.name for t in run.targets()]
    except pytest.UsageError:
        return None  # reported cleanly by pytest_collection_modifyitems


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize over targets (multi-target runs) and over configured accounts and payments."""
    if "agws" not in metafunc.fixturenames:
        return
    run = _run(metafunc.config)
    names = _target_names(run)
    if names is None:
        return
    multi = len(names) > 1
    for argname, attr in (("account", "accounts"), ("payment", "payments")):
        if argname not in metafunc.fixturenames:
            continue
        params = []
        for t in run.targets():
            for entry in getattr(t, attr):
                ident = entry.username if attr == "accounts" else entry.external_id
                params.append(pytest.param(t.name, entry, id=f"{t.name}-{ident}" if multi else ident))
            if not getattr(t, attr):
                reason = f"target {t.name!r} configures no [[{attr}]]"
                if t.side == "receiver":  # a gateway test: not applicable, not missing data
                    reason = NOT_APPLICABLE + f"target {t.name!r} is a callback receiver, not a gateway"
                params.append(pytest.param(t.name, None, id=f"{t.name}-none" if multi else "none",
                                           marks=pytest.mark.skip(reason=reason)))
        metafunc.parametrize(f"agws_target_name,{argname}", params, indirect=["agws_target_name"], scope="function")
        return
    if multi:
        metafunc.parametrize("agws_target_name", names, indirect=True, scope="session")


TERMINAL_WARNINGS = 2
TERMINAL_REASONS = 6
"""The terminal names at most this many warnings and reasons; the reports have them all."""

IMPLICIT_REQUIREMENTS = ("ROB-RESPONSE-TIME",)
"""Judged by every suite test on every request it sends (``Agws.send``), so declared for each."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "agws" in getattr(item, "fixturenames", ()) and item.get_closest_marker("receiver") is None:
            item.add_marker(pytest.mark.requirement(*IMPLICIT_REQUIREMENTS))
    try:
        _select_requirements(config, items)
        _order_generated(config, items)
        if any("agws" in getattr(item, "fixturenames", ()) for item in items):
            _run(config).targets()  # raises UsageError with one clear line for a bad target config
    except pytest.UsageError as exc:
        note_usage_error(config, exc)  # an xdist worker: the controller re-raises it
        _run(config).usage_error = str(exc)  # the report and the JSON summary say it (report.hooks)
        raise


def _select_requirements(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--agws-requirement: deselect suite tests whose requirement markers match none of the patterns."""
    import fnmatch

    patterns = _run(config).settings.requirements
    if not patterns:
        return
    from agws_conformance.catalogue import load_catalogue

    known = list(load_catalogue().requirements)
    for p in patterns:
        if not fnmatch.filter(known, p):
            raise pytest.UsageError(f"--agws-requirement {p!r} matches no requirement ID in the catalogue; "
                                    f"{did_you_mean(p, known)}agws-conformance requirements lists them")
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        reqs = item_requirements(item)
        matched = not reqs or any(fnmatch.fnmatchcase(r, p) for r in reqs for p in patterns)
        (keep if matched else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _order_generated(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Soak: the generated tests run last (the fixed tests first, then the budget is spent generating)."""
    if _run(config).soak is not None:
        items.sort(key=lambda item: item.get_closest_marker("generated") is not None)  # stable


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    if any("agws" in getattr(item, "fixturenames", ()) for item in session.items):
        freeze_heap(session.config)
    run = _run(session.config)
    run.collected = sum("agws" in getattr(item, "fixturenames", ()) for item in session.items)
    generated = [item for item in session.items if item.get_closest_marker("generated") is not None]
    session.config.stash[GENERATED_KEY] = {item.nodeid: len(generated) - i for i, item in enumerate(generated)}
    if run.soak is not None:
        run.soak.failures = lambda: session.config.stash[RESULTS_KEY].counts()["failed"]
        run.soak.write = _terminal_line(session.config)
        run.soak.restart()  # the budget counts from the first test, not from collection


def _terminal_line(config: pytest.Config) -> Callable[[str], None]:
    """Write a line to the terminal from inside a test (capture suspended), as pytest's live logs do."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if reporter is None:
            return
        if capture is None:
            reporter.write(f"\n{line}\n")
            return
        with capture.global_and_fixture_disabled():
            reporter.write(f"\n{line}\n")  # after the progress dots of the current line

    return write


def freeze_heap(config: pytest.Config) -> None:
    """Move what is alive after collection out of the garbage collector's generations.

    pytest's collected tree, Hypothesis, jsonschema and the catalogue live until the session ends,
    yet every full collection would scan them again: Hypothesis forces one (gc.collect) when it
    first runs in a thread, and the interpreter runs more as tests allocate. Frozen, they cost
    nothing to those collections. Undone at the very end (:func:`_unfreeze_heap`), so an
    in-process run leaks nothing.
    """
    gc.freeze()
    config.stash[FROZE_KEY] = True


def _unfreeze_heap(config: pytest.Config) -> None:
    """The session's last cleanup (registered first, by the tryfirst configure). pytest's
    unraisable-exception plugin collects garbage twice at unconfigure; with the heap unfrozen
    before that, each pass scanned all of it (0.4 s a run in the matrices' reused workers)."""
    if config.stash.get(FROZE_KEY, False):
        gc.unfreeze()


class _Interruption:
    """Ctrl-C or an internal error: the reports are still written, marked partial
    (``Run.interrupted``; see report.summary), with the journal's payments of the run."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if self.run.interrupted is None:
            self.run.interrupted = "interrupted by the user (Ctrl-C)"

    def pytest_internalerror(self, excrepr: Any, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if self.run.interrupted is None:
            self.run.interrupted = f"stopped by an internal error ({excinfo.typename})"


@pytest.fixture(scope="session")
def agws_run(request: pytest.FixtureRequest) -> Run:
    return _run(request.config)


@pytest.fixture(scope="session")
def agws_target_name(request: pytest.FixtureRequest, agws_run: Run) -> str:
    return getattr(request, "param", None) or agws_run.targets()[0].name


@pytest.fixture
def agws(request: pytest.FixtureRequest, agws_run: Run, agws_target_name: str) -> Agws:
    """The conformance context for this test and target (see agws_conformance.plugin.context)."""
    side = "receiver" if request.node.get_closest_marker("receiver") is not None else "gateway"
    target = next((t for t in agws_run.targets() if t.name == agws_target_name), None)
    if target is not None and target.side != side:
        Agws.not_applicable(f"target {target.name!r} is a {_SIDES[target.side]}; this test judges a {_SIDES[side]}")
    bound = agws_run.bind(agws_target_name)
    if bound.preflight is not None and not bound.preflight.ok:
        # The setup is wrong (the preflight says why): no test of this target is sent or judged.
        # One harness error carries the diagnosis and its evidence; the other tests are not run.
        if not bound.setup_reported:
            bound.setup_reported = True
            if bound.preflight.evidence is not None:
                request.node.stash[EXCHANGES_KEY].add(bound.preflight.evidence)
            raise HarnessError("setup", bound.preflight.line())
        pytest.skip(f"not run: setup problem on target {bound.name!r} (the first error of this target says which)")
    if bound.breaker and bound.breaker_reported:
        bound.refuse_after_breaker()
    ctx = Agws(agws_run, bound, request.node.nodeid)
    request.node.stash.setdefault(CONTEXTS_KEY, []).append(ctx)
    return ctx


_SIDES = {"gateway": "gateway", "receiver": "callback receiver ([receiver] table)"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    run = _run(item.config)
    log = item.stash[EXCHANGES_KEY] = ExchangeLog()
    run.current_sink = log.add
    run.generated_left = item.config.stash.get(GENERATED_KEY, {}).get(item.nodeid, 1)
    try:
        return (yield)
    finally:
        run.current_sink = None


def item_requirements(item: pytest.Item) -> list[str]:
    """The requirement IDs a suite test declares it judges (its requirement markers, the implicit ones included)."""
    ids: list[str] = []
    for mark in item.iter_markers("requirement"):
        ids += [str(a) for a in mark.args]
    return list(dict.fromkeys(ids))


def item_method(item: pytest.Item) -> str | None:
    """The method (endpoints.METHODS) a suite test is about: its ``method`` or ``endpoint``
    parameter, else its ``@pytest.mark.method(name)``; None for a test about no one method."""
    callspec = getattr(item, "callspec", None)
    mark = item.get_closest_marker("method")
    return method_of(callspec.params if callspec is not None else {}, str(mark.args[0]) if mark and mark.args else None)


def _target_name(item: pytest.Item, contexts: list[Agws], run: Run) -> str:
    """The target a test ran against, also for a test skipped before its context existed."""
    if contexts:
        return contexts[0].target.name
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "agws_target_name" in callspec.params:
        return str(callspec.params["agws_target_name"])
    try:
        return run.targets()[0].name
    except pytest.UsageError:
        return ""


def _redact_report(report: pytest.TestReport, run: Run) -> None:
    """Capture-time redaction of what pytest itself captured (tracebacks, stdout, logs)."""
    if not run.secrets:
        return
    if report.longrepr is not None:
        text = str(report.longrepr)
        clean = run.redactor(text)
        if clean != text:
            report.longrepr = clean
    report.sections = [(title, run.redactor(content)) for title, content in report.sections]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    run = _run(item.config)
    _redact_report(report, run)
    contexts = item.stash.get(CONTEXTS_KEY, [])
    reqs = item_requirements(item)
    if (not contexts and not reqs) or (report.passed and call.when != "call"):
        return report  # a passing setup or teardown adds nothing to the call report's payload
    findings = [f for ctx in contexts for f in ctx.findings]
    error = call.excinfo.value if call.excinfo is not None else None
    decided = classify(when=call.when, passed=report.passed, error=error, findings=findings,
                       strict=run.settings.strict, skipped=isinstance(error, pytest.skip.Exception))
    _apply(report, decided, call.when, reqs, run)
    report.agws = build_payload(  # type: ignore[attr-defined]
        target=_target_name(item, contexts, run), requirements=reqs, decided=decided, when=call.when,
        report_outcome=report.outcome, findings=findings, conformance_failure=isinstance(error, ConformanceFailure),
        log=item.stash.get(EXCHANGES_KEY, None), redact=run.redactor, all_transcripts=run.settings.transcripts == "all",
        method=item_method(item))
    return report


def _apply(report: pytest.TestReport, decided: Outcome, when: str, reqs: list[str], run: Run) -> None:
    """Make pytest's report say what ``classify`` decided: its text, phase and JUnit properties."""
    if decided.longrepr is not None:
        report.longrepr = run.redactor(decided.longrepr)
    if decided.outcome == "error":
        report.when, report.outcome = HARNESS_PHASE, "failed"  # type: ignore[assignment]
    elif decided.outcome == "failed":
        report.outcome = "failed"
    if when == "call":
        report.user_properties += [("requirement", r) for r in reqs]
        report.user_properties += [("failed_requirement", r) for r in decided.failed_requirements]
        if decided.outcome == "warn":
            report.user_properties.append(("agws_result", "warn"))


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    if report.when == HARNESS_PHASE:
        return "error", "E", "HARNESS ERROR"
    payload = getattr(report, "agws", None)
    if report.when == "call" and payload and payload.get("outcome") == "warn":
        return "warned", "w", "PASSED (SHOULD warning)"  # the summary line: "1 warned"
    return None


def _test_result(report: pytest.TestReport) -> TestResult | None:
    payload = getattr(report, "agws", None)
    if not payload:
        return None
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
    elif report.failed:
        message = str(report.longrepr)[-2000:]
    return result_of(report.nodeid, payload, when=report.when or "", report_outcome=report.outcome,
                     message=message, duration=report.duration)


class _ResultCollector:
    """Feeds every report into Results; runs in the controller under xdist, where reports arrive serialized."""

    def __init__(self, results: Results) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = _test_result(report)
        if result is not None:
            self.results.add(result)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = _run(session.config)
    run.close()
    send_to_controller(session.config, run)  # an xdist worker: its requests and observations
    results = session.config.stash[RESULTS_KEY]
    if not results.tests or hasattr(session.config, "workerinput"):
        return
    # The exit status is the verdict, so a release gate needs nothing else: 0 conformant (with or
    # without warnings), 1 not conformant, 10 incomplete (harness errors, MUST requirements skipped or
    # not run, a partial selection, a summary that broke its schema). The summary is built once, here.
    document = session.config.stash[SUMMARY_KEY] = _summary(session.config)
    if document["verdict"] == "INCOMPLETE" and session.exitstatus in (0, 1) and not results.counts()["failed"]:
        session.exitstatus = EXIT_INCOMPLETE


def _summary(config: pytest.Config) -> dict[str, Any]:
    """The run's checked JSON summary (``report.summary.final_summary``) from what it recorded, redacted."""
    from agws_conformance.catalogue import load_catalogue
    from agws_conformance.report import run_identity
    from agws_conformance.report.hooks import redacted_results
    from agws_conformance.report.summary import final_summary

    run, catalogue = _run(config), load_catalogue()
    return final_summary(redacted_results(config.stash[RESULTS_KEY], run.redactor.redact),
                         run_identity(run, config, catalogue), catalogue)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """pytest-xdist, in the controller: a worker finished; fold in its requests and observations."""
    receive_from_worker(_run(node.config), getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    results = config.stash[RESULTS_KEY]
    if not results.tests:
        return
    from agws_conformance.catalogue import load_catalogue

    catalogue = load_catalogue()
    tr = terminalreporter
    tr.section("AGWS conformance")
    run = _run(config)
    for name, observed in sorted(observed_targets(run).items()):
        report = observed.preflight
        if not report:
            continue
        if report["status"] == "failed":
            tr.write_line(f"SETUP PROBLEM on target {name!r} (not a conformance verdict): {report['problem']}",
                          red=True, bold=True)
            tr.write_line(f"  fix: {report['fix']}", red=True)
        else:
            tr.write_line(f"preflight {name!r}: setup verified in {report['requests']} requests; "
                          f"signing {report['variant']} ({preflight_evidence(report)})")
    counts = results.level_counts(catalogue)
    for level in ("MUST", "SHOULD", "INFO"):
        if level in counts:
            tr.write_line(f"{level:6} " + ", ".join(f"{n} {s}" for s, n in sorted(counts[level].items())))
    warned: dict[str, str] = {}
    for t in results.tests.values():
        for f in t.findings:
            if f["outcome"] == "warn":
                warned.setdefault(f["requirement"], f"{f['message']}  ({t.nodeid})")
    for requirement, message in list(warned.items())[:TERMINAL_WARNINGS]:
        tr.write_line(f"WARNING [{requirement}] {run.redactor(message)[:300]}", yellow=True)
    if len(warned) > TERMINAL_WARNINGS:
        tr.write_line(f"... and {len(warned) - TERMINAL_WARNINGS} more SHOULD requirements warned (see the reports)",
                      yellow=True)
    from agws_conformance.report.summary import mock_words, reason_line, verdict_words

    document = config.stash.get(SUMMARY_KEY, None) or _summary(config)
    verdict = document["verdict"]
    found = [r for r in document["reasons"] if r["kind"] != "setup"]  # setup problems are printed above
    for reason in found[:TERMINAL_REASONS]:
        tr.write_line(reason_line(reason)[:400], red=reason["kind"] in ("failed", "harness", "interrupted"))
    if len(found) > TERMINAL_REASONS:
        tr.write_line(f"... and {len(found) - TERMINAL_REASONS} more reasons (see the JSON summary and the HTML report)")
    harness = sum(t.outcome == "error" for t in results.tests.values())
    if harness:
        tr.write_line(f"{harness} test(s) hit harness trouble (an unreachable or stalling target, a setup problem, "
                      "or a bug in the suite): not conformance verdicts.", red=True)
    tr.write_line(f"requests sent: {run.request_count}; targets: {', '.join(results.targets)}")
    if run.soak is not None:
        tr.write_line(run.soak.line("partial: interrupted" if run.interrupted else "done"))
    for t in document["targets"]:
        if t.get("scope_neighbour"):
            tr.write_line(f"INFO {t['name']!r}: {t['scope_neighbour']}")
        if t.get("mock_pace"):
            tr.write_line(f"NOTE {t['name']!r}: {t['mock_pace']}", yellow=True)
    payments = [p for t in document["targets"] for p in t.get("payments", ())]
    if payments:
        created = sum(1 for p in payments if p.get("created"))
        tr.write_line(f"payments: {len(payments)} cash-in requests sent, {created} accepted; each external_id is "
                      "listed in the HTML report and the JSON summary (targets[].payments)")
    colour = {"CONFORMANT": "green", "CONFORMANT WITH WARNINGS": "yellow"}.get(verdict, "red")
    mock = mock_words(document)
    mock = " (embedded mock)" if run.settings.embedded else f" ({mock}: not a gateway)" if mock else ""
    tr.write_line(f"verdict: {verdict_words(document)}{mock}", **{colour: True, "bold": True})
