"""action/status: every configured payment is found, with its status and the request's identifiers.

The target file declares each payment's ``status_code``; the answer must report exactly that code
and echo what the request named (external_id, project, service_code).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from agws_conformance import judge
from agws_conformance.endpoints import FAILED_STATUSES

pytestmark = pytest.mark.method("action/status")  # what every test here is about (coverage.method_of)

ENDPOINT = "action/status"


def payment_data(agws, fields: dict[str, str]) -> dict[str, Any]:
    """``result.data`` for a configured payment; its success is a precondition (STS-PAYMENT-FOUND).

    The envelope and the full success schema are judged once per payment (``test_payment_found``),
    so the other tests read fields defensively and judge only their own rule.
    """
    __tracebackhide__ = True
    resp = agws.send(ENDPOINT, fields)
    result = resp.json.get("result") if judge.is_success(resp) else None
    data = result.get("data") if isinstance(result, dict) else None
    agws.check(isinstance(data, dict), "STS-PAYMENT-FOUND",
               f"precondition: expected a success with result.data for external_id {fields['external_id']!r}, "
               f"observed {judge.describe(resp)}")
    return data


@pytest.mark.requirement(*judge.success_rules("STS-PAYMENT-FOUND", "SCH-STATUS-SUCCESS"))
def test_payment_found(agws, payment) -> None:
    """A configured payment is answered with a schema-valid success carrying result.data."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, external_id=payment.external_id))
    result = agws.expect_success(resp, requirement="STS-PAYMENT-FOUND", schema="action-status-success",
                                 schema_requirement="SCH-STATUS-SUCCESS")
    agws.check(isinstance(result.get("data"), dict), "STS-PAYMENT-FOUND",
               f"expected result.data (an object) for {payment.external_id!r}, observed {result.get('data')!r}")


@pytest.mark.requirement("STS-STATUS-CODE", "STS-STATUS-MESSAGE", "STS-PAYMENT-FOUND")
def test_status_code_and_message(agws, payment) -> None:
    """data.status_code is the configured "1".."7"; status_message has the status table's wording."""
    data = payment_data(agws, agws.fields(ENDPOINT, external_id=payment.external_id))
    agws.judge(judge.status_checks(data, "STS-STATUS-CODE", payment.status_code))


@pytest.mark.requirement("STS-ECHO-EXTERNAL-ID", "STS-ECHO-PROJECT", "STS-ECHO-SERVICE-CODE", "STS-PAYMENT-FOUND")
def test_identifiers_echoed(agws, payment) -> None:
    """data echoes the request's external_id, project and service_code."""
    fields = agws.fields(ENDPOINT, external_id=payment.external_id)
    data = payment_data(agws, fields)
    agws.judge(
        judge.Check(requirement, data.get(name) == fields[name],
                    f"expected data.{name} {fields[name]!r} (as sent), observed {data.get(name, 'no ' + name + ' field')!r}")
        for name, requirement in (("external_id", "STS-ECHO-EXTERNAL-ID"), ("project", "STS-ECHO-PROJECT"),
                                  ("service_code", "STS-ECHO-SERVICE-CODE")))


@pytest.mark.requirement(*judge.expected_error_rules("STS-UNKNOWN-1041"))
def test_unknown_external_id_gets_1041(agws) -> None:
    """An external_id the target cannot hold gets expected error 1041 in the target's error format."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, external_id=agws.unknown_external_id()))
    agws.expect_expected_error(resp, code=1041, requirement="STS-UNKNOWN-1041")


@pytest.mark.requirement("STS-FAILED-FAIL-REASON", "CHK-FAIL-REASON-CODE", "CHK-FAIL-REASON-100", "STS-PAYMENT-FOUND")
def test_failed_payment_has_fail_reason(agws) -> None:
    """A payment in status "4" or "6" says why it failed: a fail_reason with a documented code (the
    declared one) and a message, in result.data or beside it (ERRATUM-STATUS-FAIL-REASON-PLACEMENT)."""
    failed = [p for p in agws.target.payments if p.status_code in FAILED_STATUSES]
    if not failed:
        pytest.skip(f"target {agws.target.name!r} configures no [[payments]] entry with status_code \"4\" or \"6\"")
    for payment in failed:
        resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, external_id=payment.external_id))
        result = resp.json.get("result") if judge.is_success(resp) else None
        agws.check(isinstance(result, dict), "STS-PAYMENT-FOUND",
                   f"precondition: expected a success for external_id {payment.external_id!r}, observed {judge.describe(resp)}")
        data = result.get("data") if isinstance(result.get("data"), dict) else {}
        reason = data.get("fail_reason") or result.get("fail_reason")
        agws.check(judge.has_reason(reason), "STS-FAILED-FAIL-REASON",
                   f"expected a fail_reason with an integer code and a message for payment {payment.external_id!r} "
                   f"in status {payment.status_code!r}, observed {reason!r}")
        agws.judge(judge.fail_reason_checks(reason, payment.fail_reason, f"payment {payment.external_id!r}"))


# Go's zero time.Time: what an unset Datetime field marshals to.
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=timezone.utc)
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
CLOCK_SKEW = timedelta(days=1)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@pytest.mark.requirement("STS-USERNAME", "STS-AMOUNT", "STS-DATETIME", "STS-PAYMENT-FOUND")
def test_payment_details(agws, payment) -> None:
    """data.username, data.amount and data.datetime: present and sane always, equal to what the
    target file declares where it declares them."""
    data = payment_data(agws, agws.fields(ENDPOINT, external_id=payment.external_id))
    username, amount, when = data.get("username"), data.get("amount"), data.get("datetime")
    number = judge.is_number(amount)
    moment = _moment(when)
    now = datetime.now(timezone.utc)
    agws.judge([
        judge.Check("STS-USERNAME", isinstance(username, str) and username != "" and (
                        payment.username is None or username == payment.username),
                    (f"expected data.username {payment.username!r}" if payment.username is not None else
                     "expected a non-empty data.username") + f" for {payment.external_id!r}, observed {username!r}"),
        judge.Check("STS-AMOUNT", number and amount > 0 and (
                        payment.amount is None or judge.same_amount(amount, payment.amount)),
                    (f"expected data.amount {payment.amount:g}" if payment.amount is not None else
                     "expected a positive number in data.amount") + f" for {payment.external_id!r}, observed {amount!r}"),
        judge.Check("STS-DATETIME", moment is not None and EARLIEST <= moment <= now + CLOCK_SKEW,
                    f"expected data.datetime to be a real moment (RFC 3339, after 2000, not in the future) for "
                    f"{payment.external_id!r}, observed {when!r}"
                    + (" (Go's zero time: the field was never set)" if moment == GO_ZERO_TIME else "")),
    ])
