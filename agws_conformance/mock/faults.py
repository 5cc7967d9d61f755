"""Fault modes: each one injects exactly one documented deviation into the mock gateway.

The suite proves it can *detect* non-conformance by running against the mock with a fault on and
checking that the requirements the fault claims to break really fail. So a fault must be small
and honest about what it breaks: ``Fault.breaks`` names requirement IDs from
``schemas/requirements.json`` (a test checks they all exist).

The app never asks "is fault X on?": a fault is a function ``Behaviour -> Behaviour`` that swaps
one strategy or appends one transform at a hook point (see ``behaviour.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import base64
import itertools
import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from agws_conformance import signer
from agws_conformance.endpoints import REQUEST_FIELDS, SCOPE_ERRORS
from agws_conformance.errors import UnknownFaultError, did_you_mean
from agws_conformance.mock.behaviour import (
    Behaviour,
    Incoming,
    Reply,
    SignatureInput,
    Wire,
    nginx_page,
)
from agws_conformance.mock.behaviour import on_payload as _payload
from agws_conformance.mock.behaviour import on_reply as _reply
from agws_conformance.mock.behaviour import on_wire as _wire
from agws_conformance.mock.behaviour import wrap_signature_check as _signature
from agws_conformance.mock.data import finance_info, parking_info, utilities_info
from agws_conformance.target import Target


@dataclass(frozen=True)
class Fault:
    """One documented deviation the mock can inject."""

    name: str
    description: str
    breaks: tuple[str, ...]
    apply: Callable[[Behaviour], Behaviour] = field(repr=False, compare=False)


FAULTS: dict[str, Fault] = {}


def _fault(name: str, breaks: tuple[str, ...], description: str):  # noqa: ANN202 - decorator
    def register(apply: Callable[[Behaviour], Behaviour]) -> Callable[[Behaviour], Behaviour]:
        FAULTS[name] = Fault(name, description, breaks, apply)
        return apply

    return register


def behaviour_for(names: Iterable[str], base: Behaviour | None = None) -> Behaviour:
    """``base`` (the clean mock by default) with the named faults applied in order; fresh fault state."""
    behaviour = base if base is not None else Behaviour()
    for name in names:
        fault = FAULTS.get(name)
        if fault is None:
            raise UnknownFaultError(
                f"unknown mock fault {name!r}; {did_you_mean(name, FAULTS)}valid faults: {', '.join(sorted(FAULTS))}"
            )
        behaviour = fault.apply(behaviour)
    return behaviour


def _hash(data: bytes, secret: str, prepend: bool = False) -> str:
    encoded = base64.b64encode(data)
    key = secret.encode("utf-8")
    return hashlib.sha256(key + encoded if prepend else encoded + key).hexdigest()


def _info(reply: Reply, payload: dict[str, Any], category: str) -> dict[str, Any] | None:
    """The info object of ``category`` in a user/check success payload, else None."""
    if reply.kind != "success" or reply.endpoint != "user/check":
        return None
    return payload.get("result", {}).get("info", {}).get(category)


def _data(reply: Reply, payload: dict[str, Any]) -> dict[str, Any] | None:
    """``result.data`` of an action/status success payload, else None."""
    if reply.kind != "success" or reply.endpoint != "action/status":
        return None
    return payload.get("result", {}).get("data")


def _check_result(reply: Reply, payload: dict[str, Any]) -> dict[str, Any] | None:
    if reply.kind != "success" or reply.endpoint != "user/check":
        return None
    return payload.get("result")


def _edit(edit: Callable[[dict[str, Any]], object], pick: Callable[[Reply, dict[str, Any]], Any]):  # noqa: ANN202
    """A payload hook applying ``edit`` in place to whatever ``pick`` selects (when present)."""

    def hook(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
        target = pick(reply, payload)
        if target is not None:
            edit(target)
        return payload

    return _payload(hook)


# ------------------------------------------------------------------------------------------
# Signing.

_fault(
    "accept-any-signature",
    ("SIG-REJECT-WRONG-SECRET", "SIG-REJECT-TAMPERED", "SIG-REJECT-TRUNCATED",
     "SIG-REJECT-OTHER-BODY", "SIG-REJECT-SECRET-PREPENDED", "SIG-REJECT-RAW-BYTES"),
    "any non-empty X-Signature is accepted without checking it",
)(_signature(lambda prev, given: bool(given.header)))

_fault(
    "missing-signature-accepted",
    ("SIG-REJECT-MISSING", "SIG-REJECT-EMPTY"),
    "a request without X-Signature (or with an empty one) is served; present ones are checked",
)(_signature(lambda prev, given: not given.header or prev(given)))

_fault(
    "hash-raw-bytes",
    # Not SIG-REJECT-RAW-BYTES: its rejection test needs the Go client's body served first, which this breaks.
    ("SIG-ACCEPT-GO-BODY", "SIG-CANON-ORDER", "SIG-CANON-WHITESPACE", "SIG-CANON-ESCAPES", "ROB-GENERATED-VALID"),
    "the signature is computed over the bytes as sent instead of Go's canonical form",
)(_signature(lambda prev, given: bool(given.header) and hmac.compare_digest(
    (given.header or "").encode("latin-1", "replace"), _hash(given.raw, given.secret).encode())))

_fault(
    "no-html-escape",
    ("SIG-CANON-HTML",),
    "the canonical form writes < > & raw (a non-Go signer), so Go-signed values with them fail",
)(_signature(lambda prev, given: prev(replace(given, variant=replace(given.variant, escape_html=False)))))

def _python_json_signer(ensure_ascii: bool) -> Callable[[Behaviour], Behaviour]:
    # A gateway that canonicalizes with Python's json.dumps(sort_keys=True) instead of Go's Marshal.
    def check(prev: Callable[[SignatureInput], bool], given: SignatureInput) -> bool:
        canonical = json.dumps(json.loads(given.raw), sort_keys=True, ensure_ascii=ensure_ascii,
                               separators=(",", ":")).encode("utf-8")
        return bool(given.header) and hmac.compare_digest(
            (given.header or "").encode("latin-1", "replace"), _hash(canonical, given.secret).encode())

    return _signature(check)


_fault("python-sample-signer", ("SIG-CANON-HTML", "SIG-CANON-UNICODE"),
       "the canonical form is the signing page's Python sample (ensure_ascii=False): "
       "< > & and U+2028/U+2029 raw")(_python_json_signer(ensure_ascii=False))
_fault("ascii-escaped-signer", ("SIG-CANON-HTML", "SIG-CANON-UNICODE"),
       "the canonical form is Python's default json.dumps: non-ASCII (Cyrillic, Kazakh, emoji) as \\uXXXX")(
    _python_json_signer(ensure_ascii=True))

_fault(
    "accept-truncated-prefix",
    ("SIG-REJECT-TRUNCATED",),
    "any non-empty prefix of the right signature is accepted",
)(_signature(lambda prev, given: bool(given.header) and signer.sign(
    given.raw, given.secret, given.variant).signature.startswith(given.header or "")))

_fault(
    "accept-secret-prepended",
    ("SIG-REJECT-SECRET-PREPENDED",),
    "a signature over secret + base64 (secret prepended) is accepted as well as the right one",
)(_signature(lambda prev, given: prev(given) or (bool(given.header) and hmac.compare_digest(
    (given.header or "").encode("latin-1", "replace"),
    _hash(signer.sign(given.raw, given.secret, given.variant).canonical, given.secret, prepend=True).encode()))))


@_fault(
    "accept-replayed-signature",
    ("SIG-REJECT-OTHER-BODY",),
    "a signature that was valid for any earlier request is accepted for any body (a replay cache)",
)
def _replayed(b: Behaviour) -> Behaviour:
    seen: set[str] = set()

    def check(given: SignatureInput, prev: Callable[[SignatureInput], bool] = b.signature_check) -> bool:
        if prev(given):
            seen.add(given.header or "")
            return True
        return bool(given.header) and given.header in seen

    return replace(b, signature_check=check)


_fault(
    "accept-extended-signature",
    ("SIG-REJECT-EXTENDED",),
    "a signature is accepted when it starts with the right one (a prefix comparison): anything may follow",
)(_signature(lambda prev, given: bool(given.header) and (given.header or "").startswith(
    signer.sign(given.raw, given.secret, given.variant).signature)))

_fault(
    "compare-first-half",
    ("SIG-REJECT-ALTERED",),
    "only the first 32 hex digits of the signature are compared",
)(_signature(lambda prev, given: len(given.header or "") == 64 and (given.header or "")[:32] == signer.sign(
    given.raw, given.secret, given.variant).signature[:32]))


def _lookup_first(reply: Reply) -> Reply:
    # The identifier is looked up before the signature is checked: a miss answers 1407/1041 whatever the signature.
    if reply.problem != "signature" or reply.known is not False or reply.endpoint not in _MISSES:
        return reply
    code, message = _MISSES[reply.endpoint]
    return replace(reply, kind="expected", http_status=200, code=code, message=message, problem=None)


_MISSES = {"user/check": (1407, "Cache: item not found"), "action/status": (1041, "Order not found"),
           "action/confirm/invoice": (5103, "transaction not found")}

_fault(
    "lookup-before-signature",
    ("SIG-BEFORE-LOOKUP", "SIG-REJECT-MISSING", "SIG-REJECT-EMPTY", "SIG-REJECT-WRONG-SECRET", "SIG-REJECT-TAMPERED",
     "SIG-REJECT-TRUNCATED", "SIG-REJECT-EXTENDED", "SIG-REJECT-ALTERED", "SIG-REJECT-OTHER-BODY",
     "SIG-REJECT-SECRET-PREPENDED", "SIG-REJECT-RAW-BYTES"),
    "the identifier is looked up before the signature is checked: a badly signed request for an unknown "
    "account or payment gets 1407/1041 (an enumeration oracle), for a known one 1014",
)(_reply(_lookup_first))


def _status_oracle(reply: Reply) -> Reply:
    return replace(reply, http_status=404) if reply.code == 1014 and reply.known is False else reply


_fault("signature-status-oracle", ("SIG-BEFORE-LOOKUP",),
       "a badly signed request gets 1014 either way, but under HTTP 404 when the account or payment does not "
       "exist (the refusal's status is an enumeration oracle)")(_reply(_status_oracle))


def _refuse_go_version_characters(reply: Reply) -> Reply:
    request = reply.request if isinstance(reply.request, dict) else {}
    if any(isinstance(v, str) and ("\b" in v or "\f" in v) for v in request.values()):
        return replace(reply, kind="unexpected", http_status=400, code=400,
                       message="field 'username' contains a control character", problem="wrong-type")
    return reply


_fault("refuse-go-version-characters", ("ROB-GENERATED-VALID",),
       "any field holding \\b or \\f is refused (400) before the signature is checked, so the preflight cannot "
       "tell which Go version signs and generated requests would leave those characters out")(
    _reply(_refuse_go_version_characters))


def _unscoped(name: str) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, scope_fields=tuple(f for f in b.scope_fields if f != name))


_fault("ignore-project-scope", ("SIG-SCOPE-PROJECT",),
       "a request naming another project code is served with this project's data")(_unscoped("project"))
_fault("ignore-agent-scope", ("SIG-SCOPE-AGENT",),
       "a request naming another agent is served")(_unscoped("agent"))
_fault("ignore-service-scope", ("SIG-SCOPE-SERVICE",),
       "a request naming an unknown service code is served")(_unscoped("service_code"))


@_fault("scope-leak-403", ("SIG-SCOPE-PROJECT", "SIG-SCOPE-AGENT", "SIG-SCOPE-SERVICE", "ERR-SCOPE-CODE"),
        "a request naming another project, agent or service code is answered with the full account or payment, "
        "under HTTP 403")
def _scope_leak(b: Behaviour) -> Behaviour:
    def forbidden(reply: Reply) -> Reply:
        return replace(reply, http_status=403) if reply.kind == "success" and reply.out_of_scope else reply

    return replace(b, scope_fields=(), reply_hooks=b.reply_hooks + (forbidden,))


_SCOPE_CODES = frozenset(code for code, _ in SCOPE_ERRORS.values())
_FORBIDDEN_PAGE = nginx_page("403 Forbidden")

_fault("scope-html", ("SIG-SCOPE-PROJECT", "SIG-SCOPE-AGENT", "SIG-SCOPE-SERVICE", "ERR-SCOPE-CODE"),
       "a request naming another project, agent or service code is answered with an HTML 403 page")(
    _wire(lambda reply, wire: Wire(403, (("content-type", "text/html"),), _FORBIDDEN_PAGE)
          if reply.kind == "expected" and reply.code in _SCOPE_CODES else wire))

def _escaped_json(value: Any) -> str:
    """JSON that hides its values from a search of the bytes: every string character \\u-escaped,
    every number in exponent form (both decode to the same values)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_escaped_json(k)}:{_escaped_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(_escaped_json, value)) + "]"
    if isinstance(value, str):  # json.dumps escapes what lies outside the BMP as a surrogate pair
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in value) + '"'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:e}"
    return json.dumps(value)


@_fault("scope-smuggle-escaped", ("SIG-SCOPE-PROJECT", "SIG-SCOPE-AGENT", "SIG-SCOPE-SERVICE"),
        "a request naming another project, agent or service code gets its documented error code, with the "
        "account or payment smuggled into result.additional_data, strings \\u-escaped and numbers as 4.67e+03")
def _scope_smuggle(b: Behaviour) -> Behaviour:
    def smuggle(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
        if reply.kind != "success" or not reply.out_of_scope:
            return payload
        code, message = SCOPE_ERRORS[reply.out_of_scope[0]]
        return {"status": True, "status_code": 0, "message": "Success",
                "result": {"error_code": code, "message": message, "data": None,
                           "additional_data": payload.get("result")}}

    def escape(reply: Reply, wire: Wire) -> Wire:
        if reply.kind != "success" or not reply.out_of_scope:
            return wire
        body = json.loads(wire.body)
        smuggled, body["result"]["additional_data"] = body["result"]["additional_data"], "<smuggled>"
        text = json.dumps(body, separators=(",", ":")).replace('"<smuggled>"', _escaped_json(smuggled))
        return replace(wire, body=text.encode())

    return replace(b, scope_fields=(), payload_hooks=b.payload_hooks + (smuggle,), wire_hooks=b.wire_hooks + (escape,))


_fault("scope-leak-neighbour", ("SIG-SCOPE-PROJECT", "SIG-SCOPE-AGENT", "SIG-SCOPE-SERVICE"),
       "a request naming the existing neighbour scope (the target's other_agent, other_project or "
       "other_service_code), signed with this project's secret, is served, with the neighbour's data (its "
       "balance); unknown agents, projects and service codes are still refused")(
    lambda b: replace(b, neighbour_in_scope=True))

_fault("scope-wrong-code", ("ERR-SCOPE-CODE",),
       "a request naming another project, agent or service code gets 1407 'Cache: item not found' instead of "
       "8008, 9724 or 9721")(
    _reply(lambda r: replace(r, code=1407, message="Cache: item not found")
           if r.kind == "expected" and r.code in _SCOPE_CODES else r))

# ------------------------------------------------------------------------------------------
# Envelope.


def _set(key: str, value: Any, when: Callable[[Reply], bool]):  # noqa: ANN202
    def hook(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, key: value} if when(reply) else payload

    return _payload(hook)


_fault(
    "unexpected-status-true",
    ("ENV-STATUS-FALSE-IFF-UNEXPECTED", "SCH-ERROR-UNEXPECTED", "SIG-REJECT-FORMAT"),
    "unexpected errors (e.g. 1014) carry status true",
)(_set("status", True, lambda r: r.kind == "unexpected"))

_fault(
    "success-status-false",
    ("CHK-ACCOUNT-FOUND", "STS-PAYMENT-FOUND"),
    "successes carry status false (status_code 0, the result intact)",
)(_set("status", False, lambda r: r.kind == "success"))

_fault(
    "success-nonzero-status-code",
    ("ENV-SUCCESS-CODE-ZERO", "CHK-ACCOUNT-FOUND", "STS-PAYMENT-FOUND"),
    "successes carry status_code 200 instead of 0",
)(_set("status_code", 200, lambda r: r.kind == "success"))


def _string_status_code(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "status_code": str(payload.get("status_code"))}


_fault("status-code-as-string", ("ENV-SHAPE",),
       'status_code is written as a JSON string ("0") in every response')(_payload(_string_status_code))

_fault("missing-message", ("ENV-SHAPE",),
       "the envelope's message field is left out of every response")(
    _payload(lambda reply, payload: {k: v for k, v in payload.items() if k != "message"}))

_fault("wrong-content-type", ("ENV-CONTENT-TYPE",),
       "responses are labelled text/plain; charset=utf-8")(
    _wire(lambda reply, wire: replace(wire, headers=tuple(
        (k, "text/plain; charset=utf-8" if k.lower() == "content-type" else v) for k, v in wire.headers))))

_fault("unexpected-http-200", ("HTTP-UNEXPECTED-FAILING-STATUS",),
       "unexpected errors (e.g. 1014) are answered with HTTP 200")(
    _reply(lambda r: replace(r, http_status=200) if r.kind == "unexpected" else r))

_fault("success-http-202", ("HTTP-200-SUCCESS",),
       "successes are answered with HTTP 202 Accepted")(
    _reply(lambda r: replace(r, http_status=202) if r.kind == "success" else r))

# ------------------------------------------------------------------------------------------
# Field types.

_fault("parking-sum-string", ("SCH-INFO-PARKING", "SCH-CHECK-SUCCESS"),
       'info.parking.sum is a JSON string ("118") instead of a number')(
    _edit(lambda info: info.update(sum=str(info["sum"])), lambda r, p: _info(r, p, "parking")))

_fault("parking-missing-current-balance", ("SCH-INFO-PARKING", "SCH-CHECK-SUCCESS"),
       "info.parking lacks the documented current_balance field")(
    _edit(lambda info: info.pop("current_balance", None), lambda r, p: _info(r, p, "parking")))

_fault("finance-contracts-object", ("SCH-INFO-FINANCE", "SCH-CHECK-SUCCESS"),
       "info.finance.contracts is an object keyed by contract_id instead of an array")(
    _edit(lambda info: info.update(contracts={c["contract_id"]: c for c in info["contracts"]}),
          lambda r, p: _info(r, p, "finance")))

_fault("utilities-counter-string", ("SCH-INFO-UTILITIES", "SCH-CHECK-SUCCESS"),
       'info.utilities.service[].is_counter_service is the string "true"/"false"')(
    _edit(lambda info: [s.update(is_counter_service=str(s["is_counter_service"]).lower())
                        for s in info["service"]], lambda r, p: _info(r, p, "utilities")))

_fault("status-amount-string", ("SCH-STATUS-SUCCESS",),
       'action/status data.amount is a JSON string ("100.00")')(
    _edit(lambda data: data.update(amount=f"{data['amount']:.2f}"), _data))

_fault("parking-latitude-out-of-range", ("CHK-PARKING-COORDINATES",),
       "info.parking.coordinates.latitude is 123.12 (as in the document's example)")(
    _edit(lambda info: info["coordinates"].update(latitude=123.12), lambda r, p: _info(r, p, "parking")))

# ------------------------------------------------------------------------------------------
# Echo.

_fault("external-id-not-echoed", ("STS-ECHO-EXTERNAL-ID",),
       "data.external_id is the gateway's own transaction id, not the request's external_id")(
    _edit(lambda data: data.update(external_id="TP-" + hashlib.sha256(
        data["external_id"].encode()).hexdigest()[:12]), _data))

_fault("project-not-echoed", ("STS-ECHO-PROJECT",),
       "data.project holds the request's agent (a copy-paste slip) instead of its project")(
    _payload(lambda reply, payload: payload if _data(reply, payload) is None or reply.request is None
             else ((_data(reply, payload) or {}).update(project=reply.request.get("agent")) or payload)))

_fault("service-code-not-echoed", ("STS-ECHO-SERVICE-CODE",),
       'data.service_code is "" instead of the request\'s service_code')(
    _edit(lambda data: data.update(service_code=""), _data))

# ------------------------------------------------------------------------------------------
# Business rules.

_fault("inactive-without-fail-reason", ("CHK-INACTIVE-FAIL-REASON",),
       "an inactive account (account_status 0) has fail_reason {}")(
    _edit(lambda result: result.update(fail_reason={}) if result.get("account_status") == 0 else None,
          _check_result))

_fault("active-with-fail-reason", ("CHK-ACTIVE-EMPTY-FAIL-REASON",),
       "an active account (account_status 1) carries fail_reason code 100")(
    _edit(lambda result: result.update(fail_reason={"code": 100, "message": "Unknown reason, clarification required"})
          if result.get("account_status") == 1 else None, _check_result))

_fault("undocumented-reason-code", ("CHK-FAIL-REASON-CODE",),
       "the fail_reason of an account that cannot be topped up has code 999, which no page documents")(
    _edit(lambda result: result["fail_reason"].update(code=999) if result.get("fail_reason") else None,
          _check_result))

_fault("unverified-without-fail-reason", ("CHK-UNVERIFIED-FAIL-REASON",),
       "an account not verified (account_status 2) has fail_reason {}")(
    _edit(lambda result: result.update(fail_reason={}) if result.get("account_status") == 2 else None,
          _check_result))

_CONTRADICTION = {1: "This account is inactive", 0: "This account is active", 2: "This account is active"}

_fault("check-message-contradicts", ("CHK-RESULT-MESSAGE", "CHK-RESULT-MESSAGE-WORDING"),
       "result.message says the opposite of account_status ('This account is inactive' for an active account)")(
    _edit(lambda result: result.update(message=_CONTRADICTION[result["account_status"]]), _check_result))

_PARAPHRASE = {1: "Account is not active!", 0: "Account active", 2: "Active account (unverified)"}

_fault("check-message-paraphrased", ("CHK-RESULT-MESSAGE",),
       "result.message contradicts account_status in other words than the examples' ('Account is not active!' "
       "for an active account)")(
    _edit(lambda result: result.update(message=_PARAPHRASE[result["account_status"]]), _check_result))


def _all_categories(result: dict[str, Any]) -> None:
    name = "all-categories"
    result["info"] = {"parking": parking_info(name, True), "finance": finance_info(name),
                      "utilities": utilities_info(name), **result.get("info", {})}


_fault("info-all-categories", ("CHK-INFO-SINGLE-CATEGORY",),
       "info carries parking, finance and utilities parameters at once, whatever the service")(
    _edit(_all_categories, _check_result))

_fault("wrong-account-status", ("CHK-ACCOUNT-STATUS",),
       "an inactive account (0) is reported with account_status 1")(
    _edit(lambda result: result.update(account_status=1) if result.get("account_status") == 0 else None,
          _check_result))


def _rename_category(result: dict[str, Any]) -> None:
    info = result.get("info") or {}
    result["info"] = {("default" if key in info else key): value for key, value in info.items()}


_fault("wrong-info-category", ("CHK-INFO-CATEGORY",),
       'info carries its parameters under the key "default" instead of the service category')(
    _edit(_rename_category, _check_result))

_fault("status-code-8", ("STS-STATUS-CODE",),
       'every payment is reported with the undocumented status_code "8"')(
    _edit(lambda data: data.update(status_code="8"), _data))

_fault("failed-payment-without-fail-reason", ("STS-FAILED-FAIL-REASON",),
       'a payment in status "4" or "6" has fail_reason {}')(
    _edit(lambda data: data.update(fail_reason={}), _data))

_fault("payment-username-wrong", ("STS-USERNAME",),
       "data.username is the payment's external_id (a copy-paste slip), not the account paid")(
    _edit(lambda data: data.update(username=data["external_id"]), _data))

_fault("payment-amount-wrong", ("STS-AMOUNT",),
       "data.amount is the amount less a 10 % commission, not the amount credited")(
    _edit(lambda data: data.update(amount=round(data["amount"] * 0.9, 2)), _data))

_fault("payment-datetime-zero", ("STS-DATETIME",),
       "data.datetime is Go's zero time 0001-01-01T00:00:00Z (the field was never set)")(
    _edit(lambda data: data.update(datetime="0001-01-01T00:00:00Z"), _data))

_fault("wrong-status-message", ("STS-STATUS-MESSAGE",),
       'data.status_message is "OK" instead of the status table\'s wording')(
    _edit(lambda data: data.update(status_message="OK"), _data))


def _swap_min_max(info: dict[str, Any]) -> None:
    for contract in info["contracts"]:
        contract["min"], contract["max"] = contract["max"] + 1, contract["min"]


_fault("finance-min-gt-max", ("CHK-FINANCE-MIN-MAX",),
       "each finance contract has min > max")(_edit(_swap_min_max, lambda r, p: _info(r, p, "finance")))

# ------------------------------------------------------------------------------------------
# Error formats.

_fault("wrong-error-format", ("ERR-FORMAT-DECLARED",),
       "expected errors use the other format than the target declares (old for new, new for old)")(
    _reply(lambda r: replace(r, error_format="old" if r.error_format == "new" else "new")
           if r.kind == "expected" else r))


@_fault("mixed-error-formats", ("ERR-FORMAT-CONSISTENT", "ERR-FORMAT-DECLARED"),
        "expected errors alternate between the new and the old format, request by request")
def _mixed(b: Behaviour) -> Behaviour:
    counter = itertools.count()

    def hook(reply: Reply) -> Reply:
        if reply.kind != "expected":
            return reply
        return replace(reply, error_format="old" if next(counter) % 2 else "new")

    return replace(b, reply_hooks=b.reply_hooks + (hook,))


_NOT_FOUND_PAGE = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                   b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
                   b"</body>\r\n</html>\r\n")

_fault("not-found-html-404", ("CHK-UNKNOWN-1407", "ENV-SHAPE"),
       "an unknown username gets an nginx-style HTML 404 page instead of error 1407")(
    _wire(lambda reply, wire: Wire(404, (("content-type", "text/html"),), _NOT_FOUND_PAGE)
          if reply.kind == "expected" and reply.code == 1407 else wire))

_fault("wrong-1041-code", ("STS-UNKNOWN-1041",),
       'an unknown external_id gets 1407 "Cache: item not found" instead of 1041')(
    _reply(lambda r: replace(r, code=1407, message="Cache: item not found")
           if r.kind == "expected" and r.code == 1041 else r))

_fault("wrong-1014-message", ("ERR-CODE-MESSAGE",),
       'signature rejections say "signature mismatch" instead of "Invalid signature"')(
    _reply(lambda r: replace(r, message="signature mismatch") if r.problem == "signature" else r))

_fault("signature-rejected-without-1014", ("SIG-REJECT-FORMAT",),
       "signature rejections carry status_code 401 instead of 1014")(
    _reply(lambda r: replace(r, code=401) if r.problem == "signature" else r))


def _in_format(fmt: str) -> Callable[[Reply], bool]:
    return lambda r: r.kind == "expected" and r.error_format == fmt


_fault("expected-error-status-false",
       ("ENV-STATUS-FALSE-IFF-UNEXPECTED", "CHK-UNKNOWN-1407", "STS-UNKNOWN-1041"),
       "new-format expected errors carry status false (status_code 0, the error still in result.error_code)")(
    _set("status", False, _in_format("new")))

_fault("new-error-without-data", ("SCH-ERROR-NEW",),
       "new-format expected errors leave out result.data")(
    _payload(lambda reply, payload: {**payload, "result": {k: v for k, v in payload["result"].items() if k != "data"}}
             if _in_format("new")(reply) else payload))

_fault("old-error-with-result", ("SCH-ERROR-OLD",),
       'old-format expected errors repeat the code in result ({"error_code": N}) instead of result {}')(
    _payload(lambda reply, payload: {**payload, "result": {"error_code": reply.code}}
             if _in_format("old")(reply) else payload))

_fault("undocumented-response-field", ("SCH-STRICT-EXTRA-FIELDS",),
       "every response carries an undocumented top-level request_id (INFO; a failure only under --agws-strict)")(
    _set("request_id", "req-0000000000000001", lambda r: True))

# ------------------------------------------------------------------------------------------
# Robustness.


# What a Go handler that panics (or calls http.Error) sends: no envelope, so a crash, not an answer.
_CRASH = Wire(500, (("content-type", "text/plain; charset=utf-8"),), b"Internal Server Error\n")


def _crash_on(problem: str) -> Callable[[Behaviour], Behaviour]:
    return _wire(lambda reply, wire: _CRASH if reply.problem == problem else wire)


_fault("malformed-json-500", ("ROB-MALFORMED-JSON", "ROB-NO-CRASH"),
       "a body that is not valid JSON crashes the handler: HTTP 500 with a plain-text body")(_crash_on("malformed-json"))
_fault("invalid-utf8-500", ("ROB-MALFORMED-JSON", "ROB-NO-CRASH"),
       "a body that is not valid UTF-8 crashes the handler: HTTP 500 with a plain-text body")(_crash_on("utf-8"))
_fault("non-object-500", ("ROB-NON-OBJECT", "ROB-NO-CRASH"),
       "a JSON body that is not an object crashes the handler: HTTP 500 with a plain-text body")(_crash_on("non-object"))
_fault("wrong-types-500", ("ROB-WRONG-TYPES", "ROB-GENERATED-INVALID", "ROB-NO-CRASH"),
       "a required field with a non-string value crashes the handler: HTTP 500 with a plain-text body")(
    _crash_on("wrong-type"))


def _extra_fields_crash(reply: Reply, wire: Wire) -> Wire:
    if reply.request is None or reply.endpoint not in REQUEST_FIELDS:
        return wire
    return _CRASH if set(reply.request) - set(REQUEST_FIELDS[reply.endpoint]) else wire


_fault("extra-fields-500", ("ROB-EXTRA-FIELDS", "ROB-NO-CRASH"),
       "a signed request with an undocumented extra field crashes the handler: HTTP 500 with a plain-text body")(
    _wire(_extra_fields_crash))


def _defaults(target: Target) -> dict[str, str]:
    return {
        "agent": target.agent, "project": target.project, "service_code": target.service_code,
        "username": target.accounts[0].username if target.accounts else "",
        "external_id": target.payments[0].external_id if target.payments else "",
    }


def _fill(when: Callable[[dict[str, Any], str], bool]) -> Callable[[Behaviour], Behaviour]:
    def hook(endpoint: str, body: dict[str, Any], target: Target) -> dict[str, Any]:
        # Every field of every method has a default: the target's valid request, its known ids first.
        defaults = {**target.request_fields(endpoint, lambda: "agws-defaulted"), **_defaults(target)}
        return {**body, **{f: defaults[f] for f in REQUEST_FIELDS[endpoint] if when(body, f)}}

    return lambda b: replace(b, request_hooks=b.request_hooks + (hook,))


_fault("missing-field-defaulted", ("ROB-MISSING-FIELD", "ROB-GENERATED-INVALID"),
       "a missing required field is silently replaced by the configured value, so the request succeeds")(
    _fill(lambda body, f: f not in body))
_fault("empty-field-defaulted", ("ROB-EMPTY-FIELD",),
       'a required field equal to "" is silently replaced by the configured value')(
    _fill(lambda body, f: body.get(f) == ""))

_fault("hang", ("ROB-RESPONSE-TIME",),
       "a lookup that misses hangs: expected errors (1407, 1041) send their head and half their body, "
       "then never complete")(
    _wire(lambda reply, wire: replace(wire, stall=True) if reply.kind == "expected" else wire))

_fault("truncated-json", ("ENV-SHAPE", "CHK-ACCOUNT-FOUND", "STS-PAYMENT-FOUND"),
       "successes are cut in half: a complete HTTP response whose JSON body is truncated")(
    _wire(lambda reply, wire: replace(wire, body=wire.body[: len(wire.body) // 2])
          if reply.kind == "success" else wire))

# Even with the limit lifted the mock never buffers more than this.
OVERSIZED_HARD_CAP = 16 * 1024 * 1024

_fault("oversized-accepted", ("ROB-OVERSIZED",),
       f"the body size limit is lifted (up to {OVERSIZED_HARD_CAP // 2**20} MiB), so a signed oversized body succeeds")(
    lambda b: replace(b, max_body_bytes=OVERSIZED_HARD_CAP))


def _get_as_post(incoming: Incoming, target: Target) -> Incoming:
    # A "helpful" handler that serves GET by building the configured request itself.
    if incoming.method != "GET":
        return incoming
    body = signer.go_struct_body(target.request_fields(incoming.endpoint, lambda: "agws-get"))
    secret = target.secret.reveal() if target.secret is not None else ""
    return replace(incoming, raw=body, signature=signer.sign(body, secret, target.variant).signature)


_fault("get-answered", ("ROB-WRONG-METHOD",),
       "GET is answered with a success (for the first configured account/payment) instead of 405")(
    lambda b: replace(b, methods=b.methods | {"GET"}, incoming_hooks=b.incoming_hooks + (_get_as_post,)))


def _forbidden_status(reply: Reply, wire: Wire) -> Wire:
    return replace(wire, status=403) if reply.method == "GET" else wire


_fault("get-served-403", ("ROB-WRONG-METHOD",),
       "GET is served (the account's or payment's data in a success body) under HTTP 403, as if refused")(
    lambda b: replace(b, methods=b.methods | {"GET"}, incoming_hooks=b.incoming_hooks + (_get_as_post,),
                      wire_hooks=b.wire_hooks + (_forbidden_status,)))


# ------------------------------------------------------------------------------------------
# Payments, balance and upper commission (the mock's ledger, ``ledger.PaymentRules``).

def _rules(**changes: Any) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, payments=replace(b.payments, **changes))


_fault("duplicate-creates-second", ("PAY-DUPLICATE-1042", "PAY-DUPLICATE-NO-CHANGE"),
       "a repeated external_id is accepted as a second payment (the balance pays twice)")(_rules(duplicate="second"))

_fault("duplicate-updates-amount", ("PAY-DUPLICATE-NO-CHANGE",),
       "a repeated external_id is refused with 1042, but the first payment takes the repeat's amount")(
    _rules(duplicate="update"))


def _cash_in_new_format(reply: Reply) -> Reply:
    return replace(reply, error_format="new") if reply.kind == "expected" and reply.endpoint == "action/cash-in" else reply


_fault("cash-in-errors-new-format", ("PAY-DUPLICATE-1042", "PAY-INSUFFICIENT-1410"),
       "cash-in's expected errors (1042, 1410) come back in the new error format, although Make a payment keeps "
       "the old one")(_reply(_cash_in_new_format))

_fault("refused-payment-created", ("PAY-REFUSED-CREATES-NOTHING",),
       "a cash-in refused for its signature, scope or fields is still recorded as a payment")(_rules(create_refused=True))

_fault("balance-not-debited", ("BAL-DEBITED",), "payments do not lower the showcase balance")(_rules(debit=False))

_fault("balance-unchecked", ("PAY-INSUFFICIENT-1410",),
       "an amount over the balance is accepted (no 1410); the balance goes negative")(_rules(check_balance=False))

_fault("payment-never-final", ("PAY-FINAL-STATUS",), "payments stay \"7\" (in progress) for ever")(_rules(settle=False))

_fault("duplicate-debits-again", ("PAY-DUPLICATE-NO-CHANGE",),
       "a repeated external_id is refused with 1042 and the first payment is untouched, but the repeat's amount "
       "leaves the balance all the same")(_rules(duplicate="debit"))

_fault("unasked-payment-stalls", ("PAY-FINAL-STATUS",),
       "a payment the status method is not asked about within 0.5 s of being made stays \"7\" until it is 12 s "
       "old (only payments polled at once look final in time)")(_rules(stall_unasked_after=0.5, stall_until=12.0))

_fault("lifetime-never-expires", ("PAY-LIFETIME-EXPIRY",),
       "a payment awaiting confirmation stays \"1\" past the transaction lifetime")(_rules(expire="never"))

_fault("lifetime-without-reason", ("PAY-LIFETIME-EXPIRY",),
       "an expired payment becomes \"4\" without a fail_reason")(_rules(expire="no-reason"))

_fault("commission-wrong-sum", ("COM-ARITHMETIC",),
       "amount_with_commission is one tenge more than amount + commission")(_rules(commission_skew=1.0))


def _commission_amount(reply: Reply, payload: dict[str, Any]) -> dict[str, Any]:
    result = payload.get("result")
    if reply.kind == "success" and reply.endpoint == "calculate/upper/commission" and isinstance(result, dict):
        result["amount"] = round(result["amount"] * 10, 2)
        result["amount_with_commission"] = round(result["amount"] + result["commission"], 2)
    return payload


_fault("commission-other-amount", ("COM-AMOUNT",),
       "the commission is computed for ten times the amount asked (consistently: the sum still holds)")(
    _payload(_commission_amount))


def _cash_in_data(reply: Reply, payload: dict[str, Any]) -> dict[str, Any] | None:
    if reply.kind != "success" or reply.endpoint != "action/cash-in":
        return None
    return payload.get("result", {}).get("data")


_fault("cash-in-echo-wrong", ("PAY-ECHO", "PAY-STATUS-AGREES"),
       "the cash-in answer reports the amount in tiyn (100 times the amount sent)")(
    _edit(lambda data: data.update(amount=round(data["amount"] * 100, 2)), _cash_in_data))


def _status_of_created(reply: Reply, payload: dict[str, Any]) -> dict[str, Any] | None:
    data = _data(reply, payload)
    external_id = data.get("external_id") if data is not None else None
    return data if isinstance(external_id, str) and not external_id.startswith("ext") else None


_fault("status-disagrees", ("PAY-STATUS-AGREES",),
       "the status method reports a created payment with another username than its cash-in answer")(
    _edit(lambda data: data.update(username=data["username"] + "0"), _status_of_created))

_fault("balance-as-string", ("SCH-BAL-SUCCESS",), "result.balance is a string (\"5000.00\")")(
    _edit(lambda result: result.update(balance=f"{result['balance']:.2f}"),
          lambda reply, payload: payload.get("result") if reply.kind == "success"
          and reply.endpoint == "showcase/balance" else None))


def _own_agent(endpoint: str, body: dict[str, Any], target: Target) -> dict[str, Any]:
    return dict(body, agent=target.agent) if endpoint == "showcase/balance" else body


_fault("balance-any-agent", ("BAL-UNKNOWN-AGENT",),
       "a balance request for any agent is answered with this showcase's balance")(
    lambda b: replace(b, request_hooks=b.request_hooks + (_own_agent,)))


# ------------------------------------------------------------------------------------------
# Payment System Callback (``callbacks.CallbackRules``).

def _callbacks(**changes: Any) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, callbacks=replace(b.callbacks, **changes))


_fault("callback-wrong-signature", ("CB-SIGNATURE",),
       "callbacks are signed with another key than the project secret")(_callbacks(signing="other-secret"))

_fault("callback-signed-other-body", ("CB-SIGNATURE",),
       "a callback's X-Signature is over another body than the one sent (its amount plus one)")(
    _callbacks(signing="other-body"))

_fault("callback-no-retry", ("CB-RETRY",), "a callback answered with anything but 200 is never retried")(
    _callbacks(retry=False))

_fault("callback-retries-after-200", ("CB-STOPS-AFTER-200",),
       "callbacks keep coming twice more after the receiver answered 200")(_callbacks(stop_after_200=False))

_fault("callback-status-disagrees", ("CB-AGREES",),
       "the callback reports status \"3\" (canceled) whatever the status method says")(_callbacks(status_override="3"))

_fault("callback-missing-on-expiry", ("CB-EXPIRY",),
       "no callback when a payment's lifetime expires")(_callbacks(on_expiry=False))

_fault("callback-retry-unsigned", ("CB-SIGNATURE",),
       "only a callback's first delivery is signed: its retries carry 64 zeros as X-Signature")(
    _callbacks(retry_signature="0" * 64))

_fault("callback-for-refused-payment", ("PAY-REFUSED-CREATES-NOTHING",),
       "a cash-in refused for its signature (1014) that names a callback_url is still called back, with status "
       "\"2\", although the status method knows no such payment")(_callbacks(call_back_refused=True))


# ------------------------------------------------------------------------------------------
# Confirmation of funds debit and payment links.

_fault("confirm-any-code", ("CNF-WRONG-CODE",), "any confirmation code confirms a debit awaiting confirmation")(
    _rules(confirm_any_code=True))


def _unknown_confirmed(reply: Reply) -> Reply:
    if reply.endpoint == "action/confirm/invoice" and reply.kind == "expected" and reply.code == 5103:
        external_id = (reply.request or {}).get("external_id", "")
        return replace(reply, kind="success", code=0, message="Success", result={
            "is_success": True, "transaction_status_id": "2", "external_id": external_id, "otp_status": True})
    return reply


_fault("confirm-unknown-succeeds", ("CNF-UNKNOWN",),
       "a confirmation for an external_id the gateway never saw is answered is_success true")(_reply(_unknown_confirmed))

_fault("link-without-url", ("LNK-CREATED", "SCH-LINK-SUCCESS"), "a created link has an empty redirect_url")(
    _edit(lambda result: result.update(redirect_url=""),
          lambda reply, payload: payload.get("result") if reply.kind == "success" and reply.endpoint == "action/link"
          else None))


def _link_any_agent(endpoint: str, body: dict[str, Any], target: Target) -> dict[str, Any]:
    return dict(body, agent=target.agent) if endpoint == "action/link" else body


_fault("link-any-agent", ("SIG-SCOPE-AGENT",), "a payment link is created for any agent the request names")(
    lambda b: replace(b, request_hooks=b.request_hooks + (_link_any_agent,)))


# ------------------------------------------------------------------------------------------
# Method by method (issue 23): deviations on one method only, which a rule tried on two methods misses.

def _right(given: SignatureInput) -> str:
    return signer.sign(given.raw, given.secret, given.variant).signature


def _on_method(endpoint: str, accepts: Callable[[SignatureInput], bool]) -> Callable[[Behaviour], Behaviour]:
    """The signature check of every method, except that on ``endpoint`` ``accepts`` lets more through."""
    return _signature(lambda prev, given: (given.endpoint == endpoint and accepts(given)) or prev(given))


_fault("cash-in-empty-signature", ("SIG-REJECT-EMPTY", "PAY-REFUSED-CREATES-NOTHING"),
       "cash-in is served with an empty X-Signature (the payment is made); other methods check it")(
    _on_method("action/cash-in", lambda given: given.header == ""))

_fault("cash-in-signature-prefix", ("SIG-REJECT-TRUNCATED", "PAY-REFUSED-CREATES-NOTHING"),
       "cash-in accepts any non-empty prefix of the right signature (the payment is made)")(
    _on_method("action/cash-in", lambda given: bool(given.header) and _right(given).startswith(given.header or "")))

_fault("link-one-character-signature", ("SIG-REJECT-TRUNCATED", "PAY-REFUSED-CREATES-NOTHING"),
       "a payment link is created with a one-character prefix of the right signature")(
    _on_method("action/link", lambda given: len(given.header or "") == 1 and _right(given).startswith(given.header or "")))

_fault("balance-first-32-digits", ("SIG-REJECT-ALTERED", "SIG-REJECT-TRUNCATED", "SIG-REJECT-EXTENDED"),
       "showcase/balance accepts any signature whose first 32 hex digits are right")(
    _on_method("showcase/balance", lambda given: (given.header or "")[:32] == _right(given)[:32]))

_fault("commission-empty-signature", ("SIG-REJECT-EMPTY",),
       "calculate/upper/commission is served with an empty X-Signature")(
    _on_method("calculate/upper/commission", lambda given: given.header == ""))


def _confirm_any_agent(endpoint: str, body: dict[str, Any], target: Target) -> dict[str, Any]:
    return dict(body, agent=target.agent) if endpoint == "action/confirm/invoice" else body


_fault("confirm-any-agent", ("SIG-SCOPE-AGENT", "PAY-REFUSED-CREATES-NOTHING"),
       "a confirmation naming another agent, signed with this project's secret, confirms the payment")(
    lambda b: replace(b, request_hooks=b.request_hooks + (_confirm_any_agent,)))

_fault("non-json-drops-connection", ("ROB-NO-CRASH",),
       "a body that is not JSON panics the handler: the connection is closed without an answer (Go's net/http "
       "after a panic), while every valid request is served")(
    _wire(lambda reply, wire: replace(wire, drop=True) if reply.problem in ("malformed-json", "utf-8") else wire))
