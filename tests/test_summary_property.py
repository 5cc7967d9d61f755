"""Whatever a run recorded, the summary it writes validates and the gate re-derives its verdict.

Issue 25: a generated invalid payment's amount was a boolean, the summary writer put it in a field
its own schema types as a number, and the gate refused a good run about one time in ten. Here
Hypothesis draws whole runs' worth of records (tests with any outcome and findings, payments with
any JSON value the generator or a gateway could produce, interrupted or partial runs, mock or not)
and checks the two promises: the written summary is valid, and the gate answers the run's own
verdict with the run's own exit status.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agws_conformance.catalogue import Catalogue, Requirement
from agws_conformance.plugin.context import typed_value
from agws_conformance.report.identity import RunIdentity, TargetIdentity
from agws_conformance.report.summary import EXIT_STATUS, checked_summary, final_summary, gate, summary_errors, \
    verdict_words, write_summary
from agws_conformance.results import Results, TestResult
from agws_conformance.state import Selection

LEVELS = {"ENV-SHAPE": "MUST", "SIG-REJECT-MISSING": "MUST", "ENV-CONTENT-TYPE": "SHOULD", "SIG-INFO-VARIANT": "INFO"}
CATALOGUE = Catalogue("9.9.9", {rid: Requirement(rid, level, "synthetic", "synthetic", f"summary of {rid}")  # type: ignore[arg-type]
                                for rid, level in LEVELS.items()}, {}, {}, "9.9.8", {})
TARGETS = ("staging", "prod-like")

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                       max_size=3), max_leaves=6)
"""Any JSON value (NaN and infinities included): what a generator sends or a gateway answers."""
texts = st.text(max_size=30)


@st.composite
def findings(draw: st.DrawFn, requirements: list[str]) -> list[dict[str, Any]]:
    out = []
    for rid in draw(st.lists(st.sampled_from(requirements), max_size=3)):
        outcome = draw(st.sampled_from(["pass", "fail", "warn", "info"]))
        out.append({"requirement": rid, "level": LEVELS[rid], "ok": outcome != "fail", "outcome": outcome,
                    "message": draw(texts)})
    return out


@st.composite
def run_results(draw: st.DrawFn) -> Results:
    results = Results()
    for n in range(draw(st.integers(0, 8))):
        requirements = draw(st.lists(st.sampled_from(sorted(LEVELS)), min_size=1, max_size=3, unique=True))
        outcome = draw(st.sampled_from(["passed", "failed", "warn", "skipped", "error"]))
        results.add(TestResult(
            f"suites/test_{n % 3}.py::test_{n}", draw(st.sampled_from(TARGETS)), requirements, outcome,
            findings=draw(findings(requirements)), harness=draw(texts) if outcome == "error" else None,
            harness_kind=draw(st.sampled_from([None, "timeout", "suite", "setup"])) if outcome == "error" else None,
            message=draw(st.sampled_from(["", "Skipped: not applicable: no [write] table", "not run"]))
            if outcome == "skipped" else draw(texts),
            duration=draw(st.floats(0, 100)), failed_requirements=[r for r in requirements if outcome == "failed"][:1]))
    return results


@st.composite
def payment_records(draw: st.DrawFn) -> dict[str, Any]:
    """A payment as ``Agws.pay`` records it: the amount sent and the status answered, whatever they were."""
    return {"external_id": draw(texts), **typed_value("amount", draw(json_values), number=True),
            "username": draw(texts), "test": draw(texts), "why": draw(texts), "answer": draw(texts),
            **typed_value("status", draw(json_values)), "created": draw(st.booleans()),
            "timeline": draw(st.lists(st.tuples(st.floats(0, 60), texts).map(list), max_size=2))}


@st.composite
def identities(draw: st.DrawFn, payments: st.SearchStrategy[dict[str, Any]]) -> RunIdentity:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    targets = tuple(TargetIdentity(name, "https://gw.example.test", "agent", "project", "201106", "new", None, None,
                                   "go1.22", draw(st.booleans()), payments=draw(st.lists(payments, max_size=4)),
                                   mock=draw(st.sampled_from([None, "agws-conformance"])))
                    for name in TARGETS[: draw(st.integers(1, 2))])
    selection = Selection()
    selection.note_deselected(draw(st.lists(texts, max_size=3)))
    selection.files_not_run = draw(st.lists(texts, max_size=2))
    return RunIdentity("0.1.0", None, None, "9.9.9", "9.9.8", "0", "quick", draw(st.booleans()), moment, moment, 0,
                       targets, deselected=selection.deselected, selection=selection.to_dict(),
                       partial=draw(st.sampled_from([None, "interrupted by the user (Ctrl-C)"])))


def gated(summary: dict[str, Any]) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "summary.json"
        write_summary(path, summary)
        json.loads(path.read_text(encoding="utf-8"))  # strict JSON: no NaN
        return gate(path, allow_mock=True)


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(run_results(), identities(payment_records()))
def test_the_written_summary_always_validates_and_the_gate_rederives_its_verdict(results: Results,
                                                                                 identity: RunIdentity) -> None:
    summary = final_summary(results, identity, CATALOGUE)
    assert summary_errors(summary) == []
    assert "summary_problems" not in summary["run"]  # typed at the source: nothing to leave out
    code, line = gated(summary)
    assert code == EXIT_STATUS[summary["verdict"]] == summary["exit_status"], line
    assert line.startswith(verdict_words(summary)), line


@PROPERTY
@given(run_results(), identities(st.fixed_dictionaries({
    "external_id": json_values, "amount": json_values, "username": texts, "test": texts, "why": texts,
    "answer": texts, "status": json_values, "created": json_values})))
def test_an_untyped_value_is_left_out_named_and_the_run_incomplete(results: Results, identity: RunIdentity) -> None:
    """Records that bypass the typing (a future bug): the check repairs the summary, never crashes,
    and a repaired summary is never CONFORMANT."""
    summary = checked_summary(final_summary(results, identity, CATALOGUE))
    assert summary_errors(summary) == []
    if summary["run"].get("summary_problems"):
        assert summary["verdict"] in ("INCOMPLETE", "NOT CONFORMANT")
    code, line = gated(summary)
    assert code == EXIT_STATUS[summary["verdict"]], line
    assert line.startswith(verdict_words(summary)), line


def test_typed_value_keeps_numbers_and_strings_and_records_the_rest_as_json() -> None:
    assert typed_value("amount", 1.5, number=True) == {"amount": 1.5}
    assert typed_value("amount", False, number=True) == {"amount": None, "amount_json": "false"}
    assert typed_value("amount", "1.11", number=True) == {"amount": None, "amount_json": '"1.11"'}
    assert typed_value("amount", float("nan"), number=True) == {"amount": None, "amount_json": "NaN"}
    assert typed_value("status", "2") == {"status": "2"}
    assert typed_value("status", 2) == {"status": None, "status_json": "2"}
    assert typed_value("status", None) == {"status": None}
    assert dataclasses.is_dataclass(Selection())
