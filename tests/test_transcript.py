"""Exchanges are redacted at capture, capped, and replayable with curl byte for byte."""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
import shlex
import shutil
import subprocess
import threading

import pytest

from agws_conformance.client import GatewayClient
from agws_conformance.transcript import REDACTED, Exchange, Redactor, Transcript

try:
    from hostile_server import HostileServer
except ImportError:  # tests/ collected as a package
    from tests.hostile_server import HostileServer

SECRET = 'p@ss/w"rd é&+ ok'
NONE = Redactor(())


def capture(redactor: Redactor = NONE, **kwargs) -> Exchange:
    base = dict(method="POST", url="http://t.test/showcase-gateway/api/v1/user/check",
                request_headers=[("content-type", "application/json")],
                request_body=b'{"a":1}', status=200, response_body=b"{}", elapsed=0.0123)
    base.update(kwargs)
    return Exchange.capture(redactor, **base)


# ---- Redactor ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    SECRET,
    "p%40ss%2Fw%22rd%20%C3%A9%26%2B%20ok",   # quote(safe="")
    "p%40ss%2fw%22rd%20%c3%a9%26%2b%20ok",   # lowercase hex
    "p%40ss%2Fw%22rd+%C3%A9%26%2B+ok",       # quote_plus
    'p@ss/w\\"rd \\u00e9&+ ok',              # json.dumps (ensure_ascii)
    'p@ss/w\\"rd \\u00E9&+ ok',              # uppercase \\u escape
    'p@ss/w\\"rd é&+ ok',                    # json.dumps(ensure_ascii=False)
    'p@ss\\/w\\"rd \\u00e9&+ ok',            # JSON with escaped solidus
])
def test_every_spelling_of_the_secret_is_redacted(spelling: str) -> None:
    redactor = Redactor([SECRET])
    text = f"before {spelling} after"
    assert redactor(text) == f"before {REDACTED} after"
    assert redactor(text.encode()) == f"before {REDACTED} after".encode()


def test_redactor_never_shows_or_pickles_its_secrets() -> None:
    redactor = Redactor([SECRET, ""])
    assert SECRET not in repr(redactor) and "1 secret" in repr(redactor)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(redactor)


def test_empty_redactor_changes_nothing() -> None:
    assert NONE("abc") == "abc" and NONE(b"abc") == b"abc"


# ---- Exchange: capture only, redacted, capped --------------------------------------------------


def test_exchange_cannot_be_built_without_the_redacting_factory() -> None:
    with pytest.raises(TypeError, match="Exchange.capture"):
        Exchange("POST", "http://x")  # type: ignore[call-arg]
    exchange = capture()
    with pytest.raises(TypeError, match="Exchange.capture"):
        dataclasses.replace(exchange, response_body=SECRET.encode())
    with pytest.raises(dataclasses.FrozenInstanceError):
        exchange.response_body = b"x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="needs a Redactor"):
        Exchange.capture(None, method="GET", url="http://x")  # type: ignore[arg-type]


def test_secret_is_redacted_in_url_headers_bodies_error_and_notes() -> None:
    exchange = capture(
        Redactor([SECRET]),
        url="http://t.test/p?s=p%40ss%2Fw%22rd%20%C3%A9%26%2B%20ok",
        request_headers=[("X-Key", SECRET), ("content-type", "application/json")],
        request_body=json.dumps({"s": SECRET}).encode(),
        response_headers=[(b"x-echo", SECRET.encode())],
        response_body=json.dumps({"s": SECRET}, ensure_ascii=False).encode(),
        error=f"boom {SECRET}", notes=[f"note {SECRET}"],
    )
    everything = (repr(exchange) + json.dumps(exchange.to_dict()) + exchange.to_curl()
                  + exchange.summary())
    assert SECRET not in everything and "p%40ss" not in everything and "rd \\u00e9" not in everything
    assert everything.count(REDACTED) >= 8
    assert exchange.request_header("x-key") == REDACTED


def test_bodies_are_capped_with_flag_and_original_length() -> None:
    body = b"a" * 100_000
    exchange = capture(request_body=body, response_body=body, cap=1000)
    assert len(exchange.request_body) == 1000 and exchange.request_truncated
    assert exchange.request_body_length == 100_000
    assert len(exchange.response_body) == 1000 and exchange.truncated
    assert exchange.response_body_length == 100_000
    small = capture()
    assert not small.truncated and not small.request_truncated


def test_a_secret_straddling_the_cap_does_not_leak_a_half() -> None:
    body = b"x" * 995 + SECRET.encode()
    exchange = capture(Redactor([SECRET]), response_body=body, cap=1000)
    assert exchange.response_body == b"x" * 995 + REDACTED.encode()[:5]


def test_cap_does_not_split_a_utf8_character() -> None:
    exchange = capture(response_body="é".encode() * 1000, cap=1001)
    assert exchange.response_body == "é".encode() * 500
    assert exchange.to_dict()["response"]["body_encoding"] == "utf-8"


def test_reading_stopped_early_counts_as_truncated() -> None:
    exchange = capture(response_body=b"abc", response_body_length=10)
    assert exchange.truncated and exchange.response_body_length == 10


# ---- views -------------------------------------------------------------------------------------


def test_summary_is_one_line() -> None:
    assert capture(status=400).summary() == "POST /showcase-gateway/api/v1/user/check -> 400 (12 ms)"
    failed = capture(status=None, error="timeout: no answer")
    assert failed.summary() == ("POST /showcase-gateway/api/v1/user/check -> error: timeout: no "
                                "answer (12 ms)")


def test_to_dict_is_json_with_text_or_base64_bodies() -> None:
    exchange = capture(request_body=b"\xff\x00binary", response_body='{"é":1}'.encode())
    data = json.loads(json.dumps(exchange.to_dict()))
    assert data["request"]["body_encoding"] == "base64"
    assert base64.b64decode(data["request"]["body"]) == b"\xff\x00binary"
    assert data["response"]["body_encoding"] == "utf-8" and data["response"]["body"] == '{"é":1}'
    assert data["response"]["status"] == 200 and data["method"] == "POST"
    assert data["request"]["headers"] == [["content-type", "application/json"]]


def test_curl_for_a_text_body_is_a_plain_argument() -> None:
    exchange = capture(request_body=b"{\"a\":\"it's\"}")
    argv = shlex.split(exchange.to_curl())
    assert argv[0] == "curl" and "http://t.test/showcase-gateway/api/v1/user/check" in argv
    assert argv[argv.index("--data-binary") + 1] == "{\"a\":\"it's\"}"
    assert "content-type: application/json" in argv
    assert "-X" not in argv  # POST is implied by --data-binary


@pytest.mark.parametrize("body", [b"\x00\x01\xff binary", b"@/etc/passwd", b"a\\b%s\r\n\x7f"])
def test_curl_pipes_bodies_that_cannot_be_an_argument(body: bytes) -> None:
    command = capture(request_body=body).to_curl()
    printf, _, curl = command.partition(" | ")
    argv = shlex.split(printf)
    assert argv[:2] == ["printf", "%b"]
    assert shlex.split(curl)[-2:] == ["--data-binary", "@-"]
    if shutil.which("sh"):
        produced = subprocess.run(["sh", "-c", printf], capture_output=True, check=True).stdout
        assert produced == body


def test_curl_replays_the_request_exactly_against_a_server() -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    body = '{"agent":"tarlan","note":"tab\\t é <&> @"}'.encode() + b"\xff\x00"
    with HostileServer("ok") as server:
        with GatewayClient(server.url) as client:
            response = client.post("/showcase-gateway/api/v1/user/check", body,
                                   {"Content-Type": "application/json", "X-Signature": "abc123"})
        command = response.exchange.to_curl()
        subprocess.run(["sh", "-c", command], capture_output=True, check=True, timeout=20)
        first, second = server.requests
        assert server.bodies == [body, body]

    def parse(head: bytes):
        line, *headers = head.decode("latin-1").split("\r\n")
        return line, sorted((n.strip().lower(), v.strip()) for n, v in
                            (h.split(":", 1) for h in headers))

    assert parse(first) == parse(second)


# ---- Transcript --------------------------------------------------------------------------------


def test_transcript_appends_from_many_threads() -> None:
    seen = []
    transcript = Transcript(on_append=seen.append)
    exchanges = [capture(status=i) for i in range(400)]

    def add(chunk):
        for e in chunk:
            transcript.append(e)

    threads = [threading.Thread(target=add, args=(exchanges[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(transcript) == 400 and len(seen) == 400
    assert sorted(e.status for e in transcript) == list(range(400))
    assert transcript[0] in exchanges and len(transcript[1:3]) == 2
    with pytest.raises(TypeError):
        transcript.append("not an exchange")  # type: ignore[arg-type]
    transcript.clear()
    assert len(transcript) == 0


def test_transcript_keeps_only_the_most_recent_exchanges() -> None:
    transcript = Transcript(maxlen=3)
    for i in range(10):
        transcript.append(capture(status=200 + i))
    assert [e.status for e in transcript] == [207, 208, 209] and transcript.dropped == 7
    assert [e.status for e in transcript[-2:]] == [208, 209] and "7 older dropped" in repr(transcript)
    with pytest.raises(ValueError, match="maxlen"):
        Transcript(maxlen=0)


def test_a_client_transcript_is_bounded_for_a_long_run() -> None:
    """A run's client lives for thousands of requests; its transcript must not keep them all."""
    import httpx

    from agws_conformance.client import TRANSCRIPT_SIZE, GatewayClient

    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"success": True}))
    client = GatewayClient("http://gateway.test", transport=transport, transcript_size=5)
    for _ in range(12):
        client.request("POST", "/x", content=b"{}")
    assert client.request_count == 12 and len(client.transcript) == 5 and client.transcript.dropped == 7
    assert GatewayClient("http://gateway.test", transport=transport).transcript.maxlen == TRANSCRIPT_SIZE
