"""The state of one conformance run: the targets, their clients and mocks, and what was observed.

One ``Run`` per pytest process. Targets are bound lazily, on the first test that needs one, so a
pytest session that collects no suite test never starts a mock or touches the network.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import random
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn
from urllib.parse import urlsplit

import pytest

from agws_conformance import signer
from agws_conformance import target as target_config
from agws_conformance.client import GatewayClient, HarnessError
from agws_conformance.errors import AgwsConfigWarning
from agws_conformance.endpoints import ENDPOINTS, MOCK_HEADER, MOCK_TIME_SCALE_HEADER, is_loopback_host
from agws_conformance.preflight import PreflightReport, run_preflight
from agws_conformance.state import Selection
from agws_conformance.transcript import Redactor

from .journaling import RunJournal, journal_path, new_run_id
from .options import Settings, target_options
from .soak import Soak

if TYPE_CHECKING:
    from agws_conformance.client import Response
    from agws_conformance.mock.server import MockServer
    from agws_conformance.receiver import CallbackReceiver
    from agws_conformance.signer import Variant
    from agws_conformance.target import Target
    from agws_conformance.transcript import Exchange

    from agws_conformance.state import Observed


def is_loopback(base_url: str) -> bool:
    return is_loopback_host(urlsplit(base_url).hostname or "")


BREAKER_IN_A_ROW = 3
"""Requests in a row without a complete answer (any time-out, reset or refusal) after which a
target is given up for the rest of the run: its remaining tests are reported at once as harness
errors instead of each waiting out its deadline."""
BREAKER_TIMEOUTS = 6
"""Time-outs in all after which the target is given up, however they interleave with answers."""


@dataclass
class BoundTarget:
    """A target ready to be tested: its config, its HTTP client, (embedded) its mock, its preflight."""

    name: str
    target: "Target"
    client: GatewayClient
    mock: "MockServer | None" = None
    receiver: "CallbackReceiver | None" = None  # with a [callbacks] table: the URL payments name
    preflight: "PreflightReport | None" = None
    answered: bool = False  # has the target ever answered? (a timeout before that is a harness error)
    failures_in_row: int = 0  # requests in a row without a complete answer (the circuit breaker)
    timeouts: int = 0  # requests that missed the deadline, in all
    breaker: str = ""  # why the target was given up, once it is
    setup_reported: bool = False  # a failed preflight has been reported (as one test's harness error)
    breaker_reported: bool = False  # the open breaker has been reported (as one test's harness error)
    error_formats: dict[str, dict[str, str]] = field(default_factory=dict)  # error class -> format -> first nodeid
    observations: dict[str, str] = field(default_factory=dict)  # run-level INFO facts (fingerprint, format)
    served: dict[tuple[str, bytes], tuple[bool, bool, str, object]] = field(default_factory=dict)  # precondition cache
    signature_first: dict[str, tuple[bool, str]] = field(default_factory=dict)  # SIG-BEFORE-LOOKUP precondition cache
    stable_unknowns: dict[str, str] = field(default_factory=dict)  # endpoint -> one unknown identifier for the run
    payments: list[dict[str, object]] = field(default_factory=list)  # every cash-in sent, for the report
    payment_started: dict[str, float] = field(default_factory=dict)  # external_id -> monotonic time of its cash-in
    payment_polled: dict[str, object] = field(default_factory=dict)  # external_id -> last status polled
    payments_allowed: int = 0  # this process's share of [write] max_payments
    refused: set[str] = field(default_factory=set)  # external_ids of cash-ins this run sent and saw refused
    shared: dict[str, object] = field(default_factory=dict)  # what one suite test established for others
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1), repr=False)
    draws: random.Random = field(init=False, repr=False)
    """This run's amounts and external_id suffixes: seeded from the run id, never from the Hypothesis
    seed, so two runs (even with the same --hypothesis-seed) send values a gateway cannot learn."""

    def __post_init__(self) -> None:
        self.draws = random.Random(f"agws-draws-{self.run_id}")

    @property
    def variant(self) -> "Variant":
        """What every signed request uses: the preflight's detection, else the declaration."""
        return self.preflight.variant if self.preflight is not None else self.target.variant

    def fresh_id(self, prefix: str = "agws") -> str:
        """An identifier generated for this run, so it cannot exist on the target."""
        return f"{prefix}-{self.run_id}-{next(self._ids)}"

    def note_failure(self, error: HarnessError) -> None:
        """Count a request without a complete answer; open the breaker past the limits."""
        if error.kind == "closed-during-upload":  # a refusal of the body, an answer of sorts
            return
        self.failures_in_row += 1
        self.timeouts += error.kind == "timeout"
        if self.failures_in_row >= BREAKER_IN_A_ROW or self.timeouts >= BREAKER_TIMEOUTS:
            what = (f"{self.failures_in_row} requests in a row" if self.failures_in_row >= BREAKER_IN_A_ROW
                    else f"{self.timeouts} requests")
            self.breaker = (f"the target gave no complete answer to {what} (last: {error}); "
                            "the rest of its tests were not sent")

    def refuse_after_breaker(self) -> NoReturn:
        """The breaker is open: the first refused test reports it as harness trouble, the rest skip."""
        if not self.breaker_reported:
            self.breaker_reported = True
            raise HarnessError("circuit-open", f"not sent: {self.breaker}")
        pytest.skip(f"not run: target {self.name!r} was given up (the first 'not sent' harness error says why)")

    def note_answer(self) -> None:
        self.answered = True
        self.failures_in_row = 0


class Run:
    """Everything one pytest process knows about the conformance run."""

    def __init__(self, settings: Settings, *, workers: int = 1, run_id: str | None = None,
                 journal: str | None = None, worker: str = "main") -> None:
        self.settings = settings
        self.run_id = run_id or new_run_id()  # one per run: an xdist worker gets its controller's
        path = Path(journal) if journal is not None else journal_path(settings)
        self.journal: RunJournal | None = RunJournal(path, self.run_id, lambda text: self.redactor(text), worker) \
            if journal != "" and path is not None else None
        self.workers = max(1, workers)  # pytest processes sharing the run (xdist workers)
        self.started = datetime.now(timezone.utc)
        self.finished: datetime | None = None
        self._bound: dict[str, BoundTarget] = {}
        self._targets: list["Target"] | None = None
        self._lock = threading.Lock()
        self.current_sink: Callable[["Exchange"], None] | None = None
        self.request_count = 0
        self.selection = Selection()  # suite tests the run left out (-k, -m, files, node IDs): a partial run
        self.remote: dict[str, "Observed"] = {}  # under xdist, in the controller: what the workers observed
        self.secrets: list[str] = []
        self.redactor = Redactor(())
        self.soak: Soak | None = Soak(settings.budget, requests=lambda: self.request_count) \
            if settings.profile == "soak" and settings.budget else None
        self.generated_left = 1  # generated tests still to run, the current one included (the soak's shares)
        self.usage_error: str | None = None  # the run stopped before any test: the one-line error (report.summary)
        self.interrupted: str | None = None  # why the run stopped early (Ctrl-C): the reports are partial
        self.collected = 0  # suite tests collected (selected) in this process

    # -- configuration -------------------------------------------------------------------
    def targets(self) -> list["Target"]:
        """Resolve the target files / options once; raise UsageError with one clear line."""
        if self._targets is None:
            self._targets = self._resolve()
        return self._targets

    def _resolve(self) -> list["Target"]:
        s = self.settings
        if s.embedded:
            from agws_conformance.mock.data import embedded_target
            from agws_conformance.mock.faults import UnknownFaultError, behaviour_for

            try:
                behaviour_for(s.mock_faults)  # fail the whole run once, before any test, on a bad name
            except UnknownFaultError as exc:
                raise pytest.UsageError(f"--agws-mock-fault: {exc}") from None

            fmt = s.error_format if s.error_format in ("old", "new") else "new"
            targets = [embedded_target(error_format=fmt)]
            if s.error_format == "auto":
                targets = [dataclasses.replace(targets[0], error_format="auto")]
        else:
            if s.mock_faults:
                raise pytest.UsageError("--agws-mock-fault applies to the embedded mock only; drop --agws-target/--agws-base-url")
            try:
                files = s.target_files or (None,)
                targets = [target_config.resolve_target(
                    file=f, base_url=s.base_url, agent=s.agent, project=s.project, service_code=s.service_code,
                    error_format=s.error_format) for f in files]
            except target_config.ConfigError as exc:
                raise pytest.UsageError(str(exc)) from None
        sides = {t.side for t in targets}
        if len(sides) > 1:
            raise pytest.UsageError("a run judges one side: these target files mix gateways and callback receivers "
                                    "([receiver] tables); run each side on its own")
        names = [t.name for t in targets]
        if len(set(names)) != len(names):
            raise pytest.UsageError(f"two targets share the name {sorted(n for n in names if names.count(n) > 1)[0]!r}; "
                                    "give each a distinct [target] name")
        for t in targets:
            if t.secret is None:
                raise pytest.UsageError(target_config.missing_secret_message(t))
            if target_config.is_production(t) and t.write is not None:
                raise pytest.UsageError(f"target {t.name!r} is the documented production host ({t.base_url}) and its "
                                        "file has a [write] table: the suites that move money never run against "
                                        "production, whatever the flags; remove [write] or use a test deployment")
            if target_config.is_production(t) and not s.allow_production:
                raise pytest.UsageError(f"target {t.name!r} is the documented production host ({t.base_url}); "
                                        "the suite sends deliberately invalid requests, so it refuses production "
                                        "unless you pass --agws-allow-production")
            self.secrets.append(t.secret.reveal())
            weak = target_config.secret_warning(t.secret_env, t.secret.reveal())
            if weak:
                warnings.warn(AgwsConfigWarning(f"target {t.name!r}: {weak}"), stacklevel=2)
        self.redactor = Redactor(self.secrets)
        return targets

    # -- binding -------------------------------------------------------------------------
    def bind(self, name: str) -> BoundTarget:
        with self._lock:
            if name in self._bound:
                return self._bound[name]
            target = next(t for t in self.targets() if t.name == name)
            mock = None
            if self.settings.embedded:
                from agws_conformance.mock.server import MockServer

                mock = MockServer(dataclasses.replace(target, error_format="new" if target.error_format == "auto" else target.error_format),
                                  faults=self.settings.mock_faults)
                try:
                    url = mock.start()
                except ValueError as exc:  # unknown fault name
                    raise pytest.UsageError(str(exc)) from None
                target = dataclasses.replace(target, base_url=url)
            max_rps = self.settings.max_rps
            if max_rps is None and not is_loopback(target.base_url):
                max_rps = 10.0
            # A callback receiver is judged against the sender's deadline ([receiver] timeout), not --agws-timeout.
            timeout = target.receiver.timeout if target.receiver is not None else self.settings.timeout
            client = GatewayClient(target.base_url, timeout=timeout, max_rps=max_rps,
                                   redactor=self.redactor, on_exchange=functools.partial(self._record, name=name))
            bound = BoundTarget(name=name, target=target, client=client, mock=mock,
                                receiver=self._receiver(target))
            if target.write is not None:
                # Every worker pays from the same showcase: each gets an equal share of the budget.
                bound.payments_allowed = target.write.max_payments // self.workers
            self._bound[name] = bound
            if target.receiver is None:  # a receiver has no gateway endpoints to diagnose
                bound.preflight = self._preflight(bound)
            return bound

    @staticmethod
    def _receiver(target: "Target") -> "CallbackReceiver | None":
        """Start the callback receiver of a target with a [callbacks] table (a clear error when it cannot listen)."""
        callbacks = target.callbacks
        if callbacks is None:
            return None
        from agws_conformance.receiver import CallbackReceiver

        receiver = CallbackReceiver(host=callbacks.host, port=callbacks.port, url=callbacks.url)
        try:
            receiver.start()
        except (OSError, RuntimeError) as exc:
            raise pytest.UsageError(f"target {target.name!r}: the callback receiver {exc} ([callbacks] listen in "
                                    f"{target.source}; port 0 picks a free one)") from None
        return receiver

    def _preflight(self, bound: BoundTarget) -> PreflightReport:
        """Diagnose the setup and detect the signing variant before any test of ``bound`` runs.

        Its requests count in the run but belong to no test's transcript; the report keeps the
        one exchange that decided a failure.
        """
        secret = bound.target.secret.reveal() if bound.target.secret is not None else ""

        def send(endpoint: str, content: bytes, signature: str | None) -> "Response":
            headers = {"Content-Type": "application/json"}
            if signature is not None:
                headers["X-Signature"] = signature
            return bound.client.request("POST", ENDPOINTS[endpoint], content=content, headers=headers)

        sink, self.current_sink = self.current_sink, None
        try:
            report = run_preflight(bound.target, send, lambda content, variant: signer.sign(content, secret, variant).signature,
                                   lambda: bound.fresh_id("agws-probe"))
        finally:
            self.current_sink = sink
        for name in ("problem", "fix"):
            value = getattr(report, name)
            if value:
                setattr(report, name, self.redactor(value))
        report.detections = [dataclasses.replace(d, evidence=self.redactor(d.evidence)) for d in report.detections]
        report.notes = [self.redactor(n) for n in report.notes]
        if report.ok:
            bound.answered = True
        return report

    @property
    def deselected(self) -> int:
        """Suite tests deselected by a pytest_deselected hook (``selection`` has the rest)."""
        return self.selection.deselected

    @property
    def bound(self) -> dict[str, BoundTarget]:
        return dict(self._bound)

    def _record(self, exchange: "Exchange", name: str | None = None) -> None:
        self.request_count += 1
        bound = self._bound.get(name) if name is not None else None
        if bound is not None and "mock" not in bound.observations:
            # The bundled mock names itself on every answer (a real gateway does not): any mock is a mock.
            mock = next((v for k, v in exchange.response_headers if k.lower() == MOCK_HEADER.lower()), None)
            if mock:
                bound.observations["mock"] = self.redactor(str(mock))[:80]
                pace = pace_mismatch(bound.target, next((v for k, v in exchange.response_headers
                                                         if k.lower() == MOCK_TIME_SCALE_HEADER.lower()), None))
                if pace:
                    bound.observations["mock_pace"] = pace
        sink = self.current_sink
        if sink is not None:
            sink(exchange)

    def close(self) -> None:
        self.finished = datetime.now(timezone.utc)
        for bound in self._bound.values():
            try:
                bound.client.close()
            finally:
                if bound.mock is not None:
                    bound.mock.stop()
                if bound.receiver is not None:
                    bound.receiver.stop()

    def target_options(self) -> list[str]:
        """The command-line options selecting this run's target and judging (re-run and replay commands)."""
        return target_options(self.settings)

    @property
    def duration(self) -> float:
        end = self.finished or datetime.now(timezone.utc)
        return (end - self.started).total_seconds()


def pace_mismatch(target: "Target", announced: str | None) -> str | None:
    """One line when the bundled mock's own pace (its ``X-AGWS-Mock-Time-Scale``) disagrees with the
    target file's [callbacks] time_scale: the retry intervals would be judged against the wrong
    clock (CB-RETRY-INTERVALS warned against our own mock). None when they agree or cannot disagree."""
    if target.callbacks is None or announced is None:
        return None
    try:
        scale = float(announced)
    except ValueError:
        return None
    if math.isclose(scale, target.callbacks.time_scale, rel_tol=1e-6):
        return None
    return (f"the mock calls back at time scale {scale:g} but [callbacks] time_scale is "
            f"{target.callbacks.time_scale:g}: set time_scale = {scale:g} in the target file, or start the mock "
            f"with agws-conformance mock --time-scale {target.callbacks.time_scale:g}")


def monotonic() -> float:
    return time.monotonic()
