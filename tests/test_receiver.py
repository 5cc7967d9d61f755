"""The callback receiver under hostile input: bounded body, time, concurrency and memory, never a crash."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from agws_conformance.receiver import CallbackReceiver


@pytest.fixture
def receiver():
    with CallbackReceiver(max_body=1024, read_timeout=0.5, concurrency=2, max_deliveries=20) as r:
        yield r


def post(receiver: CallbackReceiver, content: bytes, **kwargs) -> httpx.Response:
    return httpx.post(receiver.url, content=content, headers={"X-Signature": "ab" * 32}, timeout=5, **kwargs)


def test_a_callback_is_recorded_and_answered_as_planned(receiver) -> None:
    receiver.plan("p1", [500])
    assert post(receiver, b'{"external_id":"p1","status_code":"2"}').status_code == 500
    assert post(receiver, b'{"external_id":"p1","status_code":"2"}').status_code == 200
    first, second = receiver.deliveries("p1")
    assert (first.answered, second.answered) == (500, 200) and first.signature == "ab" * 32
    assert first.json() == {"external_id": "p1", "status_code": "2"} and second.at >= first.at


def test_a_huge_body_is_cut_at_the_limit(receiver) -> None:
    response = post(receiver, b'{"external_id":"big","x":"' + b"a" * 10_000_000 + b'"}')
    assert response.status_code == 413
    (delivery,) = receiver.deliveries()
    assert delivery.problem == "oversized" and len(delivery.body) <= 1024 and delivery.external_id is None


def test_a_dripping_sender_is_cut_at_the_read_timeout(receiver) -> None:
    host, port = receiver.url.split("//")[1].split("/")[0].split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /agws-callback HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        for _ in range(3):
            time.sleep(0.3)
            try:
                sock.sendall(b" ")
            except OSError:
                break
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
    assert receiver.deliveries()[0].problem == "slow"


@pytest.mark.parametrize("content", [b"\xff\xfe garbage", b"[" * 100_000 + b"]" * 100_000, b"", b"null",
                                     b'{"external_id": 5}'])
def test_garbage_is_recorded_not_crashed_on(receiver, content: bytes) -> None:
    big = len(content) > 1024
    assert post(receiver, content).status_code == (413 if big else 200)
    (delivery,) = receiver.deliveries()
    assert delivery.external_id is None and delivery.problem == ("oversized" if big else "not-json")


def test_other_methods_and_paths_are_refused(receiver) -> None:
    assert httpx.get(receiver.url, timeout=5).status_code == 405
    assert httpx.post(receiver.url.replace("/agws-callback", "/other"), content=b"{}", timeout=5).status_code == 404


def test_concurrency_and_memory_are_bounded(receiver) -> None:
    host, port = receiver.url.split("//")[1].split("/")[0].split(":")
    stalled = []
    for _ in range(2):  # two slow senders hold both slots
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"POST /agws-callback HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
        stalled.append(sock)
    time.sleep(0.1)
    assert post(receiver, b'{"external_id":"third"}').status_code == 503
    for sock in stalled:
        sock.close()
    threads = [threading.Thread(target=post, args=(receiver, b'{"external_id":"many"}')) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receiver.deliveries()) == 20 and receiver.dropped > 0


def test_a_declared_url_is_what_the_gateway_is_told() -> None:
    with CallbackReceiver(url="https://tunnel.example.kz/agws-callback") as receiver:
        assert receiver.url == "https://tunnel.example.kz/agws-callback"


def test_a_port_in_use_is_a_clear_error() -> None:
    with CallbackReceiver() as first:
        port = int(first.url.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            CallbackReceiver(port=port).start()
