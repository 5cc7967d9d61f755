"""Throughput of ``signer.sign()`` next to a plain json.dumps + base64 + hashlib baseline.

Both are measured interleaved in the same run (alternating rounds, so machine load hits both
alike) on a typical 4-field account-check body; the median ratio is reported.

    python benchmarks/signer.py [--rounds 9] [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable

from agws_conformance.signer import sign

BODY = b'{"agent":"tarlan","username":"989898","project":"mobile","service_code":"201106"}'
SECRET = "12345"
_VALUE = json.loads(BODY)


def baseline_dumps() -> str:
    """The signing page's Python sample on an already-parsed dict (no parsing at all)."""
    canonical = json.dumps(_VALUE, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(base64.b64encode(canonical) + SECRET.encode()).hexdigest()


def baseline_naive() -> str:
    """The same sample starting from the raw body bytes, as sign() does."""
    value = json.loads(BODY)
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(base64.b64encode(canonical) + SECRET.encode()).hexdigest()


def ours() -> str:
    return sign(BODY, SECRET).signature


def _rate(func: Callable[[], str], seconds: float) -> float:
    """Calls per second over about ``seconds``."""
    calls = 0
    batch = 1000
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            func()
        calls += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return calls / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.3, help="time per measurement")
    args = parser.parse_args(argv)
    assert ours() == baseline_naive() == baseline_dumps()  # this body has no Go/Python difference
    rates: dict[str, list[float]] = {"sign": [], "dumps": [], "naive": []}
    for _ in range(args.rounds):
        rates["sign"].append(_rate(ours, args.seconds))
        rates["dumps"].append(_rate(baseline_dumps, args.seconds))
        rates["naive"].append(_rate(baseline_naive, args.seconds))
    vs_dumps = statistics.median(s / d for s, d in zip(rates["sign"], rates["dumps"], strict=True))
    vs_naive = statistics.median(s / n for s, n in zip(rates["sign"], rates["naive"], strict=True))
    print(f"python {platform.python_version()} on {platform.machine()}, {args.rounds} interleaved rounds")
    for name, label in (("sign", "signer.sign(body)"), ("dumps", "json.dumps(dict)+b64+sha256"),
                        ("naive", "json.loads+dumps+b64+sha256")):
        print(f"  {label:30s} {statistics.median(rates[name]):>10,.0f} bodies/s (median)")
    print(f"  ratio sign/dumps-baseline: {vs_dumps:.2f}  (median of per-round ratios)")
    print(f"  ratio sign/naive-signer:   {vs_naive:.2f}")
    return 0 if vs_dumps >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
