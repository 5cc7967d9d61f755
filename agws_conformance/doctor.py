"""The signature doctor: why a client's X-Signature is not the one the gateway computes.

An integrator's first week goes to one answer, 1014 "Invalid signature", which says nothing about
the cause. The doctor recomputes the signature the way the usual mistakes do (a catalogue of wrong
*recipes*, each one mistake on top of the right recipe) and names the one that reproduces the
signature the client sent, with its one-line fix. It can only recognise what it can recompute: a
wrong secret matches nothing, so the answer is then "no known recipe" plus the canonical string
that should have been signed.

Used by ``agws-conformance sign --check``, the mock's inspector and its report. The secret is an
argument, never part of a :class:`Diagnosis`. Every recipe has a vector in
``vectors/signature_recipes.json`` (tests/test_doctor.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Callable, Literal

from agws_conformance.signer import DEFAULT_VARIANT, SignerError, Variant, canonicalize

__all__ = ["GO_VARIANTS", "RECIPES", "Diagnosis", "Recipe", "Verdict", "diagnose", "recipe"]

Verdict = Literal["correct", "recipe", "unknown", "missing", "refused"]

# Every variant a Go gateway may sign with (escape_html is always on in Go's encoder).
GO_VARIANTS: tuple[Variant, ...] = (
    Variant(), Variant(legacy_escapes=True), Variant(omit_empty=True), Variant(legacy_escapes=True, omit_empty=True),
)


@dataclass(frozen=True)
class Recipe:
    """One wrong way to sign: what the client did, and the one-line fix."""

    id: str
    title: str
    fix: str


@dataclass(frozen=True)
class Diagnosis:
    """What the doctor concluded about one (body, signature) pair; never holds the secret."""

    verdict: Verdict
    gateway: str
    """The variant the gateway signs with (e.g. ``go1.22``), or ``any Go`` when it is not known."""
    variants: tuple[str, ...] = ()
    """For ``correct``: every Go variant under which the signature is right (one body may not tell them apart)."""
    recipe: Recipe | None = None
    canonical: str | None = None
    """The canonical string the gateway signs (its Base64 plus the secret is hashed); None for a refused body."""
    detail: str = ""
    """A refused body's reason, or what a variant recipe matched under."""

    @property
    def ok(self) -> bool:
        return self.verdict == "correct"

    def summary(self) -> str:
        """One line: the verdict and, for a wrong signature, the recipe and its fix."""
        if self.verdict == "correct":
            return f"correct (signed as Go does: {', '.join(self.variants)})"
        if self.verdict == "missing":
            return "no X-Signature header: sign every request (fix: send X-Signature with the lowercase hex SHA-256)"
        if self.verdict == "refused":
            return f"the body cannot be signed: Go's json.Unmarshal refuses it ({self.detail})"
        if self.verdict == "recipe" and self.recipe is not None:
            extra = f" [{self.detail}]" if self.detail else ""
            return f"wrong recipe {self.recipe.id}: {self.recipe.title}{extra}; fix: {self.recipe.fix}"
        return ("no known recipe reproduces this signature (a wrong secret, or a mistake the doctor does not "
                "know); sign the canonical string shown")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the report and ``sign --check --json``)."""
        return {
            "verdict": self.verdict, "gateway": self.gateway, "variants": list(self.variants),
            "recipe": self.recipe.id if self.recipe else None, "title": self.recipe.title if self.recipe else None,
            "fix": self.recipe.fix if self.recipe else None, "canonical": self.canonical, "detail": self.detail,
            "summary": self.summary(),
        }


# ---------------------------------------------------------------------------------------------
# The catalogue. A recipe function gets the raw body, its parsed value (None when Python's json
# cannot read it), the gateway's canonical bytes and the secret, and returns the X-Signature that
# recipe produces (None when it does not apply to this body).

_Fn = Callable[[bytes, Any, bytes, bytes], "str | None"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _right(canonical: bytes, secret: bytes) -> str:
    return _sha(base64.b64encode(canonical) + secret)


def _python(value: Any, **options: Any) -> bytes | None:
    if not isinstance(value, dict):
        return None
    try:
        return json.dumps(value, **options).encode("utf-8")
    except (TypeError, ValueError, UnicodeError, RecursionError):
        return None


def _signed(canonical: bytes | None, secret: bytes) -> str | None:
    return None if canonical is None else _right(canonical, secret)


# (id, title, fix, function). Order matters only when two recipes give the same signature for a
# body: the first one listed is named. Canonical-form mistakes come first, then the hashing ones.
_CATALOGUE: tuple[tuple[str, str, str, _Fn], ...] = (
    ("python-sample", "Python json.dumps(sort_keys=True, ensure_ascii=False, separators=(',', ':')): < > & "
     "U+2028/U+2029 are not escaped, or numbers are written Python's way (100.0, 1e+21 forms)",
     "encode as Go's json.Marshal does: escape < > & as \\u003c \\u003e \\u0026, write 100.0 as 100 "
     "(or use agws_conformance.signer.canonicalize)",
     lambda raw, v, c, s: _signed(_python(v, sort_keys=True, ensure_ascii=False, separators=(",", ":")), s)),
    ("python-default-separators", "Python json.dumps with its default separators ', ' and ': ' (spaces after "
     "commas and colons)", "pass separators=(',', ':') so the JSON is compact",
     lambda raw, v, c, s: _signed(_python(v, sort_keys=True, ensure_ascii=False), s)),
    ("python-ensure-ascii", "Python json.dumps with ensure_ascii=True: non-ASCII text written as \\uXXXX escapes",
     "pass ensure_ascii=False: Go writes non-ASCII text as raw UTF-8",
     lambda raw, v, c, s: _signed(_python(v, sort_keys=True, separators=(",", ":")), s)),
    ("python-json-dumps-defaults", "Python json.dumps(body, sort_keys=True) with all other defaults: spaces after "
     "separators and non-ASCII escaped", "json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(',', ':')) "
     "and Go's escapes of < > &",
     lambda raw, v, c, s: _signed(_python(v, sort_keys=True), s)),
    ("unsorted-keys", "the keys were signed in the order the client wrote them (struct or insertion order); Go's "
     "canonical form sorts the keys of every object", "sort the keys: the gateway re-encodes the body as a Go map",
     lambda raw, v, c, s: _signed(_python(v, ensure_ascii=False, separators=(",", ":")), s)),
    ("python-json-dumps-unsorted", "Python json.dumps(body) with no options at all: keys unsorted, spaces after "
     "separators, non-ASCII escaped", "json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(',', ':')) "
     "and Go's escapes of < > &",
     lambda raw, v, c, s: _signed(_python(v), s)),
    ("raw-bytes", "the raw request bytes were signed instead of Go's canonical form", "decode the body and "
     "re-encode it as Go's json.Marshal of a map does (sorted keys, compact, Go escapes) before Base64",
     lambda raw, v, c, s: _right(raw, s)),
    ("no-base64", "the canonical JSON was hashed without the Base64 step", "Base64-encode (standard, padded) the "
     "canonical JSON, then append the secret and hash",
     lambda raw, v, c, s: _sha(c + s)),
    ("secret-prepended", "the secret was put before the Base64 instead of after it", "hash base64 + secret, "
     "in that order",
     lambda raw, v, c, s: _sha(s + base64.b64encode(c))),
    ("no-secret", "the secret was left out (SHA-256 of the Base64 alone)", "append the project secret to the Base64 "
     "before hashing",
     lambda raw, v, c, s: _sha(base64.b64encode(c))),
    ("hmac-sha256", "HMAC-SHA256 keyed with the secret instead of a plain SHA-256 of base64 + secret",
     "use a plain SHA-256 over base64 + secret, not HMAC",
     lambda raw, v, c, s: hmac.new(s, base64.b64encode(c), hashlib.sha256).hexdigest()),
    ("hmac-sha256-no-base64", "HMAC-SHA256 of the canonical JSON keyed with the secret (no Base64, no "
     "appended secret)", "Base64 the canonical JSON, append the secret, take a plain SHA-256",
     lambda raw, v, c, s: hmac.new(s, c, hashlib.sha256).hexdigest()),
    ("uppercase-hex", "the hex digest is uppercase", "send the digest in lowercase hex",
     lambda raw, v, c, s: _right(c, s).upper()),
    ("base64-of-hex", "the hex digest was Base64-encoded", "send the hex digest itself, not its Base64",
     lambda raw, v, c, s: base64.b64encode(_right(c, s).encode("ascii")).decode("ascii")),
    ("base64-digest", "the binary digest was Base64-encoded instead of written as hex",
     "send the lowercase hex of the digest (hexdigest(), not b64encode(digest()))",
     lambda raw, v, c, s: base64.b64encode(hashlib.sha256(base64.b64encode(c) + s).digest()).decode("ascii")),
    ("sha1", "SHA-1 instead of SHA-256", "hash with SHA-256",
     lambda raw, v, c, s: hashlib.sha1(base64.b64encode(c) + s).hexdigest()),
    ("md5", "MD5 instead of SHA-256", "hash with SHA-256",
     lambda raw, v, c, s: hashlib.md5(base64.b64encode(c) + s).hexdigest()),
    ("sha512", "SHA-512 instead of SHA-256", "hash with SHA-256",
     lambda raw, v, c, s: hashlib.sha512(base64.b64encode(c) + s).hexdigest()),
    ("newline-in-body", "a newline was appended to the JSON before Base64 (echo without -n, a file's last line)",
     "Base64 the canonical JSON without a trailing newline (printf '%s', echo -n)",
     lambda raw, v, c, s: _right(c + b"\n", s)),
    ("newline-after-secret", "a newline follows the secret (read from a file or echo without -n)",
     "strip the trailing newline from the secret",
     lambda raw, v, c, s: _sha(base64.b64encode(c) + s + b"\n")),
    ("base64-wrapped", "the Base64 was wrapped into 76-character lines (the base64 tool, MIME encoders)",
     "use unwrapped standard Base64 (base64 -w0, StdEncoding)",
     lambda raw, v, c, s: _sha(base64.encodebytes(c) + s)),
    ("base64-urlsafe", "URL-safe Base64 (- and _ instead of + and /)", "use standard Base64 (StdEncoding, + and /)",
     lambda raw, v, c, s: _sha(base64.urlsafe_b64encode(c) + s)),
    ("base64-unpadded", "Base64 without its = padding", "keep the = padding (StdEncoding, not RawStdEncoding)",
     lambda raw, v, c, s: _sha(base64.b64encode(c).rstrip(b"=") + s)),
)

RECIPES: dict[str, Recipe] = {rid: Recipe(rid, title, fix) for rid, title, fix, _ in _CATALOGUE}
"""Every wrong recipe, by id, in the order the doctor tries them."""

# The Go-variant recipes: right under some Go variant, wrong under the gateway's. Kept apart so
# they are tried first and can say which variant the client's signature is right under.
VARIANT_RECIPES: dict[str, Recipe] = {
    "go-escapes-1.21": Recipe("go-escapes-1.21", "signed with Go < 1.22 escapes (\\u0008 \\u000c) but the gateway "
                              "uses Go >= 1.22 (\\b \\f)", "build the client with Go >= 1.22, as the gateway is, or "
                              "write U+0008/U+000C as \\b \\f"),
    "go-escapes-1.22": Recipe("go-escapes-1.22", "signed with Go >= 1.22 escapes (\\b \\f) but the gateway uses "
                              "Go < 1.22 (\\u0008 \\u000c)", "write U+0008/U+000C as \\u0008 \\u000c, as the "
                              "gateway's Go version does"),
    "omit-empty": Recipe("omit-empty", "top-level fields whose value is \"\" were left out of the signed form, but "
                         "this gateway signs them", "keep empty-string fields in the signed JSON (or do not send "
                         "them at all)"),
    "empty-kept": Recipe("empty-kept", "top-level fields whose value is \"\" were signed, but this gateway leaves "
                         "them out", "leave top-level \"\" fields out of the signed JSON, as this gateway does "
                         "(or do not send them)"),
}
RECIPES.update(VARIANT_RECIPES)
_FUNCTIONS: dict[str, _Fn] = {rid: fn for rid, _, _, fn in _CATALOGUE}


def recipe(recipe_id: str) -> Recipe:
    """The recipe ``recipe_id``; KeyError naming it when unknown."""
    try:
        return RECIPES[recipe_id]
    except KeyError:
        raise KeyError(f"unknown signature recipe {recipe_id!r}") from None


def _variant_recipe(signed: Variant, gateway: Variant) -> Recipe:
    """Why a signature right under ``signed`` is wrong under ``gateway``: the first difference."""
    if signed.omit_empty != gateway.omit_empty:
        return VARIANT_RECIPES["omit-empty" if signed.omit_empty else "empty-kept"]
    return VARIANT_RECIPES["go-escapes-1.21" if signed.legacy_escapes else "go-escapes-1.22"]


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def diagnose(body: bytes, signature: str | None, secret: str | bytes, gateway: Variant | None = DEFAULT_VARIANT
             ) -> Diagnosis:
    """Diagnose ``signature`` (the X-Signature value sent with ``body``) against ``secret``.

    ``gateway`` is the variant the gateway signs with; None when it is not known: then a signature
    right under any Go variant is correct. The comparison is exact (no whitespace stripped: a
    header value with a stray space is wrong on the wire too).
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    gateway_name = gateway.name if gateway is not None else "any Go"
    home = gateway or DEFAULT_VARIANT
    try:
        canonical = canonicalize(body, home)
    except SignerError as exc:
        return Diagnosis("refused", gateway_name, detail=str(exc))
    text = canonical.decode("utf-8")
    if not signature:
        return Diagnosis("missing", gateway_name, canonical=text)
    right_under = tuple(v for v in GO_VARIANTS if _right(canonicalize(body, v), key) == signature)
    if right_under and (gateway is None or _right(canonical, key) == signature):
        return Diagnosis("correct", gateway_name, variants=tuple(v.name for v in right_under), canonical=text)
    if right_under and gateway is not None:
        return Diagnosis("recipe", gateway_name, recipe=_variant_recipe(right_under[0], gateway), canonical=text,
                         detail=f"right under {', '.join(v.name for v in right_under)}; the gateway uses {gateway.name}")
    value = _loads(body)
    for rid, fn in _FUNCTIONS.items():
        if fn(body, value, canonical, key) == signature:
            return Diagnosis("recipe", gateway_name, recipe=RECIPES[rid], canonical=text)
    return Diagnosis("unknown", gateway_name, canonical=text)
