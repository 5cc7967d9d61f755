"""Every legitimate variation observably changes the mock as it says, and the clean mock stays clean."""

from __future__ import annotations

import time

import httpx
import pytest

from agws_conformance import signer
import itertools

from agws_conformance.endpoints import BALANCE_PATH, CASH_IN_PATH, CONFIRM_PATH, LINK_PATH
from agws_conformance.mock import VARIATIONS, MockServer, UnknownVariationError, create_app
from agws_conformance.receiver import CallbackReceiver
from agws_conformance.signer import Variant

try:
    from test_mock_faults import SECRET, TARGET, _TRANSPORT, body_of, send
except ImportError:  # run from the repository root as a package
    from tests.test_mock_faults import SECRET, TARGET, _TRANSPORT, body_of, send

_IDS = itertools.count()


def _escapes(clean, varied):
    body = body_of("user/check", username="nobody-\b\f")
    legacy = signer.sign(body, SECRET, Variant(legacy_escapes=True)).signature
    assert send(clean, "user/check", body, signature=legacy).json()["status_code"] == 1014
    assert send(varied, "user/check", body, signature=legacy).json()["result"]["error_code"] == 1407
    assert send(varied, "user/check", body).json()["status_code"] == 1014  # the 1.22 signature no longer


def _omit_empty(clean, varied):
    body = body_of("user/check", comment="")
    omitted = signer.sign(body, SECRET, Variant(omit_empty=True)).signature
    assert send(clean, "user/check", body, signature=omitted).json()["status_code"] == 1014
    assert send(varied, "user/check", body, signature=omitted).json()["result"]["error_code"] == 0


def _proxy(clean, varied):
    for method, path, status in (("GET", None, 405), ("POST", "/elsewhere", 404)):
        url = path or "/showcase-gateway/api/v1/user/check"
        assert clean.request(method, url).headers["content-type"] == "application/json"
        page = varied.request(method, url)
        assert page.status_code == status and page.headers["content-type"] == "text/html" and b"nginx" in page.content
    big = varied.post("/showcase-gateway/api/v1/user/check", content=b" " * 70000,
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and b"nginx" in big.content


def _data_empty(clean, varied):
    assert send(clean, "user/check", username="nobody").json()["result"]["data"] is None
    result = send(varied, "user/check", username="nobody").json()["result"]
    assert result["data"] == {} and result["additional_data"] == {}


def _charset(clean, varied):
    assert send(clean, "user/check").headers["content-type"] == "application/json"
    assert send(varied, "user/check").headers["content-type"] == "application/json; charset=utf-8"


def _extra(clean, varied):
    assert "provider_reference" not in send(clean, "user/check").json()["result"]
    assert send(varied, "user/check").json()["result"]["provider_reference"]
    assert "commission" in send(varied, "action/status").json()["result"]["data"]


def _codes(clean, varied):
    assert send(clean, "user/check", b"{", signature="x").json()["status_code"] == 400
    assert send(varied, "user/check", b"{", signature="x").json()["status_code"] == 1021
    missing = send(varied, "user/check", username=None)
    assert (missing.status_code, missing.json()["status_code"]) == (400, 1404)


def _server_error(clean, varied):
    body = b'{"agent":1,"project":"p","service_code":"s","username":"u"}'
    answer = send(varied, "user/check", body, signature=signer.sign(body, SECRET).signature)
    assert answer.status_code == 500 and answer.json() == {"status": False, "status_code": 999999,
                                                           "message": "Unknown error", "result": {}}


def _thin_page_shapes(clean, varied):
    fields = {"agent": TARGET.agent, "username": TARGET.write.username, "amount": 1, "service": TARGET.service_code,
              "refer_host": "agws-conformance.test"}
    body = signer.go_struct_body(fields)
    headers = {"X-Signature": signer.sign(body, SECRET).signature}
    assert set(clean.post(LINK_PATH, content=body, headers=headers).json()) == {"status", "status_code", "message", "result"}
    link = varied.post(LINK_PATH, content=body, headers=headers).json()
    assert set(link) == {"result"} and link["result"]["code"] == 0
    confirm = signer.go_struct_body({"agent": TARGET.agent, "confirm_code": "x", "external_id": "ext-0001"})
    cash = signer.go_struct_body({"username": TARGET.write.expiring_username, "amount": 1, "agent": TARGET.agent,
                                  "project": TARGET.project, "service_code": TARGET.service_code,
                                  "external_id": "thin-1", "datetime": "2026-12-01T10:00:00Z"})
    varied.post(CASH_IN_PATH, content=cash, headers={"X-Signature": signer.sign(cash, SECRET).signature})
    confirm = signer.go_struct_body({"agent": TARGET.agent, "confirm_code": "wrong", "external_id": "thin-1"})
    answer = varied.post(CONFIRM_PATH, content=confirm, headers={"X-Signature": signer.sign(confirm, SECRET).signature})
    assert answer.json()["result"]["is_success"] == "false"


def _intermediate_callback(clean, varied):
    # Answered 500 once: the clean mock retries its one callback; the varied one retries "7", then sends "2".
    for n, (client, statuses) in enumerate(((clean, ["2", "2"]), (varied, ["7", "7", "2"]))):
        with CallbackReceiver() as receiver:
            external_id = f"intermediate-{n}-{time.monotonic_ns()}"
            receiver.plan(external_id, [500])
            cash = signer.go_struct_body({"username": TARGET.write.username, "amount": 1, "agent": TARGET.agent,
                                          "project": TARGET.project, "service_code": TARGET.service_code,
                                          "external_id": external_id, "datetime": "2026-12-01T10:00:00Z",
                                          "callback_url": receiver.url})
            client.post(CASH_IN_PATH, content=cash, headers={"X-Signature": signer.sign(cash, SECRET).signature})
            receiver.wait_for(external_id, lambda ds: any(d.json()["status_code"] == "2" for d in ds), 5)
            time.sleep(0.3)
            deliveries = receiver.deliveries(external_id)
            assert [d.json()["status_code"] for d in deliveries] == statuses
            assert all(d.signature == signer.sign(d.body, SECRET).signature for d in deliveries)


def _pay(client, username=None, amount=2.0, **overrides):
    fields = {"username": username or TARGET.write.username, "amount": amount, "agent": TARGET.agent,
              "project": TARGET.project, "service_code": TARGET.service_code,
              "external_id": f"var-{next(_IDS)}", "datetime": "2026-12-01T10:00:00Z", **overrides}
    body = signer.go_struct_body(fields)
    return fields, client.post(CASH_IN_PATH, content=body, headers={"X-Signature": signer.sign(body, SECRET).signature})


def _signed(client, path, fields):
    body = signer.go_struct_body(fields)
    return client.post(path, content=body, headers={"X-Signature": signer.sign(body, SECRET).signature}).json()


def _balance(client):
    return _signed(client, BALANCE_PATH, {"agent": TARGET.agent})["result"]["balance"]


def _one_attempt(clean, varied):
    for client, status in ((clean, "1"), (varied, "4")):
        fields, _ = _pay(client, username=TARGET.write.expiring_username)
        confirm = {"agent": TARGET.agent, "confirm_code": "wrong", "external_id": fields["external_id"]}
        assert _signed(client, CONFIRM_PATH, confirm)["result"]["is_success"] is False
        data = send(client, "action/status", external_id=fields["external_id"]).json()["result"]["data"]
        assert data["status_code"] == status
    assert data["fail_reason"]["code"] == 402


def _debits_commission(clean, varied):
    for client, commission in ((clean, 0.0), (varied, 0.06)):
        before = _balance(client)
        _pay(client, amount=2.5)
        assert round(before - _balance(client), 2) == 2.5 + commission


def _float_balance(clean, varied):
    whole = _balance(clean)
    assert whole == round(whole, 2)  # the clean mock's balance is whole tiyn
    _pay(varied, amount=2.17)
    assert _balance(varied) == 4988.44 - 2.17 != 4986.27  # a float64 running total


def _datetime_as_given(clean, varied):
    for client, accepted in ((clean, False), (varied, True)):
        fields, resp = _pay(client, datetime="yesterday at noon")
        assert (resp.json()["status"] is True) is accepted
    assert send(varied, "action/status", external_id=fields["external_id"]).json()["result"]["data"]["datetime"] \
        == "yesterday at noon"


PROBES = {
    "one-confirmation-attempt": _one_attempt,
    "debits-commission": _debits_commission,
    "float-balance": _float_balance,
    "datetime-as-given": _datetime_as_given,
    "thin-page-shapes": _thin_page_shapes,
    "go1.21-escapes": _escapes,
    "omit-empty-signer": _omit_empty,
    "proxy-html-errors": _proxy,
    "data-empty-object": _data_empty,
    "json-charset": _charset,
    "extra-success-fields": _extra,
    "documented-error-codes": _codes,
    "server-error-envelope": _server_error,
    "callback-intermediate-status": _intermediate_callback,
}


def test_every_variation_has_a_probe_and_a_source():
    assert set(PROBES) == set(VARIATIONS)
    assert all(v.allowed_by and v.description for v in VARIATIONS.values())


@pytest.fixture(scope="module")
def clean():
    with MockServer(TARGET) as server:
        yield httpx.Client(base_url=server.url, timeout=10, transport=_TRANSPORT)


@pytest.mark.parametrize("name", sorted(VARIATIONS))
def test_variation_changes_the_response_as_described(clean, name):
    with MockServer(TARGET, variations=[name]) as server:
        PROBES[name](clean, httpx.Client(base_url=server.url, timeout=10, transport=_TRANSPORT))


def test_unknown_variation_is_a_clear_error():
    with pytest.raises(UnknownVariationError, match=r"unknown mock variation 'nope'; valid variations: "):
        create_app(TARGET, variations=["nope"])
