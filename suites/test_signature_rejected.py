"""Badly signed requests are refused with 1014, and a good signature does not widen its scope.

Each rejection is judged twice: the request must not be served (``SIG-REJECT-*``: neither a
success nor a documented expected error, so nothing about accounts or payments leaks), and the
refusal must be the documented unexpected error 1014 ``Invalid signature`` (``SIG-REJECT-FORMAT``).
Every rejection runs with a declared identifier and with an unknown one: a gateway that looks the
identifier up before it checks the signature answers 1407/1041 to a badly signed request for an
unknown account, which tells anyone without the secret which accounts exist (SIG-BEFORE-LOOKUP).

Scope: the signature proves the sender knows *a* project's secret, so a request naming another
project, agent or service code, correctly signed with this project's secret, must be refused with
a documented error that carries none of the account's or payment's data (ERRATUM-SCOPE-CODES).
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

import pytest

from agws_conformance import judge, signer
from agws_conformance.endpoints import LOOKUP_FIELDS, LOOKUP_METHODS, METHODS
from agws_conformance.findings import invariant

# Judged on every rejection besides each test's own rule: the served precondition and the 1014 shape.
REJECTION_RULES = ("SIG-ACCEPT-GO-BODY", *judge.unexpected_error_rules("SIG-REJECT-FORMAT"))

ENDPOINTS = LOOKUP_METHODS  # the read-only methods that look an identifier up (endpoints.METHODS)
IDENTIFIERS = [pytest.param("declared"),
               pytest.param("unknown", marks=pytest.mark.requirement("SIG-BEFORE-LOOKUP"))]


def expect_signature_rejected(agws, resp, *, requirement: str, identifier: str) -> None:
    """Not served (``requirement``; for an unknown identifier also SIG-BEFORE-LOOKUP), then the
    documented 1014 unexpected error (SIG-REJECT-FORMAT)."""
    __tracebackhide__ = True
    checks = [judge.signature_rejected(resp, requirement=requirement)]
    if identifier == "unknown":
        checks.append(judge.Check("SIG-BEFORE-LOOKUP", not judge.passed_signature_check(resp),
                                  "expected 1014 for a badly signed request naming an unknown identifier, observed "
                                  f"the identifier looked up: {judge.describe(resp)}"))
    agws.judge(checks)
    agws.expect_unexpected_error(resp, code=1014, requirement="SIG-REJECT-FORMAT")


def _refusal(resp) -> tuple[Any, ...]:
    """What a caller can tell refusals apart by: HTTP status, code and messages (not extra fields
    such as a request id, which legitimately differ)."""
    body = resp.json if isinstance(resp.json, dict) else {}
    result = body.get("result") if isinstance(body.get("result"), dict) else {}
    return resp.status, judge.error_code(resp), body.get("message"), result.get("message")


@pytest.mark.requirement("SIG-BEFORE-LOOKUP", "SIG-ACCEPT-GO-BODY")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_refusal_does_not_tell_declared_from_unknown(agws, endpoint: str) -> None:
    """A badly signed request naming a declared and an unknown identifier: both 1014 refusals are
    the same, or the refusal itself tells anyone without the secret which accounts and payments exist."""
    for how in ("missing", "wrong-secret"):
        answers = []
        for identifier in ("declared", "unknown"):
            content = agws.encode(_served_fields(agws, endpoint, identifier))
            signature = None if how == "missing" else agws.sign_with_secret(content, secrets.token_urlsafe(24))
            answers.append(agws.send(endpoint, content=content, signature=signature))
        if not all(judge.rejected_by_signature(r) for r in answers):
            continue  # not both refused with 1014: the SIG-REJECT-* tests judge that
        declared, unknown = (_refusal(r) for r in answers)
        agws.check(declared == unknown, "SIG-BEFORE-LOOKUP",
                   f"expected the same 1014 refusal ({how} signature) for a declared and an unknown identifier, "
                   f"observed (HTTP status, code, message, result.message) {declared} vs {unknown}")


def _served_fields(agws, endpoint: str, identifier: str) -> dict[str, str]:
    """The target's valid fields naming a declared (or an unknown) identifier; correctly signed,
    they are served (a success, or 1407/1041).

    A rejection test whose body would be refused anyway proves nothing about the signature check,
    so the good request is shown to be served first (once per run).
    """
    lookup = LOOKUP_FIELDS[endpoint]
    if identifier == "declared":
        value = agws.require_account().username if endpoint == "user/check" else agws.require_payment().external_id
    else:
        value = agws.stable_unknown(endpoint)
    fields = agws.fields(endpoint, **{lookup: value})
    agws.require_served(endpoint, fields)
    return fields


@pytest.mark.requirement("SIG-REJECT-MISSING", *REJECTION_RULES)
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_signature(agws, endpoint: str, identifier: str) -> None:
    resp = agws.send(endpoint, _served_fields(agws, endpoint, identifier), signature=None)
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-MISSING", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-EMPTY", *REJECTION_RULES)
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_empty_signature(agws, endpoint: str, identifier: str) -> None:
    resp = agws.send(endpoint, _served_fields(agws, endpoint, identifier), signature="")
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-EMPTY", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-WRONG-SECRET", *REJECTION_RULES)
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_secret(agws, endpoint: str, identifier: str) -> None:
    content = agws.encode(_served_fields(agws, endpoint, identifier))
    # A fresh random key: it cannot be the target's secret, and it is not secret itself.
    resp = agws.send(endpoint, content=content, signature=agws.sign_with_secret(content, secrets.token_urlsafe(24)))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-WRONG-SECRET", identifier=identifier)


def _tampered(agws, endpoint: str, identifier: str, how: str) -> tuple[bytes, bytes]:
    """(the body that is signed, the body that is sent): both would be served if signed correctly."""
    fields = _served_fields(agws, endpoint, identifier)
    lookup = LOOKUP_FIELDS[endpoint]
    if how == "value-changed":
        signed = dict(fields, **{lookup: fields[lookup] + "0"})
        return agws.encode(signed), agws.encode(fields)
    if how == "field-added":  # an undocumented field: documented gateways ignore it
        return agws.encode(fields), agws.encode(dict(fields, comment="added after signing"))
    if how == "field-removed":  # signed with an extra field, sent without it: what is sent is valid
        return agws.encode(dict(fields, comment="removed after signing")), agws.encode(fields)
    if how == "agent-changed":
        return agws.encode(dict(fields, agent=fields["agent"] + "x")), agws.encode(fields)
    raise ValueError(how)


@pytest.mark.requirement("SIG-REJECT-TAMPERED", *REJECTION_RULES)
@pytest.mark.parametrize("how", ["value-changed", "field-added", "field-removed", "agent-changed"])
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_body_changed_after_signing(agws, endpoint: str, identifier: str, how: str) -> None:
    signed, sent = _tampered(agws, endpoint, identifier, how)
    invariant(signer.canonicalize(signed) != signer.canonicalize(sent), "the tampering changed nothing")
    resp = agws.send(endpoint, content=sent, signature=agws.sign(signed))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-TAMPERED", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-TRUNCATED", *REJECTION_RULES)
@pytest.mark.parametrize("keep", [63, 32, 1])
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_truncated_signature(agws, endpoint: str, identifier: str, keep: int) -> None:
    content = agws.encode(_served_fields(agws, endpoint, identifier))
    resp = agws.send(endpoint, content=content, signature=agws.sign(content)[:keep])
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-TRUNCATED", identifier=identifier)


# The right signature with more after it: a gateway comparing only as many characters as it
# expects (a prefix match) accepts every one. Trailing whitespace is not among them: it is not
# part of an HTTP field value (RFC 9110, 5.5), so stripping it is right.
EXTENSIONS = {
    "one-hex-digit": lambda sig: sig + "0",
    "doubled": lambda sig: sig + sig,
    "text": lambda sig: sig + "x",
    "space-then-hex": lambda sig: sig + " 00",
}


@pytest.mark.requirement("SIG-REJECT-EXTENDED", *REJECTION_RULES)
@pytest.mark.parametrize("extension", sorted(EXTENSIONS))
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_extended_signature(agws, endpoint: str, identifier: str, extension: str) -> None:
    content = agws.encode(_served_fields(agws, endpoint, identifier))
    resp = agws.send(endpoint, content=content, signature=EXTENSIONS[extension](agws.sign(content)))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-EXTENDED", identifier=identifier)


def _altered(signature: str, at: int) -> str:
    """``signature`` with the hex digit at ``at`` changed: the same length, one digit off."""
    digit = "0" if signature[at] != "0" else "1"
    return signature[:at] + digit + signature[at + 1:]


@pytest.mark.requirement("SIG-REJECT-ALTERED", *REJECTION_RULES)
@pytest.mark.parametrize("position", [pytest.param(5, id="first-half"), pytest.param(60, id="second-half")])
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_altered_signature(agws, endpoint: str, identifier: str, position: int) -> None:
    content = agws.encode(_served_fields(agws, endpoint, identifier))
    resp = agws.send(endpoint, content=content, signature=_altered(agws.sign(content), position))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-ALTERED", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-OTHER-BODY", *REJECTION_RULES)
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_signature_of_another_body(agws, endpoint: str, identifier: str) -> None:
    """A signature the target has just seen as valid, replayed on a different body."""
    lookup = LOOKUP_FIELDS[endpoint]
    fields = _served_fields(agws, endpoint, identifier)
    other = agws.encode(dict(fields, **{lookup: fields[lookup] + "-other"}))
    other_signature = agws.sign(other)
    agws.send(endpoint, content=other, signature=other_signature)  # setup: the signature is now "known"
    resp = agws.send(endpoint, content=agws.encode(fields), signature=other_signature)
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-OTHER-BODY", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-SECRET-PREPENDED", *REJECTION_RULES)
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_secret_prepended(agws, endpoint: str, identifier: str) -> None:
    content = agws.encode(_served_fields(agws, endpoint, identifier))
    resp = agws.send(endpoint, content=content, signature=agws.sign_prepended(content))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-SECRET-PREPENDED", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-RAW-BYTES", *REJECTION_RULES)
@pytest.mark.parametrize("identifier", IDENTIFIERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_signature_over_sent_bytes(agws, endpoint: str, identifier: str) -> None:
    """The Go client's struct-order bytes hashed as sent instead of re-canonicalized."""
    content = agws.encode(_served_fields(agws, endpoint, identifier))
    # Precondition, not a conformance check: otherwise the raw-bytes signature would be the right one.
    invariant(content != signer.canonicalize(content, agws.variant), "the body is already canonical")
    resp = agws.send(endpoint, content=content, signature=agws.sign_raw_bytes(content))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-RAW-BYTES", identifier=identifier)


# -- scope -----------------------------------------------------------------------------------

SCOPES = {  # the requirement, and what the test appends to the target's value without a declared neighbour
    "project": ("SIG-SCOPE-PROJECT", "-agws-other-project"),
    "agent": ("SIG-SCOPE-AGENT", "-agws-other-agent"),
    "service_code": ("SIG-SCOPE-SERVICE", "9"),
}

# Keys that carry an account's or a payment's business data in a success.
BUSINESS_KEYS = frozenset({"info", "account_status", "fail_reason", "amount", "upper_commission", "status_message",
                           "username", "datetime"})


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def distinctive_values(success: Any, sent: list[str]) -> dict[str, str | float]:
    """Values of a success that would only be in another answer if it leaked the same data, keyed
    by their JSON text: strings of 5+ characters that are not part of anything the requests sent (a
    refusal may echo the project code it did not find), numbers with a fraction or 4+ digits."""
    result = success.get("result") if isinstance(success, dict) else None
    out: dict[str, str | float] = {}
    for leaf in _leaves({k: v for k, v in result.items() if k not in ("error_code", "message")}
                        if isinstance(result, dict) else {}):
        if isinstance(leaf, str) and len(leaf) >= 5 and not any(leaf in value for value in sent):
            out[json.dumps(leaf, ensure_ascii=False)[1:-1]] = leaf
        elif isinstance(leaf, (int, float)) and not isinstance(leaf, bool) and math.isfinite(leaf) and (
                leaf != int(leaf) or abs(leaf) >= 1000):
            out[json.dumps(leaf)] = float(leaf)
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _carries(leaves: list[Any], value: str | float) -> bool:
    """Whether a parsed answer holds ``value``, however it was written: escaped strings decode to
    the same text, and 4.67e3, 4670 and "4670" are the same number."""
    if isinstance(value, str):
        return any(isinstance(leaf, str) and value in leaf for leaf in leaves)
    return any(leaf == value if isinstance(leaf, (int, float)) and not isinstance(leaf, bool)
               else isinstance(leaf, str) and _number(leaf.strip()) == value for leaf in leaves)


def leaked(resp, success: Any, sent: list[str]) -> list[str]:
    """What of the account's or payment's data the answer carries: business keys in its result, or
    distinctive values of the success anywhere in it, searched in its bytes (an HTML page included)
    and in its parsed JSON (so that re-encoding hides nothing)."""
    found: list[str] = []
    body = resp.json if isinstance(resp.json, dict) else {}
    result = body.get("result")
    if isinstance(result, dict):
        found += [f"result.{k}" for k in sorted(BUSINESS_KEYS & set(result))
                  if result[k] not in (None, {}, "", [])]
        data = result.get("data")
        if isinstance(data, dict) and data:
            found.append("result.data")
    text = resp.body.decode("utf-8", "replace")
    leaves = _leaves(resp.json) if resp.json is not None else []
    codes = {str(judge.error_code(resp)), str(body.get("status_code"))}
    found += [f"value {t}" for t, v in sorted(distinctive_values(success, sent).items())
              if t not in codes and (t in text or _carries(leaves, v))][:5]
    return found


def _require_known(agws, endpoint: str) -> None:
    # Only a known account/payment can show a scope leak; without one the test could not fail,
    # so it is skipped instead.
    if endpoint == "user/check":
        agws.require_account()
    else:
        agws.require_payment()


@pytest.mark.parametrize("scope", [
    pytest.param("project", marks=pytest.mark.requirement("SIG-SCOPE-PROJECT")),
    pytest.param("agent", marks=pytest.mark.requirement("SIG-SCOPE-AGENT")),
    pytest.param("service_code", marks=pytest.mark.requirement("SIG-SCOPE-SERVICE")),
])
@pytest.mark.requirement("ERR-SCOPE-CODE", "ROB-NO-CRASH")
@pytest.mark.parametrize("endpoint", [pytest.param(e, marks=pytest.mark.requirement(METHODS[e].found)) for e in ENDPOINTS])
def test_other_scope_is_refused(agws, endpoint: str, scope: str) -> None:
    """Another project / agent / an unknown service code, signed with this project's secret: a
    documented error, with its documented code, carrying none of the account's or payment's data."""
    _require_known(agws, endpoint)
    requirement, suffix = SCOPES[scope]
    fields = agws.fields(endpoint)
    success = agws.require_served(endpoint, fields, success=True)
    original = dict(fields)
    fields[scope], _ = agws.other_scope(scope, fields[scope], suffix=suffix)
    resp = agws.send(endpoint, fields)
    leaks = leaked(resp, success, [*original.values(), *fields.values()])
    refused = not judge.is_success(resp) and judge.observed_error_format(resp) is not None
    agws.judge([
        judge.no_crash(resp, f"a request naming another {scope}"),
        judge.Check(requirement, refused and not leaks,
                    f"expected a documented error without the {'account' if endpoint == 'user/check' else 'payment'}'s "
                    f"data for {scope} {fields[scope]!r} (not this target's), observed {judge.describe(resp)}"
                    + (f" carrying {', '.join(leaks)}" if leaks else "")),
        judge.scope_code(resp, scope),
    ])


# Undocumented X-Signature spellings: recorded, never judged (INFO).
SPELLINGS = {
    "uppercase hex": str.upper,
    "mixed-case hex": lambda s: s[:32].upper() + s[32:],
    "prefixed sha256=": lambda s: "sha256=" + s,
}


@pytest.mark.requirement("SIG-INFO-UPPERCASE")
@pytest.mark.method("user/check")
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_undocumented_signature_spellings(agws, spelling: str) -> None:
    endpoint = "user/check"
    content = agws.encode(agws.fields(endpoint))
    resp = agws.send(endpoint, content=content, signature=SPELLINGS[spelling](agws.sign(content)))
    if judge.passed_signature_check(resp):
        verdict = "accepted"
    elif judge.rejected_by_signature(resp):
        verdict = "rejected with 1014"
    else:
        verdict = "refused otherwise"
    agws.observe("SIG-INFO-UPPERCASE", f"a correct signature written {spelling}: {verdict} ({judge.describe(resp)})")
