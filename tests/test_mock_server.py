"""MockServer's lifecycle and the standalone ``agws-conformance mock`` command."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from agws_conformance import signer
from agws_conformance.endpoints import USER_CHECK_PATH
from agws_conformance.mock import MockServer, embedded_target

TARGET = embedded_target()


def signed_check(base_url: str, secret: str, username: str = "77011234567") -> httpx.Response:
    body = signer.go_struct_body({"agent": TARGET.agent, "username": username, "project": TARGET.project,
                                  "service_code": TARGET.service_code})
    return httpx.post(base_url + USER_CHECK_PATH, content=body, timeout=10,
                      headers={"X-Signature": signer.sign(body, secret).signature})


def test_start_returns_a_listening_url_and_stop_frees_the_port():
    server = MockServer(TARGET)
    with pytest.raises(RuntimeError, match="not running"):
        server.url
    url = server.start()
    assert url == server.url and url.startswith("http://127.0.0.1:")
    port = int(url.rsplit(":", 1)[1])
    assert signed_check(url, TARGET.secret.reveal()).json()["result"]["error_code"] == 0
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + USER_CHECK_PATH, timeout=2)
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    server.stop()  # idempotent


def test_context_manager_prefix_and_repr_without_secret():
    with MockServer(TARGET, prefix="/gw") as server:
        assert server.url.endswith("/gw")
        assert signed_check(server.url, TARGET.secret.reveal()).status_code == 200
        assert TARGET.secret.reveal() not in repr(server)
    assert "stopped" in repr(server)


def test_port_in_use_is_a_clear_error():
    with MockServer(TARGET) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            MockServer(TARGET, port=port).start()


# ---------------------------------------------------------------------------- the command

COMMAND = [sys.executable, "-m", "agws_conformance.commands.mock"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AGWS_MOCK_SECRET"}
    env.update(extra)
    return env


def test_command_serves_signed_requests_and_stops_on_sigint():
    secret = "s3cret-for-the-command-test"
    process = subprocess.Popen([*COMMAND, "--port", "0", "--fault", "wrong-content-type"],
                               env=_env(AGWS_MOCK_SECRET=secret), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("AGWS mock gateway listening on http://127.0.0.1:"), line
        assert "agent=mock-showcase, project=mock-project, service_code=201106, error_format=new" in line
        assert "faults=wrong-content-type" in line and secret not in line
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        response = signed_check(url, secret)
        assert response.json()["result"]["error_code"] == 0
        assert response.headers["content-type"].startswith("text/plain")  # the fault is on
        assert signed_check(url, "wrong").json()["status_code"] == 1014
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)  # a loaded machine; the point is a clean stop
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err and secret not in out + err
    assert "stopped" in out
    # One access-log line per request: what came in and went out, never a header or a signature.
    assert "POST /showcase-gateway/api/v1/user/check -> 200 success" in out
    assert "POST /showcase-gateway/api/v1/user/check -> 400 unexpected error 1014 (signature)" in out
    assert "X-Signature" not in out and "x-signature" not in out


def test_command_quiet_logs_no_requests():
    secret = "s3cret-for-the-quiet-test"
    process = subprocess.Popen([*COMMAND, "--port", "0", "--quiet"], env=_env(AGWS_MOCK_SECRET=secret),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        assert signed_check(url, secret).status_code == 200
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert "->" not in out and "stopped" in out


def test_command_without_secret_exits_2_with_a_hint():
    result = subprocess.run(COMMAND, env=_env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "export AGWS_MOCK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv,message", [
    (["--fault", "nope"], "unknown mock fault 'nope'; valid faults: "),
    (["--variation", "nope"], "unknown mock variation 'nope'; valid variations: "),
    (["--host", "0.0.0.0"], "refusing to listen on non-loopback host '0.0.0.0'"),
    (["--target", "/nonexistent/t.toml"], "no such file"),
    (["--port", "70000"], "--port must be between 0 and 65535"),
    (["--prefix", "/gw?x=1"], "--prefix must not contain a query string"),
    (["--prefix", "/a/../b"], "--prefix must be a plain path"),
])
def test_command_usage_errors_are_one_line(argv, message):
    result = subprocess.run([*COMMAND, *argv], env=_env(AGWS_MOCK_SECRET="x"), capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_command_lists_faults_with_requirements():
    from agws_conformance.mock import FAULTS

    result = subprocess.run([*COMMAND, "--list-faults"], env=_env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for fault in FAULTS.values():
        assert fault.name in result.stdout and ", ".join(fault.breaks) in result.stdout


def test_command_lists_variations_with_what_allows_them():
    from agws_conformance.mock import VARIATIONS

    result = subprocess.run([*COMMAND, "--list-variations"], env=_env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for variation in VARIATIONS.values():
        assert variation.name in result.stdout and variation.allowed_by in result.stdout


@pytest.mark.skipif(importlib.util.find_spec("agws_conformance.cli") is None, reason="cli.py not present yet")
def test_cli_registers_the_mock_command():
    from agws_conformance import cli

    assert "agws_conformance.commands.mock" in cli.COMMANDS
