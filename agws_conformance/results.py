"""Test results aggregated into requirement results and the run's verdict, without pytest.

The controller process (also under xdist) feeds every report's ``agws`` payload into ``Results``;
the terminal summary, the JSON summary and the HTML report all read the same numbers from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Sequence

from agws_conformance.catalogue import Catalogue
from agws_conformance.errors import HarnessError
from agws_conformance.findings import NOT_APPLICABLE, ConformanceFailure, Finding, warnings_of

TestOutcome = Literal["passed", "failed", "warn", "skipped", "error"]
ReqStatus = Literal["pass", "fail", "warn", "info", "skipped", "n/a", "error", "not run"]
Verdict = Literal["CONFORMANT", "CONFORMANT WITH WARNINGS", "NOT CONFORMANT", "INCOMPLETE"]

@dataclass(frozen=True)
class Outcome:
    """How one phase of one test ends, decided from what it raised and what it found.

    ``outcome``: passed, warn (a SHOULD violated), failed (a judged violation) or error (harness
    trouble or a bug in the suite). ``longrepr``: a replacement for pytest's text, or None to keep it.
    """

    outcome: TestOutcome
    harness: str | None = None
    harness_kind: str | None = None
    longrepr: str | None = None
    failed_requirements: tuple[str, ...] = ()


def classify(*, when: str, passed: bool, error: BaseException | None, findings: Sequence[Finding],
             strict: bool, skipped: bool = False) -> Outcome:
    """The outcome of one phase of a test (``when``: setup, call or teardown; ``skipped``: it raised
    pytest's skip, which the caller tells, so that this stays free of pytest).

    Only a judged violation (ConformanceFailure) is evidence of non-conformance. A HarnessError is
    harness trouble; any other exception, a bare ``assert`` included, is a fault of the suite or
    its options. Both are errors (INCOMPLETE), never failures. A passing call with SHOULD
    violations warns, or fails under ``--agws-strict``.
    """
    if isinstance(error, HarnessError):
        return Outcome("error", str(error), error.kind, f"harness error (not a conformance verdict): {error}")
    if error is not None and not skipped and not isinstance(error, ConformanceFailure):
        return Outcome("error", f"suite error: {type(error).__name__}: {error}", "suite")
    if when != "call":
        return Outcome("skipped" if skipped else "passed" if passed else "failed")
    warned = warnings_of(findings)
    if passed and warned:
        if not strict:
            return Outcome("warn")
        return Outcome("failed", longrepr="SHOULD requirements violated (--agws-strict):\n" + "\n".join(
            f"[{f.requirement}] {f.message}" for f in warned),
            failed_requirements=tuple(dict.fromkeys(f.requirement for f in warned)))
    if passed:
        return Outcome("passed")
    if skipped:
        return Outcome("skipped")
    return Outcome("failed", failed_requirements=tuple(dict.fromkeys(
        f.requirement for f in findings if f.ok is False and f.level == "MUST")))


EXIT_INCOMPLETE = 10
"""Exit status of a run with harness errors and no conformance failure (see README, Release gate)."""


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    nodeid: str
    target: str
    requirements: list[str]
    outcome: TestOutcome
    findings: list[dict[str, Any]] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    exchanges_dropped: int = 0
    harness: str | None = None
    message: str = ""
    duration: float = 0.0
    failed_requirements: list[str] = field(default_factory=list)
    """The requirements whose violation failed the test (the first marker is not necessarily one)."""
    harness_kind: str | None = None
    """For harness trouble: a HarnessError kind (timeout, unreachable, setup, ...) or "suite"."""
    method: str | None = None
    """The method (endpoints.METHODS) the test is about, where it is about one (coverage.method_of)."""

    def judged(self) -> dict[str, str]:
        """requirement -> the worst outcome this test recorded for it (fail, warn, pass, info)."""
        out: dict[str, str] = {}
        for f in self.findings:
            prev = out.get(f["requirement"])
            if prev is None or _FINDING_ORDER.index(f["outcome"]) < _FINDING_ORDER.index(prev):
                out[f["requirement"]] = f["outcome"]
        return out


def result_of(nodeid: str, payload: Mapping[str, Any], *, when: str, report_outcome: str, message: str,
              duration: float) -> TestResult | None:
    """The result one report adds (``payload``: its ``report.agws``; ``report_outcome``: pytest's
    passed, failed or skipped), or None for a passing setup or teardown, which adds nothing.

    A failure outside the call phase (a fixture, a teardown) is an error, not a conformance failure.
    """
    outcome = payload["outcome"]
    if report_outcome == "skipped":
        outcome = "skipped"
    elif report_outcome == "failed" and outcome != "error":
        outcome = "failed" if when == "call" else "error"
    elif report_outcome == "passed" and when != "call":
        return None
    return TestResult(nodeid=nodeid, target=payload["target"], requirements=payload["requirements"],
                      outcome=outcome, findings=payload["findings"], exchanges=payload["exchanges"],
                      failed_requirements=payload.get("failed_requirements") or [],
                      harness_kind=payload.get("harness_kind"), exchanges_dropped=payload["exchanges_dropped"],
                      harness=payload["harness"], message=message, duration=duration, method=payload.get("method"))


@dataclass
class RequirementResult:
    id: str
    level: str
    area: str
    summary: str
    status: ReqStatus
    tests: list[str]
    messages: list[str]


_FINDING_ORDER = ["fail", "warn", "pass", "info"]

# Worst first: a requirement's status per target is the worst status of the tests that judge it.
_ORDER: list[str] = ["fail", "error", "warn", "pass", "info", "skipped", "n/a", "unjudged", "not run"]


class Results:
    def __init__(self) -> None:
        self.tests: dict[str, TestResult] = {}

    def add(self, result: TestResult) -> None:
        key = f"{result.target}::{result.nodeid}"
        prev = self.tests.get(key)
        # Setup, call and teardown each report; keep the worst.
        rank = ["error", "failed", "warn", "passed", "skipped"]
        if prev is None or rank.index(result.outcome) < rank.index(prev.outcome):
            if prev is not None and not result.exchanges:
                result.exchanges, result.exchanges_dropped = prev.exchanges, prev.exchanges_dropped
            if prev is not None and not result.findings:
                result.findings = prev.findings
            self.tests[key] = result

    @property
    def targets(self) -> list[str]:
        return sorted({t.target for t in self.tests.values()})

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("passed", "failed", "warn", "skipped", "error")}
        for t in self.tests.values():
            out[t.outcome] += 1
        return out

    def requirement_status(self, req_id: str, target: str, tests: Iterable[TestResult] | None = None) -> tuple[ReqStatus, list[str], list[str]]:
        statuses: list[str] = []  # ReqStatus, or "unjudged" until the worst is chosen
        names: list[str] = []
        notes: list[tuple[str, str]] = []  # (status, message): only the deciding status's are shown
        for t in tests if tests is not None else self.tests.values():
            if t.target != target:
                continue
            mine = [f for f in t.findings if f["requirement"] == req_id]
            if req_id not in t.requirements and not mine:
                continue
            names.append(t.nodeid)
            if t.outcome == "error":
                statuses.append("error")
                notes.append(("error", t.harness or t.message))
            elif t.outcome == "skipped":
                status: ReqStatus = "n/a" if t.message.removeprefix("Skipped: ").startswith(NOT_APPLICABLE) else "skipped"
                statuses.append(status)
                notes.append((status, t.message))
            elif mine:
                outcomes = {f["outcome"] for f in mine}
                found = next(o for o in _FINDING_ORDER if o in outcomes)
                statuses.append(found)
                notes += [(found, f["message"]) for f in mine if f["outcome"] == found and found != "pass"][:3]
            elif t.outcome == "failed":
                # A test failed on another requirement before judging this one: not evidence either way.
                statuses.append("skipped")
                notes.append(("skipped", f"not judged: {t.nodeid} stopped at an earlier failure "
                                          f"({', '.join(t.failed_requirements) or 'another requirement'})"))
            else:
                # The marker claims the test judges this rule, but it recorded no finding for it (the
                # response never reached that check): no evidence, so never a pass.
                statuses.append("unjudged")
                notes.append(("unjudged", f"not judged: {t.nodeid} recorded no finding for it"))
        if not statuses:
            return "not run", names, []
        worst = min(statuses, key=_ORDER.index)
        messages = [m for s, m in notes if s == worst and m]
        return ("skipped" if worst == "unjudged" else worst), names, messages  # type: ignore[return-value]

    def matrix(self, catalogue: Catalogue) -> dict[str, dict[str, RequirementResult]]:
        """target -> requirement id -> result, in catalogue order."""
        # One pass over the tests instead of one per requirement: a 1,000-test run, three targets.
        judging: dict[tuple[str, str], list[TestResult]] = {}
        for t in self.tests.values():
            for req_id in dict.fromkeys([*t.requirements, *(f["requirement"] for f in t.findings)]):
                judging.setdefault((t.target, req_id), []).append(t)
        out: dict[str, dict[str, RequirementResult]] = {}
        for target in self.targets or [""]:
            row: dict[str, RequirementResult] = {}
            for req in catalogue.requirements.values():
                status, tests, messages = self.requirement_status(req.id, target, judging.get((target, req.id), ()))
                row[req.id] = RequirementResult(req.id, req.level, req.area, req.summary, status, tests, messages)
            out[target] = row
        return out

    def verdict(self, catalogue: Catalogue) -> Verdict:
        matrix = self.matrix(catalogue)
        cells = [r for row in matrix.values() for r in row.values()]
        if any(t.outcome == "failed" for t in self.tests.values()) or any(r.status == "fail" for r in cells):
            return "NOT CONFORMANT"
        if any(t.outcome == "error" for t in self.tests.values()):
            return "INCOMPLETE"
        if any(r.level == "MUST" and r.status in ("skipped", "not run", "error") for r in cells):
            return "INCOMPLETE"
        if any(r.status == "warn" for r in cells) or any(t.outcome == "warn" for t in self.tests.values()):
            return "CONFORMANT WITH WARNINGS"
        return "CONFORMANT"

    def level_counts(self, catalogue: Catalogue) -> dict[str, dict[str, int]]:
        """level -> status -> number of (target, requirement) cells."""
        out: dict[str, dict[str, int]] = {}
        for row in self.matrix(catalogue).values():
            for r in row.values():
                out.setdefault(r.level, {}).setdefault(r.status, 0)
                out[r.level][r.status] += 1
        return out
