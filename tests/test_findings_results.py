"""Level rules and verdicts, as plain functions (no pytest run, no network)."""

from __future__ import annotations

import pytest

from agws_conformance.catalogue import load_catalogue
from agws_conformance.findings import ConformanceFailure, Finding, violations, warnings_of
from agws_conformance.results import Results, TestResult


def f(req: str, level: str, ok: bool | None) -> Finding:
    return Finding(req, level, ok, "expected x, observed y")  # type: ignore[arg-type]


def test_outcome_by_level():
    assert f("A-B", "MUST", False).outcome == "fail"
    assert f("A-B", "SHOULD", False).outcome == "warn"
    assert f("A-B", "MUST", True).outcome == "pass"
    assert f("A-B", "INFO", None).outcome == "info"


def test_should_violations_fail_only_when_strict():
    found = [f("A-B", "MUST", True), f("C-D", "SHOULD", False), f("E-F", "INFO", None)]
    assert violations(found, strict=False) == []
    assert [v.requirement for v in violations(found, strict=True)] == ["C-D"]
    assert [w.requirement for w in warnings_of(found)] == ["C-D"]


def test_conformance_failure_names_the_requirement():
    err = ConformanceFailure(f("SIG-REJECT-MISSING", "MUST", False))
    assert str(err).startswith("[SIG-REJECT-MISSING]")
    assert isinstance(err, AssertionError)


def _result(nodeid: str, outcome: str, findings: list[Finding], reqs: list[str], target: str = "t") -> TestResult:
    return TestResult(nodeid=nodeid, target=target, requirements=reqs, outcome=outcome,  # type: ignore[arg-type]
                      findings=[x.to_dict() for x in findings])


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _all_pass(catalogue, target="t", *, but: str = "") -> Results:
    results = Results()
    for req in catalogue.requirements.values():
        if req.id == but:
            continue
        ok = None if req.level == "INFO" else True
        results.add(_result(f"suites/x.py::test_{req.id}", "passed", [f(req.id, req.level, ok)], [req.id], target))
    return results


def test_a_requirement_judged_by_one_test_and_skipped_by_another_is_judged(catalogue):
    results = _all_pass(catalogue)
    results.add(_result("suites/x.py::test_extra", "skipped", [], ["CHK-INACTIVE-FAIL-REASON"]))
    assert results.matrix(catalogue)["t"]["CHK-INACTIVE-FAIL-REASON"].status == "pass"
    assert results.verdict(catalogue) == "CONFORMANT"


def test_every_requirement_passing_is_conformant(catalogue):
    assert _all_pass(catalogue).verdict(catalogue) == "CONFORMANT"


def test_a_must_failure_is_not_conformant(catalogue):
    results = _all_pass(catalogue)
    results.add(_result("suites/x.py::test_SIG-REJECT-MISSING", "failed", [f("SIG-REJECT-MISSING", "MUST", False)], ["SIG-REJECT-MISSING"]))
    assert results.verdict(catalogue) == "NOT CONFORMANT"
    cell = results.matrix(catalogue)["t"]["SIG-REJECT-MISSING"]
    assert cell.status == "fail"


def test_a_should_warning_is_conformant_with_warnings(catalogue):
    results = _all_pass(catalogue)
    results.add(_result("suites/x.py::test_ENV-CONTENT-TYPE", "warn", [f("ENV-CONTENT-TYPE", "SHOULD", False)], ["ENV-CONTENT-TYPE"]))
    assert results.verdict(catalogue) == "CONFORMANT WITH WARNINGS"


def test_harness_error_or_skipped_must_is_incomplete(catalogue):
    results = _all_pass(catalogue, but="CHK-INACTIVE-FAIL-REASON")
    results.add(_result("suites/x.py::test_CHK-INACTIVE-FAIL-REASON", "skipped", [], ["CHK-INACTIVE-FAIL-REASON"]))
    assert results.verdict(catalogue) == "INCOMPLETE"
    results = _all_pass(catalogue, but="ENV-SHAPE")
    results.add(_result("suites/x.py::test_ENV-SHAPE", "error", [], ["ENV-SHAPE"]))
    assert results.verdict(catalogue) == "INCOMPLETE"


def test_a_requirement_no_test_judged_is_not_run_and_incomplete(catalogue):
    results = Results()
    results.add(_result("suites/x.py::test_one", "passed", [f("ENV-SHAPE", "MUST", True)], ["ENV-SHAPE"]))
    assert results.matrix(catalogue)["t"]["SIG-REJECT-MISSING"].status == "not run"
    assert results.verdict(catalogue) == "INCOMPLETE"


def test_a_marker_without_a_finding_is_no_evidence(catalogue):
    results = Results()
    results.add(_result("suites/x.py::test_one", "passed", [f("ENV-SHAPE", "MUST", True)], ["ENV-SHAPE", "SCH-CHECK-SUCCESS"]))
    cell = results.matrix(catalogue)["t"]["SCH-CHECK-SUCCESS"]
    assert cell.status == "skipped" and "not judged" in cell.messages[0]
    assert results.matrix(catalogue)["t"]["ENV-SHAPE"].status == "pass"


def test_worst_phase_report_wins_and_keeps_evidence():
    results = Results()
    call = _result("n", "passed", [f("ENV-SHAPE", "MUST", True)], ["ENV-SHAPE"])
    teardown = _result("n", "error", [], ["ENV-SHAPE"])
    results.add(call)
    results.add(teardown)
    kept = results.tests["t::n"]
    assert kept.outcome == "error" and kept.findings == call.findings


def test_matrix_is_per_target(catalogue):
    results = _all_pass(catalogue, "a")
    results.add(_result("suites/x.py::test_SIG-REJECT-MISSING", "failed", [f("SIG-REJECT-MISSING", "MUST", False)], ["SIG-REJECT-MISSING"], "b"))
    matrix = results.matrix(catalogue)
    assert matrix["a"]["SIG-REJECT-MISSING"].status == "pass"
    assert matrix["b"]["SIG-REJECT-MISSING"].status == "fail"
    assert matrix["b"]["ENV-SHAPE"].status == "not run"


# -- classify: how a phase ends, without pytest ----------------------------------------------------

def _finding(requirement: str, level: str, ok: bool | None) -> Finding:
    return Finding(requirement, level, ok, f"{requirement} message")  # type: ignore[arg-type]


def test_a_judged_violation_is_the_only_failure() -> None:
    from agws_conformance.findings import ConformanceFailure
    from agws_conformance.results import classify

    violation = _finding("ENV-SHAPE", "MUST", False)
    failed = classify(when="call", passed=False, error=ConformanceFailure(violation), findings=[violation], strict=False)
    assert (failed.outcome, failed.failed_requirements, failed.harness) == ("failed", ("ENV-SHAPE",), None)
    bug = classify(when="call", passed=False, error=AssertionError("test bug"), findings=[], strict=False)
    assert (bug.outcome, bug.harness_kind) == ("error", "suite") and "AssertionError: test bug" in bug.harness


def test_harness_errors_keep_their_kind_in_any_phase() -> None:
    from agws_conformance.errors import HarnessError
    from agws_conformance.results import classify

    for when in ("setup", "call"):
        decided = classify(when=when, passed=False, error=HarnessError("setup", "wrong secret"), findings=[],
                           strict=False)
        assert (decided.outcome, decided.harness_kind, decided.harness) == ("error", "setup", "wrong secret")
        assert decided.longrepr == "harness error (not a conformance verdict): wrong secret"


def test_should_violations_warn_and_fail_only_when_strict() -> None:
    from agws_conformance.results import classify

    warned = [_finding("ENV-CONTENT-TYPE", "SHOULD", False), _finding("ENV-SHAPE", "MUST", True)]
    assert classify(when="call", passed=True, error=None, findings=warned, strict=False).outcome == "warn"
    strict = classify(when="call", passed=True, error=None, findings=warned, strict=True)
    assert strict.outcome == "failed" and strict.failed_requirements == ("ENV-CONTENT-TYPE",)
    assert strict.longrepr.startswith("SHOULD requirements violated (--agws-strict):\n[ENV-CONTENT-TYPE]")
    assert classify(when="call", passed=True, error=None, findings=warned[1:], strict=True).outcome == "passed"


def test_skips_stay_skips() -> None:
    from agws_conformance.results import classify

    skip = Exception("pytest's skip")
    assert classify(when="setup", passed=False, error=skip, findings=[], strict=False, skipped=True).outcome == "skipped"
    assert classify(when="call", passed=False, error=skip, findings=[], strict=True, skipped=True).outcome == "skipped"
    assert classify(when="teardown", passed=True, error=None, findings=[], strict=False).outcome == "passed"


# -- building what a report carries (state.build_payload) and what it adds (results.result_of) ----

def _log(n: int):
    from agws_conformance.transcript import Exchange, ExchangeLog, Redactor

    log = ExchangeLog(limit=8)
    for i in range(n):
        log.add(Exchange.capture(Redactor(()), method="POST", url="http://t.test/x", request_headers=[],
                                 request_body=b"{}", status=200 + i, response_body=b"{}", elapsed=0.01))
    return log


def _payload(decided, *, when="call", report_outcome="passed", log=None, all_transcripts=False, findings=()):
    from agws_conformance.state import build_payload

    return build_payload(target="qa", requirements=["ENV-SHAPE"], decided=decided, when=when,
                         report_outcome=report_outcome, findings=list(findings), conformance_failure=False,
                         log=log, redact=lambda text: text.replace("s3cret", "[REDACTED]"),
                         all_transcripts=all_transcripts)


def test_a_payload_carries_exchanges_only_where_a_report_shows_them() -> None:
    from agws_conformance.results import Outcome

    passed = _payload(Outcome("passed"), log=_log(3))
    assert passed["exchanges"] == [] and passed["exchanges_dropped"] == 3  # only their number travels
    failed = _payload(Outcome("failed", failed_requirements=("ENV-SHAPE",)), report_outcome="failed", log=_log(3))
    assert [e["response"]["status"] for e in failed["exchanges"]] == [200, 201, 202] and failed["exchanges_dropped"] == 0
    assert failed["failed_requirements"] == ["ENV-SHAPE"]
    assert len(_payload(Outcome("passed"), log=_log(3), all_transcripts=True)["exchanges"]) == 3
    many = _payload(Outcome("warn"), log=_log(20))
    assert len(many["exchanges"]) == 8 and many["exchanges_dropped"] == 12  # the log's own bound
    assert _payload(Outcome("error", "s3cret timed out", "timeout"), when="setup", log=_log(2))["exchanges"] == []


def test_a_payload_is_redacted_before_it_leaves_the_process() -> None:
    from agws_conformance.results import Outcome

    payload = _payload(Outcome("error", "harness: s3cret in a message", "timeout"),
                       findings=[Finding("ENV-SHAPE", "MUST", True, "saw s3cret")])
    assert payload["harness"] == "harness: [REDACTED] in a message" and payload["harness_kind"] == "timeout"
    assert payload["findings"][0]["message"] == "saw [REDACTED]" and payload["outcome"] == "error"
    # outside the call phase a non-error outcome is pytest's own
    assert _payload(Outcome("skipped"), when="setup", report_outcome="skipped")["outcome"] == "skipped"


def test_a_result_follows_the_report_phase() -> None:
    from agws_conformance.results import Outcome, result_of

    payload = _payload(Outcome("passed"))
    assert result_of("t", payload, when="call", report_outcome="passed", message="", duration=0.5).outcome == "passed"
    assert result_of("t", payload, when="teardown", report_outcome="passed", message="", duration=0) is None
    assert result_of("t", payload, when="teardown", report_outcome="failed", message="x", duration=0).outcome == "error"
    assert result_of("t", payload, when="setup", report_outcome="skipped", message="no [[payments]]",
                     duration=0).outcome == "skipped"
    failed = result_of("t", _payload(Outcome("failed", failed_requirements=("ENV-SHAPE",)), report_outcome="failed"),
                       when="call", report_outcome="failed", message="boom", duration=1.5)
    assert (failed.outcome, failed.failed_requirements, failed.message, failed.duration) == \
        ("failed", ["ENV-SHAPE"], "boom", 1.5)
    harness = _payload(Outcome("error", "timeout", "timeout"), when="harness", report_outcome="failed")
    assert result_of("t", harness, when="harness", report_outcome="failed", message="", duration=0).outcome == "error"
