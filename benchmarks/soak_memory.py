"""Memory of a soak run: the resident set size of ``pytest suites --agws-profile soak`` over time.

    python benchmarks/soak_memory.py [--budget 10m] [--every 10]

Runs the whole suite in the soak profile against the embedded mock (in the same process, so the
mock's memory counts too) and samples the process' VmRSS from /proc every ``--every`` seconds.
Flat means: what the run holds does not grow with the number of generated cases (each soak run of
300 examples is a fresh Hypothesis engine, passing transcripts are counted, not kept). Prints the
samples at each minute, the peak and the growth from the end of the fixed tests to the end; writes
``build/soak-memory.json``. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parents[1]


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="10m")
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--out", default=str(REPO / "build" / "soak-memory.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="agws-soak-") as tmp:
        summary = Path(tmp) / "summary.json"
        log = Path(tmp) / "pytest.log"
        command = [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0",
                   "--agws-profile", "soak", "--agws-budget", args.budget, f"--agws-json={summary}"]
        start = time.monotonic()
        with log.open("w") as out:
            proc = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
            samples: list[tuple[float, int]] = []
            while proc.poll() is None:
                value = rss_kib(proc.pid)
                if value is not None:
                    samples.append((time.monotonic() - start, value))
                time.sleep(args.every)
        doc = json.loads(summary.read_text(encoding="utf-8"))
        progress = [line for line in log.read_text().splitlines() if line.startswith("soak:")]
    result = {"command": " ".join(command[1:]), "exit": proc.returncode, "verdict": doc["verdict"],
              "requests": doc["run"]["request_count"], "wall_seconds": round(time.monotonic() - start, 1),
              "samples": [{"seconds": round(t, 1), "rss_mib": round(k / 1024, 1)} for t, k in samples],
              "progress": progress}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    for line in progress[-3:]:
        print(line)
    minute = 60.0
    shown = [s for i, s in enumerate(samples) if i == 0 or int(s[0] // minute) != int(samples[i - 1][0] // minute)]
    for t, k in shown + samples[-1:]:
        print(f"  t={t:6.0f} s  RSS {k / 1024:6.1f} MiB")
    if samples:
        peak = max(k for _, k in samples)
        first_minute = [k for t, k in samples if t >= minute] or [samples[-1][1]]
        print(f"{result['verdict']} (exit {proc.returncode}), {result['requests']:,} requests in "
              f"{result['wall_seconds']:.0f} s; RSS peak {peak / 1024:.1f} MiB; from t=1 min to the end "
              f"{first_minute[0] / 1024:.1f} -> {samples[-1][1] / 1024:.1f} MiB")
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
