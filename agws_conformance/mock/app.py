"""The mock gateway as an ASGI app: every documented method, answered as the documents say.

Starlette does the routing and request plumbing (a small, well-kept ASGI toolkit; the pipeline
below is plain functions). Every request goes through one pipeline, in this order, and the first
check that refuses answers:

1. path (404) and method (405, ``Allow: POST``)
2. content type: missing or JSON (``application/json``, ``*/*+json``) is accepted, anything else
   (``text/plain``, forms) gets 415. Go servers usually ignore the header; refusing a clearly
   wrong one makes a client bug visible without punishing a client that omits it.
3. size: ``Content-Length`` over the limit, or a body that grows past it while being read
   incrementally, gets 413 (the body is never buffered beyond the limit)
4. UTF-8, JSON syntax (Go's rules, via the signer), top level must be an object: 400
5. signature: 1014 "Invalid signature", HTTP 400, before anything looks at the fields, so an
   unsigned request learns nothing about which accounts exist
6. required fields present, strings (``amount`` a positive number, cash-in's ``datetime`` RFC
   3339), not empty: 400 naming the field
7. scope: project (8008), agent (9724), service_code (9721) must be the target's (as far as the
   method names them); these are *expected* errors in the method's error format (the Error Codes
   page lists them beside 1407; only 1014 is documented as unexpected) and never successes
8. the method: a configured account/payment (or one created by cash-in) is a success, else
   1407 / 1041 as an expected error; cash-in creates a payment (1042 for a repeated external_id,
   1410 over the balance, both in the old format: ERRATUM-CASH-IN-ERROR-FORMAT); balance and
   upper commission are answered from the ledger (``ledger.py``)

Unexpected errors use the documented shape ``{"status": false, "status_code": N, "message": ...,
"result": {}}``; for transport faults N is the HTTP status (400, 404, 405, 413, 415). Expected
errors in the new format are HTTP 200 with ``result.error_code``; in the old format they are
``status: false`` with HTTP 404 (all documented expected errors here are "not found" errors; the
status is undocumented, the suite only records it: HTTP-OLD-FORMAT-STATUS). Undocumented extra
request fields are ignored. Bodies are rendered as a Go server renders a map: compact,
keys sorted, HTML-escaped (``signer.canonical_from_value``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from dataclasses import replace
from typing import Any, Callable, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agws_conformance import signer
from agws_conformance.endpoints import (DOCUMENTED_MESSAGES, ENDPOINTS, FINAL_STATUSES, METHODS, MOCK_HEADER,
                                       MOCK_TIME_SCALE_HEADER,
                                        SCOPE_ERRORS)
from agws_conformance.mock.data import NEIGHBOUR_BALANCE, account_result, payment_data
from agws_conformance.mock.callbacks import CallbackSender
from agws_conformance.mock.ledger import DEFAULT_BALANCE, DEFAULT_SETTLE_SECONDS, Ledger, tiyn
from agws_conformance.mock.behaviour import Behaviour, Incoming, Reply, SignatureInput, Wire
from agws_conformance.mock.faults import behaviour_for
from agws_conformance.mock.variations import apply_variations
from agws_conformance.inspector import Inspector, Seen
from agws_conformance.target import Secret, Target

DEFAULT_MAX_BODY_BYTES = 65536
# An oversized body is drained (read and dropped, never kept) up to this much, so that a client
# still writing it reads a clean 413 instead of a reset connection; beyond it the connection closes.
_DRAIN_BYTES = 1024 * 1024
# Python's json recursion would fail first; this is the precise, documented limit.
MAX_NESTING = 64
# A stalled (hang fault) response gives up waiting for the client after this long.
STALL_SECONDS = 300.0

_ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_JSON = "application/json"

# Expected errors (public-facts.md, code table).
NOT_FOUND: dict[str, tuple[int, str]] = {
    "user/check": (1407, DOCUMENTED_MESSAGES[1407]),
    "action/status": (1041, DOCUMENTED_MESSAGES[1041]),
}
OLD_FORMAT_HTTP_STATUS = 404
# Old-format cash-in refusals are not "not found": the mock answers them 400 (undocumented either way).
OLD_FORMAT_HTTP_STATUS_BY_CODE = {1042: 400, 1410: 400, 5413: 400}


def _unexpected(endpoint: str | None, http_status: int, code: int, message: str, problem: str,
                request: Any = None, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(kind="unexpected", endpoint=endpoint, http_status=http_status, code=code,
                 message=message, problem=problem, request=request, headers=headers)


def _bad_request(endpoint: str, message: str, problem: str, request: Any = None) -> Reply:
    return _unexpected(endpoint, 400, 400, message, problem, request)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, iteratively."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            todo.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _field_problem(fields: tuple[str, ...], body: dict[str, Any], datetime_checked: bool = True
                   ) -> tuple[str, str] | None:
    """(message, problem) for the first required field missing, mistyped or empty, else None
    (``datetime_checked``: a datetime that is no ISO 8601 timestamp is a problem too)."""
    for name in fields:
        if name not in body:
            return f"field {name!r} is required", "missing-field"
        value = body[name]
        if name == "amount":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"field 'amount' must be a number, not {_type_name(value)}", "wrong-type"
            if not value > 0 or tiyn(value) == 0 or value > 1e12:
                return f"field 'amount' must be a positive amount (got {value!r})", "wrong-type"
            continue
        if not isinstance(value, str):
            return f"field {name!r} must be a string, not {_type_name(value)}", "wrong-type"
        if value == "":
            return f"field {name!r} must not be empty", "empty-field"
        if name == "datetime" and datetime_checked and not _is_timestamp(value):
            return "field 'datetime' must be an ISO 8601 timestamp such as 2024-01-01T00:00:00Z", "wrong-type"
    return None


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def render(reply: Reply) -> dict[str, Any]:
    """The JSON value for a decided reply."""
    if reply.kind == "success":
        return {"status": True, "status_code": 0, "message": "Success", "result": reply.result or {}}
    if reply.kind == "expected" and reply.error_format == "new":
        return {"status": True, "status_code": 0, "message": "Success",
                "result": {"error_code": reply.code, "message": reply.message, "data": None}}
    return {"status": False, "status_code": reply.code, "message": reply.message, "result": {}}


class _WireResponse:
    """An ASGI response sending a :class:`Wire` as is (or stalling it)."""

    def __init__(self, wire: Wire, reply: Reply) -> None:
        self.wire = wire
        self.reply = reply

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wire = self.wire
        if wire.drop:
            await _hang_up(receive, send, wire)
            return
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wire.headers]
        headers.append((b"content-length", str(len(wire.body)).encode()))
        await send({"type": "http.response.start", "status": wire.status, "headers": headers})
        if not wire.stall:
            await send({"type": "http.response.body", "body": wire.body})
            return
        await send({"type": "http.response.body", "body": wire.body[: len(wire.body) // 2],
                    "more_body": True})
        # Never finish: wait for the client to give up (or the server to shut down).
        try:
            async with asyncio.timeout(STALL_SECONDS):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass


async def _hang_up(receive: Receive, send: Send, wire: Wire) -> None:
    """Close the connection without a byte of answer, as Go's net/http does when a handler panics.

    ASGI has no message for it; uvicorn's ``receive`` is a method of the request cycle, which holds
    the connection's transport. Elsewhere (another server), a head without a body, then nothing.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        await send({"type": "http.response.start", "status": wire.status, "headers": []})
        return
    transport.close()
    for _ in range(3):  # let the server see the connection lost, so it writes no 500 of its own
        await asyncio.sleep(0)


class _Gateway:
    def __init__(self, target: Target, behaviour: Behaviour, max_body_bytes: int,
                 log: Callable[[str], None] | None = None, *, balance: float = DEFAULT_BALANCE,
                 settle_seconds: float = DEFAULT_SETTLE_SECONDS, callback_time_scale: float = 1.0,
                 inspector: Inspector | None = None) -> None:
        self.log = log
        self.inspector = inspector
        if target.secret is None:
            raise ValueError(
                f"target {target.name!r} has no secret: export {target.secret_env} before starting the mock"
            )
        self.target = target
        self.secret: Secret = target.secret
        self.behaviour = behaviour
        self.max_body_bytes = behaviour.max_body_bytes or max_body_bytes
        self.error_format = "new" if target.error_format == "auto" else target.error_format
        self.accounts = {a.username: a for a in target.accounts}
        self.payments = {p.external_id: p for p in target.payments}
        self.usernames = tuple(a.username for a in target.accounts if a.account_status == 1)
        write = target.write
        self.ledger = Ledger(balance, settle_seconds, lifetime=write.lifetime if write else None,
                             expiring_username=write.expiring_username if write else None,
                             rules=behaviour.payments)
        self.callbacks = CallbackSender(self.ledger, self.secret.reveal(), target.variant, behaviour.callbacks,
                                        callback_time_scale)

    # -- the pipeline ---------------------------------------------------------------------

    async def decide(self, request: Request, endpoint: str | None) -> Reply:
        if endpoint is None:
            return _unexpected(None, 404, 404, f"no such method: {request.url.path}", "path")
        if request.method not in self.behaviour.methods:
            return _unexpected(endpoint, 405, 405, f"method {request.method} not allowed; use POST",
                               "method", headers=(("allow", "POST"),))
        content_type = request.headers.get("content-type")
        if content_type is not None and not _is_json(content_type):
            return _unexpected(endpoint, 415, 415,
                               f"unsupported Content-Type {content_type[:60]!r}; send application/json",
                               "content-type")
        raw = await self._read_body(request)
        request.state.agws_raw = raw  # for the inspector (None: over the limit, never kept)
        if raw is None:
            return _unexpected(endpoint, 413, 413,
                               f"request body exceeds {self.max_body_bytes} bytes", "oversized")
        incoming = Incoming(endpoint, request.method, request.headers.get("x-signature"), raw)
        for hook in self.behaviour.incoming_hooks:
            incoming = hook(incoming, self.target)
        return replace(self.decide_body(incoming), method=incoming.method)

    def decide_body(self, incoming: Incoming) -> Reply:
        endpoint, raw = incoming.endpoint, incoming.raw
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _bad_request(endpoint, f"body is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                                f"{exc.start})", "utf-8")
        if not text.strip():
            return _bad_request(endpoint, "body is empty; send a JSON object", "malformed-json")
        try:
            body = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            return _bad_request(endpoint, f"body nests deeper than {MAX_NESTING} levels", "malformed-json")
        except ValueError as exc:
            return _bad_request(endpoint, f"body is not valid JSON: {str(exc).splitlines()[0]}",
                                "malformed-json")
        if not isinstance(body, dict):
            return _bad_request(endpoint, f"body must be a JSON object, not {_type_name(body)}", "non-object")
        if _depth(body) > MAX_NESTING:
            return _bad_request(endpoint, f"body nests deeper than {MAX_NESTING} levels", "malformed-json", body)
        try:
            # Go's decoder refuses a few bodies Python's accepts (e.g. 1e400, a BOM).
            signer.canonicalize(raw, self.target.variant)
        except signer.SignerError as exc:
            return _bad_request(endpoint, str(exc), "malformed-json", body)
        given = SignatureInput(incoming.signature, raw, self.secret.reveal(), self.target.variant, endpoint)
        method = METHODS[endpoint]
        if not self.behaviour.signature_check(given):
            return self._refused(body, _unexpected(endpoint, 400, 1014, DOCUMENTED_MESSAGES[1014], "signature", body))
        for hook in self.behaviour.request_hooks:
            body = hook(endpoint, body, self.target)
        problem = _field_problem(method.fields, body, self.behaviour.payments.datetime_checked)
        if problem is not None:
            return self._refused(body, _bad_request(endpoint, *problem, body))
        for name in self.behaviour.scope_fields:
            if name in method.scope and body[name] != getattr(self.target, name) and not self._neighbour_served(
                    name, body[name]):
                code, message = SCOPE_ERRORS[name]
                return self._refused(body, self._expected(endpoint, code, message, body))
        if endpoint == "user/check":
            account = self.accounts.get(body["username"])
            if account is not None:
                return Reply("success", endpoint, 200, 0, "Success", account_result(account), request=body)
        elif endpoint == "action/status":
            entry = self.ledger.find(body["external_id"])
            payment = self.payments.get(body["external_id"])
            if entry is not None:
                self.ledger.asked(entry)
                return self._payment_reply(endpoint, self.ledger.data(entry), body)
            if payment is not None:
                return self._payment_reply(endpoint, payment_data(payment, body, self.usernames), body)
        elif endpoint == "action/cash-in":
            return self._cash_in(body)
        elif endpoint == "showcase/balance":
            neighbour = body["agent"] == self.target.other("agent")  # reached only when a fault serves it
            result = {"showcase_code": body["agent"], "balance": NEIGHBOUR_BALANCE if neighbour else self.ledger.balance()}
            return Reply("success", endpoint, 200, 0, "Success", result, request=body)
        elif endpoint == "calculate/upper/commission":
            return Reply("success", endpoint, 200, 0, "Success", self.ledger.commission(float(body["amount"])),
                         request=body)
        elif endpoint == "action/confirm/invoice":
            entry = self.ledger.find(body["external_id"])
            if entry is None:
                return self._expected(endpoint, 5103, DOCUMENTED_MESSAGES[5103], body)
            if self.ledger.status(entry)[0] in FINAL_STATUSES and not entry.confirmed:
                return self._expected(endpoint, 5413, DOCUMENTED_MESSAGES[5413], body)
            return Reply("success", endpoint, 200, 0, "Success", self.ledger.confirm(entry, body.get("confirm_code")),
                         request=body)
        elif endpoint == "action/link":
            link = {"code": 0, "redirect_url": f"https://pay.mock.invalid/quickpayment?quick_pay_id={uuid.uuid4()}",
                    "message": "Успешно обработано", "qr_code_image": ""}
            return Reply("success", endpoint, 200, 0, "Success", link, request=body)
        code, message = NOT_FOUND[endpoint]
        return self._expected(endpoint, code, message, body)

    def _neighbour_served(self, name: str, value: Any) -> bool:
        """Whether ``value`` names the target's declared neighbour (a scope that exists on this gateway,
        with its own showcase balance) and the behaviour lets it through: never in the clean mock,
        which refuses a neighbour like any other scope but this target's."""
        return self.behaviour.neighbour_in_scope and value == self.target.other(name)

    def _payment_reply(self, endpoint: str, data: dict[str, Any], body: dict[str, Any]) -> Reply:
        return Reply("success", endpoint, 200, 0, "Success", {"error_code": 0, "message": "", "data": data},
                     request=body)

    def _cash_in(self, body: dict[str, Any]) -> Reply:
        rules, ledger = self.behaviour.payments, self.ledger
        endpoint = "action/cash-in"
        first = ledger.find(body["external_id"])
        if first is not None and rules.duplicate != "second":
            if rules.duplicate == "update":
                first.amount = float(body["amount"])
            elif rules.duplicate == "debit":
                ledger.repeats_debited.append(float(body["amount"]))
            return self._expected(endpoint, 1042, DOCUMENTED_MESSAGES[1042], body)
        if rules.check_balance and not ledger.covers(float(body["amount"])):
            return self._expected(endpoint, 1410, DOCUMENTED_MESSAGES[1410], body)
        entry = ledger.create(body)
        url = body.get("callback_url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            self.callbacks.schedule(entry, url)
        return self._payment_reply(endpoint, ledger.data(entry), body)

    def _refused(self, body: dict[str, Any], reply: Reply) -> Reply:
        """A refusal; under the fault that records refused payments, a cash-in is created anyway;
        under the one that calls refused payments back, a badly signed cash-in naming a callback_url
        is called back (while the ledger still knows nothing of it)."""
        if reply.endpoint != "action/cash-in":
            return reply
        fields = METHODS["action/cash-in"].fields
        whole = all(isinstance(body.get(k), (str, int, float)) for k in fields)
        if self.behaviour.payments.create_refused and whole and self.ledger.find(str(body["external_id"])) is None:
            self.ledger.create({k: body[k] for k in fields})
        url = body.get("callback_url")
        if (self.behaviour.callbacks.call_back_refused and reply.problem == "signature" and whole
                and isinstance(url, str) and url.startswith(("http://", "https://"))):
            self.callbacks.schedule(self.ledger.unrecorded({k: body[k] for k in fields}), url)
        return reply

    def _expected(self, endpoint: str, code: int, message: str, body: dict[str, Any]) -> Reply:
        fmt = "old" if METHODS[endpoint].error_format == "old" else self.error_format
        return Reply("expected", endpoint, 200, code, message, error_format=fmt, request=body)

    async def _read_body(self, request: Request) -> bytes | None:
        """The body, or None when it is larger than the limit (read incrementally, never buffered past it)."""
        limit = self.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _drain(request)
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                await _drain(request, size)
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    # -- rendering ------------------------------------------------------------------------

    def respond(self, reply: Reply) -> _WireResponse:
        if reply.request is not None and reply.endpoint in METHODS:
            method = METHODS[reply.endpoint]
            known: bool | None = None
            if method.lookup is not None:
                value = reply.request.get(method.lookup)
                held: Any = self.accounts if reply.endpoint == "user/check" else self.payments
                known = isinstance(value, str) and (value in held or (
                    reply.endpoint == "action/status" and self.ledger.find(value) is not None))
            elif method.subject == "pending-payment":  # a confirmation names a payment of the ledger
                value = reply.request.get("external_id")
                known = isinstance(value, str) and self.ledger.find(value) is not None
            reply = replace(reply, known=known, out_of_scope=tuple(
                name for name in SCOPE_ERRORS
                if name in method.scope and reply.request.get(name) != getattr(self.target, name)))
        # Every reply carries the format expected errors take here, so a hook turning one into an
        # expected error keeps it.
        fmt = "old" if reply.endpoint in METHODS and METHODS[reply.endpoint].error_format == "old" else self.error_format
        reply = replace(reply, error_format=reply.error_format if reply.kind == "expected" else fmt)
        for hook in self.behaviour.reply_hooks:
            reply = hook(reply)
        if reply.kind == "expected" and reply.error_format == "old":
            reply = replace(reply, http_status=OLD_FORMAT_HTTP_STATUS_BY_CODE.get(reply.code, OLD_FORMAT_HTTP_STATUS))
        payload = render(reply)
        for payload_hook in self.behaviour.payload_hooks:
            payload = payload_hook(reply, payload)
        wire = Wire(reply.http_status, (("content-type", _JSON),) + reply.headers,
                    signer.canonical_from_value(payload))
        for wire_hook in self.behaviour.wire_hooks:
            wire = wire_hook(reply, wire)
        return _WireResponse(wire, reply)

    def handler(self, endpoint: str | None):  # noqa: ANN201 - a Starlette endpoint
        async def handle(request: Request) -> _WireResponse:
            return self.logged(request, self.respond(await self.decide(request, endpoint)))

        return handle

    def logged(self, request: Request, response: _WireResponse) -> _WireResponse:
        if self.log is not None:
            self.log(access_line(request.method, request.url.path, response.wire, response.reply))
        if self.inspector is not None:
            # After the answer is decided and never changing it: the client gets the gateway's reply.
            reply = response.reply
            self.inspector.observe(Seen(
                request.method, request.url.path, reply.endpoint, request.headers.get("content-type"),
                request.headers.get("x-signature"), getattr(request.state, "agws_raw", None),
                response.wire.status, reply.code))
        return response

    async def http_exception(self, request: Request, exc: Exception) -> _WireResponse:
        # Starlette raises these for methods outside _ROUTE_METHODS (405) and unrouted paths (404).
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        if status == 405:
            reply = _unexpected(None, 405, 405, f"method {request.method} not allowed; use POST",
                                "method", headers=(("allow", "POST"),))
        else:
            reply = _unexpected(None, status, status, f"no such method: {request.url.path}", "path")
        return self.logged(request, self.respond(reply))


def access_line(method: str, path: str, wire: Wire, reply: Reply) -> str:
    """One line per request for the standalone mock's log: what came in and what went out, never a
    header or a body (so never the signature or anything signed)."""
    if reply.kind == "success":
        outcome = "success"
    elif reply.kind == "expected":
        outcome = f"expected error {reply.code} ({reply.error_format} format)"
    else:
        outcome = f"unexpected error {reply.code}" + (f" ({reply.problem})" if reply.problem else "")
    stalled = " [stalled]" if wire.stall else ""
    return f"{method} {path[:200]} -> {wire.status} {outcome}{stalled}"


async def _drain(request: Request, already: int = 0) -> None:
    size = already
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > _DRAIN_BYTES:
                return
    except Exception:  # a client that went away mid-body: nothing left to drain
        return


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == _JSON or (media.startswith("application/") and media.endswith("+json"))


def normalize_prefix(prefix: str) -> str:
    """``gw/`` or `` /gw`` -> ``/gw``; empty stays empty (the app and the served URL agree on it)."""
    prefix = prefix.strip().rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    return prefix


def create_app(
    target: Target,
    *,
    faults: Iterable[str] = (),
    variations: Iterable[str] = (),
    prefix: str = "",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log: Callable[[str], None] | None = None,
    balance: float = DEFAULT_BALANCE,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    callback_time_scale: float = 1.0,
    inspector: Inspector | None = None,
) -> Starlette:
    """The mock gateway for ``target`` (its accounts, payments, secret and error format).

    ``variations`` names entries of :data:`agws_conformance.mock.variations.VARIATIONS` (legitimate
    differences, applied first), ``faults`` entries of :data:`agws_conformance.mock.faults.FAULTS`
    (deviations, applied on top); an unknown name raises. ``prefix`` is a path prefix before the
    documented paths (as a base_url path). ``log`` receives one line per request (``access_line``).
    ``balance`` is the showcase's opening balance; a payment is in progress for ``settle_seconds``.
    A payment that names a callback_url is called back once final, with the documented backoff
    times ``callback_time_scale`` (``callbacks.py``). ``inspector`` (``agws_conformance.inspector``)
    judges every request the client sends, without changing any answer.
    """
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    behaviour = behaviour_for(list(faults), apply_variations(Behaviour(), list(variations)))
    gateway = _Gateway(target, behaviour, max_body_bytes, log, balance=balance, settle_seconds=settle_seconds,
                       callback_time_scale=callback_time_scale, inspector=inspector)
    prefix = normalize_prefix(prefix)
    routes = [Route(prefix + path, gateway.handler(name), methods=_ROUTE_METHODS)
              for name, path in ENDPOINTS.items()]
    routes.append(Route("/{path:path}", gateway.handler(None), methods=_ROUTE_METHODS))
    handlers: dict[Any, Any] = {HTTPException: gateway.http_exception}  # its own response type, an ASGI app
    return Starlette(routes=routes, exception_handlers=handlers,
                     middleware=[Middleware(_NamesItself, time_scale=callback_time_scale)])


MOCK_HEADER_VALUE = "agws-conformance"
"""The value of ``endpoints.MOCK_HEADER`` on every answer: this is the bundled mock, not a gateway."""


class _NamesItself:
    """Adds ``X-AGWS-Mock: agws-conformance`` (and ``X-AGWS-Mock-Time-Scale``) to every answer, embedded or served standalone
    (``agws-conformance mock``): a run records it, and its verdict and the gate treat any mock as a mock."""

    def __init__(self, app: ASGIApp, time_scale: float = 1.0) -> None:
        self.app = app
        # Its pace too: a suite whose [callbacks] time_scale disagrees points it out (plugin.run).
        self.headers = [(MOCK_HEADER.lower().encode("latin-1"), MOCK_HEADER_VALUE.encode()),
                        (MOCK_TIME_SCALE_HEADER.lower().encode("latin-1"), f"{time_scale:g}".encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *self.headers]}
            await send(message)

        await self.app(scope, receive, named)
