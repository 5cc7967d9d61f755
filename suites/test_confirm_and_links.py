"""Confirmation of funds debit (action/confirm/invoice) and payment links (action/link).

Both pages are thin (ERRATUM-CONFIRM-FLOW, ERRATUM-LINK-SHAPE): the suite judges what they
support (the success shape, that nothing is confirmed without the right code; signature, scope and
robustness are judged for every method in suites/test_rules_*.py)
and says in the catalogue what it does not invent. Both have side effects, so like the payment
suites they run only with a ``[write]`` table; every link request counts against max_payments
and is listed in the report.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from agws_conformance import judge, schemas

CONFIRM = "action/confirm/invoice"
LINK = "action/link"
WRONG_CODE = "000000-not-the-code"


def confirmed(resp) -> bool:
    """A success saying the debit is confirmed (is_success true, or "true": ERRATUM-CONFIRM-IS-SUCCESS)."""
    result = resp.json.get("result") if judge.success_body(resp) and isinstance(resp.json, dict) else None
    return isinstance(result, dict) and result.get("is_success") in (True, "true")


def confirm_fields(agws, external_id: str, code: str | None) -> dict[str, Any]:
    """In the page's table order: agent, confirm_code, external_id."""
    fields = {"agent": agws.target.agent, "confirm_code": code, "external_id": external_id}
    return {k: v for k, v in fields.items() if v is not None}


def awaiting_confirmation(agws) -> str:
    """A payment of this run that waits for confirmation ("1"): one to write.expiring_username."""
    __tracebackhide__ = True
    write = agws.require_write()
    if write.expiring_username is None:
        agws.not_applicable("the [write] table declares no expiring_username (an account whose payments wait in "
                            "\"1\" for confirmation)")
    fields = agws.payment_fields(amount=agws.draw_amount(), username=write.expiring_username)
    resp = agws.pay(fields, why="to confirm")
    result = resp.json.get("result") if judge.is_success(resp) else None
    status = ((result or {}).get("data") or {}).get("status_code") if isinstance(result, dict) else None
    agws.check(status == "1", "PAY-SUCCESS", f"precondition: expected a payment to {write.expiring_username!r} "
                                             f"accepted and awaiting confirmation (\"1\"), observed {judge.describe(resp)}"
                                             f", status {status!r}")
    return fields["external_id"]


@pytest.mark.requirement("CNF-UNKNOWN", "ROB-NO-CRASH")
@pytest.mark.method(CONFIRM)
def test_unknown_payment_is_not_confirmed(agws) -> None:
    """An external_id this gateway never saw, with a code: confirms nothing, crashes nothing."""
    agws.require_write()
    resp = agws.send(CONFIRM, confirm_fields(agws, agws.unknown_external_id(), WRONG_CODE))
    agws.judge([judge.no_crash(resp, "a confirmation for an unknown payment"),
                judge.Check("CNF-UNKNOWN", not confirmed(resp),
                            f"expected no confirmation for an unknown external_id, observed {judge.describe(resp)}")])


WRONG_CODE_REASONS = (402, 407)
"""Payment Status Guide reasons a wrong code may fail a payment with: 402 'Incorrect confirmation
code', 407 'Exceeded the number of confirmation code attempts' (ERRATUM-CONFIRM-WRONG-CODE)."""


def unconfirmed_after_wrong_code(data: dict[str, Any] | None) -> bool:
    """Still waiting ("1"), or failed ("4") with a wrong-code reason: never confirmed, never another end."""
    status = (data or {}).get("status_code")
    reason = (data or {}).get("fail_reason")
    return status == "1" or (status == "4" and judge.has_reason(reason) and reason.get("code") in WRONG_CODE_REASONS)


@pytest.mark.requirement("CNF-WRONG-CODE", "PAY-SUCCESS")
@pytest.mark.method(CONFIRM)
def test_wrong_code_confirms_nothing(agws) -> None:
    """A payment awaiting confirmation, sent a wrong code: not confirmed, and according to the status
    method still waiting ("1") or failed with reason 402 or 407 (how many attempts a gateway allows is
    not documented)."""
    external_id = awaiting_confirmation(agws)
    resp = agws.send(CONFIRM, confirm_fields(agws, external_id, WRONG_CODE))
    _, data = agws.payment_status(external_id)
    agws.judge([
        judge.Check("CNF-WRONG-CODE", not confirmed(resp),
                    f"expected a wrong confirmation code to confirm nothing for {external_id!r}, observed "
                    f"{judge.describe(resp)}"),
        judge.Check("CNF-WRONG-CODE", unconfirmed_after_wrong_code(data),
                    f"expected {external_id!r} still awaiting confirmation (\"1\"), or failed (\"4\") with "
                    f"fail_reason {' or '.join(map(str, WRONG_CODE_REASONS))}, after a wrong code, observed status "
                    f"{(data or {}).get('status_code')!r}, fail_reason {(data or {}).get('fail_reason')!r}"),
    ])


@pytest.mark.requirement(*judge.success_rules("CNF-CONFIRMED", "SCH-CNF-SUCCESS"), "PAY-SUCCESS")
@pytest.mark.method(CONFIRM)
def test_declared_code_confirms(agws) -> None:
    """A payment awaiting confirmation, sent the code the target file declares: a schema-valid
    success, is_success true, naming the payment."""
    write = agws.require_write()
    if write.confirm_code is None:
        agws.not_applicable("the [write] table declares no confirm_code (how the code is issued is undocumented)")
    external_id = awaiting_confirmation(agws)
    resp = agws.send(CONFIRM, confirm_fields(agws, external_id, write.confirm_code))
    result = agws.expect_success(resp, requirement="CNF-CONFIRMED", schema="confirm-success",
                                 schema_requirement="SCH-CNF-SUCCESS")
    _, data = agws.payment_status(external_id)
    agws.judge([
        judge.Check("CNF-CONFIRMED", result.get("is_success") in (True, "true"),
                    f"expected is_success true for {external_id!r} confirmed with the declared code, observed "
                    f"{result.get('is_success')!r} (transaction_status_id {result.get('transaction_status_id')!r}, "
                    f"status method afterwards {(data or {}).get('status_code')!r})"),
        judge.Check("CNF-CONFIRMED", result.get("external_id") == external_id,
                    f"expected result.external_id {external_id!r}, observed {result.get('external_id')!r}"),
    ])


def link_checks(resp) -> list[judge.Check]:
    """LNK-CREATED and SCH-LINK-SUCCESS: result.code 0 with an absolute http(s) redirect_url."""
    body = resp.json if isinstance(resp.json, dict) else {}
    result = body.get("result") if isinstance(body.get("result"), dict) else {}
    url = result.get("redirect_url")
    parts = urlsplit(url) if isinstance(url, str) else None
    problems = schemas.errors("link-success", resp.json) if resp.json is not None else ["the body is not JSON"]
    return [
        judge.Check("LNK-CREATED", resp.status == 200 and result.get("code") == 0 and parts is not None
                    and parts.scheme in ("http", "https") and bool(parts.netloc),
                    f"expected HTTP 200, result.code 0 and an absolute http(s) redirect_url, observed HTTP {resp.status}, "
                    f"code {result.get('code', 'absent')!r}, redirect_url {url!r}"),
        judge.Check("SCH-LINK-SUCCESS", not problems,
                    "expected a body valid against link-success, observed: " + ("; ".join(problems[:3]) or "valid")),
    ]


@pytest.mark.requirement("LNK-CREATED", "SCH-LINK-SUCCESS")
@pytest.mark.method(LINK)
def test_link_created(agws) -> None:
    """The [write] account, an amount within the limit: a link to pay at."""
    agws.require_write()
    resp = agws.pay(agws.fields(LINK), endpoint=LINK, why="payment link")
    agws.judge(link_checks(resp))
