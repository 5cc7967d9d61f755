"""Run the mock gateway on a loopback socket in a background thread.

uvicorn serves it: a well-kept ASGI server whose programmatic ``Server`` API runs in any thread
with its own event loop and accepts an already-bound socket, so port 0 works and the URL is known
before the first request. Logs at warning level, no access log (a mock's access log would be
noise in a test run; the suite keeps its own transcript).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterable

import uvicorn

from agws_conformance.mock.app import DEFAULT_MAX_BODY_BYTES, create_app, normalize_prefix
from agws_conformance.target import Target

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class MockServer:
    """The mock gateway listening on ``host:port`` (port 0: any free port) until :meth:`stop`.

    >>> with MockServer(target) as server:      # doctest: +SKIP
    ...     httpx.post(server.url + USER_CHECK_PATH, ...)
    """

    def __init__(
        self,
        target: Target,
        *,
        faults: Iterable[str] = (),
        variations: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        access_log: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        # Build the app now so a bad fault name or a missing secret fails before any socket opens.
        self.app = create_app(target, faults=faults, variations=variations, prefix=prefix,
                              max_body_bytes=max_body_bytes, log=log)
        self.target = target
        self.host = host
        self.port = port
        self.prefix = normalize_prefix(prefix)
        self._access_log = access_log
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL (with the prefix); use it as a target's base_url."""
        if self._url is None:
            raise RuntimeError("MockServer is not running; call start() first")
        return self._url

    def start(self) -> str:
        """Bind, start serving, and return the base URL once the socket is really listening."""
        if self._thread is not None:
            raise RuntimeError("MockServer already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this on Linux: without it the head and body writes meet
        # the client's delayed ACK and every response takes ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.listen(128)
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=self._access_log,
            lifespan="off",
            timeout_graceful_shutdown=1,
            # The mock answers at most 64 KiB bodies; idle keep-alive connections are cheap.
            timeout_keep_alive=30,
            server_header=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name=f"agws-mock-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the mock gateway did not start on {self.host}:{port}")
            time.sleep(0.005)
        self._server, self._thread, self._sock = server, thread, sock
        shown = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self._url = f"http://{shown}:{port}{self.prefix}"
        return self._url

    def stop(self) -> None:
        """Stop serving; returns within a few seconds even with stalled (hang fault) requests."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        self._sock.close()
        self._server = self._thread = None
        self._url = None

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._url or "stopped"
        return f"MockServer({self.target.name!r}, {state})"
