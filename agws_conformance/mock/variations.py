"""Legitimate deployment variations: differences a conforming gateway may have.

The counterpart of ``faults.py``. A fault is a deviation the suite must catch; a variation is
something the documents allow (or a proxy in front of any gateway adds), which the suite must
accept: a run against the mock with any variation, and a target file that declares only what a
QA engineer knows, must end CONFORMANT (or CONFORMANT WITH WARNINGS). ``benchmarks/false_failures.py``
runs that matrix; ``tests/test_false_failures.py`` keeps it true.

Each variation names the passage that allows it (``Variation.allowed_by``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from agws_conformance.errors import UnknownVariationError, did_you_mean
from agws_conformance.mock.behaviour import (Behaviour, Reply, Wire, nginx_page, on_payload, on_reply, on_wire,
                                             wrap_signature_check)


@dataclass(frozen=True)
class Variation:
    """One legitimate difference the mock can take on."""

    name: str
    description: str
    allowed_by: str
    apply: Callable[[Behaviour], Behaviour] = field(repr=False, compare=False)


VARIATIONS: dict[str, Variation] = {}


def _variation(name: str, allowed_by: str, description: str):  # noqa: ANN202 - decorator
    def register(apply: Callable[[Behaviour], Behaviour]) -> Callable[[Behaviour], Behaviour]:
        VARIATIONS[name] = Variation(name, description, allowed_by, apply)
        return apply

    return register


def apply_variations(behaviour: Behaviour, names: Iterable[str]) -> Behaviour:
    """``behaviour`` with the named variations applied, in order."""
    for name in names:
        variation = VARIATIONS.get(name)
        if variation is None:
            raise UnknownVariationError(
                f"unknown mock variation {name!r}; {did_you_mean(name, VARIATIONS)}valid variations: "
                f"{', '.join(sorted(VARIATIONS))}")
        behaviour = variation.apply(behaviour)
    return behaviour


# ------------------------------------------------------------------------------------------
# Signing: the two open questions of the signing page, each answered the other way.

_variation(
    "go1.21-escapes",
    "public-facts.md, Signing page: Go before 1.22 writes \\b and \\f as \\u0008 and \\u000c",
    "the gateway is built with Go < 1.22: its canonical form writes \\b \\f as \\u0008 \\u000c",
)(wrap_signature_check(lambda prev, given: prev(replace(given, variant=replace(given.variant, legacy_escapes=True)))))

_variation(
    "omit-empty-signer",
    "public-facts.md, Signing page: fields whose value is \"\" do not take part in the signature",
    "the gateway's signer leaves top-level \"\" fields out, as the public signing page says",
)(wrap_signature_check(lambda prev, given: prev(replace(given, variant=replace(given.variant, omit_empty=True)))))

# ------------------------------------------------------------------------------------------
# A reverse proxy in front of the gateway answers what never reaches it.

_PROXY_PAGES: dict[str, tuple[int, str]] = {
    "method": (405, "405 Not Allowed"),
    "oversized": (413, "413 Request Entity Too Large"),
    "path": (404, "404 Not Found"),
}


def _proxy_page(reply: Reply, wire: Wire) -> Wire:
    page = _PROXY_PAGES.get(reply.problem or "")
    if page is None:
        return wire
    status, title = page
    return Wire(status, (("content-type", "text/html"),), nginx_page(title))


_variation(
    "proxy-html-errors",
    "any deployment behind nginx; ROB-WRONG-METHOD and ROB-OVERSIZED ask only 'never a success, never a crash'",
    "an nginx in front answers a wrong method (405), an oversized body (413) and an unknown path (404) "
    "with its own HTML pages",
)(on_wire(_proxy_page))

# ------------------------------------------------------------------------------------------
# Envelope details the pages show both ways.


def _data_empty(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
    if reply.kind != "expected" or reply.error_format != "new":
        return payload
    return {**payload, "result": {**payload["result"], "data": {}, "additional_data": {}}}


_variation(
    "data-empty-object",
    "public-pages.md, Error Codes V2 and the Balance page: \"data\": {}, \"additional_data\": {}",
    "new-format expected errors carry \"data\": {} and \"additional_data\": {} instead of \"data\": null",
)(on_payload(_data_empty))

_variation(
    "json-charset",
    "RFC 8259, section 11 (a charset parameter is allowed, and ignored)",
    "responses are labelled application/json; charset=utf-8",
)(on_wire(lambda reply, wire: replace(wire, headers=tuple(
    (k, "application/json; charset=utf-8" if k.lower() == "content-type" else v) for k, v in wire.headers))))


def _extra_fields(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
    if reply.kind != "success":
        return payload
    result = {**payload["result"], "additional_data": {}, "provider_reference": "PRV-000123"}
    if isinstance(result.get("data"), dict):
        result["data"] = {**result["data"], "commission": 0}
    return {**payload, "result": result}


_variation(
    "extra-success-fields",
    "public-pages.md, Make a payment and refill-status tables: result.additional_data 'varies by service'",
    "successes carry undocumented fields (result.additional_data, result.provider_reference, data.commission)",
)(on_payload(_extra_fields))

def _thin_page_shapes(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
    if reply.kind != "success":
        return payload
    if reply.endpoint == "action/link":
        return {"result": payload["result"]}  # the example has no envelope
    if reply.endpoint == "action/confirm/invoice" and isinstance(payload["result"].get("is_success"), bool):
        return {**payload, "result": {**payload["result"], "is_success": str(payload["result"]["is_success"]).lower()}}
    return payload


_variation(
    "thin-page-shapes",
    "public-pages.md §2.12 link example (no envelope) and §2.11 table (is_success typed String)",
    "payment links answered as the page's example, without status/status_code/message; confirmations with "
    "is_success as the string \"true\"/\"false\"",
)(on_payload(_thin_page_shapes))

# ------------------------------------------------------------------------------------------
# Unexpected errors with the Error Codes page's own codes and HTTP statuses.

_VALIDATION = {"malformed-json", "utf-8", "non-object", "wrong-type"}
_MISSING = {"missing-field", "empty-field"}


def _documented_codes(reply: Reply) -> Reply:
    if reply.kind != "unexpected":
        return reply
    if reply.problem in _VALIDATION:
        return replace(reply, http_status=400, code=1021, message="request validation error")
    if reply.problem in _MISSING:
        return replace(reply, http_status=400, code=1404, message="Invalid action request")
    return reply


_variation(
    "documented-error-codes",
    "public-pages.md, Error Codes, unexpected errors: 1021 request validation error and 1404 "
    "Invalid action request, both HTTP 400",
    "bad requests are answered 1021 'request validation error' (unparseable, wrong type) and 1404 "
    "'Invalid action request' (missing or empty field), HTTP 400",
)(on_reply(_documented_codes))


def _server_errors(reply: Reply) -> Reply:
    if reply.kind == "unexpected" and reply.problem in ("wrong-type", "non-object"):
        return replace(reply, http_status=500, code=999999, message="Unknown error")
    return reply


_variation(
    "server-error-envelope",
    "public-pages.md, Error Codes, unexpected errors: 999999 Unknown error, HTTP 500",
    "a body Go cannot decode into the request struct (a non-object, a wrong type) is answered as the "
    "documented server error 999999 'Unknown error' with HTTP 500",
)(on_reply(_server_errors))

# ------------------------------------------------------------------------------------------
# Payment System Callback.

_variation(
    "callback-intermediate-status",
    "public-pages.md §2.14 Payment System Callback and §4 item 30: whether callbacks are sent for intermediate "
    "statuses (1, 5, 7) is not stated (ERRATUM-CALLBACK-INTERMEDIATE)",
    "a payment is also called back with the status it has when created (\"7\" in progress, \"1\" awaiting "
    "confirmation), retried until its own 200, before the callback with its final status",
)(lambda b: replace(b, callbacks=replace(b.callbacks, intermediate=True)))

# ------------------------------------------------------------------------------------------
# Money: what the pages leave to the gateway (``ledger.PaymentRules``).


def _payments(**changes: Any) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, payments=replace(b.payments, **changes))


_variation(
    "one-confirmation-attempt",
    "public-pages.md §2.3 reasons 402 'Incorrect confirmation code' and 407 'Exceeded the number of confirmation "
    "code attempts'; §2.11 states no attempt limit (ERRATUM-CONFIRM-WRONG-CODE)",
    "a wrong confirmation code fails the payment at once: status \"4\" with fail_reason 402 'Incorrect "
    "confirmation code'",
)(_payments(wrong_code="fail"))

_variation(
    "debits-commission",
    "public-pages.md §2.10 (the current balance) and §2.16 (the upper commission): which of amount or amount + "
    "commission the balance loses is not stated (ERRATUM-BALANCE-DEBIT-BASIS)",
    "each payment takes its amount plus the upper commission calculate/upper/commission quotes for it from the "
    "showcase balance (and 1410 when the balance cannot pay both)",
)(_payments(debit_commission=True))

_variation(
    "float-balance",
    "public-pages.md §2.10 (result.balance float; any opening balance)",
    "the showcase opens at 4988.44 and keeps its balance as a float64 running total (4988.44 - 2.17 ... answered "
    "as 4986.2699999999995)",
)(_payments(opening_balance=4988.44, float_balance=True))

_variation(
    "datetime-as-given",
    "public-pages.md §2.8 (datetime: String, 'ISO 8601 Current Timestamp', no error for another form) and §4 "
    "item 22 (ERRATUM-CASH-IN-DATETIME-STRING)",
    "a cash-in datetime is stored as given, whatever the string ('yesterday at noon' too)",
)(_payments(datetime_checked=False))
