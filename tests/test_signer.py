"""The signer's own contract: Go's rules, the fast path agreeing with the exact path, the API."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agws_conformance import signer
from agws_conformance.signer import (
    DEFAULT_VARIANT,
    Signature,
    SignerError,
    Variant,
    canonical_from_value,
    canonicalize,
    go_struct_body,
    sign,
    signature_of_canonical,
)

DOC_BODY = (
    b'{"agent":"tarlan","amount":100,"datetime":"2022-12-01T15:45:00Z","external_id":"200001",'
    b'"project":"mobile","service_code":"201106","username":"989898"}'
)


def test_public_signing_page_example() -> None:
    signed = sign(DOC_BODY, "12345")
    assert signed.signature == "9ab70986d5b875e66fc92368029f845275a1208633eb9dda821bbabf99cac4b2"
    assert signed.canonical == DOC_BODY  # already canonical
    assert base64.b64decode(signed.base64) == signed.canonical


def test_signature_is_sha256_of_base64_plus_secret() -> None:
    signed = sign(b'{"b":1,"a":"x"}', "sек")
    expected = hashlib.sha256(signed.base64.encode() + "sек".encode()).hexdigest()
    assert signed.signature == expected == signature_of_canonical(signed.canonical, "sек".encode())


@pytest.mark.parametrize(
    ("body", "canonical"),
    [
        (b'{"b":1,"a":{"d":1,"c":2}}', b'{"a":{"c":2,"d":1},"b":1}'),
        (b'{"x":"<&>"}', rb'{"x":"\u003c\u0026\u003e"}'),
        (b'{"<":1}', rb'{"\u003c":1}'),
        ('{"x":"\u2028\u2029"}'.encode(), rb'{"x":"\u2028\u2029"}'),
        (rb'{"x":"\u0001\u001f\n\r\t\"\\\/"}', rb'{"x":"\u0001\u001f\n\r\t\"\\/"}'),
        (b'{"x":"\x7f\xc2\x80"}', b'{"x":"\x7f\xc2\x80"}'),
        (b'{"x":100.0,"y":1E2,"z":-0}', b'{"x":100,"y":100,"z":-0}'),
        (b'{"x":1e21,"y":999999999999999900000,"z":1e-7,"w":0.000001}', b'{"w":0.000001,"x":1e+21,"y":999999999999999900000,"z":1e-7}'),
        (b'{"x":9007199254740993,"y":12345678901234567890}', b'{"x":9007199254740992,"y":12345678901234567000}'),
        (b'{"a":1,"a":{"x":1},"a":[2]}', b'{"a":[2]}'),
        (rb'{"x":"\ud800"}', '{"x":"\ufffd"}'.encode()),
        (rb'{"x":"\ud83d\ude00"}', '{"x":"\U0001F600"}'.encode()),
        (b'{"x":"\xe2\x82A"}', '{"x":"\ufffd\ufffdA"}'.encode()),
        (b"null", b"null"),
    ],
)
def test_go_rules(body: bytes, canonical: bytes) -> None:
    assert canonicalize(body) == canonical


def test_keys_sort_by_utf8_bytes_not_utf16() -> None:
    # UTF-16 (JavaScript, Java) would put U+1F600 (a surrogate pair, 0xD83D...) before U+FFFD.
    assert canonicalize('{"\U0001F600":1,"\ufffd":2,"\ue000":3}'.encode()) == '{"\ue000":3,"\ufffd":2,"\U0001F600":1}'.encode()


def test_legacy_escapes_only_change_backspace_and_form_feed() -> None:
    body = rb'{"x":"\b\f\\b\n"}'
    assert canonicalize(body) == rb'{"x":"\b\f\\b\n"}'
    assert canonicalize(body, Variant(legacy_escapes=True)) == rb'{"x":"\u0008\u000c\\b\n"}'


def test_omit_empty_only_top_level_strings() -> None:
    body = b'{"a":"","b":{"c":""},"d":null,"e":"x"}'
    assert canonicalize(body, Variant(omit_empty=True)) == b'{"b":{"c":""},"d":null,"e":"x"}'


def test_escape_html_off_models_a_non_go_signer() -> None:
    assert canonicalize(b'{"x":"<&>"}', Variant(escape_html=False)) == b'{"x":"<&>"}'


def test_variant_names() -> None:
    assert DEFAULT_VARIANT.name == "go1.22"
    assert Variant(legacy_escapes=True, omit_empty=True).name == "go1.21+omit-empty"
    assert Variant(escape_html=False).name == "go1.22+no-html-escape"


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"x"', b"1", b"true", b"", b" ", b'{"a":NaN}', b'{"a":-Infinity}', b'{"a":1e309}',
     b'\xef\xbb\xbf{}', b'{"a":1} {}', b'{"a":01}', b'{"a":"\x00"}', rb'{"a":"\x"}', b"{'a':1}",
     b'{"a":1,}', b'{"a":' + b"[" * 10000 + b"]" * 10000 + b"}"],
)
def test_refused_bodies_raise_one_line_signer_error(body: bytes) -> None:
    with pytest.raises(SignerError) as info:
        canonicalize(body)
    message = str(info.value)
    assert message and "\n" not in message
    assert isinstance(info.value, ValueError)


def test_deep_nesting_at_the_limit_is_fine() -> None:
    depth = signer.MAX_DEPTH - 1
    body = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    assert canonicalize(body) == body


def test_huge_integer_strings_do_not_hit_python_int_limits() -> None:
    assert canonicalize(b'{"a":' + b"1" * 300 + b"}") == b'{"a":1.1111111111111112e+299}'
    with pytest.raises(SignerError, match="overflows float64"):
        canonicalize(b'{"a":' + b"1" * 5000 + b"}")


def test_accepts_bytes_like_and_rejects_text() -> None:
    assert canonicalize(bytearray(b'{"a":1}')) == canonicalize(memoryview(b'{"a":1}')) == b'{"a":1}'
    with pytest.raises(TypeError):
        canonicalize('{"a":1}')  # type: ignore[arg-type]


def test_secret_never_kept_in_signature_repr() -> None:
    signed = sign(b'{"a":1}', "TOP-SECRET-VALUE")
    assert "TOP-SECRET-VALUE" not in repr(signed)
    assert set(Signature.__dataclass_fields__) == {"canonical", "base64", "signature"}


def test_canonical_from_value() -> None:
    assert canonical_from_value({"b": 2**53 + 1, "a": 100.0, "c": "\ud800<", "d": (1, None, True)}) == (
        '{"a":100,"b":9007199254740992,"c":"\ufffd\\u003c","d":[1,null,true]}'.encode()
    )
    for bad in ({"a": float("nan")}, {1: "x"}, {"a": object()}, {"a": 10**400}):
        with pytest.raises(SignerError):
            canonical_from_value(bad)  # type: ignore[arg-type]
    with pytest.raises(SignerError):
        canonical_from_value([1])  # type: ignore[arg-type]


def test_go_struct_body_keeps_struct_order() -> None:
    wire = go_struct_body({"agent": "agent", "username": "login", "project": "project", "service_code": "servise"})
    assert wire == b'{"agent":"agent","username":"login","project":"project","service_code":"servise"}'
    assert go_struct_body({"b": "<x>", "a": "\u2028"}) == rb'{"b":"\u003cx\u003e","a":"\u2028"}'


# ---- the fast path (Python's json + fix-ups) must agree with the exact parser and encoder

_json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**30), 10**30)
    | st.text(st.characters(codec="utf-8")) | st.sampled_from(["<&>", "\b\f", "\\b", "\u2028", "\x7f", ""]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(st.text(max_size=5), _json_values, max_size=5),
       legacy=st.booleans(), omit=st.booleans(), html=st.booleans(), indent=st.sampled_from([None, 1]))
def test_fast_path_equals_exact_path(value: dict, legacy: bool, omit: bool, html: bool, indent: int | None) -> None:
    body = json.dumps(value, ensure_ascii=bool(indent), indent=indent).encode()
    variant = Variant(legacy_escapes=legacy, omit_empty=omit, escape_html=html)
    exact_value = signer._Parser(body).parse()
    exact = signer._encoder(variant)(
        {k: v for k, v in exact_value.items() if not (omit and v == "")} if omit else exact_value
    ).encode()
    assert canonicalize(body, variant) == exact
    assert canonical_from_value(value, variant) == exact
