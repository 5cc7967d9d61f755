"""Setup mistakes end as INCOMPLETE with the right explanation, never as NOT CONFORMANT.

Each case is what a new user gets wrong: a QA target file for the mock gateway (served standalone
on loopback, as any gateway would be) with one mistake, then ``pytest suites`` as the README says.
The run must stop before any suite test (exit 10), after at most about 20 requests, and the
terminal, the JSON summary, the gate line and the HTML banner must all carry the one explanation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from agws_conformance.mock import MockServer, embedded_target
from agws_conformance.report.summary import gate
from agws_conformance.target import Secret
from suite_runs import SuiteRun, run_suites

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

false_failures = load_benchmark("false_failures")
SECRET = "the-right-secret-for-this-test-0123"
MOCK = dataclasses.replace(embedded_target(), secret=Secret(SECRET))


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    with MockServer(MOCK) as server:
        yield server.url


def run_with_target(tmp_path: Path, toml: str, secret: str = SECRET) -> SuiteRun:
    target = tmp_path / "staging.toml"
    target.write_text(toml, encoding="utf-8")
    return run_suites(tmp_path, "--agws-target", target, env={false_failures.SECRET_ENV: secret})


def qa_file(url: str, **changes: str) -> str:
    """The QA target file with ``key = "value"`` changed, or (``key='"raw"'``) a [target] line added."""
    text = false_failures.qa_target_file(url, MOCK)
    for key, value in changes.items():
        line = f'{key} = "{getattr(MOCK, key, "")}"'
        text = text.replace(line, f'{key} = "{value}"', 1) if line in text \
            else text.replace("secret_env = ", f"{key} = {value}\nsecret_env = ", 1)
    return text


MISTAKES = {
    "wrong-secret": (lambda url: qa_file(url), "not-the-secret-0123456", "secret",
                     "every correctly signed request was refused with 1014"),
    "wrong-prefix": (lambda url: qa_file(url + "/gateway"), SECRET, "path", "or its path prefix is wrong"),
    "wrong-project": (lambda url: qa_file(url, project="other-project"), SECRET, "project",
                      "project 'other-project' was answered 8008"),
    "wrong-agent": (lambda url: qa_file(url, agent="other-agent"), SECRET, "agent",
                    "agent 'other-agent' was answered 9724"),
    "missing-account": (lambda url: qa_file(url).replace('username = "77019876543"', 'username = "no-such-001"'),
                        SECRET, "account", "declared account 'no-such-001' (accounts[1]) was answered 1407"),
    "missing-write-account": (lambda url: qa_file(url).replace('[write]\nusername = "77011234567"',
                                                               '[write]\nusername = "no-such-payee"'),
                              SECRET, "write", "[write] username 'no-such-payee' was answered 1407"),
    "wrong-signing": (lambda url: qa_file(url, signing='"go1.21"'), SECRET, "signing",
                      'the target file declares signing = "go1.21", but the target accepted only the go1.22'),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_setup_mistake_is_incomplete_with_its_explanation(gateway: str, tmp_path: Path, mistake: str) -> None:
    make, secret, cause, words = MISTAKES[mistake]
    done = run_with_target(tmp_path, make(gateway), secret)
    out, summary = done.output, done.summary
    assert done.returncode == 10, out[-3000:]
    assert summary["verdict"] == "INCOMPLETE" and summary["counts"]["tests"]["failed"] == 0
    preflight = summary["targets"][0]["preflight"]
    assert preflight["status"] == "failed" and preflight["cause"] == cause and words in preflight["problem"]
    assert summary["run"]["request_count"] <= 20
    assert "SETUP PROBLEM on target 'qa'" in out and words in out and "Traceback" not in out
    code, line = gate(done.summary_path, allow_mock=True)  # the mock stands in for a gateway
    assert code == 10 and words in line and "fix:" in line
    assert "Setup problem on target" in done.html
    assert secret not in out and secret not in done.summary_path.read_text(encoding="utf-8") and secret not in done.html


def test_the_right_setup_runs_the_suites(gateway: str, tmp_path: Path) -> None:
    done = run_with_target(tmp_path, qa_file(gateway))
    summary = done.summary
    assert done.returncode == 0, done.output[-3000:]
    assert summary["targets"][0]["preflight"]["status"] == "passed"
    assert summary["targets"][0]["signing"] == "go1.22" and summary["targets"][0]["signing_declared"] == \
        "signing auto, omit_empty auto"
