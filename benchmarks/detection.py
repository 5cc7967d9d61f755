"""Detection matrix: run the suite against the clean mock and against every mock fault.

A conformance suite is only worth running if it fails on the defects it claims to catch and never
on a conforming gateway. This script proves both from the suite's own JSON summary
(``--agws-json``), never from terminal output:

* the clean mock, full suite, in both error formats: zero failed/warned/errored tests and zero
  requirements with status fail, warn or error (a false alarm is a defect of the suite);
* every fault in ``agws_conformance.mock.faults.FAULTS`` alone, running only the suite tests that
  judge the fault's requirements (``--agws-requirement``). The headline figure counts faults that
  **fail the gate**: the run exits 1 (NOT CONFORMANT) with a MUST requirement the fault claims
  ``fail``. A fault claiming only SHOULD or INFO requirements can only **warn** (a SHOULD ``warn``;
  for INFO, an observation where the clean run recorded a pass): listed separately, never counted
  in the headline. Every requirement a fault claims must show its evidence (an unconfirmed claim
  is a defect of the fault). A fault missed in the mock's default (new) error format is retried in
  the old one, since some faults only exist there;
* pairs of independent faults (disjoint requirements, areas and failing tests): both must still be
  detected, so one defect does not hide another;
* attribution, over every run: no test records a finding for a requirement it does not declare,
  and every requirement a test declares is judged by it in some run.

    python benchmarks/detection.py [--jobs 2] [--no-pairs] [--fault NAME ...] [--out build/detection]

Exit status 0 when every fault and pair is detected and the clean runs are clean, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from agws_conformance.catalogue import load_catalogue
from agws_conformance.endpoints import METHODS
from agws_conformance.mock.faults import FAULTS

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "suites"
FORMATS = ("new", "old")
HYPOTHESIS_SEED = "0"
"""Fixed so a matrix is reproducible; the generated tests are not the only check of any fault."""

PRESUPPOSED = frozenset({"ENV-SHAPE", "SIG-ACCEPT-GO-BODY", "ROB-RESPONSE-TIME",
                         *(m.found for m in METHODS.values())})
"""Requirements every suite test presupposes (it reads the envelope, sends a Go-signed body and
waits for the answer; every refusal of the rule families rests on its method's good request being
served, ``Method.found``): a fault breaking one of them masks any other fault, so it is never paired."""

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


def suite_command(json_path: str | Path, args: Sequence[str] = (), seed: str = HYPOTHESIS_SEED) -> list[str]:
    """The pytest arguments of one matrix run (after ``python -m pytest``), for reproduction."""
    # --tb=native: the matrices read verdicts from the JSON summary; pytest's own traceback (it
    # parses each frame's source file again) cost a third of a fault run's CPU.
    return [str(SUITES), "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--tb=native",
            f"--hypothesis-seed={seed}", f"--agws-json={json_path}", *args]


_ANSWER = "@@agws-detection-exit "


class Worker:
    """A long-lived Python process that runs ``pytest.main`` once per job.

    Starting Python, importing the plugin and collecting the suites costs ~3 s, far more than the
    few tests a fault run selects; a worker pays it once. Each job is still a whole pytest session
    (its own config, Run, embedded mock and JSON summary); only imported modules are shared.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], cwd=REPO,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env=worker_environment())

    def run(self, argv: Sequence[str]) -> tuple[int, str]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(list(argv)) + "\n")
        self._proc.stdin.flush()
        seen: list[str] = []
        for line in self._proc.stdout:
            if line.startswith(_ANSWER):
                return int(line[len(_ANSWER):]), ""
            seen.append(line.rstrip())
        return -1, " | ".join(seen[-3:]) or "detection worker died"

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


BYTECODE = Path(tempfile.gettempdir()) / "agws-conformance-matrix-pycache"


def worker_environment() -> dict[str, str]:
    """The environment a worker starts in: bytecode (and pytest's assertion-rewritten suites) cached
    outside the checkout and shared by the workers, even where PYTHONDONTWRITEBYTECODE is set: each
    worker would otherwise compile and rewrite every module again (~1 CPU-second per worker)."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return environ | {"PYTHONPYCACHEPREFIX": str(BYTECODE)}


def serve() -> None:
    """Worker side: one JSON argv per stdin line; answer with the exit code on its own line."""
    import contextlib
    import io

    import pytest

    for line in sys.stdin:
        with contextlib.redirect_stdout(io.StringIO()):
            code = int(pytest.main(json.loads(line)))
        print(_ANSWER + str(code), flush=True)


def run_suite(args: Sequence[str] = (), *, worker: Worker | None = None, timeout: float = 900,
              env: dict[str, str] | None = None, seed: str = HYPOTHESIS_SEED) -> SuiteRun:
    """Run the suites with ``args`` (in ``worker``, else a fresh process) and read the JSON summary."""
    with tempfile.TemporaryDirectory(prefix="agws-detect-") as tmp:
        json_path = Path(tmp) / "summary.json"
        argv = suite_command(json_path, args, seed)
        start = time.monotonic()
        if worker is not None:
            code, problem = worker.run(argv)
        else:
            done = subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=REPO, capture_output=True,
                                  text=True, timeout=timeout, env=env)
            code, problem = done.returncode, " | ".join((done.stderr.strip() or done.stdout.strip()).splitlines()[-3:])
        seconds = time.monotonic() - start
        if not json_path.exists():
            return SuiteRun(tuple(args), code, seconds, None, problem or "no summary written")
        summary = json.loads(json_path.read_text(encoding="utf-8"))
        if isinstance(summary.get("usage_error"), dict):  # no test ran: the summary is the error, not results
            return SuiteRun(tuple(args), code, seconds, None, summary["usage_error"]["error"])
        return SuiteRun(tuple(args), code, seconds, summary)


_T = TypeVar("_T")


class Pool:
    """``jobs`` workers (or fresh processes when ``fresh``) shared by a thread pool."""

    def __init__(self, jobs: int, *, fresh: bool = False) -> None:
        self.jobs = max(1, jobs)
        self._idle: queue.Queue[Worker | None] = queue.Queue()
        for _ in range(self.jobs):
            self._idle.put(None if fresh else Worker())
        self._executor = ThreadPoolExecutor(max_workers=self.jobs)

    def run(self, args: Sequence[str], seed: str = HYPOTHESIS_SEED) -> SuiteRun:
        worker = self._idle.get()
        try:
            return run_suite(args, worker=worker, seed=seed)
        finally:
            self._idle.put(worker)

    def map(self, fn: Any, items: Iterable[Any]) -> list[Any]:
        return list(self._executor.map(fn, items))

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        return self._executor.submit(fn, *args)

    def close(self) -> None:
        self._executor.shutdown()
        while not self._idle.empty():
            worker = self._idle.get()
            if worker is not None:
                worker.close()


# -- clean runs ---------------------------------------------------------------------------------

Judged = dict[str, tuple[list[str], list[str]]]
"""nodeid -> (requirements it declares, requirements it recorded a finding for) in one run."""


def judged_by_test(run: SuiteRun) -> Judged:
    """Tests that ran (a skipped test judges nothing, by design) and what they declared and judged."""
    return {t["nodeid"]: (list(t["requirements"]), sorted(t.get("judged", {})))
            for t in (run.summary or {}).get("tests", []) if t["outcome"] != "skipped"}


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
    judged: Judged = field(default_factory=dict, repr=False)

    @property
    def clean(self) -> bool:
        return not self.false_failures and not self.false_requirements and self.exit_code == 0


def clean_run(pool: Pool, error_format: str) -> CleanResult:
    """The full suite against the clean mock in one error format."""
    run = pool.run(["--agws-error-format", error_format])
    if run.summary is None:
        return CleanResult(error_format, run.exit_code, "NO SUMMARY", run.seconds, 0,
                           [f"(no summary: {run.problem})"], [])
    cells = run.cells()
    bad = sorted(r for r, (_, status, _) in cells.items() if status in ("fail", "warn", "error"))
    return CleanResult(error_format, run.exit_code, run.summary["verdict"], run.seconds,
                       run.summary["counts"]["tests"]["total"], run.tests("failed", "warn", "error"), bad,
                       {r: status for r, (_, status, _) in cells.items()}, judged_by_test(run))


# -- fault runs ---------------------------------------------------------------------------------

@dataclass
class FaultResult:
    faults: list[str]
    claims: dict[str, list[str]]  # fault -> requirements it claims to break
    error_format: str
    exit_code: int
    seconds: float
    evidence: dict[str, list[str]]  # fault -> claimed requirements the suite failed (or warned, for SHOULD/INFO)
    failing_requirements: dict[str, str]  # every requirement with fail/warn/info-evidence in this run
    failed_tests: list[str]
    problem: str | None = None
    levels: dict[str, str] = field(default_factory=dict, repr=False)  # claimed requirement -> level
    judged: Judged = field(default_factory=dict, repr=False)

    def claims_must(self, fault: str) -> bool:
        return any(self.levels.get(r) == "MUST" for r in self.claims[fault])

    def fails_gate(self, fault: str) -> bool:
        """The run is NOT CONFORMANT (exit 1) with a MUST requirement the fault claims failed."""
        return self.exit_code == 1 and any(self.levels.get(r) == "MUST" and self.failing_requirements.get(r) == "fail"
                                           for r in self.evidence.get(fault, []))

    @property
    def gate(self) -> bool:
        return all(self.fails_gate(f) for f in self.faults)

    @property
    def detected(self) -> bool:
        """Every fault fails the gate, or, claiming no MUST requirement, at least warns."""
        return all(self.fails_gate(f) if self.claims_must(f) else bool(self.evidence.get(f)) for f in self.faults)

    @property
    def warned_only(self) -> bool:
        return self.detected and not self.gate

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


def fault_run(pool: Pool, faults: Sequence[str], error_format: str,
              clean: Mapping[str, CleanResult]) -> FaultResult:
    """Run only the tests judging ``faults``' requirements, with the faults injected."""
    claims = {f: list(FAULTS[f].breaks) for f in faults}
    requirements = list(dict.fromkeys(r for f in faults for r in FAULTS[f].breaks))
    levels = {r.id: r.level for r in load_catalogue().requirements.values()}
    args = ["--agws-error-format", error_format]
    for f in faults:
        args += ["--agws-mock-fault", f]
    for r in requirements:
        args += ["--agws-requirement", r]
    if "ROB-RESPONSE-TIME" in requirements:
        args += ["--agws-timeout", SHORT_TIMEOUT]
    run = pool.run(args)
    if run.summary is None:
        return FaultResult(list(faults), claims, error_format, run.exit_code, run.seconds, {}, {}, [], run.problem,
                           levels)
    cells = run.cells()
    baseline = clean[error_format].statuses if error_format in clean else {}
    evidence_of = {r: status for r, (level, status, _) in cells.items()
                   if _is_evidence(level, status, baseline.get(r))}
    evidence = {f: [r for r in claims[f] if r in evidence_of] for f in faults}
    return FaultResult(list(faults), claims, error_format, run.exit_code, run.seconds, evidence, evidence_of,
                       run.tests("failed", "warn", "error"), None, levels, judged_by_test(run))


def single_fault(pool: Pool, name: str, clean: Mapping[str, CleanResult]) -> FaultResult:
    """A fault alone: the default (new) error format first, the old one if the new one missed it."""
    result = fault_run(pool, [name], FORMATS[0], clean)
    if result.detected:
        return result
    retry = fault_run(pool, [name], FORMATS[1], clean)
    return retry if retry.detected else result


def choose_pairs(singles: Sequence[FaultResult]) -> list[tuple[str, str]]:
    """Pairs of faults failing the gate that should not interact: disjoint requirements, requirement
    areas and failing tests, same error format, none breaking a :data:`PRESUPPOSED` requirement.
    Greedy in name order, each fault in at most one pair."""
    areas = {r.id: r.area for r in load_catalogue().requirements.values()}
    usable = sorted((s for s in singles if s.gate), key=lambda s: s.faults[0])
    paired: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for i, a in enumerate(usable):
        if a.faults[0] in paired:
            continue
        for b in usable[i + 1:]:
            if b.faults[0] in paired or a.error_format != b.error_format:
                continue
            ra, rb = set(a.claims[a.faults[0]]), set(b.claims[b.faults[0]])
            if (ra | rb) & PRESUPPOSED or ra & rb or {areas[r] for r in ra} & {areas[r] for r in rb}:
                continue
            if set(a.failed_tests) & set(b.failed_tests):
                continue
            pairs.append((a.faults[0], b.faults[0]))
            paired |= {a.faults[0], b.faults[0]}
            break
    return pairs


# -- the matrix ---------------------------------------------------------------------------------

IMPLICIT = frozenset({"ROB-RESPONSE-TIME"})
"""Declared for every suite test by the plugin (judged on whatever a test sends): a test that sends
nothing declares it without judging it."""


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
    def gate(self) -> list[FaultResult]:
        return [r for r in self.singles if r.gate]

    @property
    def warned_only(self) -> list[FaultResult]:
        return [r for r in self.singles if r.warned_only]

    @property
    def unconfirmed(self) -> dict[str, list[str]]:
        return {f: reqs for r in self.singles for f, reqs in r.unconfirmed.items() if reqs}

    @property
    def false_failures(self) -> int:
        return sum(len(c.false_failures) + len(c.false_requirements) for c in self.clean)

    def attribution(self) -> tuple[list[str], list[str]]:
        """(findings for undeclared requirements, declared requirements never judged), over every run."""
        declared: dict[str, set[str]] = {}
        judged: dict[str, set[str]] = {}
        undeclared: set[str] = set()
        for run in [*self.clean, *self.singles, *self.pairs]:
            for nodeid, (reqs, found) in run.judged.items():
                declared.setdefault(nodeid, set()).update(reqs)
                judged.setdefault(nodeid, set()).update(found)
                undeclared.update(f"{nodeid}: {r}" for r in found if r not in reqs)
        never = sorted(f"{nodeid}: {r}" for nodeid, reqs in declared.items()
                       for r in reqs - judged[nodeid] - IMPLICIT)
        return sorted(undeclared), never

    @property
    def ok(self) -> bool:
        undeclared, never = self.attribution()
        return (not self.missed and all(c.clean for c in self.clean) and not self.unconfirmed
                and not undeclared and not never)

    def to_dict(self) -> dict[str, Any]:
        def fault_doc(r: FaultResult) -> dict[str, Any]:
            doc = asdict(r)
            doc.pop("judged")
            return doc | {"fails_gate": r.gate, "warned_only": r.warned_only, "detected": r.detected,
                          "unconfirmed": r.unconfirmed}

        undeclared, never = self.attribution()
        return {"ok": self.ok, "seconds": round(self.seconds, 1),
                "fail_the_gate": len(self.gate), "warned_only": [r.faults[0] for r in self.warned_only],
                "faults": len(self.singles), "claim_a_must": sum(r.claims_must(r.faults[0]) for r in self.singles),
                "pairs_detected": sum(r.detected for r in self.pairs), "pairs": len(self.pairs),
                "false_failures": self.false_failures, "unconfirmed_claims": self.unconfirmed,
                "attribution": {"undeclared_findings": undeclared, "declared_never_judged": never},
                "clean": [{k: v for k, v in asdict(c).items() if k != "judged"} | {"clean": c.clean} for c in self.clean],
                "singles": [fault_doc(r) for r in self.singles], "pair_runs": [fault_doc(r) for r in self.pairs]}

    def markdown(self) -> str:
        must = sum(r.claims_must(r.faults[0]) for r in self.singles)
        undeclared, never = self.attribution()
        lines = ["# Detection matrix", "",
                 f"Faults that **fail the gate** (NOT CONFORMANT, exit 1, a claimed MUST requirement failed): "
                 f"**{len(self.gate)}/{len(self.singles)}** ({must} faults claim a MUST requirement); "
                 f"warned only (SHOULD/INFO claims): {len(self.warned_only)}; missed: {len(self.missed)}; "
                 f"pairs detected: {sum(r.detected for r in self.pairs)}/{len(self.pairs)}; "
                 f"false failures on the clean mock: {self.false_failures}; unconfirmed claims: "
                 f"{sum(map(len, self.unconfirmed.values()))}; attribution: {len(undeclared)} undeclared findings, "
                 f"{len(never)} declared requirements never judged; {self.seconds:.0f} s.", "",
                 "| clean mock | verdict | exit | tests | false failures |", "|---|---|---|---|---|"]
        for c in self.clean:
            lines.append(f"| {c.error_format} | {c.verdict} | {c.exit_code} | {c.tests} | "
                         f"{', '.join(c.false_failures + c.false_requirements) or 'none'} |")
        lines += ["", "| fault(s) | format | requirements it breaks | evidence | tests that failed | fails the gate | warned only |",
                  "|---|---|---|---|---|---|---|"]
        for r in self.singles + self.pairs:
            claimed = "; ".join(", ".join(r.claims[f]) for f in r.faults)
            evidence = "; ".join(", ".join(r.evidence.get(f, [])) or "-" for f in r.faults)
            tests = ", ".join(t.split("::", 1)[-1] for t in r.failed_tests[:4])
            if len(r.failed_tests) > 4:
                tests += f" (+{len(r.failed_tests) - 4})"
            gate = "yes" if r.gate else ("**MISSED** " + (r.problem or "")).strip() if not r.detected else "no"
            lines.append(f"| {' + '.join(r.faults)} | {r.error_format} | {claimed} | {evidence} | {tests or '-'} | "
                         f"{gate} | {'yes' if r.warned_only else '-'} |")
        for title, items in (("Undeclared findings", undeclared), ("Declared, never judged", never)):
            if items:
                lines += ["", f"## {title}", "", *(f"- {i}" for i in items)]
        return "\n".join(lines) + "\n"


WAITING_AREAS = ("CB-", "PAY-", "BAL-", "CNF-", "LNK-")
"""Requirement prefixes whose tests wait on the clock (payments settling, lifetimes, callbacks):
their runs are started first, so the short CPU-bound runs fill the cores while they wait."""


def expected_wait(name: str) -> int:
    """A sort key, larger for fault runs that spend longer waiting (see :data:`WAITING_AREAS`)."""
    breaks = FAULTS[name].breaks
    return sum(r.startswith(WAITING_AREAS) for r in breaks) + 5 * ("ROB-RESPONSE-TIME" in breaks)


def detection_matrix(faults: Iterable[str] | None = None, *, pairs: bool = True, jobs: int = 2,
                     formats: Sequence[str] = FORMATS, fresh: bool = False) -> Matrix:
    """Run the clean mock, every fault alone and (optionally) independent pairs; ``jobs`` in parallel.

    Most runs wait on the clock (a payment settling, a callback's backoff) far longer than they
    compute, so ``jobs`` may well exceed the cores. The clean runs go alongside the fault runs
    (a fault run only needs them when its evidence is weighed), the runs that wait longest first.

    ``fresh``: one new pytest process per run instead of reusing worker processes (slower, the same
    results; for anyone who doubts the reuse)."""
    names = sorted(faults) if faults is not None else sorted(FAULTS)
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault {unknown[0]!r}; see agws-conformance mock --list-faults")
    start = time.monotonic()
    pool = Pool(jobs, fresh=fresh)
    try:
        clean = _Pending({f: pool.submit(clean_run, pool, f) for f in formats})
        order = sorted(names, key=lambda n: (-expected_wait(n), n))
        by_name = dict(zip(order, pool.map(lambda n: single_fault(pool, n, clean), order)))
        singles = [by_name[n] for n in names]
        formats_of = {s.faults[0]: s.error_format for s in singles}
        chosen = choose_pairs(singles) if pairs else []
        # The pairs whose faults' runs took longest first (one waits a minute on payments that never
        # settle): started last, it alone would hold the matrix open after every other pair is done.
        took = {s.faults[0]: s.seconds for s in singles}
        longest_first = sorted(chosen, key=lambda p: -(took[p[0]] + took[p[1]]))
        done = dict(zip(longest_first, pool.map(lambda p: fault_run(pool, p, formats_of[p[0]], clean), longest_first)))
        pair_runs = [done[p] for p in chosen]
    finally:
        pool.close()
    return Matrix(list(clean.values()), singles, pair_runs, time.monotonic() - start)


class _Pending(Mapping[str, CleanResult]):
    """error format -> its clean run, waited for only when a fault run's evidence is weighed."""

    def __init__(self, futures: dict[str, Future[CleanResult]]) -> None:
        self._futures = futures

    def __getitem__(self, key: str) -> CleanResult:
        return self._futures[key].result()

    def __iter__(self) -> Iterator[str]:
        return iter(self._futures)

    def __len__(self) -> int:
        return len(self._futures)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="suite runs in parallel")
    parser.add_argument("--no-pairs", action="store_true", help="faults alone only")
    parser.add_argument("--fault", action="append", help="only this fault (repeatable)")
    parser.add_argument("--fresh", action="store_true", help="a new pytest process per run (slower)")
    parser.add_argument("--out", default=str(REPO / "build" / "detection"), help="folder for detection.json/.md")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # worker side of Worker
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    matrix = detection_matrix(args.fault, pairs=not args.no_pairs, jobs=args.jobs, fresh=args.fresh)
    return publish(matrix, Path(args.out), "detection")


def publish(matrix: Any, out: Path, name: str) -> int:
    """Write ``name``.json and ``name``.md into ``out``, print the markdown; 0 when the matrix is ok."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(matrix.to_dict(), indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(matrix.markdown(), encoding="utf-8")
    print(matrix.markdown())
    print(f"written: {out / (name + '.md')}, {out / (name + '.json')}")
    return 0 if matrix.ok else 1


if __name__ == "__main__":
    sys.exit(main())
