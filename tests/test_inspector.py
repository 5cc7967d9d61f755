"""The mock as an inspector: a client signing each wrong recipe gets the right diagnosis in the
report, the answers stay exactly the gateway's, and the report is bounded and written on demand."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agws_conformance import doctor
from agws_conformance.endpoints import USER_CHECK_PATH
from agws_conformance.inspector import REQUIREMENTS, Inspector
from agws_conformance.mock import MockServer, embedded_target
from agws_conformance.report.html import esc
from agws_conformance.report.inspector import render_html, write_reports
from agws_conformance.signer import Variant
from agws_conformance.target import Target

sys.path.insert(0, str(Path(__file__).parent))
import wrong_recipes  # noqa: E402  (the small wrong-recipe client, shared with vectors/generate_recipes.py)

HEADERS = {"Content-Type": "application/json"}


def _fields(target: Target) -> dict[str, str]:
    # A documented request in the client's own order, with text that shows every recipe's mistake.
    return {"agent": target.agent, "username": "Иван <&> Петров ~?~", "project": target.project,
            "service_code": target.service_code}


def _inspected(target: Target, **options: object) -> tuple[MockServer, Inspector]:
    inspector = Inspector(target.secret.reveal(), target.variant, **options)  # type: ignore[arg-type]
    return MockServer(target, inspector=inspector), inspector


def _post(url: str, body: bytes, signature: str | None, headers: dict[str, str] = HEADERS) -> httpx.Response:
    sent = dict(headers)
    if signature is not None:
        sent["X-Signature"] = signature
    return httpx.post(url + USER_CHECK_PATH, content=body, headers=sent, timeout=10)


def _gateway_for(recipe_id: str) -> Target:
    target = embedded_target()
    variant = wrong_recipes.GATEWAY_OF.get(recipe_id, Variant())
    return dataclasses.replace(target, signing="go1.21" if variant.legacy_escapes else "go1.22",
                               omit_empty=variant.omit_empty)


def test_each_wrong_recipe_client_gets_its_diagnosis_from_the_report() -> None:
    by_gateway: dict[str, list[str]] = {}
    for recipe_id in doctor.RECIPES:
        by_gateway.setdefault(wrong_recipes.GATEWAY_OF.get(recipe_id, Variant()).name, []).append(recipe_id)
    for recipes in by_gateway.values():
        target = _gateway_for(recipes[0])
        server, inspector = _inspected(target)
        with server:
            for recipe_id in recipes:
                body, signature = wrong_recipes.CLIENTS[recipe_id](wrong_recipes.fields_for(recipe_id, _fields(target)),
                                                                 target.secret.reveal())
                answer = _post(server.url, body, signature)
                assert answer.status_code == 400 and answer.json()["status_code"] == 1014, recipe_id
        doc = inspector.document()
        assert doc["verdict"] == "NOT CONFORMANT"
        named = [r["signature"]["recipe"] for r in doc["requests"]]
        assert named == recipes
        for r in doc["requests"]:
            failed = {f["requirement"] for f in r["findings"] if f["outcome"] == "fail"}
            assert failed == {"INT-SIGNATURE"}, r
            assert doctor.RECIPES[r["signature"]["recipe"]].fix in r["signature"]["summary"]
        html = render_html(doc)
        assert target.secret.reveal() not in html and target.secret.reveal() not in json.dumps(doc, ensure_ascii=False)
        assert all(esc(doctor.RECIPES[rid].fix) in html for rid in recipes)


def test_a_correct_client_is_conformant_and_its_variant_recorded() -> None:
    target = embedded_target()
    server, inspector = _inspected(target)
    with server:
        body, signature = wrong_recipes.correct(_fields(target), target.secret.reveal())
        assert _post(server.url, body, signature).status_code == 200
    doc = inspector.document()
    assert doc["verdict"] == "CONFORMANT", doc["requirements"]
    statuses = {r["id"]: r["status"] for r in doc["requirements"]}
    assert statuses["INT-SIGNATURE"] == "pass" and statuses["INT-SIGNATURE-VARIANT"] == "info"


def test_the_1014_answer_is_exactly_the_gateways() -> None:
    target = embedded_target()
    body, signature = wrong_recipes.CLIENTS["uppercase-hex"](_fields(target), target.secret.reveal())
    with MockServer(target) as plain:
        expected = _post(plain.url, body, signature)
    server, inspector = _inspected(target)
    with server:
        got = _post(server.url, body, signature)
    assert (got.status_code, got.content, got.headers.get("content-type")) == \
        (expected.status_code, expected.content, expected.headers.get("content-type"))
    assert b"uppercase" not in got.content and inspector.seen == 1


def test_headers_schema_and_path_are_judged() -> None:
    target = embedded_target()
    server, inspector = _inspected(target)
    with server:
        body, signature = wrong_recipes.correct({"agent": target.agent, "username": "x"}, target.secret.reveal())
        _post(server.url, body, signature, headers={})  # no Content-Type, fields missing
        _post(server.url, body, None)  # no signature
        httpx.get(server.url + "/showcase-gateway/api/v1/nowhere", timeout=10)
    first, second, third = inspector.document()["requests"]
    failed = [{f["requirement"] for f in r["findings"] if f["outcome"] == "fail"} for r in (first, second, third)]
    assert failed[0] == {"INT-CONTENT-TYPE", "INT-REQUEST-SCHEMA"}
    assert failed[1] == {"INT-REQUEST-SCHEMA", "INT-SIGNATURE"} and second["signature"]["verdict"] == "missing"
    assert failed[2] == {"INT-ENDPOINT"}
    assert set(REQUIREMENTS) >= {"INT-ENDPOINT", "INT-CONTENT-TYPE", "INT-REQUEST-SCHEMA", "INT-SIGNATURE"}


def test_memory_is_bounded_and_the_rest_counted(tmp_path: Path) -> None:
    target = embedded_target()
    server, inspector = _inspected(target, max_requests=2)
    with server:
        for _ in range(4):
            _post(server.url, b'{"agent":"<script>alert(1)</script>"}', "0" * 64)
    doc = inspector.document()
    assert (doc["requests_seen"], doc["requests_kept"], doc["requests_dropped"]) == (4, 2, 2)
    signature = next(r for r in doc["requirements"] if r["id"] == "INT-SIGNATURE")
    assert signature["counts"]["fail"] == 4
    assert doc["signature_diagnoses"] == [{"diagnosis": "unknown", "count": 4, "first_request": 1, "title": None,
                                           "fix": None}]
    html_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    assert write_reports(doc, html_path, json_path) == [html_path, json_path]
    assert "<script>" not in html_path.read_text(encoding="utf-8")
    assert json.loads(json_path.read_text(encoding="utf-8"))["requests_seen"] == 4


def test_no_request_is_incomplete() -> None:
    assert Inspector("k", Variant()).verdict() == "INCOMPLETE"


def test_cli_writes_the_report_on_sigusr1_and_on_stop_and_logs_the_diagnosis(tmp_path: Path) -> None:
    secret = "inspector-test-secret-0123456789"
    env = {**os.environ, "AGWS_MOCK_SECRET": secret}
    target_file = tmp_path / "t.toml"
    from agws_conformance.mock import mock_target_path

    target_file.write_text(mock_target_path().read_text(encoding="utf-8"), encoding="utf-8")
    html_path, json_path = tmp_path / "client.html", tmp_path / "client.json"
    embedded = embedded_target()
    env[embedded.secret_env] = secret
    process = subprocess.Popen(
        [sys.executable, "-m", "agws_conformance.commands.mock", "--port", "0", "--quiet",
         "--inspect", str(html_path), "--inspect-json", str(json_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split("listening on ", 1)[1].split(" ", 1)[0]
        target = dataclasses.replace(embedded, base_url=url)
        body, signature = wrong_recipes.CLIENTS["secret-prepended"](_fields(target), secret)
        answer = _post(url, body, signature)
        assert answer.json()["status_code"] == 1014
        process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not json_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert json.loads(json_path.read_text(encoding="utf-8"))["requests_seen"] == 1
        _post(url, *wrong_recipes.correct(_fields(target), secret))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc["requests_seen"] == 2 and doc["requests"][0]["signature"]["recipe"] == "secret-prepended"
    assert "secret-prepended" in err and doctor.RECIPES["secret-prepended"].fix in err
    assert html_path.is_file() and "secret-prepended" in html_path.read_text(encoding="utf-8")
    for text in (out, err, html_path.read_text(encoding="utf-8"), json_path.read_text(encoding="utf-8")):
        assert secret not in text
