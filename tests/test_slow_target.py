"""A target that stalls ends the run quickly with the right verdict (benchmarks/slow_target.py).

No timing is asserted here (shared machines are noisy; the benchmark measures it): only that the
run ends, how, and how few requests it spent.
"""

from __future__ import annotations

import pytest

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

slow_target = load_benchmark("slow_target")


@pytest.mark.parametrize("scenario", ["drip-body", "no-answer"])
def test_a_target_that_never_completes_an_answer_is_a_setup_problem(scenario: str) -> None:
    result = slow_target.run_scenario(scenario, timeout=1.0)
    assert (result["exit"], result["verdict"]) == (10, "INCOMPLETE"), result
    assert result["requests"] == 1 and result["preflight"] in ("stalled", "timeout")


@pytest.mark.slow
def test_stalls_after_answers_fail_response_time_and_open_the_breaker() -> None:
    result = slow_target.run_scenario("misses-hang", timeout=1.0)
    assert (result["exit"], result["verdict"]) == (1, "NOT CONFORMANT"), result
    assert result["preflight"] == "passed" and result["requests"] < 150
