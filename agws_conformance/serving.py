"""Serve an ASGI app on a socket of this machine from a background thread (the mock, the callback receiver).

uvicorn serves it: a well-kept ASGI server whose programmatic ``Server`` API runs in any thread
with its own event loop and accepts an already-bound socket, so port 0 works and the URL is known
before the first request. Logs at warning level, no access log (the suite keeps its own records).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class ThreadedServer:
    """``app`` listening on ``host:port`` (port 0: any free port) from :meth:`start` until :meth:`stop`."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "agws-server",
                 access_log: bool = False, limit_concurrency: int | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._access_log = access_log
        self._limit_concurrency = limit_concurrency
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.origin: str | None = None  # http://host:port once listening

    def start(self) -> str:
        """Bind, start serving, and return ``http://host:port`` once the socket is really listening."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
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
            timeout_keep_alive=30,
            server_header=False,
            limit_concurrency=self._limit_concurrency,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"{self.name}-{port}",
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"{self.name} did not start on {self.host}:{port}")
            time.sleep(0.005)
        self._server, self._thread, self._sock = server, thread, sock
        shown = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self.origin = f"http://{shown}:{port}"
        return self.origin

    @property
    def running(self) -> bool:
        return self._thread is not None

    def stop(self) -> None:
        """Stop serving; returns within a few seconds even with stalled requests."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None
        self.origin = None
