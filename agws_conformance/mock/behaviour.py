"""The mock's behaviour: the decision types its pipeline passes along, and the hook points.

``app.py`` runs one pipeline and never asks which fault or variation is on; both are functions
``Behaviour -> Behaviour`` (``faults.py``: deviations the suite must catch; ``variations.py``:
legitimate deployment differences it must accept) that swap one strategy or append one transform:

``signature_check``   decides whether X-Signature is valid (after the body parsed as JSON);
``scope_fields``      which of project/agent/service_code are checked against the target;
``neighbour_in_scope`` whether the target's declared neighbour (``other_agent`` ...) passes the scope
                      check as if it were the target's own, and is served its own data;
``methods``           HTTP methods served (others get 405);
``max_body_bytes``    body limit override;
``incoming_hooks``    rewrite the raw request before parsing;
``request_hooks``     rewrite the parsed, signature-checked body before field validation;
``reply_hooks``       change the decision (kind, codes, HTTP status, error format);
``payload_hooks``     change the rendered JSON value;
``wire_hooks``        change the bytes and headers on the wire (or stall them);
``payments``          how the mock's money behaves (``ledger.PaymentRules``: duplicates, balance, statuses);
``callbacks``         how it calls back (``callbacks.CallbackRules``: signing, retries, expiry).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping

from agws_conformance import signer
from agws_conformance.mock.callbacks import CallbackRules
from agws_conformance.mock.ledger import PaymentRules
from agws_conformance.target import Target

__all__ = ["Behaviour", "Incoming", "Kind", "Reply", "SignatureInput", "Wire", "go_signature_check",
           "on_payload", "on_reply", "on_wire", "wrap_signature_check"]

Kind = Literal["success", "expected", "unexpected"]


@dataclass(frozen=True)
class Incoming:
    """A request as read off the wire, before any parsing."""

    endpoint: str
    method: str
    signature: str | None
    raw: bytes


@dataclass(frozen=True)
class SignatureInput:
    """What a signature strategy may look at. The secret is never part of any repr."""

    header: str | None
    raw: bytes
    secret: str = field(repr=False)
    variant: signer.Variant
    endpoint: str = ""  # the method asked for ("action/cash-in"): a fault may check some methods only


@dataclass(frozen=True)
class Reply:
    """What the mock decided to answer, before it is rendered.

    ``code`` is 0 for a success, the ``error_code`` of an expected error and the ``status_code`` of
    an unexpected one. ``problem`` names the check that refused an unexpected error (``method``,
    ``path``, ``content-type``, ``oversized``, ``utf-8``, ``malformed-json``, ``non-object``,
    ``signature``, ``missing-field``, ``wrong-type``, ``empty-field``).
    """

    kind: Kind
    endpoint: str | None
    http_status: int
    code: int
    message: str
    result: dict[str, Any] | None = None
    error_format: str = "new"
    problem: str | None = None
    request: Mapping[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    known: bool | None = None
    """Whether the request names a configured account or payment (None: no parsed request)."""
    out_of_scope: tuple[str, ...] = ()
    """Which of project/agent/service_code the request names differently from the target."""
    method: str = "POST"
    """The HTTP method of the request answered."""


@dataclass(frozen=True)
class Wire:
    """The HTTP response as sent. ``stall``: send the head and half the body, then never finish;
    ``drop``: hang up without an answer (what Go's net/http does when a handler panics)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stall: bool = False
    drop: bool = False


def nginx_page(title: str) -> bytes:
    """The HTML error page nginx writes itself, e.g. ``nginx_page("403 Forbidden")``."""
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


def go_signature_check(given: SignatureInput) -> bool:
    """The documents' rule: lowercase hex SHA-256 of base64(Go canonical form) + secret.

    The body is re-canonicalized from its parsed form, never hashed as sent: the documents' own Go
    client sends its struct's field order but signs the sorted map. Compared in constant time.
    """
    if not given.header:
        return False
    expected = signer.sign(given.raw, given.secret, given.variant).signature
    return hmac.compare_digest(given.header.encode("latin-1", "replace"), expected.encode("ascii"))


@dataclass(frozen=True)
class Behaviour:
    """The mock's strategies and transforms; the clean mock is ``Behaviour()``."""

    signature_check: Callable[[SignatureInput], bool] = go_signature_check
    scope_fields: tuple[str, ...] = ("project", "agent", "service_code")
    neighbour_in_scope: bool = False
    methods: frozenset[str] = frozenset({"POST"})
    max_body_bytes: int | None = None
    incoming_hooks: tuple[Callable[[Incoming, Target], Incoming], ...] = ()
    request_hooks: tuple[Callable[[str, dict[str, Any], Target], dict[str, Any]], ...] = ()
    reply_hooks: tuple[Callable[[Reply], Reply], ...] = ()
    payload_hooks: tuple[Callable[[Reply, dict[str, Any]], dict[str, Any]], ...] = ()
    wire_hooks: tuple[Callable[[Reply, Wire], Wire], ...] = ()
    payments: PaymentRules = PaymentRules()
    callbacks: CallbackRules = CallbackRules()


# ------------------------------------------------------------------------------------------
# Appending one hook: each returns a ``Behaviour -> Behaviour`` function.

def on_reply(hook: Callable[[Reply], Reply]) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, reply_hooks=b.reply_hooks + (hook,))


def on_payload(hook: Callable[[Reply, dict[str, Any]], dict[str, Any]]) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, payload_hooks=b.payload_hooks + (hook,))


def on_wire(hook: Callable[[Reply, Wire], Wire]) -> Callable[[Behaviour], Behaviour]:
    return lambda b: replace(b, wire_hooks=b.wire_hooks + (hook,))


def wrap_signature_check(wrap: Callable[[Callable[[SignatureInput], bool], SignatureInput], bool]):  # noqa: ANN202
    """A strategy that may defer to the previous one (``wrap(previous, given)``)."""
    return lambda b: replace(b, signature_check=lambda given, prev=b.signature_check: wrap(prev, given))
