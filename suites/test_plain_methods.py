"""Signature, scope and robustness for the read-only methods without a lookup (balance, upper
commission): the rules the lookup methods' suites judge, on a request that is simply answered.

Every refusal rests on the same request, correctly signed, being a success (``require_served``):
a gateway that refuses everything proves nothing by refusing these.
"""

from __future__ import annotations

import secrets

import pytest

from agws_conformance import judge, signer
from agws_conformance.endpoints import METHODS, PLAIN_METHODS

REJECTION_RULES = (*judge.unexpected_error_rules("SIG-REJECT-FORMAT"),)
SCOPE_RULES = {"project": "SIG-SCOPE-PROJECT", "agent": "SIG-SCOPE-AGENT", "service_code": "SIG-SCOPE-SERVICE"}


def method_params(*rules: str) -> list:
    return [pytest.param(m, marks=pytest.mark.requirement(METHODS[m].found, *rules)) for m in PLAIN_METHODS]


@pytest.mark.requirement(*REJECTION_RULES)
@pytest.mark.parametrize("how", [pytest.param("missing", marks=pytest.mark.requirement("SIG-REJECT-MISSING")),
                                 pytest.param("wrong-secret", marks=pytest.mark.requirement("SIG-REJECT-WRONG-SECRET")),
                                 pytest.param("changed-after-signing", marks=pytest.mark.requirement("SIG-REJECT-TAMPERED"))])
@pytest.mark.parametrize("endpoint", method_params())
def test_badly_signed_refused(agws, endpoint: str, how: str) -> None:
    """No signature, another key's, or one over another body: 1014, never an answer."""
    fields = agws.fields(endpoint)
    agws.require_served(endpoint, fields, success=True)
    content = agws.encode(fields)
    if how == "missing":
        requirement, signature = "SIG-REJECT-MISSING", None
    elif how == "wrong-secret":
        requirement, signature = "SIG-REJECT-WRONG-SECRET", agws.sign_with_secret(content, secrets.token_urlsafe(24))
    else:
        requirement = "SIG-REJECT-TAMPERED"
        signature = agws.sign(agws.encode(dict(fields, agent=fields["agent"] + "x")))
    resp = agws.send(endpoint, content=content, signature=signature)
    agws.judge([judge.signature_rejected(resp, requirement=requirement)])
    agws.expect_unexpected_error(resp, code=1014, requirement="SIG-REJECT-FORMAT")


def scope_params() -> list:
    return [pytest.param(m, scope, id=f"{m}-{scope}",
                         marks=pytest.mark.requirement(METHODS[m].found, SCOPE_RULES[scope]))
            for m in PLAIN_METHODS for scope in METHODS[m].scope if scope != "agent" or m != "showcase/balance"]


@pytest.mark.requirement("ERR-SCOPE-CODE", "ROB-NO-CRASH")
@pytest.mark.parametrize("endpoint,scope", scope_params())
def test_other_scope_refused(agws, endpoint: str, scope: str) -> None:
    """Another project / agent / service code, signed with this project's secret: a documented
    error with its documented code (or 1014), never a success. (Balance for another agent is
    BAL-UNKNOWN-AGENT, judged in test_balance.)"""
    fields = agws.fields(endpoint)
    agws.require_served(endpoint, fields, success=True)
    fields[scope], _ = agws.other_scope(scope, fields[scope])
    resp = agws.send(endpoint, fields)
    agws.judge([
        judge.no_crash(resp, f"a request naming another {scope}"),
        judge.Check(SCOPE_RULES[scope], not judge.success_body(resp) and judge.observed_error_format(resp) is not None,
                    f"expected a documented error for {scope} {fields[scope]!r}, observed {judge.describe(resp)}"),
        judge.scope_code(resp, scope),
    ])


BROKEN = {
    "malformed-json": "ROB-MALFORMED-JSON",
    "missing-field": "ROB-MISSING-FIELD",
    "wrong-type": "ROB-WRONG-TYPES",
}


@pytest.mark.requirement("ROB-NO-CRASH")
@pytest.mark.parametrize("how", [pytest.param(h, marks=pytest.mark.requirement(r)) for h, r in BROKEN.items()])
@pytest.mark.parametrize("endpoint", method_params())
def test_broken_request_refused(agws, endpoint: str, how: str) -> None:
    """A body cut short, without its last required field, or with a field of the wrong type,
    correctly signed: an error, never a success, never a crash."""
    fields = agws.fields(endpoint)
    agws.require_served(endpoint, fields, success=True)
    last = METHODS[endpoint].fields[-1]
    if how == "malformed-json":
        content = agws.encode(fields)[:-1]
    elif how == "missing-field":
        content = agws.encode({k: v for k, v in fields.items() if k != last})
    else:
        content = signer.canonical_from_value(dict(fields, **{last: [fields[last]]}))
    # A body Go cannot parse has no canonical form: it is signed as sent.
    signature = agws.sign_raw_bytes(content) if how == "malformed-json" else agws.sign(content)
    resp = agws.send(endpoint, content=content, signature=signature)
    agws.expect_refused(resp, requirement=BROKEN[how])
