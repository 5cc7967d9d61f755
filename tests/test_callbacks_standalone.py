"""Callbacks over real sockets: the standalone mock (``agws-conformance mock``) calls back the run's
receiver at the callback URL a QA target file declares, and the callback suite passes.

The declared URL names the receiver by another host spelling than its listening address
(``localhost`` vs ``127.0.0.1``), as a tunnel or a CI service name would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from agws_conformance.mock import embedded_target, mock_target_path
from suite_runs import run_suites

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

false_failures = load_benchmark("false_failures")
SECRET = "callbacks-over-real-sockets-0123456"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def standalone_mock():
    mock = embedded_target()
    env = {**os.environ, mock.secret_env: SECRET}
    process = subprocess.Popen([sys.executable, "-m", "agws_conformance.cli", "mock", "--target", str(mock_target_path()),
                                "--port", "0", "--quiet"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on " in line, line
        yield line.split("listening on ")[1].split(" ")[0]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


@pytest.mark.slow
def test_callbacks_pass_over_real_sockets_with_a_declared_url(standalone_mock: str, tmp_path: Path) -> None:
    mock = embedded_target()
    port = free_port()
    text = false_failures.qa_target_file(standalone_mock, mock).replace(
        'listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"\nurl = "http://localhost:{port}/agws-callback"')
    assert f"localhost:{port}" in text
    target = tmp_path / "qa.toml"
    target.write_text(text, encoding="utf-8")
    done = run_suites(tmp_path, "--agws-target", target, "--hypothesis-seed=0", paths=("suites/test_callbacks.py",),
                      env={false_failures.SECRET_ENV: SECRET})
    assert done.returncode in (0, 10), done.output[-3000:]  # 10: the other suites' requirements were not run
    tests = {t["nodeid"].split("::")[1]: t["outcome"] for t in done.summary["tests"]}
    assert tests == {"test_callback_for_a_final_payment": "passed", "test_callback_retried_until_200": "passed",
                     "test_callback_on_lifetime_expiry": "passed", "test_no_callback_for_a_refused_payment": "passed"}, \
        done.output[-3000:]
    assert done.summary["counts"]["tests"]["failed"] == 0
    timelines = [p["timeline"] for p in done.summary["targets"][0]["payments"]]
    assert any("callback #3" in entry[1] for timeline in timelines for entry in timeline)
    # The file's [callbacks] time_scale is the mock's own pace: nothing to point out.
    assert done.summary["targets"][0]["mock_pace"] is None and "NOTE 'qa'" not in done.output


@pytest.mark.slow
def test_a_time_scale_that_disagrees_with_the_mock_is_pointed_out(standalone_mock: str, tmp_path: Path) -> None:
    """The README's callbacks example (time_scale = 1) against the mock at its bundled pace (0.1):
    one line naming both paces and the two fixes (issue 26), in the terminal and the summary."""
    mock = embedded_target()
    text = false_failures.qa_target_file(standalone_mock, mock).replace("time_scale = 0.1", "time_scale = 1")
    assert "time_scale = 1\n" in text
    target = tmp_path / "qa.toml"
    target.write_text(text, encoding="utf-8")
    done = run_suites(tmp_path, "--agws-target", target, "--hypothesis-seed=0",
                      paths=("suites/test_callbacks.py::test_callback_for_a_final_payment",),
                      env={false_failures.SECRET_ENV: SECRET})
    pace = done.summary["targets"][0]["mock_pace"]
    assert pace == ("the mock calls back at time scale 0.1 but [callbacks] time_scale is 1: set time_scale = 0.1 in "
                    "the target file, or start the mock with agws-conformance mock --time-scale 1"), pace
    assert done.output.count(f"NOTE 'qa': {pace}") == 1, done.output[-3000:]


@pytest.mark.slow
def test_an_unreachable_callback_url_is_a_setup_problem(standalone_mock: str, tmp_path: Path) -> None:
    """A declared URL nothing listens on: the receiver gets nothing, which is INCOMPLETE with the
    fix, never NOT CONFORMANT."""
    mock = embedded_target()
    text = false_failures.qa_target_file(standalone_mock, mock).replace(
        'listen = "127.0.0.1:0"', f'listen = "127.0.0.1:0"\nurl = "http://127.0.0.1:{free_port()}/agws-callback"')
    target = tmp_path / "qa.toml"
    target.write_text(text, encoding="utf-8")
    done = run_suites(tmp_path, "--agws-target", target, "--hypothesis-seed=0", paths=("suites/test_callbacks.py",),
                      env={false_failures.SECRET_ENV: SECRET})
    assert done.returncode == 10, done.output[-3000:]
    assert done.summary["verdict"] == "INCOMPLETE" and done.summary["counts"]["tests"]["failed"] == 0
    messages = [t["message"] or "" for t in done.summary["tests"]]
    assert all("got no request at all" in m and "check [callbacks] url" in m for m in messages), messages
