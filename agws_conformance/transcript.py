"""What was sent and received, redacted at capture time.

An :class:`Exchange` can only be built by :meth:`Exchange.capture`, which takes a
:class:`Redactor`: the secret is replaced by ``[REDACTED]`` before the object exists, so no report,
log or pickle downstream can leak it, and there is no "forgot to redact" code path.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import quote, quote_plus, urlsplit

__all__ = ["DEFAULT_BODY_CAP", "MAX_EXCHANGES_PER_TEST", "REDACTED", "Exchange", "ExchangeLog", "Redactor", "Transcript",
           "redact_deep"]

REDACTED = "[REDACTED]"
DEFAULT_BODY_CAP = 64 * 1024

Headers = tuple[tuple[str, str], ...]


class Redactor:
    """Replaces every secret, and its URL-encoded and JSON-escaped spellings, with ``[REDACTED]``."""

    __slots__ = ("_pattern", "_bpattern", "_count")

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        count = 0
        for secret in secrets:
            if not secret:
                continue
            count += 1
            forms.update(_spellings(secret))
        ordered = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers
        self._count = count
        if ordered:
            self._pattern: re.Pattern[str] | None = re.compile("|".join(map(re.escape, ordered)))
            self._bpattern: re.Pattern[bytes] | None = re.compile(
                b"|".join(re.escape(f.encode("utf-8", "surrogatepass")) for f in ordered))
        else:
            self._pattern = self._bpattern = None

    def __repr__(self) -> str:
        return f"Redactor(<{self._count} secret(s)>)"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("Redactor holds secrets and cannot be pickled")

    @overload
    def __call__(self, data: str) -> str: ...
    @overload
    def __call__(self, data: bytes) -> bytes: ...

    def __call__(self, data: str | bytes) -> str | bytes:
        """Return ``data`` with every secret spelling replaced."""
        if isinstance(data, str):
            return self._pattern.sub(REDACTED, data) if self._pattern else data
        return self._bpattern.sub(REDACTED.encode(), data) if self._bpattern else bytes(data)

    redact = __call__

    def headers(self, headers: Iterable[tuple[str, str]]) -> Headers:
        """Redact names and values of a header list."""
        items = tuple(headers)
        if self._pattern is None:
            return items
        flat = [part for pair in items for part in pair]
        joined = "\x00".join(flat)
        if not self._pattern.search(joined):  # the common case: one scan, no copies
            return items
        return tuple((self(k), self(v)) for k, v in items)


def redact_deep(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with ``redact`` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_deep(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_deep(v, redact) for v in value]
    return value


def _spellings(secret: str) -> set[str]:
    json_ascii = json.dumps(secret)[1:-1]
    json_raw = json.dumps(secret, ensure_ascii=False)[1:-1]
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret),
             json_ascii, json_raw, json_ascii.replace("/", "\\/")}
    # Percent-encoding and \\u escapes are case-insensitive on the wire.
    for form in list(forms):
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form))
        forms.add(re.sub(r"\\u[0-9a-f]{4}", lambda m: m.group(0).upper().replace("\\U", "\\u"),
                         form))
    return {f for f in forms if f}


NO_REDACTION = Redactor(())


def _cap(body: bytes, cap: int) -> tuple[bytes, bool]:
    if len(body) <= cap:
        return body, False
    prefix = body[:cap]
    # Do not split a UTF-8 character: a text body should stay text in the report.
    try:
        prefix.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(prefix) - 3 and exc.reason == "unexpected end of data":
            prefix = prefix[: exc.start]
    return prefix, True


def _headers(items: Iterable[tuple[str | bytes, str | bytes]]) -> Headers:
    out = []
    for k, v in items:
        out.append((k.decode("latin-1") if isinstance(k, bytes) else str(k),
                    v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return tuple(out)


@dataclass(frozen=True, init=False)
class Exchange:
    """One HTTP exchange (or attempt), redacted. Build it with :meth:`capture` only."""

    method: str
    url: str
    request_headers: Headers
    request_body: bytes
    request_body_length: int
    request_truncated: bool
    status: int | None
    response_headers: Headers
    response_body: bytes
    response_body_length: int
    truncated: bool
    elapsed: float
    error: str | None
    notes: tuple[str, ...]
    started: float

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("Exchange is built by Exchange.capture(redactor, ...), which redacts it")

    @classmethod
    def capture(
        cls,
        redactor: Redactor,
        *,
        method: str,
        url: str,
        request_headers: Iterable[tuple[str | bytes, str | bytes]] = (),
        request_body: bytes = b"",
        status: int | None = None,
        response_headers: Iterable[tuple[str | bytes, str | bytes]] = (),
        response_body: bytes = b"",
        response_body_length: int | None = None,
        elapsed: float = 0.0,
        error: str | None = None,
        notes: Sequence[str] = (),
        started: float | None = None,
        cap: int = DEFAULT_BODY_CAP,
    ) -> Exchange:
        """Redact, cap each body at ``cap`` bytes (recording the original length) and freeze.

        ``response_body_length`` is the number of body bytes received when that differs from
        ``len(response_body)`` (reading stopped early); the redaction happens before the cap so a
        secret cut in two at the cap cannot leak half of itself.
        """
        if not isinstance(redactor, Redactor):
            raise TypeError("Exchange.capture needs a Redactor (Redactor(()) when there is no secret)")
        req_body, req_trunc = _cap(redactor(bytes(request_body)), cap)
        resp_body, resp_trunc = _cap(redactor(bytes(response_body)), cap)
        resp_len = len(response_body) if response_body_length is None else response_body_length
        self = object.__new__(cls)
        values = {
            "method": method.upper(),
            "url": redactor(url),
            "request_headers": redactor.headers(_headers(request_headers)),
            "request_body": req_body,
            "request_body_length": len(request_body),
            "request_truncated": req_trunc,
            "status": status,
            "response_headers": redactor.headers(_headers(response_headers)),
            "response_body": resp_body,
            "response_body_length": resp_len,
            "truncated": resp_trunc or resp_len > len(response_body),
            "elapsed": float(elapsed),
            "error": redactor(error) if error is not None else None,
            "notes": tuple(redactor(n) for n in notes),
            "started": time.time() if started is None else started,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        return self

    # ---- views ------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def summary(self) -> str:
        """One line: ``POST /path -> 400 (12 ms)``."""
        ms = round(self.elapsed * 1000)
        if self.status is None:
            outcome = f"error: {self.error}" if self.error else "no response"
        else:
            outcome = str(self.status)
            if self.error:
                outcome += f" (error: {self.error})"
        return f"{self.method} {self.path} -> {outcome} ({ms} ms)"

    def request_header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.request_headers if k.lower() == name), None)

    def to_curl(self) -> str:
        """A POSIX-shell command that sends this request again, byte for byte.

        Headers curl would add on its own (Content-Type for --data-binary, User-Agent, Accept) are
        set or blanked explicitly so the wire request matches. A body curl cannot take as an
        argument (NUL or other control bytes, invalid UTF-8, or a leading ``@``) is piped in with
        ``printf`` octal escapes and ``--data-binary @-``. A body cut at the transcript cap cannot
        be reproduced; the command then says so in a trailing comment.
        """
        args = ["curl", "-sS", "-i", "--http1.1"]
        body = self.request_body
        # httpx sends Content-Length: 0 for an empty POST; curl does so only with a data option.
        send_data = bool(body) or self.request_header("content-length") is not None
        if self.method != "POST" or not send_data:
            args += ["-X", self.method]
        args.append(self.url)
        present = set()
        for name, value in self.request_headers:
            lower = name.lower()
            if lower in ("host", "content-length", "transfer-encoding"):
                continue
            present.add(lower)
            if lower == "accept-encoding":
                args.append("--compressed")
            args += ["-H", f"{name}: {value}" if value else f"{name};"]
        blank = ["user-agent", "accept"] + (["content-type"] if send_data else [])
        for name in blank:
            if name not in present:
                args += ["-H", f"{name}:"]
        piped = None
        if send_data and not body:
            args += ["--data-binary", ""]
        elif body:
            text = _argument_text(body)
            if text is None:
                piped = "printf '%b' " + shlex.quote(_octal(body)) + " | "
                args += ["--data-binary", "@-"]
            else:
                args += ["--data-binary", text]
        command = (piped or "") + " ".join(shlex.quote(a) for a in args)
        if self.request_truncated:
            command += (f"  # request body truncated: {len(body)} of {self.request_body_length} "
                        "bytes recorded")
        return command

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; bodies are text when valid UTF-8, else base64 (``body_encoding``)."""
        return {
            "method": self.method,
            "url": self.url,
            "started": self.started,
            "elapsed": self.elapsed,
            "error": self.error,
            "notes": list(self.notes),
            "request": {
                "headers": [list(h) for h in self.request_headers],
                **_body_dict(self.request_body),
                "body_length": self.request_body_length,
                "truncated": self.request_truncated,
            },
            "response": {
                "status": self.status,
                "headers": [list(h) for h in self.response_headers],
                **_body_dict(self.response_body),
                "body_length": self.response_body_length,
                "truncated": self.truncated,
            },
        }


def _body_dict(body: bytes) -> dict[str, str]:
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


_UNSAFE_ARG = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _argument_text(body: bytes) -> str | None:
    """The body as a shell argument when that is exact, else None (pipe it instead)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("@") or _UNSAFE_ARG.search(text):
        return None
    return text


def _octal(body: bytes) -> str:
    # printf %b understands \0NNN in any POSIX shell; printable ASCII stays readable.
    out = []
    for byte in body:
        if 0x20 <= byte < 0x7F and byte != 0x5C:
            out.append(chr(byte))
        else:
            out.append(f"\\0{byte:03o}")
    return "".join(out)


class Transcript(Sequence[Exchange]):
    """The most recent exchanges, in order; ``append`` is thread-safe.

    Bounded (``maxlen``, None for no bound): a client lives for the whole run, and a thorough run
    sends thousands of requests with bodies of up to ``DEFAULT_BODY_CAP`` bytes each. The oldest
    exchanges give way and are counted in ``dropped``; each test's own exchanges are kept apart, in
    an :class:`ExchangeLog`.
    """

    def __init__(self, on_append: Callable[[Exchange], None] | None = None, maxlen: int | None = None) -> None:
        if maxlen is not None and maxlen < 1:
            raise ValueError("maxlen must be at least 1 (or None for no bound)")
        self._items: deque[Exchange] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._on_append = on_append
        self.maxlen = maxlen
        self.dropped = 0

    def append(self, exchange: Exchange) -> None:
        if not isinstance(exchange, Exchange):
            raise TypeError("Transcript holds Exchange objects")
        with self._lock:
            if self.maxlen is not None and len(self._items) == self.maxlen:
                self.dropped += 1
            self._items.append(exchange)
        if self._on_append is not None:
            self._on_append(exchange)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.dropped = 0

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self._items)

    @overload
    def __getitem__(self, index: int) -> Exchange: ...
    @overload
    def __getitem__(self, index: slice) -> list[Exchange]: ...

    def __getitem__(self, index: int | slice) -> Exchange | list[Exchange]:
        with self._lock:
            if isinstance(index, slice):
                return list(self._items)[index]
            return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.snapshot())

    def __repr__(self) -> str:
        dropped = f", {self.dropped} older dropped" if self.dropped else ""
        return f"Transcript({len(self)} exchange(s){dropped})"

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.snapshot()]


MAX_EXCHANGES_PER_TEST = 40
"""Exchanges a test keeps: the first quarter and the most recent rest; the others are counted."""


class ExchangeLog:
    """The exchanges of one test: the first few and the most recent, with a count of the rest."""

    def __init__(self, limit: int = MAX_EXCHANGES_PER_TEST) -> None:
        self.head: list[Exchange] = []
        self.tail: list[Exchange] = []
        self.limit = limit
        self.dropped = 0

    def add(self, exchange: Exchange) -> None:
        if len(self.head) < self.limit // 4:
            self.head.append(exchange)
            return
        self.tail.append(exchange)
        if len(self.tail) > self.limit - self.limit // 4:
            self.tail.pop(0)
            self.dropped += 1

    def all(self) -> list[Exchange]:
        return self.head + self.tail
