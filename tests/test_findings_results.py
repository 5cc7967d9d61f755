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
