"""benchmarks/ci_phases.py reads what .ci/run prints and what pytest's JUnit file holds. No figure
is asserted: timings live in benchmarks/README.md."""

from __future__ import annotations

from pathlib import Path

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

ci_phases = load_benchmark("ci_phases")
REPO = Path(__file__).resolve().parents[1]


def test_every_phase_line_of_ci_run_is_read() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    output = "== quick start\nphase pip-suite: 31 s\n438 passed\nphase quick-start: 14 s\nphase total: 402 s\n"
    assert ci_phases.parse_phases(output) == {"pip-suite": 31, "quick-start": 14, "total": 402}
    # .ci/run names each phase it times: the README's two commands, mypy and the total.
    for name in ("pip-suite", "quick-start", "pip-test", "project-tests", "mypy", "total"):
        assert f"phase {name}" in script or f'phase {name} "' in script or f"phase {name}:" in script


def test_junit_durations_add_up_by_file(tmp_path: Path) -> None:
    junit = tmp_path / "t.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="tests.test_a" name="x" time="1.5"/>'
                     '<testcase classname="tests.test_a" name="y" time="2"/>'
                     '<testcase classname="tests.test_b" name="z" time="0.25"/></testsuite></testsuites>')
    assert ci_phases.durations_by_file(junit) == {"tests/test_a.py": 3.5, "tests/test_b.py": 0.25}
    assert ci_phases.durations_by_file(tmp_path / "missing.xml") == {}


def test_the_table_shows_each_runs_host_probe_beside_its_wall_time() -> None:
    runs = [ci_phases.CiRun(0, 400.0, 700.0, phases={"total": 400}, probe=(4.0, 4.2)),
            ci_phases.CiRun(0, 530.0, 980.0, phases={"total": 530}, probe=(5.6, 5.9))]
    table = ci_phases.table(runs, top=5)
    assert "| host probe before / after (s) | 4.0 / 4.2 | 5.6 / 5.9 |" in table
    assert "530 s (8.8 min) OVER 8 min" in table and "| CPU-seconds of .ci/run | 700 | 980 |" in table
    compile(ci_phases.PROBE, "<probe>", "exec")  # the probe is a program, run as python -c


def test_a_run_of_a_fresh_clone_reads_its_phases_and_junit_file(tmp_path: Path, monkeypatch) -> None:
    """run_ci end to end on a stand-in repository whose .ci/run prints two phases and writes a JUnit file."""
    import subprocess

    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    (repo / ".ci" / "run").write_text(
        "mkdir -p build\n"
        "echo '<testsuites><testcase classname=\"tests.test_a\" name=\"x\" time=\"2\"/></testsuites>' > build/ci-tests.xml\n"
        "echo 'phase project-tests: 2 s'\necho 'phase total: 3 s'\n", encoding="utf-8")
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "stand-in"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True)
    monkeypatch.setattr(ci_phases, "REPO", repo)
    run = ci_phases.run_ci(tmp_path / "work")
    assert run.exit_code == 0 and run.phases == {"project-tests": 2, "total": 3}
    assert run.files == {"tests/test_a.py": 2.0} and "phase total: 3 s" in run.tail
    assert "| project-tests | 2 s |" in ci_phases.table([run], top=5)
