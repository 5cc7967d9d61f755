"""The signature doctor: names every wrong-recipe vector's recipe, says "correct" for every Go vector."""

from __future__ import annotations

import base64
import json

import jsonschema
import pytest

from agws_conformance import doctor
from agws_conformance.resources import data_dir
from agws_conformance.signer import Variant, sign

RECIPE_VECTORS = json.loads((data_dir("vectors") / "signature_recipes.json").read_text(encoding="utf-8"))
RECIPE_SCHEMA = json.loads((data_dir("vectors") / "signature_recipes.schema.json").read_text(encoding="utf-8"))
GO_VECTORS = json.loads((data_dir("vectors") / "signature_vectors.json").read_text(encoding="utf-8"))
VARIANTS = {v.name: v for v in doctor.GO_VARIANTS}


def _group_variant(group: dict) -> Variant:
    v = group["variant"]
    return Variant(legacy_escapes=v["legacyEscapes"], omit_empty=v["omitEmpty"], escape_html=v["escapeHtml"])


GO_CASES = [pytest.param(_group_variant(g), t, id=f"tc{t['tcId']}") for g in GO_VECTORS["testGroups"]
            for t in g["tests"] if t["canonical"] is not None and _group_variant(g).escape_html]
RECIPE_CASES = [pytest.param(t, id=f"tc{t['tcId']}-{t['recipe'] or t['verdict']}") for t in RECIPE_VECTORS["tests"]]


def test_recipe_vectors_validate_against_their_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(RECIPE_SCHEMA)
    assert [e.message for e in jsonschema.Draft202012Validator(RECIPE_SCHEMA).iter_errors(RECIPE_VECTORS)] == []
    ids = [t["tcId"] for t in RECIPE_VECTORS["tests"]]
    assert len(ids) == len(set(ids)) == RECIPE_VECTORS["numberOfTests"]
    assert {f for t in RECIPE_VECTORS["tests"] for f in t["flags"]} <= set(RECIPE_VECTORS["notes"])


def test_every_recipe_has_a_vector_and_its_fix_is_the_doctors() -> None:
    assert len(doctor.RECIPES) >= 12
    assert RECIPE_VECTORS["recipes"] == {rid: {"title": r.title, "fix": r.fix} for rid, r in doctor.RECIPES.items()}
    assert {t["recipe"] for t in RECIPE_VECTORS["tests"] if t["recipe"]} == set(doctor.RECIPES)
    assert all("\n" not in r.fix and r.fix for r in doctor.RECIPES.values())


@pytest.mark.parametrize("test", RECIPE_CASES)
def test_doctor_answers_each_recipe_vector(test: dict) -> None:
    body = base64.b64decode(test["body"])
    found = doctor.diagnose(body, test["signature"], test["secret"], VARIANTS[test["gateway"]])
    assert found.verdict == test["verdict"]
    assert (found.recipe.id if found.recipe else None) == test["recipe"]
    assert found.canonical == test["canonical"]
    summary = json.dumps(found.as_dict(), ensure_ascii=False)
    assert test["secret"] not in summary  # never the secret
    if test["verdict"] == "recipe":
        assert doctor.RECIPES[test["recipe"]].fix in found.summary()


@pytest.mark.parametrize(("variant", "test"), GO_CASES)
def test_doctor_says_correct_for_every_go_vector(variant: Variant, test: dict) -> None:
    body = base64.b64decode(test["body"])
    if test["result"] == "invalid":
        assert doctor.diagnose(body, test["signature"], test["secret"], variant).verdict != "correct"
        return
    # Unknown gateway: right under some Go variant is correct, and says which.
    found = doctor.diagnose(body, test["signature"], test["secret"], None)
    assert found.verdict == "correct", found.summary()
    if test["result"] == "valid":
        assert variant.name in found.variants
        assert doctor.diagnose(body, test["signature"], test["secret"], variant).verdict == "correct"
    else:  # acceptable: the other Go version's signature; under this gateway it names the Go version
        assert variant.name not in found.variants
        wrong = doctor.diagnose(body, test["signature"], test["secret"], variant)
        assert wrong.verdict == "recipe" and wrong.recipe is not None
        assert wrong.recipe.id == ("go-escapes-1.22" if variant.legacy_escapes else "go-escapes-1.21")
        assert variant.name in wrong.detail


def test_missing_and_refused() -> None:
    assert doctor.diagnose(b'{"a":"b"}', None, "k").verdict == "missing"
    assert doctor.diagnose(b'{"a":"b"}', "", "k").verdict == "missing"
    refused = doctor.diagnose(b'{"a":', "00", "k")
    assert refused.verdict == "refused" and refused.canonical is None and "JSON" in refused.summary()


def test_unknown_gives_the_canonical_string_not_the_secret() -> None:
    body = b'{"username":"x","agent":"a"}'
    found = doctor.diagnose(body, sign(body, "other").signature, "the-secret")
    assert found.verdict == "unknown" and found.canonical == '{"agent":"a","username":"x"}'
    assert "the-secret" not in json.dumps(found.as_dict())


def test_unknown_recipe_id_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no-such"):
        doctor.recipe("no-such")


def test_recipe_vectors_file_is_what_the_generator_writes() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "vectors" / "generate_recipes.py"
    if not path.is_file():
        pytest.skip("not a source checkout")
    spec = importlib.util.spec_from_file_location("generate_recipes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == RECIPE_VECTORS, "run python vectors/generate_recipes.py"
