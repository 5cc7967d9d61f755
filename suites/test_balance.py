"""showcase/balance: the showcase's balance, for its own agent only.

Read-only, so it runs on every target. That payments lower it by exactly what they credit is
judged with the payments (``test_payments.py``, BAL-DEBITED), since only a run that pays can show it.
"""

from __future__ import annotations

import pytest

from agws_conformance import judge
from agws_conformance.endpoints import METHODS

pytestmark = pytest.mark.method("showcase/balance")  # what every test here is about (coverage.method_of)

ENDPOINT = "showcase/balance"
UNKNOWN_AGENT_CODES = (8015, 9724, 9427)


@pytest.mark.requirement(*judge.success_rules("BAL-ANSWERED", "SCH-BAL-SUCCESS"), "BAL-SHOWCASE-CODE")
def test_balance_answered(agws) -> None:
    """The target's agent: a schema-valid success with showcase_code and a numeric balance."""
    fields = agws.fields(ENDPOINT)
    resp = agws.send(ENDPOINT, fields)
    result = agws.expect_success(resp, requirement="BAL-ANSWERED", schema=METHODS[ENDPOINT].success_schema,
                                 schema_requirement="SCH-BAL-SUCCESS")
    agws.check(result.get("showcase_code") == fields["agent"], "BAL-SHOWCASE-CODE",
               f"expected result.showcase_code {fields['agent']!r} (the agent asked about), "
               f"observed {result.get('showcase_code', 'no showcase_code field')!r}")


@pytest.mark.requirement("BAL-UNKNOWN-AGENT", "BAL-ANSWERED", "ROB-NO-CRASH")
def test_unknown_agent_refused(agws) -> None:
    """Another agent, correctly signed with this project's secret: a documented error (8015,
    9724/9427, or 1014), never a balance."""
    agws.require_served(ENDPOINT, success=True)
    fields = agws.fields(ENDPOINT, agent=agws.target.agent + "-not-this-target")
    resp = agws.send(ENDPOINT, fields)
    result = resp.json.get("result") if isinstance(resp.json, dict) else None
    leaks = isinstance(result, dict) and "balance" in result
    code = judge.error_code(resp)
    agws.judge([
        judge.no_crash(resp, "a balance request for another agent"),
        judge.Check("BAL-UNKNOWN-AGENT", not judge.success_body(resp) and not leaks and (
                        code in UNKNOWN_AGENT_CODES or code == judge.SIGNATURE_ERROR),
                    f"expected error 8015, 9724 or 9427 (or 1014) without a balance for agent {fields['agent']!r}, "
                    f"observed {judge.describe(resp)}"),
    ])
