"""The signature vectors: well-formed, reproducible by the signer, and their flags are facts."""

from __future__ import annotations

import base64
import hashlib
import json

import jsonschema
import pytest

from agws_conformance.resources import data_dir
from agws_conformance.signer import SignerError, Variant, sign

VECTORS = json.loads((data_dir("vectors") / "signature_vectors.json").read_text(encoding="utf-8"))
SCHEMA = json.loads((data_dir("vectors") / "signature_vectors.schema.json").read_text(encoding="utf-8"))
DOC_EXAMPLE_SIGNATURE = "9ab70986d5b875e66fc92368029f845275a1208633eb9dda821bbabf99cac4b2"


def _variant(group: dict) -> Variant:
    v = group["variant"]
    return Variant(legacy_escapes=v["legacyEscapes"], omit_empty=v["omitEmpty"], escape_html=v["escapeHtml"])


CASES = [
    pytest.param(_variant(group), test, id=f"tc{test['tcId']}")
    for group in VECTORS["testGroups"]
    for test in group["tests"]
]


def _naive(body: bytes, secret: str) -> str | None:
    """The signing page's Python sample; None when it raises."""
    try:
        text = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        canonical = text.encode("utf-8")  # fails for lone surrogates: the sample cannot sign those
    except (ValueError, RecursionError, UnicodeError):
        return None
    return hashlib.sha256(base64.b64encode(canonical) + secret.encode("utf-8")).hexdigest()


def _ours(body: bytes, secret: str, variant: Variant) -> str | None:
    try:
        return sign(body, secret, variant).signature
    except SignerError:
        return None


def test_schema_is_valid_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_vectors_validate_against_schema() -> None:
    errors = [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(VECTORS)]
    assert errors == []


def test_tc_ids_unique_and_count_matches() -> None:
    ids = [test["tcId"] for group in VECTORS["testGroups"] for test in group["tests"]]
    assert len(ids) == len(set(ids))
    assert VECTORS["numberOfTests"] == len(ids)
    assert len(ids) >= 60


def test_every_flag_is_defined_in_notes() -> None:
    used = {flag for group in VECTORS["testGroups"] for test in group["tests"] for flag in test["flags"]}
    assert used <= set(VECTORS["notes"])


def test_public_signing_page_example() -> None:
    body = (
        b'{"agent":"tarlan","amount":100,"datetime":"2022-12-01T15:45:00Z","external_id":"200001",'
        b'"project":"mobile","service_code":"201106","username":"989898"}'
    )
    assert sign(body, "12345").signature == DOC_EXAMPLE_SIGNATURE
    tc1 = next(t for t in VECTORS["testGroups"][0]["tests"] if t["tcId"] == 1)
    assert base64.b64decode(tc1["body"]) == body and tc1["signature"] == DOC_EXAMPLE_SIGNATURE


@pytest.mark.parametrize(("variant", "test"), CASES)
def test_case_reproduces(variant: Variant, test: dict) -> None:
    body = base64.b64decode(test["body"])
    if test["canonical"] is None:
        with pytest.raises(SignerError) as info:
            sign(body, test["secret"], variant)
        assert test["error"].lower() in str(info.value).lower()
        assert "\n" not in str(info.value)
        return
    signed = sign(body, test["secret"], variant)
    assert signed.canonical == test["canonical"].encode("utf-8")
    assert signed.base64 == test["base64"]
    if test["result"] == "valid":
        assert signed.signature == test["signature"]
    elif test["result"] == "invalid":
        assert signed.signature != test["signature"]
    else:  # acceptable: what the other Go version computes
        other = Variant(legacy_escapes=not variant.legacy_escapes, omit_empty=variant.omit_empty)
        assert signed.signature != test["signature"]
        assert sign(body, test["secret"], other).signature == test["signature"]


@pytest.mark.parametrize(("variant", "test"), CASES)
def test_computed_flags_are_facts(variant: Variant, test: dict) -> None:
    body = base64.b64decode(test["body"])
    differs = _naive(body, test["secret"]) != _ours(body, test["secret"], variant)
    assert ("NaivePythonDiffers" in test["flags"]) == differs
    legacy = _ours(body, "", Variant(legacy_escapes=True, omit_empty=variant.omit_empty))
    modern = _ours(body, "", Variant(legacy_escapes=False, omit_empty=variant.omit_empty))
    assert ("GoVersionDependent" in test["flags"]) == (legacy != modern)


def test_vectors_cover_each_pitfall() -> None:
    flags = [flag for group in VECTORS["testGroups"] for test in group["tests"] for flag in test["flags"]]
    for flag in ("NaivePythonDiffers", "GoVersionDependent", "InvalidUtf8", "Surrogate", "FloatFormat",
                 "BigInteger", "DuplicateKey", "RefusedBody", "WrongSignature", "EmptyField", "SecretEdge"):
        assert flags.count(flag) >= 1, flag
