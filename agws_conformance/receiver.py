"""The callback receiver: a small HTTP server the run starts, which the gateway calls back.

The gateway is untrusted input here as much as in its responses: a body is read only up to
``max_body`` bytes (413 beyond), for at most ``read_timeout`` seconds (408 beyond), at most
``concurrency`` requests at a time (503 beyond), and at most ``max_deliveries`` are kept. Nothing is
logged; deliveries hold the X-Signature header and the body, never a secret.

Each delivery is answered from a plan per external_id (e.g. 500, 500, then 200 to watch the
retries), 200 when there is none. Written as a plain ASGI app so that every bound is explicit.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from agws_conformance.serving import ThreadedServer

DEFAULT_PATH = "/agws-callback"
MAX_BODY = 65536
READ_TIMEOUT = 5.0
CONCURRENCY = 16
MAX_DELIVERIES = 2000


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got, and what it answered."""

    at: float  # time.monotonic() when the request was complete (or given up)
    method: str
    path: str
    signature: str | None
    content_type: str | None
    body: bytes  # at most max_body bytes
    external_id: str | None  # from a JSON object body, when there is one
    answered: int  # the HTTP status the receiver gave
    problem: str | None = None  # "oversized", "slow", "busy", "not-json", "wrong-method", "wrong-path"

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


def _external_id(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # garbage, or JSON nested deeper than Python recurses
        return None
    found = value.get("external_id") if isinstance(value, dict) else None
    return found[:200] if isinstance(found, str) else None


class CallbackReceiver:
    """Listens on ``host:port``; the gateway is told ``url`` (the public address when the gateway
    reaches the runner through a tunnel or a CI service name, else the listening address)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, url: str | None = None, path: str = DEFAULT_PATH,
                 max_body: int = MAX_BODY, read_timeout: float = READ_TIMEOUT, concurrency: int = CONCURRENCY,
                 max_deliveries: int = MAX_DELIVERIES) -> None:
        self.path = path
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.concurrency = concurrency
        self.max_deliveries = max_deliveries
        self._public_url = url
        self._lock = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._plans: dict[str, deque[int]] = defaultdict(deque)
        self._active = 0
        self.dropped = 0  # deliveries not kept past max_deliveries
        self._server = ThreadedServer(self, host=host, port=port, name="agws-receiver")

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> str:
        origin = self._server.start()
        return self._public_url or origin + self.path

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        if self._server.origin is None:
            raise RuntimeError("the callback receiver is not running; call start() first")
        return self._public_url or self._server.origin + self.path

    def __enter__(self) -> CallbackReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what the tests ask -------------------------------------------------------------------
    def plan(self, external_id: str, answers: Sequence[int]) -> None:
        """Answer the next deliveries for ``external_id`` with these HTTP statuses (then 200)."""
        with self._lock:
            self._plans[external_id].extend(answers)

    def deliveries(self, external_id: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if external_id is None or d.external_id == external_id]

    def wait_for(self, external_id: str, until: Callable[[list[Delivery]], bool], timeout: float) -> list[Delivery]:
        """The deliveries for ``external_id`` once ``until(them)`` holds, or when ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [d for d in self._deliveries if d.external_id == external_id]
                left = deadline - time.monotonic()
                if until(found) or left <= 0:
                    return found
                self._lock.wait(min(left, 0.1))

    # -- the ASGI app ---------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method, path = scope["method"], scope["path"]
        with self._lock:
            busy = self._active >= self.concurrency
            self._active += not busy
        problem: str | None
        try:
            if busy:
                status, body, problem = 503, b"", "busy"
            else:
                body, problem = await self._read(receive)
                status = {"oversized": 413, "slow": 408}.get(problem or "", 0)
            external_id = _external_id(body) if problem is None else None
            if status == 0:
                if method != "POST":
                    status, problem = 405, "wrong-method"
                elif path != self.path.split("?")[0]:
                    status, problem = 404, "wrong-path"
                else:
                    status = await self.respond(headers, body, external_id)
                    problem = None if external_id is not None else "not-json"
            self._record(Delivery(time.monotonic(), method, path[:200], headers.get("x-signature", "")[:200] or None,
                                  headers.get("content-type", "")[:100] or None, body, external_id, status, problem))
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-length", b"0"), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": b""})
        finally:
            if not busy:
                with self._lock:
                    self._active -= 1

    async def _read(self, receive: Any) -> tuple[bytes, str | None]:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.read_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        return b"".join(chunks)[: self.max_body], "oversized"
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            return b"".join(chunks), "slow"
        return b"".join(chunks), None

    async def respond(self, headers: dict[str, str], body: bytes, external_id: str | None) -> int:
        """The HTTP status for one complete POST to the path: the plan's (the mock's receiver mode
        overrides this to judge the callback as an integrator's receiver would)."""
        return self._answer(external_id)

    def _answer(self, external_id: str | None) -> int:
        with self._lock:
            plan = self._plans.get(external_id or "")
            return plan.popleft() if plan else 200

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            if len(self._deliveries) < self.max_deliveries:
                self._deliveries.append(delivery)
            else:
                self.dropped += 1
            self._lock.notify_all()
