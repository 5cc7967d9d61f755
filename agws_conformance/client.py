"""The HTTP client the suite talks to a target with, hardened because the target is untrusted.

Every request is bounded in time (one deadline for the whole attempt, enforced on every socket
read and write, so a server dripping a byte a second is cut at the deadline), in bytes (streamed;
decompressed bytes are counted while inflating, so a gzip bomb stops at ``max_body_bytes``), and
in JSON nesting (checked with a linear scan before ``json.loads``). A response the target got
wrong (garbage, oversized, truncated, not JSON) is a :class:`Response` for the suite to judge; not
getting a response at all (refused, DNS, TLS, time-out, reset) is a :class:`HarnessError`.
Every attempt, failed or not, is recorded as a redacted
:class:`~agws_conformance.transcript.Exchange`.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import httpcore
import httpx

from agws_conformance import __version__
from agws_conformance.errors import HARNESS_ERROR_KINDS, HarnessError, HarnessKind
from agws_conformance.transcript import DEFAULT_BODY_CAP, Exchange, Redactor, Transcript

__all__ = [
    "HARNESS_ERROR_KINDS",
    "GatewayClient",
    "HarnessError",
    "Response",
    "TRANSCRIPT_SIZE",
    "parse_json",
]

TRANSCRIPT_SIZE = 256
"""Exchanges a client keeps (the most recent; ``transcript.dropped`` counts the rest). The report
takes each test's exchanges as they happen (``on_exchange``), so this only bounds memory."""

@dataclass(frozen=True)
class Response:
    """A response the target sent, for the suite to judge.

    ``body`` is the whole decoded body (at most ``max_body_bytes``); ``json`` is the parsed body or
    None, and ``json_error`` says why it is None (not JSON, too deep, truncated, oversized...).
    """

    exchange: Exchange
    status: int
    headers: httpx.Headers
    body: bytes
    json: Any
    json_error: str | None

    @property
    def elapsed(self) -> float:
        return self.exchange.elapsed

    @property
    def notes(self) -> tuple[str, ...]:
        return self.exchange.notes


# --------------------------------------------------------------------------------------------
# JSON with a depth bound

# A JSON string, or an unterminated one running to the end: always matches at a quote, so the
# scan is linear even on hostile input.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """True when ``body`` nests arrays/objects deeper than ``max_depth`` (strings ignored)."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= max_depth:
        return False
    # any() stops at the first level past the bound: a million '[' costs max_depth steps.
    return any(depth > max_depth for depth in accumulate(map(_STEP.__getitem__, brackets)))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes, *, max_depth: int = 512) -> tuple[Any, str | None]:
    """Parse a body as strict JSON (UTF-8, no NaN/Infinity). Returns ``(value, None)`` or
    ``(None, reason)``; never raises, never recurses past ``max_depth``."""
    if not body.strip():
        return None, "empty body (expected JSON)"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"body is not valid UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start})"
    if json_depth_exceeds(body, max_depth):
        return None, f"JSON nested deeper than {max_depth} levels"
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except RecursionError:  # belt and braces: the scan above should make this unreachable
        return None, f"JSON nested deeper than {max_depth} levels"
    except ValueError as exc:
        return None, f"invalid JSON: {str(exc).splitlines()[0]}"


# --------------------------------------------------------------------------------------------
# The deadline, enforced below httpx on every socket operation


class _AttemptState(threading.local):
    """Per-thread facts about the attempt in flight (httpx's sync pool does I/O in the caller)."""

    deadline: float | None = None
    bytes_read: int = 0
    bytes_written: int = 0
    write_failed: bool = False


_state = _AttemptState()


def _remaining(timeout: float | None, exc: type[Exception]) -> float | None:
    deadline = _state.deadline
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("the per-request deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, _remaining(timeout, httpcore.ReadTimeout))
        _state.bytes_read += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        sock = self._inner.get_extra_info("socket")
        try:
            if not isinstance(sock, socket.socket):
                self._inner.write(buffer, _remaining(timeout, httpcore.WriteTimeout))
                _state.bytes_written += len(buffer)
                return
            # httpcore's own loop sets the time-out per send(); a target reading one byte per
            # second would stretch it forever, so re-check the deadline on every send().
            view = memoryview(buffer)
            while view:
                sock.settimeout(_remaining(timeout, httpcore.WriteTimeout))
                try:
                    sent = sock.send(view)
                except socket.timeout as exc:
                    raise httpcore.WriteTimeout(str(exc) or "write timed out") from exc
                except OSError as exc:
                    raise httpcore.WriteError(str(exc)) from exc
                _state.bytes_written += sent
                view = view[sent:]
        except httpcore.WriteError:
            _state.write_failed = True
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname,
                                      _remaining(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(
            host, port, _remaining(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(
            path, _remaining(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_transport(verify: bool | ssl.SSLContext) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=verify, trust_env=False)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        raise RuntimeError("this httpx/httpcore version has no network backend to wrap; "
                           "install httpx 0.27/0.28 with httpcore 1.x")
    # httpx has no public hook for httpcore's network backend; wrapping it is what lets one
    # deadline cover connect, every read and every write of an attempt.
    pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return transport


# --------------------------------------------------------------------------------------------
# Bounded decoding of the response body


class _BodyTooLarge(Exception):
    pass


class _Inflater:
    """Content-Encoding gzip/deflate, inflating at most ``room + 1`` bytes per chunk."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate_tried = encoding != "deflate"
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._d = zlib.decompressobj(wbits)
        self._produced = False
        self.trailing = False

    def feed(self, data: bytes, room: int) -> bytes:
        if self._d.eof:
            self.trailing = self.trailing or bool(data)
            return b""
        try:
            out = self._d.decompress(data, room + 1)
        except zlib.error:
            if self._produced or self._raw_deflate_tried:
                raise
            # Servers send raw deflate under "deflate" as often as zlib-wrapped (as httpx allows).
            self._raw_deflate_tried = True
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, room + 1)
        self._produced = self._produced or bool(out)
        if self._d.eof and self._d.unused_data:
            self.trailing = True
        return out

    @property
    def complete(self) -> bool:
        return self._d.eof


class _BodyReader:
    def __init__(self, response: httpx.Response, limit: int) -> None:
        self.limit = limit
        self.raw = 0
        self.data = bytearray()
        self.notes: list[str] = []
        self.problem: str | None = None
        codings = [c.strip().lower() for c in
                   response.headers.get_list("content-encoding", split_commas=True)]
        codings = [c for c in codings if c and c != "identity"]
        self.inflater: _Inflater | None = None
        if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
            self.inflater = _Inflater(codings[0])
        elif codings:
            self.problem = (f"response has Content-Encoding {', '.join(codings)!r}, which the "
                            "client did not ask for (it sends Accept-Encoding: gzip, deflate)")
            self.notes.append(self.problem + "; body kept undecoded")

    def feed(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.limit and self.inflater is not None:
            raise _BodyTooLarge(f"compressed response body exceeds {self.limit} bytes")
        room = self.limit - len(self.data)
        if self.inflater is not None:
            try:
                out = self.inflater.feed(chunk, room)
            except zlib.error as exc:
                self.problem = f"Content-Encoding {self.inflater.encoding} body does not " \
                               f"decompress ({exc})"
                self.notes.append(self.problem)
                self.inflater = None
                return
        else:
            out = chunk
        if len(out) > room:
            self.data += out[:room]
            raise _BodyTooLarge(f"response body exceeds {self.limit} bytes")
        self.data += out

    def finish(self) -> None:
        if self.inflater is None:
            return
        if not self.inflater.complete:
            self.problem = self.problem or (f"Content-Encoding {self.inflater.encoding} stream "
                                            "ends before its end marker (truncated)")
            self.notes.append(self.problem)
        elif self.inflater.trailing:
            self.notes.append(f"bytes after the end of the {self.inflater.encoding} stream "
                              "were ignored")


# --------------------------------------------------------------------------------------------
# Rate limit


class _RateLimiter:
    """Spaces requests at least ``1 / max_rps`` apart across threads (a bucket of one token)."""

    def __init__(self, max_rps: float) -> None:
        if not (max_rps > 0 and math.isfinite(max_rps)):
            raise ValueError("max_rps must be a positive number")
        self._interval = 1.0 / max_rps
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


def _retry_after_seconds(value: str | None, default: float) -> float:
    if value is None:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return chain


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------


_FAST_FAILURE = 1.0  # seconds


class GatewayClient:
    """A keep-alive HTTP/1.1 client for one target; thread-safe.

    ``retries`` re-sends only when the connection failed before any response byte (refused, or a
    pooled connection the target had dropped); a response is never retried, except 429, which is
    waited out (``Retry-After``, capped at ``max_retry_after``) up to ``max_throttle_retries`` times
    and counted in ``throttled_count``. ``transport`` replaces the network (tests, ASGI); the
    deadline is then checked only between body chunks. ``transcript`` holds the most recent
    ``transcript_size`` exchanges (None: all of them, for a short script).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_rps: float | None = None,
        max_body_bytes: int = 1_048_576,
        max_json_depth: int = 512,
        retries: int = 2,
        redactor: Redactor | None = None,
        transport: httpx.BaseTransport | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        max_retry_after: float = 30.0,
        max_throttle_retries: int = 5,
        verify: bool | ssl.SSLContext = True,
        transcript_cap: int = DEFAULT_BODY_CAP,
        transcript_size: int | None = TRANSCRIPT_SIZE,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.max_body_bytes = int(max_body_bytes)
        self.max_json_depth = int(max_json_depth)
        self.retries = max(0, int(retries))
        self.redactor = redactor if redactor is not None else Redactor(())
        self.on_exchange = on_exchange
        self.max_retry_after = float(max_retry_after)
        self.max_throttle_retries = int(max_throttle_retries)
        self.transcript_cap = int(transcript_cap)
        self.transcript = Transcript(maxlen=transcript_size)
        self._limiter = _RateLimiter(max_rps) if max_rps is not None else None
        self._count_lock = threading.Lock()
        self.request_count = 0
        self.retry_count = 0
        self.throttled_count = 0
        default_headers = {
            "user-agent": f"agws-conformance/{__version__}",
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
        }
        default_headers.update(headers or {})
        self._http = httpx.Client(
            # Only base_url + path is ever requested and redirects are not followed, so a plain-HTTP
            # target never handshakes: skip loading the CA bundle (tens of milliseconds).
            transport=transport if transport is not None else _deadline_transport(
                verify if self.base_url.lower().startswith("https:") else False),
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,
            headers=default_headers,
        )

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GatewayClient({self.base_url!r}, requests={self.request_count})"

    # -- public API -----------------------------------------------------------------------------

    def post(self, path: str, content: bytes = b"",
             headers: Mapping[str, str] | None = None) -> Response:
        """POST ``content`` to ``base_url + path``."""
        return self.request("POST", path, content=content, headers=headers)

    def request(self, method: str, path: str, *, content: bytes = b"",
                headers: Mapping[str, str] | None = None) -> Response:
        """Send one request; return the target's :class:`Response` or raise :class:`HarnessError`."""
        url = self.base_url + path
        attempt = throttles = 0
        while True:
            if self._limiter is not None:
                self._limiter.acquire()
            try:
                response = self._send_once(method, url, content, headers)
            except HarnessError as exc:
                # Only quick failures are retried (refused, a pooled connection the target had
                # dropped): one that took long would multiply the deadline.
                fast = exc.exchange is None or exc.exchange.elapsed < _FAST_FAILURE
                if exc.retryable and fast and attempt < self.retries:
                    attempt += 1
                    with self._count_lock:
                        self.retry_count += 1
                    time.sleep(0.05 * 2 ** (attempt - 1))
                    continue
                raise
            if response.status != 429:
                return response
            if throttles >= self.max_throttle_retries:
                raise HarnessError(
                    "rate-limited",
                    f"{method} {url}: still 429 Too Many Requests after {throttles} waits; lower "
                    "--agws-max-rps or ask the target's owners to raise the limit",
                    url=url, exchange=response.exchange)
            throttles += 1
            with self._count_lock:
                self.throttled_count += 1
            time.sleep(min(self.max_retry_after,
                           _retry_after_seconds(response.headers.get("retry-after"), 1.0)))

    # -- one attempt ----------------------------------------------------------------------------

    def _record(self, exchange: Exchange) -> None:
        self.transcript.append(exchange)
        if self.on_exchange is not None:
            self.on_exchange(exchange)

    def _send_once(self, method: str, url: str, content: bytes,
                   headers: Mapping[str, str] | None) -> Response:
        request = self._http.build_request(method, url, content=content, headers=headers)
        with self._count_lock:
            self.request_count += 1
        started = time.time()
        begin = time.monotonic()
        deadline = begin + self.timeout
        _state.deadline = deadline
        _state.bytes_read = _state.bytes_written = 0
        _state.write_failed = False
        capture: dict[str, Any] = dict(method=method, url=url, request_headers=request.headers.raw,
                                       request_body=content, started=started, cap=self.transcript_cap)
        try:
            try:
                response = self._http.send(request, stream=True)
            except httpx.HTTPError as exc:
                kind, message, retryable = self._classify(exc, method, url, len(content))
                exchange = Exchange.capture(self.redactor, **capture,
                                            elapsed=time.monotonic() - begin,
                                            error=f"{kind}: {message}")
                self._record(exchange)
                raise HarnessError(kind, self.redactor(message), url=url, exchange=exchange,
                                   retryable=retryable) from None
            return self._finish(response, capture, begin, deadline, len(content))
        finally:
            _state.deadline = None

    def _finish(self, response: httpx.Response, capture: dict[str, Any], begin: float,
                deadline: float, sent_length: int) -> Response:
        notes: list[str] = []
        if _state.write_failed:
            notes.append(f"the target closed the connection before the whole request body was "
                         f"sent ({_state.bytes_written} bytes written)")
        if response.status_code == 429:
            notes.append(f"429 Too Many Requests: waited Retry-After (at most "
                         f"{self.max_retry_after:g} s) and retried; not judged")
        reader = _BodyReader(response, self.max_body_bytes)
        problem: str | None = None
        timeout_error: str | None = None
        try:
            # The raw stream, not iter_raw(): a MockTransport/ASGI response arrives already read,
            # and its stream still yields the undecoded bytes this reader bounds itself.
            for chunk in response.stream:  # type: ignore[union-attr]
                reader.feed(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the per-request deadline passed")
            reader.finish()
            problem = reader.problem
        except _BodyTooLarge as exc:
            problem = str(exc)
            notes.append(f"{problem}: reading stopped after {len(reader.data)} bytes and the "
                         "connection was closed")
        except httpx.TimeoutException:
            timeout_error = (
                f"{capture['method']} {capture['url']}: the response body did not complete within "
                f"the {self.timeout:g} s deadline ({len(reader.data)} body bytes received); the "
                "target is stalling: check it, or raise the timeout")
        except httpx.HTTPError as exc:
            problem = (f"response body truncated: {_first_line(exc)} "
                       f"({len(reader.data)} body bytes received)")
            notes.append(problem)
        finally:
            response.close()
        notes = reader.notes + notes
        exchange = Exchange.capture(
            self.redactor, **capture, status=response.status_code,
            response_headers=response.headers.raw, response_body=bytes(reader.data),
            response_body_length=len(reader.data), elapsed=time.monotonic() - begin,
            error=f"timeout: {timeout_error}" if timeout_error else None,
            notes=list(dict.fromkeys(notes)))
        self._record(exchange)
        if timeout_error is not None:
            raise HarnessError("timeout", self.redactor(timeout_error), url=capture["url"],
                               exchange=exchange)
        body = bytes(reader.data)
        if problem is not None:
            return Response(exchange, response.status_code, response.headers, body, None,
                            problem)
        value, error = parse_json(body, max_depth=self.max_json_depth)
        return Response(exchange, response.status_code, response.headers, body, value, error)

    def _classify(self, exc: httpx.HTTPError, method: str, url: str,
                  body_length: int) -> tuple[HarnessKind, str, bool]:
        """(kind, one-line message, retryable) for a failure before the response headers."""
        where = f"{method} {url}"
        detail = _first_line(exc)
        got_bytes = _state.bytes_read > 0
        if isinstance(exc, httpx.ConnectTimeout):
            return ("timeout", f"{where}: no connection within {self.timeout:g} s; check that the "
                    "target is up and reachable from this machine, or raise the timeout", False)
        if isinstance(exc, httpx.WriteTimeout) or (
                isinstance(exc, httpx.TimeoutException) and not got_bytes
                and _state.bytes_written < body_length):
            return ("timeout", f"{where}: the target did not take the request within the "
                    f"{self.timeout:g} s deadline ({_state.bytes_written} bytes sent, body "
                    f"{body_length} bytes); it is reading very slowly or not at all: check it, "
                    "or raise the timeout", False)
        if isinstance(exc, httpx.TimeoutException):
            return ("timeout", f"{where}: no complete response headers within the "
                    f"{self.timeout:g} s deadline ({_state.bytes_read} bytes received); the "
                    "target is hanging or very slow: check it, or raise the timeout", False)
        if isinstance(exc, httpx.ConnectError):
            causes = _causes(exc)
            if any(isinstance(c, ssl.SSLError) for c in causes) or "SSL" in detail:
                return ("tls", f"{where}: TLS handshake failed ({detail}); check the certificate "
                        "and that base_url's scheme (http/https) matches the target", False)
            if any(isinstance(c, socket.gaierror) for c in causes) or "Name or service" in detail:
                return ("unreachable", f"{where}: cannot resolve the host name ({detail}); check "
                        "base_url and DNS", False)
            if any(isinstance(c, ConnectionResetError) for c in causes):
                return ("connection-reset", f"{where}: the connection was reset before any "
                        f"response ({detail}); check the target's logs, or whether a proxy drops "
                        "requests", True)
            return ("unreachable", f"{where}: cannot connect ({detail}); check that the target is "
                    "running and base_url is right", True)
        if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)) \
                and not got_bytes:
            # The head went out (a separate write) and the body did not: the target hung up on
            # the body. Nothing written at all, or the whole request written (a reset racing a
            # small request), is an ordinary reset: fewer bytes than the body alone is the sign.
            if _state.write_failed and 0 < _state.bytes_written < body_length:
                return ("closed-during-upload",
                        f"{where}: the target closed the connection after {_state.bytes_written} "
                        f"bytes of the request (body {body_length} bytes) without answering; it "
                        "refused the request body", False)
            return ("connection-reset", f"{where}: the connection was closed before any response "
                    f"({detail}); check the target's logs, or whether a proxy drops requests", True)
        if isinstance(exc, httpx.RemoteProtocolError):
            return ("protocol", f"{where}: the target's answer is not valid HTTP/1.1 ({detail}); "
                    "check that base_url points at the gateway, not another service", False)
        if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
            return ("connection-reset", f"{where}: the connection broke inside the response "
                    f"headers ({detail}); check the target's logs", False)
        return ("protocol", f"{where}: the request could not be sent ({type(exc).__name__}: "
                f"{detail}); check base_url and the request headers", False)
