"""The preflight as plain functions: setup diagnosis and signing-variant detection.

Against the mock gateway with its legitimate variations and faults (real HTTP on loopback), and
against canned answers for what no mock serves (a proxy's redirect, a WAF's 403, a dead upstream).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agws_conformance import signer
from agws_conformance.client import GatewayClient, HarnessError
from agws_conformance.endpoints import ENDPOINTS
from agws_conformance.mock import MockServer, embedded_target
from agws_conformance.preflight import PreflightReport, decide, run_preflight
from agws_conformance.signer import Variant
from agws_conformance.target import Target

MOCK = embedded_target()
SECRET = MOCK.secret.reveal()
# A QA engineer's view: three declared accounts and two payments, nothing declared about signing.
QA = dataclasses.replace(MOCK, accounts=MOCK.accounts[:3], payments=MOCK.payments[:2])


def preflight(target: Target, url: str, *, secret: str = SECRET, timeout: float = 5.0) -> PreflightReport:
    ids = itertools.count(1)
    with GatewayClient(url, timeout=timeout) as client:
        def send(endpoint: str, content: bytes, signature: str | None):  # noqa: ANN202
            headers = {"Content-Type": "application/json"} | ({"X-Signature": signature} if signature else {})
            return client.request("POST", ENDPOINTS[endpoint], content=content, headers=headers)

        return run_preflight(target, send, lambda content, variant: signer.sign(content, secret, variant).signature,
                             lambda: f"agws-probe-test-{next(ids)}")


def served(target: Target = MOCK, **options: Any) -> Iterator[str]:
    server = MockServer(target, **options)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def mock_url(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from served(**getattr(request, "param", {}))


# -- detection -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mock_url,legacy,omit", [
    ({}, False, False),
    ({"variations": ["go1.21-escapes"]}, True, False),
    ({"variations": ["omit-empty-signer"]}, False, True),
    ({"variations": ["go1.21-escapes", "omit-empty-signer"]}, True, True),
], indirect=["mock_url"], ids=["go1.22", "go1.21", "omit-empty", "go1.21+omit-empty"])
def test_the_signing_variant_is_detected(mock_url: str, legacy: bool, omit: bool) -> None:
    report = preflight(QA, mock_url)
    assert report.ok, report.line()
    assert report.variant == Variant(legacy_escapes=legacy, omit_empty=omit)
    found = {d.dimension: d.observed for d in report.detections}
    assert found == {"escapes": "go1.21" if legacy else "go1.22",
                     "empty-fields": "empty-fields-omitted" if omit else "empty-fields-included",
                     "html": "html-escaped"}
    assert report.undetermined == ()
    # reach 1 + escapes 2 + empty fields 2 + html 2 + the 2 [write] accounts + the other 4 declared entries
    assert report.requests == 13


@pytest.mark.parametrize("mock_url", [{"faults": ["extra-fields-500"]}], indirect=True)
def test_a_gateway_refusing_extra_fields_is_probed_with_an_empty_required_field(mock_url: str) -> None:
    report = preflight(QA, mock_url)
    empty = next(d for d in report.detections if d.dimension == "empty-fields")
    assert empty.observed == "empty-fields-included" and 'with username ""' in empty.evidence


@pytest.mark.parametrize("mock_url", [{"faults": ["not-found-html-404"]}], indirect=True)
def test_an_undecided_dimension_is_reported_and_the_documents_sample_used(mock_url: str) -> None:
    # Every probe names an unknown username, which this gateway answers with an HTML 404: no evidence.
    report = preflight(QA, mock_url)
    assert report.ok and report.variant == Variant()
    assert "escapes" in report.undetermined


@pytest.mark.parametrize("mock_url", [{"faults": ["accept-any-signature"]}], indirect=True)
def test_a_target_taking_both_signatures_is_either(mock_url: str) -> None:
    report = preflight(QA, mock_url)
    assert report.ok and {d.observed for d in report.detections if d.dimension != "html"} == {"either"}


@pytest.mark.parametrize("mock_url", [{"faults": ["hang"]}], indirect=True)
def test_a_probe_without_an_answer_stops_the_probing_not_the_run(mock_url: str) -> None:
    report = preflight(QA, mock_url, timeout=1.0)
    assert report.ok, report.line()  # the declared data answers; only misses hang (ROB-RESPONSE-TIME's business)
    assert report.undetermined == ("escapes", "empty-fields")
    assert any("no answer within the deadline" in n for n in report.notes)


# -- setup mistakes against the mock ---------------------------------------------------------------

@pytest.mark.parametrize("change,cause,words", [
    ({"project": "other-project"}, "project", "project 'other-project' was answered 8008"),
    ({"agent": "other-agent"}, "agent", "agent 'other-agent' was answered 9724"),
    ({"service_code": "000"}, "service_code", "service_code '000' was answered 9721"),
    ({"signing": "go1.21"}, "signing", 'declares signing = "go1.21", but the target accepted only the go1.22'),
    ({"omit_empty": True}, "omit_empty", "declares omit_empty = true, but the target accepted only the empty-fields-included"),
])
def test_a_wrong_declaration_is_a_setup_problem(mock_url: str, change: dict, cause: str, words: str) -> None:
    report = preflight(dataclasses.replace(QA, **change), mock_url)
    assert not report.ok and report.cause == cause, report.line()
    assert words in report.problem
    assert report.requests <= 5 and report.fix


def test_a_wrong_secret_is_diagnosed_after_both_endpoints_refuse(mock_url: str) -> None:
    report = preflight(QA, mock_url, secret="not-the-secret-at-all")
    assert report.cause == "secret" and report.requests == 2
    assert "every correctly signed request was refused with 1014" in report.problem
    assert report.evidence is not None and report.evidence.status == 400
    assert "not-the-secret-at-all" not in str(report.to_dict())


def test_a_missing_declared_account_or_payment_is_named(mock_url: str) -> None:
    accounts = (*QA.accounts, dataclasses.replace(QA.accounts[0], username="no-such-account"))
    report = preflight(dataclasses.replace(QA, accounts=accounts), mock_url)
    assert report.cause == "account" and "'no-such-account' (accounts[3]) was answered 1407" in report.problem
    payments = (dataclasses.replace(QA.payments[0], external_id="no-such-payment"),)
    report = preflight(dataclasses.replace(QA, accounts=(), payments=payments), mock_url)
    assert report.cause == "payment" and "payments[0].external_id" in report.fix


def test_a_wrong_prefix_is_diagnosed_from_the_404(mock_url: str) -> None:
    report = preflight(QA, mock_url + "/gateway")
    assert report.cause == "path" and "HTTP 404" in report.problem and report.requests == 1


def test_nothing_listening_is_unreachable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = preflight(QA, f"http://127.0.0.1:{port}", timeout=2.0)
    assert report.cause == "unreachable" and "did not answer the first request" in report.problem


# -- what sits in front of a gateway: canned answers ------------------------------------------------

def canned(status: int, body: bytes = b"", **headers: str) -> PreflightReport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=body)

    client = GatewayClient("http://gateway.test", transport=httpx.MockTransport(handler))

    def send(endpoint: str, content: bytes, signature: str | None):  # noqa: ANN202
        return client.request("POST", ENDPOINTS[endpoint], content=content, headers={"X-Signature": signature or ""})

    return run_preflight(QA, send, lambda c, v: "0" * 64, lambda: "probe")


@pytest.mark.parametrize("answer,cause,words", [
    ((404, b"<html>404</html>", {"content-type": "text/html"}), "path", "HTTP 404 (text/html)"),
    ((404, b"404 page not found\n", {"content-type": "text/plain"}), "path", "nothing AGWS answers there"),
    ((301, b"", {"location": "https://gateway.test/"}), "path", "redirect to https://gateway.test/"),
    ((403, b"<html>Forbidden</html>", {"content-type": "text/html"}), "access", "refused the request"),
    ((502, b"<html>Bad Gateway</html>", {"content-type": "text/html"}), "down", "cannot reach it"),
    ((200, b"<!doctype html><html>shop</html>", {"content-type": "text/html"}), "path", "points at a web site"),
])
def test_what_is_not_the_gateway_is_diagnosed(answer: tuple, cause: str, words: str) -> None:
    status, body, headers = answer
    report = canned(status, body, **headers)
    assert report.cause == cause and words in report.problem, report.line()


def test_a_broken_gateway_is_not_a_setup_problem() -> None:
    # JSON garbage or a crash from the gateway itself: the suites judge it (NOT CONFORMANT), not the preflight.
    assert canned(200, b'{"status": tru', **{"content-type": "application/json"}).ok
    assert canned(500, b"Internal Server Error", **{"content-type": "text/plain"}).ok


def test_a_timeout_on_the_first_request_is_a_setup_problem_with_evidence() -> None:
    def send(endpoint: str, content: bytes, signature: str | None):  # noqa: ANN202
        raise HarnessError("timeout", "POST http://x/...: the response body did not complete within the 2 s deadline")

    report = run_preflight(QA, send, lambda c, v: "0" * 64, lambda: "probe")
    assert report.cause == "timeout" and report.requests == 1 and "did not answer the first request" in report.problem


# -- decide() ------------------------------------------------------------------------------------

class Canned:
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.json, self.json_error, self.headers = status, body, None, {}


ACCEPTED = Canned(200, {"status": True, "status_code": 0, "message": "Success",
                        "result": {"error_code": 1407, "message": "Cache: item not found", "data": None}})
REJECTED = Canned(400, {"status": False, "status_code": 1014, "message": "Invalid signature", "result": {}})
FIELD_ERROR = Canned(400, {"status": False, "status_code": 1404, "message": "Invalid action request", "result": {}})
HTML = Canned(404, None)


@pytest.mark.parametrize("a,b,expected", [
    (ACCEPTED, REJECTED, "a"), (REJECTED, ACCEPTED, "b"), (ACCEPTED, ACCEPTED, "either"),
    (FIELD_ERROR, REJECTED, "a"),  # past the signature check to another refusal: the only difference
    (REJECTED, REJECTED, "undetermined"), (HTML, REJECTED, "undetermined"), (None, ACCEPTED, "b"),
    (FIELD_ERROR, FIELD_ERROR, "undetermined"), (None, REJECTED, "undetermined"),
])
def test_decide(a: Canned | None, b: Canned | None, expected: str) -> None:
    assert decide({"a": a, "b": b}) == expected
