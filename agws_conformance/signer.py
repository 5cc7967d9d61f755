"""The AGWS request signer, byte-for-byte what the documents' Go sample computes.

The documents' ``MakeSign`` decodes the body into ``map[string]interface{}``, re-encodes it with
``json.Marshal``, Base64-encodes that (standard alphabet, padded), appends the project secret and
sends the lowercase hex SHA-256 in ``X-Signature``. A gateway written in Go therefore signs *Go's*
canonical form, which differs from ``json.dumps(sort_keys=True, ...)`` in escapes, number
formatting and invalid-UTF-8 handling. This module reproduces Go's ``encoding/json`` exactly,
including which bodies Go refuses (:class:`SignerError`). Standard library only.

Checked against real Go by ``tests/test_go_crosscheck.py`` (``tools/gosign``).
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from agws_conformance.errors import SignerError

__all__ = [
    "DEFAULT_VARIANT",
    "MAX_DEPTH",
    "Signature",
    "SignerError",
    "Variant",
    "canonical_from_value",
    "canonicalize",
    "go_struct_body",
    "sign",
    "signature_of_canonical",
]

# encoding/json's scanner refuses containers nested deeper than this (scanner.go maxNestingDepth).
MAX_DEPTH = 10000


@dataclass(frozen=True)
class Variant:
    """How a signer canonicalizes. ``Variant()`` is Go >= 1.22 with the documents' Go sample."""

    legacy_escapes: bool = False
    """Go < 1.22 writes U+0008 and U+000C as ``\\u0008`` ``\\u000c`` (1.22+: ``\\b`` ``\\f``)."""
    omit_empty: bool = False
    """The public signing page: top-level fields whose value is ``""`` are left out."""
    escape_html: bool = True
    """False models a non-Go signer that writes ``<`` ``>`` ``&`` raw (fingerprints, mock faults)."""

    @property
    def name(self) -> str:
        """A short stable label, e.g. ``go1.22``, ``go1.21+omit-empty``."""
        label = "go1.21" if self.legacy_escapes else "go1.22"
        if self.omit_empty:
            label += "+omit-empty"
        if not self.escape_html:
            label += "+no-html-escape"
        return label


DEFAULT_VARIANT = Variant()


@dataclass(frozen=True)
class Signature:
    """The three stages of a signature; the secret is deliberately not kept."""

    canonical: bytes
    """``json.Marshal(map[string]interface{})`` bytes."""
    base64: str
    """StdEncoding (padded) of :attr:`canonical`."""
    signature: str
    """Lowercase hex SHA-256 of ``base64 + secret``: the ``X-Signature`` value."""


# --------------------------------------------------------------------------------------------
# Decoding: Go's scanner grammar and unquote rules.

# Go's unquote coerces each byte that does not start a valid UTF-8 sequence to U+FFFD and resumes
# at the next byte (utf8.DecodeRune returns size 1). Python's "replace" swallows the maximal
# invalid subpart instead (E2 82 -> one U+FFFD, Go gives two), so resume one byte later.
def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\ufffd", exc.start + 1


_CODEC_ERRORS = "agws-go-utf8-replace"
codecs.register_error(_CODEC_ERRORS, _go_replace)

_WS = re.compile(rb"[ \t\n\r]*")
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING_RUN = re.compile(rb'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = {
    ord('"'): '"', ord("\\"): "\\", ord("/"): "/",
    ord("b"): "\b", ord("f"): "\f", ord("n"): "\n", ord("r"): "\r", ord("t"): "\t",
}


def _describe(data: bytes, pos: int, context: str) -> str:
    """Name the byte at ``pos`` the way Go's scanner does, plus where a reader can find it."""
    if pos >= len(data):
        return "unexpected end of JSON input"
    if data.startswith(b"\xef\xbb\xbf", pos):
        return f"a UTF-8 byte order mark is not allowed (byte offset {pos})"
    c = data[pos]
    shown = repr(chr(c)) if 0x20 <= c < 0x7F else f"byte 0x{c:02x}"
    return f"invalid character {shown}{context} (byte offset {pos})"


class _GoNumber:
    """A float64 whose Go text is not Python's ``str(int)``; holds that text, ready to write.

    Deliberately not a float: ``json.dumps`` refuses it, which is how the fast encoder knows to
    hand the body to the exact one.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_EXACT_INT = 9007199254740992.0  # 2**53: below it every integer is exact and prints as itself


def _number_value(value: float) -> int | _GoNumber:
    """What a float64 decoded by Go will be written as: a plain int when that is the same text."""
    if value.is_integer() and -_EXACT_INT < value < _EXACT_INT and (value or math.copysign(1.0, value) > 0):
        return int(value)
    return _GoNumber(_format_float(value))


def _number(token: bytes) -> int | _GoNumber:
    """strconv.ParseFloat(token, 64): correctly rounded; overflow is an error, underflow is not."""
    value = float(token)
    if math.isinf(value):
        raise SignerError(
            f"number {token[:40].decode('ascii')}{'...' if len(token) > 40 else ''} "
            "overflows float64 (Go's json.Unmarshal refuses it)"
        )
    return _number_value(value)


class _Parser:
    """An iterative reader of Go's JSON grammar (no recursion, so 10000 levels are fine)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def fail(self, pos: int, what: str = "") -> SignerError:
        return SignerError(f"body is not valid JSON: {_describe(self.data, pos, what)}")

    def string(self, pos: int) -> tuple[str, int]:
        """Decode the string literal whose opening quote is at ``pos``; return (text, end)."""
        data = self.data
        parts: list[str] = []
        pos += 1
        while True:
            run = _STRING_RUN.match(data, pos)
            end = run.end()  # type: ignore[union-attr]
            if end > pos:
                parts.append(data[pos:end].decode("utf-8", _CODEC_ERRORS))
            pos = end
            if pos >= len(data):
                raise self.fail(pos)
            c = data[pos]
            if c == 0x22:  # closing quote
                return "".join(parts), pos + 1
            if c != 0x5C:  # a raw control character
                raise self.fail(pos, " in string literal (control characters must be escaped)")
            if pos + 1 >= len(data):
                raise self.fail(pos + 1)
            e = data[pos + 1]
            if e in _SIMPLE_ESCAPES:
                parts.append(_SIMPLE_ESCAPES[e])
                pos += 2
                continue
            if e != 0x75 or not _HEX4.match(data, pos + 2):  # \u plus four hex digits
                raise self.fail(pos + 1, " in string escape code")
            code = int(data[pos + 2 : pos + 6], 16)
            pos += 6
            if 0xD800 <= code < 0xE000:
                # Go: a high surrogate immediately followed by a \u low surrogate is one code
                # point; any other surrogate becomes U+FFFD and the next escape stands alone.
                low = -1
                if data[pos : pos + 2] == b"\\u" and _HEX4.match(data, pos + 2):
                    low = int(data[pos + 2 : pos + 6], 16)
                if code < 0xDC00 and 0xDC00 <= low < 0xE000:
                    parts.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                    pos += 6
                else:
                    parts.append("\ufffd")
            else:
                parts.append(chr(code))

    def parse(self) -> Any:
        data = self.data
        n = len(data)
        pos = _WS.match(data, 0).end()  # type: ignore[union-attr]
        # Each open container: [container, pending key or None]. Objects are dicts (last key wins).
        stack: list[list[Any]] = []
        root: Any = None
        while True:
            # ---- read one value at pos
            if pos >= n:
                raise self.fail(pos)
            c = data[pos]
            if c == 0x7B or c == 0x5B:  # { or [
                if len(stack) >= MAX_DEPTH:
                    raise SignerError(
                        f"body nests objects/arrays deeper than {MAX_DEPTH} levels "
                        "(Go's json.Unmarshal refuses: exceeded max depth)"
                    )
                container: Any = {} if c == 0x7B else []
                pos = _WS.match(data, pos + 1).end()  # type: ignore[union-attr]
                closer = 0x7D if c == 0x7B else 0x5D
                if pos < n and data[pos] == closer:
                    value: Any = container
                    pos += 1
                else:
                    stack.append([container, None])
                    if c == 0x7B:
                        pos = self._key(pos, stack[-1])
                    continue
            elif c == 0x22:
                value, pos = self.string(pos)
            elif data.startswith(b"true", pos):
                value, pos = True, pos + 4
            elif data.startswith(b"false", pos):
                value, pos = False, pos + 5
            elif data.startswith(b"null", pos):
                value, pos = None, pos + 4
            else:
                m = _NUMBER.match(data, pos)
                if m is None:
                    if data.startswith((b"NaN", b"Infinity", b"-Infinity"), pos):
                        raise SignerError(
                            f"body is not valid JSON: NaN/Infinity at byte offset {pos} "
                            "(not JSON; Go's json.Unmarshal refuses it)"
                        )
                    raise self.fail(pos, " looking for beginning of value")
                value, pos = _number(m.group()), m.end()
            # ---- store it, then close every container that ends here
            while True:
                if not stack:
                    root = value
                    pos = _WS.match(data, pos).end()  # type: ignore[union-attr]
                    if pos != n:
                        raise self.fail(pos, " after top-level value")
                    return root
                top = stack[-1]
                if top[1] is None:
                    top[0].append(value)
                else:
                    top[0][top[1]] = value
                pos = _WS.match(data, pos).end()  # type: ignore[union-attr]
                is_object = top[1] is not None
                if pos < n and data[pos] == 0x2C:  # ,
                    pos = _WS.match(data, pos + 1).end()  # type: ignore[union-attr]
                    if is_object:
                        pos = self._key(pos, top)
                    break
                if pos < n and data[pos] == (0x7D if is_object else 0x5D):
                    value = stack.pop()[0]
                    pos += 1
                    continue
                kind = "object key:value pair" if is_object else "array element"
                raise self.fail(pos, f" after {kind}")

    def _key(self, pos: int, frame: list[Any]) -> int:
        """Read ``"key" :`` at ``pos`` into ``frame``; return the position of the value."""
        data = self.data
        if pos >= len(data) or data[pos] != 0x22:
            raise self.fail(pos, " looking for beginning of object key string")
        frame[1], pos = self.string(pos)
        pos = _WS.match(data, pos).end()  # type: ignore[union-attr]
        if pos >= len(data) or data[pos] != 0x3A:
            raise self.fail(pos, " after object key")
        return _WS.match(data, pos + 1).end()  # type: ignore[union-attr]


class _NotFast(Exception):
    """The fast path cannot decide this body; the exact parser must."""


def _refuse_constant(name: str) -> Any:
    raise _NotFast(name)


def _fast_number(token: str) -> int | _GoNumber:
    # Every JSON number is a float64 in Go. Up to 15 digits an integer is exact (except -0);
    # beyond, int() would round wrongly (and hit Python's 4300-digit limit).
    if len(token) < 16 and token != "-0" and "." not in token and "e" not in token and "E" not in token:
        return int(token)
    value = float(token)
    if math.isinf(value):
        raise _NotFast(token)
    return _number_value(value)


_FAST_DECODER = json.JSONDecoder(
    parse_float=_fast_number, parse_int=_fast_number, parse_constant=_refuse_constant
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


_FAST_SCAN = _FAST_DECODER.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__, not declared
_WS_TEXT = re.compile(r"[ \t\n\r]*")


def _decode(body: bytes) -> Any:
    """json.Unmarshal(body, &map[string]interface{}): the value, or SignerError."""
    if type(body) is not bytes:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        body = bytes(body)
    value: Any
    try:
        # Fast path: valid UTF-8 that Python's json reads exactly as Go does. Python also accepts
        # NaN/Infinity (refused by the hook) and keeps lone surrogates (Go: U+FFFD), so those
        # bodies go to the exact parser, as does anything Python refuses or nests too deep.
        text = body.decode("utf-8")
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            raise _NotFast("surrogate escape")
        start = _WS_TEXT.match(text).end() if text[:1] in (" ", "\t", "\n", "\r") else 0  # type: ignore[union-attr]
        value, end = _FAST_SCAN(text, start)
        if end != len(text) and _WS_TEXT.match(text, end).end() != len(text):  # type: ignore[union-attr]
            raise _NotFast("trailing data")
    except (_NotFast, ValueError, RecursionError, StopIteration):
        value = _Parser(body).parse()
    if value is None or isinstance(value, dict):
        # Unmarshal of `null` into a map sets it to nil; Marshal then writes `null`.
        return value
    kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
    raise SignerError(
        f"body is {kind}, not a JSON object (Go cannot unmarshal it into map[string]interface{{}})"
    )


# --------------------------------------------------------------------------------------------
# Encoding: json.Marshal of map[string]interface{}.

_ESCAPES_HTML = re.compile("[\x00-\x1f\"\\\\<>&\u2028\u2029]")
_ESCAPES_PLAIN = re.compile("[\x00-\x1f\"\\\\\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _escape_table(legacy: bool) -> dict[str, str]:
    table = {chr(i): f"\\u{i:04x}" for i in range(0x20)}
    table.update({'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
    if not legacy:
        table.update({"\b": "\\b", "\f": "\\f"})  # Go 1.22 added these two short forms
    table.update({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
    table.update({"\u2028": "\\u2028", "\u2029": "\\u2029"})
    return table


_TABLES = {False: _escape_table(False), True: _escape_table(True)}


def _format_float(value: float) -> str:
    """encoding/json's float64 encoder: strconv 'f' (shortest), 'e' below 1e-6 or from 1e21."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    magnitude = abs(value)
    if magnitude < 9007199254740992.0 and value.is_integer():
        return str(int(value))
    # repr() gives the same shortest round-tripping digits as Go's strconv (both pick the
    # closest of the shortest candidates); only the layout differs.
    text = repr(magnitude)
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    sign = "-" if value < 0 else ""
    if magnitude < 1e-6 or magnitude >= 1e21:
        exp = point - 1
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        # Go's 'e' has at least two exponent digits and json cleans e-07 to e-7, not e+21.
        tail = f"e-{-exp}" if exp < 0 else f"e+{exp:02d}"
        return sign + head + tail
    if point <= 0:
        return sign + "0." + "0" * (-point) + digits
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return sign + digits[:point] + "." + digits[point:]


class _Lit(str):
    """An already-encoded piece of output (as opposed to a string value still to encode)."""


_OPEN_OBJ, _CLOSE_OBJ, _OPEN_ARR, _CLOSE_ARR = _Lit("{"), _Lit("}"), _Lit("["), _Lit("]")
_COMMA = _Lit(",")


def _encoder(variant: Variant):  # noqa: ANN202 - internal closure factory
    table = _TABLES[variant.legacy_escapes]
    search = (_ESCAPES_HTML if variant.escape_html else _ESCAPES_PLAIN).search
    sub = (_ESCAPES_HTML if variant.escape_html else _ESCAPES_PLAIN).sub

    def replace(match: re.Match[str]) -> str:
        return table[match.group()]

    def string(s: str) -> str:
        if search(s) is None:
            return f'"{s}"'
        return '"' + sub(replace, s) + '"'

    def encode(root: Any) -> str:
        # An explicit work list instead of recursion: Go accepts 10000 levels of nesting.
        out: list[str] = []
        todo: list[Any] = [root]
        while todo:
            item = todo.pop()
            kind = type(item)
            if kind is _Lit:
                out.append(item)
            elif kind is str:
                out.append(string(item))
            elif kind is dict:
                if not item:
                    out.append("{}")
                    continue
                out.append("{")
                todo.append(_CLOSE_OBJ)
                first = True
                for key in sorted(item, reverse=True):  # code point order == Go's byte order
                    if not first:
                        todo.append(_COMMA)
                    first = False
                    todo.append(item[key])
                    todo.append(_Lit(string(key) + ":"))
            elif kind is list:
                if not item:
                    out.append("[]")
                    continue
                out.append("[")
                todo.append(_CLOSE_ARR)
                for i, element in enumerate(reversed(item)):
                    if i:
                        todo.append(_COMMA)
                    todo.append(element)
            elif item is None:
                out.append("null")
            elif item is True:
                out.append("true")
            elif item is False:
                out.append("false")
            elif kind is int:
                out.append(str(item))
            else:
                out.append(item.text)
        return "".join(out)

    return encode


_ENCODERS: dict[Variant, Any] = {}


_FAST_ENCODER = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
_ANY_ESCAPE = re.compile(r"\\.")
_LEGACY = {"\\b": "\\u0008", "\\f": "\\u000c"}


def _legacy_escape(match: re.Match[str]) -> str:
    return _LEGACY.get(match.group(), match.group())


def _fast_encode(value: Any, variant: Variant) -> str:
    """Python's C encoder plus fix-ups; raises TypeError/RecursionError when it cannot be exact.

    With ensure_ascii=False Python writes what Go writes except: < > & U+2028 U+2029 raw (they
    appear nowhere else in the output, so a plain replace is exact), \\b \\f for Go < 1.22, and
    non-integer numbers (held as _GoNumber, which json refuses with TypeError).
    """
    text = _FAST_ENCODER.encode(value)
    if variant.escape_html and ("<" in text or ">" in text or "&" in text):
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if variant.legacy_escapes and ("\\b" in text or "\\f" in text):
        # Walk escape pairs left to right so an escaped backslash before a 'b' is left alone.
        text = _ANY_ESCAPE.sub(_legacy_escape, text)
    return text


def _encode(value: Any, variant: Variant) -> bytes:
    if variant.omit_empty and isinstance(value, dict):
        value = {k: v for k, v in value.items() if not (type(v) is str and v == "")}
    try:
        return _fast_encode(value, variant).encode("utf-8")
    except (TypeError, RecursionError):
        pass
    encode = _ENCODERS.get(variant)
    if encode is None:
        encode = _ENCODERS[variant] = _encoder(variant)
    return encode(value).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Public API.


def canonicalize(body: bytes, variant: Variant = DEFAULT_VARIANT) -> bytes:
    """Return the bytes Go's ``json.Marshal`` writes after ``json.Unmarshal`` of ``body`` into a map.

    Raises SignerError (one line) for every body Go refuses: invalid JSON, trailing data, a BOM,
    NaN/Infinity, numbers beyond float64, nesting deeper than 10000, a top level that is not an
    object. A ``null`` body is accepted and canonicalizes to ``null``, as in Go.
    """
    return _encode(_decode(body), variant)


def _normalize(value: Any, depth: int = 0) -> Any:
    """Map a Python JSON-like value onto what Go's decoder would hold: float64 numbers, no surrogates."""
    if depth > MAX_DEPTH:
        raise SignerError(f"value nests deeper than {MAX_DEPTH} levels (Go refuses it)")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", str(value))
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            raise SignerError("integer overflows float64 (Go refuses it)") from None
        if not math.isfinite(number):
            raise SignerError(f"{value!r} is not representable in JSON (Go's json.Marshal refuses it)")
        return _number_value(number)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SignerError(f"object key {key!r} is not a string")
            out[_SURROGATES.sub("\ufffd", str(key))] = _normalize(item, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_normalize(item, depth + 1) for item in value]
    raise SignerError(f"{type(value).__name__} is not a JSON value")


def canonical_from_value(value: dict, variant: Variant = DEFAULT_VARIANT) -> bytes:
    """Canonical bytes for a Python dict, as if it were sent as JSON and signed by Go.

    Integers become float64 (so 2**53 + 1 is written 9007199254740992), strings with lone
    surrogates get U+FFFD. Raises SignerError for NaN/Infinity, non-string keys, other types.
    """
    if not isinstance(value, dict):
        raise SignerError(f"the body must be a dict (a JSON object), not {type(value).__name__}")
    try:
        normalized = _normalize(value)
    except RecursionError:
        raise SignerError("value nests too deeply to sign") from None
    return _encode(normalized, variant)


def signature_of_canonical(canonical: bytes, secret: str | bytes) -> str:
    """Lowercase hex SHA-256 of ``base64(canonical) + secret``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    return hashlib.sha256(base64.b64encode(canonical) + key).hexdigest()


def sign(body: bytes, secret: str | bytes, variant: Variant = DEFAULT_VARIANT) -> Signature:
    """Sign a raw request body the way the documents' Go ``MakeSign`` does.

    Raises SignerError when Go would refuse ``body``. The secret is used, never stored.
    """
    canonical = canonicalize(body, variant)
    encoded = base64.b64encode(canonical)
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    return Signature(
        canonical=canonical,
        base64=encoded.decode("ascii"),
        signature=hashlib.sha256(encoded + key).hexdigest(),
    )


def go_struct_body(fields: Mapping[str, str | float]) -> bytes:
    """The bytes the documents' Go client sends: ``json.Marshal`` of its request struct.

    Fields stay in the given (struct) order, compact and HTML-escaped, unlike the signed
    canonical form, which sorts keys. Values are strings or numbers (a ``float64`` field, such as
    cash-in's ``amount``: Go writes 100.0 as ``100``).
    """
    encode = _encoder(DEFAULT_VARIANT)
    pieces = []
    for key, value in fields.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise SignerError("go_struct_body takes string field names and string or number values")
        pieces.append(encode(_normalize(key)) + ":" + encode(_normalize(value)))
    return ("{" + ",".join(pieces) + "}").encode("utf-8")
