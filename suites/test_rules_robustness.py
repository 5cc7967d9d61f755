"""Robustness, on every method of the registry: bad requests get an error envelope, never a
success, never a crash, never a hang.

A crash is a 5xx without the documented unexpected-error envelope: the Error Codes page documents
unexpected errors under HTTP 500 (ERRATUM-UNEXPECTED-HTTP-STATUS), so a 5xx carrying that envelope
is an answer; so is a dropped connection, judged ROB-NO-CRASH when the target serves the next valid
request (``Agws.send(must_refuse=...)``). Requests a reverse proxy answers by itself (a wrong
method, an oversized body) may also get the proxy's own 4xx page (ERRATUM-PROXY-PAGES).

Each request breaks exactly one thing and is otherwise a request the target would serve
(``rules.served_request``), correctly signed over the canonical form wherever one exists; bodies
Go cannot parse carry the signature of the valid request they were derived from. A target that
"repairs" a bad request is caught by the success it returns, and for a writing method by what the
request created (PAY-REFUSED-CREATES-NOTHING).

Writing methods count every request against ``[write] max_payments``; for them the cases that only
vary the same defect are sampled (``WRITE_SAMPLE``): every rule still runs on every method.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from agws_conformance import judge, schemas, signer
from agws_conformance.client import HarnessError, Response
from agws_conformance.endpoints import METHODS, Method
from agws_conformance.plugin import rules

OVERSIZED_BYTES = 2 * 1024 * 1024

NON_STRINGS: dict[str, Callable[[Any], Any]] = {
    "number": lambda valid: 42,
    "boolean": lambda valid: True,
    "null": lambda valid: None,
    "object": lambda valid: {"value": valid},
    "array": lambda valid: [valid],
}
NON_NUMBERS: dict[str, Callable[[Any], Any]] = {
    "string": lambda valid: str(valid),
    "boolean": lambda valid: True,
    "null": lambda valid: None,
    "object": lambda valid: {"value": valid},
    "array": lambda valid: [valid],
}
"""A value of each other JSON type than the field's documented one, derived from its valid value."""

EXTRA_FIELDS: dict[str, Any] = {"comment": "agws-conformance extra field", "amount": 100.5,
                                "flags": {"test": True}, "tags": ["a", "b"]}

MALFORMED_KINDS = ("truncated", "trailing-comma", "garbage-bytes", "invalid-utf8", "empty", "unclosed-string")

NON_OBJECTS: dict[str, Callable[[bytes], bytes]] = {
    "array": lambda valid: b"[" + valid + b"]",
    "string": lambda valid: b'"' + valid.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"',
    "number": lambda valid: b"1407",
    "null": lambda valid: b"null",
    "true": lambda valid: b"true",
}

WRONG_METHODS = ("GET", "PUT")

WRITE_SAMPLE: dict[str, tuple[str, ...]] = {
    "malformed": ("truncated", "invalid-utf8"),
    "non-object": ("array",),
    "wrong-method": ("GET",),
}
"""For a writing method (every request counted against max_payments): the cases kept of families
that vary one defect; field-wise families keep every field with one wrong type."""


def sample(method: Method, family: str, values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v for v in values if v in WRITE_SAMPLE[family]) if method.writes else values


def field_type(method: Method, name: str) -> str:
    """The documented JSON type of a request field ("number" or "string")."""
    prop = schemas.load_schema(method.request_schema).get("properties", {}).get(name, {})
    return "number" if prop.get("type") == "number" else "string"


def wrong_values(method: Method, name: str) -> dict[str, Callable[[Any], Any]]:
    values = NON_NUMBERS if field_type(method, name) == "number" else NON_STRINGS
    return dict(list(values.items())[:1]) if method.writes else values


def _signature_for(agws, content: bytes, fallback: bytes) -> str:
    """The correct signature of ``content``, or (no canonical form) the signature of ``fallback``."""
    try:
        return agws.sign(content)
    except signer.SignerError:
        return agws.sign(fallback)


def _text_field(method: Method, fields: dict[str, Any]) -> str:
    """The field whose bytes the malformed bodies cut into: the looked-up one, else the first string."""
    if method.lookup is not None:
        return method.lookup
    return next(k for k, v in fields.items() if isinstance(v, str))


def malformed(valid: bytes, name: bytes) -> dict[str, bytes]:
    """Bodies that are not JSON (or not UTF-8), each derived from the valid body."""
    marker = b'"' + name + b'":"'
    at = valid.index(marker) + len(marker)
    return {
        "truncated": valid[: len(valid) // 2],
        "trailing-comma": valid[:-1] + b",}",
        "garbage-bytes": b"\x8f\x00\xfe\xff<html>\x1b[0m" + valid[3:9],
        # Go's decoder would turn these bytes into U+FFFD (then look up an unknown identifier);
        # either way, the bytes must never be "repaired" into the configured identifier.
        "invalid-utf8": valid[:at] + b"\xc3\x28\xff" + valid[at:],
        "empty": b"",
        "unclosed-string": valid[:at] + b"abc",
    }


def refused(refusal: rules.Refusal, resp: Response, requirement: str, *, proxy_page: bool = False) -> None:
    """An error envelope (or a proxy's 4xx page), never a success, never a crash, nothing created."""
    __tracebackhide__ = True
    refusal.judge(resp, [c for c in judge.refused(resp, requirement=requirement, proxy_page=proxy_page)
                         if c.requirement != "ROB-NO-CRASH"])


def encoded(method: Method, fields: dict[str, Any], agws) -> bytes:
    """Fields in struct order: as the Go client writes them where every value is a string or a
    number, else as their canonical form (a Go struct cannot hold the others)."""
    ordered = {k: fields[k] for k in method.fields if k in fields}
    ordered.update({k: v for k, v in fields.items() if k not in ordered})
    if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in ordered.values()):
        return agws.encode(ordered)
    return signer.canonical_from_value(ordered)


@pytest.mark.requirement("ROB-MALFORMED-JSON")
@pytest.mark.parametrize("method,case", rules.method_params(
    lambda m: [(k, k, ()) for k in sample(m, "malformed", MALFORMED_KINDS)]))
def test_rob_malformed_json(agws, method: str, case: str) -> None:
    """A body that is not valid JSON text gets an error envelope, never a success or a crash."""
    m = METHODS[method]
    fields = rules.served_request(agws, method)
    valid = agws.encode(fields)
    content = malformed(valid, _text_field(m, fields).encode())[case]
    refusal = rules.Refusal(agws, method, fields, f"a body that is not JSON ({case})")
    resp = refusal.send(content=content, signature=_signature_for(agws, content, valid))
    refused(refusal, resp, "ROB-MALFORMED-JSON")


@pytest.mark.requirement("ROB-NON-OBJECT")
@pytest.mark.parametrize("method,case", rules.method_params(
    lambda m: [(k, k, ()) for k in sample(m, "non-object", tuple(NON_OBJECTS))]))
def test_rob_non_object(agws, method: str, case: str) -> None:
    """Valid JSON that is not an object (the valid request wrapped in an array or a string, a number, null)."""
    fields = rules.served_request(agws, method)
    valid = agws.encode(fields)
    content = NON_OBJECTS[case](valid)
    refusal = rules.Refusal(agws, method, fields, f"a body that is not a JSON object ({case})")
    resp = refusal.send(content=content, signature=_signature_for(agws, content, valid))
    refused(refusal, resp, "ROB-NON-OBJECT")


@pytest.mark.requirement("ROB-WRONG-TYPES")
@pytest.mark.parametrize("method,case", rules.method_params(
    lambda m: [(f"{f}-{t}", (f, t), ()) for f in m.fields for t in wrong_values(m, f)]))
def test_rob_wrong_types(agws, method: str, case: tuple[str, str]) -> None:
    """A required field holding a value of another JSON type than the documented one."""
    m = METHODS[method]
    name, json_type = case
    fields = rules.served_request(agws, method)
    bad = dict(fields, **{name: wrong_values(m, name)[json_type](fields[name])})
    refusal = rules.Refusal(agws, method, fields, f"{name} as a JSON {json_type}")
    refused(refusal, refusal.send(content=encoded(m, bad, agws)), "ROB-WRONG-TYPES")


@pytest.mark.requirement("ROB-MISSING-FIELD")
@pytest.mark.parametrize("method,case", rules.method_params(lambda m: [(f, f, ()) for f in m.fields]))
def test_rob_missing_field(agws, method: str, case: str) -> None:
    """A request without one required field, correctly signed over what it does hold."""
    fields = rules.served_request(agws, method)
    refusal = rules.Refusal(agws, method, fields, f"a request without {case}")
    refused(refusal, refusal.send({k: v for k, v in fields.items() if k != case}), "ROB-MISSING-FIELD")


@pytest.mark.requirement("ROB-EMPTY-FIELD")
@pytest.mark.parametrize("method,case", rules.method_params(
    lambda m: [(f, f, ()) for f in m.fields if field_type(m, f) == "string"]))
def test_rob_empty_field(agws, method: str, case: str) -> None:
    """A request with one required string field equal to "" (signed under the target's variant)."""
    fields = rules.served_request(agws, method)
    refusal = rules.Refusal(agws, method, fields, f"{case} empty")
    refused(refusal, refusal.send(dict(fields, **{case: ""})), "ROB-EMPTY-FIELD")


@pytest.mark.requirement("ROB-OVERSIZED")
@pytest.mark.parametrize("method", rules.method_params())
def test_rob_oversized(agws, method: str) -> None:
    """A 2 MiB body: the valid request padded with insignificant whitespace, so its canonical form
    (and signature) is the valid request's and its size is the only thing wrong with it."""
    fields = rules.served_request(agws, method)
    valid = agws.encode(fields)
    content = valid[:1] + b" " * (OVERSIZED_BYTES - len(valid)) + valid[1:]
    refusal = rules.Refusal(agws, method, fields, f"a {len(content)}-byte body")
    try:
        resp = refusal.send(content=content, hang_up_refuses=True)
    except HarnessError as exc:
        hung_up = exc.kind == "closed-during-upload"  # hanging up on a body too large is a refusal
        if not hung_up:
            raise  # any other failure to get an answer is harness trouble, never a verdict
        refusal.judge_hang_up(hung_up, f"the target closed the connection during the {len(content)}-byte upload")
        return
    refused(refusal, resp, "ROB-OVERSIZED", proxy_page=True)


@pytest.mark.requirement("ROB-WRONG-METHOD")
@pytest.mark.parametrize("method,case", rules.method_params(
    lambda m: [(v, v, ()) for v in sample(m, "wrong-method", WRONG_METHODS)]))
def test_rob_wrong_method(agws, method: str, case: str) -> None:
    """The valid, signed request sent with GET or PUT instead of POST."""
    fields = rules.served_request(agws, method)
    refusal = rules.Refusal(agws, method, fields, f"the request sent with {case}")
    refused(refusal, refusal.send(method=case), "ROB-WRONG-METHOD", proxy_page=True)


def _outcome(resp: Response) -> str:
    if judge.is_success(resp):
        return "success"
    code = judge.error_code(resp)
    return f"error {code}" if code is not None else judge.describe(resp)


@pytest.mark.requirement("ROB-EXTRA-FIELDS", "ROB-NO-CRASH")
@pytest.mark.parametrize("method", rules.method_params(rules=rules.precondition_rules))
def test_rob_extra_fields(agws, method: str) -> None:
    """Undocumented fields (string, number, object, array), correctly signed: ignored (the same
    answer as the request without them) or rejected with an error envelope; which one is recorded."""
    m = METHODS[method]
    fields = rules.served_request(agws, method)
    extra = {k: v for k, v in EXTRA_FIELDS.items() if k not in m.fields and k not in m.optional}
    baseline = None if m.writes else agws.send(method, fields)
    resp = rules.send(agws, method, encoded(m, {**fields, **extra}, agws), why="undocumented extra fields")
    agws.judge([
        judge.no_crash(resp, "undocumented extra fields"),
        judge.Check("ROB-EXTRA-FIELDS", not judge.crashed(resp) and (
                        judge.is_success(resp) or (m.effect is not None and rules.created(m, resp)) or (
                            judge.envelope_ok(resp) and judge.observed_error_format(resp) is not None)),
                    f"expected the extra fields ignored or an error envelope, never a crash, observed {judge.describe(resp)}"),
    ])
    after = _outcome(resp)
    if baseline is None:
        agws.observe("ROB-EXTRA-FIELDS", f"{method}: with undocumented fields {sorted(extra)}: {after}")
        return
    before = _outcome(baseline)
    verdict = "ignored" if before == after else "rejected"
    agws.observe("ROB-EXTRA-FIELDS", f"{method}: undocumented fields {verdict} "
                                     f"(without them: {before}; with {sorted(extra)}: {after})")


@pytest.mark.requirement("ROB-RESPONSE-TIME")
@pytest.mark.parametrize("method", rules.method_params(rules=rules.precondition_rules))
def test_rob_response_time(agws, method: str) -> None:
    """A valid request is answered completely within the per-request timeout.

    ``agws.send`` judges a time-out once the target has shown it is alive (an earlier answer, or
    this answer's status line before a stall); a target that never answers at all is harness
    trouble, not a verdict.
    """
    fields = rules.served_request(agws, method)
    rules.send(agws, method, agws.encode(fields), why="a valid request, timed")  # judges ROB-RESPONSE-TIME
