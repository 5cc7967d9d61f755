"""A small integrator client that signs each of the usual wrong ways (and the right way).

Written the way an integrator writes it, with hashlib and json directly, independently of
``agws_conformance.doctor``: the doctor must recognise what real client code produces, not what
its own catalogue computes. ``vectors/generate_recipes.py`` builds the recipe vectors from it and
tests/test_inspector.py sends its requests to the inspecting mock.

Each function takes the request fields (in the client's own order) and the secret and returns
(the body bytes sent, the X-Signature sent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Callable

from agws_conformance.signer import Variant, canonicalize

Fields = dict[str, Any]
Client = Callable[[Fields, str], tuple[bytes, str]]


def _sent(fields: Fields) -> bytes:
    """What most clients put on the wire: compact JSON in their own field order."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _go(fields: Fields, variant: Variant = Variant()) -> bytes:
    # The Go form, via the project's signer: stands in for a Go client's json.Marshal of a map.
    return canonicalize(_sent(fields), variant)


def correct(fields: Fields, secret: str) -> tuple[bytes, str]:
    body = _sent(fields)
    return body, _hex(_b64(_go(fields)) + secret.encode())


def _python_signer(**options: Any) -> Client:
    def client(fields: Fields, secret: str) -> tuple[bytes, str]:
        signed = json.dumps(fields, **options).encode("utf-8")
        return _sent(fields), _hex(_b64(signed) + secret.encode())
    return client


def raw_bytes(fields: Fields, secret: str) -> tuple[bytes, str]:
    body = json.dumps(fields, ensure_ascii=False, indent=1).encode("utf-8")  # pretty-printed on the wire
    return body, _hex(_b64(body) + secret.encode())


def _hashing(compute: Callable[[bytes, bytes, bytes], str]) -> Client:
    """A client with the Go form right and one mistake in the hashing step: compute(canonical, b64, secret)."""
    def client(fields: Fields, secret: str) -> tuple[bytes, str]:
        canonical = _go(fields)
        return _sent(fields), compute(canonical, _b64(canonical), secret.encode())
    return client


def _variant_client(variant: Variant) -> Client:
    def client(fields: Fields, secret: str) -> tuple[bytes, str]:
        return _sent(fields), _hex(_b64(_go(fields, variant)) + secret.encode())
    return client


def wrong_secret(fields: Fields, secret: str) -> tuple[bytes, str]:
    return correct(fields, secret + "-staging")


CLIENTS: dict[str, Client] = {
    "python-sample": _python_signer(sort_keys=True, ensure_ascii=False, separators=(",", ":")),
    "python-default-separators": _python_signer(sort_keys=True, ensure_ascii=False),
    "python-ensure-ascii": _python_signer(sort_keys=True, separators=(",", ":")),
    "python-json-dumps-defaults": _python_signer(sort_keys=True),
    "unsorted-keys": _python_signer(ensure_ascii=False, separators=(",", ":")),
    "python-json-dumps-unsorted": _python_signer(),
    "raw-bytes": raw_bytes,
    "no-base64": _hashing(lambda c, b, s: _hex(c + s)),
    "secret-prepended": _hashing(lambda c, b, s: _hex(s + b)),
    "no-secret": _hashing(lambda c, b, s: _hex(b)),
    "hmac-sha256": _hashing(lambda c, b, s: hmac.new(s, b, "sha256").hexdigest()),
    "hmac-sha256-no-base64": _hashing(lambda c, b, s: hmac.new(s, c, "sha256").hexdigest()),
    "uppercase-hex": _hashing(lambda c, b, s: _hex(b + s).upper()),
    "base64-of-hex": _hashing(lambda c, b, s: base64.b64encode(_hex(b + s).encode()).decode()),
    "base64-digest": _hashing(lambda c, b, s: base64.b64encode(hashlib.sha256(b + s).digest()).decode()),
    "sha1": _hashing(lambda c, b, s: hashlib.sha1(b + s).hexdigest()),
    "md5": _hashing(lambda c, b, s: hashlib.md5(b + s).hexdigest()),
    "sha512": _hashing(lambda c, b, s: hashlib.sha512(b + s).hexdigest()),
    "newline-in-body": _hashing(lambda c, b, s: _hex(_b64(c + b"\n") + s)),
    "newline-after-secret": _hashing(lambda c, b, s: _hex(b + s + b"\n")),
    "base64-wrapped": _hashing(lambda c, b, s: _hex(base64.encodebytes(c) + s)),
    "base64-urlsafe": _hashing(lambda c, b, s: _hex(base64.urlsafe_b64encode(c) + s)),
    "base64-unpadded": _hashing(lambda c, b, s: _hex(b.rstrip(b"=") + s)),
    "go-escapes-1.21": _variant_client(Variant(legacy_escapes=True)),
    "go-escapes-1.22": _variant_client(Variant()),
    "omit-empty": _variant_client(Variant(omit_empty=True)),
    "empty-kept": _variant_client(Variant(omit_empty=False)),
}
"""recipe id -> the client making that mistake."""

GATEWAY_OF = {"go-escapes-1.22": Variant(legacy_escapes=True), "empty-kept": Variant(omit_empty=True)}
"""The gateway variant a recipe is wrong under, where it is not the default go1.22."""


def fields_for(recipe_id: str, base: Fields) -> Fields:
    """The request fields that make ``recipe_id``'s mistake visible: ``base`` should carry non-ASCII
    text and < > &; the variant recipes get a U+0008 or an empty field, and the username grows until
    the Base64 of the signed form has padding and a '+' or '/' (else the Base64 recipes sign right)."""
    fields = dict(base)
    if recipe_id.startswith("go-escapes"):
        fields["comment"] = "bell\bform\ffeed"
    if recipe_id in ("omit-empty", "empty-kept"):
        fields["comment"] = ""
    for _ in range(12):
        encoded = _b64(_go(fields))
        if encoded.endswith(b"=") and (b"+" in encoded or b"/" in encoded):
            break
        fields["username"] = str(fields.get("username", "")) + "x"
    return fields
