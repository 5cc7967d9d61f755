"""The mock as an inspector: judge the integrator's own client by the requests it sends.

The suite judges a gateway; an integrator pointing its client at ``agws-conformance mock --inspect``
gets the other side judged: every request against its method's request schema, its headers and its
signature (with the doctor's diagnosis and fix), at the levels of ``schemas/integrator-requirements.json``.
The mock's answers do not change (a wrong signature still gets exactly the gateway's 1014); the
diagnosis goes to the report (``report/inspector.py``) and the mock's log, never to the client.

Memory stays bounded on a long session: the first ``max_requests`` requests are kept in full
(bodies clipped), later ones only counted; the per-requirement and per-recipe tallies cover all.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from jsonschema.validators import Draft202012Validator

from agws_conformance import doctor, schemas
from agws_conformance.catalogue import Requirement
from agws_conformance.endpoints import METHODS
from agws_conformance.resources import data_dir
from agws_conformance.signer import Variant

DEFAULT_MAX_REQUESTS = 500
BODY_EXCERPT = 2048
"""Characters of a body kept per request (a report, not a transcript)."""
SIDE = "integrator client"


def load_requirements() -> dict[str, Requirement]:
    """The integrator-side requirements, validated against the catalogue's own schema.

    Kept apart from ``requirements.json``: those judge a gateway, and a gateway run must not count
    these as not run.
    """
    folder = data_dir("schemas")
    document = json.loads((folder / "integrator-requirements.json").read_text(encoding="utf-8"))
    schema = json.loads((folder / "requirements.schema.json").read_text(encoding="utf-8"))
    error = next(iter(Draft202012Validator(schema).iter_errors(document)), None)
    if error is not None:
        raise ValueError(f"integrator-requirements.json: {error.json_path}: {error.message}")
    return {item["id"]: Requirement(id=item["id"], level=item["level"], area=item["area"], source=item["source"],
                                    summary=item["summary"], level_erratum=item.get("level_erratum"))
            for item in document["requirements"]}


REQUIREMENTS = load_requirements()


@dataclass(frozen=True)
class Seen:
    """One request as the mock received it (what the inspector needs; no other header is kept)."""

    http_method: str
    path: str
    endpoint: str | None
    content_type: str | None
    signature: str | None
    raw: bytes | None
    """The body; None when the mock did not read it (refused before: 405, 413, 415)."""
    http_status: int
    status_code: int | None


def _finding(requirement: str, outcome: str, message: str) -> dict[str, str]:
    return {"requirement": requirement, "level": REQUIREMENTS[requirement].level, "outcome": outcome,
            "message": message}


def _is_json_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json"


def judge(seen: Seen, secret: str, variant: Variant) -> tuple[list[dict[str, str]], doctor.Diagnosis | None]:
    """The findings for one request, and the doctor's diagnosis of its signature (when judged)."""
    if seen.endpoint is None or seen.endpoint not in METHODS:
        return [_finding("INT-ENDPOINT", "fail", f"{seen.http_method} {seen.path[:200]} is no documented method")], None
    if seen.http_method != "POST":
        return [_finding("INT-ENDPOINT", "fail", f"{seen.http_method} is not allowed; every method is a POST")], None
    findings = [_finding("INT-ENDPOINT", "pass", "")]
    if seen.content_type is None:
        findings.append(_finding("INT-CONTENT-TYPE", "fail", "no Content-Type header; send application/json"))
    elif not _is_json_type(seen.content_type):
        findings.append(_finding("INT-CONTENT-TYPE", "fail",
                                 f"Content-Type {seen.content_type[:80]!r}; send application/json"))
    else:
        findings.append(_finding("INT-CONTENT-TYPE", "pass", ""))
    if seen.raw is None:
        if seen.http_status == 413:
            findings.append(_finding("INT-REQUEST-SCHEMA", "fail", "the body is larger than the mock accepts"))
        return findings, None
    method = METHODS[seen.endpoint]
    try:
        value = json.loads(seen.raw)
    except (ValueError, RecursionError) as exc:
        findings.append(_finding("INT-REQUEST-SCHEMA", "fail", f"the body is not JSON: {str(exc).splitlines()[0]}"))
        value = None
    else:
        problems = schemas.errors(method.request_schema, value)
        findings.append(_finding("INT-REQUEST-SCHEMA", "fail" if problems else "pass", "; ".join(problems[:3])))
        if not problems:
            extra = [p for p in schemas.errors(method.request_schema, value, strict=True) if p not in problems]
            if extra:
                findings.append(_finding("INT-UNDOCUMENTED-FIELDS", "info", "; ".join(extra[:3])))
    found = doctor.diagnose(seen.raw, seen.signature, secret, variant)
    findings.append(_finding("INT-SIGNATURE", "pass" if found.ok else "fail", "" if found.ok else found.summary()))
    if found.ok:
        findings.append(_finding("INT-SIGNATURE-VARIANT", "info", f"right under {', '.join(found.variants)}"))
    return findings, found


class Inspector:
    """Collects the judged requests of one mock session; thread-safe (the server thread observes,
    the main thread writes the report)."""

    def __init__(self, secret: str, variant: Variant, *, max_requests: int = DEFAULT_MAX_REQUESTS,
                 log: Callable[[str], None] | None = None) -> None:
        if max_requests < 0:
            raise ValueError("max_requests must not be negative")
        self._secret = secret
        self.variant = variant
        self.max_requests = max_requests
        self.log = log
        self.started = datetime.now(timezone.utc)
        self._lock = threading.Lock()
        self.seen = 0
        self.requests: list[dict[str, Any]] = []
        self.tally: dict[str, Counter[str]] = {rid: Counter() for rid in REQUIREMENTS}
        self.recipes: Counter[str] = Counter()
        self.first_with: dict[str, int] = {}

    def observe(self, seen: Seen) -> list[dict[str, str]]:
        """Judge one request, record it, log what is wrong; returns its findings."""
        findings, found = judge(seen, self._secret, self.variant)
        with self._lock:
            self.seen += 1
            number = self.seen
            for f in findings:
                self.tally[f["requirement"]][f["outcome"]] += 1
            if found is not None and not found.ok:
                label = found.recipe.id if found.recipe else found.verdict
                self.recipes[label] += 1
                self.first_with.setdefault(label, number)
            if len(self.requests) < self.max_requests:
                body = None if seen.raw is None else seen.raw[:BODY_EXCERPT * 4].decode("utf-8", "replace")[:BODY_EXCERPT]
                self.requests.append({
                    "n": number, "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                    "method": seen.http_method, "path": seen.path[:300], "endpoint": seen.endpoint,
                    "http_status": seen.http_status, "status_code": seen.status_code, "findings": findings,
                    "signature": found.as_dict() if found is not None else None, "body": body,
                    "body_clipped": seen.raw is not None and len(seen.raw) > len((body or "").encode("utf-8")),
                })
        if self.log is not None:
            for f in findings:
                if f["outcome"] == "fail":
                    self.log(f"inspector: request #{number} {seen.http_method} {seen.path[:120]}: "
                             f"{f['requirement']} failed: {f['message']}")
        return findings

    def status(self, requirement: str) -> str:
        counts = self.tally[requirement]
        if counts["fail"]:
            return "fail"
        if counts["info"]:
            return "info"
        return "pass" if counts["pass"] else "not run"

    def verdict(self) -> str:
        """The gateway report's verdict words, for the client's side."""
        with self._lock:
            if self.seen == 0:
                return "INCOMPLETE"
            statuses = {rid: self.status(rid) for rid in REQUIREMENTS}
        if any(s == "fail" and REQUIREMENTS[r].level == "MUST" for r, s in statuses.items()):
            return "NOT CONFORMANT"
        if any(s == "not run" and REQUIREMENTS[r].level == "MUST" for r, s in statuses.items()):
            return "INCOMPLETE"
        if any(s == "fail" and REQUIREMENTS[r].level == "SHOULD" for r, s in statuses.items()):
            return "CONFORMANT WITH WARNINGS"
        return "CONFORMANT"

    def document(self) -> dict[str, Any]:
        """The JSON report (``--inspect-json``); the HTML one renders the same document."""
        verdict = self.verdict()
        with self._lock:
            requirements = [{
                "id": r.id, "level": r.level, "summary": r.summary, "status": self.status(r.id),
                "counts": {k: self.tally[r.id][k] for k in ("pass", "fail", "info")},
            } for r in REQUIREMENTS.values()]
            diagnoses = [{"diagnosis": label, "count": count, "first_request": self.first_with[label],
                          "title": doctor.RECIPES[label].title if label in doctor.RECIPES else None,
                          "fix": doctor.RECIPES[label].fix if label in doctor.RECIPES else None}
                         for label, count in self.recipes.most_common()]
            return {
                "side": SIDE, "verdict": verdict, "gateway_variant": self.variant.name,
                "started": self.started.isoformat(timespec="seconds"),
                "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "requests_seen": self.seen, "requests_kept": len(self.requests),
                "requests_dropped": self.seen - len(self.requests),
                "requirements": requirements, "signature_diagnoses": diagnoses,
                "requests": list(self.requests),
            }
