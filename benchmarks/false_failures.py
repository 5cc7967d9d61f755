"""False-failure matrix: a conforming gateway with any legitimate variation must pass.

The detection matrix (``detection.py``) proves the suite fails on what it must catch; this one
proves it does not fail on what the documents allow. Each configuration is the mock gateway with
one or more variations (``agws_conformance.mock.variations``), an error format and optionally a
path prefix, served standalone on loopback; the suite runs against it with a target file that
declares only what a QA engineer knows: base URL, agent, project, service code, the secret's
environment variable, the accounts and the payments. No signing variant and no error format is
declared: the preflight has to find them out. Every run must end CONFORMANT or CONFORMANT WITH
WARNINGS (exit 0), on every Hypothesis seed.

The Hypothesis seed reaches a run only through the tests that generate requests
(``agws_conformance.plugin.generated.explore``; ``tests/test_false_failures.py`` keeps that true):
``--seeded-only`` runs the whole suite on the first seed of each configuration and only the
generated tests (``-k test_generated``) on the others, judged by the tests that ran
(:func:`seeded_verdict`). Every other test would send the same requests again on each seed.

    python benchmarks/false_failures.py [--seeds 0,1,2,3,4] [--seeded-only] [--jobs 2] [--config NAME ...] [--out build/false-failures]

Exit status 0 when every run passes, else 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from detection import Pool, SuiteRun, publish  # noqa: E402

from agws_conformance.mock import VARIATIONS, MockServer, embedded_target  # noqa: E402
from agws_conformance.target import Secret, Target  # noqa: E402

SECRET_ENV = "AGWS_QA_SECRET"
SEEDS = ("0", "1", "2", "3", "4")
PASSING = ("CONFORMANT", "CONFORMANT WITH WARNINGS")
SEEDED = ("-k", "test_generated")
"""The tests a Hypothesis seed changes: every suite test that calls ``explore`` is named
``test_generated_*`` (``tests/test_false_failures.py::test_every_seeded_test_is_selected_by_the_seeded_expression``)."""


@dataclass(frozen=True)
class Config:
    """One deployment: the mock's variations, its error format and its path prefix."""

    name: str
    variations: tuple[str, ...] = ()
    error_format: str = "new"
    prefix: str = ""


CONFIGS: tuple[Config, ...] = (
    *(Config(name, (name,)) for name in sorted(VARIATIONS)),
    Config("old-error-format", error_format="old"),
    Config("path-prefix", prefix="/gateway"),
    Config("go1.21+omit-empty", ("go1.21-escapes", "omit-empty-signer")),
    Config("behind-nginx", ("proxy-html-errors", "json-charset"), prefix="/agws"),
    Config("old+documented-codes", ("documented-error-codes", "server-error-envelope"), error_format="old"),
    Config("everything", tuple(sorted(VARIATIONS)), error_format="old", prefix="/gw"),
)


def qa_target_file(url: str, mock: Target) -> str:
    """What a QA engineer writes: where the gateway is, who we are, where the secret is, the test data."""
    def q(value: str) -> str:  # a TOML basic string: JSON's escapes are TOML's
        return json.dumps(value, ensure_ascii=False)

    lines = ["[target]", 'name = "qa"', f"base_url = {q(url)}", f"agent = {q(mock.agent)}",
             f"project = {q(mock.project)}", f"service_code = {q(mock.service_code)}", f"secret_env = {q(SECRET_ENV)}"]
    # The neighbour scope QA knows exists on the gateway: the scope rules name it (a leak to it is judged).
    lines += [f"other_{name} = {q(value)}" for name, value in mock.neighbour]
    for a in mock.accounts:
        lines += ["", "[[accounts]]", f"username = {q(a.username)}", f"account_status = {a.account_status}"]
        lines += [f"category = {q(a.category)}"] if a.category else []
        lines += [f"fail_reason = {a.fail_reason}"] if a.fail_reason is not None else []
    for p in mock.payments:
        lines += ["", "[[payments]]", f"external_id = {q(p.external_id)}", f"status_code = {q(p.status_code)}"]
        lines += [f"username = {q(p.username)}"] if p.username else []
        lines += [f"amount = {p.amount}"] if p.amount is not None else []
        lines += [f"fail_reason = {p.fail_reason}"] if p.fail_reason is not None else []
    w = mock.write
    if w is not None:  # a QA engineer allowed to pay on staging: the payment suites run under every variation
        lines += ["", "[write]", f"username = {q(w.username)}", f"max_amount = {w.max_amount:g}",
                  f"max_payments = {w.max_payments}", f"final_within = {w.final_within:g}",
                  f"poll_interval = {w.poll_interval:g}", f"balance_exclusive = {str(w.balance_exclusive).lower()}"]
        if w.expiring_username is not None and w.lifetime is not None:
            lines += [f"expiring_username = {q(w.expiring_username)}", f"lifetime = {w.lifetime:g}"]
        lines += [f"confirm_code = {q(w.confirm_code)}"] if w.confirm_code is not None else []
    c = mock.callbacks
    if c is not None:  # the run's receiver on a free port; the mock calls back at its own time_scale
        lines += ["", "[callbacks]", 'listen = "127.0.0.1:0"', f"within = {c.within:g}", f"observe = {c.observe:g}",
                  f"time_scale = {c.time_scale:g}"]
    return "\n".join(lines) + "\n"


@dataclass
class Result:
    config: str
    seed: str
    exit_code: int
    verdict: str
    seconds: float
    failing: list[str] = field(default_factory=list)  # failed / errored tests, with their first message
    warned: list[str] = field(default_factory=list)  # requirements warned (allowed)
    signing: str = ""
    problem: str | None = None
    seeded_only: bool = False  # only the generated tests ran (judged by them: seeded_verdict)
    tests: int = 0

    @property
    def ok(self) -> bool:
        # A seeded-only run is INCOMPLETE (exit 10) as a selection; its verdict is the partial one.
        return self.exit_code in ((0, 10) if self.seeded_only else (0,)) and self.verdict in PASSING


def _last_line(message: str) -> str:
    """The failure's own words (the end of the report's message), not the traceback before them."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def seeded_verdict(summary: dict[str, Any]) -> str:
    """The verdict of a seeded-only run, by the tests that ran: each must run to a verdict (none
    skipped), none fail or error, no requirement fail. (The run's own verdict is INCOMPLETE, a
    selection; and a MUST requirement its tests declare but only unselected tests judge reads
    "skipped" there, which is no finding of these tests.)"""
    tests = summary["counts"]["tests"]
    cells = {c["status"] for r in summary["requirements"] for c in r["results"].values()}
    if tests["failed"] or "fail" in cells:
        return "NOT CONFORMANT"
    run = summary["run"]
    if tests["error"] or tests["skipped"] or "error" in cells or run.get("partial") or run.get("summary_problems"):
        return "INCOMPLETE"
    return "CONFORMANT WITH WARNINGS" if tests["warn"] or "warn" in cells else "CONFORMANT"


def _result(config: Config, seed: str, run: SuiteRun, seeded_only: bool = False) -> Result:
    if run.summary is None:
        return Result(config.name, seed, run.exit_code, "NO SUMMARY", run.seconds, problem=run.problem,
                      seeded_only=seeded_only)
    summary = run.summary
    verdict = seeded_verdict(summary) if seeded_only else summary["verdict"]
    failing = [f"{t['nodeid'].split('::', 1)[-1]}: {', '.join(t.get('failed_requirements') or [])} "
               f"{_last_line(t['message'])[:160]}" for t in summary["tests"] if t["outcome"] in ("failed", "error")]
    warned = sorted({r["id"] for r in summary["requirements"] for c in r["results"].values() if c["status"] == "warn"})
    preflight = (summary["targets"][0].get("preflight") or {}) if summary["targets"] else {}
    return Result(config.name, seed, run.exit_code, verdict, run.seconds, failing, warned,
                  preflight.get("variant", ""), seeded_only=seeded_only, tests=summary["counts"]["tests"]["total"])


@dataclass
class Matrix:
    results: list[Result]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 1), "runs": len(self.results),
                "passing": sum(r.ok for r in self.results),
                "results": [dataclasses.asdict(r) | {"ok": r.ok} for r in self.results]}

    def markdown(self) -> str:
        seeds = sorted({r.seed for r in self.results}, key=int)
        configs = list(dict.fromkeys(r.config for r in self.results))
        cell = {(r.config, r.seed): r for r in self.results}
        seeded = sum(r.seeded_only for r in self.results)
        lines = ["# False-failure matrix", "",
                 f"Runs passing (CONFORMANT or CONFORMANT WITH WARNINGS, exit 0): "
                 f"**{sum(r.ok for r in self.results)}/{len(self.results)}** "
                 f"({len(configs)} configurations x {len(seeds)} seeds"
                 + (f"; {seeded} of them the generated tests only, judged by the tests that ran" if seeded else "")
                 + f"); {self.seconds:.0f} s.", "",
                 "| configuration | signing detected | " + " | ".join(f"seed {s}" for s in seeds) + " | warned |",
                 "|---|---|" + "---|" * len(seeds) + "---|"]
        for name in configs:
            row = [cell.get((name, s)) for s in seeds]
            shown = ["pass" if r and r.ok else f"**{r.verdict if r else 'missing'}**" for r in row]
            warned = sorted({w for r in row if r for w in r.warned})
            signing = next((r.signing for r in row if r and r.signing), "")
            lines.append(f"| {name} | {signing} | " + " | ".join(shown) + f" | {', '.join(warned) or '-'} |")
        bad = [r for r in self.results if not r.ok]
        if bad:
            lines += ["", "## Failures", ""]
            for r in bad:
                lines.append(f"- {r.config}, seed {r.seed}: {r.verdict} (exit {r.exit_code}) "
                             + "; ".join(r.failing[:3]) + (f" {r.problem}" if r.problem else ""))
        return "\n".join(lines) + "\n"


def false_failure_matrix(configs: Sequence[Config] = CONFIGS, seeds: Sequence[str] = SEEDS, *,
                         jobs: int = 2, seeded_only: bool = False) -> Matrix:
    """Serve every configuration, run the suite against each on every seed, ``jobs`` runs at a time.

    ``seeded_only``: after each configuration's first seed, run only the tests a seed changes (:data:`SEEDED`)."""
    os.environ.setdefault(SECRET_ENV, secrets.token_urlsafe(24))  # before the workers start: they inherit it
    mock = dataclasses.replace(embedded_target(), secret=Secret(os.environ[SECRET_ENV]))
    start = time.monotonic()
    pool = Pool(jobs)
    try:
        with tempfile.TemporaryDirectory(prefix="agws-ff-") as tmp:
            def run(config: Config, seed: str) -> Result:
                # One mock per run, serving only while its run lasts: the payment suites hold the
                # showcase balance to the cent (balance_exclusive), which two runs sharing one mock
                # would make untrue; sixty idle servers would cost CPU the runs need.
                server = MockServer(dataclasses.replace(mock, error_format=config.error_format),
                                    variations=config.variations, prefix=config.prefix)
                try:
                    path = Path(tmp) / f"{config.name}-{seed}.toml"
                    path.write_text(qa_target_file(server.start(), mock), encoding="utf-8")
                    partial = seeded_only and seed != seeds[0]
                    args = ["--agws-target", str(path), *(SEEDED if partial else ())]
                    return _result(config, seed, pool.run(args, seed=seed), partial)
                finally:
                    server.stop()

            # The whole runs first: they take longest, the short seeded-only runs fill in behind them.
            jobs_list = sorted(((c, s) for c in configs for s in seeds),
                               key=lambda job: seeded_only and job[1] != seeds[0])
            done = {(r.config, r.seed): r for r in pool.map(lambda job: run(*job), jobs_list)}
            results = [done[c.name, s] for c in configs for s in seeds]
    finally:
        pool.close()
    return Matrix(results, time.monotonic() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default=",".join(SEEDS), help="Hypothesis seeds, comma-separated")
    parser.add_argument("--seeded-only", action="store_true",
                        help="after each configuration's first seed, run only the generated tests (what a seed changes)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="suite runs in parallel")
    parser.add_argument("--config", action="append", help="only this configuration (repeatable)")
    parser.add_argument("--out", default=str(REPO / "build" / "false-failures"), help="folder for the .md/.json")
    args = parser.parse_args(argv)
    configs = [c for c in CONFIGS if not args.config or c.name in args.config]
    if args.config and len(configs) != len(args.config):
        raise SystemExit(f"unknown configuration; choose from {', '.join(c.name for c in CONFIGS)}")
    matrix = false_failure_matrix(configs, [s.strip() for s in args.seeds.split(",") if s.strip()], jobs=args.jobs,
                                  seeded_only=args.seeded_only)
    return publish(matrix, Path(args.out), "false-failures")


if __name__ == "__main__":
    sys.exit(main())
