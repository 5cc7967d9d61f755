"""Robustness: bad requests get an error envelope, never a success, never a crash, never a hang.

A crash is a 5xx without the documented unexpected-error envelope: the Error Codes page documents
unexpected errors under HTTP 500 (ERRATUM-UNEXPECTED-HTTP-STATUS), so a 5xx carrying that envelope
is an answer. Requests a reverse proxy answers by itself (a wrong method, an oversized body) may
also get the proxy's own 4xx page (ERRATUM-PROXY-PAGES).

Each request breaks exactly one thing and is otherwise a request the target would serve: the
configured account or payment, the target's credentials, and a correct signature over the
canonical form wherever one exists. So a target cannot hide a lenient parser behind error 1014,
and a target that "repairs" a bad request (defaults a missing field, serves GET) is caught by the
success it returns. Bodies Go cannot parse have no canonical form; they carry the signature of
the valid request they were derived from, so the header itself is well-formed.
"""

from __future__ import annotations

from typing import Any

import pytest

from agws_conformance import judge, signer
from agws_conformance.client import HarnessError, Response
from agws_conformance.endpoints import LOOKUP_METHODS, REQUEST_FIELDS

ENDPOINTS = LOOKUP_METHODS  # the read-only methods that look an identifier up (endpoints.METHODS)

# The field that names what is looked up; the other three are the target's credentials.
IDENTIFIER = {"user/check": "username", "action/status": "external_id"}

OVERSIZED_BYTES = 2 * 1024 * 1024

# A non-string value of each JSON type, derived from the field's valid value where it can be.
WRONG_TYPES = {
    "number": lambda valid: 42,
    "boolean": lambda valid: True,
    "null": lambda valid: None,
    "object": lambda valid: {"value": valid},
    "array": lambda valid: [valid],
}

EXTRA_FIELDS: dict[str, Any] = {"comment": "agws-conformance extra field", "amount": 100.5,
                                "flags": {"test": True}, "tags": ["a", "b"]}


def _valid_fields(agws, endpoint: str) -> dict[str, Any]:
    """The request the target would serve: configured account/payment when there is one."""
    return agws.fields(endpoint)


def _signature_for(agws, content: bytes, fallback: bytes) -> str:
    """The correct signature of ``content``, or (no canonical form) the signature of ``fallback``."""
    try:
        return agws.sign(content)
    except signer.SignerError:
        return agws.sign(fallback)


def _malformed(valid: bytes, identifier: bytes) -> dict[str, bytes]:
    """Bodies that are not JSON (or not UTF-8), each derived from the valid body."""
    marker = b'"' + identifier + b'":"'
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


MALFORMED_KINDS = ("truncated", "trailing-comma", "garbage-bytes", "invalid-utf8", "empty", "unclosed-string")


@pytest.mark.requirement("ROB-MALFORMED-JSON", "ROB-NO-CRASH")
@pytest.mark.parametrize("kind", MALFORMED_KINDS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_json(agws, endpoint: str, kind: str) -> None:
    """A body that is not valid JSON text gets an error envelope, never a success or a crash."""
    valid = agws.encode(_valid_fields(agws, endpoint))
    content = _malformed(valid, IDENTIFIER[endpoint].encode())[kind]
    resp = agws.send(endpoint, content=content, signature=_signature_for(agws, content, valid))
    agws.expect_refused(resp, requirement="ROB-MALFORMED-JSON")


NON_OBJECTS = {
    "array": lambda valid: b"[" + valid + b"]",
    "string": lambda valid: b'"' + valid.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"',
    "number": lambda valid: b"1407",
    "null": lambda valid: b"null",
    "true": lambda valid: b"true",
}


@pytest.mark.requirement("ROB-NON-OBJECT", "ROB-NO-CRASH")
@pytest.mark.parametrize("kind", tuple(NON_OBJECTS))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_non_object_body(agws, endpoint: str, kind: str) -> None:
    """Valid JSON that is not an object (the valid request wrapped in an array or a string, a number, null)."""
    valid = agws.encode(_valid_fields(agws, endpoint))
    content = NON_OBJECTS[kind](valid)
    resp = agws.send(endpoint, content=content, signature=_signature_for(agws, content, valid))
    agws.expect_refused(resp, requirement="ROB-NON-OBJECT")


def _send_value(agws, endpoint: str, fields: dict[str, Any]) -> Response:
    """Send fields that may hold non-strings, in struct order, signed over their canonical form."""
    ordered = {k: fields[k] for k in REQUEST_FIELDS[endpoint] if k in fields}
    ordered.update({k: v for k, v in fields.items() if k not in ordered})
    content = signer.canonical_from_value(ordered) if any(not isinstance(v, str) for v in ordered.values()) \
        else agws.encode(ordered)
    return agws.send(endpoint, content=content)


FIELD_CASES = [pytest.param(e, f, id=f"{e}-{f}") for e in ENDPOINTS for f in REQUEST_FIELDS[e]]


@pytest.mark.requirement("ROB-WRONG-TYPES", "ROB-NO-CRASH")
@pytest.mark.parametrize("json_type", tuple(WRONG_TYPES))
@pytest.mark.parametrize("endpoint,field", FIELD_CASES)
def test_wrong_type(agws, endpoint: str, field: str, json_type: str) -> None:
    """A required field holding a number, boolean, null, object or array instead of a string."""
    fields = _valid_fields(agws, endpoint)
    fields[field] = WRONG_TYPES[json_type](fields[field])
    agws.expect_refused(_send_value(agws, endpoint, fields), requirement="ROB-WRONG-TYPES")


@pytest.mark.requirement("ROB-MISSING-FIELD", "ROB-NO-CRASH")
@pytest.mark.parametrize("endpoint,field", FIELD_CASES)
def test_missing_field(agws, endpoint: str, field: str) -> None:
    """A request without one required field, correctly signed over what it does hold."""
    fields = _valid_fields(agws, endpoint)
    del fields[field]
    agws.expect_refused(agws.send(endpoint, fields), requirement="ROB-MISSING-FIELD")


@pytest.mark.requirement("ROB-EMPTY-FIELD", "ROB-NO-CRASH")
@pytest.mark.parametrize("endpoint,field", FIELD_CASES)
def test_empty_field(agws, endpoint: str, field: str) -> None:
    """A request with one required field equal to "" (signed under the target's declared variant)."""
    fields = _valid_fields(agws, endpoint)
    fields[field] = ""
    agws.expect_refused(agws.send(endpoint, fields), requirement="ROB-EMPTY-FIELD")


@pytest.mark.requirement("ROB-OVERSIZED", "ROB-NO-CRASH")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_oversized_body(agws, endpoint: str) -> None:
    """A 2 MiB body: the valid request padded with insignificant whitespace, so its canonical form
    (and signature) is the valid request's and its size is the only thing wrong with it."""
    valid = agws.encode(_valid_fields(agws, endpoint))
    content = valid[:1] + b" " * (OVERSIZED_BYTES - len(valid)) + valid[1:]
    try:
        resp = agws.send(endpoint, content=content)
    except HarnessError as exc:
        refused = exc.kind == "closed-during-upload"  # hanging up on a body too large is a refusal
        if not refused:
            raise  # any other failure to get an answer is harness trouble, never a verdict
        agws.check(refused, "ROB-OVERSIZED", f"the target closed the connection during the {len(content)}-byte upload")
        return
    agws.expect_refused(resp, requirement="ROB-OVERSIZED", proxy_page=True)


@pytest.mark.requirement("ROB-WRONG-METHOD", "ROB-NO-CRASH")
@pytest.mark.parametrize("method", ("GET", "PUT"))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_method(agws, endpoint: str, method: str) -> None:
    """The valid, signed request sent with GET or PUT instead of POST."""
    resp = agws.send(endpoint, _valid_fields(agws, endpoint), method=method)
    agws.expect_refused(resp, requirement="ROB-WRONG-METHOD", proxy_page=True)


def _outcome(resp: Response) -> str:
    if judge.is_success(resp):
        return "success"
    code = judge.error_code(resp)
    return f"error {code}" if code is not None else judge.describe(resp)


@pytest.mark.requirement("ROB-EXTRA-FIELDS", "ROB-NO-CRASH")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_extra_fields(agws, endpoint: str) -> None:
    """Undocumented fields (string, number, object, array), correctly signed: ignored (the same
    answer as without them) or rejected with an error envelope; which one is recorded."""
    fields = _valid_fields(agws, endpoint)
    baseline = agws.send(endpoint, fields)
    resp = _send_value(agws, endpoint, {**fields, **EXTRA_FIELDS})
    agws.judge([
        judge.no_crash(resp, "undocumented extra fields"),
        judge.Check("ROB-EXTRA-FIELDS", not judge.crashed(resp) and (judge.is_success(resp) or (
                        judge.envelope_ok(resp) and judge.observed_error_format(resp) is not None)),
                    f"expected the extra fields ignored or an error envelope, never a crash, observed {judge.describe(resp)}"),
    ])
    before, after = _outcome(baseline), _outcome(resp)
    verdict = "ignored" if before == after else "rejected"
    agws.observe("ROB-EXTRA-FIELDS", f"{endpoint}: undocumented fields {verdict} "
                                     f"(without them: {before}; with {sorted(EXTRA_FIELDS)}: {after})")


@pytest.mark.requirement("ROB-RESPONSE-TIME")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_response_time(agws, endpoint: str) -> None:
    """A valid request is answered completely within the per-request timeout.

    ``agws.send`` judges a time-out once the target has shown it is alive (an earlier answer, or
    this answer's status line before a stall); a target that never answers at all is harness
    trouble, not a verdict.
    """
    agws.send(endpoint, _valid_fields(agws, endpoint))  # judges ROB-RESPONSE-TIME, as every send does
