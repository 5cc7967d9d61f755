"""Side by side: our generated-case workload and Schemathesis, against the same mock, same run.

For the clean mock and then each mock fault, one mock gateway is started (in this process, its
requests counted at the ASGI layer so both tools are counted the same way) and two clients run
against it one after the other, the order alternating from cell to cell:

* ours: ``pytest suites/test_generated.py`` with the bundled mock target pointed at that mock
  (Hypothesis, fixed seed; ``--agws-json`` gives the verdict and per-requirement results);
* Schemathesis 4.x (its own virtual environment, never a project dependency) on the OpenAPI export
  of the project's schemas, with ``benchmarks/schemathesis_hooks.py`` signing every request over
  the exact bytes sent and keeping the target's credentials, as our suite does.

Detected, ours: the run fails a requirement the fault claims to break (``yes``) or shows any other
failing, warned or errored test where the clean run had none (``other``). Detected, Schemathesis:
a failure (check code and operation) the clean run did not have (``yes``), or network errors
where the clean run had none (``errors``). The clean mock is run ``--rounds`` times first, one tool
at a time, for the speed figures and the false positives; fault cells then run ``--jobs`` at a time.

    python benchmarks/schemathesis_compare.py [--faults a,b] [--examples 25] [--profile quick]
        [--jobs 2] [--rounds 3] [--budget 600] [--schemathesis PATH] [--out build/schemathesis]

Schemathesis is looked up at ``--schemathesis``, ``$AGWS_SCHEMATHESIS``, ``/tmp/st-venv/bin/``
and ``PATH``; without it the script says how to install it and exits 0. Exit 1 only when our
suite is not clean on the clean mock (a false alarm of ours is a defect).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from agws_conformance.mock.data import mock_target_path
from agws_conformance.mock.faults import FAULTS
from agws_conformance.mock.server import MockServer
from agws_conformance.openapi import build_openapi
from agws_conformance.target import Target, load_target

REPO = Path(__file__).resolve().parents[1]
HOOKS = Path(__file__).resolve().with_name("schemathesis_hooks.py")
SEED = "0"
INSTALL_HINT = ("python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install schemathesis "
                "(then pass --schemathesis /tmp/st-venv/bin/schemathesis or set AGWS_SCHEMATHESIS)")
EXCLUDED_CHECKS = ("ignored_auth",)
"""Off in the comparison (measured on the clean mock anyway, see ``--all-checks-probe``): it
expects 401/403 for bad credentials, the gateway answers 1014 under HTTP 400, and it counts any
2xx whose auth header Schemathesis generated as 'invalid auth accepted', which every correctly
signed request is once the hook has signed it."""
REQUEST_TIMEOUT = "2"
"""Seconds per request for both tools: ample for a loopback mock, short enough for ``hang``."""


TOOL_TIMEOUT = 60.0
"""Seconds per tool run; only ``hang`` gets near it (every request waits REQUEST_TIMEOUT)."""


# -- the mock, counted -------------------------------------------------------------------------

class CountingApp:
    """ASGI wrapper counting requests and answers (HTTP status; 1014 = signature refused).

    Runs on the mock's single event-loop thread, so plain counters are safe; ``snapshot`` is read
    from other threads between runs only.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.signature_refused = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests += 1
        status: list[int] = []

        async def counted_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                self.statuses[message["status"]] += 1
            elif message["type"] == "http.response.body" and status and status[0] != 200:
                if b'"status_code":1014' in message.get("body", b"").replace(b" ", b""):
                    self.signature_refused += 1
            await send(message)

        await self.app(scope, receive, counted_send)

    def snapshot(self) -> tuple[int, Counter[int], int]:
        return self.requests, Counter(self.statuses), self.signature_refused


# -- one tool run ------------------------------------------------------------------------------

@dataclass
class ToolRun:
    tool: str
    exit_code: int
    wall_seconds: float
    run_seconds: float | None  # the tool's own figure for its test loop
    requests: int
    statuses: dict[str, int]
    signature_refused: int
    findings: list[str]  # ours: failing requirement IDs; Schemathesis: "CODE operation"
    problems: list[str] = field(default_factory=list)  # ours: bad tests; ST: network errors
    note: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class Setup:
    schemathesis: str
    openapi: Path
    target: Target
    env: dict[str, str]
    profile: str
    examples: int
    tool_timeout: float
    workdir: Path
    logs: Path


def _tail(text: str, secret: str) -> str:
    return " | ".join(text.replace(secret, "[REDACTED]").strip().splitlines()[-3:])


def _save_log(setup: Setup, name: str, text: str) -> None:
    """Keep each tool's terminal output (secret redacted) beside the report, for inspection."""
    setup.logs.mkdir(parents=True, exist_ok=True)
    (setup.logs / f"{name}.log").write_text(text.replace(setup.target.secret.reveal(), "[REDACTED]"),
                                            encoding="utf-8")


def _counted(counter: CountingApp, run: Any) -> ToolRun:
    """Run ``run()`` and attribute the mock's requests in between to its result."""
    before = counter.snapshot()
    result = run()
    after = counter.snapshot()
    result.requests = after[0] - before[0]
    result.statuses = {str(k): v for k, v in sorted((after[1] - before[1]).items())}
    result.signature_refused = after[2] - before[2]
    return result


def _run_tool(setup: Setup, argv: Sequence[str], *, cwd: Path, env: dict[str, str],
              log: str) -> tuple[int, str, float]:
    """Run one tool under the comparison's time limit: (exit code or -1, output, wall seconds); output logged."""
    start = time.monotonic()
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=setup.tool_timeout)
        code, out = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        code, out = -1, f"timed out after {setup.tool_timeout:.0f} s"
    wall = time.monotonic() - start
    _save_log(setup, log, out)
    return code, out, wall


def run_ours(setup: Setup, url: str, tag: str) -> ToolRun:
    """The generated suite against ``url`` (the bundled mock target, base URL overridden)."""
    json_path = setup.workdir / f"ours-{tag}.json"
    argv = [sys.executable, "-m", "pytest", str(REPO / "suites" / "test_generated.py"), "-q",
            "-p", "no:cacheprovider", "-p", "no:randomly", f"--hypothesis-seed={SEED}",
            "--agws-target", str(mock_target_path()), "--agws-base-url", url,
            "--agws-profile", setup.profile, "--agws-timeout", REQUEST_TIMEOUT, f"--agws-json={json_path}"]
    code, out, wall = _run_tool(setup, argv, cwd=REPO, env=setup.env, log=f"ours-{tag}")
    try:
        summary = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ToolRun("ours", code, wall, None, 0, {}, 0, [], [f"no summary: {_tail(out, setup.target.secret.reveal())}"])
    failing = []
    for req in summary["requirements"]:
        cell = next(iter(req["results"].values()))
        if cell["status"] in ("fail", "warn", "error"):
            failing.append(req["id"])
    bad = [f"{t['nodeid'].split('::')[-1]} {t['outcome']}" for t in summary["tests"]
           if t["outcome"] in ("failed", "warn", "error")]
    return ToolRun("ours", code, wall, summary["run"].get("duration_seconds"), 0, {}, 0, failing, bad,
                   summary["verdict"])


def _short(operation: str) -> str:
    """``POST /showcase-gateway/api/v1/user/check`` -> ``user/check``."""
    return "/".join(operation.split(" ", 1)[-1].rstrip("/").split("/")[-2:])


def run_schemathesis(setup: Setup, url: str, tag: str, *, exclude: Sequence[str] = EXCLUDED_CHECKS) -> ToolRun:
    """Schemathesis on the OpenAPI export against ``url``, every request signed by the hook."""
    report = setup.workdir / f"st-{tag}.json"
    argv = [setup.schemathesis, "run", str(setup.openapi), "--url", url,
            "--max-examples", str(setup.examples), "--seed", SEED, "--workers", "1",
            # No example database: every run starts from its seed alone, as ours does.
            "--generation-database", "none",
            "--checks", "all", "--request-timeout", REQUEST_TIMEOUT,
            "--report", "json", "--report-json-path", str(report)]
    if exclude:
        argv += ["--exclude-checks", ",".join(exclude)]
    env = {**setup.env, "SCHEMATHESIS_HOOKS": str(HOOKS), "NO_COLOR": "1"}
    code, out, wall = _run_tool(setup, argv, cwd=setup.workdir, env=env, log=f"st-{tag}")
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # killed mid-write, or never started
        return ToolRun("schemathesis", code, wall, None, 0, {}, 0, [],
                       [f"no report: {_tail(out, setup.target.secret.reveal())}"])
    findings = sorted(f"{f['code']} {f['type']} {_short(op)}"
                      for f in data.get("failures", []) for op in f.get("operations", []))
    errors = [f"{e.get('title') or e.get('type') or e}"[:120] for e in data.get("errors", [])]
    return ToolRun("schemathesis", code, wall, data.get("running_time"), 0, {}, 0, findings, errors,
                   f"{data.get('test_cases', {}).get('generated', 0)} test cases")


# -- cells -------------------------------------------------------------------------------------

@dataclass
class Cell:
    fault: str | None
    order: tuple[str, ...]
    ours: ToolRun
    st: ToolRun
    st_all_checks: ToolRun | None = None


def run_cell(setup: Setup, fault: str | None, index: int, *, probe_all_checks: bool = False) -> Cell:
    """One mock (clean or with ``fault``), both tools against it, order alternating by ``index``."""
    server = MockServer(setup.target, faults=[fault] if fault else [])
    counter = CountingApp(server.app)
    server.app = counter  # MockServer hands self.app to uvicorn in start()
    tag = f"{fault or 'clean'}-{index}"
    order = ("ours", "schemathesis") if index % 2 == 0 else ("schemathesis", "ours")
    results: dict[str, ToolRun] = {}
    with server:
        url = server.url
        for tool in order:
            fn = run_ours if tool == "ours" else run_schemathesis
            results[tool] = _counted(counter, lambda: fn(setup, url, tag))
        probe = _counted(counter, lambda: run_schemathesis(setup, url, tag + "-all", exclude=())) \
            if probe_all_checks else None
    return Cell(fault, order, results["ours"], results["schemathesis"], probe)


@dataclass
class Verdict:
    fault: str
    ours: str  # yes / other / no / not run
    st: str  # yes / errors / no / not run
    ours_evidence: str
    st_evidence: str


def judge(cell: Cell, cleans: Sequence[Cell]) -> Verdict:
    """Detected or not, against the union of what the clean rounds reported."""
    assert cell.fault is not None
    clean_ours = {f for c in cleans for f in c.ours.findings}
    clean_ours_problems = any(c.ours.problems for c in cleans)
    clean_st = {f for c in cleans for f in c.st.findings}
    clean_st_problems = any(c.st.problems for c in cleans)
    claimed = set(FAULTS[cell.fault].breaks)
    hit = sorted(set(cell.ours.findings) & claimed)
    if hit:
        ours, ours_why = "yes", ", ".join(hit)
    elif (set(cell.ours.findings) - clean_ours) or (cell.ours.problems and not clean_ours_problems):
        ours, ours_why = "other", ", ".join(cell.ours.findings or cell.ours.problems)[:160]
    else:
        ours, ours_why = "no", ""
    new = sorted(set(cell.st.findings) - clean_st)
    if new:
        st, st_why = "yes", ", ".join(new)
    elif cell.st.problems and not clean_st_problems:
        st, st_why = "errors", "; ".join(sorted(set(cell.st.problems)))[:160]
    else:
        st, st_why = "no", ""
    return Verdict(cell.fault or "", ours, st, ours_why, st_why)


# -- report ------------------------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def speed_rows(cleans: list[Cell]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for name, pick in (("ours (suites/test_generated.py)", lambda c: c.ours),
                       ("Schemathesis (hooked, signed)", lambda c: c.st)):
        runs = [pick(c) for c in cleans]
        reqs = [r.requests for r in runs]
        walls = [r.wall_seconds for r in runs]
        loops = [r.requests / r.run_seconds for r in runs if r.run_seconds]
        rows.append((name, f"{min(reqs)}-{max(reqs)}", f"{min(walls):.1f}-{max(walls):.1f}",
                     f"{_median([r.rps for r in runs]):.0f}", f"{_median(loops):.0f}"))
    return rows


def markdown(args: argparse.Namespace, cleans: list[Cell], verdicts: list[Verdict], skipped: list[str],
             seconds: float, st_version: str) -> str:
    lines = [f"Schemathesis {st_version}; ours: profile {args.profile}; Schemathesis --max-examples "
             f"{args.examples}; seed {SEED}; {len(cleans)} clean rounds; {seconds:.0f} s total", "",
             "| clean mock | requests | wall s | req/s (whole process, median) | req/s (test loop, median) |",
             "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in speed_rows(cleans)]
    lines += ["", "| clean mock, false positives | findings |", "|---|---|",
              f"| ours | {', '.join(sorted({f for c in cleans for f in c.ours.findings + c.ours.problems})) or 'none'} "
              f"(verdict {', '.join(sorted({c.ours.note for c in cleans}))}) |",
              f"| Schemathesis, checks all minus {', '.join(EXCLUDED_CHECKS)} | "
              f"{', '.join(sorted({f for c in cleans for f in c.st.findings + c.st.problems})) or 'none'} |"]
    probes = [c.st_all_checks for c in cleans if c.st_all_checks is not None]
    if probes:
        lines.append(f"| Schemathesis, checks all | {', '.join(sorted({f for p in probes for f in p.findings})) or 'none'} |")
    refused = {"ours": [c.ours.signature_refused for c in cleans], "st": [c.st.signature_refused for c in cleans]}
    lines += ["", f"Signature refusals (1014) on the clean mock per round: ours {refused['ours']}, "
              f"Schemathesis {refused['st']}.", ""]
    n = len(verdicts)
    lines += ["| faults | ours detected | Schemathesis detected |", "|---|---|---|",
              f"| {n} run | {sum(v.ours == 'yes' for v in verdicts)} on a claimed requirement, "
              f"{sum(v.ours == 'other' for v in verdicts)} other | {sum(v.st == 'yes' for v in verdicts)} new check "
              f"failures, {sum(v.st == 'errors' for v in verdicts)} errors only |"]
    if skipped:
        lines.append(f"\nNot run (time budget): {', '.join(skipped)}")
    lines += ["", "| fault | ours | evidence | Schemathesis | evidence |", "|---|---|---|---|---|"]
    lines += [f"| {v.fault} | {v.ours} | {v.ours_evidence} | {v.st} | {v.st_evidence} |" for v in verdicts]
    return "\n".join(lines) + "\n"


# -- main --------------------------------------------------------------------------------------

def _runnable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def find_schemathesis(explicit: str | None, environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The executable asked for (``--schemathesis``, else ``$AGWS_SCHEMATHESIS``), which must exist,
    else the benchmark's usual venv or ``PATH``; None when there is none."""
    asked = explicit or environ.get("AGWS_SCHEMATHESIS")
    if asked:
        if not _runnable(asked):
            raise SystemExit(f"schemathesis_compare: {asked} is not an executable Schemathesis")
        return asked
    for candidate in ("/tmp/st-venv/bin/schemathesis", shutil.which("schemathesis")):
        if candidate and _runnable(candidate):
            return candidate
    return None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--faults", default="", help="comma-separated fault names (default: all)")
    p.add_argument("--examples", type=int, default=25, help="Schemathesis --max-examples (default 25)")
    p.add_argument("--profile", choices=("quick", "thorough"), default="quick",
                   help="our profile: 25 or 300 examples per generated test (default quick)")
    p.add_argument("--jobs", type=int, default=2, help="fault cells at a time, at most 2 (default 2)")
    p.add_argument("--rounds", type=int, default=3, help="clean rounds, one at a time (default 3)")
    p.add_argument("--budget", type=float, default=600, help="seconds; later cells are left out (default 600)")
    p.add_argument("--schemathesis", help="path of the schemathesis executable")
    p.add_argument("--out", default=str(REPO / "build" / "schemathesis"), help="where the report goes")
    args = p.parse_args(argv)
    names = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in names if f not in FAULTS]
    if unknown:
        p.error(f"unknown fault {unknown[0]!r}; see agws_conformance.mock.faults.FAULTS")
    if args.examples < 1 or args.rounds < 1 or not 1 <= args.jobs <= 2:
        p.error("--examples and --rounds must be at least 1, --jobs 1 or 2")
    args.fault_names = names or list(FAULTS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Schemathesis sends some requests h11 refuses outright (the mock answers 400); uvicorn logs
    # each one. A filter, since uvicorn resets the logger's level when a server starts.
    logging.getLogger("uvicorn.error").addFilter(lambda record: "Invalid HTTP request" not in record.getMessage())
    st = find_schemathesis(args.schemathesis)
    if st is None:
        print(f"Schemathesis not found; skipping the comparison. Install it outside the project: {INSTALL_HINT}")
        return 0
    st_version = subprocess.run([st, "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agws-st-") as tmp:
        workdir = Path(tmp)
        openapi = workdir / "openapi.json"
        openapi.write_text(json.dumps(build_openapi(), indent=1), encoding="utf-8")
        secret_env = "AGWS_MOCK_SECRET"  # targets/mock.toml's secret_env
        secret = secrets.token_urlsafe(32)
        target = load_target(mock_target_path(), environ={secret_env: secret})
        env = {**os.environ, secret_env: secret, "AGWS_ST_SECRET_ENV": target.secret_env,
               "AGWS_ST_CREDENTIALS": json.dumps({"agent": target.agent, "project": target.project,
                                                  "service_code": target.service_code}),
               "AGWS_ST_KNOWN": json.dumps({"username": [a.username for a in target.accounts],
                                            "external_id": [p.external_id for p in target.payments]})}
        setup = Setup(st, openapi, target, env, args.profile, args.examples, TOOL_TIMEOUT, workdir, out / "logs")

        cleans = [run_cell(setup, None, i, probe_all_checks=(i == 0)) for i in range(args.rounds)]
        for i, c in enumerate(cleans):
            print(f"clean round {i + 1}: ours {c.ours.requests} req {c.ours.wall_seconds:.1f} s {c.ours.note}; "
                  f"schemathesis {c.st.requests} req {c.st.wall_seconds:.1f} s {c.st.findings or 'no failures'}",
                  flush=True)

        deadline = started + args.budget
        skipped: list[str] = []
        lock = threading.Lock()

        def one(item: tuple[int, str]) -> Verdict | None:
            index, fault = item
            if time.monotonic() > deadline:
                with lock:
                    skipped.append(fault)
                return None
            verdict = judge(run_cell(setup, fault, index), cleans)
            sys.stdout.write(f"{fault}: ours {verdict.ours}, schemathesis {verdict.st}\n")  # one write per line
            sys.stdout.flush()
            return verdict

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            verdicts = [v for v in pool.map(one, enumerate(args.fault_names)) if v is not None]
        seconds = time.monotonic() - started
        text = markdown(args, cleans, verdicts, skipped, seconds, st_version)
        (out / "compare.md").write_text(text, encoding="utf-8")
        (out / "compare.json").write_text(json.dumps({
            "schemathesis_version": st_version, "profile": args.profile, "examples": args.examples,
            "seconds": seconds, "clean": [asdict(c) for c in cleans],
            "verdicts": [asdict(v) for v in verdicts], "skipped": skipped}, indent=1), encoding="utf-8")
    print()
    print(text)
    print(f"written to {out / 'compare.md'} and compare.json")
    ours_clean = all(not c.ours.findings and not c.ours.problems for c in cleans)
    return 0 if ours_clean else 1


if __name__ == "__main__":
    sys.exit(main())
