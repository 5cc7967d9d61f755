"""The clean mock gateway answers as the documents say, and bad input never breaks it."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import contextlib

import httpx

from agws_conformance import schemas, signer
from agws_conformance.endpoints import ACTION_STATUS_PATH, REQUEST_FIELDS, USER_CHECK_PATH
from agws_conformance.mock import MockServer, create_app, embedded_target
from agws_conformance.mock.app import MAX_NESTING
from agws_conformance.endpoints import TRANSACTION_STATUSES as STATUS_MESSAGES
from agws_conformance.mock.data import fail_reason

PATHS = {"user/check": USER_CHECK_PATH, "action/status": ACTION_STATUS_PATH}
TARGET = embedded_target()
# One transport for every client: building an httpx client's TLS context costs ~150 ms.
_TRANSPORT = httpx.HTTPTransport()
SECRET = TARGET.secret.reveal()


def fields(endpoint: str, target=TARGET, **overrides) -> dict:
    base = {"agent": target.agent, "project": target.project, "service_code": target.service_code,
            "username": target.accounts[0].username, "external_id": target.payments[0].external_id}
    base.update(overrides)
    return {name: base[name] for name in REQUEST_FIELDS[endpoint]} | {
        k: v for k, v in overrides.items() if k not in REQUEST_FIELDS[endpoint]}


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Signature": signer.sign(body, secret).signature, "Content-Type": "application/json"}


def post(client: httpx.Client, endpoint: str, body: bytes, headers: dict | None = None):
    return client.post(PATHS[endpoint], content=body, headers=signed(body) if headers is None else headers)


def ask(client: httpx.Client, endpoint: str, target=TARGET, **overrides):
    body = signer.go_struct_body(fields(endpoint, target, **overrides))
    return post(client, endpoint, body, signed(body, target.secret.reveal()))


@contextlib.contextmanager
def serve(target=TARGET, **options):
    """A real mock server on loopback and an httpx client bound to it."""
    with MockServer(target, **options) as server:
        yield httpx.Client(base_url=server.url, timeout=10, transport=_TRANSPORT)


@pytest.fixture(scope="module")
def client():
    with serve() as c:
        yield c


def assert_unexpected(response, http_status: int, code: int, message_part: str = "") -> None:
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert schemas.errors("error-unexpected", payload) == []
    assert payload["status_code"] == code
    assert message_part in payload["message"]


def assert_expected_new(response, code: int, message: str) -> None:
    assert response.status_code == 200
    payload = response.json()
    assert schemas.errors("error-expected-new", payload) == []
    assert (payload["result"]["error_code"], payload["result"]["message"]) == (code, message)
    assert payload["result"]["data"] is None


# ---------------------------------------------------------------------------------------- data


def test_bundled_target_covers_the_documented_cases():
    statuses = {(a.category, a.account_status) for a in TARGET.accounts}
    assert {("parking", 1), ("parking", 0), ("finance", 1), ("utilities", 1)} <= statuses
    assert any(a.account_status == 2 for a in TARGET.accounts)
    names = "".join(a.username for a in TARGET.accounts)
    assert {"<", "&", ">"} <= set(names) and "Иван" in names and "Қ" in names and "🚗" in names
    assert sorted({p.status_code for p in TARGET.payments}) == list("1234567")


def test_embedded_target_gets_fresh_secret_and_overrides():
    a, b = embedded_target(), embedded_target("auto", agent="other-agent")
    assert a.secret.reveal() != b.secret.reveal() and len(a.secret.reveal()) >= 32
    assert (a.error_format, b.error_format, embedded_target("old").error_format) == ("new", "new", "old")
    assert b.agent == "other-agent" and b.project == a.project
    with pytest.raises(ValueError, match="error_format"):
        embedded_target("newest")


def test_create_app_needs_a_secret():
    with pytest.raises(ValueError, match="export AGWS_MOCK_SECRET"):
        create_app(dataclasses.replace(TARGET, secret=None))


# ------------------------------------------------------------------------------- user/check


@pytest.mark.parametrize("account", TARGET.accounts, ids=lambda a: a.username)
def test_every_account_is_a_schema_valid_success(client, account):
    response = ask(client, "user/check", username=account.username)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    payload = response.json()
    assert schemas.errors("user-check-success", payload) == []
    result = payload["result"]
    assert result["account_status"] == account.account_status
    assert list(result["info"]) == [account.category]
    info = result["info"][account.category]
    assert schemas.errors(f"info-{account.category}", info) == []
    if account.account_status == 1:
        assert result["fail_reason"] == {} and result["amount"] > 0
        assert result["upper_commission"] >= result["amount"]
    else:
        assert result["fail_reason"] == fail_reason(account.fail_reason)
    if account.category == "parking" and account.account_status == 1:
        assert set(info) == {"in_date", "left_free_time_minutes", "sum", "current_balance", "zone",
                             "coordinates", "duration", "phone"}
        datetime.fromisoformat(info["in_date"])
        assert -90 <= info["coordinates"]["latitude"] <= 90
        assert -180 <= info["coordinates"]["longitude"] <= 180
    if account.category == "parking" and account.account_status == 0:
        assert info["in_date"] == "" and info["sum"] == 0 and info["current_balance"] == 0
    if account.category == "finance":
        assert info["contracts"]
        for contract in info["contracts"]:
            assert contract["min"] <= contract["max"]
            datetime.strptime(contract["contract_date"], "%d.%m.%Y %H:%M:%S")
    if account.category == "utilities":
        assert re.search("[А-Яа-яӘәҚқҰұ]", info["customer"]["address"])
        for service in info["service"]:
            assert len(service) == 14 and isinstance(service["is_counter_service"], bool)


def test_answers_are_deterministic_per_username(client):
    first = [ask(client, "user/check", username=a.username).content for a in TARGET.accounts]
    again = [ask(client, "user/check", username=a.username).content for a in TARGET.accounts]
    assert first == again and len(set(first)) == len(first)


def test_bodies_are_go_style_json(client):
    response = ask(client, "user/check", username="tom<&>jerry")
    raw = response.content
    assert b" " not in raw.split(b'"')[0] and not re.search(rb"\d\.0[,}]", raw)  # compact, 118 not 118.0
    assert raw == signer.canonical_from_value(json.loads(raw))
    status = ask(client, "action/status")
    assert status.content == signer.canonical_from_value(status.json())


def test_unknown_username_is_1407_in_new_format(client):
    assert_expected_new(ask(client, "user/check", username="nobody"), 1407, "Cache: item not found")


def test_old_format_expected_errors_use_the_failed_envelope_and_404():
    target = embedded_target("old")
    with serve(target) as old:
        for endpoint, field, code, message in (("user/check", "username", 1407, "Cache: item not found"),
                                               ("action/status", "external_id", 1041, "Order not found"),
                                               ("user/check", "project", 8008, "project doesn't exist")):
            response = ask(old, endpoint, target, **{field: "nope"})
            assert response.status_code == 404
            payload = response.json()
            assert schemas.errors("error-expected-old", payload) == []
            assert (payload["status_code"], payload["message"]) == (code, message)


@pytest.mark.parametrize("endpoint", PATHS)
@pytest.mark.parametrize("field,code,message", [
    ("project", 8008, "project doesn't exist"),
    ("agent", 9724, "showcase not found"),
    ("service_code", 9721, "showcase service not found"),
])
def test_scope_errors_are_expected_errors(client, endpoint, field, code, message):
    assert_expected_new(ask(client, endpoint, **{field: "someone-else"}), code, message)


# ---------------------------------------------------------------------------- action/status


@pytest.mark.parametrize("payment", TARGET.payments, ids=lambda p: p.external_id)
def test_every_payment_is_a_schema_valid_success(client, payment):
    response = ask(client, "action/status", external_id=payment.external_id)
    assert response.status_code == 200
    payload = response.json()
    assert schemas.errors("action-status-success", payload) == []
    data = payload["result"]["data"]
    assert data["status_code"] == payment.status_code
    assert data["status_message"] == STATUS_MESSAGES[payment.status_code]
    assert (data["external_id"], data["project"], data["service_code"]) == (
        payment.external_id, TARGET.project, TARGET.service_code)
    assert data["fail_reason"] == (fail_reason(payment.fail_reason or 100) if payment.status_code in "46" else {})
    if payment.username is not None:
        assert (data["username"], data["amount"]) == (payment.username, payment.amount)
    datetime.fromisoformat(data["datetime"].replace("Z", "+00:00"))


def test_unknown_external_id_is_1041(client):
    assert_expected_new(ask(client, "action/status", external_id="ext-9999"), 1041, "Order not found")


# -------------------------------------------------------------------------------- signatures


def test_struct_order_whitespace_and_escapes_are_accepted(client):
    values = fields("user/check", username="tom<&>jerry")
    sorted_go = signer.canonical_from_value(values)
    pretty = json.dumps(values, indent=2, ensure_ascii=True).encode()  # \u escapes, newlines, < raw
    for body in (signer.go_struct_body(values), sorted_go, pretty):
        response = post(client, "user/check", body, {"X-Signature": signer.sign(body, SECRET).signature})
        assert response.status_code == 200 and response.json()["result"]["error_code"] == 0, body


@pytest.mark.parametrize("case", ["missing", "empty", "wrong-secret", "uppercase", "tampered",
                                  "truncated", "secret-prepended", "raw-bytes", "other-body"])
def test_bad_signatures_are_1014(client, case):
    body = signer.go_struct_body(fields("user/check"))
    good = signer.sign(body, SECRET)
    header = {
        "missing": None,
        "empty": "",
        "wrong-secret": signer.sign(body, "not-the-secret").signature,
        "uppercase": good.signature.upper(),
        "tampered": good.signature,
        "truncated": good.signature[:63],
        "secret-prepended": __import__("hashlib").sha256(SECRET.encode() + good.base64.encode()).hexdigest(),
        "raw-bytes": signer.signature_of_canonical(body, SECRET),  # struct order is not canonical
        "other-body": signer.sign(signer.go_struct_body(fields("user/check", username="x")), SECRET).signature,
    }[case]
    if case == "tampered":
        body = body.replace(b"mock-showcase", b"mock-showcasf")
    headers = {} if header is None else {"X-Signature": header}
    assert_unexpected(post(client, "user/check", body, headers), 400, 1014, "Invalid signature")


def test_signature_is_checked_before_the_lookup(client):
    body = signer.go_struct_body(fields("user/check", username="nobody", project="other"))
    assert_unexpected(post(client, "user/check", body, {"X-Signature": "0" * 64}), 400, 1014)


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("body,message", [
    (b"", "body is empty"),
    (b"{", "not valid JSON"),
    (b'{"agent": NaN}', "not valid JSON"),
    (b'{"a": 1e400}', "overflows float64"),
    (b"\xef\xbb\xbf{}", "not valid JSON"),
    (b'{"agent": "\xff"}', "not valid UTF-8 (byte 0xff at offset 11)"),
    (b"[" * 100 + b"]" * 100, "not array"),
    (b'{"a":' * (MAX_NESTING + 1) + b"1" + b"}" * (MAX_NESTING + 1), "nests deeper"),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nests deeper"),
    (b"[]", "not array"),
    (b'"agent"', "not string"),
    (b"null", "not null"),
    (b"42", "not number"),
])
def test_unparseable_bodies_get_400(client, body, message):
    assert_unexpected(post(client, "user/check", body, {"X-Signature": "x"}), 400, 400, message)


@pytest.mark.parametrize("endpoint", PATHS)
def test_field_problems_get_400_naming_the_field(client, endpoint):
    for name in REQUEST_FIELDS[endpoint]:
        values = fields(endpoint)
        for change, problem in ((None, "is required"), (7, "must be a string, not number"),
                                (None if False else [], "must be a string, not array"), ("", "must not be empty")):
            body_values = dict(values)
            if problem == "is required":
                del body_values[name]
            else:
                body_values[name] = change
            body = signer.canonical_from_value(body_values)
            assert_unexpected(post(client, endpoint, body), 400, 400, f"field {name!r} {problem}")


def test_extra_fields_are_ignored(client):
    body = signer.go_struct_body(fields("user/check", note="hello"))
    assert post(client, "user/check", body).json()["result"]["error_code"] == 0


def test_oversized_bodies_get_413(client):
    big = signer.canonical_from_value(fields("user/check", pad="x" * 70000))
    assert_unexpected(post(client, "user/check", big), 413, 413, "exceeds 65536 bytes")
    # Without Content-Length (chunked): the limit applies while reading.
    chunks = iter([big[i:i + 8192] for i in range(0, len(big), 8192)])
    response = client.post(USER_CHECK_PATH, content=chunks, headers=signed(big))
    assert_unexpected(response, 413, 413)


def test_body_limit_is_configurable():
    with serve(max_body_bytes=100) as small:
        body = signer.go_struct_body(fields("user/check", username="x" * 100))
        assert_unexpected(post(small, "user/check", body), 413, 413, "exceeds 100 bytes")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "PROPFIND"])
def test_other_methods_get_405_with_allow(client, method):
    response = client.request(method, USER_CHECK_PATH)
    assert_unexpected(response, 405, 405, f"method {method} not allowed")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("content_type,accepted", [
    (None, True), ("application/json", True), ("application/json; charset=utf-8", True),
    ("application/vnd.api+json", True), ("text/plain", False),
    ("application/x-www-form-urlencoded", False),
])
def test_content_type_policy(client, content_type, accepted):
    body = signer.go_struct_body(fields("user/check"))
    headers = {"X-Signature": signer.sign(body, SECRET).signature}
    if content_type:
        headers["Content-Type"] = content_type
    response = post(client, "user/check", body, headers)
    if accepted:
        assert response.status_code == 200
    else:
        assert_unexpected(response, 415, 415, "unsupported Content-Type")


@pytest.mark.parametrize("path", ["/", "/showcase-gateway/api/v1/user", "/showcase-gateway/api/v1/user/check/x",
                                  "/prefix" + USER_CHECK_PATH])
def test_unknown_paths_get_404(client, path):
    assert_unexpected(client.post(path, content=b"{}"), 404, 404, "no such method")


def test_prefix_moves_the_endpoints():
    with serve(prefix="gw/") as prefixed:
        body = signer.go_struct_body(fields("user/check"))
        assert prefixed.post(USER_CHECK_PATH, content=body, headers=signed(body)).status_code == 200
        root = str(prefixed.base_url).removesuffix("/gw/").removesuffix("/gw")
        assert str(prefixed.base_url).rstrip("/").endswith("/gw")
        assert httpx.post(root + USER_CHECK_PATH, content=body, headers=signed(body)).status_code == 404


# ------------------------------------------------------------------------------- generated


def _error_envelope(response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert schemas.errors("error-unexpected", response.json()) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), endpoint=st.sampled_from(list(PATHS)))
def test_arbitrary_bytes_get_a_4xx_error_envelope(client, body, endpoint):
    _error_envelope(post(client, endpoint, body, {"X-Signature": "ab" * 32}))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_json, endpoint=st.sampled_from(list(PATHS)))
def test_arbitrary_unsigned_json_gets_a_4xx_error_envelope(client, value, endpoint):
    _error_envelope(post(client, endpoint, json.dumps(value).encode(), {"X-Signature": "0" * 64}))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.dictionaries(st.sampled_from(["agent", "username", "project", "service_code", "external_id", "x"]),
                             _json, max_size=6),
       endpoint=st.sampled_from(list(PATHS)))
def test_arbitrary_signed_objects_never_succeed_wrongly_or_5xx(client, value, endpoint):
    body = signer.canonical_from_value(value)
    response = post(client, endpoint, body)
    payload = response.json()
    if response.status_code == 200:
        # Only a well-formed request for the target's own scope gets this far.
        assert all(isinstance(value.get(f), str) and value[f] for f in REQUEST_FIELDS[endpoint])
        assert schemas.errors("error-expected-new", payload) == []
    else:
        _error_envelope(response)


def test_every_answer_names_the_mock(client) -> None:
    """Issue 25: any mock is a mock. The bundled mock, embedded or served standalone, names itself
    on every answer (a success, an unknown path, a refused method, a bad signature), so a run
    against ``agws-conformance mock`` is recognised as a mock run (the gate refuses it)."""
    from agws_conformance.endpoints import MOCK_HEADER
    from agws_conformance.mock.app import MOCK_HEADER_VALUE

    answers = [ask(client, "user/check"), client.post("/no/such/path", content=b"{}"),
               client.get(USER_CHECK_PATH), post(client, "user/check", b"{}", {"X-Signature": "00"})]
    assert [a.headers.get(MOCK_HEADER) for a in answers] == [MOCK_HEADER_VALUE] * len(answers)
