"""calculate/upper/commission: the commission on top of an amount, computed without debiting.

Read-only, so it runs on every target: fixed amounts around the page's example, then generated
ones (whole tiyn), each judged for the table's sum to the cent.
"""

from __future__ import annotations

import pytest

from agws_conformance import judge, strategies
from agws_conformance.endpoints import METHODS
from agws_conformance.plugin.generated import explore

pytestmark = pytest.mark.method("calculate/upper/commission")  # what every test here is about (coverage.method_of)

ENDPOINT = "calculate/upper/commission"
AMOUNTS = (10.42, 100, 0.01, 118.5, 250000)


def commission_checks(resp, amount: float) -> list[judge.Check]:
    """COM-ARITHMETIC, COM-AMOUNT and COM-AMOUNT-EXACT for one answer (nothing when not a success)."""
    result = resp.json.get("result") if judge.is_success(resp) else None
    if not isinstance(result, dict):
        return []
    got, commission, total = result.get("amount"), result.get("commission"), result.get("amount_with_commission")
    numbers = all(judge.is_number(v) for v in (got, commission, total))
    return [
        judge.Check("COM-ARITHMETIC", numbers and commission >= 0 and abs(got + commission - total) < judge.CENT,
                    f"expected amount + commission = amount_with_commission (to the cent, commission >= 0) for "
                    f"{amount:g}, observed {got!r} + {commission!r} vs {total!r}"),
        judge.Check("COM-AMOUNT", judge.is_number(got) and abs(got - amount) < 0.1 + judge.CENT,
                    f"expected result.amount {amount:g} (within 0.1), observed {got!r}"),
        judge.Check("COM-AMOUNT-EXACT", judge.is_number(got) and abs(got - amount) < judge.CENT,
                    f"expected result.amount {amount:g} to the cent, observed {got!r}"),
    ]


@pytest.mark.requirement(*judge.success_rules("COM-ANSWERED", "SCH-COM-SUCCESS"), "COM-ARITHMETIC", "COM-AMOUNT",
                         "COM-AMOUNT-EXACT")
@pytest.mark.parametrize("amount", AMOUNTS)
def test_commission_sum(agws, amount: float) -> None:
    """A fixed amount: a schema-valid success whose three numbers add up."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, amount=amount))
    agws.expect_success(resp, requirement="COM-ANSWERED", schema=METHODS[ENDPOINT].success_schema,
                        schema_requirement="SCH-COM-SUCCESS")
    agws.judge(commission_checks(resp, amount))


@pytest.mark.generated
@pytest.mark.requirement(*judge.success_rules("COM-ANSWERED", "SCH-COM-SUCCESS"), "COM-ARITHMETIC", "COM-AMOUNT",
                         "COM-AMOUNT-EXACT")
def test_generated_commission_sums(agws) -> None:
    """Generated amounts (whole tiyn up to a million tenge): every answer adds up."""
    def case(amount: float) -> list[judge.Check]:
        resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, amount=amount))
        checks = judge.success(resp, requirement="COM-ANSWERED", schema=METHODS[ENDPOINT].success_schema,
                               schema_requirement="SCH-COM-SUCCESS", strict=agws.settings.strict)
        return checks + commission_checks(resp, amount)

    explore(agws, strategies.amounts(1_000_000), case, requirement="COM-ARITHMETIC", pipelined=True)
