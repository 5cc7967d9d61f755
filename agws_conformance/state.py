"""What the plugin and the reports share about a run, in one place: the stash keys, the per-test
payload, and what the processes observed about each target.

The plugin writes these; the report reads them. Neither imports the other's modules for them, so
the report layer never imports the plugin (see docs/architecture.md, Layers). The ``Run`` they hold
is typed for checkers only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypedDict

import pytest

from agws_conformance.findings import Finding
from agws_conformance.results import Outcome, Results
from agws_conformance.transcript import ExchangeLog

if TYPE_CHECKING:
    from agws_conformance.plugin.context import Agws
    from agws_conformance.plugin.run import Run

__all__ = ["CONTEXTS_KEY", "EXCHANGES_KEY", "FROZE_KEY", "GENERATED_KEY", "HARNESS_PHASE", "Observed",
           "Payload", "RESULTS_KEY", "RUN_KEY", "SUMMARY_KEY", "Selection", "build_payload", "format_note",
           "observed_targets"]

RUN_KEY: pytest.StashKey[Run] = pytest.StashKey()
RESULTS_KEY: pytest.StashKey[Results] = pytest.StashKey()
CONTEXTS_KEY: pytest.StashKey[list[Agws]] = pytest.StashKey()  # per test item
EXCHANGES_KEY: pytest.StashKey[ExchangeLog] = pytest.StashKey()  # per test item
FROZE_KEY: pytest.StashKey[bool] = pytest.StashKey()
GENERATED_KEY: pytest.StashKey[dict[str, int]] = pytest.StashKey()  # nodeid -> generated tests left from it
SUMMARY_KEY: pytest.StashKey[dict[str, Any]] = pytest.StashKey()  # the run's checked JSON summary, built once

HARNESS_PHASE = "harness"
"""Report phase given to harness trouble: counted as an error (JUnit <error>), never as a failure."""


class Payload(TypedDict):
    """``report.agws``: what one test report carries to the results and the reports (JSON-able, redacted)."""

    target: str
    requirements: list[str]
    failed_requirements: list[str]
    outcome: str
    harness: str | None
    harness_kind: str | None
    conformance_failure: bool
    findings: list[dict[str, Any]]
    exchanges: list[dict[str, Any]]
    exchanges_dropped: int
    method: str | None


def build_payload(*, target: str, requirements: list[str], decided: Outcome, when: str, report_outcome: str,
                  findings: Sequence[Finding], conformance_failure: bool, log: ExchangeLog | None,
                  redact: Callable[[str], str], all_transcripts: bool, method: str | None = None) -> Payload:
    """The payload of one phase's report (``report_outcome``: pytest's, once the hook applied ``decided``).

    Redacted here: under xdist the payload leaves its worker, and the controller does not hold the
    worker's secret (the embedded mock's is per process). Exchanges are serialized only where a
    report shows them (failures, warnings, harness errors, or every test with
    ``--agws-transcripts=all``); otherwise only their number travels.
    """
    harness = redact(decided.harness) if decided.harness else None
    show = when != "setup" and (all_transcripts or harness is not None or decided.outcome in ("failed", "warn"))
    if log is None:
        exchanges: list[dict[str, Any]] = []
        dropped = 0
    elif show:
        exchanges, dropped = [e.to_dict() for e in log.all()], log.dropped
    else:
        exchanges, dropped = [], len(log.head) + len(log.tail) + log.dropped
    return Payload(
        target=target,
        requirements=requirements,
        failed_requirements=list(decided.failed_requirements),
        outcome=decided.outcome if when == "call" or decided.outcome == "error" else report_outcome,
        harness=harness,
        harness_kind=decided.harness_kind,
        conformance_failure=conformance_failure,
        findings=[{**f.to_dict(), "message": redact(f.message)} for f in findings],
        exchanges=exchanges,
        exchanges_dropped=dropped,
        method=method,
    )


SELECTION_EXAMPLES = 5
"""Deselected tests and unrun suite files named in a reason; the count says the rest."""


@dataclass
class Selection:
    """Which suite tests the run left out, however it was told to (a partial run is not a verdict).

    ``deselected``: tests dropped by a ``pytest_deselected`` hook (-k, -m, --deselect, --lf,
    --agws-requirement ...); ``files_not_run``: suite files the run never collected a test from
    (a subset of files or folders named instead of ``suites``, --ignore, --lf's skipped files);
    ``node_ids``: tests named by node ID on the command line (only they ran from their file).
    """

    deselected: int = 0
    examples: list[str] = field(default_factory=list)
    files_not_run: list[str] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)

    def note_deselected(self, nodeids: Sequence[str]) -> None:
        self.deselected += len(nodeids)
        self.examples = (self.examples + [n for n in nodeids if n not in self.examples])[:SELECTION_EXAMPLES]

    def merge(self, other: Mapping[str, Any]) -> None:
        """Fold in a worker's view (under xdist every worker collects and selects the same tests)."""
        self.deselected = max(self.deselected, int(other.get("deselected") or 0))
        for name in ("examples", "files_not_run", "node_ids"):
            mine: list[str] = getattr(self, name)
            mine += [str(v) for v in other.get(name) or () if str(v) not in mine]

    def to_dict(self) -> dict[str, Any]:
        return {"deselected": self.deselected, "examples": list(self.examples),
                "files_not_run": list(self.files_not_run), "node_ids": list(self.node_ids), "reason": self.reason()}

    def reason(self) -> str | None:
        """Why the run is partial, in words ("deselected 3 tests: ..."), or None when every suite test was selected."""
        parts = []
        if self.deselected:
            more = f" and {self.deselected - len(self.examples)} more" if self.deselected > len(self.examples) else ""
            parts.append(f"deselected {self.deselected} test{'s' if self.deselected != 1 else ''}"
                         + (f": {', '.join(self.examples)}{more}" if self.examples else "")
                         + " (-k, -m, --deselect, --lf or --agws-requirement)")
        if self.files_not_run:
            shown = self.files_not_run[:SELECTION_EXAMPLES]
            more = f" and {len(self.files_not_run) - len(shown)} more" if len(self.files_not_run) > len(shown) else ""
            parts.append(f"{len(self.files_not_run)} suite file{'s' if len(self.files_not_run) != 1 else ''} not run: "
                         f"{', '.join(shown)}{more}")
        if self.node_ids:
            parts.append(f"only the tests named on the command line ran from their file: {', '.join(self.node_ids[:SELECTION_EXAMPLES])}")
        return "; ".join(parts) or None


def format_note(seen: dict[str, dict[str, str]]) -> str:
    """The error format(s) observed in the run: "new", or per code when they differ ("1041: old, 1407: new")."""
    per_code = {code: "mixed" if len(formats) > 1 else next(iter(formats)) for code, formats in seen.items()}
    values = set(per_code.values())
    if len(values) == 1:
        return values.pop()
    return ", ".join(f"{code}: {fmt}" for code, fmt in sorted(per_code.items()))


@dataclass
class Observed:
    """What the processes of a run observed about one target (one entry per base URL used)."""

    base_urls: list[str] = field(default_factory=list)
    observations: dict[str, str] = field(default_factory=dict)
    error_formats: dict[str, dict[str, str]] = field(default_factory=dict)  # error code -> format -> first nodeid
    preflight: dict[str, Any] | None = None  # PreflightReport.to_dict(); a failed one wins over a passed one
    payments: list[dict[str, Any]] = field(default_factory=list)  # every cash-in the run sent (all processes)

    def merge(self, base_url: str, observations: Mapping[str, str], error_formats: Mapping[str, Mapping[str, str]],
              preflight: Mapping[str, Any] | None = None, payments: Sequence[Mapping[str, Any]] = ()) -> None:
        """Fold in one process's view; where two processes disagree, the report shows both."""
        self.payments.extend(dict(p) for p in payments)
        if base_url and base_url not in self.base_urls:
            self.base_urls.append(base_url)
        if preflight and (self.preflight is None or (preflight.get("status") == "failed"
                                                     and self.preflight.get("status") != "failed")):
            self.preflight = dict(preflight)
        for code, formats in error_formats.items():
            seen = self.error_formats.setdefault(str(code), {})
            for fmt, nodeid in formats.items():
                seen.setdefault(fmt, nodeid)
        for key, value in observations.items():
            old = self.observations.get(key)
            if old is None or old == value:
                self.observations[key] = value
            elif key == "error_format" and self.error_formats:
                self.observations[key] = format_note(self.error_formats)
            elif value not in old.split("; "):
                self.observations[key] = f"{old}; {value}"


def observed_targets(run: Any) -> dict[str, Observed]:
    """Per target, what this process and (under xdist) every worker observed."""
    out = {name: copy.deepcopy(observed) for name, observed in run.remote.items()}
    for name, bound in run.bound.items():
        out.setdefault(name, Observed()).merge(bound.target.base_url, bound.observations, bound.error_formats,
                                               bound.preflight.to_dict() if bound.preflight is not None else None,
                                               getattr(bound, "payments", ()))
    return out
