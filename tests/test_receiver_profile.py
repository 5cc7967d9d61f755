"""The receiver profile (issue 27): the suite judging an integrator's callback receiver.

Proves each receiver check the way benchmarks/detection.py proves the gateway's: the mock's
correct receiver mode ends CONFORMANT on Hypothesis seeds 0-4, and each receiver fault fails the
gate (exit 1) with the requirement it claims failing. A fault claiming only SHOULD requirements
fails the gate under --agws-strict, as every SHOULD does (without it the run warns: checked too).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Iterator

import pytest

from agws_conformance.catalogue import load_catalogue
from agws_conformance.mock.receiver_mode import RECEIVER_FAULTS, MockReceiver
from agws_conformance.target import parse_target
from suite_runs import SuiteRun, run_suites

SECRET_ENV = "AGWS_TEST_RECEIVER_SECRET"
KNOWN = "agws-receiver-known-1"
TIME_SCALE = 0.1  # the slow fault: 1.1 s, over the target's 0.8 s timeout
TIMEOUT = 0.8


def target_file(directory: Path, url: str) -> Path:
    path = directory / "receiver.toml"
    path.write_text(f'[receiver]\nurl = "{url}"\nsecret_env = "{SECRET_ENV}"\nproject = "mock-project"\n'
                    f'service_code = "201106"\nexternal_id = "{KNOWN}"\namount = 100.5\ntimeout = {TIMEOUT}\n',
                    encoding="utf-8")
    return path


def profile_run(tmp_path: Path, faults: tuple[str, ...], *options: str) -> tuple[SuiteRun, MockReceiver, str]:
    secret = secrets.token_urlsafe(24)
    receiver = MockReceiver(secret=secret, known=[KNOWN], faults=faults, time_scale=TIME_SCALE)
    url = receiver.start()
    try:
        run = run_suites(tmp_path / "out", "--agws-target", target_file(tmp_path, url), *options,
                         env={SECRET_ENV: secret})
    finally:
        receiver.stop()
    return run, receiver, secret


def statuses(run: SuiteRun) -> dict[str, str]:
    return {r["id"]: next(iter(r["results"].values()))["status"] for r in run.summary["requirements"]}


def strict_needed(fault: str) -> bool:
    levels = {load_catalogue().requirements[r].level for r in RECEIVER_FAULTS[fault].breaks}
    return "MUST" not in levels


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow),
                                  pytest.param(3, marks=pytest.mark.slow), pytest.param(4, marks=pytest.mark.slow)])
def test_correct_receiver_is_conformant(tmp_path: Path, seed: int) -> None:
    run, receiver, secret = profile_run(tmp_path, (), f"--hypothesis-seed={seed}")
    assert run.returncode == 0, run.output[-3000:]
    assert run.summary["verdict"] == "CONFORMANT" and run.summary["side"] == "receiver"
    found = statuses(run)
    assert {found[r] for r in ("RCV-ACK-200", "RCV-ACK-REPEAT", "RCV-REJECTS-UNSIGNED", "RCV-UNKNOWN-ID",
                               "RCV-UNEXPECTED-STATUS")} == {"pass"}
    assert found["RCV-CREDITS-ONCE"] == "info" and found["PAY-SUCCESS"] == "n/a"
    assert receiver.credits(KNOWN) == 1  # the repeats were acknowledged, not credited again
    assert "Side judged: an integrator&#x27;s callback receiver" in run.html or \
           "Side judged: an integrator's callback receiver" in run.html
    for text in (run.output, run.html, run.summary_path.read_text(encoding="utf-8")):
        assert secret not in text


@pytest.mark.parametrize("fault", sorted(RECEIVER_FAULTS))
def test_receiver_fault_fails_the_gate(tmp_path: Path, fault: str) -> None:
    strict = strict_needed(fault)
    run, _, secret = profile_run(tmp_path, (fault,), *(["--agws-strict"] if strict else []))
    assert run.returncode == 1, run.output[-3000:]
    found = statuses(run)
    assert all(found[r] in ("fail", "warn") for r in RECEIVER_FAULTS[fault].breaks), found
    failed = {r for t in run.summary["tests"] for r in t["failed_requirements"]}
    assert set(RECEIVER_FAULTS[fault].breaks) <= failed, failed
    assert secret not in run.output


@pytest.mark.slow
def test_should_fault_only_warns_without_strict(tmp_path: Path) -> None:
    run, _, _ = profile_run(tmp_path, ("accepts-unsigned",))
    assert run.returncode == 0 and run.summary["verdict"] == "CONFORMANT WITH WARNINGS", run.output[-2000:]


def test_gateway_run_marks_the_receiver_tests_not_applicable() -> None:
    """Parsing: one side per file, with line-precise errors."""
    with pytest.raises(Exception, match=r"x.toml:\d+: \[target\] does not go with \[receiver\]"):
        parse_target('[receiver]\nurl = "http://127.0.0.1:1/cb"\nproject = "p"\nservice_code = "s"\n'
                     'external_id = "e"\n[target]\nbase_url = "http://x"\n', source="x.toml", environ={})
    with pytest.raises(Exception, match=r"x.toml:3: receiver.status_code must be a final status"):
        parse_target('[receiver]\nurl = "http://127.0.0.1:1/cb"\nstatus_code = "1"\nproject = "p"\n'
                     'service_code = "s"\nexternal_id = "e"\n', source="x.toml", environ={})
    t = parse_target('[receiver]\nurl = "http://127.0.0.1:1/cb"\nproject = "p"\nservice_code = "s"\n'
                     'external_id = "e"\nsecret_env = "S"\n', source="r.toml", environ={"S": "long-enough-secret"})
    assert t.side == "receiver" and t.receiver is not None and t.receiver.timeout == 10.0 and t.name == "r"
    assert "long-enough-secret" not in repr(t)


@pytest.fixture(autouse=True)
def _no_leftover_servers() -> Iterator[None]:
    yield
