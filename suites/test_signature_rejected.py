"""Badly signed requests are refused with 1014, and a good signature does not widen its scope.

Each rejection is judged twice: the request must not be served (``SIG-REJECT-*``: neither a
success nor a documented expected error, so nothing about accounts or payments leaks), and the
refusal must be the documented unexpected error 1014 ``Invalid signature`` (``SIG-REJECT-FORMAT``).

Scope: the signature proves the sender knows *a* project's secret, so a request naming another
project or agent, correctly signed with this project's secret, must not succeed.
"""

from __future__ import annotations

import secrets

import pytest

from agws_conformance import judge, signer

# Judged on every rejection besides each test's own rule (judge.unexpected_error).
REJECTION_RULES = ("SIG-ACCEPT-GO-BODY", "SIG-REJECT-FORMAT", "ENV-SHAPE", "ENV-CONTENT-TYPE", "ENV-SUCCESS-CODE-ZERO",
                   "SCH-ERROR-UNEXPECTED", "ENV-STATUS-FALSE-IFF-UNEXPECTED", "HTTP-UNEXPECTED-FAILING-STATUS",
                   "ERR-CODE-MESSAGE")

ENDPOINTS = ("user/check", "action/status")
LOOKUP_FIELD = {"user/check": "username", "action/status": "external_id"}


def expect_signature_rejected(agws, resp, *, requirement: str) -> None:
    """Not served (``requirement``), then the documented 1014 unexpected error (SIG-REJECT-FORMAT)."""
    __tracebackhide__ = True
    agws.judge([judge.signature_rejected(resp, requirement=requirement)])
    agws.expect_unexpected_error(resp, code=1014, requirement="SIG-REJECT-FORMAT")


def _served_fields(agws, endpoint: str) -> dict[str, str]:
    """The target's valid fields: correctly signed, they are served (a success where it has data).

    A rejection test whose body would be refused anyway proves nothing about the signature check,
    so the good request is shown to be served first (once per run).
    """
    fields = agws.fields(endpoint)
    agws.require_served(endpoint, fields)
    return fields


@pytest.mark.requirement("SIG-REJECT-MISSING", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_signature(agws, endpoint: str) -> None:
    resp = agws.send(endpoint, _served_fields(agws, endpoint), signature=None)
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-MISSING")


@pytest.mark.requirement("SIG-REJECT-EMPTY", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_empty_signature(agws, endpoint: str) -> None:
    resp = agws.send(endpoint, _served_fields(agws, endpoint), signature="")
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-EMPTY")


@pytest.mark.requirement("SIG-REJECT-WRONG-SECRET", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_secret(agws, endpoint: str) -> None:
    content = agws.encode(_served_fields(agws, endpoint))
    # A fresh random key: it cannot be the target's secret, and it is not secret itself.
    resp = agws.send(endpoint, content=content, signature=agws.sign_with_secret(content, secrets.token_urlsafe(24)))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-WRONG-SECRET")


def _tampered(agws, endpoint: str, how: str) -> tuple[bytes, bytes]:
    """(the body that is signed, the body that is sent): both would be served if signed correctly."""
    fields = _served_fields(agws, endpoint)
    lookup = LOOKUP_FIELD[endpoint]
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


@pytest.mark.requirement("SIG-REJECT-TAMPERED", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("how", ["value-changed", "field-added", "field-removed", "agent-changed"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_body_changed_after_signing(agws, endpoint: str, how: str) -> None:
    signed, sent = _tampered(agws, endpoint, how)
    assert signer.canonicalize(signed) != signer.canonicalize(sent), "test bug: the tampering changed nothing"
    resp = agws.send(endpoint, content=sent, signature=agws.sign(signed))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-TAMPERED")


@pytest.mark.requirement("SIG-REJECT-TRUNCATED", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("keep", [63, 32, 1])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_truncated_signature(agws, endpoint: str, keep: int) -> None:
    content = agws.encode(_served_fields(agws, endpoint))
    resp = agws.send(endpoint, content=content, signature=agws.sign(content)[:keep])
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-TRUNCATED")


@pytest.mark.requirement("SIG-REJECT-OTHER-BODY", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_signature_of_another_body(agws, endpoint: str) -> None:
    """A signature the target has just seen as valid, replayed on a different body."""
    lookup = LOOKUP_FIELD[endpoint]
    fields = _served_fields(agws, endpoint)
    other = agws.encode(dict(fields, **{lookup: fields[lookup] + "-other"}))
    other_signature = agws.sign(other)
    agws.send(endpoint, content=other, signature=other_signature)  # setup: the signature is now "known"
    resp = agws.send(endpoint, content=agws.encode(fields), signature=other_signature)
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-OTHER-BODY")


@pytest.mark.requirement("SIG-REJECT-SECRET-PREPENDED", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_secret_prepended(agws, endpoint: str) -> None:
    content = agws.encode(_served_fields(agws, endpoint))
    resp = agws.send(endpoint, content=content, signature=agws.sign_prepended(content))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-SECRET-PREPENDED")


@pytest.mark.requirement("SIG-REJECT-RAW-BYTES", "SIG-REJECT-FORMAT")
@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_signature_over_sent_bytes(agws, endpoint: str) -> None:
    """The Go client's struct-order bytes hashed as sent instead of re-canonicalized."""
    content = agws.encode(_served_fields(agws, endpoint))
    # Precondition, not a conformance check: otherwise the raw-bytes signature would be the right one.
    assert content != signer.canonicalize(content, agws.target.variant), "test bug: the body is already canonical"
    resp = agws.send(endpoint, content=content, signature=agws.sign_raw_bytes(content))
    expect_signature_rejected(agws, resp, requirement="SIG-REJECT-RAW-BYTES")


SCOPES = {
    "project": ("SIG-SCOPE-PROJECT", "-agws-other-project"),
    "agent": ("SIG-SCOPE-AGENT", "-agws-other-agent"),
    "service_code": ("SIG-SCOPE-SERVICE", "9"),
}


def _require_known(agws, endpoint: str) -> None:
    # Only a known account/payment can show a scope leak as a success; without one the test
    # could not fail, so it is skipped instead.
    if endpoint == "user/check":
        agws.require_account()
    else:
        agws.require_payment()


@pytest.mark.parametrize("scope", [
    pytest.param("project", marks=pytest.mark.requirement("SIG-SCOPE-PROJECT", "ROB-NO-5XX", "CHK-ACCOUNT-FOUND", "STS-PAYMENT-FOUND")),
    pytest.param("agent", marks=pytest.mark.requirement("SIG-SCOPE-AGENT", "ROB-NO-5XX", "CHK-ACCOUNT-FOUND", "STS-PAYMENT-FOUND")),
    pytest.param("service_code", marks=pytest.mark.requirement("SIG-SCOPE-SERVICE", "ROB-NO-5XX", "CHK-ACCOUNT-FOUND", "STS-PAYMENT-FOUND")),
])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_other_scope_does_not_succeed(agws, endpoint: str, scope: str) -> None:
    """Another project / agent / an unknown service code, signed with this project's secret."""
    _require_known(agws, endpoint)
    requirement, suffix = SCOPES[scope]
    fields = agws.fields(endpoint)
    agws.require_served(endpoint, fields, success=True)
    fields[scope] += suffix
    resp = agws.send(endpoint, fields)
    agws.check(not judge.is_success(resp), requirement,
               f"expected an error for {scope} {fields[scope]!r} (not this target's), observed a success: "
               f"{judge.describe(resp)}")
    agws.check(resp.status < 500, "ROB-NO-5XX",
               f"expected no 5xx for a request naming another {scope}, observed HTTP {resp.status}")


# Undocumented X-Signature spellings: recorded, never judged (INFO). Surrounding whitespace is not
# among them: it is not part of an HTTP field value (RFC 9110, 5.5), so no client can send it.
SPELLINGS = {
    "uppercase hex": str.upper,
    "mixed-case hex": lambda s: s[:32].upper() + s[32:],
    "prefixed sha256=": lambda s: "sha256=" + s,
}


@pytest.mark.requirement("SIG-INFO-UPPERCASE")
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
