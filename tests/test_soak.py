"""The soak profile as a user runs it: a short budget, a failure's replay, Ctrl-C, bad options.

No timing is asserted (speed and memory are measured in benchmarks/); only what the run reports.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agws_conformance.plugin.options import parse_duration
from agws_conformance.report.summary import summary_errors

try:
    from suite_runs import REPO, child_environment, run_pytest, run_suites
except ImportError:  # run from the repository root as a package
    from tests.suite_runs import REPO, child_environment, run_pytest, run_suites

GENERATED = ("suites/test_generated.py", "suites/test_commission.py")


def test_a_short_soak_runs_the_generated_tests_last_and_reports_its_budget(tmp_path: Path) -> None:
    run = run_suites(tmp_path, "--agws-profile", "soak", "--agws-budget", "3s", "--hypothesis-seed=0", "-vv",
                     paths=GENERATED)
    assert "INTERNALERROR" not in run.output and run.returncode in (0, 10), run.output  # 10: requirements not run
    doc = run.summary
    assert summary_errors(doc) == []
    assert (doc["run"]["profile"], doc["run"]["budget_seconds"], doc["run"]["partial"]) == ("soak", 3, None)
    assert doc["counts"]["tests"]["failed"] == doc["counts"]["tests"]["error"] == 0
    order = re.findall(r"^(suites/\S+::\S+) PASSED", run.done.stdout, re.M)
    generated = [i for i, nodeid in enumerate(order) if "test_generated_" in nodeid]
    fixed = [i for i, nodeid in enumerate(order) if "test_generated_" not in nodeid]
    assert generated and fixed and max(fixed) < min(generated), order  # the budget is spent last
    assert re.search(r"^soak: [\d,]+ requests, [\d,]+ generated cases, 0 failed tests, .* left \(done\)$",
                     run.done.stdout, re.M), run.output
    # Each generated test records how much it generated and how its runs replay (an INFO observation).
    assert len(re.findall(r"soak: \d+ generated examples in \d+ run\(s\) of at most 300, seed 0", run.html)) == 5


def test_a_soak_failure_replays_with_its_command(tmp_path: Path) -> None:
    run = run_suites(tmp_path, "--agws-profile", "soak", "--agws-budget", "5s", "--hypothesis-seed=3",
                     "--agws-mock-fault", "wrong-types-500", paths=("suites/test_generated.py",))
    assert run.returncode == 1 and run.summary["verdict"] == "NOT CONFORMANT", run.output
    replay = re.search(r"replay: pytest (\S+) (.*--hypothesis-seed=\S+)", run.done.stdout)
    assert replay is not None, run.output
    assert "--agws-profile thorough" in replay.group(2) and "--agws-budget" not in replay.group(2)
    example = re.search(r"Failing test case: case\(\nE?\s+example=(.*),\n", run.done.stdout)
    assert example is not None, run.output
    again = run_pytest(replay.group(1).strip("'"), *replay.group(2).split(), "-q")
    assert again.returncode == 1 and f"example={example.group(1)}," in again.stdout, again.stdout


def test_ctrl_c_stops_a_soak_with_a_valid_partial_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    log = (tmp_path / "pytest.log").open("w+")
    # Restore Ctrl-C in the child: a background job of a non-interactive shell starts with SIGINT ignored.
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "suites/test_generated.py",
         "-q", "--agws-profile", "soak", "--agws-budget", "10m", "--hypothesis-seed=0",
         f"--agws-json={out / 'summary.json'}", f"--html={out / 'report.html'}", f"--junitxml={out / 'junit.xml'}"],
        cwd=REPO, env=child_environment(), stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        waited = 0.0
        while "." not in Path(log.name).read_text() and waited < 120:  # the first test passed: soaking now
            time.sleep(0.2)
            waited += 0.2
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    output = Path(log.name).read_text()
    assert code == pytest.ExitCode.INTERRUPTED and "INTERNALERROR" not in output, output
    import json

    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary_errors(doc) == []
    assert doc["run"]["partial"] == "interrupted by the user (Ctrl-C)" and doc["verdict"] == "INCOMPLETE"
    assert doc["reasons"][0]["kind"] == "interrupted" and doc["counts"]["tests"]["total"] < 5
    assert "PARTIAL REPORT: interrupted by the user (Ctrl-C)" in (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"^soak: .* left \(partial: interrupted\)$", output, re.M), output
    assert (out / "junit.xml").is_file()


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1.5h", 5400), (" 2M ", 120)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5m", "0", "ten minutes", "inf", "nan"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(pytest.UsageError, match="--agws-budget .*90s, 10m or 1h"):
        parse_duration(text)


@pytest.mark.parametrize(("args", "message"), [
    (["--agws-budget", "5m"], "applies to the soak profile only"),
    (["--agws-profile", "soak", "--agws-budget", "soon"], "give a positive duration"),
    (["--agws-profile", "soak", "-n", "2"], "runs in one process"),
])
def test_soak_option_mistakes_are_one_clean_usage_error(args: list[str], message: str) -> None:
    done = run_pytest("suites/test_generated.py", *args)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and message in done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "INTERNALERROR" not in done.stdout + done.stderr
