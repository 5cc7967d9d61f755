"""A good signature does not widen its scope, on every method of the registry.

The signature proves the sender knows *a* project's secret, so a request naming another project,
agent or service code, correctly signed with this project's secret, must be refused with a
documented error that carries none of the account's or payment's data (ERRATUM-SCOPE-CODES), and
for a writing method must create nothing (PAY-REFUSED-CREATES-NOTHING): no payment, no
confirmation of the payment it names, no link. Each scope field a method has (``Method.scope``)
is tried; a method without the field is not applicable. Cases come from ``endpoints.METHODS``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from agws_conformance import judge
from agws_conformance.endpoints import METHODS, Method
from agws_conformance.plugin import rules

SUFFIXES = {"project": "-agws-other-project", "agent": "-agws-other-agent", "service_code": "9"}
"""What each test appends to the target's value to name another scope, without a declared neighbour."""

# Keys that carry an account's or a payment's business data in a success.
BUSINESS_KEYS = frozenset({"info", "account_status", "fail_reason", "amount", "upper_commission", "status_message",
                           "username", "datetime", "balance", "commission", "amount_with_commission", "redirect_url"})


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
    """What of the served data the answer carries: business keys in its result, or distinctive
    values of the success anywhere in it, searched in its bytes (an HTML page included) and in its
    parsed JSON (so that re-encoding hides nothing)."""
    found: list[str] = []
    body = resp.json if isinstance(resp.json, dict) else {}
    result = body.get("result")
    if isinstance(result, dict):
        found += [f"result.{k}" for k in sorted(BUSINESS_KEYS & set(result))
                  if result[k] not in (None, {}, "", [])]
        data = result.get("data")
        if isinstance(data, dict) and data:
            found.append("result.data")
    if success is None:
        return found
    text = resp.body.decode("utf-8", "replace")
    leaves = _leaves(resp.json) if resp.json is not None else []
    codes = {str(judge.error_code(resp)), str(body.get("status_code"))}
    found += [f"value {t}" for t, v in sorted(distinctive_values(success, sent).items())
              if t not in codes and (t in text or _carries(leaves, v))][:5]
    return found


def scope_rules(method: Method) -> tuple[str, ...]:
    """What a scope case judges: the refusal's rules, the good request's success (the data a leak
    would carry) and the documented code."""
    found = () if method.writes else (method.found,)
    return (*rules.refusal_rules(method), *found, "ERR-SCOPE-CODE")


def other_scope(agws, method: str, scope: str, requirement: str) -> None:
    """A request naming another ``scope``, signed with this project's secret: a documented error
    with its documented code, carrying none of the served data, creating nothing."""
    __tracebackhide__ = True
    m = METHODS[method]
    if scope not in m.scope:
        agws.not_applicable(f"{method} names no {scope}: the request carries no {scope} to widen")
    fields = rules.served_request(agws, method)
    success = None if m.writes else agws.require_served(method, fields, success=True)
    # A declared neighbour ([target] other_*: a scope that exists) when there is one, else an unknown value.
    other = dict(fields, **{scope: agws.other_scope(scope, fields[scope], suffix=SUFFIXES[scope])[0]})
    refusal = rules.Refusal(agws, method, fields, f"a request naming another {scope}")
    resp = refusal.send(other)
    leaks = leaked(resp, success, [*map(str, fields.values()), *map(str, other.values())])
    took_effect = m.effect is not None and rules.created(m, resp)
    refused = not judge.success_body(resp) and judge.observed_error_format(resp) is not None and not took_effect
    refusal.judge(resp, [
        judge.Check(requirement, refused and not leaks,
                    f"expected a documented error without the served data for {scope} {other[scope]!r} (not this "
                    f"target's) on {method}, observed {judge.describe(resp)}"
                    + (f" carrying {', '.join(leaks)}" if leaks else "")),
        judge.scope_code(resp, scope, also=[code for name, code in m.scope_codes if name == scope]),
    ])


@pytest.mark.requirement("SIG-SCOPE-PROJECT")
@pytest.mark.parametrize("method", rules.method_params(rules=scope_rules))
def test_sig_scope_project(agws, method: str) -> None:
    other_scope(agws, method, "project", "SIG-SCOPE-PROJECT")


@pytest.mark.requirement("SIG-SCOPE-AGENT")
@pytest.mark.parametrize("method", rules.method_params(rules=scope_rules))
def test_sig_scope_agent(agws, method: str) -> None:
    other_scope(agws, method, "agent", "SIG-SCOPE-AGENT")


@pytest.mark.requirement("SIG-SCOPE-SERVICE")
@pytest.mark.parametrize("method", rules.method_params(rules=scope_rules))
def test_sig_scope_service(agws, method: str) -> None:
    other_scope(agws, method, "service_code", "SIG-SCOPE-SERVICE")
