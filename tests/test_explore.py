"""explore(): the pipelined pass judges the same examples as the ordinary one, a failure found on
the pipeline is shrunk and replayed exactly as the ordinary pass would, harness trouble and suite
bugs surface as they came, and the soak spends its budget in fresh runs of derived seeds.

Plain functions, no gateway: a fake ``agws`` records what explore observes and judges.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from hypothesis import strategies as st

from agws_conformance.client import HarnessError
from agws_conformance.findings import ConformanceFailure, Finding
from agws_conformance.judge import Check
from agws_conformance.plugin import generated
from agws_conformance.plugin.generated import SOAK_RUN_EXAMPLES, derived_seed, explore
from agws_conformance.plugin.options import Settings
from agws_conformance.plugin.soak import Soak, format_duration


def _settings(profile: str = "quick", seed: str | None = "0", budget: float | None = None) -> Settings:
    return Settings(target_files=(), base_url=None, agent=None, project=None, service_code=None, error_format=None,
                    profile=profile, timeout=10.0, max_rps=None, strict=False,  # type: ignore[arg-type]
                    allow_production=False, mock_faults=(), json_path=None, transcripts="failures",
                    hypothesis_seed=seed, budget=budget)


class FakeAgws:
    """What explore() reads and calls on the ``agws`` fixture."""

    nodeid = "suites/test_x.py::test_generated"
    generated_left = 1

    def __init__(self, profile: str = "quick", soak: Soak | None = None, seed: str | None = "0") -> None:
        self.settings = _settings(profile, seed, soak.budget if soak else None)
        self.soak = soak
        self.observed: list[str] = []
        self.judged: list[Check] = []

    def observe(self, requirement: str, message: str) -> None:
        self.observed.append(message)

    def judge(self, checks: Any) -> bool:
        checks = list(checks)
        self.judged += checks
        failed = [c for c in checks if c.ok is False]
        if failed:
            raise ConformanceFailure(Finding(failed[0].requirement, "MUST", False, failed[0].message))
        return True


def _judge_recording(seen: list[Any], fails: Any = lambda x: False):
    def judge_case(x: Any) -> list[Check]:
        seen.append(x)
        return [Check("ROB-GENERATED-VALID", not fails(x), f"example {x!r}")]
    return judge_case


STRATEGY = st.integers(0, 10**6)


def test_pipelined_judges_the_same_examples_in_the_same_order() -> None:
    ordinary: list[int] = []
    pipelined: list[int] = []
    explore(FakeAgws(), STRATEGY, _judge_recording(ordinary), requirement="ROB-GENERATED-VALID")
    explore(FakeAgws(), STRATEGY, _judge_recording(pipelined), requirement="ROB-GENERATED-VALID", pipelined=True)
    assert pipelined == ordinary and len(ordinary) == 25


def test_pipelined_examples_are_generated_in_another_process() -> None:
    pids: set[int] = set()

    def judge_case(example: tuple[int, int]) -> list[Check]:
        pids.add(example[1])
        return [Check("ROB-GENERATED-VALID", True, "ok")]

    explore(FakeAgws(), STRATEGY.map(lambda x: (x, os.getpid())), judge_case, requirement="ROB-GENERATED-VALID",
            pipelined=True)
    assert len(pids) == 1 and os.getpid() not in pids


@pytest.mark.parametrize("fork", [True, False])
def test_both_pipelines_judge_what_the_ordinary_pass_judges(monkeypatch: pytest.MonkeyPatch, fork: bool) -> None:
    """Where fork is missing, a background thread judges while Hypothesis generates on the test's."""
    monkeypatch.setattr(generated, "CAN_FORK", fork)
    threads: set[str] = set()
    seen: list[int] = []
    ordinary: list[int] = []

    def judge_case(x: int) -> list[Check]:
        threads.add(threading.current_thread().name)
        seen.append(x)
        return [Check("ROB-GENERATED-VALID", True, "ok")]

    explore(FakeAgws(), STRATEGY, judge_case, requirement="ROB-GENERATED-VALID", pipelined=True)
    explore(FakeAgws(), STRATEGY, _judge_recording(ordinary), requirement="ROB-GENERATED-VALID")
    assert seen == ordinary
    assert threads == ({"MainThread"} if fork else {"agws-judge"})


def _failure(pipelined: bool) -> tuple[ConformanceFailure, list[int]]:
    seen: list[int] = []
    with pytest.raises(ConformanceFailure) as caught:
        explore(FakeAgws(), STRATEGY, _judge_recording(seen, lambda x: x > 1000), requirement="ROB-GENERATED-VALID",
                pipelined=pipelined)
    return caught.value, seen


@pytest.mark.parametrize("fork", [True, False])
def test_a_pipelined_failure_is_shrunk_and_reported_as_the_ordinary_pass_reports_it(
        monkeypatch: pytest.MonkeyPatch, fork: bool) -> None:
    monkeypatch.setattr(generated, "CAN_FORK", fork)
    pipelined, sent = _failure(True)
    ordinary, _ = _failure(False)
    assert "example 1001" in str(pipelined) and str(pipelined) == str(ordinary)
    notes = pipelined.__notes__
    assert any("1001" in n for n in notes if "case(" in n or "example" in n)
    assert notes[-1] == ordinary.__notes__[-1] == (
        "replay: pytest suites/test_x.py::test_generated --hypothesis-seed=0")
    # The replay remembers what the pipelined pass judged passing: none of those is sent twice.
    passing = [x for x in sent if x <= 1000]
    assert len(passing) == len(set(passing))


def test_a_failure_that_does_not_come_back_on_replay_is_still_reported() -> None:
    calls = {"n": 0}

    def judge_case(x: int) -> list[Check]:
        calls["n"] += 1
        return [Check("ROB-GENERATED-VALID", calls["n"] != 3, f"example {x!r}")]  # only the third answer is wrong

    with pytest.raises(ConformanceFailure) as caught:
        explore(FakeAgws(), STRATEGY, judge_case, requirement="ROB-GENERATED-VALID", pipelined=True)
    assert any("inconsistently" in n for n in caught.value.__notes__)


@pytest.mark.parametrize("fork", [True, False])
def test_harness_trouble_on_the_pipeline_stops_generation_and_is_raised_as_it_came(
        monkeypatch: pytest.MonkeyPatch, fork: bool) -> None:
    monkeypatch.setattr(generated, "CAN_FORK", fork)
    seen: list[int] = []

    def judge_case(x: int) -> list[Check]:
        seen.append(x)
        if len(seen) == 3:
            raise HarnessError("timeout", "POST http://gw/x: no answer within 1 s")
        return [Check("ROB-GENERATED-VALID", True, "ok")]

    with pytest.raises(HarnessError) as caught:
        explore(FakeAgws(), STRATEGY, judge_case, requirement="ROB-GENERATED-VALID", pipelined=True)
    assert len(seen) == 3
    assert any("generation stopped" in n for n in caught.value.__notes__)


@pytest.mark.parametrize("fork", [True, False])
def test_a_bug_in_a_pipelined_judge_is_raised_on_the_test_thread(monkeypatch: pytest.MonkeyPatch, fork: bool) -> None:
    monkeypatch.setattr(generated, "CAN_FORK", fork)

    def judge_case(x: int) -> list[Check]:
        raise KeyError("a bug in the suite")

    with pytest.raises(KeyError, match="a bug in the suite"):
        explore(FakeAgws(), STRATEGY, judge_case, requirement="ROB-GENERATED-VALID", pipelined=True)


def test_a_bug_in_the_generator_process_is_raised_with_its_message() -> None:
    def accept(x: int) -> bool:
        raise ValueError("a bug in accept")

    with pytest.raises(RuntimeError, match="ValueError: a bug in accept"):
        explore(FakeAgws(), STRATEGY, _judge_recording([]), requirement="ROB-GENERATED-VALID", accept=accept,
                pipelined=True)


def test_accept_rejects_before_anything_is_sent() -> None:
    seen: list[int] = []
    explore(FakeAgws(), STRATEGY, _judge_recording(seen), requirement="ROB-GENERATED-VALID",
            accept=lambda x: x % 2 == 0, pipelined=True)
    assert seen and all(x % 2 == 0 for x in seen)


def test_a_soak_spends_its_share_in_runs_of_derived_seeds_and_never_less_than_the_floor() -> None:
    seen: list[int] = []
    soak = Soak(budget=0.5, requests=lambda: len(seen))
    agws = FakeAgws("soak", soak)
    calls = explore(agws, STRATEGY, _judge_recording(seen), requirement="ROB-GENERATED-VALID", pipelined=True)
    assert calls == len(seen) >= 25 and soak.examples == calls
    assert any(m.startswith("soak: ") for m in agws.observed)

    spent = Soak(budget=0.001, requests=lambda: 0)
    spent.started -= 1  # the budget is already spent when the test starts: the floor still runs
    seen.clear()
    assert explore(FakeAgws("soak", spent), STRATEGY, _judge_recording(seen), requirement="ROB-GENERATED-VALID") == 25


def test_a_soak_failure_names_the_replay_of_its_own_run() -> None:
    soak = Soak(budget=5, requests=lambda: 0)
    with pytest.raises(ConformanceFailure) as caught:
        explore(FakeAgws("soak", soak), STRATEGY, _judge_recording([], lambda x: x > 1000),
                requirement="ROB-GENERATED-VALID", pipelined=True)
    assert caught.value.__notes__[-1] == (
        "replay: pytest suites/test_x.py::test_generated --agws-profile thorough --hypothesis-seed=0")


def test_derived_seeds_are_stable_and_distinct() -> None:
    assert derived_seed(0, 0) == 0 and derived_seed("abc", 0) == "abc"
    seeds = [derived_seed(7, i) for i in range(1, 50)]
    assert len(set(seeds)) == len(seeds) and derived_seed(7, 1) == 2853368900  # CRC-32 of "7:1"
    assert SOAK_RUN_EXAMPLES == 300


def test_soak_clock_shares_progress_and_lines() -> None:
    now = [100.0]
    lines: list[str] = []
    soak = Soak(budget=60, requests=lambda: 1234, failures=lambda: 1, write=lines.append, clock=lambda: now[0])
    assert soak.share(3) == pytest.approx(120.0)
    now[0] = 130.0
    assert soak.share(1) == pytest.approx(160.0) and soak.left() == pytest.approx(30.0)
    soak.tick("t::x")
    assert lines == ["soak: 1,234 requests, 1 generated cases, 1 failed test, 30s elapsed, 30s of 1m00s left (t::x)"]
    soak.tick("t::x")  # the next line is due PROGRESS_EVERY seconds later
    assert len(lines) == 1
    now[0] = 200.0
    assert soak.left() == 0.0 and soak.share(2) == 200.0
    assert [format_duration(s) for s in (0, 42, 754.2, 3700)] == ["0s", "42s", "12m34s", "1h01m40s"]
