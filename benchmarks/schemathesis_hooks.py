"""Schemathesis hooks for the side-by-side benchmark: sign every request as the gateway requires.

Loaded by Schemathesis 4.x (``SCHEMATHESIS_HOOKS=benchmarks/schemathesis_hooks.py``) in its own
virtual environment, never by the project; ``benchmarks/schemathesis_compare.py`` sets it up. The
signature is computed with the project's own signer (stdlib only, imported from this checkout)
over the exact bytes sent, so Schemathesis exercises the same signature check our suite does.

Environment (set by the benchmark script; the secret is never on a command line):

``AGWS_ST_SECRET_ENV``   the name of the variable holding the signing secret (default
                         ``AGWS_MOCK_SECRET``, as in ``targets/mock.toml``);
``AGWS_ST_CREDENTIALS``  optional JSON ``{"agent": .., "project": .., "service_code": ..}``: the
                         target's credentials, written over schema-valid generated ones (our
                         suite keeps them too: any other value is legitimately refused);
``AGWS_ST_KNOWN``        optional JSON ``{"username": [..], "external_id": [..]}``: configured
                         accounts and payments, substituted into a quarter of the positive cases
                         so successes are exercised (our suite's ``known=`` does the same).

Deliberate negatives stay negative: a case without ``X-Signature`` (Schemathesis'
missing-required-header scenario) is sent unsigned, a case whose header is the negative component
keeps its generated value, and a credential that is not a non-empty string is left as generated.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation
from schemathesis.transport.prepare import prepare_body
from schemathesis.transport.serialization import serialize_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agws_conformance import signer  # noqa: E402  (needs the checkout on sys.path)

SIGNATURE_HEADER = "X-Signature"


def _secret() -> str:
    name = os.environ.get("AGWS_ST_SECRET_ENV", "AGWS_MOCK_SECRET")
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"schemathesis_hooks: the signing secret variable {name} is not set")
    return value


SECRET = _secret()
CREDENTIALS: dict[str, str] = json.loads(os.environ.get("AGWS_ST_CREDENTIALS") or "{}")
KNOWN: dict[str, list[str]] = json.loads(os.environ.get("AGWS_ST_KNOWN") or "{}")


def wire_bytes(body: Any) -> bytes:
    """The bytes Schemathesis itself would send: its JSON serializer's choice (raw bytes as they
    are, else ``requests``' ``json=`` encoding, ``json.dumps`` defaults)."""
    prepared = serialize_json(body)
    if "data" in prepared:
        return prepared["data"]
    return json.dumps(prepared["json"], allow_nan=False).encode("utf-8")


def signature_for(raw: bytes) -> str:
    """The gateway signature of ``raw``; a body Go refuses (not an object, ...) is signed as sent,
    which is what a naive client would do: the gateway must refuse it either way."""
    try:
        return signer.sign(raw, SECRET).signature
    except signer.SignerError:
        return signer.signature_of_canonical(raw, SECRET)


def _is_valid_string(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _pin(case: Any) -> None:
    """Credentials (every mode) and, for a quarter of positive cases, a configured account/payment."""
    body = case.body
    if not isinstance(body, dict):
        return
    for key, value in CREDENTIALS.items():
        if _is_valid_string(body.get(key)):
            body[key] = value
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return
    for key, choices in KNOWN.items():
        if choices and _is_valid_string(body.get(key)):
            # Deterministic in the generated value, so a shrunk case keeps its substitution.
            digest = hashlib.sha256(body[key].encode("utf-8", "surrogatepass")).digest()
            if digest[0] % 4 == 0:
                body[key] = choices[digest[1] % len(choices)]


def _header_is_negative(case: Any) -> bool:
    info = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
    return info is not None and info.mode is GenerationMode.NEGATIVE


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Pin credentials, then send the body as explicit bytes with X-Signature computed over them.

    The header is edited on the case (a valid 64-hex value, so the case stays what it was), not in
    ``kwargs``: the runner may pass its own ``headers=`` to ``Case.call``."""
    _pin(case)
    if case.headers is None or SIGNATURE_HEADER not in case.headers or _header_is_negative(case):
        return
    if isinstance(case.body, NotSet):
        return
    raw = wire_bytes(prepare_body(case))
    kwargs["data"] = raw
    case.headers[SIGNATURE_HEADER] = signature_for(raw)
