"""The JSON summary a release pipeline gates on (``--agws-json FILE``), and the gate itself.

A pure function of the results, the run identity and the catalogue, validated against
``schemas/report-summary.schema.json``: pipelines decide from ``verdict`` without parsing HTML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agws_conformance.catalogue import Catalogue
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


def build_summary(results: Results, identity: RunIdentity, catalogue: Catalogue) -> dict[str, Any]:
    """The summary document: verdict, counts, targets, per-requirement and per-test results."""
    verdict: Verdict = results.verdict(catalogue)
    matrix = results.matrix(catalogue)
    targets = results.targets or [t.name for t in identity.targets] or [""]
    run = identity.to_dict()
    by_name = {t["name"]: t for t in run.pop("targets")}
    target_docs = []
    for name in targets:
        doc: dict[str, Any] = dict(by_name.get(name) or {"name": name})
        doc["verdict"] = results_for(results, name).verdict(catalogue) if results.tests else verdict
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
    tests = [{"nodeid": t.nodeid, "target": t.target, "requirements": list(t.requirements),
              "outcome": t.outcome, "judged": t.judged(),
              "failed_requirements": list(t.failed_requirements) or (
                  [r for r, o in t.judged().items() if o == "fail"] if t.outcome == "failed" else []),
              "duration_seconds": round(t.duration, 3), "message": _clip(t.harness or t.message)}
             for t in sorted(results.tests.values(), key=lambda t: (t.target, t.nodeid))]
    return {
        "$schema": SCHEMA_ID,
        "format": SUMMARY_FORMAT,
        "verdict": verdict,
        "exit_status": EXIT_STATUS[verdict],
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
    }


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
    if tests["error"] or any(level == "MUST" and status in ("skipped", "not run", "error") for level, status in cells):
        return "INCOMPLETE"
    if tests["warn"] or any(status == "warn" for _, status in cells):
        return "CONFORMANT WITH WARNINGS"
    return "CONFORMANT"


def gate(path: str | Path) -> tuple[int, str]:
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
    tests = document["counts"]["tests"]
    failing = sorted({r["id"] for r in document["requirements"]
                      for c in r["results"].values() if c["status"] in ("fail", "error")})
    setup = [f"setup problem on target {t['name']!r}: {t['preflight']['problem']}; fix: {t['preflight']['fix']}"
             for t in document["targets"] if (t.get("preflight") or {}).get("status") == "failed"]
    if setup:  # the run stopped before any suite test: the diagnosis is the whole story
        return EXIT_STATUS[verdict], f"{verdict}: " + " | ".join(setup)
    detail = f"{tests['total']} tests: {tests['passed']} passed, {tests['warn']} warned, {tests['failed']} failed, " \
             f"{tests['skipped']} skipped, {tests['error']} harness errors"
    if failing:
        detail += "; failing: " + ", ".join(failing[:10]) + (" …" if len(failing) > 10 else "")
    return EXIT_STATUS[verdict], f"{verdict}: {detail}"
