"""The JSON summary a release pipeline gates on (``--agws-json FILE``), and the gate itself.

A pure function of the results, the run identity and the catalogue, validated against
``schemas/report-summary.schema.json``: pipelines decide from ``verdict`` without parsing HTML.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from agws_conformance.catalogue import Catalogue
from agws_conformance.coverage import method_matrix
from agws_conformance.results import EXIT_INCOMPLETE, Results, Verdict
from agws_conformance.scope import GROUPS, scope_words

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


def partial_reason(identity: RunIdentity) -> str | None:
    """Why the run proved less than the whole suite: interrupted, or a selection that dropped suite
    tests (``state.Selection``); None for a whole run."""
    selected = (identity.selection or {}).get("reason") or (
        f"deselected {identity.deselected} tests" if identity.deselected else None)
    return identity.partial or selected


def run_verdict(results: Results, catalogue: Catalogue, identity: RunIdentity) -> Verdict:
    """The run's verdict: the results', except that a partial run (interrupted, or a selection that
    dropped suite tests) is never CONFORMANT. A failed MUST still wins: NOT CONFORMANT."""
    verdict: Verdict = results.verdict(catalogue)
    if partial_reason(identity) and verdict in ("CONFORMANT", "CONFORMANT WITH WARNINGS"):
        return "INCOMPLETE"
    return verdict


def build_summary(results: Results, identity: RunIdentity, catalogue: Catalogue) -> dict[str, Any]:
    """The summary document: verdict, counts, targets, per-requirement and per-test results."""
    verdict = run_verdict(results, catalogue, identity)
    matrix = results.matrix(catalogue)
    targets = results.targets or [t.name for t in identity.targets] or [""]
    run = identity.to_dict()
    by_name = {t["name"]: t for t in run.pop("targets")}
    side = run.pop("side")
    target_docs = []
    for name in targets:
        doc: dict[str, Any] = dict(by_name.get(name) or {"name": name})
        doc["verdict"] = run_verdict(results_for(results, name), catalogue, identity) if results.tests \
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
    selection = document["run"].get("selection") or {}
    selected = selection.get("reason") or (
        f"deselected {document['run']['deselected']} tests" if document["run"].get("deselected") else None)
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
            elif cell["status"] == "not run" and not selected and not partial:
                out.append({"kind": "not run", "requirement": r["id"], "target": target,
                            "text": "no test that judges it ran", "fix": None, "tests": 0})
    if selected:
        out.append({"kind": "deselected", "requirement": None, "target": None,
                    "text": f"{selected}: the verdict covers only the tests that ran, and MUST requirements they "
                            "do not judge are not run",
                    "fix": "run the whole suite (pytest suites, no selection) for a verdict, or gate with "
                           "--allow-partial to accept what ran",
                    "tests": int(selection.get("deselected") or document["run"].get("deselected") or 0)})
    for problem in document["run"].get("summary_problems") or ():
        out.append({"kind": "harness", "requirement": None, "target": None,
                    "text": f"a bug in the suite, not a verdict on the gateway: the summary broke its own schema "
                            f"at {problem}; the value was left out", "fix": None, "tests": 0})
    return out


def reason_line(reason: dict[str, Any]) -> str:
    """One reason as the terminal and the gate show it."""
    head = {"interrupted": "interrupted", "setup": "setup problem", "failed": "failed", "harness": "harness error",
            "skipped": "skipped MUST", "not run": "not run MUST", "deselected": "partial run",
            "usage": "usage error (no test ran)"}[reason["kind"]]
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
    validator = _validator()
    return [f"{e.json_path}: {e.message}" for e in sorted(validator.iter_errors(document), key=lambda e: e.json_path)]


def selected_partial(document: dict[str, Any]) -> str | None:
    """The selection that dropped suite tests, in words, or None (``run.selection``, or an older
    summary's ``run.deselected``)."""
    run = document["run"]
    return (run.get("selection") or {}).get("reason") or (
        f"deselected {run['deselected']} tests" if run.get("deselected") else None)


def derive_verdict(document: dict[str, Any], *, allow_partial: bool = False) -> str:
    """The verdict a summary's own counts and per-requirement results imply (the rules of results.py,
    plus the run's: interrupted, a partial selection, a summary that broke its schema).

    ``allow_partial``: judge a partial selection by the tests that ran (MUST requirements none of
    them judges are then not held against it); an interrupted run stays INCOMPLETE.
    """
    tests = document["counts"]["tests"]
    cells = [(r["level"], c["status"]) for r in document["requirements"] for c in r["results"].values()]
    if tests["failed"] or any(status == "fail" for _, status in cells):
        return "NOT CONFORMANT"
    run = document["run"]
    if run.get("partial") or run.get("summary_problems"):
        return "INCOMPLETE"
    selected = selected_partial(document)
    if selected and not allow_partial:
        return "INCOMPLETE"
    excused = ("not run",) if selected else ()
    if tests["error"] or any(level == "MUST" and status in ("skipped", "not run", "error") and status not in excused
                             for level, status in cells):
        return "INCOMPLETE"
    if tests["warn"] or any(status == "warn" for _, status in cells):
        return "CONFORMANT WITH WARNINGS"
    return "CONFORMANT"


# -- the written summary never fails its own schema ------------------------------------------------

SUMMARY_PROBLEMS = 10
"""Schema problems named in ``run.summary_problems``; more are counted."""


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema.validators import Draft202012Validator

    from agws_conformance.resources import data_dir

    schema = json.loads((data_dir("schemas") / "report-summary.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _non_finite(value: Any, path: str = "$") -> Iterator[tuple[str, Any, Any]]:
    """(JSON path, container, key) of every NaN or infinity: JSON has no such number."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
        if isinstance(item, float) and not math.isfinite(item):
            yield where, value, key
        else:
            yield from _non_finite(item, where)


def _leave_out(document: dict[str, Any], path: list[Any], validator: Any) -> bool:
    """Remove the smallest part of ``document`` around ``path`` whose removal leaves no new error
    there: an optional key, else the list entry that holds it. False when only the whole would do."""
    for depth in range(len(path), 0, -1):
        parent: Any = document
        for key in path[: depth - 1]:
            parent = parent[key]
        key = path[depth - 1]
        if isinstance(parent, list):
            del parent[key]
            return True
        value = parent.pop(key)
        if not any(list(e.absolute_path) == path[: depth - 1] and e.validator == "required"
                   for e in validator.iter_errors(document)):
            return True
        parent[key] = value  # required where it is: leave out what holds it instead
    return False


def checked_summary(document: dict[str, Any]) -> dict[str, Any]:
    """``document``, valid against its schema: whatever the run recorded, the gate can read it.

    A value the schema refuses (a suite bug: something untyped reached the summary) is left out,
    named with its JSON path in ``run.summary_problems``, and makes the run INCOMPLETE (harness
    trouble; a failed MUST still makes it NOT CONFORMANT): never silent, never a crash.
    """
    validator = _validator()
    problems: list[str] = []
    for where, container, key in list(_non_finite(document)):
        problems.append(f"{where}: {container[key]!r} is not a JSON number")
        container[key] = None
    for _ in range(200):
        errors = sorted(validator.iter_errors(document), key=lambda e: e.json_path)
        if not errors:
            break
        error = errors[0]
        problems.append(f"{error.json_path}: {_clip(error.message, 200)}")
        if not _leave_out(document, list(error.absolute_path), validator):
            break  # the document itself is wrong; the gate will say so
    if not problems:
        return document
    shown = problems[:SUMMARY_PROBLEMS]
    if len(problems) > SUMMARY_PROBLEMS:
        shown.append(f"and {len(problems) - SUMMARY_PROBLEMS} more")
    document["run"]["summary_problems"] = shown
    verdict = derive_verdict(document)
    document["verdict"], document["exit_status"] = verdict, EXIT_STATUS[verdict]
    for target in document["targets"]:
        if target.get("verdict") != "NOT CONFORMANT":
            target["verdict"] = "INCOMPLETE"
    document["reasons"] = reasons(document)
    return document


def final_summary(results: Results, identity: RunIdentity, catalogue: Catalogue) -> dict[str, Any]:
    """The summary the run publishes (terminal, HTML, JSON): built, then checked against its schema."""
    return checked_summary(build_summary(results, identity, catalogue))


# -- words -----------------------------------------------------------------------------------------

EXIT_USAGE = 4
"""pytest's own exit status for a usage error; the gate answers a usage-error summary with it."""
DEFAULT_FIX = ("correct the option, environment variable or target-file key the error names, then run again "
               "(pytest --help lists the options and their environment variables)")


def usage_fix(error: str) -> str:
    """The fix a usage error states (after its "; " or in its "did you mean"), else the general one."""
    head, sep, tail = error.partition("; ")
    if sep and tail:
        return tail
    match = re.search(r"did you mean [^?]+\?", error)
    return match.group(0) if match else DEFAULT_FIX


def usage_summary(document: dict[str, Any], error: str) -> dict[str, Any]:
    """The summary of a run that stopped before any test: the error and its fix are the whole story
    (no "not run" reason per requirement, which would read like a verdict), INCOMPLETE."""
    fix = usage_fix(error)
    document["usage_error"] = {"error": error, "fix": fix}
    document["reasons"] = [{"kind": "usage", "requirement": None, "target": None, "text": error, "fix": fix, "tests": 0}]
    return document


def mock_words(document: Mapping[str, Any]) -> str | None:
    """What mock the run was against, in words, or None for a gateway (embedded, or served
    standalone and recognised by the header every answer of the mock carries)."""
    for target in document["targets"]:
        if target.get("embedded_mock"):
            return "the embedded mock"
        if target.get("mock"):
            return f"a mock gateway ({target['mock']}), served standalone"
    return None


def verdict_words(document: Mapping[str, Any], verdict: str | None = None) -> str:
    """The verdict with its scope: "CONFORMANT (read only: payments, callbacks, confirmation and links not enabled)"."""
    verdict = verdict or document["verdict"]
    words = scope_words(t.get("scope") or {} for t in document["targets"] if t.get("scope"))
    return f"{verdict} ({words})" if words else verdict


GATE_REASONS = 5
"""Reasons named on the gate's one line; the rest are in the summary."""


def missing_groups(document: dict[str, Any], require: Sequence[str]) -> list[str]:
    """For each required method group a target did not judge: "payments on 'staging' (no [write] table;
    enable: add a [write] table ...)"."""
    out = []
    for name in require:
        for target in document["targets"]:
            entry = (target.get("scope") or {}).get(name)
            if entry is None:
                out.append(f"{name} on {target['name']!r} (the summary does not record its scope; "
                           "regenerate it with this version)")
            elif not entry.get("judged"):
                out.append(f"{name} on {target['name']!r} ({entry.get('why')}; enable: {entry.get('enable')})")
    return out


def gate(path: str | Path, *, allow_mock: bool = False, allow_partial: bool = False,
         require: Sequence[str] = ()) -> tuple[int, str]:
    """(exit status, one-line reason) for a release pipeline reading the summary at ``path``.

    An unreadable or invalid summary is INCOMPLETE: a gate must never pass on missing evidence. So
    is a mock run (unless ``allow_mock``), a partial selection (unless ``allow_partial``, which the
    line then says), and a run that did not judge a ``require``d method group (``scope.GROUPS``).
    """
    unknown = [g for g in require if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown method group {unknown[0]!r} (choose from {', '.join(GROUPS)})")
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(document, dict) and isinstance(document.get("usage_error"), dict) and not summary_errors(document):
            usage = document["usage_error"]
            return EXIT_USAGE, f"USAGE ERROR: the run stopped before any test: {usage['error']} (fix: {usage['fix']})"
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
    mock = mock_words(document)
    if mock and not allow_mock:
        return EXIT_INCOMPLETE, (f"INCOMPLETE: ran against {mock}, not a gateway (its own verdict: "
                                 f"{verdict_words(document)}); pass --allow-mock to gate a mock run")
    partial = selected_partial(document)
    allowed = ""
    if allow_partial and partial and verdict == "INCOMPLETE":
        verdict = derive_verdict(document, allow_partial=True)
        allowed = f" [partial run allowed (--allow-partial): {partial}]"
    missing = missing_groups(document, require) if verdict != "NOT CONFORMANT" else []
    if missing:
        return EXIT_INCOMPLETE, (f"INCOMPLETE: --require {','.join(require)}: not judged: " + " | ".join(missing)
                                 + f" (its own verdict: {verdict_words(document, verdict)})")
    tests = document["counts"]["tests"]
    found = [r for r in reasons(document) if not (allowed and r["kind"] == "deselected")]
    head = verdict_words(document, verdict) + allowed
    setup = [reason_line(r) for r in found if r["kind"] == "setup"]
    if setup:  # the run stopped before any suite test: the diagnosis is the whole story
        return EXIT_STATUS[verdict], f"{head}: " + " | ".join(setup)
    detail = f"{tests['total']} tests: {tests['passed']} passed, {tests['warn']} warned, {tests['failed']} failed, " \
             f"{tests['skipped']} skipped, {tests['error']} harness errors"
    shown = [reason_line(r) for r in found[:GATE_REASONS]]
    if len(found) > GATE_REASONS:
        shown.append(f"and {len(found) - GATE_REASONS} more reasons in the summary's 'reasons'")
    return EXIT_STATUS[verdict], f"{head}: {detail}" + ("; " + " | ".join(shown) if shown else "")
