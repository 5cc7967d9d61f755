"""Badly signed requests are refused with 1014, on every method of the registry.

Each rejection is judged twice: the request must not be served (``SIG-REJECT-*``: neither a
success nor a documented expected error, nor, for a writing method, anything it creates), and the
refusal must be the documented unexpected error 1014 ``Invalid signature`` (``SIG-REJECT-FORMAT``).
Every rejection starts from a request the target would serve, correctly signed
(``rules.served_request``); a writing method's refusal is followed by proof that it created nothing
(PAY-REFUSED-CREATES-NOTHING). Lookup methods run each case with a declared identifier and with an
unknown one: a gateway that looks the identifier up before it checks the signature answers
1407/1041 to a badly signed request for an unknown account, an enumeration oracle (SIG-BEFORE-LOOKUP).

Cases are derived from ``endpoints.METHODS`` (``plugin/rules.py``): a new method gets every one.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Callable, Mapping

import pytest

from agws_conformance import judge, signer
from agws_conformance.endpoints import METHODS, Method
from agws_conformance.findings import invariant
from agws_conformance.plugin import rules

REJECTION_RULES = judge.unexpected_error_rules("SIG-REJECT-FORMAT")


def cases(values: Mapping[str, Any]) -> Callable[[Method], list[rules.Case]]:
    """Each value, for each identifier the method is tried with (``declared-63``, or ``63`` where
    the method looks nothing up)."""
    def per_method(method: Method) -> list[rules.Case]:
        out = []
        for ident, _, extra in rules.identifier_cases(method):
            for value_id, value in values.items():
                parts = [p for p in (ident if len(rules.identifiers(method)) > 1 else "", value_id) if p]
                out.append(("-".join(parts), (ident, value), extra))
        return out
    return per_method


PLAIN = cases({"": None})


def expect_rejected(agws, refusal: rules.Refusal, resp, *, requirement: str, identifier: str) -> None:
    """Not served (``requirement``; for an unknown identifier also SIG-BEFORE-LOOKUP), nothing
    created, then the documented 1014 unexpected error (SIG-REJECT-FORMAT)."""
    __tracebackhide__ = True
    method = METHODS[refusal.endpoint]
    served = judge.passed_signature_check(resp) or (method.effect is not None and rules.created(method, resp))
    checks = [judge.Check(requirement, not served,
                          f"expected a signature rejection (error 1014) for {refusal.what} on {refusal.endpoint}, "
                          f"observed the request served: {judge.describe(resp)}" if served
                          else f"request refused: {judge.describe(resp)}")]
    if identifier == "unknown":
        checks.append(judge.Check("SIG-BEFORE-LOOKUP", not judge.passed_signature_check(resp),
                                  "expected 1014 for a badly signed request naming an unknown identifier, observed "
                                  f"the identifier looked up: {judge.describe(resp)}"))
    refusal.judge(resp, checks)
    agws.expect_unexpected_error(resp, code=judge.SIGNATURE_ERROR, requirement="SIG-REJECT-FORMAT")


def identity(method: Method) -> str:
    """The field that tells one request of ``method`` from another: the looked-up value, the payment
    named, else the last field."""
    return method.lookup or (rules.PAYMENT_ID if rules.PAYMENT_ID in method.fields else method.fields[-1])


def changed(value: Any) -> Any:
    """Another value of the same type."""
    return value + 1 if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{value}0"


def another_served(agws, method: Method, fields: dict[str, Any]) -> dict[str, Any]:
    """A different request the target would serve as well: a new payment, or another identifier."""
    name = identity(method)
    if method.subject == "new-payment":
        return dict(fields, **{name: agws.new_external_id()})
    value = fields[name]
    return dict(fields, **{name: f"{value}-other" if isinstance(value, str) else changed(value)})


def start(agws, method: str, identifier: str, what: str) -> rules.Refusal:
    return rules.Refusal(agws, method, rules.served_request(agws, method, identifier), what)


@pytest.mark.requirement("SIG-REJECT-MISSING", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(PLAIN))
def test_sig_reject_missing(agws, method: str, case: tuple[str, Any]) -> None:
    identifier, _ = case
    refusal = start(agws, method, identifier, "a request without X-Signature")
    resp = refusal.send(signature=None)
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-MISSING", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-EMPTY", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(PLAIN))
def test_sig_reject_empty(agws, method: str, case: tuple[str, Any]) -> None:
    identifier, _ = case
    refusal = start(agws, method, identifier, "an empty X-Signature")
    resp = refusal.send(signature="")
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-EMPTY", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-WRONG-SECRET", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(PLAIN))
def test_sig_reject_wrong_secret(agws, method: str, case: tuple[str, Any]) -> None:
    identifier, _ = case
    refusal = start(agws, method, identifier, "a signature under another key")
    content = agws.encode(refusal.fields)
    # A fresh random key: it cannot be the target's secret, and it is not secret itself.
    resp = refusal.send(content=content, signature=agws.sign_with_secret(content, secrets.token_urlsafe(24)))
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-WRONG-SECRET", identifier=identifier)


def tampered(fields: dict[str, Any], method: Method, how: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fields that are signed, the fields that are sent): what is sent would be served."""
    if how == "value-changed":
        name = identity(method)
        return dict(fields, **{name: changed(fields[name])}), fields
    if how == "field-added":  # an undocumented field: documented gateways ignore it
        return fields, dict(fields, comment="added after signing")
    if how == "field-removed":  # signed with an extra field, sent without it: what is sent is valid
        return dict(fields, comment="removed after signing"), fields
    if how == "agent-changed":
        return dict(fields, agent=fields["agent"] + "x"), fields
    raise ValueError(how)


TAMPERINGS = {h: h for h in ("value-changed", "field-added", "field-removed", "agent-changed")}


@pytest.mark.requirement("SIG-REJECT-TAMPERED", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(cases(TAMPERINGS)))
def test_sig_reject_tampered(agws, method: str, case: tuple[str, str]) -> None:
    identifier, how = case
    refusal = start(agws, method, identifier, f"a body changed after signing ({how})")
    signed, sent = tampered(dict(refusal.fields), METHODS[method], how)
    content = agws.encode(sent)
    invariant(signer.canonicalize(agws.encode(signed)) != signer.canonicalize(content), "the tampering changed nothing")
    resp = refusal.send(content=content, signature=agws.sign(agws.encode(signed)))
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-TAMPERED", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-TRUNCATED", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(cases({str(k): k for k in (63, 32, 1)})))
def test_sig_reject_truncated(agws, method: str, case: tuple[str, int]) -> None:
    identifier, keep = case
    refusal = start(agws, method, identifier, f"the first {keep} hex digits of the right signature")
    content = agws.encode(refusal.fields)
    resp = refusal.send(content=content, signature=agws.sign(content)[:keep])
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-TRUNCATED", identifier=identifier)


# The right signature with more after it: a gateway comparing only as many characters as it
# expects (a prefix match) accepts every one. Trailing whitespace is not among them: it is not
# part of an HTTP field value (RFC 9110, 5.5), so stripping it is right.
EXTENSIONS: dict[str, Callable[[str], str]] = {
    "one-hex-digit": lambda sig: sig + "0",
    "doubled": lambda sig: sig + sig,
    "text": lambda sig: sig + "x",
    "space-then-hex": lambda sig: sig + " 00",
}


@pytest.mark.requirement("SIG-REJECT-EXTENDED", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(cases({e: e for e in sorted(EXTENSIONS)})))
def test_sig_reject_extended(agws, method: str, case: tuple[str, str]) -> None:
    identifier, extension = case
    refusal = start(agws, method, identifier, f"the right signature extended ({extension})")
    content = agws.encode(refusal.fields)
    resp = refusal.send(content=content, signature=EXTENSIONS[extension](agws.sign(content)))
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-EXTENDED", identifier=identifier)


def altered(signature: str, at: int) -> str:
    """``signature`` with the hex digit at ``at`` changed: the same length, one digit off."""
    digit = "0" if signature[at] != "0" else "1"
    return signature[:at] + digit + signature[at + 1:]


@pytest.mark.requirement("SIG-REJECT-ALTERED", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(cases({"first-half": 5, "second-half": 60})))
def test_sig_reject_altered(agws, method: str, case: tuple[str, int]) -> None:
    identifier, position = case
    refusal = start(agws, method, identifier, f"the right signature with hex digit {position} changed")
    content = agws.encode(refusal.fields)
    resp = refusal.send(content=content, signature=altered(agws.sign(content), position))
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-ALTERED", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-OTHER-BODY", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(PLAIN))
def test_sig_reject_other_body(agws, method: str, case: tuple[str, Any]) -> None:
    """A signature the target has just seen as valid, replayed on a different body."""
    identifier, _ = case
    fields = rules.served_request(agws, method, identifier)
    other = agws.encode(another_served(agws, METHODS[method], fields))
    other_signature = agws.sign(other)
    rules.send(agws, method, other, signature=other_signature, why="setup: a signature the target has seen valid")
    # Watched from here: the setup request above was served and may rightly have created something.
    refusal = rules.Refusal(agws, method, fields, "the signature of another body")
    resp = refusal.send(signature=other_signature)
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-OTHER-BODY", identifier=identifier)


@pytest.mark.requirement("SIG-REJECT-SECRET-PREPENDED", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(PLAIN))
def test_sig_reject_secret_prepended(agws, method: str, case: tuple[str, Any]) -> None:
    identifier, _ = case
    refusal = start(agws, method, identifier, "a signature over secret + base64")
    content = agws.encode(refusal.fields)
    resp = refusal.send(content=content, signature=agws.sign_prepended(content))
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-SECRET-PREPENDED", identifier=identifier)


def not_canonical(agws, fields: dict[str, Any]) -> bytes:
    """The fields as a body whose bytes are not their canonical form: the Go client's struct order
    where that differs, else with a space after each separator (a body with one field, or fields
    already in sorted order, is canonical as the Go client writes it)."""
    content = agws.encode(fields)
    if content != signer.canonicalize(content, agws.variant):
        return content
    return json.dumps(fields, ensure_ascii=False, separators=(", ", ": ")).encode()


@pytest.mark.requirement("SIG-REJECT-RAW-BYTES", *REJECTION_RULES)
@pytest.mark.parametrize("method,case", rules.method_params(PLAIN))
def test_sig_reject_raw_bytes(agws, method: str, case: tuple[str, Any]) -> None:
    """A signature over the bytes as sent instead of their re-canonicalized form."""
    identifier, _ = case
    refusal = start(agws, method, identifier, "a signature over the bytes as sent")
    content = not_canonical(agws, dict(refusal.fields))
    # Precondition, not a conformance check: otherwise the raw-bytes signature would be the right one.
    invariant(content != signer.canonicalize(content, agws.variant), "the body is already canonical")
    resp = refusal.send(content=content, signature=agws.sign_raw_bytes(content))
    expect_rejected(agws, refusal, resp, requirement="SIG-REJECT-RAW-BYTES", identifier=identifier)


def _refusal_shape(resp) -> tuple[Any, ...]:
    """What a caller can tell refusals apart by: HTTP status, code and messages (not extra fields
    such as a request id, which legitimately differ)."""
    body = resp.json if isinstance(resp.json, dict) else {}
    result = body.get("result") if isinstance(body.get("result"), dict) else {}
    return resp.status, judge.error_code(resp), body.get("message"), result.get("message")


@pytest.mark.requirement("SIG-BEFORE-LOOKUP")
@pytest.mark.parametrize("method", rules.method_params(rules=lambda m: rules.precondition_rules(m)))
def test_sig_before_lookup(agws, method: str) -> None:
    """A badly signed request naming a declared and an unknown identifier: both 1014 refusals are
    the same, or the refusal itself tells anyone without the secret which accounts and payments exist."""
    identifiers = rules.lookup_identifiers(METHODS[method])
    if len(identifiers) < 2:
        agws.not_applicable(f"{method} names no existing account or payment: there is nothing a refusal could reveal")
    for how in ("missing", "wrong-secret"):
        answers = []
        for identifier in identifiers:
            content = agws.encode(rules.served_request(agws, method, identifier))
            signature = None if how == "missing" else agws.sign_with_secret(content, secrets.token_urlsafe(24))
            answers.append(agws.send(method, content=content, signature=signature, why=f"must be refused: {how}"))
        # The unknown identifier must not be looked up (a 1407/1041/5103 answer tells it does not exist).
        agws.check(not judge.passed_signature_check(answers[1]), "SIG-BEFORE-LOOKUP",
                   f"expected 1014 for a badly signed {method} request ({how} signature) naming an unknown "
                   f"identifier, observed it looked up: {judge.describe(answers[1])}")
        if not all(judge.rejected_by_signature(r) for r in answers):
            continue  # not both refused with 1014: the SIG-REJECT-* tests judge that
        declared, unknown = (_refusal_shape(r) for r in answers)
        agws.check(declared == unknown, "SIG-BEFORE-LOOKUP",
                   f"expected the same 1014 refusal ({how} signature) for a declared and an unknown identifier, "
                   f"observed (HTTP status, code, message, result.message) {declared} vs {unknown}")


# Undocumented X-Signature spellings: recorded, never judged (INFO).
SPELLINGS: dict[str, Callable[[str], str]] = {
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
