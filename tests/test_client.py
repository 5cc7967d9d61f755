"""The client's ordinary behaviour: responses, JSON, decoding, redaction, counts, rate, speed."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
import time
import zlib

import httpx
import pytest

from agws_conformance.client import GatewayClient, HarnessError, json_depth_exceeds, parse_json
from agws_conformance.transcript import REDACTED, Redactor

try:
    from hostile_server import HostileServer
except ImportError:  # tests/ collected as a package
    from tests.hostile_server import HostileServer

SECRET = "s3cr3t/with+special&chars"


def mock_client(handler, **kwargs) -> GatewayClient:
    return GatewayClient("http://target.test/prefix", transport=httpx.MockTransport(handler),
                         **kwargs)


# ---- responses and JSON ------------------------------------------------------------------------


def test_post_returns_status_headers_body_and_parsed_json() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, json={"status": False, "status_code": 1014}, headers={"x-a": "1"})

    client = mock_client(handler)
    response = client.post("/showcase-gateway/api/v1/user/check", b'{"agent":"a"}',
                           {"X-Signature": "ab"})
    assert seen[0].url == "http://target.test/prefix/showcase-gateway/api/v1/user/check"
    assert seen[0].content == b'{"agent":"a"}' and seen[0].headers["x-signature"] == "ab"
    assert response.status == 400 and response.headers["X-A"] == "1"
    assert response.json == {"status": False, "status_code": 1014} and response.json_error is None
    assert response.exchange.summary().startswith(
        "POST /prefix/showcase-gateway/api/v1/user/check -> 400 (")


@pytest.mark.parametrize("body, error", [
    (b"", "empty body (expected JSON)"),
    (b"<html>oops</html>", "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
    (b'{"a":NaN}', "invalid JSON: NaN is not JSON"),
    (b'{"a":1e999999}', None),  # Go also accepts the syntax; the value is Infinity in Python
    (b'{"a":"\xff"}', "body is not valid UTF-8 (byte 0xff at offset 6)"),
    (b'\xef\xbb\xbf{}',
     "invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"),
    (b"[" * 513 + b"]" * 513, "JSON nested deeper than 512 levels"),
])
def test_parse_json_explains_what_is_wrong(body: bytes, error: str | None) -> None:
    value, message = parse_json(body)
    assert message == error
    if error is not None:
        assert value is None


def test_parse_json_accepts_exactly_the_depth_bound() -> None:
    value, error = parse_json(b"[" * 512 + b"]" * 512)
    assert error is None and isinstance(value, list)


def test_depth_scan_ignores_brackets_inside_strings() -> None:
    body = json.dumps({"a": "[" * 10_000 + "\\\"{{{"}).encode()
    assert not json_depth_exceeds(body, 4)
    assert parse_json(body, max_depth=4)[1] is None
    assert json_depth_exceeds(b'{"a":[[["x"]]]}', 3)
    assert not json_depth_exceeds(b'{"a":[["x"]]}', 3)


def test_depth_scan_is_linear_on_hostile_strings() -> None:
    # Many escaped quotes and an unterminated string: a naive regex would be quadratic.
    body = b'"' + b'\\"' * 300_000 + b"[" * 600
    start = time.perf_counter()
    assert json_depth_exceeds(body, 512) is False  # all inside the (unterminated) string
    assert time.perf_counter() - start < 5  # linear: ~10 ms; a quadratic scan takes minutes


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate under "deflate"
])
def test_compressed_bodies_are_decoded(encoding, compress) -> None:
    payload = json.dumps({"status": True, "pad": "x" * 5000}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=compress(payload),
                              headers={"content-encoding": encoding})

    response = mock_client(handler).post("/p", b"{}")
    assert response.body == payload and response.json["status"] is True


def test_unknown_content_encoding_is_judged_not_decoded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"\x00\x01", headers={"content-encoding": "br"})

    response = mock_client(handler).post("/p", b"{}")
    assert response.json is None and "Content-Encoding 'br'" in response.json_error
    assert response.body == b"\x00\x01"


class RawStream(httpx.SyncByteStream):
    """A response stream as a network transport gives it: not read, not decoded."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self):
        yield from self.chunks


def test_corrupt_gzip_is_judged() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=RawStream(b"\x1f\x8b\x08garbage"),
                              headers={"content-encoding": "gzip"})

    response = mock_client(handler).post("/p", b"{}")
    assert response.json is None and "does not decompress" in response.json_error


def test_redirect_is_a_response_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://elsewhere.test/"})

    client = mock_client(handler)
    response = client.post("/p", b"{}")
    assert response.status == 302 and client.request_count == 1


# ---- classification of failures before a response ----------------------------------------------


def raising(exc: Exception):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc
    return handler


def _caused(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize("exc, kind, text, attempts", [
    (_caused(httpx.ConnectError("[Errno -2] Name or service not known"),
             socket.gaierror(-2, "Name or service not known")),
     "unreachable", "cannot resolve the host name", 1),
    (_caused(httpx.ConnectError("certificate verify failed"), ssl.SSLError(1, "verify failed")),
     "tls", "TLS handshake failed", 1),
    (httpx.ConnectError("[Errno 111] Connection refused"), "unreachable", "cannot connect", 3),
    (httpx.ConnectTimeout("timed out"), "timeout", "no connection within 10 s", 1),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."),
     "connection-reset", "closed before any response", 3),
    (httpx.LocalProtocolError("Illegal header value"), "protocol", "could not be sent", 1),
])
def test_failures_become_one_line_harness_errors(exc, kind, text, attempts) -> None:
    client = mock_client(raising(exc), retries=2)
    with pytest.raises(HarnessError) as info:
        client.post("/p", b"{}")
    error = info.value
    assert error.kind == kind and text in str(error)
    assert "\n" not in str(error) and "http://target.test/prefix/p" in str(error)
    assert client.request_count == attempts and len(client.transcript) == attempts
    assert error.exchange is client.transcript[-1] and error.exchange.status is None
    assert error.exchange.error.startswith(kind + ": ")


# ---- redaction, transcript, counts -------------------------------------------------------------


def test_secret_is_redacted_everywhere_before_the_exchange_exists() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"echo":"' + request.content + b'"}',
                              headers={"x-echo": request.headers["x-leak"]})

    recorded = []
    client = mock_client(handler, redactor=Redactor([SECRET]), on_exchange=recorded.append)
    body = json.dumps({"secret": SECRET}).encode()
    response = client.post("/p?k=" + SECRET.replace("/", "%2F").replace("+", "%2B").replace("&", "%26"),
                           body, {"x-leak": SECRET})
    exchange = response.exchange
    assert recorded == [exchange] and list(client.transcript) == [exchange]
    dumped = json.dumps(exchange.to_dict()) + exchange.to_curl() + repr(exchange)
    for form in (SECRET, "s3cr3t%2Fwith", "s3cr3t\\/with"):
        assert form not in dumped
    assert REDACTED in exchange.url and REDACTED.encode() in exchange.request_body
    assert exchange.request_header("x-leak") == REDACTED
    assert REDACTED.encode() in exchange.response_body
    # The Response itself is what the suite judges: it keeps the real bytes.
    assert SECRET.encode() in response.body


def test_keep_alive_reuses_one_connection_and_counts_requests() -> None:
    with HostileServer("ok") as server:
        with GatewayClient(server.url, timeout=2) as client:
            for _ in range(20):
                assert client.post("/p", b"{}").json["status"] is True
        assert server.connections == 1
    assert client.request_count == 20 and len(client.transcript) == 20


def test_concurrent_requests_are_all_recorded() -> None:
    with HostileServer("ok") as server, GatewayClient(server.url, timeout=5) as client:
        def worker() -> None:
            for _ in range(25):
                client.post("/p", b"{}")

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert client.request_count == 100 and len(client.transcript) == 100


def test_rate_limit_spaces_requests_across_threads() -> None:
    with HostileServer("ok") as server, GatewayClient(server.url, max_rps=20) as client:
        start = time.monotonic()
        threads = [threading.Thread(target=lambda: [client.post("/p", b"{}") for _ in range(3)])
                   for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
    starts = sorted(e.started for e in client.transcript)
    assert client.request_count == 9
    assert elapsed >= 8 / 20 * 0.95  # 9 requests at 20/s: at least 8 intervals
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 1 / 20 * 0.8


def test_invalid_max_rps_is_refused() -> None:
    with pytest.raises(ValueError, match="max_rps must be a positive number"):
        GatewayClient("http://x.test", max_rps=0)


def test_harness_error_survives_pickling() -> None:
    import pickle

    client = mock_client(raising(httpx.ConnectError("[Errno 111] Connection refused")), retries=0)
    with pytest.raises(HarnessError) as info:
        client.post("/p", b"{}")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.kind, str(copy), copy.url) == (info.value.kind, str(info.value), info.value.url)
    assert copy.exchange == info.value.exchange


def test_a_slow_failure_is_not_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(1.1)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    client = mock_client(handler, retries=2)
    with pytest.raises(HarnessError) as info:
        client.post("/p", b"{}")
    assert info.value.kind == "connection-reset" and client.request_count == 1
