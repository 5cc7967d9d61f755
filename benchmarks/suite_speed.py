"""Suite speed, side by side: the marginal rate of generated requests against a bare httpx loop.

    python benchmarks/suite_speed.py [--rounds 3] [--requests 1000]

Each round, on fresh mock gateways and in an order that alternates from round to round:

* **bare loop**: ``--requests`` signed requests (user/check and action/status bodies with the
  characters generated requests carry, signed before the clock starts) sent back to back on one
  ``httpx.Client`` keep-alive connection: the speed of the wire, with nothing of ours around it;
* **quick** and **thorough**: ``pytest suites`` in each profile, the generated tests alone and the
  whole suite, with the run's own duration and request count from its JSON summary.

The **marginal rate** is what the thorough profile adds over the quick one: extra requests over
extra seconds, compared with the bare loop's rate (ratio; median over the rounds). It is measured
on the tests marked ``generated`` (``-m generated``: start-up and preflight cancel out) and, for
the record, on the whole suite, where the fixed tests cancel out too but their noise (the payment
suites wait for statuses and callbacks) does not.

Two gateways, as users meet them:

* ``standalone``: the mock in its own process (``agws-conformance mock``), as a gateway is: the
  suite, the mock and the bare loop are three processes;
* ``embedded``: the mock inside the process that sends (the suite's embedded mock; the bare loop
  against a mock in its own process), so the mock's own work competes with the sender's for one
  interpreter lock, the suite's included.

Also printed: the quick profile's wall time (process start to exit, the README's quick start).
Writes ``build/suite-speed.json``; exits 1 if the standalone median ratio is below 0.5.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence
from contextlib import contextmanager

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from false_failures import SECRET_ENV, qa_target_file  # noqa: E402

from agws_conformance import signer  # noqa: E402
from agws_conformance.endpoints import ENDPOINTS  # noqa: E402
from agws_conformance.mock import MockServer, embedded_target  # noqa: E402
from agws_conformance.strategies import HARD_CHARACTERS  # noqa: E402
from agws_conformance.target import Secret  # noqa: E402

TARGET = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def standalone_mock(tmp: Path) -> Iterator[tuple[str, Path]]:
    """``agws-conformance mock`` in its own process; yields (base URL, the QA target file naming it)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mock = dataclasses.replace(embedded_target(), secret=Secret(os.environ[SECRET_ENV]))
    path = tmp / f"qa-{port}.toml"
    path.write_text(qa_target_file(url, mock), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "agws_conformance.cli", "mock", "--target", str(path),
                             "--port", str(port), "--quiet"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the standalone mock did not start on port {port}") from None
                time.sleep(0.1)
        yield url, path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bodies(n: int, secret: str, seed: int = 0) -> list[tuple[str, bytes, str]]:
    """``n`` signed (path, body, signature): identifiers of 1-20 characters, half of them hard ones."""
    rnd = random.Random(seed)
    mock = embedded_target()
    alphabet = list(HARD_CHARACTERS) + [chr(c) for c in range(0x21, 0x7f)]
    out = []
    for i in range(n):
        identifier = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 21)))
        endpoint = ("user/check", "action/status")[i % 2]
        fields = {"username": identifier} if endpoint == "user/check" else {}
        fields |= {"agent": mock.agent, "project": mock.project, "service_code": mock.service_code}
        if endpoint == "action/status":
            fields["external_id"] = identifier
        body = signer.go_struct_body(fields)
        out.append((ENDPOINTS[endpoint], body, signer.sign(body, secret).signature))
    return out


def bare_loop(base_url: str, secret: str, n: int) -> dict[str, float]:
    """Send ``n`` pre-signed requests back to back on one keep-alive client."""
    import httpx

    prepared = bodies(n, secret)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        client.post(prepared[0][0], content=prepared[0][1],
                    headers={"Content-Type": "application/json", "X-Signature": prepared[0][2]}).read()  # connect
        start = time.perf_counter()
        for path, body, signature in prepared:
            client.post(path, content=body, headers={"Content-Type": "application/json", "X-Signature": signature}).read()
        seconds = time.perf_counter() - start
    return {"requests": n, "seconds": seconds, "rps": n / seconds}


def suite_run(profile: str, target: Path | None, generated_only: bool = False) -> dict[str, Any]:
    """``pytest suites`` in ``profile`` (the embedded mock without ``target``); with ``generated_only``
    just the tests marked ``generated`` (``-m generated``)."""
    with tempfile.TemporaryDirectory(prefix="agws-speed-") as tmp:
        summary = Path(tmp) / "summary.json"
        options = ["--agws-target", str(target)] if target is not None else []
        options += ["-m", "generated"] if generated_only else []
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
                               "--hypothesis-seed=0", "--agws-profile", profile, f"--agws-json={summary}", *options],
                              cwd=REPO, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        if not summary.is_file():
            raise RuntimeError(f"pytest wrote no summary (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr}")
        doc = json.loads(summary.read_text(encoding="utf-8"))
    return {"profile": profile, "wall_seconds": wall, "seconds": doc["run"]["duration_seconds"],
            "requests": doc["run"]["request_count"], "tests": doc["counts"]["tests"]["total"],
            "verdict": doc["verdict"], "exit": done.returncode}


def one_round(index: int, requests: int, tmp: Path) -> dict[str, Any]:
    """Both gateways: the bare loop, the generated tests in both profiles (the marginal rate) and the
    whole suite in both profiles (wall times); the order reversed on odd rounds."""
    out: dict[str, Any] = {}
    secret = os.environ[SECRET_ENV]
    gateways = ["standalone", "embedded"] if index % 2 == 0 else ["embedded", "standalone"]
    for gateway in gateways:
        steps = ["bare", "quick", "thorough", "quick-suite", "thorough-suite"]
        if index % 2:
            steps.reverse()
        cell: dict[str, Any] = {}
        for step in steps:
            profile, whole = step.split("-")[0], step.endswith("-suite")
            if gateway == "standalone":
                # A fresh gateway per run: the payment suites hold the showcase balance to the cent.
                with standalone_mock(tmp) as (url, target):
                    cell[step] = (bare_loop(url, secret, requests) if step == "bare"
                                  else suite_run(profile, target, generated_only=not whole))
            elif step == "bare":
                server = MockServer(dataclasses.replace(embedded_target(), secret=Secret(secret)))
                try:
                    cell[step] = bare_loop(server.start(), secret, requests)
                finally:
                    server.stop()
            else:
                cell[step] = suite_run(profile, None, generated_only=not whole)
        for prefix, a, b in (("", "quick", "thorough"), ("suite_", "quick-suite", "thorough-suite")):
            extra_requests = cell[b]["requests"] - cell[a]["requests"]
            extra_seconds = cell[b]["seconds"] - cell[a]["seconds"]
            cell[prefix + "marginal_rps"] = extra_requests / extra_seconds if extra_seconds > 0 else float("nan")
            cell[prefix + "ratio"] = cell[prefix + "marginal_rps"] / cell["bare"]["rps"]
        out[gateway] = cell
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000, help="requests in each bare loop")
    parser.add_argument("--out", default=str(REPO / "build" / "suite-speed.json"))
    args = parser.parse_args(argv)
    os.environ.setdefault(SECRET_ENV, secrets.token_urlsafe(24))
    rounds = []
    with tempfile.TemporaryDirectory(prefix="agws-speed-") as tmp:
        for i in range(args.rounds):
            r = one_round(i, args.requests, Path(tmp))
            rounds.append(r)
            for gateway, c in r.items():
                q, t, b = c["quick"], c["thorough"], c["bare"]
                print(f"round {i + 1} {gateway:10}: bare {b['rps']:.0f} req/s; generated tests: quick {q['requests']} "
                      f"req in {q['seconds']:.2f} s, thorough {t['requests']} req in {t['seconds']:.2f} s, marginal "
                      f"{c['marginal_rps']:.0f} req/s = {c['ratio']:.2f} of bare; whole suite: quick "
                      f"{c['quick-suite']['wall_seconds']:.1f} s wall ({c['quick-suite']['verdict']}), thorough "
                      f"{c['thorough-suite']['wall_seconds']:.1f} s, marginal {c['suite_ratio']:.2f} of bare", flush=True)
    summary: dict[str, Any] = {"rounds": rounds}
    for gateway in ("standalone", "embedded"):
        cells = [r[gateway] for r in rounds]
        summary[gateway] = {
            "ratio_median": statistics.median(c["ratio"] for c in cells),
            "ratios": [round(c["ratio"], 3) for c in cells],
            "suite_ratio_median": statistics.median(c["suite_ratio"] for c in cells),
            "suite_ratios": [round(c["suite_ratio"], 3) for c in cells],
            "bare_rps_median": statistics.median(c["bare"]["rps"] for c in cells),
            "marginal_rps_median": statistics.median(c["marginal_rps"] for c in cells),
            "quick_wall_median": statistics.median(c["quick-suite"]["wall_seconds"] for c in cells),
            "thorough_wall_median": statistics.median(c["thorough-suite"]["wall_seconds"] for c in cells),
            "quick_requests": cells[0]["quick-suite"]["requests"], "quick_tests": cells[0]["quick-suite"]["tests"],
            "thorough_requests": cells[0]["thorough-suite"]["requests"],
        }
        s = summary[gateway]
        print(f"{gateway:10}: generated requests at {s['ratio_median']:.2f} of the bare loop (median; rounds "
              f"{s['ratios']}; target >= {TARGET}); whole-suite difference {s['suite_ratio_median']:.2f} "
              f"(rounds {s['suite_ratios']}); bare {s['bare_rps_median']:.0f} req/s, marginal "
              f"{s['marginal_rps_median']:.0f} req/s; quick wall {s['quick_wall_median']:.1f} s "
              f"({s['quick_tests']} tests, {s['quick_requests']} requests), thorough wall "
              f"{s['thorough_wall_median']:.1f} s ({s['thorough_requests']} requests)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0 if summary["standalone"]["ratio_median"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
