"""Run the mock gateway on a loopback socket in a background thread (``serving.ThreadedServer``)."""

from __future__ import annotations

from typing import Callable, Iterable

from agws_conformance.inspector import Inspector
from agws_conformance.mock.app import DEFAULT_MAX_BODY_BYTES, create_app, normalize_prefix
from agws_conformance.serving import ThreadedServer
from agws_conformance.target import Target


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
        callback_time_scale: float | None = None,
        inspector: Inspector | None = None,
    ) -> None:
        # The mock calls back as fast as its data file's [callbacks] time_scale says (1: the documented timings).
        if callback_time_scale is None:
            callback_time_scale = target.callbacks.time_scale if target.callbacks is not None else 1.0
        # Build the app now so a bad fault name or a missing secret fails before any socket opens.
        self.app = create_app(target, faults=faults, variations=variations, prefix=prefix,
                              max_body_bytes=max_body_bytes, log=log, callback_time_scale=callback_time_scale,
                              inspector=inspector)
        self.target = target
        self.host = host
        self.port = port
        self.prefix = normalize_prefix(prefix)
        self._server = ThreadedServer(self.app, host=host, port=port, name="agws-mock", access_log=access_log)

    @property
    def url(self) -> str:
        """The base URL (with the prefix); use it as a target's base_url."""
        if self._server.origin is None:
            raise RuntimeError("MockServer is not running; call start() first")
        return self._server.origin + self.prefix

    def start(self) -> str:
        """Bind, start serving, and return the base URL once the socket is really listening."""
        if self._server.running:
            raise RuntimeError("MockServer already started")
        try:
            self._server.start()
        except RuntimeError:
            raise RuntimeError(f"the mock gateway did not start on {self.host}:{self.port}") from None
        return self.url

    def stop(self) -> None:
        """Stop serving; returns within a few seconds even with stalled (hang fault) requests."""
        self._server.stop()

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._server.origin + self.prefix if self._server.origin else "stopped"
        return f"MockServer({self.target.name!r}, {state})"
