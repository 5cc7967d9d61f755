"""The documents' own Go sample client, built from tests/go_sample_client, is accepted by the mock.

This is the strongest evidence that the mock verifies signatures the way a Go gateway does: the
client sends its struct's field order but signs Go's sorted canonical form, and HTML-escapes
``<&>``. Skipped (with the reason) when no Go toolchain is on PATH.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from agws_conformance import schemas
from agws_conformance.mock import MockServer, embedded_target
from agws_conformance.target import Secret

SOURCE = Path(__file__).parent / "go_sample_client"
GO = shutil.which("go")
# The first build compiles Go's standard library (~35 s on 2 cores); the cache in the temp folder
# makes later runs take about a second.
pytestmark = [pytest.mark.skipif(GO is None, reason="Go toolchain not on PATH (apt-get install golang-go)"),
              pytest.mark.slow]
GOCACHE = Path(tempfile.gettempdir()) / "agws-conformance-gocache"

USERNAMES = ["tom<&>jerry", "Иван Петров", "Қасымжомарт Әбілқайыр", "driver🚗42"]


@pytest.fixture(scope="module")
def client_binary(tmp_path_factory) -> Path:
    build = tmp_path_factory.mktemp("gobuild")
    binary = build / "gosampleclient"
    env = {**os.environ, "GOCACHE": str(GOCACHE), "GOPATH": str(build / "gopath"),
           "GOFLAGS": "-mod=mod", "GOPROXY": "off", "CGO_ENABLED": "0", "GO111MODULE": "on"}
    result = subprocess.run([GO, "build", "-o", str(binary), "."], cwd=SOURCE, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return binary


@pytest.fixture(scope="module")
def mock():
    target = embedded_target()
    with MockServer(target) as server:
        yield target, server.url


def run_client(binary: Path, mock, mode: str, value: str) -> tuple[int, dict]:
    target, url = mock
    env = {"PATH": os.environ.get("PATH", ""), "AGWS_BASE_URL": url, "AGWS_SECRET": target.secret.reveal(),
           "AGWS_AGENT": target.agent, "AGWS_PROJECT": target.project, "AGWS_SERVICE_CODE": target.service_code}
    result = subprocess.run([str(binary), mode, value], env=env, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    head, _, body = result.stdout.decode("utf-8").partition("\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize("username", USERNAMES)
def test_go_sample_account_check_is_accepted(client_binary, mock, username):
    status, payload = run_client(client_binary, mock, "check", username)
    assert status == 200, payload
    assert schemas.errors("user-check-success", payload) == []
    assert payload["result"]["error_code"] == 0


def test_go_sample_unknown_username_gets_1407(client_binary, mock):
    status, payload = run_client(client_binary, mock, "check", "nobody<&>")
    assert status == 200 and payload["result"]["error_code"] == 1407


@pytest.mark.parametrize("external_id", ["ext-0002", "ext-0004"])
def test_go_sample_payment_status_is_accepted(client_binary, mock, external_id):
    status, payload = run_client(client_binary, mock, "status", external_id)
    assert status == 200
    assert schemas.errors("action-status-success", payload) == []
    assert payload["result"]["data"]["external_id"] == external_id


def test_go_sample_with_wrong_secret_is_refused(client_binary, mock):
    target, url = mock
    other = dataclasses.replace(target, secret=Secret("not-the-secret"))
    status, payload = run_client(client_binary, (other, url), "check", USERNAMES[0])
    assert status == 400 and payload["status_code"] == 1014


def test_go_sample_requests_are_judged_correct_by_the_inspector(client_binary):
    """The inspector (mock --inspect) finds nothing wrong with the documents' own Go client."""
    from agws_conformance.inspector import Inspector

    target = embedded_target()
    inspector = Inspector(target.secret.reveal(), target.variant)
    with MockServer(target, inspector=inspector) as server:
        for username in USERNAMES:
            run_client(client_binary, (target, server.url), "check", username)
        run_client(client_binary, (target, server.url), "status", "ext-0002")
    doc = inspector.document()
    assert doc["verdict"] == "CONFORMANT", doc["requirements"]
    assert doc["requests_seen"] == len(USERNAMES) + 1
    assert all(r["signature"]["verdict"] == "correct" for r in doc["requests"])
