"""The Python signer against the real Go reference signer (tools/gosign), byte for byte.

Runs whenever ``go`` is on PATH (CI installs golang-go): every vector body, then a few thousand
Hypothesis-generated raw bodies. Go < 1.22 is compared with Variant(legacy_escapes=True).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import random
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agws_conformance.resources import data_dir
from agws_conformance.signer import SignerError, Variant, canonicalize

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="go is not on PATH (install golang-go to cross-check the signer against Go)")


def _gosign() -> ModuleType:
    path = data_dir("tools") / "gosign" / "gosign.py"
    spec = importlib.util.spec_from_file_location("agws_gosign", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


GOSIGN = _gosign()


@pytest.fixture(scope="module")
def go(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, bool]]:
    workdir = tmp_path_factory.mktemp("gosign")
    exe = GOSIGN.build(workdir)
    yield exe, GOSIGN.is_legacy(GOSIGN.go_version(workdir))


@pytest.fixture(scope="module")
def conversation(go: tuple[Path, bool]) -> Iterator[object]:
    talk = GOSIGN.Conversation(go[0])
    yield talk
    talk.close()


def _python(body: bytes, variant: Variant) -> bytes | None:
    try:
        return canonicalize(body, variant)
    except SignerError:
        return None


def test_every_vector_body_matches_go(go: tuple[Path, bool]) -> None:
    exe, legacy = go
    vectors = json.loads((data_dir("vectors") / "signature_vectors.json").read_text(encoding="utf-8"))
    cases = []
    for group in vectors["testGroups"]:
        omit = group["variant"]["omitEmpty"]
        for test in group["tests"]:
            cases.append((base64.b64decode(test["body"]), test["secret"], omit, test))
    answers = GOSIGN.run(exe, [(body, secret, omit) for body, secret, omit, _ in cases])
    for (body, secret, omit, test), answer in zip(cases, answers, strict=True):
        variant = Variant(legacy_escapes=legacy, omit_empty=omit)
        assert _python(body, variant) == answer["canonical"], (test["tcId"], answer["error"])
        if test["result"] == "valid" and (test["canonical"] is not None) and "GoVersionDependent" not in test["flags"]:
            assert answer["signature"] == test["signature"], test["tcId"]
    assert len(answers) == vectors["numberOfTests"]


# ---- raw body generation: built as bytes so both sides see identical input

_RAW_PIECES = [
    b"<", b">", b"&", b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\x7f", b"\xc2\x85", b"\xd3\x99", b"\xd2\x93",
    b"\xf0\x9f\x98\x80", b"\xee\x80\x80", b"\xef\xbf\xbf", b"\xef\xbf\xbd",
    b"\xff", b"\x80", b"\xe2\x82", b"\xed\xa0\x80", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xf4\x90\x80\x80",
]
_ESCAPES = [rb"\n", rb"\r", rb"\t", rb"\b", rb"\f", rb"\/", rb"\"", b"\\\\", rb"\ud83d\ude00", rb"\ud800",
            rb"\udc00", rb"\uDBFF\uDFFF", rb"\u2028", rb"\u0000", rb"\u001f", rb"\u007f", rb"\u003c"]

# No filters anywhere: quotes and backslashes are escaped by construction, so every draw counts.
_char_bytes = st.characters(codec="utf-8", exclude_characters='"\\').map(lambda c: c.encode("utf-8"))
_string_piece = st.one_of(
    _char_bytes,
    st.sampled_from(_RAW_PIECES),
    st.sampled_from(_ESCAPES),
    st.integers(0, 0xFFFF).map(lambda n: b"\\u%04x" % n),
    st.sampled_from([b"\x01", b"\x1f", b"\t"]),  # raw control characters: Go refuses them
)
_string = st.lists(_string_piece, max_size=6).map(lambda parts: b'"' + b"".join(parts) + b'"')
_number = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).encode()),
    st.integers(-(10**25), 10**25).map(lambda n: str(n).encode()),
    st.tuples(st.integers(0, 10**20), st.integers(-400, 400)).map(lambda t: b"%de%d" % t),
    st.tuples(st.integers(0, 999), st.integers(0, 10**12), st.sampled_from([b"e", b"E", b"e+", b"e-"]), st.integers(0, 30)).map(
        lambda t: b"%d.%d%s%d" % (t[0], t[1], t[2], t[3])),
    st.sampled_from([b"-0", b"-0.0", b"1E2", b"100.0", b"9007199254740993", b"1e21", b"9.99e-7", b"1e-6", b"5e-324", b"01", b"1.", b"NaN"]),
)
_scalar = st.one_of(_string, _number, st.sampled_from([b"true", b"false", b"null"]))
_ws = st.sampled_from([b"", b"", b"", b" ", b"\n", b"\t ", b"\r\n"])


_key = st.one_of(st.sampled_from([b'"a"', b'"b"', b'"A"', b'"agent"', b'""']), _string)  # small pool: duplicates


def _object_of(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    pair = st.tuples(_ws, _key, _ws, children, _ws).map(lambda t: t[0] + t[1] + t[2] + b":" + t[3] + t[4])
    return st.lists(pair, max_size=5).map(lambda ps: b"{" + b",".join(ps) + b"}")


def _containers(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    arr = st.lists(st.tuples(_ws, children).map(b"".join), max_size=5).map(lambda xs: b"[" + b",".join(xs) + b"]")
    return st.one_of(_object_of(children), arr)


_value = st.recursive(_scalar, _containers, max_leaves=12)
_object = _object_of(_value)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    body = draw(st.one_of(_object, _object, _object, _value))
    body = draw(_ws) + body + draw(_ws)
    if draw(st.integers(0, 9)) == 0:  # occasionally corrupt it: truncate or splice a byte
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.sampled_from([b"", b",", b"}", b"\xff", b"\x00", b"x"])) + body[cut + 1 :]
    return body


@settings(max_examples=int(os.environ.get("AGWS_CROSSCHECK_EXAMPLES", "400")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies(), omit_empty=st.booleans())
def test_generated_bodies_match_go(conversation: object, go: tuple[Path, bool], body: bytes, omit_empty: bool) -> None:
    answer = conversation.sign(body, "k", omit_empty)  # type: ignore[attr-defined]
    mine = _python(body, Variant(legacy_escapes=go[1], omit_empty=omit_empty))
    assert mine == answer["canonical"], answer["error"]


# ---- a seeded bulk run: thousands of bodies in one Go process (Hypothesis above shrinks failures,
# this covers volume cheaply; both draw from the same pieces).

def _random_value(rng: random.Random, depth: int) -> bytes:
    roll = rng.random()
    if depth < 4 and roll < 0.3:
        items = [rng.choice(_WS_CHOICES) + _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.5:
            return b"[" + b",".join(items) + b"]"
        keys = [_random_string(rng) if rng.random() < 0.5 else rng.choice([b'"a"', b'"b"', b'""']) for _ in items]
        return b"{" + b",".join(k + b":" + v for k, v in zip(keys, items, strict=True)) + b"}"
    if roll < 0.65:
        return _random_string(rng)
    if roll < 0.95:
        kind = rng.randrange(4)
        if kind == 0:
            return repr(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]).encode()
        if kind == 1:
            return str(rng.randint(-(10**25), 10**25)).encode()
        if kind == 2:
            return b"%de%d" % (rng.randint(0, 10**20), rng.randint(-400, 400))
        return rng.choice([b"-0", b"-0.0", b"1E2", b"100.0", b"9007199254740993", b"1e21", b"9.99e-7", b"01", b"NaN"])
    return rng.choice([b"true", b"false", b"null"])


def _random_string(rng: random.Random) -> bytes:
    pieces = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.randrange(5)
        if kind == 0:
            pieces.append(chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])).replace('"', "'").replace("\\", "/").encode())
        elif kind == 1:
            pieces.append(rng.choice(_RAW_PIECES))
        elif kind == 2:
            pieces.append(rng.choice(_ESCAPES))
        elif kind == 3:
            pieces.append(b"\\u%04x" % rng.randint(0, 0xFFFF))
        elif rng.random() < 0.2:
            pieces.append(rng.choice([b"\x01", b"\x1f", b"\t"]))
    return b'"' + b"".join(pieces) + b'"'


_WS_CHOICES = [b"", b"", b"", b" ", b"\n", b"\t ", b"\r\n"]


def test_seeded_bulk_bodies_match_go(go: tuple[Path, bool]) -> None:
    exe, legacy = go
    rng = random.Random(20240601)
    bodies = []
    for _ in range(5000):
        body = rng.choice(_WS_CHOICES) + _random_value(rng, 4 if rng.random() < 0.1 else 0) + rng.choice(_WS_CHOICES)
        if not body.strip().startswith(b"{") and rng.random() < 0.9:
            body = b'{"v":' + body + b"}"
        if rng.random() < 0.1:
            cut = rng.randint(0, len(body))
            body = body[:cut] + rng.choice([b"", b",", b"}", b"\xff", b"\x00", b"x"]) + body[cut + 1 :]
        bodies.append((body, rng.random() < 0.2))
    answers = GOSIGN.run(exe, [(body, "k", omit) for body, omit in bodies])
    refused = 0
    for (body, omit), answer in zip(bodies, answers, strict=True):
        assert _python(body, Variant(legacy_escapes=legacy, omit_empty=omit)) == answer["canonical"], (body, answer["error"])
        refused += answer["canonical"] is None
    assert 0 < refused < len(bodies)  # both outcomes were exercised
