"""Running Hypothesis-generated cases against a target: settings per profile, seeds, replay,
pipelined judging and the soak profile's time budget.

Every generated test runs under an explicit seed, so any run can be replayed exactly:

* ``AGWS_HYPOTHESIS_SEED=N`` (environment) or Hypothesis' own ``--hypothesis-seed=N`` fixes it
  (CI uses ``--hypothesis-seed=0``); the environment variable wins when both are set;
* otherwise a fresh seed is drawn per test and recorded (INFO) in the report.

On a failure the shrunk request is judged once (so the report shows the minimal example, not
every shrink step), and the exception carries Hypothesis' falsifying example plus a
``pytest '<nodeid>' --hypothesis-seed=N`` line that replays it. The example database is off:
a run depends on its seed and the target alone, never on files left by an earlier run.

Pipelined (``explore(pipelined=True)``, for read-only requests): Hypothesis generates the examples
in a forked process (on a background thread where fork is unavailable) while the test's process
sends and judges them, so generation overlaps the round trip instead of adding to it: on this
machine Hypothesis spends about as much CPU on one example as a loopback round trip takes.
Hypothesis needs each outcome before it can shrink, so the pipelined pass is optimistic: every
example counts as passing when handed over, and the pass has no shrink phase. When the judge finds a
MUST violation, the same seed is run again the ordinary way (one example at a time, shrinking on):
until the failing example it generates the same examples, whose judgement is remembered rather than
sent again; from there Hypothesis shrinks as it always does. The replay command of a pipelined
failure is therefore the ordinary one.

Soak (``--agws-profile soak``): each generated test gets its share of the remaining budget and spends
it in runs of ``SOAK_RUN_EXAMPLES`` examples, each under its own seed (the first is the test's seed,
then ``derived_seed``), each a fresh Hypothesis engine, so memory stays flat however long it runs. A
failing run replays with ``--agws-profile thorough --hypothesis-seed=<its seed>``.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import queue
import random
import shlex
import signal
import sys
import threading
import warnings
import zlib
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Mapping, Sequence, TypeVar

import hypothesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Flaky
from hypothesis.strategies import SearchStrategy

from agws_conformance.catalogue import load_catalogue
from agws_conformance.client import HarnessError
from agws_conformance.findings import ConformanceFailure
from agws_conformance.judge import Check

from .options import PROFILES, target_options

if TYPE_CHECKING:
    from .context import Agws
    from .soak import Soak

__all__ = ["PIPELINE_DEPTH", "SEED_ENV", "SOAK_RUN_EXAMPLES", "derived_seed", "explore", "fixed_seed",
           "hypothesis_settings", "replay_command"]

SEED_ENV = "AGWS_HYPOTHESIS_SEED"
SOAK_RUN_EXAMPLES = PROFILES["thorough"]
"""Examples per Hypothesis run in a soak: the thorough profile's, so a failing run replays as one."""
PIPELINE_DEPTH = 4
"""Examples generated ahead of the one being judged: enough to hide generation behind a round trip,
few enough that a stop (a failure, the budget, Ctrl-C) wastes nothing."""

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
    """Settings for one generated test: examples from the profile (quick 25, thorough 300, soak 25
    at least), no
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


def derived_seed(seed: int | str, index: int) -> int | str:
    """The seed of a soak's ``index``-th run: the test's own seed first, then a stable derivation
    (CRC-32 of ``"<seed>:<index>"``), the same on every machine and Python version."""
    return seed if index == 0 else zlib.crc32(f"{seed}:{index}".encode("utf-8"))


GENERATOR_SILENCE = 60.0
"""Seconds without an example after which the generator process is taken for stuck (one example
takes milliseconds; the wait is for the generator, never for the target)."""
CAN_FORK = sys.platform == "linux"
"""Whether generation may run in a forked process (fork is unsafe on macOS and absent on Windows)."""


def _generate(strategy: SearchStrategy[T], accept: Callable[[T], bool] | None, seed: int | str,
              settings: hypothesis.settings, writer: Any) -> None:
    """The generator process: run Hypothesis under ``seed``, send every accepted example, then "end"."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends this process
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing of the child reaches the run's captured output
    os.dup2(devnull, 2)

    def case(example: T) -> None:
        if accept is not None and not accept(example):
            hypothesis.reject()
        writer.send(("example", example))

    try:
        hypothesis.seed(seed)(settings(given(strategy)(case)))()
        writer.send(("end", None))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent stopped reading: a failure, the budget, Ctrl-C
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        try:
            writer.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        writer.close()


class _Falsified(Exception):
    """A generated example violated a MUST requirement; carries the checks to judge."""

    def __init__(self, checks: list[Check]) -> None:
        super().__init__("; ".join(f"[{c.requirement}] {c.message}" for c in checks if c.ok is False))
        self.checks = checks


class _Aborted(Exception):
    """An earlier example hit harness trouble; every later example stops at once."""


class _Stop(Exception):
    """Ends an optimistic pass (a failure seen, or the soak budget spent); never shrunk."""


_END = object()


@dataclasses.dataclass
class _Failure:
    checks: list[Check]
    notes: list[str]
    replay: str


class _Explorer(Generic[T]):
    """Judges generated examples for one test: ordinary (shrinking) and optimistic (pipelined) passes."""

    def __init__(self, agws: "Agws", strategy: SearchStrategy[T], judge_case: Callable[[T], Iterable[Check]],
                 accept: Callable[[T], bool] | None) -> None:
        self.strategy = strategy
        self.judge_case = judge_case
        self.accept = accept
        self.where = agws.nodeid
        catalogue = load_catalogue()
        self.levels = {rid: r.level for rid, r in catalogue.requirements.items()}
        self.kept: dict[tuple[str, bool | None], Check] = {}
        self.calls = 0
        self.aborted: list[BaseException] = []
        self.first: list[Check] | None = None  # the optimistic pass's first MUST violation
        self.passed: set[str] = set()  # this seed's examples judged passing (never re-sent by its replay)
        self.remember = False  # during an optimistic pass: fill ``passed``

    def must_fail(self, c: Check) -> bool:
        return c.ok is False and self.levels.get(c.requirement, "MUST") == "MUST"

    def judge_one(self, example: T) -> list[Check] | None:
        """Judge one example; None when harness trouble stopped it (kept in ``aborted``)."""
        try:
            checks = list(self.judge_case(example))
        except (HarnessError, ConformanceFailure) as exc:
            self.aborted.append(exc)
            return None
        self.calls += 1
        if not any(self.must_fail(c) for c in checks):
            for c in checks:
                self.kept.setdefault((c.requirement, c.ok), c)
            if self.remember:
                self.passed.add(repr(example))
        return checks

    def _reject_unless_accepted(self, example: T) -> None:
        if self.accept is not None and not self.accept(example):
            hypothesis.reject()

    # -- the ordinary pass: one example at a time, shrinking on ------------------------------------------
    def _judge_generated_here(self, seed: int | str, settings: hypothesis.settings, pipelined: bool,
                              stop: Callable[[], bool] | None, tick: Callable[[str], None] | None) -> None:
        """Hypothesis on this thread; judged inline, or on a background thread when ``pipelined``."""
        pipe = _Pipeline(self) if pipelined else None

        def case(example: T) -> None:
            if self.first is not None or self.aborted or (stop is not None and stop()):
                raise _Stop()
            self._reject_unless_accepted(example)
            if tick is not None:
                tick(self.where)
            if pipe is not None:
                pipe.put(example)
                return
            checks = self.judge_one(example)
            if checks is not None and any(self.must_fail(c) for c in checks):
                self.first = checks

        try:
            hypothesis.seed(seed)(settings(given(self.strategy)(case)))()
        except _Stop:
            pass
        except BaseException:
            if pipe is not None:
                pipe.stopped = True  # Ctrl-C, a bug: do not wait for the queued examples
            raise
        finally:
            if pipe is not None:
                pipe.close()

    def _judge_generated_elsewhere(self, seed: int | str, settings: hypothesis.settings,
                                   stop: Callable[[], bool] | None, tick: Callable[[str], None] | None) -> None:
        """Hypothesis in a forked process sends the examples over a pipe; this thread judges them.

        Two processes, two cores: generating costs Hypothesis about as much CPU as a loopback round trip,
        and under one interpreter lock the two would only take turns. The child is the same program at
        the same point (fork), so under the same seed it generates what the ordinary pass will.
        """
        context = multiprocessing.get_context("fork")
        reader, writer = context.Pipe(duplex=False)
        child = context.Process(target=_generate, args=(self.strategy, self.accept, seed, settings, writer),
                                name="agws-generator", daemon=True)
        with warnings.catch_warnings():
            # Python 3.12+ warns on fork() beside other threads (the embedded mock's, the callback
            # receiver's): a lock one of them held would stay held in the child. The child touches
            # none of theirs: it runs Hypothesis, the strategy and ``accept``, and writes to the pipe only.
            warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                                    category=DeprecationWarning)
            child.start()
        writer.close()
        try:
            while not (stop is not None and stop()):
                if not reader.poll(GENERATOR_SILENCE):
                    raise RuntimeError(f"the example generator (pid {child.pid}) sent nothing for "
                                       f"{GENERATOR_SILENCE:g} s: a bug in the strategy or the suite")
                try:
                    kind, payload = reader.recv()
                except EOFError:
                    raise RuntimeError(f"the example generator (pid {child.pid}) ended without a word: "
                                       f"exit code {child.exitcode}") from None
                if kind == "end":
                    break
                if kind == "error":
                    raise RuntimeError(f"generating examples failed in the generator process: {payload}")
                if tick is not None:
                    tick(self.where)
                checks = self.judge_one(payload)
                if checks is None:
                    break
                if any(self.must_fail(c) for c in checks):
                    self.first = checks
                    break
        finally:
            reader.close()
            if child.is_alive():
                child.kill()
            child.join()

    def ordinary(self, seed: int | str, settings: hypothesis.settings, replay: str,
                 remembered: bool = False) -> _Failure | None:
        """Run Hypothesis under ``seed``; the shrunk failure, or None. Harness trouble is re-raised.
        ``remembered``: examples the optimistic pass judged passing are not sent again."""
        first_failure: list[Check] = []

        def case(example: T) -> None:
            checks: list[Check] | None = []
            if not self.aborted:
                self._reject_unless_accepted(example)
                if remembered and repr(example) in self.passed:
                    return
                checks = self.judge_one(example)
            # One raise site per outcome: Hypothesis tells failures apart by where they are raised.
            if self.aborted:
                raise _Aborted()
            if any(self.must_fail(c) for c in checks or ()):
                if not first_failure:
                    first_failure.extend(checks or ())
                raise _Falsified(checks or [])

        run = hypothesis.seed(seed)(settings(given(self.strategy)(case)))
        try:
            run()
        except (_Aborted, Flaky) as exc:
            self._raise_aborted(replay)
            if not (isinstance(exc, Flaky) and first_failure):
                raise
            # The shrunk example passed when replayed: the target answers the same request differently.
            return _Failure(first_failure, [f"the failure did not reproduce when replayed ({type(exc).__name__}): "
                                            "the target answers the same request inconsistently"], replay)
        except _Falsified as exc:
            return _Failure(exc.checks, list(getattr(exc, "__notes__", ())), replay)
        return None

    def _raise_aborted(self, replay: str) -> None:
        if self.aborted:
            first = self.aborted[0]
            first.add_note(f"generation stopped at the first request without a complete answer; {replay}")
            raise first from None

    # -- the optimistic pass: no shrinking, judged on a background thread when pipelined -----------------
    def optimistic(self, seed: int | str, settings: hypothesis.settings, replay: str, *, pipelined: bool,
                   stop: Callable[[], bool] | None = None, tick: Callable[[str], None] | None = None) -> _Failure | None:
        """Run Hypothesis under ``seed`` without shrinking, each example judged as it comes, until the
        end, a MUST violation, or ``stop()``; a violation is then replayed the ordinary way to shrink it.
        ``pipelined``: the examples are generated in a forked process (on another thread where fork is
        not available) while this one sends and judges."""
        quiet = hypothesis.settings(settings, phases=tuple(p for p in settings.phases if p is not Phase.shrink))
        self.passed.clear()  # remembered per seed: a soak's memory stays flat
        self.remember = True
        try:
            if pipelined and CAN_FORK:
                self._judge_generated_elsewhere(seed, quiet, stop, tick)
            else:
                self._judge_generated_here(seed, quiet, pipelined, stop, tick)
        finally:
            self.remember = False
        self._raise_aborted(replay)
        if self.first is None:
            return None
        found, self.first = self.first, None
        failure = self.ordinary(seed, settings, replay, remembered=True)
        if failure is None:
            return _Failure(found, ["the failure did not reproduce when the same seed was replayed one request at "
                                    "a time: the target answers the same request inconsistently"], replay)
        return failure


class _Pipeline:
    """One background thread judging the examples the test's thread hands over, in order."""

    def __init__(self, explorer: _Explorer[Any]) -> None:
        self.explorer = explorer
        self.queue: queue.Queue[object] = queue.Queue(maxsize=PIPELINE_DEPTH)
        self.stopped = False
        self.crash: BaseException | None = None  # a bug in the judge (not harness trouble): re-raised
        self.thread = threading.Thread(target=self._work, name="agws-judge", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            if item is _END:
                return
            if self.stopped:
                continue
            try:
                checks = self.explorer.judge_one(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
                self.crash, self.stopped = exc, True
                continue
            if checks is None:
                self.stopped = True
            elif any(self.explorer.must_fail(c) for c in checks):
                self.explorer.first, self.stopped = checks, True

    def put(self, example: object) -> None:
        while True:
            if self.stopped or not self.thread.is_alive():
                raise _Stop()
            try:
                self.queue.put(example, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Wait for what was handed over to be judged (all of it unless stopped), then end the thread."""
        while self.thread.is_alive():
            try:
                self.queue.put(_END, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join()
        if self.crash is not None:
            raise self.crash


def explore(agws: "Agws", strategy: SearchStrategy[T], judge_case: Callable[[T], Iterable[Check]],
            *, requirement: str, max_examples: int | None = None, accept: Callable[[T], bool] | None = None,
            pipelined: bool = False) -> int:
    """Judge ``judge_case(example)`` on examples from ``strategy``; return how many were judged.

    ``judge_case`` sends one request and returns its checks. ``accept`` (run before sending) rejects
    examples that are not evidence (``hypothesis.assume``); a pipelined ``judge_case`` must leave that
    to ``accept``, as it runs on another thread. ``pipelined`` is for requests without side effects:
    they may be sent a few examples behind their generation.
    ``max_examples`` lowers the profile's number of examples (never raises it), turns shrinking off
    and keeps the test out of the soak (a payment budget is not a time budget).
    A MUST violation is shrunk by Hypothesis and judged once, on the minimal example. Harness
    trouble and stalls (time-out, unreachable) stop the exploration at once, re-raised as they came,
    instead of being shrunk one slow request at a time.
    """
    __tracebackhide__ = True
    seed = fixed_seed(agws.settings.hypothesis_seed)
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    explorer = _Explorer(agws, strategy, judge_case, accept)
    settings = hypothesis_settings(agws)
    if max_examples is not None and max_examples < settings.max_examples:
        # A budget (e.g. of payments) is not spent on shrinking: the first failing example is reported.
        settings = hypothesis.settings(settings, max_examples=max(1, max_examples),
                                       phases=tuple(p for p in settings.phases if p is not Phase.shrink))
    soak = agws.soak if max_examples is None else None
    if soak is None:
        replay = f"replay: {replay_command(agws.nodeid, seed, target_options(agws.settings))}"
        agws.observe(requirement, f"{settings.max_examples} generated examples per run, seed {seed} ({replay})")
        failure = (explorer.optimistic(seed, settings, replay, pipelined=True) if pipelined
                   else explorer.ordinary(seed, settings, replay))
    else:
        failure = _soak(agws, soak, explorer, seed, settings, requirement, pipelined)
    agws.judge(list(explorer.kept.values()))
    if failure is not None:
        try:
            agws.judge(failure.checks)
        except ConformanceFailure as conformance:
            for note in failure.notes:
                conformance.add_note(note)
            conformance.add_note(failure.replay)
            raise
    return explorer.calls


def _soak(agws: "Agws", soak: "Soak", explorer: _Explorer, seed: int | str, settings: hypothesis.settings,
          requirement: str, pipelined: bool) -> _Failure | None:
    """Runs of ``SOAK_RUN_EXAMPLES`` under derived seeds until this test's share of the budget is spent
    (never fewer examples than the profile's floor); the first failing run ends the test."""
    floor = settings.max_examples
    deadline = soak.share(agws.generated_left)
    per_run = hypothesis.settings(settings, max_examples=SOAK_RUN_EXAMPLES)
    options = target_options(dataclasses.replace(agws.settings, profile="thorough", budget=None))

    def spent() -> bool:
        return explorer.calls >= floor and soak.clock() >= deadline

    runs = 0
    failure: _Failure | None = None
    try:
        for index in itertools.count():
            run_seed = derived_seed(seed, index)
            replay = f"replay: {replay_command(agws.nodeid, run_seed, options)}"
            runs += 1
            failure = explorer.optimistic(run_seed, per_run, replay, pipelined=pipelined, stop=spent, tick=soak.tick)
            if failure is not None or spent():
                break
    finally:
        agws.observe(requirement, f"soak: {explorer.calls} generated examples in {runs} run(s) of at most "
                                  f"{SOAK_RUN_EXAMPLES}, seed {seed} then derived ones (run k uses CRC-32 of "
                                  f"'{seed}:k'); a failing run names its own replay command")
    return failure
