"""How long a run lasts against a target that answers slowly or not at all (--agws-timeout 2).

A run against a stalling target must end, with a verdict that says what happened, in about a
minute: a target that never completes an answer is a setup problem found by the preflight on its
first request (INCOMPLETE); one that answers some requests and stalls on others fails
ROB-RESPONSE-TIME and is given up by the circuit breaker after a few stalls (NOT CONFORMANT).

    python benchmarks/slow_target.py [--timeout 2]

Prints one line per scenario (exit status, verdict, wall seconds, requests) and exits 1 if any
scenario takes 60 s or more or ends with another verdict than expected.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from hostile_server import HostileServer  # noqa: E402  (the project's misbehaving test server)

LIMIT_SECONDS = 60.0

# name -> (hostile server mode, or a mock fault as "fault:NAME"; expected exit status and verdict)
SCENARIOS: dict[str, tuple[str, int, str]] = {
    "drip-body": ("drip-body", 10, "INCOMPLETE"),  # headers at once, then a body byte every 50 ms, forever
    "drip-headers": ("drip", 10, "INCOMPLETE"),  # the status line, then a header byte every 50 ms
    "no-answer": ("hang", 10, "INCOMPLETE"),  # reads the request, never answers
    "misses-hang": ("fault:hang", 1, "NOT CONFORMANT"),  # the mock: known ids answered, unknown ones stall
}


def run_scenario(name: str, timeout: float) -> dict[str, object]:
    mode, want_exit, want_verdict = SCENARIOS[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGWS_")} | {"AGWS_SECRET": "slow-target-secret-0"}
    with tempfile.TemporaryDirectory(prefix="agws-slow-") as tmp:
        summary_path = Path(tmp) / "summary.json"
        args = [sys.executable, "-m", "pytest", str(REPO / "suites"), "-q", "-p", "no:cacheprovider", "-p",
                "no:randomly", "--hypothesis-seed=0", f"--agws-timeout={timeout:g}", f"--agws-json={summary_path}"]
        server = None
        if mode.startswith("fault:"):
            args += ["--agws-mock-fault", mode.removeprefix("fault:")]
        else:
            server = HostileServer(mode, max_seconds=LIMIT_SECONDS * 2)
            args += ["--agws-base-url", server.url, "--agws-agent", "a", "--agws-project", "p",
                     "--agws-service-code", "s"]
        start = time.monotonic()
        try:
            done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=LIMIT_SECONDS * 5)
        finally:
            if server is not None:
                server.close()
        seconds = time.monotonic() - start
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    preflight = ((summary.get("targets") or [{}])[0].get("preflight") or {})
    return {"scenario": name, "exit": done.returncode, "verdict": summary.get("verdict", "no summary"),
            "seconds": round(seconds, 1), "requests": summary.get("run", {}).get("request_count"),
            "preflight": preflight.get("cause") or preflight.get("status"),
            "ok": done.returncode == want_exit and summary.get("verdict") == want_verdict and seconds < LIMIT_SECONDS}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=2.0, help="--agws-timeout for every run")
    args = parser.parse_args(argv)
    results = [run_scenario(name, args.timeout) for name in SCENARIOS]
    print("| scenario | exit | verdict | wall s | requests | preflight | ok |\n|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['scenario']} | {r['exit']} | {r['verdict']} | {r['seconds']} | {r['requests']} | "
              f"{r['preflight']} | {'yes' if r['ok'] else 'NO'} |")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
