"""GatewayClient against a bare httpx keep-alive loop, same local server, interleaved rounds.

    python benchmarks/client_overhead.py [--requests 300] [--rounds 5]

Prints each round and the median rate ratio (client / bare). The client bounds time, bytes and
JSON depth and records a redacted transcript per request; this shows what that costs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostile_server import OK_BODY, HostileServer  # noqa: E402

from agws_conformance.client import GatewayClient  # noqa: E402


def _rate(send, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        send()
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ratios = []
    with HostileServer("ok") as server, httpx.Client() as bare, GatewayClient(server.url) as client:
        def send_bare() -> None:
            assert bare.post(server.url + "/p", content=b"{}").content == OK_BODY

        def send_client() -> None:
            assert client.post("/p", b"{}").body == OK_BODY

        send_bare(), send_client()
        for i in range(args.rounds):
            bare_rate, client_rate = _rate(send_bare, args.requests), _rate(send_client, args.requests)
            ratios.append(client_rate / bare_rate)
            print(f"round {i + 1}: bare httpx {bare_rate:7.0f} req/s   GatewayClient {client_rate:7.0f} req/s   ratio {ratios[-1]:.2f}")
    print(f"median ratio GatewayClient / bare httpx: {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
