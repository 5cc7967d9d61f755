"""Detection matrix: run the suite against the clean mock and against every mock fault.

A conformance suite is only worth running if it fails on the defects it claims to catch and never
on a conforming gateway. This script proves both from the suite's own JSON summary
(``--agws-json``), never from terminal output:

* the clean mock, full suite, in both error formats: zero failed/warned/errored tests and zero
  requirements with status fail, warn or error (a false alarm is a defect of the suite);
* every fault in ``agws_conformance.mock.faults.FAULTS`` alone, running only the suite tests that
  judge the fault's requirements (``--agws-requirement``): detected when at least one requirement
  the fault claims to break is ``fail`` (``warn`` for SHOULD; for INFO, an observation where the
  clean run recorded a pass). A fault missed in the mock's default (new) error format is retried
  in the old one, since some faults only exist there;
* pairs of independent faults (disjoint requirements, areas and failing tests): both must still be
  detected, so one defect does not hide another.

    python benchmarks/detection.py [--jobs 2] [--no-pairs] [--fault NAME ...] [--out build/detection]

Exit status 0 when every fault and pair is detected and the clean runs are clean, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from agws_conformance.catalogue import load_catalogue
from agws_conformance.mock.faults import FAULTS

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "suites"
FORMATS = ("new", "old")
HYPOTHESIS_SEED = "0"
"""Fixed so a matrix is reproducible; the generated tests are not the only check of any fault."""

SHORT_TIMEOUT = "2"
"""--agws-timeout for faults breaking ROB-RESPONSE-TIME: a stalled answer is judged after this."""


@dataclass(frozen=True)
class SuiteRun:
    """One pytest run of the suites, as its JSON summary describes it."""

    args: tuple[str, ...]
    exit_code: int
    seconds: float
    summary: dict[str, Any] | None
    problem: str | None = None  # why there is no summary (last stderr/stdout lines)

    def cells(self) -> dict[str, tuple[str, str, list[str]]]:
        """requirement id -> (level, status, tests) for the (single) target."""
        out: dict[str, tuple[str, str, list[str]]] = {}
        for req in (self.summary or {}).get("requirements", []):
            cell = next(iter(req["results"].values()))
            out[req["id"]] = (req["level"], cell["status"], cell["tests"])
        return out

    def tests(self, *outcomes: str) -> list[str]:
        return [t["nodeid"] for t in (self.summary or {}).get("tests", []) if t["outcome"] in outcomes]


def suite_command(json_path: str | Path, args: Sequence[str] = ()) -> list[str]:
    """The pytest command line the matrix runs (also printed in the report, for reproduction)."""
    return [sys.executable, "-m", "pytest", str(SUITES), "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            f"--hypothesis-seed={HYPOTHESIS_SEED}", f"--agws-json={json_path}", *args]


def run_suite(args: Sequence[str] = (), *, timeout: float = 900, env: dict[str, str] | None = None) -> SuiteRun:
    """Run the suites in a subprocess with ``args`` and read back the JSON summary."""
    with tempfile.TemporaryDirectory(prefix="agws-detect-") as tmp:
        json_path = Path(tmp) / "summary.json"
        start = time.monotonic()
        done = subprocess.run(suite_command(json_path, args), cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, env=env)
        seconds = time.monotonic() - start
        if not json_path.exists():
            tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            return SuiteRun(tuple(args), done.returncode, seconds, None, " | ".join(tail) or "no summary written")
        return SuiteRun(tuple(args), done.returncode, seconds, json.loads(json_path.read_text(encoding="utf-8")))


# -- clean runs ---------------------------------------------------------------------------------

@dataclass
class CleanResult:
    error_format: str
    exit_code: int
    verdict: str
    seconds: float
    tests: int
    false_failures: list[str]  # failed / warned / errored tests
    false_requirements: list[str]  # requirements with status fail / warn / error
    statuses: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def clean(self) -> bool:
        return not self.false_failures and not self.false_requirements and self.exit_code == 0


def clean_run(error_format: str) -> CleanResult:
    """The full suite against the clean mock in one error format."""
    run = run_suite(["--agws-error-format", error_format])
    if run.summary is None:
        return CleanResult(error_format, run.exit_code, "NO SUMMARY", run.seconds, 0,
                           [f"(no summary: {run.problem})"], [])
    cells = run.cells()
    bad = sorted(r for r, (_, status, _) in cells.items() if status in ("fail", "warn", "error"))
    return CleanResult(error_format, run.exit_code, run.summary["verdict"], run.seconds,
                       run.summary["counts"]["tests"]["total"], run.tests("failed", "warn", "error"), bad,
                       {r: status for r, (_, status, _) in cells.items()})


# -- fault runs ---------------------------------------------------------------------------------

@dataclass
class FaultResult:
    faults: list[str]
    claims: dict[str, list[str]]  # fault -> requirements it claims to break
    error_format: str
    exit_code: int
    seconds: float
    evidence: dict[str, list[str]]  # fault -> claimed requirements the suite failed
    failing_requirements: dict[str, str]  # every requirement with fail/warn/info-evidence in this run
    failed_tests: list[str]
    problem: str | None = None

    @property
    def detected(self) -> bool:
        return all(self.evidence.get(f) for f in self.faults)

    @property
    def unconfirmed(self) -> dict[str, list[str]]:
        """Claimed requirements that did not fail (the claim or the suite may be wrong)."""
        return {f: [r for r in self.claims[f] if r not in self.evidence.get(f, [])] for f in self.faults}


def _is_evidence(level: str, status: str, clean_status: str | None) -> bool:
    if status == "fail":
        return True
    if status == "warn":
        return level in ("SHOULD", "INFO")
    # An INFO requirement never fails: an observation where the clean mock passed is the evidence.
    return level == "INFO" and status == "info" and clean_status == "pass"


def fault_run(faults: Sequence[str], error_format: str, clean: dict[str, CleanResult]) -> FaultResult:
    """Run only the tests judging ``faults``' requirements, with the faults injected."""
    claims = {f: list(FAULTS[f].breaks) for f in faults}
    requirements = list(dict.fromkeys(r for f in faults for r in FAULTS[f].breaks))
    args = ["--agws-error-format", error_format]
    for f in faults:
        args += ["--agws-mock-fault", f]
    for r in requirements:
        args += ["--agws-requirement", r]
    if "ROB-RESPONSE-TIME" in requirements:
        args += ["--agws-timeout", SHORT_TIMEOUT]
    run = run_suite(args)
    if run.summary is None:
        return FaultResult(list(faults), claims, error_format, run.exit_code, run.seconds, {}, {}, [], run.problem)
    cells = run.cells()
    baseline = clean[error_format].statuses if error_format in clean else {}
    evidence_of = {r: status for r, (level, status, _) in cells.items()
                   if _is_evidence(level, status, baseline.get(r))}
    evidence = {f: [r for r in claims[f] if r in evidence_of] for f in faults}
    return FaultResult(list(faults), claims, error_format, run.exit_code, run.seconds, evidence, evidence_of,
                       run.tests("failed", "warn", "error"))


def single_fault(name: str, clean: dict[str, CleanResult]) -> FaultResult:
    """A fault alone: the default (new) error format first, the old one if the new one missed it."""
    result = fault_run([name], FORMATS[0], clean)
    if result.detected:
        return result
    retry = fault_run([name], FORMATS[1], clean)
    return retry if retry.detected else result


def choose_pairs(singles: Sequence[FaultResult]) -> list[tuple[str, str]]:
    """Pairs of detected faults that should not interact: disjoint requirements, requirement areas
    and failing tests, same error format. Greedy in name order, each fault in at most one pair."""
    areas = {r.id: r.area for r in load_catalogue().requirements.values()}
    usable = sorted((s for s in singles if s.detected), key=lambda s: s.faults[0])
    paired: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for i, a in enumerate(usable):
        if a.faults[0] in paired:
            continue
        for b in usable[i + 1:]:
            if b.faults[0] in paired or a.error_format != b.error_format:
                continue
            ra, rb = set(a.claims[a.faults[0]]), set(b.claims[b.faults[0]])
            if ra & rb or {areas[r] for r in ra} & {areas[r] for r in rb}:
                continue
            if set(a.failed_tests) & set(b.failed_tests):
                continue
            pairs.append((a.faults[0], b.faults[0]))
            paired |= {a.faults[0], b.faults[0]}
            break
    return pairs


# -- the matrix ---------------------------------------------------------------------------------

@dataclass
class Matrix:
    clean: list[CleanResult]
    singles: list[FaultResult]
    pairs: list[FaultResult]
    seconds: float

    @property
    def missed(self) -> list[FaultResult]:
        return [r for r in self.singles + self.pairs if not r.detected]

    @property
    def false_failures(self) -> int:
        return sum(len(c.false_failures) + len(c.false_requirements) for c in self.clean)

    @property
    def ok(self) -> bool:
        return not self.missed and all(c.clean for c in self.clean)

    def to_dict(self) -> dict[str, Any]:
        def fault_doc(r: FaultResult) -> dict[str, Any]:
            return asdict(r) | {"detected": r.detected, "unconfirmed": r.unconfirmed}

        return {"ok": self.ok, "seconds": round(self.seconds, 1),
                "detected": sum(r.detected for r in self.singles), "faults": len(self.singles),
                "pairs_detected": sum(r.detected for r in self.pairs), "pairs": len(self.pairs),
                "false_failures": self.false_failures,
                "clean": [asdict(c) | {"clean": c.clean} for c in self.clean],
                "singles": [fault_doc(r) for r in self.singles], "pair_runs": [fault_doc(r) for r in self.pairs]}

    def markdown(self) -> str:
        lines = ["# Detection matrix", "",
                 f"Faults detected alone: **{sum(r.detected for r in self.singles)}/{len(self.singles)}**; "
                 f"pairs: **{sum(r.detected for r in self.pairs)}/{len(self.pairs)}**; "
                 f"false failures on the clean mock: **{self.false_failures}**; {self.seconds:.0f} s.", "",
                 "| clean mock | verdict | exit | tests | false failures |", "|---|---|---|---|---|"]
        for c in self.clean:
            lines.append(f"| {c.error_format} | {c.verdict} | {c.exit_code} | {c.tests} | "
                         f"{', '.join(c.false_failures + c.false_requirements) or 'none'} |")
        lines += ["", "| fault(s) | format | requirements it breaks | failed (evidence) | tests that failed | result |",
                  "|---|---|---|---|---|---|"]
        for r in self.singles + self.pairs:
            claimed = "; ".join(", ".join(r.claims[f]) for f in r.faults)
            evidence = "; ".join(", ".join(r.evidence.get(f, [])) or "-" for f in r.faults)
            tests = ", ".join(t.split("::", 1)[-1] for t in r.failed_tests[:4])
            if len(r.failed_tests) > 4:
                tests += f" (+{len(r.failed_tests) - 4})"
            result = "detected" if r.detected else f"**MISSED** {r.problem or ''}".strip()
            lines.append(f"| {' + '.join(r.faults)} | {r.error_format} | {claimed} | {evidence} | {tests or '-'} | {result} |")
        return "\n".join(lines) + "\n"


def detection_matrix(faults: Iterable[str] | None = None, *, pairs: bool = True, jobs: int = 2,
                     formats: Sequence[str] = FORMATS) -> Matrix:
    """Run the clean mock, every fault alone and (optionally) independent pairs; ``jobs`` in parallel."""
    names = sorted(faults) if faults is not None else sorted(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault {unknown[0]!r}; see agws-conformance mock --list-faults")
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        clean = {c.error_format: c for c in pool.map(clean_run, formats)}
        singles = list(pool.map(lambda n: single_fault(n, clean), names))
        chosen = choose_pairs(singles) if pairs else []
        pair_runs = list(pool.map(lambda p: fault_run(p, next(s.error_format for s in singles if s.faults == [p[0]]),
                                                      clean), chosen))
    return Matrix(list(clean.values()), singles, pair_runs, time.monotonic() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="suite runs in parallel")
    parser.add_argument("--no-pairs", action="store_true", help="faults alone only")
    parser.add_argument("--fault", action="append", help="only this fault (repeatable)")
    parser.add_argument("--out", default=str(REPO / "build" / "detection"), help="folder for detection.json/.md")
    args = parser.parse_args(argv)
    matrix = detection_matrix(args.fault, pairs=not args.no_pairs, jobs=args.jobs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detection.json").write_text(json.dumps(matrix.to_dict(), indent=2) + "\n", encoding="utf-8")
    (out / "detection.md").write_text(matrix.markdown(), encoding="utf-8")
    print(matrix.markdown())
    print(f"written: {out / 'detection.md'}, {out / 'detection.json'}")
    return 0 if matrix.ok else 1


if __name__ == "__main__":
    sys.exit(main())
