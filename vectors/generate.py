"""Generate ``signature_vectors.json`` from the case list below.

Expected values come from ``agws_conformance.signer``, but every accepted or refused body is
also run through the real Go reference signer (``tools/gosign``) when ``go`` is on PATH, and the
file is not written if Go disagrees. Run: ``python vectors/generate.py`` (add ``--no-go`` only
to preview). tcIds are written in the case list by hand: never renumber or reuse one.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from agws_conformance.signer import SignerError, Variant, sign

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATOR_VERSION = "1.0"

DEFAULT = Variant()
LEGACY = Variant(legacy_escapes=True)
OMIT = Variant(omit_empty=True)

DOC_EXAMPLE = (
    b'{"agent":"tarlan","amount":100,"datetime":"2022-12-01T15:45:00Z","external_id":"200001",'
    b'"project":"mobile","service_code":"201106","username":"989898"}'
)
DOC_EXAMPLE_SIGNATURE = "9ab70986d5b875e66fc92368029f845275a1208633eb9dda821bbabf99cac4b2"
# The two documents' Go samples, as their Body structs marshal (field order of the struct).
GO_SAMPLE_CHECK = b'{"agent":"agent","username":"login","project":"project","service_code":"servise"}'
GO_SAMPLE_STATUS = b'{"agent":"agent","project":"project","service_code":"service","external_id":"reference"}'
HALFWAY_MIN_SUBNORMAL = (
    "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081"
    "799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449"
    "105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279"
    "558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454"
    "020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766"
    "678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373"
    "280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667"
    "994968324049705821028513185451396213837722826145437693412532098591327667236328125"
)

NOTES: dict[str, dict[str, str]] = {
    "DocumentExample": {"bugType": "BASIC", "description": "A body or signature taken from the API documents or the public signing page."},
    "NaivePythonDiffers": {"bugType": "KNOWN_BUG", "description": "json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(',', ':')) (the signing page's Python sample) gives a different outcome: another signature, or it signs a body Go refuses, or refuses one Go signs. Computed, not asserted: the test suite re-derives it."},
    "GoVersionDependent": {"bugType": "FUNCTIONALITY", "description": "Go < 1.22 and Go >= 1.22 write this body differently (U+0008/U+000C as \\u0008/\\u000c versus \\b/\\f). Computed from the signer."},
    "KeyOrder": {"bugType": "FUNCTIONALITY", "description": "Keys are sorted by their UTF-8 bytes at every depth (code point order; UTF-16 order differs for astral characters against U+E000-U+FFFF)."},
    "Nesting": {"bugType": "FUNCTIONALITY", "description": "Nested objects and arrays; Go sorts nested object keys too and refuses nesting deeper than 10000."},
    "Whitespace": {"bugType": "FUNCTIONALITY", "description": "Insignificant whitespace in the body is not signed."},
    "HtmlEscape": {"bugType": "KNOWN_BUG", "description": "Go writes < > & as \\u003c \\u003e \\u0026 (in keys too) and U+2028/U+2029 as \\u2028 \\u2029."},
    "StringEscape": {"bugType": "FUNCTIONALITY", "description": "Escapes in strings: short forms for \\n \\r \\t \\\" \\\\, \\u00XX (lowercase hex) for other controls, DEL and C1 raw, escaped non-ASCII written raw."},
    "NonAscii": {"bugType": "FUNCTIONALITY", "description": "Non-ASCII text (Kazakh, Cyrillic, emoji) is signed as raw UTF-8."},
    "FloatFormat": {"bugType": "KNOWN_BUG", "description": "Every number is a float64, written by Go's float encoder: shortest digits, plain below 1e21 and from 1e-6, exponent form outside (1e+21, 1e-7), -0 kept, 100.0 and 1E2 written 100."},
    "BigInteger": {"bugType": "KNOWN_BUG", "description": "Integers beyond 2^53 are rounded to float64 and written with their shortest digits (12345678901234567890 -> 12345678901234567000)."},
    "DuplicateKey": {"bugType": "FUNCTIONALITY", "description": "A repeated key: the last value wins, at every depth."},
    "InvalidUtf8": {"bugType": "KNOWN_BUG", "description": "Each byte that does not start a valid UTF-8 sequence in a string becomes U+FFFD (one per byte, unlike Python's maximal-subpart replacement)."},
    "Surrogate": {"bugType": "KNOWN_BUG", "description": "A \\u escape of a lone surrogate becomes U+FFFD; a valid pair becomes one astral character."},
    "EmptyField": {"bugType": "FUNCTIONALITY", "description": "A top-level field whose value is the empty string: signed by the documents' Go sample, left out by the public signing page (omit-empty variant)."},
    "NullBody": {"bugType": "EDGE_CASE", "description": "The body `null`: Go's Unmarshal into a map leaves it nil and Marshal writes null, so Go signs it; a gateway may still refuse the body for other reasons."},
    "RefusedBody": {"bugType": "MALFORMED_INPUT", "description": "Go's json.Unmarshal into map[string]interface{} refuses the body, so no signature exists; `error` gives a hint."},
    "SecretEdge": {"bugType": "EDGE_CASE", "description": "An unusual secret (empty, non-ASCII, trailing space): appended as its UTF-8 bytes, unmodified."},
    "WrongSignature": {"bugType": "AUTH_BYPASS", "description": "The presented signature is not the one for this body and secret; a gateway must reject it."},
    "OtherGoVersion": {"bugType": "FUNCTIONALITY", "description": "The presented signature is the one the other Go version computes: a gateway built with that Go version accepts it."},
}


def b(text: str) -> bytes:
    return text.encode("utf-8")


def obj(**fields: Any) -> bytes:
    """A compact body in the given order (not the canonical order)."""
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# (tcId, comment, flags, body, secret)
VALID: list[tuple[int, str, list[str], bytes, str]] = [
    (1, "public signing page example (signature given on the page)", ["DocumentExample"], DOC_EXAMPLE, "12345"),
    (2, "account check Go sample body (struct order, secret 12345)", ["DocumentExample", "KeyOrder"], GO_SAMPLE_CHECK, "12345"),
    (3, "payment status Go sample body (struct order, secret 12345)", ["DocumentExample", "KeyOrder"], GO_SAMPLE_STATUS, "12345"),
    (4, "empty object", [], b"{}", "12345"),
    (5, "keys already sorted", ["KeyOrder"], b'{"a":"1","b":"2","c":"3"}', "12345"),
    (6, "keys reversed", ["KeyOrder"], b'{"c":"3","b":"2","a":"1"}', "12345"),
    (7, "upper case sorts before lower case (byte order, not case-insensitive)", ["KeyOrder"], b'{"b":1,"B":2,"a":3,"A":4,"_":5}', "12345"),
    (8, "numeric-looking keys sort as strings: 10 before 9", ["KeyOrder"], b'{"9":"x","10":"y","1":"z","01":"w"}', "12345"),
    (9, "prefix key sorts first", ["KeyOrder"], b'{"service_code":"1","service":"2","servic":"3"}', "12345"),
    (10, "non-ASCII keys after ASCII, Cyrillic before Kazakh extended letters", ["KeyOrder", "NonAscii"], b('{"ә":1,"а":2,"z":3,"ғ":4,"я":5}'), "12345"),
    (11, "astral key vs U+E000-U+FFFF key: UTF-8 order puts U+FFFD before U+1F600 (UTF-16 order would not)", ["KeyOrder", "NonAscii"], b('{"\U0001F600":1,"\ufffd":2,"\ue000":3,"\uffff":4}'), "12345"),
    (12, "nested object keys are sorted too", ["Nesting", "KeyOrder"], b'{"z":{"b":1,"a":{"d":2,"c":3}},"a":[{"y":1,"x":2}]}', "12345"),
    (13, "arrays keep their order", ["Nesting"], b'{"list":[3,1,2,"b","a",true,false,null,[],{}]}', "12345"),
    (14, "true, false, null values", [], b'{"t":true,"f":false,"n":null}', "12345"),
    (15, "whitespace everywhere (spaces, tabs, CR, LF) is not signed", ["Whitespace"], b' {\r\n\t"agent" :\t"a" ,\n "list" : [ 1 , 2 ] , "o" : { } }\n\t ', "12345"),
    (16, "pretty-printed payment status body", ["Whitespace"], b'{\n    "agent": "agent",\n    "project": "project",\n    "service_code": "service",\n    "external_id": "reference"\n}\n', "12345"),
    (17, "less-than, greater-than, ampersand escaped as \\u003c \\u003e \\u0026", ["HtmlEscape"], b'{"username":"<script>&amp;</script>"}', "12345"),
    (18, "HTML characters in a key are escaped too", ["HtmlEscape", "KeyOrder"], b'{"a&b":1,"a<b":2,"a>b":3}', "12345"),
    (19, "U+2028 and U+2029 raw in the body are escaped", ["HtmlEscape"], b('{"memo":"line\u2028para\u2029end"}'), "12345"),
    (20, "U+2028 given as an escape is written as an escape", ["HtmlEscape"], rb'{"memo":"\u2028"}', "12345"),
    (21, "newline, carriage return, tab short escapes", ["StringEscape"], rb'{"s":"a\nb\rc\td"}', "12345"),
    (22, "quote and backslash", ["StringEscape"], rb'{"s":"say \"hi\" \\ bye"}', "12345"),
    (23, "escaped slash is written unescaped", ["StringEscape"], rb'{"url":"https:\/\/example.kz\/a"}', "12345"),
    (24, "other control characters as \\u00XX lowercase hex", ["StringEscape"], rb'{"s":"\u0000\u0001\u001f\u000B\u001B"}', "12345"),
    (25, "backspace and form feed: \\b \\f since Go 1.22, \\u0008 \\u000c before", ["StringEscape"], rb'{"s":"\b\f"}', "12345"),
    (26, "backspace given as \\u0008 in the body", ["StringEscape"], rb'{"s":"\u0008x\u000C"}', "12345"),
    (27, "escaped backslash followed by the letter b is not a backspace", ["StringEscape"], rb'{"s":"\\b\\f\\\b"}', "12345"),
    (28, "DEL and C1 control characters stay raw", ["StringEscape"], b('{"s":"\x7f\u0080\u0085\u009f"}'), "12345"),
    (29, "escaped non-ASCII is written as raw UTF-8", ["StringEscape", "NonAscii"], rb'{"s":"\u00e9\u0451\u04d9\u20ac"}', "12345"),
    (30, "escaped ASCII letters are written raw", ["StringEscape"], rb'{"\u0061gent":"\u0074arlan"}', "12345"),
    (31, "Kazakh letters", ["NonAscii"], b('{"username":"әғқңөұүһі ӘҒҚҢӨҰҮҺІ"}'), "12345"),
    (32, "Cyrillic text", ["NonAscii"], b('{"comment":"Проверка статуса пополнения","agent":"тарлан"}'), "12345"),
    (33, "emoji (astral, four UTF-8 bytes) and a ZWJ sequence", ["NonAscii"], b('{"s":"\U0001F600 \U0001F468\u200d\U0001F469\u200d\U0001F467"}'), "12345"),
    (34, "escaped surrogate pair becomes one raw astral character", ["Surrogate", "NonAscii"], rb'{"s":"\ud83d\ude00"}', "12345"),
    (35, "lone high surrogate escape becomes U+FFFD", ["Surrogate"], rb'{"s":"a\ud800b"}', "12345"),
    (36, "lone low surrogate escape becomes U+FFFD", ["Surrogate"], rb'{"s":"\udc00"}', "12345"),
    (37, "high surrogate followed by another high then a valid pair", ["Surrogate"], rb'{"s":"\ud800\ud800\udc00"}', "12345"),
    (38, "reversed pair: two U+FFFD", ["Surrogate"], rb'{"s":"\udc00\ud800"}', "12345"),
    (39, "lone surrogate in a key", ["Surrogate", "KeyOrder"], rb'{"\udfff":1,"z":2}', "12345"),
    (40, "invalid UTF-8 byte 0xFF in a string becomes U+FFFD", ["InvalidUtf8"], b'{"s":"a\xffb"}', "12345"),
    (41, "truncated three-byte sequence E2 82: two U+FFFD in Go (one in Python's replace)", ["InvalidUtf8"], b'{"s":"\xe2\x82A"}', "12345"),
    (42, "UTF-8-encoded surrogate ED A0 80: three U+FFFD", ["InvalidUtf8", "Surrogate"], b'{"s":"\xed\xa0\x80"}', "12345"),
    (43, "overlong encoding C0 AF of '/'", ["InvalidUtf8"], b'{"s":"\xc0\xaf"}', "12345"),
    (44, "lone continuation byte and code point above U+10FFFF", ["InvalidUtf8"], b'{"s":"\x80 \xf4\x90\x80\x80"}', "12345"),
    (45, "invalid UTF-8 in a key", ["InvalidUtf8", "KeyOrder"], b'{"k\xfe":1,"k":2}', "12345"),
    (46, "truncated four-byte emoji at the end of a string", ["InvalidUtf8"], b'{"s":"\xf0\x9f\x98"}', "12345"),
    (47, "integer amount", ["FloatFormat"], b'{"amount":100}', "12345"),
    (48, "100.0 is written 100", ["FloatFormat"], b'{"amount":100.0}', "12345"),
    (49, "1E2 is written 100", ["FloatFormat"], b'{"amount":1E2}', "12345"),
    (50, "decimal amount 100.5", ["FloatFormat"], b'{"amount":100.5}', "12345"),
    (51, "0.1 and 0.30000000000000004 (shortest round-trip digits)", ["FloatFormat"], b'{"a":0.1,"b":0.30000000000000004,"c":0.3}', "12345"),
    (52, "1e-6 is the last plain-format value", ["FloatFormat"], b'{"x":0.000001}', "12345"),
    (53, "9.99e-7 switches to exponent form", ["FloatFormat"], b'{"x":9.99e-7}', "12345"),
    (54, "1e-7 written 1e-7 (Go cleans e-07)", ["FloatFormat"], b'{"x":0.0000001}', "12345"),
    (55, "1e-10 keeps its two exponent digits", ["FloatFormat"], b'{"x":1e-10}', "12345"),
    (56, "999999999999999900000 just below 1e21 stays plain", ["FloatFormat", "BigInteger"], b'{"x":999999999999999900000}', "12345"),
    (57, "1e21 switches to exponent form 1e+21", ["FloatFormat", "BigInteger"], b'{"x":1000000000000000000000}', "12345"),
    (58, "1e20 written in full", ["FloatFormat"], b'{"x":1e20}', "12345"),
    (59, "negative zero stays -0", ["FloatFormat"], b'{"x":-0,"y":-0.0,"z":0}', "12345"),
    (60, "smallest subnormal 5e-324", ["FloatFormat"], b'{"x":5e-324}', "12345"),
    (61, "largest float64 1.7976931348623157e308", ["FloatFormat"], b'{"x":1.7976931348623157e308}', "12345"),
    (62, "negative and exponent forms: -1.5E+3, 2.5e-3", ["FloatFormat"], b'{"a":-1.5E+3,"b":2.5e-3,"c":-2.5e-8}', "12345"),
    (63, "underflow to zero is not an error: 1e-400 -> 0, -1e-400 -> -0", ["FloatFormat"], b'{"a":1e-400,"b":-1e-400}', "12345"),
    (64, "a decimal halfway between 0 and 5e-324 rounds to even (0)", ["FloatFormat"], ('{"x":%se-324}' % HALFWAY_MIN_SUBNORMAL).encode(), "12345"),
    (65, "the same halfway decimal plus a digit beyond 800 digits rounds up", ["FloatFormat"], ('{"x":%s%se-324}' % (HALFWAY_MIN_SUBNORMAL, "0" * 200 + "1")).encode(), "12345"),
    (66, "2^53 + 1 rounds to 9007199254740992", ["BigInteger"], b'{"x":9007199254740993}', "12345"),
    (67, "12345678901234567890 -> 12345678901234567000", ["BigInteger"], b'{"x":12345678901234567890}', "12345"),
    (68, "2^53 - 1 exact", ["BigInteger"], b'{"x":9007199254740991,"y":-9007199254740991}', "12345"),
    (69, "a 400-digit integer below the float64 maximum", ["BigInteger", "FloatFormat"], ('{"x":%s}' % ("1" + "0" * 300)).encode(), "12345"),
    (70, "duplicate top-level key: last wins", ["DuplicateKey"], b'{"agent":"first","agent":"second"}', "12345"),
    (71, "duplicate nested key: last wins, objects are not merged", ["DuplicateKey", "Nesting"], b'{"o":{"a":1,"a":2},"o":{"b":3}}', "12345"),
    (72, "keys equal after unescaping are duplicates", ["DuplicateKey", "StringEscape"], rb'{"a":1,"\u0061":2}', "12345"),
    (73, "keys equal after U+FFFD replacement are duplicates", ["DuplicateKey", "InvalidUtf8"], b'{"\xff":1,"\xfe":2}', "12345"),
    (74, "deep nesting (100 levels)", ["Nesting"], b'{"a":' + b"[" * 99 + b"]" * 99 + b"}", "12345"),
    (75, "nesting at Go's limit: 10000 levels including the top object", ["Nesting"], b'{"a":' + b"[" * 9999 + b"]" * 9999 + b"}", "12345"),
    (76, "empty secret", ["SecretEdge"], DOC_EXAMPLE, ""),
    (77, "non-ASCII secret (UTF-8 bytes appended)", ["SecretEdge"], DOC_EXAMPLE, "сек-рет-ә"),
    (78, "secret with a trailing space is not trimmed", ["SecretEdge"], DOC_EXAMPLE, "12345 "),
    (79, "empty string field is signed by the Go sample", ["EmptyField"], b'{"agent":"agent","username":"","project":"project","service_code":"servise"}', "12345"),
    (80, "typical payment with Kazakh username and HTML in a comment", ["NonAscii", "HtmlEscape"], b('{"agent":"tarlan","username":"Әлия","project":"mobile","service_code":"201106","comment":"a&b"}'), "12345"),
    (81, "JSON null body: Go signs `null`", ["NullBody"], b"null", "12345"),
    (82, "long string value (10000 characters)", [], b'{"s":"' + b"x" * 10000 + b'"}', "12345"),
]

REFUSED: list[tuple[int, str, list[str], bytes, str]] = [
    (200, "empty body", [], b"", "unexpected end of JSON input"),
    (201, "top-level array", [], b'[{"agent":"a"}]', "not a JSON object"),
    (202, "top-level string", [], b'"agent"', "not a JSON object"),
    (203, "top-level number", [], b"100", "not a JSON object"),
    (204, "top-level true", [], b"true", "not a JSON object"),
    (205, "NaN (Python's json accepts it)", [], b'{"amount":NaN}', "NaN"),
    (206, "Infinity (Python's json accepts it)", [], b'{"amount":Infinity}', "Infinity"),
    (207, "-Infinity (Python's json accepts it)", [], b'{"amount":-Infinity}', "Infinity"),
    (208, "number overflowing float64: 1e400", ["FloatFormat"], b'{"amount":1e400}', "overflows float64"),
    (209, "a decimal rounding up past the float64 maximum", ["FloatFormat"], b'{"x":1.7976931348623159e308}', "overflows float64"),
    (210, "a 400-digit integer", ["BigInteger"], ('{"x":%s}' % ("9" * 400)).encode(), "overflows float64"),
    (211, "UTF-8 byte order mark before the object", [], b'\xef\xbb\xbf{"a":1}', "byte order mark"),
    (212, "trailing data after the object", [], b'{"a":1}x', "after top-level value"),
    (213, "two objects", [], b'{"a":1}{"b":2}', "after top-level value"),
    (214, "leading zero", ["FloatFormat"], b'{"a":01}', "invalid character"),
    (215, "trailing comma in an object", [], b'{"a":1,}', "invalid character"),
    (216, "trailing comma in an array", [], b'{"a":[1,]}', "invalid character"),
    (217, "single-quoted string", [], b"{'a':1}", "invalid character"),
    (218, "invalid escape \\x", ["StringEscape"], rb'{"a":"\x41"}', "escape"),
    (219, "invalid escape \\' (JavaScript, not JSON)", ["StringEscape"], rb"""{"a":"it\'s"}""", "escape"),
    (220, "short \\u escape", ["StringEscape"], rb'{"a":"\u12"}', "escape"),
    (221, "raw tab inside a string", ["StringEscape"], b'{"a":"x\ty"}', "control characters"),
    (222, "raw newline inside a string", ["StringEscape"], b'{"a":"x\ny"}', "control characters"),
    (223, "raw NUL inside a string", ["StringEscape"], b'{"a":"x\x00y"}', "control characters"),
    (224, "unterminated string", [], b'{"a":"x', "unexpected end of JSON input"),
    (225, "unquoted key", [], b"{a:1}", "invalid character"),
    (226, "nesting one level beyond Go's limit (10001 levels)", ["Nesting"], b'{"a":' + b"[" * 10000 + b"]" * 10000 + b"}", "deeper than 10000"),
    (227, "number without digits after the point", ["FloatFormat"], b'{"a":1.}', "invalid character"),
    (228, "number starting with a point", ["FloatFormat"], b'{"a":.5}', "invalid character"),
    (229, "plus sign before a number", ["FloatFormat"], b'{"a":+1}', "invalid character"),
    (230, "vertical tab as whitespace", ["Whitespace"], b'{"a":1,\x0b"b":2}', "invalid character"),
    (231, "non-breaking space as whitespace", ["Whitespace"], b('{"a":1,\u00a0"b":2}'), "invalid character"),
    (232, "hexadecimal number", ["FloatFormat"], b'{"a":0x10}', "invalid character"),
    (233, "comment", [], b'{"a":1 /* note */}', "invalid character"),
    (234, "UTF-16 encoded body", ["InvalidUtf8"], '{"a":1}'.encode("utf-16-le"), "invalid character"),
    (235, "invalid UTF-8 outside a string", ["InvalidUtf8"], b'{"a":1\xff}', "invalid character"),
    (236, "capitalised literal True", [], b'{"a":True}', "invalid character"),
]


def naive_python(body: bytes, secret: str) -> str | None:
    """The signing page's Python sample; None when it raises."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        encoded = base64.b64encode(canonical.encode("utf-8"))
    except (ValueError, RecursionError, TypeError, UnicodeError):
        return None
    return hashlib.sha256(encoded + secret.encode("utf-8")).hexdigest()


def expected(body: bytes, secret: str, variant: Variant) -> str | None:
    try:
        return sign(body, secret, variant).signature
    except SignerError:
        return None


def computed_flags(flags: list[str], body: bytes, secret: str, variant: Variant) -> list[str]:
    out = list(flags)
    if naive_python(body, secret) != expected(body, secret, variant):
        out.append("NaivePythonDiffers")
    if expected(body, "", Variant(legacy_escapes=True, omit_empty=variant.omit_empty)) != expected(
        body, "", Variant(legacy_escapes=False, omit_empty=variant.omit_empty)
    ):
        out.append("GoVersionDependent")
    return out


def valid_test(tc_id: int, comment: str, flags: list[str], body: bytes, secret: str, variant: Variant,
               result: str = "valid", presented: str | None = None) -> dict[str, Any]:
    signed = sign(body, secret, variant)
    return {
        "tcId": tc_id,
        "comment": comment,
        "flags": computed_flags(flags, body, secret, variant),
        "secret": secret,
        "body": base64.b64encode(body).decode("ascii"),
        "canonical": signed.canonical.decode("utf-8"),
        "base64": signed.base64,
        "signature": presented if presented is not None else signed.signature,
        "result": result,
    }


def refused_test(tc_id: int, comment: str, flags: list[str], body: bytes, hint: str, variant: Variant) -> dict[str, Any]:
    try:
        sign(body, "12345", variant)
    except SignerError as exc:
        if hint.lower() not in str(exc).lower():
            raise SystemExit(f"tcId {tc_id}: hint {hint!r} not in signer error {exc}") from None
    else:
        raise SystemExit(f"tcId {tc_id}: the signer accepts a body listed as refused")
    return {
        "tcId": tc_id,
        "comment": comment,
        "flags": computed_flags(["RefusedBody", *flags], body, "12345", variant),
        "secret": "12345",
        "body": base64.b64encode(body).decode("ascii"),
        "canonical": None,
        "base64": None,
        "signature": None,
        "result": "invalid",
        "error": hint,
    }


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wrong_signatures(variant: Variant) -> list[dict[str, Any]]:
    body, secret = DOC_EXAMPLE, "12345"
    good = sign(body, secret, variant)
    wire = b'{"service_code":"201106","agent":"tarlan","username":"989898","amount":100,"datetime":"2022-12-01T15:45:00Z","external_id":"200001","project":"mobile"}'
    html = b'{"agent":"tarlan","username":"a<b>&c"}'
    flip = good.signature[:-1] + ("0" if good.signature[-1] != "0" else "1")
    b64 = good.base64.encode("ascii")
    cases = [
        (300, "near miss: last hex digit changed", body, flip),
        (301, "upper-case hex", body, good.signature.upper()),
        (302, "truncated to 63 hex digits", body, good.signature[:63]),
        (303, "signed with another secret (12346)", body, sign(body, "12346", variant).signature),
        (304, "secret prepended instead of appended", body, _sha(secret.encode() + b64)),
        (305, "SHA-256 of the canonical JSON without Base64", body, _sha(good.canonical + secret.encode())),
        (306, "HMAC-SHA256 keyed with the secret instead of appending it", body, hmac.new(secret.encode(), b64, hashlib.sha256).hexdigest()),
        (307, "signature over the raw (unsorted) wire bytes", wire, _sha(base64.b64encode(wire) + secret.encode())),
        (308, "naive Python signature of a body with < > &", html, naive_python(html, secret)),
        (309, "URL-safe unpadded Base64 instead of the standard alphabet", body, _sha(base64.urlsafe_b64encode(good.canonical).rstrip(b"=") + secret.encode())),
        (310, "empty signature", body, ""),
        (311, "signature of another body (the account check Go sample)", body, sign(GO_SAMPLE_CHECK, secret, variant).signature),
    ]
    tests = []
    for tc_id, comment, case_body, presented in cases:
        assert presented != sign(case_body, secret, variant).signature, tc_id
        tests.append(valid_test(tc_id, comment, ["WrongSignature"], case_body, secret, variant, "invalid", presented))
    return tests


def build() -> dict[str, Any]:
    default_tests = [valid_test(*case, DEFAULT) for case in VALID]
    default_tests += [refused_test(*case, DEFAULT) for case in REFUSED]
    default_tests += wrong_signatures(DEFAULT)
    backspace = rb'{"s":"\b\f","agent":"tarlan"}'
    default_tests.append(valid_test(
        400, "signature a Go < 1.22 gateway computes for a body with \\b \\f",
        ["OtherGoVersion"], backspace, "12345", DEFAULT, "acceptable", sign(backspace, "12345", LEGACY).signature))

    legacy_cases = [c for c in VALID if c[0] in (1, 2, 3, 17, 21, 24, 25, 26, 27, 28, 31, 35, 41, 51, 59, 67)]
    legacy_tests = [valid_test(500 + c[0], c[1], c[2], c[3], c[4], LEGACY) for c in legacy_cases]
    legacy_tests.append(valid_test(
        600, "signature a Go >= 1.22 gateway computes for a body with \\b \\f",
        ["OtherGoVersion"], backspace, "12345", LEGACY, "acceptable", sign(backspace, "12345", DEFAULT).signature))

    empty = b'{"agent":"agent","username":"","project":"project","service_code":"servise"}'
    omit_tests = [
        valid_test(700, "public signing page: the empty username is left out", ["EmptyField"], empty, "12345", OMIT),
        valid_test(701, "only top-level empty strings are left out, nested ones stay", ["EmptyField", "Nesting"], b'{"a":"","o":{"b":""},"l":[""],"c":"x"}', "12345", OMIT),
        valid_test(702, "null, 0, false, {} and [] are not empty strings", ["EmptyField"], b'{"a":null,"b":0,"c":false,"d":{},"e":[],"f":" "}', "12345", OMIT),
        valid_test(703, "\\u0000 is not an empty string: the field is kept", ["EmptyField", "StringEscape"], rb'{"a":"\u0000","b":""}', "12345", OMIT),
        valid_test(704, "document example has no empty field: same signature as the Go sample", ["DocumentExample"], DOC_EXAMPLE, "12345", OMIT),
        valid_test(705, "Go sample signature presented to an omit-empty gateway", ["EmptyField", "WrongSignature"], empty, "12345", OMIT, "invalid", sign(empty, "12345", DEFAULT).signature),
        valid_test(706, "every field empty: signs {}", ["EmptyField"], b'{"agent":"","project":""}', "12345", OMIT),
    ]

    groups = [
        {"type": "SignatureTest", "variant": _variant_json(DEFAULT), "tests": default_tests},
        {"type": "SignatureTest", "variant": _variant_json(LEGACY), "tests": legacy_tests},
        {"type": "SignatureTest", "variant": _variant_json(OMIT), "tests": omit_tests},
    ]
    count = sum(len(g["tests"]) for g in groups)
    assert default_tests[0]["signature"] == DOC_EXAMPLE_SIGNATURE
    return {
        "algorithm": "AGWS-X-Signature",
        "schema": "signature_vectors.schema.json",
        "generatorVersion": GENERATOR_VERSION,
        "numberOfTests": count,
        "header": [
            "Test vectors for the AGWS X-Signature header: lowercase hex SHA-256 of",
            "Base64(StdEncoding, padded) of Go's json.Marshal(map[string]interface{}) of the body,",
            "with the project secret (UTF-8) appended. `body` is the Base64 of the exact body bytes;",
            "`canonical` is the expected json.Marshal output (null when Go's json.Unmarshal refuses",
            "the body). `signature` is the presented signature: for result=valid the right one,",
            "for result=invalid a wrong one (or null for refused bodies), for result=acceptable the",
            "one the other Go version computes. Expected values are cross-checked against real Go",
            "(tools/gosign) by vectors/generate.py and tests/test_go_crosscheck.py.",
        ],
        "notes": NOTES,
        "testGroups": groups,
    }


def _variant_json(variant: Variant) -> dict[str, Any]:
    return {
        "name": variant.name,
        "legacyEscapes": variant.legacy_escapes,
        "omitEmpty": variant.omit_empty,
        "escapeHtml": variant.escape_html,
    }


def check_with_go(document: dict[str, Any]) -> int:
    """Run every body through the Go reference signer; return how many were compared."""
    spec = importlib.util.spec_from_file_location("gosign", ROOT / "tools" / "gosign" / "gosign.py")
    gosign = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(gosign)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as tmp:
        exe = gosign.build(Path(tmp))
        legacy = gosign.is_legacy(gosign.go_version(Path(tmp)))
        todo = []
        for group in document["testGroups"]:
            v = group["variant"]
            for test in group["tests"]:
                body = base64.b64decode(test["body"])
                if v["legacyEscapes"] != legacy and "GoVersionDependent" in test["flags"]:
                    continue  # this Go cannot speak for the other version's escapes
                todo.append((test, body, v))
        answers = gosign.run(exe, [(body, t["secret"], v["omitEmpty"]) for t, body, v in todo])
    for (test, body, _), go in zip(todo, answers, strict=True):
        mine = None if test["canonical"] is None else test["canonical"].encode("utf-8")
        if go["canonical"] != mine:
            raise SystemExit(f"tcId {test['tcId']}: Go gives {go['canonical']!r} ({go['error']}), vectors {mine!r}")
        if mine is not None and test["result"] == "valid" and go["signature"] != test["signature"]:
            raise SystemExit(f"tcId {test['tcId']}: Go signature {go['signature']} differs")
    return len(todo)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-go", action="store_true", help="skip the Go cross-check (preview only)")
    parser.add_argument("--output", type=Path, default=HERE / "signature_vectors.json")
    args = parser.parse_args()
    document = build()
    if not args.no_go:
        checked = check_with_go(document)
        print(f"Go agrees on {checked} of {document['numberOfTests']} tests", file=sys.stderr)
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {document['numberOfTests']} tests to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
