"""benchmarks/suite_speed.py measures what it says: the replay sends what the suite sent, and the
loop split accounts for every send (no figure is asserted: speed lives in benchmarks/ only)."""

from __future__ import annotations

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

suite_speed = load_benchmark("suite_speed")


def test_one_round_replays_the_suite_and_splits_its_loop() -> None:
    r = suite_speed.suite_round()
    assert r["suite_requests"] >= 400
    # Only requests without a complete answer are left out of the replay (the oversized bodies).
    assert r["suite_requests"] - 5 <= r["replayed"] <= r["suite_requests"]
    assert 0 < r["send_seconds"] < r["suite_loop_seconds"]
    assert 0 < r["generation_seconds"] < r["suite_loop_seconds"] - r["send_seconds"]
    assert r["floor_seconds"] > 0 and r["bare_seconds"] > 0 and 0 < r["ceiling"] < 1
