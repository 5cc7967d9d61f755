"""Wall time of each CI phase, from a fresh clone: so the change that slows CI shows in its own note.

Clones the checkout's HEAD into a temporary folder, runs ``.ci/run`` there as CI does
(``CI=true``, no standard input) and prints one table: every phase ``.ci/run`` reports (apt in the
background, the two pip installs, the quick start, the project tests, mypy, the total) and the
project tests by file (the sum of their tests' durations from the JUnit file: under pytest-xdist
those overlap, so the column adds up to more than the phase's wall time).

    python benchmarks/ci_phases.py [--runs 3] [--commit REV ...] [--top 15] [--json build/ci-phases.json]

Each run also reports the CPU-seconds its whole ``.ci/run`` used (every process it waited for):
divided by the wall time and the cores, how CPU-bound CI is. It is no steadier than the wall time
on a virtual machine whose host preempts it (the preempted time is counted as the guest's CPU:
one tree here took 421 s / 782 CPU-s and 540 s / 1,010 CPU-s within an hour), so a change is judged
by runs side by side: ``--commit`` (repeatable) runs each given commit in turn, ``--runs`` rounds,
instead of HEAD alone, and by CPU measured per part where it can be isolated.

Before and after each run, a fixed pure-Python workload (:data:`PROBE`) is timed on one core:
its seconds show how fast the host was then (the same workload took ~4 s on a quiet host), so a
slow run on a slow host is told apart from a slower tree.

Exit status: 0 when every run of ``.ci/run`` exited 0. Apt shows 0 s on a machine that already has
Go and Chromium: ``.ci/run`` installs only what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
PHASE = re.compile(r"^phase (?P<name>[\w-]+): (?P<seconds>\d+) s")
PHASE_ORDER = ("apt", "apt-wait", "pip-suite", "quick-start", "pip-test", "project-tests", "mypy", "total")
"""How the table lists the phases (``.ci/run`` prints the background ones when they are waited for)."""
LIMIT_SECONDS = 8 * 60
"""The aim for a whole .ci/run (issue 24); CI's hard limit is 20 minutes."""


PROBE = "x = 0\nfor i in range(30_000_000):\n    x += i * i % 7\n"
"""The host-speed probe: a fixed amount of interpreter work, no I/O, no allocation to speak of."""


def probe_seconds() -> float:
    """CPU-seconds of :data:`PROBE` in a fresh interpreter (wall time would count other loads too)."""
    before = _children_cpu()
    subprocess.run([sys.executable, "-c", PROBE], check=True)
    return _children_cpu() - before


@dataclass
class CiRun:
    exit_code: int
    seconds: float
    cpu_seconds: float = 0.0  # user + system of every process .ci/run waited for
    commit: str = "HEAD"
    phases: dict[str, int] = field(default_factory=dict)
    files: dict[str, float] = field(default_factory=dict)  # test file -> summed test durations
    tail: str = ""
    probe: tuple[float, float] = (0.0, 0.0)  # PROBE's seconds before and after the run


def parse_phases(output: str) -> dict[str, int]:
    """``phase NAME: N s`` lines of ``.ci/run`` -> {NAME: N}."""
    return {m["name"]: int(m["seconds"]) for m in map(PHASE.match, output.splitlines()) if m}


def durations_by_file(junit: Path) -> dict[str, float]:
    """Summed testcase durations per test file of a JUnit XML file."""
    if not junit.exists():
        return {}
    totals: dict[str, float] = defaultdict(float)
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")
        name = "/".join(module[:2]) + ".py" if len(module) >= 2 else case.get("file", "?")
        totals[name] += float(case.get("time", 0) or 0)
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ci(workdir: Path, commit: str = "HEAD") -> CiRun:
    """One ``.ci/run`` in a fresh clone of ``commit`` under ``workdir``."""
    clone = workdir / "agws-conformance"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", commit], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGWS_")} | {"CI": "true"}
    cpu = _children_cpu()
    start = time.monotonic()
    done = subprocess.run(["bash", ".ci/run"], cwd=clone, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.monotonic() - start
    cpu = _children_cpu() - cpu
    lines = done.stdout.splitlines()
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return CiRun(done.returncode, seconds, cpu, commit, phases=parse_phases(done.stdout),
                 files=durations_by_file(clone / "build" / "ci-tests.xml"),
                 tail="\n".join([*failures[:20], *lines[-3:]]))


def table(runs: Sequence[CiRun], top: int) -> str:
    seen = list(dict.fromkeys(name for r in runs for name in r.phases))
    names = sorted(seen, key=lambda n: PHASE_ORDER.index(n) if n in PHASE_ORDER else len(PHASE_ORDER))
    heads = [f"run {i + 1}" + (f" ({r.commit})" if r.commit != "HEAD" else "") for i, r in enumerate(runs)]
    lines = ["| phase | " + " | ".join(heads) + " |",
             "|---|" + "---|" * len(runs)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{r.phases[name]} s" if name in r.phases else "-" for r in runs) + " |")
    lines.append("| .ci/run wall (measured here) | " + " | ".join(
        f"{r.seconds:.0f} s ({r.seconds / 60:.1f} min){'' if r.seconds <= LIMIT_SECONDS else ' OVER 8 min'}"
        for r in runs) + " |")
    lines.append("| CPU-seconds of .ci/run | " + " | ".join(f"{r.cpu_seconds:.0f}" for r in runs) + " |")
    lines.append("| host probe before / after (s) | " + " | ".join(f"{r.probe[0]:.1f} / {r.probe[1]:.1f}" for r in runs) + " |")
    lines.append("| exit | " + " | ".join(str(r.exit_code) for r in runs) + " |")
    files = list(runs[0].files)[:top] if runs and runs[0].files else []
    if files:
        lines += ["", "Project tests by file (summed test durations; overlapping under -n):", "",
                  "| file | " + " | ".join(heads) + " |",
                  "|---|" + "---|" * len(runs)]
        for name in files:
            lines.append(f"| {name} | " + " | ".join(f"{r.files.get(name, 0):.0f} s" for r in runs) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="fresh-clone runs, one after the other")
    parser.add_argument("--top", type=int, default=15, help="test files shown, slowest first")
    parser.add_argument("--commit", action="append", help="run this commit (repeatable: in turn, --runs rounds)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    runs = []
    for n, commit in enumerate([c for _ in range(args.runs) for c in args.commit or ["HEAD"]]):
        before = probe_seconds()
        with tempfile.TemporaryDirectory(prefix="agws-ci-") as tmp:
            run = run_ci(Path(tmp), commit)
        run.probe = (before, probe_seconds())
        print(f"run {n + 1} ({commit}): exit {run.exit_code} in {run.seconds:.0f} s, "
              f"{run.cpu_seconds:.0f} CPU-seconds; host probe {run.probe[0]:.1f} s before, {run.probe[1]:.1f} s after",
              flush=True)
        if run.exit_code != 0:
            print(run.tail)
        runs.append(run)
    print(table(runs, args.top))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([r.__dict__ for r in runs], indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.exit_code == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
