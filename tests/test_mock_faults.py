"""Every fault mode observably injects the deviation it claims, compared with the clean mock."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import httpx
import pytest

from agws_conformance import schemas, signer
from agws_conformance.endpoints import (ACTION_STATUS_PATH, BALANCE_PATH, CASH_IN_PATH, COMMISSION_PATH, CONFIRM_PATH,
                                        LINK_PATH,
                                        REQUEST_FIELDS, USER_CHECK_PATH)
from agws_conformance.mock import FAULTS, MockServer, UnknownFaultError, create_app, embedded_target
from agws_conformance.mock.faults import behaviour_for
from agws_conformance.receiver import CallbackReceiver

PATHS = {"user/check": USER_CHECK_PATH, "action/status": ACTION_STATUS_PATH}
TARGET = embedded_target()
SECRET = TARGET.secret.reveal()
# One transport for every client: building an httpx client's TLS context costs ~150 ms.
_TRANSPORT = httpx.HTTPTransport()
ACCOUNTS = {(a.category, a.account_status): a.username for a in TARGET.accounts}


def body_of(endpoint: str, **overrides) -> bytes:
    base = {"agent": TARGET.agent, "project": TARGET.project, "service_code": TARGET.service_code,
            "username": ACCOUNTS[("parking", 1)], "external_id": "ext-0004"}
    values = {name: base[name] for name in REQUEST_FIELDS[endpoint]}
    values.update(overrides)
    return signer.go_struct_body({k: v for k, v in values.items() if v is not None})


def send(client: httpx.Client, endpoint: str, body: bytes | None = None, *, signature: str | None = "good",
         method: str = "POST", **overrides) -> httpx.Response:
    body = body_of(endpoint, **overrides) if body is None else body
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        signature = signer.sign(body, SECRET).signature
    if signature is not None:
        headers["X-Signature"] = signature
    return client.request(method, PATHS[endpoint], content=body if method == "POST" else None, headers=headers)


def check(client, username):
    return send(client, "user/check", username=username)


def info(response, category):
    return response.json()["result"]["info"][category]


def data(response):
    return response.json()["result"]["data"]


# Each probe gets (clean, faulty) clients and asserts the claimed difference.
def _sig_wrong_secret(clean, faulty):
    body = body_of("user/check")
    bad = signer.sign(body, "another-secret").signature
    assert send(clean, "user/check", body, signature=bad).json()["status_code"] == 1014
    assert send(faulty, "user/check", body, signature=bad).json()["result"]["error_code"] == 0


def _sig_missing(clean, faulty):
    for header in (None, ""):
        assert send(clean, "user/check", signature=header).json()["status_code"] == 1014
        assert send(faulty, "user/check", signature=header).json()["result"]["error_code"] == 0


def _sig_raw_bytes(clean, faulty):
    body = body_of("user/check")  # struct order: not the canonical form
    raw = signer.signature_of_canonical(body, SECRET)
    assert send(clean, "user/check", body).status_code == 200
    assert send(faulty, "user/check", body).json()["status_code"] == 1014
    assert send(faulty, "user/check", body, signature=raw).status_code == 200


def _sig_html(clean, faulty):
    body = body_of("user/check", username="tom<&>jerry")
    assert send(clean, "user/check", body).json()["result"]["error_code"] == 0
    assert send(faulty, "user/check", body).json()["status_code"] == 1014
    plain = signer.signature_of_canonical(signer.canonicalize(body, signer.Variant(escape_html=False)), SECRET)
    assert send(faulty, "user/check", body, signature=plain).json()["result"]["error_code"] == 0


def _sig_truncated(clean, faulty):
    body = body_of("user/check")
    cut = signer.sign(body, SECRET).signature[:32]
    assert send(clean, "user/check", body, signature=cut).json()["status_code"] == 1014
    assert send(faulty, "user/check", body, signature=cut).json()["result"]["error_code"] == 0


def _sig_prepended(clean, faulty):
    body = body_of("user/check")
    canonical = signer.canonicalize(body)
    prepended = hashlib.sha256(SECRET.encode() + base64.b64encode(canonical)).hexdigest()
    assert send(clean, "user/check", body, signature=prepended).json()["status_code"] == 1014
    assert send(faulty, "user/check", body, signature=prepended).json()["result"]["error_code"] == 0
    assert send(faulty, "user/check", body).json()["result"]["error_code"] == 0


def _sig_replay(clean, faulty):
    first = body_of("user/check")
    old = signer.sign(first, SECRET).signature
    other = body_of("user/check", username=ACCOUNTS[("finance", 1)])
    for client in (clean, faulty):
        assert send(client, "user/check", first).status_code == 200
    assert send(clean, "user/check", other, signature=old).json()["status_code"] == 1014
    assert send(faulty, "user/check", other, signature=old).json()["result"]["error_code"] == 0


def _scope(field, code):
    def probe(clean, faulty):
        assert send(clean, "user/check", **{field: "someone-else"}).json()["result"]["error_code"] == code
        assert send(faulty, "user/check", **{field: "someone-else"}).json()["result"]["error_code"] == 0
    return probe


def _unexpected_status_true(clean, faulty):
    assert send(clean, "user/check", signature=None).json()["status"] is False
    payload = send(faulty, "user/check", signature=None).json()
    assert payload["status"] is True and schemas.errors("error-unexpected", payload)


def _success_code(clean, faulty):
    assert check(clean, ACCOUNTS[("parking", 1)]).json()["status_code"] == 0
    payload = check(faulty, ACCOUNTS[("parking", 1)]).json()
    assert payload["status_code"] == 200 and schemas.errors("user-check-success", payload)


def _status_code_string(clean, faulty):
    for sig in ("good", None):
        assert send(clean, "user/check", signature=sig).json()["status_code"] in (0, 1014)
        payload = send(faulty, "user/check", signature=sig).json()
        assert isinstance(payload["status_code"], str) and schemas.errors("envelope", payload)


def _missing_message(clean, faulty):
    assert "message" in send(clean, "user/check").json()
    payload = send(faulty, "user/check").json()
    assert "message" not in payload and schemas.errors("envelope", payload)


def _content_type(clean, faulty):
    assert send(clean, "user/check").headers["content-type"] == "application/json"
    assert send(faulty, "user/check").headers["content-type"].startswith("text/plain")


def _unexpected_200(clean, faulty):
    assert send(clean, "user/check", signature=None).status_code == 400
    response = send(faulty, "user/check", signature=None)
    assert response.status_code == 200 and response.json()["status_code"] == 1014


def _success_202(clean, faulty):
    assert send(clean, "user/check").status_code == 200
    assert send(faulty, "user/check").status_code == 202


def _info_schema(category, schema_breaks):
    def probe(clean, faulty):
        username = ACCOUNTS[(category, 1)]
        assert schemas.errors(f"info-{category}", info(check(clean, username), category)) == []
        broken = info(check(faulty, username), category)
        schema_breaks(broken)
        assert schemas.errors(f"info-{category}", broken)
        assert schemas.errors("user-check-success", check(faulty, username).json())
    return probe


def _status_amount(clean, faulty):
    assert schemas.errors("action-status-success", send(clean, "action/status").json()) == []
    response = send(faulty, "action/status")
    assert isinstance(data(response)["amount"], str)
    assert schemas.errors("action-status-success", response.json())


def _latitude(clean, faulty):
    username = ACCOUNTS[("parking", 1)]
    assert abs(info(check(clean, username), "parking")["coordinates"]["latitude"]) <= 90
    assert info(check(faulty, username), "parking")["coordinates"]["latitude"] == 123.12


def _echo(field):
    def probe(clean, faulty):
        assert data(send(clean, "action/status"))[field] == json.loads(body_of("action/status"))[field]
        assert data(send(faulty, "action/status"))[field] != json.loads(body_of("action/status"))[field]
    return probe


def _check_result(status, field, clean_value, faulty_value):
    def probe(clean, faulty):
        username = ACCOUNTS[("parking", status)]
        assert check(clean, username).json()["result"][field] == clean_value
        assert check(faulty, username).json()["result"][field] == faulty_value
    return probe


def _category(clean, faulty):
    username = ACCOUNTS[("finance", 1)]
    assert list(check(clean, username).json()["result"]["info"]) == ["finance"]
    assert list(check(faulty, username).json()["result"]["info"]) == ["default"]


def _status_data(field, faulty_value):
    def probe(clean, faulty):
        assert data(send(clean, "action/status"))[field] != faulty_value
        assert data(send(faulty, "action/status"))[field] == faulty_value
    return probe


def _min_max(clean, faulty):
    username = ACCOUNTS[("finance", 1)]
    assert all(c["min"] <= c["max"] for c in info(check(clean, username), "finance")["contracts"])
    assert all(c["min"] > c["max"] for c in info(check(faulty, username), "finance")["contracts"])


def _wrong_format(clean, faulty):
    assert schemas.errors("error-expected-new", check(clean, "nobody").json()) == []
    response = check(faulty, "nobody")
    assert response.status_code == 404 and schemas.errors("error-expected-old", response.json()) == []


def _mixed(clean, faulty):
    shapes = {check(faulty, "nobody").json()["status"] for _ in range(4)}
    assert shapes == {True, False}
    assert {check(clean, "nobody").json()["status"] for _ in range(4)} == {True}


def _html_404(clean, faulty):
    assert check(clean, "nobody").json()["result"]["error_code"] == 1407
    response = check(faulty, "nobody")
    assert response.status_code == 404 and response.headers["content-type"] == "text/html"
    assert response.text.startswith("<html>")


def _code_1041(clean, faulty):
    assert send(clean, "action/status", external_id="nope").json()["result"]["error_code"] == 1041
    assert send(faulty, "action/status", external_id="nope").json()["result"]["error_code"] == 1407


def _sig_message(clean, faulty):
    assert send(clean, "user/check", signature=None).json()["message"] == "Invalid signature"
    assert send(faulty, "user/check", signature=None).json()["message"] == "signature mismatch"


def _sig_code(clean, faulty):
    assert send(clean, "user/check", signature=None).json()["status_code"] == 1014
    assert send(faulty, "user/check", signature=None).json()["status_code"] == 401


def _server_error(body):
    def probe(clean, faulty):
        try:
            signature = signer.sign(body, SECRET).signature
        except signer.SignerError:
            signature = "x"
        assert send(clean, "user/check", body, signature=signature).status_code == 400
        crashed = send(faulty, "user/check", body, signature=signature)
        assert crashed.status_code == 500 and crashed.headers["content-type"].startswith("text/plain")
    return probe


def _extra_field(clean, faulty):
    body = body_of("user/check", note="extra")
    assert send(clean, "user/check", body).status_code == 200
    assert send(faulty, "user/check", body).status_code == 500
    assert send(faulty, "user/check").status_code == 200


def _defaulted(field, value):
    def probe(clean, faulty):
        assert send(clean, "action/status", **{field: value}).status_code == 400
        response = send(faulty, "action/status", **{field: value})
        assert response.status_code == 200 and response.json()["result"]["error_code"] == 0
    return probe


def _hang(clean, faulty):
    assert send(clean, "user/check", username="nobody-here").json()["result"]["error_code"] == 1407
    assert send(faulty, "user/check").json()["result"]["error_code"] == 0  # a hit is answered
    with pytest.raises(httpx.ReadTimeout):
        send(faulty, "user/check", username="nobody-here")


def _truncated(clean, faulty):
    json.loads(send(clean, "user/check").content)
    response = send(faulty, "user/check")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)


def _oversized(clean, faulty):
    body = body_of("user/check", pad="x" * 100_000)
    assert send(clean, "user/check", body).status_code == 413
    assert send(faulty, "user/check", body).json()["result"]["error_code"] == 0


def _get(clean, faulty):
    assert send(clean, "user/check", method="GET", signature=None).status_code == 405
    response = send(faulty, "user/check", method="GET", signature=None)
    assert response.status_code == 200 and response.json()["result"]["error_code"] == 0


def _get_403(clean, faulty):
    assert send(clean, "user/check", method="GET", signature=None).status_code == 405
    response = send(faulty, "user/check", method="GET", signature=None)
    assert response.status_code == 403 and response.json()["result"]["error_code"] == 0
    assert send(faulty, "user/check").status_code == 200  # POST is unchanged


def _expected_status_false(clean, faulty):
    assert check(clean, "nobody").json()["status"] is True
    body = check(faulty, "nobody").json()
    assert body["status"] is False and body["status_code"] == 0 and body["result"]["error_code"] == 1407


def _new_error_without_data(clean, faulty):
    assert "data" in check(clean, "nobody").json()["result"]
    body = check(faulty, "nobody").json()
    assert "data" not in body["result"] and schemas.errors("error-expected-new", body)


def _old_error_with_result(clean, faulty):
    # The fault only touches the old format: compare two old-format mocks.
    old = embedded_target("old")
    body = body_of("user/check", username="nobody")
    headers = {"Content-Type": "application/json", "X-Signature": signer.sign(body, old.secret.reveal()).signature}
    answers = []
    for faults in ((), ("old-error-with-result",)):
        with MockServer(old, faults=faults) as server:
            answers.append(httpx.post(server.url + USER_CHECK_PATH, content=body, headers=headers).json())
    assert answers[0]["result"] == {} and schemas.errors("error-expected-old", answers[0]) == []
    assert answers[1]["result"] == {"error_code": 1407} and schemas.errors("error-expected-old", answers[1])


def _undocumented_field(clean, faulty):
    assert "request_id" not in check(clean, "nobody").json()
    body = send(faulty, "user/check").json()
    assert "request_id" in body and schemas.errors("user-check-success", body) == []
    assert schemas.errors("user-check-success", body, strict=True)


def _python_signer(ensure_ascii):
    def probe(clean, faulty):
        # ensure_ascii=False writes Cyrillic raw, as Go does: only < > & tell it apart.
        for username in ("tom<&>jerry", "Иван Петров") if ensure_ascii else ("tom<&>jerry",):
            body = body_of("user/check", username=username)
            assert send(clean, "user/check", body).json()["result"]["error_code"] == 0
            assert send(faulty, "user/check", body).json()["status_code"] == 1014
            python_form = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=ensure_ascii,
                                     separators=(",", ":")).encode()
            signature = signer.signature_of_canonical(python_form, SECRET)
            assert send(faulty, "user/check", body, signature=signature).json()["result"]["error_code"] == 0
    return probe


def _sig_extended(clean, faulty):
    body = body_of("user/check")
    longer = signer.sign(body, SECRET).signature + "00"
    assert send(clean, "user/check", body, signature=longer).json()["status_code"] == 1014
    assert send(faulty, "user/check", body, signature=longer).json()["result"]["error_code"] == 0


def _sig_first_half(clean, faulty):
    body = body_of("user/check")
    right = signer.sign(body, SECRET).signature
    altered = right[:60] + ("0" if right[60] != "0" else "1") + right[61:]
    assert send(clean, "user/check", body, signature=altered).json()["status_code"] == 1014
    assert send(faulty, "user/check", body, signature=altered).json()["result"]["error_code"] == 0
    first = ("0" if right[5] != "0" else "1")
    assert send(faulty, "user/check", body, signature=right[:5] + first + right[6:]).json()["status_code"] == 1014


def _lookup_first(clean, faulty):
    for endpoint, field, code in (("user/check", "username", 1407), ("action/status", "external_id", 1041)):
        unknown = body_of(endpoint, **{field: "nobody-here"})
        assert send(clean, endpoint, unknown, signature="0" * 64).json()["status_code"] == 1014
        assert send(faulty, endpoint, unknown, signature="0" * 64).json()["result"]["error_code"] == code
        assert send(faulty, endpoint, signature="0" * 64).json()["status_code"] == 1014  # a known one: checked


def _status_oracle(clean, faulty):
    unknown = body_of("user/check", username="nobody-here")
    assert send(clean, "user/check", unknown, signature="0" * 64).status_code == \
        send(clean, "user/check", signature="0" * 64).status_code
    answered = send(faulty, "user/check", unknown, signature="0" * 64)
    assert answered.status_code == 404 and answered.json()["status_code"] == 1014
    assert send(faulty, "user/check", signature="0" * 64).status_code != 404  # a known one


def _refuse_bf(clean, faulty):
    for name in ("x-\b", "x-\f"):
        assert send(clean, "user/check", username=name).json()["result"]["error_code"] == 1407
        for signature in ("good", "0" * 64):  # before the signature check: the same refusal either way
            refused = send(faulty, "user/check", username=name, signature=signature)
            assert refused.status_code == 400 and refused.json()["status_code"] == 400
    assert send(faulty, "user/check").json()["result"]["account_status"] == 1


def _scope_smuggle(clean, faulty):
    for field, code in (("project", 8008), ("agent", 9724), ("service_code", 9721)):
        assert send(clean, "user/check", **{field: "someone-else"}).json()["result"]["error_code"] == code
        answer = send(faulty, "user/check", **{field: "someone-else"})
        result = answer.json()["result"]
        assert result["error_code"] == code and result["additional_data"]["info"]["parking"]
        assert b"parking" not in answer.content and b"\\u0070\\u0061" in answer.content  # hidden from a byte search
    assert send(faulty, "user/check").json()["result"]["account_status"] == 1


def _scope_leak(clean, faulty):
    for field in ("project", "agent", "service_code"):
        assert send(clean, "user/check", **{field: "someone-else"}).json()["result"]["error_code"] != 0
        leaked = send(faulty, "user/check", **{field: "someone-else"})
        assert leaked.status_code == 403 and leaked.json()["result"]["info"]
    assert send(faulty, "user/check").status_code == 200


def _scope_html(clean, faulty):
    page = send(faulty, "user/check", project="someone-else")
    assert page.status_code == 403 and page.headers["content-type"] == "text/html"
    assert send(faulty, "user/check", username="nobody-here").json()["result"]["error_code"] == 1407


def _scope_code(clean, faulty):
    assert send(clean, "user/check", agent="someone-else").json()["result"]["error_code"] == 9724
    assert send(faulty, "user/check", agent="someone-else").json()["result"]["error_code"] == 1407


def _reason_code(clean, faulty):
    username = ACCOUNTS[("parking", 0)]
    assert check(clean, username).json()["result"]["fail_reason"]["code"] == 100
    assert check(faulty, username).json()["result"]["fail_reason"]["code"] == 999


def _message_contradicts(clean, faulty):
    active, inactive = ACCOUNTS[("parking", 1)], ACCOUNTS[("parking", 0)]
    assert check(clean, active).json()["result"]["message"] == "This account is active"
    assert check(faulty, active).json()["result"]["message"] == "This account is inactive"
    assert check(faulty, inactive).json()["result"]["message"] == "This account is active"


def _message_paraphrased(clean, faulty):
    active, inactive = ACCOUNTS[("parking", 1)], ACCOUNTS[("parking", 0)]
    assert check(clean, active).json()["result"]["message"] == "This account is active"
    assert check(faulty, active).json()["result"]["message"] == "Account is not active!"
    assert check(faulty, inactive).json()["result"]["message"] == "Account active"


def _all_categories(clean, faulty):
    username = ACCOUNTS[("parking", 1)]
    assert list(check(clean, username).json()["result"]["info"]) == ["parking"]
    assert sorted(check(faulty, username).json()["result"]["info"]) == ["finance", "parking", "utilities"]


def _payment_field(external_id, field, check_faulty):
    def probe(clean, faulty):
        payment = next(p for p in TARGET.payments if p.external_id == external_id)
        clean_value = data(send(clean, "action/status", external_id=external_id))[field]
        assert clean_value == {"username": payment.username, "amount": payment.amount}.get(field, clean_value)
        faulty_value = data(send(faulty, "action/status", external_id=external_id))[field]
        assert faulty_value != clean_value and check_faulty(faulty_value, clean_value)
    return probe


def _success_status_false(clean, faulty):
    assert send(clean, "user/check").json()["status"] is True
    payload = send(faulty, "user/check").json()
    assert payload["status"] is False and payload["status_code"] == 0 and payload["result"]["error_code"] == 0


PROBES = {
    "accept-extended-signature": _sig_extended,
    "compare-first-half": _sig_first_half,
    "lookup-before-signature": _lookup_first,
    "signature-status-oracle": _status_oracle,
    "scope-smuggle-escaped": _scope_smuggle,
    "refuse-go-version-characters": _refuse_bf,
    "scope-leak-403": _scope_leak,
    "scope-html": _scope_html,
    "scope-wrong-code": _scope_code,
    "undocumented-reason-code": _reason_code,
    "unverified-without-fail-reason": _check_result(2, "fail_reason", {"code": 202, "message": "Unverified account"}, {}),
    "check-message-contradicts": _message_contradicts,
    "check-message-paraphrased": _message_paraphrased,
    "info-all-categories": _all_categories,
    "failed-payment-without-fail-reason": _payment_field("ext-0004", "fail_reason", lambda faulty, clean: faulty == {}),
    "payment-username-wrong": _payment_field("ext-0002", "username", lambda faulty, clean: faulty == "ext-0002"),
    "payment-amount-wrong": _payment_field("ext-0002", "amount", lambda faulty, clean: faulty == round(clean * 0.9, 2)),
    "payment-datetime-zero": _payment_field("ext-0001", "datetime", lambda faulty, clean: faulty.startswith("0001-01-01")),
    "success-status-false": _success_status_false,
    "python-sample-signer": _python_signer(False),
    "ascii-escaped-signer": _python_signer(True),
    "accept-any-signature": _sig_wrong_secret,
    "missing-signature-accepted": _sig_missing,
    "hash-raw-bytes": _sig_raw_bytes,
    "no-html-escape": _sig_html,
    "accept-truncated-prefix": _sig_truncated,
    "accept-secret-prepended": _sig_prepended,
    "accept-replayed-signature": _sig_replay,
    "ignore-project-scope": _scope("project", 8008),
    "ignore-agent-scope": _scope("agent", 9724),
    "ignore-service-scope": _scope("service_code", 9721),
    "unexpected-status-true": _unexpected_status_true,
    "success-nonzero-status-code": _success_code,
    "status-code-as-string": _status_code_string,
    "missing-message": _missing_message,
    "wrong-content-type": _content_type,
    "unexpected-http-200": _unexpected_200,
    "success-http-202": _success_202,
    "parking-sum-string": _info_schema("parking", lambda i: isinstance(i["sum"], str) or pytest.fail()),
    "parking-missing-current-balance": _info_schema("parking", lambda i: "current_balance" not in i or pytest.fail()),
    "finance-contracts-object": _info_schema("finance", lambda i: isinstance(i["contracts"], dict) or pytest.fail()),
    "utilities-counter-string": _info_schema(
        "utilities", lambda i: all(s["is_counter_service"] in ("true", "false") for s in i["service"]) or pytest.fail()),
    "status-amount-string": _status_amount,
    "parking-latitude-out-of-range": _latitude,
    "external-id-not-echoed": _echo("external_id"),
    "project-not-echoed": _echo("project"),
    "service-code-not-echoed": _echo("service_code"),
    "inactive-without-fail-reason": _check_result(0, "fail_reason", {"code": 100, "message": "Unknown reason, clarification required"}, {}),
    "active-with-fail-reason": _check_result(1, "fail_reason", {}, {"code": 100, "message": "Unknown reason, clarification required"}),
    "wrong-account-status": _check_result(0, "account_status", 0, 1),
    "wrong-info-category": _category,
    "status-code-8": _status_data("status_code", "8"),
    "wrong-status-message": _status_data("status_message", "OK"),
    "finance-min-gt-max": _min_max,
    "wrong-error-format": _wrong_format,
    "mixed-error-formats": _mixed,
    "not-found-html-404": _html_404,
    "wrong-1041-code": _code_1041,
    "wrong-1014-message": _sig_message,
    "signature-rejected-without-1014": _sig_code,
    "malformed-json-500": _server_error(b'{"agent": '),
    "invalid-utf8-500": _server_error(b'{"agent":"\xc3\x28"}'),
    "non-object-500": _server_error(b"[1, 2]"),
    "wrong-types-500": _server_error(b'{"agent":1,"project":"p","service_code":"s","username":"u"}'),
    "extra-fields-500": _extra_field,
    "missing-field-defaulted": _defaulted("external_id", None),
    "empty-field-defaulted": _defaulted("agent", ""),
    "hang": _hang,
    "truncated-json": _truncated,
    "oversized-accepted": _oversized,
    "get-answered": _get,
    "get-served-403": _get_403,
    "expected-error-status-false": _expected_status_false,
    "new-error-without-data": _new_error_without_data,
    "old-error-with-result": _old_error_with_result,
    "undocumented-response-field": _undocumented_field,
}


# -- payments, balance, upper commission (the mock's ledger) ----------------------------------
_IDS = iter(range(10**6))
WRITE = TARGET.write


def cash_in(client, *, amount=1.5, username=None, external_id=None, signature="good", **overrides):
    fields = {"username": username or WRITE.username, "amount": amount, "agent": TARGET.agent,
              "project": TARGET.project, "service_code": TARGET.service_code,
              "external_id": external_id or f"probe-{next(_IDS)}", "datetime": "2026-12-01T10:00:00Z", **overrides}
    body = signer.go_struct_body(fields)
    headers = {"Content-Type": "application/json"}
    if signature == "good":
        headers["X-Signature"] = signer.sign(body, SECRET).signature
    elif signature is not None:
        headers["X-Signature"] = signature
    return fields, client.post(CASH_IN_PATH, content=body, headers=headers)


def signed(client, path, fields):
    body = signer.go_struct_body(fields)
    return client.post(path, content=body, headers={"Content-Type": "application/json",
                                                    "X-Signature": signer.sign(body, SECRET).signature})


def status_of(client, external_id):
    return send(client, "action/status", external_id=external_id).json()


def balance_of(client):
    return signed(client, BALANCE_PATH, {"agent": TARGET.agent}).json()["result"]["balance"]


def commission(client, amount):
    return signed(client, COMMISSION_PATH, {"agent": TARGET.agent, "project": TARGET.project,
                                            "service_code": TARGET.service_code, "amount": amount}).json()["result"]


def _duplicate(expect_second):
    def probe(clean, faulty):
        for client, faulty_side in ((clean, False), (faulty, True)):
            fields, first = cash_in(client, amount=2.0)
            before = balance_of(client)
            _, repeat = cash_in(client, external_id=fields["external_id"], amount=3.0)
            if faulty_side and expect_second:
                assert repeat.json()["status"] is True and balance_of(client) < before
            elif faulty_side:
                assert repeat.json()["status_code"] == 1042
                assert status_of(client, fields["external_id"])["result"]["data"]["amount"] == 3
            else:
                assert repeat.json()["status_code"] == 1042 and repeat.json()["status"] is False
                assert status_of(client, fields["external_id"])["result"]["data"]["amount"] == 2
    return probe


def _cash_in_new_format(clean, faulty):
    for client, new in ((clean, False), (faulty, True)):
        fields, _ = cash_in(client)
        body = cash_in(client, external_id=fields["external_id"])[1].json()
        assert (body["result"].get("error_code") == 1042) is new and (body["status_code"] == 1042) is not new
        body = cash_in(client, amount=9000)[1].json()
        assert (body["result"].get("error_code") == 1410) is new and (body["status_code"] == 1410) is not new


def _refused_created(clean, faulty):
    for client, created in ((clean, False), (faulty, True)):
        fields, resp = cash_in(client, signature=None)
        assert resp.json()["status_code"] == 1014
        assert (status_of(client, fields["external_id"])["result"].get("error_code") == 0) is created


def _not_debited(clean, faulty):
    for client, debited in ((clean, True), (faulty, False)):
        before = balance_of(client)
        cash_in(client, amount=4.25)
        assert (round(before - balance_of(client), 2) == 4.25) is debited


def _unchecked(clean, faulty):
    assert cash_in(clean, amount=9000)[1].json()["status_code"] == 1410
    assert cash_in(faulty, amount=9000)[1].json()["status"] is True
    assert balance_of(faulty) < 0


def _never_final(clean, faulty):
    ids = [cash_in(client)[0]["external_id"] for client in (clean, faulty)]
    time.sleep(0.4)
    assert status_of(clean, ids[0])["result"]["data"]["status_code"] == "2"
    assert status_of(faulty, ids[1])["result"]["data"]["status_code"] == "7"


def _expiry(faulty_status, faulty_reason):
    def probe(clean, faulty):
        ids = [cash_in(client, username=WRITE.expiring_username)[0]["external_id"] for client in (clean, faulty)]
        time.sleep(WRITE.lifetime + 0.1)
        data = status_of(clean, ids[0])["result"]["data"]
        assert data["status_code"] == "4" and data["fail_reason"]["code"] == 401
        data = status_of(faulty, ids[1])["result"]["data"]
        assert data["status_code"] == faulty_status and data.get("fail_reason", {}) == faulty_reason
    return probe


def _commission_sum(clean, faulty):
    ok, bad = commission(clean, 10.42), commission(faulty, 10.42)
    assert round(ok["amount"] + ok["commission"], 2) == ok["amount_with_commission"]
    assert round(bad["amount"] + bad["commission"], 2) != bad["amount_with_commission"]


def _commission_amount(clean, faulty):
    assert commission(clean, 10.42)["amount"] == 10.42
    bad = commission(faulty, 10.42)
    assert bad["amount"] == 104.2 and round(bad["amount"] + bad["commission"], 2) == bad["amount_with_commission"]


def _cash_in_echo(clean, faulty):
    assert cash_in(clean, amount=2.5)[1].json()["result"]["data"]["amount"] == 2.5
    assert cash_in(faulty, amount=2.5)[1].json()["result"]["data"]["amount"] == 250


def _status_disagrees(clean, faulty):
    for client, same in ((clean, True), (faulty, False)):
        fields, resp = cash_in(client)
        assert (status_of(client, fields["external_id"])["result"]["data"]["username"]
                == resp.json()["result"]["data"]["username"]) is same
    assert status_of(faulty, "ext-0002")["result"]["data"]["username"] == "77011234567"  # declared ones untouched


def _balance_string(clean, faulty):
    assert isinstance(balance_of(clean), (int, float)) and isinstance(balance_of(faulty), str)


def _balance_any_agent(clean, faulty):
    for client, answered in ((clean, False), (faulty, True)):
        body = signed(client, BALANCE_PATH, {"agent": "someone-else"}).json()
        assert ("balance" in body["result"]) is answered


def _duplicate_debits(clean, faulty):
    for client, debited in ((clean, False), (faulty, True)):
        fields, _ = cash_in(client, amount=2.0)
        time.sleep(0.4)
        before = balance_of(client)
        _, repeat = cash_in(client, external_id=fields["external_id"], amount=3.0)
        assert repeat.json()["status_code"] == 1042
        assert status_of(client, fields["external_id"])["result"]["data"]["amount"] == 2
        assert (round(before - balance_of(client), 2) == 3.0) is debited


def _unasked_stalls(clean, faulty):
    for client, stalls in ((clean, False), (faulty, True)):
        polled, left = cash_in(client)[0]["external_id"], cash_in(client)[0]["external_id"]
        status_of(client, polled)  # asked about at once: progresses
        time.sleep(0.6)
        assert status_of(client, polled)["result"]["data"]["status_code"] == "2"
        assert (status_of(client, left)["result"]["data"]["status_code"] == "7") is stalls


PROBES.update({
    "duplicate-debits-again": _duplicate_debits,
    "unasked-payment-stalls": _unasked_stalls,
    "duplicate-creates-second": _duplicate(True),
    "duplicate-updates-amount": _duplicate(False),
    "cash-in-errors-new-format": _cash_in_new_format,
    "refused-payment-created": _refused_created,
    "balance-not-debited": _not_debited,
    "balance-unchecked": _unchecked,
    "payment-never-final": _never_final,
    "lifetime-never-expires": _expiry("1", {}),
    "lifetime-without-reason": _expiry("4", {}),
    "commission-wrong-sum": _commission_sum,
    "commission-other-amount": _commission_amount,
    "cash-in-echo-wrong": _cash_in_echo,
    "status-disagrees": _status_disagrees,
    "balance-as-string": _balance_string,
    "balance-any-agent": _balance_any_agent,
})


# -- Payment System Callback ----------------------------------------------------------------------
def called_back(client, *, answers=(), username=None, wait=lambda ds: any(d.answered == 200 for d in ds), extra=0.0):
    """Pay with a callback_url on a fresh receiver; the deliveries once ``wait`` holds (+ ``extra`` s)."""
    with CallbackReceiver() as receiver:
        external_id = f"probe-cb-{next(_IDS)}"
        receiver.plan(external_id, list(answers))
        cash_in(client, external_id=external_id, username=username, callback_url=receiver.url)
        receiver.wait_for(external_id, wait, 5)
        time.sleep(extra)
        return receiver.deliveries(external_id)


def _callback_signature(clean, faulty):
    for client, good in ((clean, True), (faulty, False)):
        delivery = called_back(client)[0]
        assert (delivery.signature == signer.sign(delivery.body, SECRET).signature) is good


def _callback_no_retry(clean, faulty):
    assert [d.answered for d in called_back(clean, answers=[500])] == [500, 200]
    assert [d.answered for d in called_back(faulty, answers=[500], extra=0.5)] == [500]


def _callback_after_200(clean, faulty):
    assert len(called_back(clean, extra=0.5)) == 1
    assert len(called_back(faulty, extra=0.5)) == 3


def _callback_status(clean, faulty):
    assert called_back(clean)[0].json()["status_code"] == "2"
    assert called_back(faulty)[0].json()["status_code"] == "3"


def _callback_expiry(clean, faulty):
    expired = called_back(clean, username=WRITE.expiring_username)
    assert expired[0].json()["status_code"] == "4" and expired[0].json()["fail_reason"]["code"] == 401
    assert called_back(faulty, username=WRITE.expiring_username, wait=lambda ds: False and ds) == []


def _callback_retry_unsigned(clean, faulty):
    for client, good in ((clean, True), (faulty, False)):
        first, retry = called_back(client, answers=[500])
        assert first.signature == signer.sign(first.body, SECRET).signature
        assert (retry.signature == signer.sign(retry.body, SECRET).signature) is good


def _callback_for_refused(clean, faulty):
    for client, called in ((clean, False), (faulty, True)):
        with CallbackReceiver() as receiver:
            fields, answer = cash_in(client, signature="0" * 64, callback_url=receiver.url)
            assert answer.json()["status_code"] == 1014
            deliveries = receiver.wait_for(fields["external_id"], bool, 1.0)
            assert bool(deliveries) is called and (not called or deliveries[0].json()["status_code"] == "2")
            assert status_of(client, fields["external_id"])["result"]["error_code"] == 1041


PROBES.update({
    "callback-wrong-signature": _callback_signature,
    "callback-signed-other-body": _callback_signature,
    "callback-no-retry": _callback_no_retry,
    "callback-retries-after-200": _callback_after_200,
    "callback-status-disagrees": _callback_status,
    "callback-missing-on-expiry": _callback_expiry,
    "callback-retry-unsigned": _callback_retry_unsigned,
    "callback-for-refused-payment": _callback_for_refused,
})


# -- confirmation of funds debit and payment links -------------------------------------------------
def confirm(client, external_id, code):
    return signed(client, CONFIRM_PATH, {"agent": TARGET.agent, "confirm_code": code, "external_id": external_id}).json()


def link(client, agent=None):
    return signed(client, LINK_PATH, {"agent": agent or TARGET.agent, "username": WRITE.username, "amount": 1,
                                      "service": TARGET.service_code, "refer_host": "agws-conformance.test"}).json()


def _confirm_any_code(clean, faulty):
    for client, confirms in ((clean, False), (faulty, True)):
        fields, _ = cash_in(client, username=WRITE.expiring_username)
        assert confirm(client, fields["external_id"], "wrong")["result"]["is_success"] is confirms
        fields, _ = cash_in(client, username=WRITE.expiring_username)
        assert confirm(client, fields["external_id"], WRITE.confirm_code)["result"]["is_success"] is True


def _confirm_unknown(clean, faulty):
    assert confirm(clean, "never-seen", "x")["result"]["error_code"] == 5103
    assert confirm(faulty, "never-seen", "x")["result"]["is_success"] is True


def _link_without_url(clean, faulty):
    assert link(clean)["result"]["redirect_url"].startswith("https://") and link(faulty)["result"]["redirect_url"] == ""


def _link_any_agent(clean, faulty):
    assert link(clean, "someone-else")["result"]["error_code"] == 9724
    assert link(faulty, "someone-else")["result"]["redirect_url"]


PROBES.update({
    "confirm-any-code": _confirm_any_code,
    "confirm-unknown-succeeds": _confirm_unknown,
    "link-without-url": _link_without_url,
    "link-any-agent": _link_any_agent,
})


def _scope_leak_neighbour(clean, faulty):
    """The declared neighbour (mock.toml other_*) is served to this project's secret; an unknown one is not."""
    for name, code in (("agent", 9724), ("project", 8008), ("service_code", 9721)):
        neighbour = TARGET.other(name)
        assert neighbour is not None
        assert send(clean, "user/check", **{name: neighbour}).json()["result"]["error_code"] == code
        assert send(faulty, "user/check", **{name: neighbour}).json()["result"]["error_code"] == 0
        assert send(faulty, "user/check", **{name: "someone-else"}).json()["result"]["error_code"] == code
    own = signed(faulty, BALANCE_PATH, {"agent": TARGET.agent}).json()["result"]["balance"]
    theirs = signed(faulty, BALANCE_PATH, {"agent": TARGET.other("agent")}).json()["result"]
    assert theirs["showcase_code"] == TARGET.other("agent") and theirs["balance"] != own
    assert signed(clean, BALANCE_PATH, {"agent": TARGET.other("agent")}).json()["result"]["error_code"] == 9724


PROBES["scope-leak-neighbour"] = _scope_leak_neighbour


# -- method by method (issue 23) -------------------------------------------------------------------
def _raw_post(client, path, fields, signature):
    body = signer.go_struct_body(fields)
    headers = {"Content-Type": "application/json", "X-Signature": signature}
    return client.post(path, content=body, headers=headers)


def _right(fields):
    return signer.sign(signer.go_struct_body(fields), SECRET).signature


def _cash_in_signature(make):
    """Cash-in with ``make(right signature)`` is refused by the clean mock and creates a payment on the
    faulty one; the other methods keep checking (user/check with the same spelling is refused)."""
    def probe(clean, faulty):
        for client, accepted in ((clean, False), (faulty, True)):
            body_fields = {"username": WRITE.username, "amount": 1.5, "agent": TARGET.agent, "project": TARGET.project,
                           "service_code": TARGET.service_code, "external_id": f"probe-{next(_IDS)}",
                           "datetime": "2026-12-01T10:00:00Z"}
            resp = _raw_post(client, CASH_IN_PATH, body_fields, make(_right(body_fields)))
            assert (resp.json()["status"] is True) is accepted, resp.text
            created = status_of(client, body_fields["external_id"])["result"].get("error_code") == 0
            assert created is accepted
        body = body_of("user/check")
        assert send(faulty, "user/check", body, signature=make(signer.sign(body, SECRET).signature)).json()[
            "status_code"] == 1014
    return probe


def _method_signature(path, fields, make):
    """``path`` with ``make(right signature)``: refused by the clean mock, served by the faulty one;
    user/check with the same spelling stays refused on the faulty one."""
    def probe(clean, faulty):
        assert _raw_post(clean, path, fields, make(_right(fields))).json()["status_code"] == 1014
        served = _raw_post(faulty, path, fields, make(_right(fields))).json()
        assert served.get("status_code") != 1014 and served["result"], served
        body = body_of("user/check")
        assert send(faulty, "user/check", body, signature=make(signer.sign(body, SECRET).signature)).json()[
            "status_code"] == 1014
    return probe


_LINK_FIELDS = {"agent": TARGET.agent, "username": WRITE.username, "amount": 1, "service": TARGET.service_code,
                "refer_host": "agws-conformance.test"}
_COMMISSION_FIELDS = {"agent": TARGET.agent, "project": TARGET.project, "service_code": TARGET.service_code,
                      "amount": 10}


def _confirm_other_agent(clean, faulty):
    for client, confirms in ((clean, False), (faulty, True)):
        fields, _ = cash_in(client, username=WRITE.expiring_username)
        answer = signed(client, CONFIRM_PATH, {"agent": TARGET.agent + "-other", "confirm_code": WRITE.confirm_code,
                                               "external_id": fields["external_id"]}).json()
        assert (answer["result"].get("is_success") is True) is confirms, answer
        assert (status_of(client, fields["external_id"])["result"]["data"]["status_code"] != "1") is confirms


def _drops_on_non_json(clean, faulty):
    bad = b'{"agent": '
    headers = {"Content-Type": "application/json", "X-Signature": "0" * 64}
    assert clean.post(USER_CHECK_PATH, content=bad, headers=headers).status_code == 400
    with pytest.raises(httpx.TransportError):
        faulty.post(USER_CHECK_PATH, content=bad, headers=headers)
    assert check(faulty, ACCOUNTS[("parking", 1)]).json()["result"]["account_status"] == 1


PROBES.update({
    "cash-in-empty-signature": _cash_in_signature(lambda sig: ""),
    "cash-in-signature-prefix": _cash_in_signature(lambda sig: sig[:7]),
    "link-one-character-signature": _method_signature(LINK_PATH, _LINK_FIELDS, lambda sig: sig[:1]),
    "balance-first-32-digits": _method_signature(BALANCE_PATH, {"agent": TARGET.agent},
                                                 lambda sig: sig[:32] + "0" * 32 if sig[32:] != "0" * 32 else sig[:32]),
    "commission-empty-signature": _method_signature(COMMISSION_PATH, _COMMISSION_FIELDS, lambda sig: ""),
    "confirm-any-agent": _confirm_other_agent,
    "non-json-drops-connection": _drops_on_non_json,
})


@pytest.fixture(scope="module")
def clean():
    with MockServer(TARGET) as server:
        yield httpx.Client(base_url=server.url, timeout=10, transport=_TRANSPORT)


def test_every_fault_has_a_probe():
    assert set(PROBES) == set(FAULTS)
    assert len(FAULTS) >= 20


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_changes_the_response_as_claimed(clean, name):
    # A fresh target per fault: the replay fault keeps state, and the server must start clean.
    timeout = 1.0 if name == "hang" else 10.0
    with MockServer(TARGET, faults=[name]) as server:
        PROBES[name](clean, httpx.Client(base_url=server.url, timeout=timeout, transport=_TRANSPORT))


def test_faults_name_existing_requirements():
    from agws_conformance.resources import data_dir

    catalogue = json.loads((data_dir("schemas") / "requirements.json").read_text(encoding="utf-8"))
    known = {r["id"]: r["level"] for r in catalogue["requirements"]}
    for fault in FAULTS.values():
        assert fault.breaks, fault.name
        assert set(fault.breaks) <= set(known), (fault.name, set(fault.breaks) - set(known))
        # INFO cannot be broken, except SCH-STRICT-EXTRA-FIELDS, which fails under --agws-strict.
        assert any(known[i] != "INFO" or i == "SCH-STRICT-EXTRA-FIELDS" for i in fault.breaks), fault.name
        assert fault.description and "\n" not in fault.description


def test_unknown_fault_is_a_clear_error():
    with pytest.raises(UnknownFaultError, match=r"unknown mock fault 'nope'; valid faults: accept-any-signature, "):
        create_app(TARGET, faults=["nope"])
    with pytest.raises(UnknownFaultError):
        MockServer(TARGET, faults=["hang", "nope"])


def test_faults_combine_and_keep_separate_state():
    both = behaviour_for(["ignore-agent-scope", "ignore-project-scope"])
    assert both.scope_fields == ("service_code",)
    first, second = behaviour_for(["mixed-error-formats"]), behaviour_for(["mixed-error-formats"])
    assert first.reply_hooks[0] is not second.reply_hooks[0]


def test_hang_does_not_block_stop():
    import time

    server = MockServer(TARGET, faults=["hang"])
    server.start()
    with pytest.raises(httpx.ReadTimeout):
        send(httpx.Client(base_url=server.url, timeout=0.5, transport=_TRANSPORT), "user/check", username="nobody")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 8
