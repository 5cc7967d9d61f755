"""The suite catches every mock fault and raises no false alarm (benchmarks/detection.py).

Runs the detection matrix: the clean mock in both error formats (full suite), every fault alone
and independent pairs (only the tests judging the faults' requirements), two reused worker
processes. About 1-2 minutes on 2 cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agws_conformance.mock.faults import FAULTS

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

detection = load_benchmark("detection")


def test_requirement_selection_runs_only_matching_tests(tmp_path: Path) -> None:
    run = detection.run_suite(["--agws-requirement", "SIG-REJECT-MISSING", "--agws-mock-fault",
                               "missing-signature-accepted"])
    assert run.summary is not None, run.problem
    ran = run.summary["tests"]
    assert ran and all("SIG-REJECT-MISSING" in t["requirements"] for t in ran)
    assert run.exit_code == 1 and run.cells()["SIG-REJECT-MISSING"][1] == "fail"


def test_unknown_requirement_is_one_clear_line() -> None:
    run = detection.run_suite(["--agws-requirement", "NO-SUCH-ID"])
    assert run.summary is None and run.exit_code == 4
    assert "--agws-requirement 'NO-SUCH-ID' matches no requirement ID" in (run.problem or "")


def test_pairing_never_pairs_a_fault_every_test_depends_on() -> None:
    def single(name: str, tests: list[str]):  # noqa: ANN202
        return detection.FaultResult([name], {name: list(FAULTS[name].breaks)}, "new", 1, 0.0,
                                     {name: list(FAULTS[name].breaks)}, {}, tests)

    singles = [single("hang", ["a"]), single("status-code-8", ["b"]), single("wrong-account-status", ["c"]),
               single("status-code-as-string", ["d"])]
    assert detection.choose_pairs(singles) == [("status-code-8", "wrong-account-status")]


@pytest.mark.slow
def test_detection_matrix_is_complete_with_no_false_failures(tmp_path: Path) -> None:
    matrix = detection.detection_matrix(jobs=2)
    (tmp_path / "detection.json").write_text(json.dumps(matrix.to_dict(), indent=2))
    for clean in matrix.clean:
        assert clean.clean, f"false failures on the clean mock ({clean.error_format}): " \
                            f"{clean.false_failures + clean.false_requirements} (exit {clean.exit_code})"
        assert clean.tests > 200
    assert {c.error_format for c in matrix.clean} == {"old", "new"}
    assert sorted(r.faults[0] for r in matrix.singles) == sorted(FAULTS)
    missed = [(r.faults, r.error_format, r.problem, r.failing_requirements) for r in matrix.missed]
    assert not missed, f"faults the suite did not detect: {missed}"
    assert len(matrix.pairs) >= len(FAULTS) // 3
