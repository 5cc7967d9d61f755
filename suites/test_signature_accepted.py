"""Correctly signed requests are accepted whatever bytes carry them.

The documents' Go ``MakeSign`` decodes the body and re-encodes it with ``json.Marshal`` before
hashing, so the gateway verifies Go's canonical form (sorted keys, compact, HTML-escaped), not the
bytes on the wire. Every test here signs with ``agws.sign`` over the bytes actually sent (the
signer canonicalizes them) and varies only how those bytes are written: key order, whitespace,
``\\uXXXX`` escapes, and awkward characters in the values.

"Accepted" means the request got past the signature check: a success or a documented expected
error (1407/1041 for an unknown username/external_id), never 1014. A 1407/1041 counts only once the
run has shown that the target checks signatures before it looks identifiers up (SIG-BEFORE-LOOKUP):
otherwise it would answer 1407 to any signature. Where the target file declares an account or
payment whose value has the characters under test, that value is sent too, so acceptance is shown
by a success. The full response is judged too, so an accepted request must also come back
well-formed. An answer that is neither (an HTML page, a 5xx) does not show whether the signature
passed, so it fails the endpoint's rules instead.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest

from agws_conformance import judge, signer
from agws_conformance.endpoints import LOOKUP_FIELDS, LOOKUP_METHODS, METHODS
from agws_conformance.findings import invariant

ENDPOINTS = LOOKUP_METHODS  # the read-only methods that look an identifier up (endpoints.METHODS)

KAZAKH = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
# name -> (a sample appended to a generated unknown value, does a configured value belong to it?)
CHARACTER_CLASSES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "html": ("<tom&jerry>", lambda v: any(c in v for c in "<>&")),
    "cyrillic": ("Иван Петров", lambda v: re.search("[\u0400-\u04ff]", v) is not None),
    "kazakh": ("ә ғ қ ң ө ұ ү һ і Ә Ғ Қ Ң Ө Ұ Ү Һ І", lambda v: any(c in KAZAKH for c in v)),
    "emoji": ("🚗🇰🇿👍🏽", lambda v: any(ord(c) > 0xFFFF for c in v)),
    "line-separators": ("a\u2028b\u2029c", lambda v: "\u2028" in v or "\u2029" in v),
}


# -- building bytes ------------------------------------------------------------------------


def _object(pairs: list[tuple[str, Any]], *, string: Callable[[str], str] = lambda s: json.dumps(s, ensure_ascii=False),
            key: Callable[[str], str] | None = None, sep: str = ",", colon: str = ":") -> bytes:
    """A JSON object written pair by pair, with a chosen string writer and separators."""
    key = key or string
    return ("{" + sep.join(f"{key(k)}{colon}{string(v)}" for k, v in pairs) + "}").encode("utf-8")


def _escape_every_char(s: str, *, upper: bool = False) -> str:
    """Every character as ``\\uXXXX`` (astral ones as a UTF-16 surrogate pair): valid, and never Go's form."""
    units = s.encode("utf-16-be")
    hexes = (f"{int.from_bytes(units[i:i + 2], 'big'):04x}" for i in range(0, len(units), 2))
    return '"' + "".join("\\u" + (h.upper() if upper else h) for h in hexes) + '"'


def _assert_not_canonical(agws, content: bytes) -> None:
    # Precondition, not a conformance check: bytes equal to the canonical form would let a
    # gateway that hashes the raw body pass, and the test would prove nothing.
    invariant(content != signer.canonicalize(content, agws.variant), f"{content!r} is already the canonical form")


# -- judging -------------------------------------------------------------------------------

SOURCES = ("declared", "generated")


def accepted_rules(endpoint: str, source: str) -> tuple[str, ...]:
    """What :func:`expect_accepted` judges: a success for a declared value; for a generated (unknown)
    one, the "not found" expected error and, before it counts, SIG-BEFORE-LOOKUP."""
    method = METHODS[endpoint]
    if source == "declared":
        return judge.success_rules(method.found, method.success_schema_requirement)
    return (*judge.expected_error_rules(method.missing), "SIG-BEFORE-LOOKUP")


def params(sources: tuple[str, ...] = SOURCES) -> list:
    """(endpoint, source) parameters, each declaring what its answers are judged by."""
    return [pytest.param(e, src, id=f"{e}-{src}", marks=pytest.mark.requirement(*accepted_rules(e, src)))
            for e in ENDPOINTS for src in sources]


def expect_accepted(agws, endpoint: str, resp, source: str, *, requirement: str) -> None:
    """Past the signature check (``requirement``), then the documented answer for the looked-up value."""
    __tracebackhide__ = True
    method = METHODS[endpoint]
    if source == "generated" and judge.passed_signature_check(resp):
        agws.require_signature_checked_first(endpoint)  # else 1407/1041 says nothing about the signature
    if judge.passed_signature_check(resp) or judge.rejected_by_signature(resp):
        agws.judge([judge.signature_accepted(resp, requirement=requirement)])
    # Otherwise (an HTML 404, a 5xx, ...) nothing shows whether the signature passed; the
    # endpoint's own rules below say what is wrong with the answer.
    if source == "declared":
        agws.expect_success(resp, requirement=method.found, schema=method.success_schema,
                            schema_requirement=method.success_schema_requirement)
    else:
        agws.expect_expected_error(resp, code=method.missing_code, requirement=method.missing)


def send_accepted(agws, endpoint: str, content: bytes, source: str, *, requirement: str) -> None:
    __tracebackhide__ = True
    resp = agws.send(endpoint, content=content, signature=agws.sign(content))
    expect_accepted(agws, endpoint, resp, source, requirement=requirement)


def _configured(agws, endpoint: str) -> list[str]:
    return ([a.username for a in agws.accounts()] if endpoint == "user/check"
            else [p.external_id for p in agws.target.payments])


def _declared(agws, endpoint: str, wanted: Callable[[str], bool] = lambda v: True, what: str = "") -> str:
    """A configured account or payment whose value ``wanted``; skip (lack of data) without one."""
    found = [v for v in _configured(agws, endpoint) if wanted(v)]
    if not found:
        kind = "[[accounts]] username" if endpoint == "user/check" else "[[payments]] external_id"
        pytest.skip(f"target {agws.target.name!r} configures no {kind}{' with ' + what if what else ''}; "
                    "the generated case of this test judges the rule")
    return found[0]


def _value_with(agws, endpoint: str, sample: str) -> str:
    """A fresh unknown lookup value carrying ``sample``."""
    base = agws.unknown_username() if endpoint == "user/check" else agws.unknown_external_id()
    return f"{base}-{sample}"


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.requirement("SIG-ACCEPT-GO-BODY")
@pytest.mark.parametrize("endpoint,source", params(("declared",)))
def test_go_client_body_is_accepted(agws, endpoint: str, source: str) -> None:
    """Exactly the documents' Go client: struct field order on the wire, the sorted map signed."""
    fields = agws.fields(endpoint, **{LOOKUP_FIELDS[endpoint]: _declared(agws, endpoint)})
    content = agws.encode(fields)
    _assert_not_canonical(agws, content)  # the struct order is not sorted (ERRATUM-GO-WIRE-ORDER)
    send_accepted(agws, endpoint, content, source, requirement="SIG-ACCEPT-GO-BODY")


ORDERS: dict[str, Callable[[list[str]], list[str]]] = {
    "reversed": lambda keys: sorted(keys, reverse=True),
    "rotated": lambda keys: sorted(keys)[1:] + sorted(keys)[:1],
    "swapped-middle": lambda keys: [sorted(keys)[0], sorted(keys)[2], sorted(keys)[1], sorted(keys)[3]],
    "lookup-first": lambda keys: [k for k in keys if k in LOOKUP_FIELDS.values()] + sorted(
        k for k in keys if k not in LOOKUP_FIELDS.values()),
}


@pytest.mark.requirement("SIG-CANON-ORDER")
@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("endpoint,source", params(("declared",)))
def test_key_order_does_not_matter(agws, endpoint: str, source: str, order: str) -> None:
    fields = agws.fields(endpoint, **{LOOKUP_FIELDS[endpoint]: _declared(agws, endpoint)})
    keys = ORDERS[order](list(fields))
    invariant(sorted(keys) == sorted(fields), "the permutation lost a key")
    content = agws.encode({k: fields[k] for k in keys})
    _assert_not_canonical(agws, content)
    send_accepted(agws, endpoint, content, source, requirement="SIG-CANON-ORDER")


WHITESPACE: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "pretty-printed": lambda f: json.dumps(f, indent=2, ensure_ascii=False).encode(),
    "tabs": lambda f: json.dumps(f, indent="\t", ensure_ascii=False).encode(),
    "crlf": lambda f: (json.dumps(f, indent=4, ensure_ascii=False).replace("\n", "\r\n") + "\r\n").encode(),
    "spaces-everywhere": lambda f: b"  " + _object(sorted(f.items()), sep=" ,  ", colon=" : ").replace(
        b"{", b"{ ").replace(b"}", b" }") + b" \n",
    "leading-newlines": lambda f: b"\n\n\r\n\t" + _object(sorted(f.items())),
}


@pytest.mark.requirement("SIG-CANON-WHITESPACE")
@pytest.mark.parametrize("style", sorted(WHITESPACE))
@pytest.mark.parametrize("endpoint,source", params(("declared",)))
def test_whitespace_does_not_matter(agws, endpoint: str, source: str, style: str) -> None:
    fields = agws.fields(endpoint, **{LOOKUP_FIELDS[endpoint]: _declared(agws, endpoint)})
    content = WHITESPACE[style](dict(sorted(fields.items())))  # sorted keys: only the whitespace differs
    _assert_not_canonical(agws, content)
    send_accepted(agws, endpoint, content, source, requirement="SIG-CANON-WHITESPACE")


def _escapable(chars: str) -> Callable[[str], bool]:
    return lambda v: any(c in v for c in chars)


# name -> (sample placed in a generated lookup value, how strings are written, whether keys are
# written that way too, which configured values show the escape)
ESCAPES: dict[str, tuple[str | None, Callable[[str], str], bool, Callable[[str], bool]]] = {
    # \uXXXX for everything non-ASCII, emoji as surrogate pairs (Python's default json.dumps)
    "non-ascii-as-u-escapes": ("Қасым Иван 🚗👍🏽", lambda s: json.dumps(s), False, lambda v: not v.isascii()),
    # every character of every value and key escaped, so a configured value still succeeds
    "every-character-escaped": (None, _escape_every_char, True, lambda v: True),
    "uppercase-hex-escapes": ("Ә🚗", lambda s: _escape_every_char(s, upper=True), False, lambda v: True),
    # '/' written '\/' (Go never writes it; JSON allows it)
    "solidus-escaped": ("a/b/c", lambda s: json.dumps(s).replace("/", "\\/"), False, _escapable("/")),
    # U+2028/U+2029 raw in the bytes (Go writes \u2028 \u2029)
    "line-separators-raw": ("x\u2028y\u2029z", lambda s: json.dumps(s, ensure_ascii=False), False,
                            _escapable("\u2028\u2029")),
    # short escapes a Go encoder writes differently or not at all
    "short-escapes": ("q\"b\\s\tn", lambda s: json.dumps(s).replace("\\t", "\\u0009").replace('\\"', "\\u0022"),
                      False, _escapable('\t"')),
}


@pytest.mark.requirement("SIG-CANON-ESCAPES")
@pytest.mark.parametrize("endpoint,source,case", [
    pytest.param(*p.values, case, id=f"{p.id}-{case}", marks=p.marks)
    for p in params() for case in sorted(ESCAPES) if ESCAPES[case][0] is not None or p.values[1] == "declared"])
def test_escapes_do_not_matter(agws, endpoint: str, source: str, case: str) -> None:
    sample, write, escape_keys, shows_it = ESCAPES[case]
    if source == "declared":
        value = _declared(agws, endpoint, shows_it, f"characters the {case} case escapes")
    else:
        value = _value_with(agws, endpoint, str(sample))
    fields = agws.fields(endpoint, **{LOOKUP_FIELDS[endpoint]: value})
    content = _object(sorted(fields.items()), string=write, key=write if escape_keys else lambda s: json.dumps(s))
    _assert_not_canonical(agws, content)
    send_accepted(agws, endpoint, content, source, requirement="SIG-CANON-ESCAPES")


def _value_for(agws, endpoint: str, character_class: str, source: str) -> str:
    """A configured value of the class (declared), or a generated unknown one carrying its sample."""
    sample, belongs = CHARACTER_CLASSES[character_class]
    if source == "declared":
        return _declared(agws, endpoint, belongs, f"{character_class} characters")
    return _value_with(agws, endpoint, sample)


@pytest.mark.parametrize("character_class", [
    pytest.param("html", marks=pytest.mark.requirement("SIG-CANON-HTML")),
    pytest.param("cyrillic", marks=pytest.mark.requirement("SIG-CANON-UNICODE")),
    pytest.param("kazakh", marks=pytest.mark.requirement("SIG-CANON-UNICODE")),
    pytest.param("emoji", marks=pytest.mark.requirement("SIG-CANON-UNICODE")),
    pytest.param("line-separators", marks=pytest.mark.requirement("SIG-CANON-UNICODE")),
])
@pytest.mark.parametrize("endpoint,source", params())
def test_awkward_values_signed_over_go_form(agws, endpoint: str, source: str, character_class: str) -> None:
    """Values Go escapes (< > & U+2028 U+2029) or writes as raw UTF-8, sent as the Go client sends them."""
    requirement = "SIG-CANON-HTML" if character_class == "html" else "SIG-CANON-UNICODE"
    fields = agws.fields(endpoint, **{LOOKUP_FIELDS[endpoint]: _value_for(agws, endpoint, character_class, source)})
    send_accepted(agws, endpoint, agws.encode(fields), source, requirement=requirement)


HTML_FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: json.dumps(s, ensure_ascii=False),
    "go-escaped": lambda s: json.dumps(s, ensure_ascii=False).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026"),
    "uppercase-escaped": lambda s: json.dumps(s, ensure_ascii=False).replace("<", "\\u003C").replace(
        ">", "\\u003E").replace("&", "\\u0026"),
}


@pytest.mark.requirement("SIG-CANON-HTML")
@pytest.mark.parametrize("form", sorted(HTML_FORMS))
@pytest.mark.parametrize("endpoint,source", params())
def test_html_characters_in_any_written_form(agws, endpoint: str, source: str, form: str) -> None:
    """< > & raw or as \\u003c-style escapes on the wire: the canonical form (escaped) is what is signed."""
    fields = agws.fields(endpoint, **{LOOKUP_FIELDS[endpoint]: _value_for(agws, endpoint, "html", source)})
    content = _object(sorted(fields.items()), string=HTML_FORMS[form])
    if form != "go-escaped":
        _assert_not_canonical(agws, content)
    send_accepted(agws, endpoint, content, source, requirement="SIG-CANON-HTML")
