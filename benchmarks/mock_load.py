"""Load benchmark of the mock gateway: 50 concurrent keep-alive clients for a bounded time.

The mock runs as the standalone command in its own process (so the client does not share its
GIL); the client is 50 threads sharing one httpx keep-alive pool of 50 connections, each thread
sending signed requests (alternating user/check for every account and
action/status for every payment) back to back. Every answer must be HTTP 200 with error_code 0;
anything else counts as an error.

    python benchmarks/mock_load.py [--seconds 10] [--clients 50]
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time

import httpx

from agws_conformance import signer
from agws_conformance.endpoints import ACTION_STATUS_PATH, USER_CHECK_PATH
from agws_conformance.mock.data import mock_target_path
from agws_conformance.target import load_target


def requests_for(secret: str) -> list[tuple[str, bytes, dict[str, str]]]:
    target = load_target(mock_target_path(), environ={"AGWS_MOCK_SECRET": secret})
    out = []
    for account in target.accounts:
        body = signer.go_struct_body({"agent": target.agent, "username": account.username,
                                      "project": target.project, "service_code": target.service_code})
        out.append((USER_CHECK_PATH, body, {"X-Signature": signer.sign(body, secret).signature,
                                            "Content-Type": "application/json"}))
    for payment in target.payments:
        body = signer.go_struct_body({"agent": target.agent, "project": target.project,
                                      "service_code": target.service_code, "external_id": payment.external_id})
        out.append((ACTION_STATUS_PATH, body, {"X-Signature": signer.sign(body, secret).signature,
                                               "Content-Type": "application/json"}))
    return out


def drive(url: str, work: list, clients: int, seconds: float) -> tuple[int, int, list[float]]:
    """``clients`` threads, each with its own keep-alive connection, sending back to back."""
    deadline = time.monotonic() + seconds
    results: list[tuple[int, int, list[float]]] = []
    first_errors: list[str] = []

    def worker(offset: int) -> None:
        done = errors = 0
        latencies: list[float] = []
        # Not closed per thread: closing a client closes the shared transport under the others.
        client = httpx.Client(base_url=url, timeout=10, transport=transport)
        for path, body, headers in itertools.islice(itertools.cycle(work), offset, None):
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            try:
                response = client.post(path, content=body, headers=headers)
                ok = response.status_code == 200 and response.json()["result"]["error_code"] == 0
                problem = f"HTTP {response.status_code} {response.text[:80]}"
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            if not ok and len(first_errors) < 5:
                first_errors.append(problem)
            latencies.append(time.perf_counter() - started)
            done += 1
            errors += not ok
        results.append((done, errors, latencies))

    # One pooled transport shared by the threads (a keep-alive connection per thread).
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=clients,
                                                        max_keepalive_connections=clients))
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    transport.close()
    for problem in first_errors:
        print(f"error: {problem}", file=sys.stderr)
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            [latency for r in results for latency in r[2]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(24)
    env = {**os.environ, "AGWS_MOCK_SECRET": secret}
    server = subprocess.Popen([sys.executable, "-m", "agws_conformance.commands.mock", "--port", "0"],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if " on http" not in line:
            print(f"the mock did not start: {line!r}", file=sys.stderr)
            return 1
        url = line.split(" on ", 1)[1].split(" ", 1)[0]
        done, errors, latencies = drive(url, requests_for(secret), args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    print(f"clients={args.clients} seconds={args.seconds:g} requests={done} "
          f"rps={done / args.seconds:.0f} errors={errors} "
          f"median_ms={statistics.median(latencies) * 1000:.1f} p99_ms={p99 * 1000:.1f}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
