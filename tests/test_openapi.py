"""The OpenAPI export: a valid 3.1 document whose response schemas accept the documented examples."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import referencing
import referencing.jsonschema
from jsonschema.validators import Draft202012Validator
from openapi_spec_validator import validate

from agws_conformance import schemas
from agws_conformance.commands import openapi as command
from agws_conformance.endpoints import ACTION_STATUS_PATH, METHODS, USER_CHECK_PATH
from agws_conformance.openapi import build_openapi

EXAMPLES = Path(__file__).parent / "data" / "examples"
SPEC_URI = "urn:agws-conformance:openapi"

# example file -> (path, HTTP status whose response schema must accept it)
RESPONSES = {
    "check-success-active.json": (USER_CHECK_PATH, "200"),
    "check-success-inactive.json": (USER_CHECK_PATH, "200"),
    "check-error-new-1407.json": (USER_CHECK_PATH, "200"),
    "check-error-old-1407.json": (USER_CHECK_PATH, "200"),
    "check-error-old-1014.json": (USER_CHECK_PATH, "400"),
    "check-error-new-1014.json": (USER_CHECK_PATH, "400"),
    "status-success.corrected.json": (ACTION_STATUS_PATH, "200"),
    "status-success.corrected-syntax.json": (ACTION_STATUS_PATH, "200"),
    "status-error-new-1041.json": (ACTION_STATUS_PATH, "200"),
    "status-error-old-1041.json": (ACTION_STATUS_PATH, "200"),
    "error-new-empty-data.public-facts.json": (USER_CHECK_PATH, "200"),
}
REQUESTS = {
    "check-request.go-sample.json": USER_CHECK_PATH,
    "status-request.go-sample.json": ACTION_STATUS_PATH,
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_openapi()


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _validator(spec: dict[str, Any], *parts: str) -> Draft202012Validator:
    resource = referencing.Resource(contents=spec, specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource(SPEC_URI, resource)
    return Draft202012Validator(
        {"$ref": SPEC_URI + _pointer(*parts)},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _response_validator(spec: dict[str, Any], path: str, status: str) -> Draft202012Validator:
    return _validator(spec, "paths", path, "post", "responses", status, "content", "application/json", "schema")


def _load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_export_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_export_is_json_serializable_and_deterministic(spec: dict[str, Any]) -> None:
    assert json.dumps(spec, sort_keys=True) == json.dumps(build_openapi(), sort_keys=True)


def test_every_method_is_a_path_requiring_a_signature(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]) == {m.path for m in METHODS.values()} >= {USER_CHECK_PATH, ACTION_STATUS_PATH}
    scheme = spec["components"]["securitySchemes"]["XSignature"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-Signature"}
    for item in spec["paths"].values():
        operation = item["post"]
        (header,) = [p for p in operation["parameters"] if p["name"] == "X-Signature"]
        assert header["in"] == "header" and header["required"] is True
        assert operation["security"] == [{"XSignature": []}]
        assert operation["requestBody"]["required"] is True
        assert {"200", "400", "default"} <= set(operation["responses"])


def test_every_message_schema_is_embedded_with_internal_refs_only(spec: dict[str, Any]) -> None:
    components = spec["components"]["schemas"]
    assert set(schemas.schema_names()) <= set(components)
    text = json.dumps(components)
    assert '"$id"' not in text and ".json" not in text.replace('"$ref": "#/components/', "")
    refs = [part.split('"')[0] for part in text.split('"$ref": "')[1:]]
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs)
    for ref in refs:
        assert ref.split("/")[3] in components, ref


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_schema_accepts_documented_example(spec: dict[str, Any], name: str) -> None:
    path, status = RESPONSES[name]
    errors = [e.message for e in _response_validator(spec, path, status).iter_errors(_load(name))]
    assert errors == []


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_schema_accepts_the_go_sample_body(spec: dict[str, Any], name: str) -> None:
    validator = _validator(spec, "paths", REQUESTS[name], "post", "requestBody", "content", "application/json", "schema")
    assert list(validator.iter_errors(_load(name))) == []
    body = _load(name)
    body.pop("agent")
    assert not validator.is_valid(body)


def test_exported_schemas_still_reject_what_the_files_reject(spec: dict[str, Any]) -> None:
    # Guards against an export that validates everything (e.g. a lost $ref).
    body = _load("status-success.corrected.json")
    validator = _response_validator(spec, ACTION_STATUS_PATH, "200")
    for mutate in (
        lambda b: b["result"]["data"].pop("external_id"),
        lambda b: b["result"]["data"].__setitem__("datetime", "2022-13-01T15:45:00Z"),
        lambda b: b["result"]["data"]["fail_reason"].__setitem__("code", "100"),
    ):
        broken = copy.deepcopy(body)
        mutate(broken)
        assert not validator.is_valid(broken)
        assert schemas.errors("action-status-success", broken)
    parking = _load("check-success-active.json")
    parking["result"]["info"]["parking"]["sum"] = "118"
    assert not _response_validator(spec, USER_CHECK_PATH, "200").is_valid(parking)
    assert not _response_validator(spec, USER_CHECK_PATH, "400").is_valid(_load("check-success-active.json"))


def _args(output: Path | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="agws-conformance")
    command.register(parser.add_subparsers(dest="command"))
    argv = ["openapi"] + (["-o", str(output)] if output is not None else [])
    return parser.parse_args(argv)


def test_command_prints_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(None)
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out) == build_openapi()


def test_command_writes_file(tmp_path: Path) -> None:
    target = tmp_path / "agws.openapi.json"
    args = _args(target)
    assert args.func(args) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == build_openapi()


@pytest.mark.parametrize("name", ["agws.yaml", "agws.YML"])
def test_command_writes_yaml_for_a_yaml_file(tmp_path: Path, name: str) -> None:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with openapi-spec-validator ('.[test]')
    target = tmp_path / name
    args = _args(target)
    assert args.func(args) == 0
    text = target.read_text(encoding="utf-8")
    assert not text.lstrip().startswith("{") and '"openapi": "3.1.0"' in text
    assert yaml.safe_load(text) == build_openapi()


def test_command_unwritable_output_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _args(tmp_path / "missing-dir" / "out.json")
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err


def test_cli_main_runs_the_openapi_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    from agws_conformance import cli

    assert cli.main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out)["openapi"] == "3.1.0"
