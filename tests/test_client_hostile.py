"""A target that misbehaves must give a clear result, quickly, in bounded memory.

Each case runs the client against :mod:`hostile_server` with a 1 s deadline and a 1 MiB body
limit, and checks three things: the outcome (a judged Response or a HarnessError of the right
kind, never another exception), the time (well under the 3 s bound, so a missing deadline would
show up as a hang cut by the server's own 20 s limit), and the peak memory traced while the
request ran.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from agws_conformance.client import GatewayClient, HarnessError, Response

try:
    from hostile_server import HostileServer
except ImportError:  # tests/ collected as a package
    from tests.hostile_server import HostileServer

TIMEOUT = 1.0
LIMIT = 1 << 20
MAX_ELAPSED = 6.0  # a broken deadline never ends; the margin absorbs a loaded CI machine
MAX_PEAK = 20 * 1024 * 1024
BIG_UPLOAD = b"x" * (32 << 20)  # allocated once, before tracing starts


def run(mode: str, body: bytes = b'{"agent":"a"}', **client_kwargs):
    """Send one POST to a hostile server; return (outcome, elapsed, peak bytes, client)."""
    with HostileServer(mode, max_seconds=20) as server:
        client = GatewayClient(server.url, timeout=TIMEOUT, max_body_bytes=LIMIT,
                               **client_kwargs)
        tracemalloc.start()
        start = time.monotonic()
        try:
            outcome: Response | HarnessError = client.post("/p", body)
        except HarnessError as exc:
            outcome = exc
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        client.close()
    return outcome, elapsed, peak, client


def assert_bounded(elapsed: float, peak: int) -> None:
    assert elapsed < MAX_ELAPSED, f"took {elapsed:.2f} s"
    assert peak < MAX_PEAK, f"peak memory {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("mode, message", [
    ("hang", "no complete response headers within the 1 s deadline"),
    ("drip", "no complete response headers within the 1 s deadline"),
    ("drip-body", "response body did not complete within the 1 s deadline"),
    ("headers-hang", "response body did not complete within the 1 s deadline"),
])
def test_stalling_target_is_cut_at_the_deadline(mode: str, message: str) -> None:
    outcome, elapsed, peak, client = run(mode)
    assert isinstance(outcome, HarnessError)
    assert outcome.kind == "timeout"
    assert message in str(outcome)
    assert "\n" not in str(outcome) and client.base_url in str(outcome)
    # A per-read time-out would never fire on a drip: the total deadline must.
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 3.0
    assert_bounded(elapsed, peak)
    assert client.request_count == 1  # time-outs are not retried
    assert len(client.transcript) == 1 and client.transcript[0].error.startswith("timeout: ")


def test_dripped_bytes_are_recorded_in_the_exchange() -> None:
    outcome, elapsed, peak, client = run("drip-body")
    exchange = outcome.exchange
    assert exchange.status == 200
    assert 0 < exchange.response_body_length < 100
    assert set(exchange.response_body) == {ord(" ")}


def test_reset_before_response_is_retried_then_reported() -> None:
    outcome, elapsed, peak, client = run("reset")
    assert isinstance(outcome, HarnessError) and outcome.kind == "connection-reset"
    assert client.request_count == 3 and client.retry_count == 2
    assert len(client.transcript) == 3
    assert_bounded(elapsed, peak)


def test_gigabytes_stop_at_the_body_limit() -> None:
    outcome, elapsed, peak, client = run("gigabytes")
    assert isinstance(outcome, Response) and outcome.status == 200
    assert outcome.json is None
    assert outcome.json_error == f"response body exceeds {LIMIT} bytes"
    assert len(outcome.body) == LIMIT
    assert outcome.exchange.truncated and len(outcome.exchange.response_body) == 64 * 1024
    assert any("reading stopped" in note for note in outcome.exchange.notes)
    assert_bounded(elapsed, peak)


def test_gzip_bomb_is_stopped_while_inflating() -> None:
    outcome, elapsed, peak, client = run("gzip-bomb")
    assert isinstance(outcome, Response)
    assert outcome.json_error == f"response body exceeds {LIMIT} bytes"
    assert outcome.body == bytes(LIMIT)  # what was inflated is the zeros, cut at the limit
    # httpx's own decoder would inflate a whole 64 KiB chunk (~64 MB of zeros) in one call.
    assert_bounded(elapsed, peak)


def test_json_nested_a_million_deep_is_a_json_error_not_a_recursion_error() -> None:
    outcome, elapsed, peak, client = run("deep-json")
    assert isinstance(outcome, Response) and outcome.status == 200
    assert outcome.json is None
    assert outcome.json_error == "JSON nested deeper than 512 levels"
    assert_bounded(elapsed, peak)


def test_truncated_body_is_a_judged_response() -> None:
    outcome, elapsed, peak, client = run("truncated")
    assert isinstance(outcome, Response) and outcome.status == 200
    assert outcome.json is None
    assert outcome.json_error.startswith("response body truncated:")
    assert "expected 1000" in outcome.json_error
    assert outcome.body == b'{"status":'
    assert client.request_count == 1  # a response is never retried
    assert_bounded(elapsed, peak)


def test_invalid_http_is_a_protocol_error() -> None:
    outcome, elapsed, peak, client = run("invalid-http")
    assert isinstance(outcome, HarnessError) and outcome.kind == "protocol"
    assert "not valid HTTP/1.1" in str(outcome)
    assert client.request_count == 1
    assert_bounded(elapsed, peak)


def test_close_during_upload_is_a_distinct_rejection() -> None:
    outcome, elapsed, peak, client = run("close-upload", body=BIG_UPLOAD)
    assert isinstance(outcome, HarnessError) and outcome.kind == "closed-during-upload"
    assert "refused the request body" in str(outcome)
    assert client.request_count == 1  # an upload the target refused is not sent again
    assert outcome.exchange.request_truncated
    assert outcome.exchange.request_body_length == len(BIG_UPLOAD)
    assert_bounded(elapsed, peak)


def test_target_reading_the_upload_slowly_is_cut_at_the_deadline() -> None:
    outcome, elapsed, peak, client = run("slow-reader", body=BIG_UPLOAD)
    assert isinstance(outcome, HarnessError) and outcome.kind == "timeout"
    assert "did not take the request" in str(outcome)
    assert elapsed < TIMEOUT + 3.0
    assert_bounded(elapsed, peak)


def test_nothing_listening_is_unreachable_after_retries() -> None:
    import socket

    with socket.socket() as sock:  # a free port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GatewayClient(f"http://127.0.0.1:{port}", timeout=TIMEOUT)
    start = time.monotonic()
    with pytest.raises(HarnessError) as info:
        client.post("/p", b"{}")
    assert time.monotonic() - start < MAX_ELAPSED
    assert info.value.kind == "unreachable"
    assert "cannot connect" in str(info.value) and f"127.0.0.1:{port}/p" in str(info.value)
    assert client.request_count == 3 and len(client.transcript) == 3


def test_https_against_a_plain_http_server_is_a_tls_error() -> None:
    with HostileServer("plain-400") as server:
        client = GatewayClient(server.url.replace("http://", "https://"), timeout=TIMEOUT)
        with pytest.raises(HarnessError) as info:
            client.post("/p", b"{}")
    assert info.value.kind == "tls"
    assert "TLS handshake failed" in str(info.value)
    assert client.request_count == 1


def test_429_is_waited_out_and_counted_not_surfaced() -> None:
    outcome, elapsed, peak, client = run("status-429")
    assert isinstance(outcome, Response) and outcome.status == 200
    assert client.throttled_count == 1 and client.request_count == 2
    assert [e.status for e in client.transcript] == [429, 200]
    assert "429" in client.transcript[0].notes[0]


def test_429_forever_becomes_a_rate_limited_harness_error() -> None:
    with HostileServer("status-429", throttle=100) as server:
        client = GatewayClient(server.url, timeout=TIMEOUT, max_throttle_retries=2)
        with pytest.raises(HarnessError) as info:
            client.post("/p", b"{}")
    assert info.value.kind == "rate-limited"
    assert client.request_count == 3 and client.throttled_count == 2

