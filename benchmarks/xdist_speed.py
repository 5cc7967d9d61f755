"""Wall time of ``pytest suites`` serial against ``pytest suites -n 2`` (pytest-xdist), per profile.

Each run is a fresh process against the embedded mock (under xdist: one mock per worker), timed
from process start to exit, because that is what a CI job waits for. Serial and parallel runs are
interleaved round by round (their order alternating) so that a busy machine slows all alike; the
figures are medians, and the speed-up is serial / parallel (above 1: xdist is faster). Parallel
runs use xdist's default scheduling (``load``) and ``--dist worksteal``.

    python benchmarks/xdist_speed.py [--rounds 3] [--profiles quick,thorough] [--bytecode env,cached]

``--bytecode env`` runs with the environment as it is (this machine sets PYTHONDONTWRITEBYTECODE,
so every process compiles every module again); ``cached`` keeps bytecode in a temporary
PYTHONPYCACHEPREFIX, as a CI runner with a warm cache would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

REPO = Path(__file__).resolve().parents[1]
MODES: dict[str, list[str]] = {"serial": [], "-n 2": ["-n", "2"], "-n 2 --dist worksteal": ["-n", "2", "--dist", "worksteal"]}
"""xdist's default ``load`` scheduling hands out tests in chunks up front, so the four generated
tests (most of the thorough profile) tend to land on one worker; ``worksteal`` rebalances."""


def environment(bytecode: str, cache: Path) -> dict[str, str]:
    """The run's environment: no AGWS_* settings (embedded mock), bytecode as asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGWS_")}
    if bytecode == "cached":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def timed_run(profile: str, mode: str, env: dict[str, str]) -> dict[str, Any]:
    """One whole ``pytest suites`` process: wall seconds, and the summary's verdict and counts."""
    with tempfile.TemporaryDirectory(prefix="agws-xdist-speed-") as tmp:
        summary = Path(tmp) / "summary.json"
        command = [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                   "--agws-profile", profile, f"--agws-json={summary}", *MODES[mode]]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if not summary.is_file():
            raise SystemExit(f"{mode} {profile} run wrote no summary (exit {done.returncode}): "
                             + (done.stdout + done.stderr).strip().splitlines()[-1:][0])
        doc = json.loads(summary.read_text(encoding="utf-8"))
    return {"profile": profile, "mode": mode, "wall": wall, "exit": done.returncode, "verdict": doc["verdict"],
            "tests": doc["counts"]["tests"]["total"], "requests": doc["run"]["request_count"]}


def measure(profiles: Sequence[str], bytecodes: Sequence[str], rounds: int) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="agws-xdist-pycache-") as cache:
        for bytecode in bytecodes:
            env = environment(bytecode, Path(cache))
            if bytecode == "cached":  # warm the cache once, as a CI runner's would be
                for mode in MODES:
                    timed_run("quick", mode, env)
            for i in range(rounds):
                for profile in profiles:
                    order = list(MODES) if i % 2 == 0 else list(reversed(MODES))  # no mode always first
                    for mode in order:
                        run = timed_run(profile, mode, env) | {"bytecode": bytecode, "round": i + 1}
                        runs.append(run)
                        print(f"  round {i + 1} {bytecode:6} {profile:8} {mode:21} {run['wall']:5.1f} s  "
                              f"{run['tests']} tests, {run['requests']} requests, {run['verdict']} (exit {run['exit']})",
                              flush=True)
    return runs


def table(runs: list[dict[str, Any]]) -> list[str]:
    """Markdown rows: per bytecode setting and profile, the median wall of each mode and the speed-up."""
    modes = list(dict.fromkeys(r["mode"] for r in runs))
    parallel = [m for m in modes if m != "serial"]
    rows = ["| bytecode | profile | " + " | ".join(f"`{m}` median (range)" for m in modes) + " | "
            + " | ".join(f"speed-up `{m}`" for m in parallel) + " | requests |",
            "|---|---|" + "---|" * (len(modes) + len(parallel)) + "---|"]
    for bytecode, profile in dict.fromkeys((r["bytecode"], r["profile"]) for r in runs):
        mine = [r for r in runs if (r["bytecode"], r["profile"]) == (bytecode, profile)]
        walls = {m: [r["wall"] for r in mine if r["mode"] == m] for m in modes}
        median = {m: statistics.median(w) for m, w in walls.items()}
        requests = "/".join(str(int(statistics.median(r["requests"] for r in mine if r["mode"] == m))) for m in modes)
        rows.append(f"| {bytecode} | {profile} | "
                    + " | ".join(f"{median[m]:.1f} s ({min(walls[m]):.1f}-{max(walls[m]):.1f})" for m in modes) + " | "
                    + " | ".join(f"**{median['serial'] / median[m]:.2f}**" for m in parallel) + f" | {requests} |")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per setting (default 3)")
    parser.add_argument("--profiles", default="quick,thorough", help="comma-separated: quick, thorough")
    parser.add_argument("--bytecode", default="env,cached", help="comma-separated: env, cached")
    parser.add_argument("--json", metavar="FILE", help="also write every run as JSON")
    args = parser.parse_args(argv)
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    bytecodes = [b.strip() for b in args.bytecode.split(",") if b.strip()]
    for value, allowed, name in ((profiles, ("quick", "thorough"), "--profiles"), (bytecodes, ("env", "cached"), "--bytecode")):
        bad = [v for v in value if v not in allowed]
        if bad or not value:
            parser.error(f"{name}: choose from {', '.join(allowed)} (got {', '.join(bad) or 'nothing'})")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    try:
        import xdist  # noqa: F401
    except ImportError:
        parser.error("pytest-xdist is not installed (pip install -e '.[test]')")
    print(f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs = measure(profiles, bytecodes, args.rounds)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(table(runs)))
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    bad = [r for r in runs if r["exit"] != 0]
    if bad:
        print(f"{len(bad)} run(s) did not exit 0: the embedded mock should be conformant", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
