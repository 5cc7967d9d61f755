"""Running Hypothesis-generated cases against a target: settings per profile, seeds, replay.

Every generated test runs under an explicit seed, so any run can be replayed exactly:

* ``AGWS_HYPOTHESIS_SEED=N`` (environment) or Hypothesis' own ``--hypothesis-seed=N`` fixes it
  (CI uses ``--hypothesis-seed=0``); the environment variable wins when both are set;
* otherwise a fresh seed is drawn per test and recorded (INFO) in the report.

On a failure the shrunk request is judged once (so the report shows the minimal example, not
every shrink step), and the exception carries Hypothesis' falsifying example plus a
``pytest '<nodeid>' --hypothesis-seed=N`` line that replays it. The example database is off:
a run depends on its seed and the target alone, never on files left by an earlier run.
"""

from __future__ import annotations

import os
import random
import shlex
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence, TypeVar

import hypothesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Flaky
from hypothesis.strategies import SearchStrategy

from agws_conformance.catalogue import load_catalogue
from agws_conformance.client import HarnessError
from agws_conformance.findings import ConformanceFailure
from agws_conformance.judge import Check

from .options import target_options

if TYPE_CHECKING:
    from .context import Agws

__all__ = ["SEED_ENV", "explore", "fixed_seed", "hypothesis_settings", "replay_command"]

SEED_ENV = "AGWS_HYPOTHESIS_SEED"

T = TypeVar("T")


def fixed_seed(option: str | None = None, environ: Mapping[str, str] = os.environ) -> int | str | None:
    """The seed the user asked for: ``AGWS_HYPOTHESIS_SEED``, else ``--hypothesis-seed`` (``option``,
    as typed), else None.

    Integers are the norm; any other text is a seed too, as Hypothesis' own plugin reads its option.
    Read from the public option, not from ``hypothesis.core``'s private global the plugin sets.
    """
    for raw in (environ.get(SEED_ENV, ""), option or ""):
        raw = raw.strip()
        if raw:
            return int(raw) if raw.lstrip("-").isdigit() else raw
    return None


def hypothesis_settings(agws: "Agws") -> hypothesis.settings:
    """Settings for one generated test: examples from the profile (quick 25, thorough 300), no
    deadline (a network round trip is not the code under test), no example database, one bug
    reported (the first one, shrunk), and derandomized when a fixed seed was asked for."""
    return hypothesis.settings(
        max_examples=agws.settings.examples,
        deadline=None,
        database=None,
        # Belt and braces: explore() always applies an explicit @seed, which takes precedence.
        derandomize=fixed_seed(agws.settings.hypothesis_seed) is not None,
        # The @reproduce_failure blob would have to decorate a closure inside the suite test;
        # the seed replays the same run with no code change, so that is what we print.
        print_blob=False,
        report_multiple_bugs=False,
        # The explain phase lists the suite's own source lines, which tells a partner nothing.
        phases=tuple(p for p in Phase if p is not Phase.explain),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.filter_too_much],
    )


def replay_command(nodeid: str, seed: int | str, options: Sequence[str] = ()) -> str:
    """The shell command that re-runs one generated test with the same examples, against the same
    target (``options``: the run's target options, see ``options.target_options``)."""
    return " ".join(["pytest", shlex.quote(nodeid), *map(shlex.quote, options),
                     shlex.quote(f"--hypothesis-seed={seed}")])


class _Falsified(Exception):
    """A generated example violated a MUST requirement; carries the checks to judge."""

    def __init__(self, checks: list[Check]) -> None:
        super().__init__("; ".join(f"[{c.requirement}] {c.message}" for c in checks if c.ok is False))
        self.checks = checks


class _Aborted(Exception):
    """An earlier example hit harness trouble; every later example stops at once."""


def explore(agws: "Agws", strategy: SearchStrategy[T], judge_case: Callable[[T], Iterable[Check]],
            *, requirement: str, max_examples: int | None = None) -> int:
    """Judge ``judge_case(example)`` on examples from ``strategy``; return how many ran.

    ``judge_case`` sends one request and returns its checks; it may call ``hypothesis.assume``.
    ``max_examples`` lowers the profile's number of examples (never raises it) and turns shrinking off.
    A MUST violation is shrunk by Hypothesis and judged once, on the minimal example. Harness
    trouble and stalls (time-out, unreachable) stop the exploration at once, re-raised as they came,
    instead of being shrunk one slow request at a time.
    """
    __tracebackhide__ = True
    catalogue = load_catalogue()
    seed = fixed_seed(agws.settings.hypothesis_seed)
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    kept: dict[tuple[str, bool | None], Check] = {}
    first_failure: list[Check] = []
    aborted: list[BaseException] = []
    calls = 0

    def must_fail(c: Check) -> bool:
        req = catalogue.requirements.get(c.requirement)
        return c.ok is False and (req is None or req.level == "MUST")

    def case(example: T) -> None:
        nonlocal calls
        checks: list[Check] = []
        if not aborted:
            calls += 1
            try:
                checks = list(judge_case(example))
            except (HarnessError, ConformanceFailure) as exc:
                aborted.append(exc)
        # One raise site per outcome: Hypothesis tells failures apart by where they are raised.
        if aborted:
            raise _Aborted()
        if any(must_fail(c) for c in checks):
            if not first_failure:
                first_failure.extend(checks)
            raise _Falsified(checks)
        for c in checks:
            kept.setdefault((c.requirement, c.ok), c)

    settings = hypothesis_settings(agws)
    if max_examples is not None and max_examples < settings.max_examples:
        # A budget (e.g. of payments) is not spent on shrinking: the first failing example is reported.
        settings = hypothesis.settings(settings, max_examples=max(1, max_examples),
                                       phases=tuple(p for p in settings.phases if p is not Phase.shrink))
    run = hypothesis.seed(seed)(settings(given(strategy)(case)))
    replay = f"replay: {replay_command(agws.nodeid, seed, target_options(agws.settings))}"
    agws.observe(requirement, f"{agws.settings.examples} generated examples per run, seed {seed} ({replay})")
    failure: _Falsified | None = None
    notes: list[str] = []
    try:
        run()
    except (_Aborted, Flaky) as exc:
        if aborted:
            first = aborted[0]
            first.add_note(f"generation stopped at the first request without a complete answer; {replay}")
            raise first from None
        if not (isinstance(exc, Flaky) and first_failure):
            raise
        # The shrunk example passed when replayed: the target answers the same request differently.
        failure = _Falsified(first_failure)
        notes = [f"the failure did not reproduce when replayed ({type(exc).__name__}): "
                 "the target answers the same request inconsistently"]
    except _Falsified as exc:
        failure, notes = exc, list(getattr(exc, "__notes__", ()))
    agws.judge(list(kept.values()))
    if failure is not None:
        try:
            agws.judge(failure.checks)
        except ConformanceFailure as conformance:
            for note in notes:
                conformance.add_note(note)
            conformance.add_note(replay)
            raise
    return calls

