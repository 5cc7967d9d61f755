"""Generate ``signature_recipes.json``: one vector per wrong signing recipe the doctor knows.

Each vector is what a client making that one mistake sends (body and X-Signature), computed by the
plain client code in ``tests/wrong_recipes.py``, never by the doctor's own catalogue; the file is
not written unless ``agws_conformance.doctor`` names the intended recipe for every vector. tcIds
follow the doctor's catalogue order; never renumber or reuse one (append new recipes at the end).
Run: ``python vectors/generate_recipes.py``.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from agws_conformance import doctor
from agws_conformance.signer import Variant, canonicalize

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATOR_VERSION = "1.0"
SECRET = "s3cr3t-Қ"
# The account-check request of a Kazakh showcase, in the client's own (struct) field order:
# non-ASCII text, < > & and '+'/'/'-producing bytes make every recipe's signature differ.
BASE = {"agent": "agent-kz", "username": "Иван <&> Петров ~?~", "project": "mobile", "service_code": "201106"}

NOTES: dict[str, str] = {
    "Correct": "The right recipe (Go's canonical form, Base64, secret appended, SHA-256, lowercase hex).",
    "PythonJson": "Python json.dumps options that differ from Go's json.Marshal.",
    "CanonicalForm": "The bytes signed are not Go's canonical form of the body.",
    "Hashing": "The canonical form is right; the Base64, secret or hash step is wrong.",
    "Encoding": "The digest is right but written in another encoding than lowercase hex.",
    "GoVariant": "Right under another Go signing variant than the gateway's (Go version, empty fields).",
    "Undiagnosable": "No recipe reproduces it (a wrong secret): the doctor answers 'unknown' with the canonical string.",
}
FLAGS = {
    "python-sample": ["PythonJson"], "python-default-separators": ["PythonJson"], "python-ensure-ascii": ["PythonJson"],
    "python-json-dumps-defaults": ["PythonJson"], "python-json-dumps-unsorted": ["PythonJson", "CanonicalForm"],
    "unsorted-keys": ["CanonicalForm"], "raw-bytes": ["CanonicalForm"], "newline-in-body": ["CanonicalForm"],
    "uppercase-hex": ["Encoding"], "base64-of-hex": ["Encoding"], "base64-digest": ["Encoding"],
    "go-escapes-1.21": ["GoVariant"], "go-escapes-1.22": ["GoVariant"], "omit-empty": ["GoVariant"],
    "empty-kept": ["GoVariant"],
}


def _client_module() -> Any:
    spec = importlib.util.spec_from_file_location("wrong_recipes", ROOT / "tests" / "wrong_recipes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _vector(tc_id: int, comment: str, flags: list[str], recipe: str | None, verdict: str, gateway: Variant,
            body: bytes, signature: str) -> dict[str, Any]:
    found = doctor.diagnose(body, signature, SECRET, gateway)
    named = found.recipe.id if found.recipe else None
    if (found.verdict, named) != (verdict, recipe):
        raise SystemExit(f"tcId {tc_id}: the doctor says {found.verdict} {named}, the vector wants {verdict} {recipe}")
    return {"tcId": tc_id, "comment": comment, "flags": flags, "recipe": recipe, "verdict": verdict,
            "gateway": gateway.name, "secret": SECRET, "body": base64.b64encode(body).decode("ascii"),
            "signature": signature, "canonical": canonicalize(body, gateway).decode("utf-8")}


def build() -> dict[str, Any]:
    clients = _client_module()
    tests = []
    body, signature = clients.correct(BASE, SECRET)
    tests.append(_vector(1, "the right recipe", ["Correct"], None, "correct", Variant(), body, signature))
    body, signature = clients.wrong_secret(BASE, SECRET)
    tests.append(_vector(2, "the right recipe with another secret: no recipe reproduces it", ["Undiagnosable"], None,
                         "unknown", Variant(), body, signature))
    for tc_id, recipe_id in enumerate(doctor.RECIPES, start=3):
        gateway = clients.GATEWAY_OF.get(recipe_id, Variant())
        body, signature = clients.CLIENTS[recipe_id](clients.fields_for(recipe_id, BASE), SECRET)
        tests.append(_vector(tc_id, doctor.RECIPES[recipe_id].title, FLAGS.get(recipe_id, ["Hashing"]), recipe_id,
                             "recipe", gateway, body, signature))
    return {
        "algorithm": "AGWS-X-Signature-Recipes",
        "schema": "signature_recipes.schema.json",
        "generatorVersion": GENERATOR_VERSION,
        "numberOfTests": len(tests),
        "header": [
            "Wrong ways to compute the AGWS X-Signature, one vector per recipe. `body` is the Base64 of the",
            "exact body a client sent, `signature` the X-Signature it sent, `secret` the project secret and",
            "`gateway` the variant the gateway signs with. A signature doctor given (body, signature, secret,",
            "gateway) must answer `verdict` and, for verdict 'recipe', name `recipe`; `canonical` is what",
            "should have been signed. `recipes` gives each recipe's description and one-line fix.",
        ],
        "notes": NOTES,
        "recipes": {rid: {"title": r.title, "fix": r.fix} for rid, r in doctor.RECIPES.items()},
        "tests": tests,
    }


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    document = build()
    (HERE / "signature_recipes.json").write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n",
                                                 encoding="utf-8")
    print(f"wrote {document['numberOfTests']} recipe vectors", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
