"""action/status: every configured payment is found, with its status and the request's identifiers.

The target file declares each payment's ``status_code``; the answer must report exactly that code
and echo what the request named (external_id, project, service_code).
"""

from __future__ import annotations

from typing import Any

import pytest

from agws_conformance import judge

ENDPOINT = "action/status"


def payment_data(agws, fields: dict[str, str]) -> dict[str, Any]:
    """``result.data`` for a configured payment; its envelope and success are preconditions.

    The full success schema is judged once per payment (``test_payment_found``), so the other tests
    read fields defensively and judge only their own rule.
    """
    __tracebackhide__ = True
    resp = agws.send(ENDPOINT, fields)
    agws.judge(judge.envelope(resp))
    result = resp.json.get("result")
    data = result.get("data") if isinstance(result, dict) else None
    agws.check(judge.is_success(resp) and isinstance(data, dict), "STS-PAYMENT-FOUND",
               f"expected a success with result.data for external_id {fields['external_id']!r}, "
               f"observed {judge.describe(resp)}")
    return data


@pytest.mark.requirement("STS-PAYMENT-FOUND", "SCH-STATUS-SUCCESS", "HTTP-200-SUCCESS")
def test_payment_found(agws, payment) -> None:
    """A configured payment is answered with a schema-valid success carrying result.data."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, external_id=payment.external_id))
    result = agws.expect_success(resp, requirement="STS-PAYMENT-FOUND", schema="action-status-success",
                                 schema_requirement="SCH-STATUS-SUCCESS")
    agws.check(isinstance(result.get("data"), dict), "STS-PAYMENT-FOUND",
               f"expected result.data (an object) for {payment.external_id!r}, observed {result.get('data')!r}")


@pytest.mark.requirement("STS-STATUS-CODE", "STS-STATUS-MESSAGE")
def test_status_code_and_message(agws, payment) -> None:
    """data.status_code is the configured "1".."7"; status_message has the status table's wording."""
    data = payment_data(agws, agws.fields(ENDPOINT, external_id=payment.external_id))
    code = data.get("status_code", "no status_code field")
    message = data.get("status_message", "no status_message field")
    known = isinstance(code, str) and code in judge.TRANSACTION_STATUSES
    checks = [judge.Check("STS-STATUS-CODE", known and code == payment.status_code,
                          f"expected status_code {payment.status_code!r} (a string, one of \"1\"..\"7\") for "
                          f"{payment.external_id!r}, observed {code!r}")]
    if known:
        wording = judge.TRANSACTION_STATUSES[code]
        checks.append(judge.Check("STS-STATUS-MESSAGE", message == wording,
                                  f"expected status_message {wording!r} for status {code}, observed {message!r}"))
    else:
        checks.append(judge.Check("STS-STATUS-MESSAGE", None,
                                  f"status_message {message!r} not compared: status_code {code!r} is not in the table"))
    agws.judge(checks)


@pytest.mark.requirement("STS-ECHO-EXTERNAL-ID", "STS-ECHO-PROJECT", "STS-ECHO-SERVICE-CODE")
def test_identifiers_echoed(agws, payment) -> None:
    """data echoes the request's external_id, project and service_code."""
    fields = agws.fields(ENDPOINT, external_id=payment.external_id)
    data = payment_data(agws, fields)
    agws.judge(
        judge.Check(requirement, data.get(name) == fields[name],
                    f"expected data.{name} {fields[name]!r} (as sent), observed {data.get(name, 'no ' + name + ' field')!r}")
        for name, requirement in (("external_id", "STS-ECHO-EXTERNAL-ID"), ("project", "STS-ECHO-PROJECT"),
                                  ("service_code", "STS-ECHO-SERVICE-CODE")))


@pytest.mark.requirement("STS-UNKNOWN-1041")
def test_unknown_external_id_gets_1041(agws) -> None:
    """An external_id the target cannot hold gets expected error 1041 in the target's error format."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, external_id=agws.unknown_external_id()))
    agws.expect_expected_error(resp, code=1041, requirement="STS-UNKNOWN-1041")
