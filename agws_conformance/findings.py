"""Findings: what one check concluded about one requirement, and how levels turn into outcomes.

Kept free of pytest so the level rules (MUST fails, SHOULD warns unless strict, INFO records) are
tested as plain functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Literal

from agws_conformance.errors import SuiteBug

Level = Literal["MUST", "SHOULD", "MAY", "INFO"]
Outcome = Literal["pass", "fail", "warn", "info"]


@dataclass(frozen=True)
class Finding:
    """One judged rule: ``ok`` is None for an INFO observation, which is recorded, never judged."""

    requirement: str
    level: Level
    ok: bool | None
    message: str

    @property
    def outcome(self) -> Outcome:
        if self.ok is None:
            return "info"
        if self.ok:
            return "pass"
        return "fail" if self.level == "MUST" else "warn"

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["outcome"] = self.outcome
        return data


NOT_APPLICABLE = "not applicable: "
"""Prefix of a skip reason meaning the rule does not apply to this target (e.g. the other error
format): reported as n/a, and unlike a skip for missing data it leaves the verdict complete."""


class ConformanceFailure(AssertionError):
    """A MUST requirement was violated: the target does not conform."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"[{finding.requirement}] {finding.message}")
        self.finding = finding


def invariant(ok: object, message: str) -> None:
    """Raise :class:`SuiteBug` unless ``ok``: for what a test assumes about its own inputs."""
    __tracebackhide__ = True
    if not ok:
        raise SuiteBug(f"suite bug: {message}")


def violations(findings: Iterable[Finding], *, strict: bool) -> list[Finding]:
    """The findings that fail a test: MUST violations, and SHOULD/MAY violations under --agws-strict."""
    out = []
    for f in findings:
        if f.ok is False and (f.level == "MUST" or strict):
            out.append(f)
    return out


def warnings_of(findings: Iterable[Finding]) -> list[Finding]:
    """SHOULD/MAY violations: reported as warnings, failing only under --agws-strict."""
    return [f for f in findings if f.ok is False and f.level != "MUST"]
