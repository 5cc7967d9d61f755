"""The JSON summary a release pipeline gates on (``--agws-json FILE``), and the gate itself.

A pure function of the results, the run identity and the catalogue, validated against
``schemas/report-summary.schema.json``: pipelines decide from ``verdict`` without parsing HTML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agws_conformance.catalogue import Catalogue
from agws_conformance.coverage import method_matrix
from agws_conformance.results import EXIT_INCOMPLETE, Results, Verdict

from .identity import RunIdentity

SUMMARY_FORMAT = 1
"""Bumped only on an incompatible change to the summary's structure."""

SCHEMA_ID = "https://agws-conformance.dev/schemas/report-summary.schema.json"
EXIT_NOT_CONFORMANT = 1
EXIT_STATUS: dict[str, int] = {
    "CONFORMANT": 0,
    "CONFORMANT WITH WARNINGS": 0,
    "NOT CONFORMANT": EXIT_NOT_CONFORMANT,
    "INCOMPLETE": EXIT_INCOMPLETE,
}
"""What a release gate should exit with for each verdict (warnings do not block a release)."""

MESSAGE_CAP = 500


def _clip(text: str, cap: int = MESSAGE_CAP) -> str:
    return text if len(text) <= cap else text[: cap - 1] + "…"


def results_for(results: Results, target: str) -> Results:
    """The results of one target only (for its own verdict in a multi-target run)."""
    subset = Results()
    subset.tests = {k: t for k, t in results.tests.items() if t.target == target}
    return subset


def run_verdict(results: Results, catalogue: Catalogue, partial: str | None) -> Verdict:
    """The run's verdict: the results', except that a partial run (interrupted) is never CONFORMANT."""
    verdict: Verdict = results.verdict(catalogue)
    if partial and verdict in ("CONFORMANT", "CONFORMANT WITH WARNINGS"):
        return "INCOMPLETE"
    return verdict


def build_summary(results: Results, identity: RunIdentity, catalogue: Catalogue) -> dict[str, Any]:
    """The summary document: verdict, counts, targets, per-requirement and per-test results."""
    verdict = run_verdict(results, catalogue, identity.partial)
    matrix = results.matrix(catalogue)
    targets = results.targets or [t.name for t in identity.targets] or [""]
    run = identity.to_dict()
    by_name = {t["name"]: t for t in run.pop("targets")}
    side = run.pop("side")
    target_docs = []
    for name in targets:
        doc: dict[str, Any] = dict(by_name.get(name) or {"name": name})
        doc["verdict"] = run_verdict(results_for(results, name), catalogue, identity.partial) if results.tests \
            else verdict
        target_docs.append(doc)
    requirements = []
    for req in catalogue.requirements.values():
        cells = {}
        for name in targets:
            r = matrix.get(name, {}).get(req.id)
            if r is None:
                cells[name] = {"status": "not run", "tests": [], "messages": []}
                continue
            cells[name] = {"status": r.status, "tests": sorted(r.tests),
                           "messages": [_clip(m) for m in dict.fromkeys(r.messages)][:5]}
        requirements.append({"id": req.id, "level": req.level, "area": req.area, "summary": req.summary,
                             "results": cells})
    tests = [{"nodeid": t.nodeid, "target": t.target, "requirements": list(t.requirements), "harness_kind": t.harness_kind,
              "outcome": t.outcome, "judged": t.judged(),
              "failed_requirements": list(t.failed_requirements) or (
                  [r for r, o in t.judged().items() if o == "fail"] if t.outcome == "failed" else []),
              "duration_seconds": round(t.duration, 3), "message": _clip(t.harness or t.message)}
             for t in sorted(results.tests.values(), key=lambda t: (t.target, t.nodeid))]
    document = {
        "$schema": SCHEMA_ID,
        "format": SUMMARY_FORMAT,
        "verdict": verdict,
        "exit_status": EXIT_STATUS[verdict],
        "side": side,
        "counts": {
            "tests": results.counts() | {"total": len(results.tests)},
            "requirements": _level_counts(requirements),
        },
        "run": run,
        "targets": target_docs,
        "requirements": requirements,
        "errata": [{"id": e.id, "title": e.title, "decision": e.decision, "requirements": list(e.requirements)}
                   for e in catalogue.errata.values()],
        "tests": tests,
        "method_matrix": method_matrix(results, catalogue),
    }
    document["reasons"] = reasons(document)
    return document


def _first(messages: list[str], cap: int = 240) -> str:
    return _clip(next((m for m in messages if m), "").removeprefix("Skipped: "), cap)


def skip_fix(message: str) -> str | None:
    """What to add to the target file so a skipped test can run, read off its skip reason."""
    if "configures no [[accounts]]" in message:
        category = next((c for c in ("parking", "finance", "utilities") if f"category={c}" in message), None)
        if category:
            return (f'add an [[accounts]] entry with category = "{category}", or leave "{category}" out of '
                    "[target] categories if the showcase does not serve it")
        status = next((s for s in "012" if f"account_status={s}" in message), None)
        if status is not None:
            return f"add an [[accounts]] entry with account_status = {status}"
        return "add an [[accounts]] entry (a test account the target holds)"
    if "configures no [[payments]]" in message:
        if '"4" or "6"' in message:
            return 'add a [[payments]] entry with status_code = "4" (a failed payment)'
        return "add a [[payments]] entry (a payment the target holds)"
    return None


def reasons(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Why the summary's verdict is what it is, from the summary alone (the gate reads it from the
    artifact): setup problems, failed requirements (with expected vs observed), harness errors by
    kind (with the first evidence), skipped MUST requirements (with the fix), MUST requirements not
    run, and a deselection. Failed and errored requirements are separate entries, never one list."""
    out: list[dict[str, Any]] = []
    partial = document["run"].get("partial")
    if partial:
        total = document["counts"]["tests"]["total"]
        out.append({"kind": "interrupted", "requirement": None, "target": None,
                    "text": f"partial report: {partial} after {total} test{'s' if total != 1 else ''}; the tests "
                            "that had not finished are not in it, and the verdict cannot be CONFORMANT",
                    "fix": "run again to the end for a verdict", "tests": total})
    for t in document["targets"]:
        preflight = t.get("preflight") or {}
        if preflight.get("status") == "failed":
            out.append({"kind": "setup", "requirement": None, "target": t["name"], "text": preflight["problem"],
                        "fix": preflight["fix"], "tests": 0})
    strict_failed = document["verdict"] == "NOT CONFORMANT" and not any(
        c["status"] == "fail" for r in document["requirements"] for c in r["results"].values())
    for r in document["requirements"]:
        for target, cell in r["results"].items():
            if cell["status"] == "fail" or (strict_failed and cell["status"] == "warn"):
                out.append({"kind": "failed", "requirement": r["id"], "target": target,
                            "text": _first(cell["messages"]), "fix": None, "tests": len(cell["tests"])})
    errors: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for test in document["tests"]:
        if test["outcome"] == "error":
            errors.setdefault((test["target"], test.get("harness_kind") or "harness"), []).append(test)
    for (target, kind), tests in errors.items():
        if kind == "setup" and any(r["kind"] == "setup" and r["target"] == target for r in out):
            continue  # the setup reason above says it
        what = "a bug in the suite, not a verdict on the gateway" if kind == "suite" else kind
        out.append({"kind": "harness", "requirement": None, "target": target,
                    "text": f"{what}: {_first([t['message'] for t in tests])}", "fix": None, "tests": len(tests)})
    setup_targets = {r["target"] for r in out if r["kind"] == "setup"}
    deselected = int(document["run"].get("deselected") or 0)
    for r in document["requirements"]:
        if r["level"] != "MUST":
            continue
        for target, cell in r["results"].items():
            if target in setup_targets:
                continue
            if cell["status"] == "skipped":
                message = _first(cell["messages"])
                out.append({"kind": "skipped", "requirement": r["id"], "target": target, "text": message,
                            "fix": skip_fix(message), "tests": len(cell["tests"])})
            elif cell["status"] == "not run" and not deselected and not partial:
                out.append({"kind": "not run", "requirement": r["id"], "target": target,
                            "text": "no test that judges it ran", "fix": None, "tests": 0})
    if deselected:
        out.append({"kind": "deselected", "requirement": None, "target": None,
                    "text": f"{deselected} tests were deselected (-k, -m or --agws-requirement): the verdict covers "
                            "only the tests that ran, and MUST requirements they do not judge are not run",
                    "fix": "run without the selection for a verdict on the whole catalogue", "tests": deselected})
    return out


def reason_line(reason: dict[str, Any]) -> str:
    """One reason as the terminal and the gate show it."""
    head = {"interrupted": "interrupted", "setup": "setup problem", "failed": "failed", "harness": "harness error",
            "skipped": "skipped MUST", "not run": "not run MUST", "deselected": "deselected"}[reason["kind"]]
    where = f" on {reason['target']!r}" if reason.get("target") else ""
    subject = f" {reason['requirement']}" if reason.get("requirement") else ""
    count = f" ({reason['tests']} tests)" if reason["kind"] == "harness" and reason["tests"] > 1 else ""
    fix = f"; fix: {reason['fix']}" if reason.get("fix") else ""
    return f"{head}{subject}{where}{count}: {reason['text']}{fix}"


def _level_counts(requirements: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    statuses = ("pass", "fail", "warn", "info", "skipped", "n/a", "error", "not run")
    out: dict[str, dict[str, int]] = {}
    for req in requirements:
        row = out.setdefault(req["level"], dict.fromkeys(statuses, 0))
        for cell in req["results"].values():
            row[cell["status"]] += 1
    return out


def write_summary(path: str | Path, summary: dict[str, Any]) -> None:
    """Write ``summary`` as UTF-8 JSON (atomically: a gate never reads half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(target)


def summary_errors(document: Any) -> list[str]:
    """Schema violations of a summary document, one line each (empty when valid)."""
    from jsonschema.validators import Draft202012Validator

    from agws_conformance.resources import data_dir

    schema = json.loads((data_dir("schemas") / "report-summary.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    return [f"{e.json_path}: {e.message}" for e in sorted(validator.iter_errors(document), key=lambda e: e.json_path)]


def derive_verdict(document: dict[str, Any]) -> str:
    """The verdict a summary's own counts and per-requirement results imply (the rules of results.py)."""
    tests = document["counts"]["tests"]
    cells = [(r["level"], c["status"]) for r in document["requirements"] for c in r["results"].values()]
    if tests["failed"] or any(status == "fail" for _, status in cells):
        return "NOT CONFORMANT"
    if document["run"].get("partial"):
        return "INCOMPLETE"
    if tests["error"] or any(level == "MUST" and status in ("skipped", "not run", "error") for level, status in cells):
        return "INCOMPLETE"
    if tests["warn"] or any(status == "warn" for _, status in cells):
        return "CONFORMANT WITH WARNINGS"
    return "CONFORMANT"


GATE_REASONS = 5
"""Reasons named on the gate's one line; the rest are in the summary."""


def gate(path: str | Path, *, allow_mock: bool = False) -> tuple[int, str]:
    """(exit status, one-line reason) for a release pipeline reading the summary at ``path``.

    An unreadable or invalid summary is INCOMPLETE: a gate must never pass on missing evidence.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        return EXIT_INCOMPLETE, f"INCOMPLETE: cannot read {path}: {exc.strerror}"
    except json.JSONDecodeError as exc:
        return EXIT_INCOMPLETE, f"INCOMPLETE: {path} line {exc.lineno}: invalid JSON: {exc.msg}"
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        return EXIT_INCOMPLETE, f"INCOMPLETE: {path} is not a JSON summary ({type(exc).__name__})"
    problems = summary_errors(document)
    if problems:
        return EXIT_INCOMPLETE, f"INCOMPLETE: {path} is not a valid summary: {problems[0]}"
    verdict = document["verdict"]
    derived = derive_verdict(document)
    if derived != verdict:  # an edited or inconsistent summary is no evidence
        return EXIT_INCOMPLETE, (f"INCOMPLETE: {path} says {verdict} but its own results say {derived}; "
                                 "regenerate it with --agws-json")
    if not allow_mock and any(t.get("embedded_mock") for t in document["targets"]):
        return EXIT_INCOMPLETE, (f"INCOMPLETE: ran against the embedded mock, not a gateway (its own verdict: "
                                 f"{verdict}); pass --allow-mock to gate a mock run")
    tests = document["counts"]["tests"]
    found = reasons(document)
    setup = [reason_line(r) for r in found if r["kind"] == "setup"]
    if setup:  # the run stopped before any suite test: the diagnosis is the whole story
        return EXIT_STATUS[verdict], f"{verdict}: " + " | ".join(setup)
    detail = f"{tests['total']} tests: {tests['passed']} passed, {tests['warn']} warned, {tests['failed']} failed, " \
             f"{tests['skipped']} skipped, {tests['error']} harness errors"
    shown = [reason_line(r) for r in found[:GATE_REASONS]]
    if len(found) > GATE_REASONS:
        shown.append(f"and {len(found) - GATE_REASONS} more reasons in the summary's 'reasons'")
    return EXIT_STATUS[verdict], f"{verdict}: {detail}" + ("; " + " | ".join(shown) if shown else "")
