"""A raw-socket HTTP server on 127.0.0.1 that misbehaves on purpose, for testing the client.

Each mode is one way a target (or the network in front of it) can hurt a client. Everything is
generated lazily and bounded in time (``max_seconds``), so a broken test cannot leave a server
running or fill memory; ``close()`` stops the accept loop and every connection thread.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator

MODES = (
    "ok",            # a proper JSON answer (control case)
    "reset",         # accept, then RST immediately
    "hang",          # accept, read the request, never answer
    "drip",          # read the request, then drip header bytes forever (headers never end)
    "drip-body",     # valid headers, then drip body bytes forever
    "headers-hang",  # valid headers with Content-Length: 100, then silence
    "gigabytes",     # Content-Length: 10 GiB, streamed lazily until the client goes away
    "gzip-bomb",     # Content-Encoding: gzip, ~10 MB on the wire inflating to 10 GiB
    "deep-json",     # a body of a million '['
    "truncated",     # Content-Length: 1000, 10 bytes sent, connection closed
    "invalid-http",  # a status line that is not HTTP
    "close-upload",  # read the request headers, then RST while the body is still coming
    "slow-reader",   # read the request body one small piece at a time, very slowly
    "status-429",    # 429 with Retry-After: 0 the first ``throttle`` times, then "ok"
    "plain-400",     # on the first bytes, whatever they are, "400 Bad Request" and close
)

OK_BODY = b'{"status":true,"status_code":0,"message":"Success","result":{}}'


def _gzip_bomb_blocks(mebibytes: int) -> Iterator[bytes]:
    """A gzip stream of ``mebibytes`` MiB of zeros, ~1 KB per MiB, built lazily.

    After a full flush the compressor's state is reset, so compressing the same MiB again gives
    the same bytes: build two blocks and repeat the second one.
    """
    zeros = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    yield first
    for _ in range(mebibytes - 1):
        yield block
    yield c.flush()  # gzip trailer (its CRC is for 2 MiB; the client never gets this far)


class HostileServer:
    """``with HostileServer("drip") as server: client = GatewayClient(server.url)``."""

    def __init__(self, mode: str, *, interval: float = 0.05, max_seconds: float = 30.0,
                 throttle: int = 1) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.interval = interval
        self.max_seconds = max_seconds
        self.throttle = throttle
        self.connections = 0
        self.requests: list[bytes] = []  # request heads seen
        self.bodies: list[bytes] = []  # request bodies read by the answering modes (<= 1 MiB each)
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._accept_thread.join(timeout=2)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def _expired(self) -> bool:
        return self._stop.is_set() or time.monotonic() - self._started > self.max_seconds

    def _accept_loop(self) -> None:
        while not self._expired():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.connections += 1
                number = self.connections
            thread = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
            self._threads.append(thread)
            thread.start()

    # -- helpers --------------------------------------------------------------------------------

    def _read_head(self, conn: socket.socket) -> tuple[bytes, bytes] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            if self._expired():
                return None
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return None
            data += chunk
            if len(data) > 1 << 20:
                return None
        head, _, rest = data.partition(b"\r\n\r\n")
        with self._lock:
            self.requests.append(head)
        return head, rest

    def _read_request(self, conn: socket.socket) -> bool:
        """Read a whole request (head and body): closing with unread bytes would send a RST."""
        request = self._read_head(conn)
        return request is not None and self._read_body(conn, *request)

    def _read_body(self, conn: socket.socket, head: bytes, rest: bytes) -> bool:
        """Read (and, up to 1 MiB, keep in ``bodies``) the request body."""
        body = bytearray(rest)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        remaining = length - len(rest)
        while remaining > 0:
            if self._expired():
                return False
            try:
                chunk = conn.recv(min(remaining, 65536))
            except socket.timeout:
                continue
            if not chunk:
                return False
            remaining -= len(chunk)
            if len(body) < 1 << 20:
                body += chunk
        with self._lock:
            self.bodies.append(bytes(body[: 1 << 20]))
        return True

    def _send(self, conn: socket.socket, data: bytes) -> bool:
        try:
            conn.sendall(data)
        except OSError:
            return False
        with self._lock:
            self.bytes_sent += len(data)
        return True

    def _wait(self, seconds: float) -> bool:
        """Sleep, returning False when the server is stopping."""
        return not self._stop.wait(seconds) and not self._expired()

    @staticmethod
    def _rst(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    # -- the modes ------------------------------------------------------------------------------

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(0.05)
        try:
            getattr(self, "_mode_" + self.mode.replace("-", "_"))(conn, number)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn: socket.socket, status: str, body: bytes, extra: str = "") -> None:
        self._send(conn, (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body)

    def _mode_ok(self, conn: socket.socket, number: int) -> None:
        while (req := self._read_head(conn)) is not None:
            if not self._read_body(conn, *req):
                return
            self._answer(conn, "200 OK", OK_BODY)

    def _mode_status_429(self, conn: socket.socket, number: int) -> None:
        while (req := self._read_head(conn)) is not None:
            if not self._read_body(conn, *req):
                return
            if len(self.requests) <= self.throttle:
                self._answer(conn, "429 Too Many Requests", b"{}", "Retry-After: 0\r\n")
            else:
                self._answer(conn, "200 OK", OK_BODY)

    def _mode_reset(self, conn: socket.socket, number: int) -> None:
        self._rst(conn)

    def _mode_hang(self, conn: socket.socket, number: int) -> None:
        self._read_head(conn)
        while self._wait(0.05):
            pass

    def _mode_drip(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        head = b"HTTP/1.1 200 OK\r\n"
        stream = itertools.chain(head, itertools.cycle(b"X-Drip: a\r\n"))
        for byte in stream:
            if not self._send(conn, bytes((byte,))) or not self._wait(self.interval):
                return

    def _mode_drip_body(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        while self._send(conn, b" ") and self._wait(self.interval):
            pass

    def _mode_headers_hang(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        while self._wait(0.05):
            pass

    def _mode_gigabytes(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 10737418240\r\n\r\n[")
        chunk = b"0," * 32768
        while not self._expired() and self._send(conn, chunk):
            pass

    def _mode_gzip_bomb(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n")
        for block in _gzip_bomb_blocks(10 * 1024):
            if self._expired() or not self._send(conn, block):
                return

    def _mode_deep_json(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._answer(conn, "200 OK", b"[" * 1_000_000)

    def _mode_truncated(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"status\":")

    def _mode_invalid_http(self, conn: socket.socket, number: int) -> None:
        if not self._read_request(conn):
            return
        self._send(conn, b"HELLO I AM NOT HTTP\r\n\r\n")

    def _mode_close_upload(self, conn: socket.socket, number: int) -> None:
        if self._read_head(conn) is None:
            return
        self._rst(conn)

    def _mode_slow_reader(self, conn: socket.socket, number: int) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        if self._read_head(conn) is None:
            return
        while self._wait(self.interval):
            try:
                if not conn.recv(16):
                    return
            except socket.timeout:
                continue

    def _mode_plain_400(self, conn: socket.socket, number: int) -> None:
        # What a plain-HTTP server does with a TLS ClientHello it cannot parse.
        while not self._expired():
            try:
                if conn.recv(65536):
                    break
            except socket.timeout:
                continue
        self._send(conn, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")


def main(argv: list[str] | None = None) -> None:
    """``python tests/hostile_server.py MODE [MAX_SECONDS]``: print the URL, serve until stdin
    closes or the time bound passes (so a benchmark can keep the server out of its process)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    with HostileServer(args[0], max_seconds=float(args[1]) if len(args) > 1 else 60.0) as server:
        print(server.url, flush=True)
        watcher = threading.Thread(target=sys.stdin.read, daemon=True)
        watcher.start()
        while watcher.is_alive() and not server._expired():
            watcher.join(0.1)


if __name__ == "__main__":
    main()
