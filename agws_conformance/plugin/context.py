"""The ``agws`` fixture object: how a suite test talks to a target and records what it judged.

Suite tests never see the secret: signing (correctly, or deliberately wrongly) happens here.
"""

from __future__ import annotations

import json
import math
import string
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import pytest

from agws_conformance import judge, money, signer
from agws_conformance.catalogue import load_catalogue
from agws_conformance.client import HarnessError
from agws_conformance.endpoints import ENDPOINTS, FINAL_STATUSES, LOOKUP_FIELDS, METHODS, TRANSACTION_STATUSES
from agws_conformance.findings import NOT_APPLICABLE, ConformanceFailure, Finding, invariant
from agws_conformance.state import format_note
from agws_conformance.target import SCOPE_FIELDS


if TYPE_CHECKING:
    from agws_conformance.client import Response
    from agws_conformance.preflight import PreflightReport
    from agws_conformance.receiver import CallbackReceiver
    from agws_conformance.target import Account, Payment, Secret, Target, Write

    from .journaling import RunJournal
    from .run import BoundTarget, Run
    from .soak import Soak


_NOT_THE_SECRET = "agws-conformance-not-the-secret"
"""A key that is not the target's secret: its signatures must be refused."""

DROPPED = frozenset({"connection-reset"})
"""Harness error kinds that mean the target hung up on a request it had read (Go's net/http after a
handler panics): evidence about that request when the target still serves the next one."""


class _Sign:
    def __repr__(self) -> str:
        return "SIGN"


_ID_ALPHABET = string.ascii_lowercase + string.digits
"""What the drawn part of an external_id is made of (safe in any id column and URL)."""

SIGN: Any = _Sign()
"""Default for ``send(signature=...)``: sign the content correctly with the target's secret."""

class Agws:
    """One test's handle on one target. Findings accumulate here and reach the report."""

    def __init__(self, run: "Run", bound: "BoundTarget", nodeid: str) -> None:
        self._run = run
        self._bound = bound
        secret = bound.target.secret
        invariant(secret is not None, "a target without a secret was bound")  # Run refuses them earlier
        self._secret: Secret = secret  # type: ignore[assignment]  # a Secret: its repr never shows the value
        self.nodeid = nodeid
        self.findings: list[Finding] = []
        self._seen_passes: set[str] = set()

    def __repr__(self) -> str:
        return f"<agws target={self.target.name!r} url={self.target.base_url!r}>"

    # -- the target ------------------------------------------------------------------------
    @property
    def target(self) -> "Target":
        return self._bound.target

    @property
    def settings(self):
        return self._run.settings

    @property
    def workers(self) -> int:
        """How many pytest processes share this run (pytest-xdist workers; 1 without it)."""
        return self._run.workers

    @property
    def soak(self) -> "Soak | None":
        """The soak profile's budget (None in the other profiles)."""
        return self._run.soak

    @property
    def generated_left(self) -> int:
        """Generated tests still to run in this process, this one included (the soak's shares)."""
        return self._run.generated_left

    @property
    def is_mock(self) -> bool:
        return self._bound.mock is not None

    @property
    def error_format(self) -> str:
        return self.target.error_format

    @property
    def variant(self) -> signer.Variant:
        """How this target signs: detected by the preflight, or as the target file declares it."""
        return self._bound.variant

    @property
    def preflight(self) -> "PreflightReport | None":
        return self._bound.preflight

    def accounts(self, *, account_status: int | None = None, category: str | None = None) -> list["Account"]:
        return [a for a in self.target.accounts
                if (account_status is None or a.account_status == account_status)
                and (category is None or a.category == category)]

    def require_account(self, *, account_status: int | None = None, category: str | None = None) -> "Account":
        """The first configured account matching; skip the test (lack of data) when there is none,
        or (n/a) when the target file says the showcase does not serve ``category``."""
        __tracebackhide__ = True  # -rs names the test, not this helper
        served = self.target.categories
        if category is not None and served is not None and category not in served:
            self.not_applicable(f"target {self.target.name!r} serves only {', '.join(served)} ([target] categories), "
                                f"not {category}")
        found = self.accounts(account_status=account_status, category=category)
        if not found:
            what = ", ".join(f"{k}={v}" for k, v in (("account_status", account_status), ("category", category)) if v is not None)
            pytest.skip(f"target {self.target.name!r} configures no [[accounts]] entry{' with ' + what if what else ''}")
        return found[0]

    @staticmethod
    def not_applicable(reason: str) -> None:
        """Skip: the rule does not apply to this target (reported n/a; the verdict stays complete)."""
        __tracebackhide__ = True
        pytest.skip(NOT_APPLICABLE + reason)

    def require_payment(self) -> "Payment":
        __tracebackhide__ = True
        if not self.target.payments:
            pytest.skip(f"target {self.target.name!r} configures no [[payments]] entry")
        return self.target.payments[0]

    def unknown_username(self) -> str:
        """A username generated for this run, so it cannot exist on the target."""
        return self._bound.fresh_id("agws-unknown")

    def unknown_external_id(self) -> str:
        return self._bound.fresh_id("agws")

    def other_scope(self, scope: str, value: str, *, suffix: str = "-not-this-target") -> tuple[str, bool]:
        """What a scope rule names instead of this target's ``value`` for field ``scope`` (project,
        agent, service_code): the declared neighbour's (``[target] other_<scope>``, a scope that
        exists, so a leak to it can be seen; True), else ``value + suffix``, one the gateway does not
        know (False). The latter is noted for the report: such a run cannot see a leak to a real neighbour."""
        other = self.target.other(scope)
        if other is not None:
            return other, True
        missing = [f"other_{name}" for name in SCOPE_FIELDS if self.target.other(name) is None]
        self._bound.observations["scope_neighbour"] = (
            "scope rules tried with unknown identifiers only for " + ", ".join(m.removeprefix("other_") for m in missing)
            + f": declare [target] {', '.join(missing)} (a scope that exists) to judge a leak to a real neighbour")
        return value + suffix, False

    # -- payments (side effects: only with the target file's [write] table) ----------------
    def require_write(self) -> "Write":
        """The [write] table; without it the test is not applicable (money moves only when asked)."""
        __tracebackhide__ = True
        write = self.target.write
        if write is None:
            self.not_applicable(f"target {self.target.name!r} has no [write] table: the suites that move money "
                                "run only when the target file allows them (README, 'Payments')")
        return write  # type: ignore[return-value]

    def new_external_id(self) -> str:
        """An external_id for a payment this run creates: the [write] id_prefix, then 16 characters
        drawn for this run (no run id, no counter: nothing a gateway could match the suite by)."""
        prefix = self.require_write().id_prefix
        taken = {str(r["external_id"]) for r in self._bound.payments}
        while True:
            external_id = f"{prefix}-" + "".join(self._bound.draws.choices(_ID_ALPHABET, k=16))
            if external_id not in taken:
                return external_id

    def draw_amount(self, low: str = "1.00", high: str = "9.99") -> Decimal:
        """An amount in whole tiyn drawn for this run in [low, high], never above [write] max_amount:
        a gateway cannot special-case fixed values the suite would otherwise send."""
        top = min(Decimal(high), Decimal(repr(self.require_write().max_amount)))
        return money.draw(self._bound.draws, Decimal(low), top)

    def payment_fields(self, *, amount: Decimal | float, endpoint: str = "action/cash-in",
                       **overrides: Any) -> dict[str, Any]:
        """A valid cash-in (or another method making a new payment: ``endpoint``) for the [write]
        account, a fresh external_id and ``amount`` (tenge, sent as the float64 Go would write)."""
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        wire = money.on_the_wire(amount) if isinstance(amount, Decimal) else amount
        fields = self.fields(endpoint, **{"amount": wire, "external_id": self.new_external_id(),
                                          "datetime": now, **overrides})
        fields = {k: v for k, v in fields.items() if k in METHODS[endpoint].fields or k in overrides}
        if (self._bound.receiver is not None and "callback_url" not in overrides
                and "callback_url" in METHODS[endpoint].optional):
            fields["callback_url"] = self._bound.receiver.url  # the documented optional field, last as in its table
        return fields

    def pay(self, fields: Mapping[str, Any] | None = None, *, content: bytes | None = None,
            signature: Any = SIGN, why: str = "payment", endpoint: str = "action/cash-in",
            method: str = "POST", must_refuse: str | None = None) -> "Response":
        """Send one cash-in (or another request that may move money: ``endpoint``, e.g. a payment
        link) within the [write] limits and list it for the report.

        Every one counts against ``max_payments``, a refused one too (a gateway that wrongly
        accepts it has moved money); none may exceed ``max_amount``. Past the budget the test is
        skipped with the key to raise, which leaves the verdict INCOMPLETE.
        """
        __tracebackhide__ = True
        write = self.require_write()
        bound = self._bound
        if len(bound.payments) >= bound.payments_allowed:
            pytest.skip(f"not sent: the run's payment budget is spent ([write] max_payments = {write.max_payments}"
                        + (f", {bound.payments_allowed} for this worker" if bound.payments_allowed != write.max_payments
                           else "") + "); raise max_payments to run this check")
        if content is None:
            content = self.encode(fields if fields is not None else self.payment_fields(amount=self.draw_amount()))
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
        amount = body.get("amount")
        invariant(not (isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount > write.max_amount),
                  f"a cash-in for {amount!r} exceeds [write] max_amount {write.max_amount:g}")
        record: dict[str, Any] = {"external_id": str(body.get("external_id", "(none)"))[:120],
                                  **typed_value("amount", amount, number=True),
                                  "username": str(body.get("username", ""))[:120], "test": self.nodeid, "why": why,
                                  "answer": "not answered", "status": None, "created": False, "timeline": [],
                                  # What the request really was: its method and its number among this
                                  # process's requests of that method (a link has no external_id of its own).
                                  "method": endpoint,
                                  "request": 1 + sum(1 for r in bound.payments if r.get("method") == endpoint),
                                  "final_within": write.final_within}
        if bound.receiver is not None and "callback_url" in METHODS[endpoint].optional:
            record["callback_within"] = self.target.callbacks.within if self.target.callbacks else None
            if record["callback_within"] is None:
                del record["callback_within"]
        bound.payments.append(record)
        sent = time.monotonic()
        bound.payment_started.setdefault(record["external_id"], sent)
        resp = self._send(endpoint, content=content, signature=signature, why=why, listed=True, method=method,
                          must_refuse=must_refuse)
        record["answer"] = judge.describe(resp)
        self._event(record, time.monotonic() - sent, f"{endpoint} answered {record['answer']}",
                    {"kind": "answer", "http": resp.status, "success": judge.is_success(resp)})
        data = (resp.json.get("result") or {}).get("data") if judge.is_success(resp) else None
        if isinstance(data, dict):
            record.update(typed_value("status", data.get("status_code")))
            record["created"] = True
        elif METHODS[endpoint].effect == "payment" and not judge.is_success(resp):
            bound.refused.add(record["external_id"])  # a refusal: no callback may name it
        return resp

    @property
    def receiver(self) -> "CallbackReceiver":
        """The run's callback receiver; without a [callbacks] table the test is not applicable."""
        __tracebackhide__ = True
        self.require_write()
        if self._bound.receiver is None:
            self.not_applicable(f"target {self.target.name!r} has no [callbacks] table: the suite receives no "
                                "callbacks (README, 'Callbacks')")
        return self._bound.receiver  # type: ignore[return-value]

    def payments_left(self) -> int:
        """How many more cash-ins this process may send (its share of [write] max_payments)."""
        return max(0, self._bound.payments_allowed - len(self._bound.payments))

    def note_refused(self, external_id: str) -> None:
        """A cash-in this run sent to be refused: no callback may ever name it (PAY-REFUSED-CREATES-NOTHING)."""
        self._bound.refused.add(external_id)

    def refused_external_ids(self) -> frozenset[str]:
        """The external_ids of this process's cash-ins that were refused and never created by another
        (a repeated external_id refused with 1042 names a payment that exists): no callback may name them."""
        created = {r["external_id"] for r in self._bound.payments if r.get("created")}
        return frozenset(self._bound.refused - created)

    def created_payments(self) -> list[dict[str, Any]]:
        """This process's cash-ins that were answered with a success (their last known status)."""
        return [dict(r) for r in self._bound.payments if r.get("created")]

    @staticmethod
    def _event(record: dict[str, Any], moment: float, what: str, detail: dict[str, Any]) -> None:
        """One event on one request's timeline: [seconds after it was sent, the event in words, the
        event as data (``kind``: answer, status or callback) for the report's picture]."""
        timeline = record["timeline"]
        if isinstance(timeline, list) and len(timeline) < 40:
            timeline.append([round(moment, 3), what, detail])
            timeline.sort(key=lambda e: e[0])

    def _timeline(self, external_id: str, what: str, detail: dict[str, Any], at: float | None = None) -> None:
        """An event of the payment ``external_id`` names, in seconds after its first cash-in: on the
        request that created it (else the first that named it), never on requests without an
        external_id of their own ("(none)": each is its own row)."""
        started = self._bound.payment_started.get(external_id)
        if started is None or external_id == "(none)":
            return
        named = [r for r in self._bound.payments if r["external_id"] == external_id]
        record = next((r for r in named if r.get("created")), named[0] if named else None)
        if record is not None:
            self._event(record, (at if at is not None else time.monotonic()) - started, what, detail)

    def note_callbacks(self, external_id: str, deliveries: Iterable[Any]) -> None:
        """A payment's callback deliveries (``receiver.Delivery``) on its timeline, with their intervals
        and the receiver's answers."""
        previous = None
        for n, d in enumerate(deliveries, 1):
            gap = round(d.at - previous, 3) if previous is not None else None
            body = d.json()
            status = body.get("status_code") if isinstance(body, dict) else None
            words = (f"callback #{n}: status {judge.compact_json(status)}, " if status is not None else f"callback #{n}: ") \
                + f"receiver answered {d.answered}" + (f", {gap:.2f} s after the previous" if gap is not None else "")
            self._timeline(external_id, words, {"kind": "callback", "n": n, "answered": d.answered, "gap": gap,
                                                "status": status if isinstance(status, str) else None}, at=d.at)
            previous = d.at

    def note_payment_status(self, external_id: str, status: Any) -> None:
        """The last status the status method reported for a payment this run sent (for the report);
        a status poll joins the timeline when the status changes."""
        for record in self._bound.payments:
            if record["external_id"] == external_id:
                if self._bound.payment_polled.get(external_id, "none") != status:
                    name = TRANSACTION_STATUSES.get(status) if isinstance(status, str) else None
                    self._timeline(external_id, f"status {judge.compact_json(status)}" + (f" ({name})" if name else ""),
                                   {"kind": "status", "status": status if isinstance(status, str) else None})
                self._bound.payment_polled[external_id] = status
                record.pop("status_json", None)
                record.update(typed_value("status", status))

    def payment_status(self, external_id: str) -> tuple["Response", dict[str, Any] | None]:
        """Ask the status method about a payment; (response, result.data when it is a success)."""
        resp = self.send("action/status", self.fields("action/status", external_id=external_id))
        result = resp.json.get("result") if judge.is_success(resp) else None
        data = result.get("data") if isinstance(result, dict) else None
        if isinstance(data, dict):
            self.note_payment_status(external_id, data.get("status_code"))
        return resp, data if isinstance(data, dict) else None

    def leave_unasked(self, external_id: str, low: float = 1.0, high: float = 2.0) -> None:
        """Wait, without asking about it, until a moment drawn for the run (``low``-``high`` s, at most
        half of final_within) after this run's cash-in of the payment: the status method is a read,
        and a payment that progresses only while the suite polls it must not look final in time."""
        write = self.require_write()
        pause = min(self._bound.draws.uniform(low, high), write.final_within / 2)
        sent = self._bound.payment_started.get(external_id)
        if sent is not None:
            time.sleep(max(0.0, sent + pause - time.monotonic()))

    def poll_final(self, external_id: str, within: float, *, since_sent: bool = False
                   ) -> tuple[dict[str, Any] | None, list[tuple[float, Any]]]:
        """Poll the status method until the payment is final or ``within`` seconds pass.

        ``since_sent``: the seconds count from this run's cash-in of the payment, not from now (a
        payment must be final within final_within of being made, whenever the suite first asks).
        Returns the last result.data (None when never a success) and the history of (seconds, status).
        Polls at least once.
        """
        write = self.require_write()
        started = self._bound.payment_started.get(external_id, time.monotonic()) if since_sent else time.monotonic()
        history: list[tuple[float, Any]] = []
        last: dict[str, Any] | None = None
        while True:
            _, data = self.payment_status(external_id)
            elapsed = time.monotonic() - started
            status = data.get("status_code") if data is not None else None
            history.append((round(elapsed, 2), status))
            last = data if data is not None else last
            if status in FINAL_STATUSES or elapsed >= within:
                return last, history
            time.sleep(min(write.poll_interval, max(0.0, within - elapsed)))

    # -- building and signing requests -----------------------------------------------------
    def fields(self, endpoint: str, **overrides: Any) -> dict[str, Any]:
        """Valid request fields for ``endpoint`` (credentials from the target), with overrides.

        An override of ``None`` drops the field.
        """
        unknown = self.unknown_username if endpoint == "user/check" else self.unknown_external_id
        fields: dict[str, Any] = {**self.target.request_fields(endpoint, unknown), **overrides}
        return {k: v for k, v in fields.items() if v is not None}

    def encode(self, fields: Mapping[str, Any]) -> bytes:
        """The bytes the documents' Go client would send for these fields (struct order, Go escaping)."""
        return signer.go_struct_body(dict(fields))

    def sign(self, content: bytes, variant: signer.Variant | None = None) -> str:
        """The correct X-Signature for ``content`` (under the target's signing variant by default)."""
        return signer.sign(content, self._secret.reveal(), variant or self.variant).signature

    def sign_prepended(self, content: bytes) -> str:
        """A wrong signature: SHA-256 of secret + base64 instead of base64 + secret."""
        canon = signer.sign(content, "", self.variant)
        import hashlib

        return hashlib.sha256((self._secret.reveal() + canon.base64).encode()).hexdigest()

    def sign_raw_bytes(self, content: bytes) -> str:
        """A wrong signature: over the bytes as sent instead of the canonical form."""
        return signer.signature_of_canonical(content, self._secret.reveal())

    @staticmethod
    def sign_with_secret(content: bytes, secret: str) -> str:
        """A signature under some other (non-secret) key, e.g. a wrong secret."""
        return signer.sign(content, secret).signature

    def deliver(self, content: bytes, signature: str | None) -> "Response":
        """POST one Payment System Callback to the integrator's receiver (a [receiver] target): the
        bytes as given, with this X-Signature (none when None). Bounded like every request (the
        client's deadline is [receiver] timeout, the answer read up to its byte cap); trouble
        raises HarnessError for the caller to judge or report."""
        invariant(self.target.receiver is not None, "deliver() on a target without a [receiver] table")
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Signature"] = signature
        return self._bound.client.request("POST", "", content=content, headers=headers)

    def send(self, endpoint: str, fields: Mapping[str, Any] | None = None, *, content: bytes | None = None,
             signature: Any = SIGN, headers: Mapping[str, str] | None = None, method: str = "POST",
             path: str | None = None, why: str | None = None, must_refuse: str | None = None) -> "Response":
        """Send one request; a hang becomes a ROB-RESPONSE-TIME failure once the target has answered before.

        A method with side effects (a confirmation, sent here; cash-ins and links go through
        :meth:`pay`) is journaled before it leaves and when its answer comes (``why``: for the journal).

        ``must_refuse``: what is wrong with a request the rules say must be refused (e.g. "a body
        that is not JSON"). If the target drops the connection instead of answering it, and a valid
        request sent right after is served, the drop is ROB-NO-CRASH failed with that evidence
        (:meth:`_attribute_drop`); only when the valid request fails too is it harness trouble.
        """
        __tracebackhide__ = True
        return self._send(endpoint, fields, content=content, signature=signature, headers=headers, method=method,
                          path=path, why=why, must_refuse=must_refuse)

    def _send(self, endpoint: str, fields: Mapping[str, Any] | None = None, *, content: bytes | None = None,
              signature: Any = SIGN, headers: Mapping[str, str] | None = None, method: str = "POST",
              path: str | None = None, why: str | None = None, listed: bool = False,
              must_refuse: str | None = None) -> "Response":
        """:meth:`send`; ``listed``: a request :meth:`pay` counts and lists for the report."""
        __tracebackhide__ = True
        if content is None:
            content = self.encode(fields if fields is not None else self.fields(endpoint))
        sent: dict[str, str] = {"Content-Type": "application/json"}
        if signature is SIGN:
            sent["X-Signature"] = self.sign(content)
        elif signature is not None:
            sent["X-Signature"] = signature
        for name, value in (headers or {}).items():
            sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
            if value is not None:
                sent[name] = value
        bound = self._bound
        if bound.breaker:
            bound.refuse_after_breaker()
        journaled = self._journal_sent(endpoint, content, why, listed)
        try:
            resp = bound.client.request(method, path or ENDPOINTS[endpoint], content=content, headers=sent)
        except HarnessError as exc:
            if journaled is not None:
                self._journal().answered(journaled, target=self.target.name, base_url=self.target.base_url,
                                         resp=None, error=f"{exc.kind}: {exc}")
            bound.note_failure(exc)
            # A status line followed by a stall is an answer that never completes: judged, not harness trouble.
            started = exc.exchange is not None and exc.exchange.status is not None
            if exc.kind == "timeout" and (bound.answered or started):
                self.check(False, "ROB-RESPONSE-TIME",
                           f"expected a complete answer within {self.settings.timeout:g} s, observed: {exc}")
            if must_refuse is not None and exc.kind in DROPPED:
                self._attribute_drop(endpoint, must_refuse, exc)
            raise
        if journaled is not None:
            self._journal().answered(journaled, target=self.target.name, base_url=self.target.base_url, resp=resp)
        bound.note_answer()
        self.check(resp.elapsed <= self.settings.timeout, "ROB-RESPONSE-TIME",
                   f"expected a complete answer within {self.settings.timeout:g} s, observed one in {resp.elapsed:.2f} s")
        return resp

    def _attribute_drop(self, endpoint: str, what: str, exc: HarnessError) -> None:
        """A request that must be refused was answered by a dropped connection: send a valid,
        read-only request right away; served, the drop was the gateway falling over on that request
        (ROB-NO-CRASH failed); not served, return and let the harness error stand (setup, network)."""
        __tracebackhide__ = True
        probe = endpoint if not METHODS[endpoint].writes else next(n for n, m in METHODS.items() if not m.writes)
        content = self.encode(self.fields(probe))
        try:
            resp = self._bound.client.request("POST", ENDPOINTS[probe], content=content,
                                              headers={"Content-Type": "application/json",
                                                       "X-Signature": self.sign(content)})
        except HarnessError:
            return
        if not judge.passed_signature_check(resp):
            return
        self._bound.note_answer()
        self.check(False, "ROB-NO-CRASH",
                   f"expected an answer (an error envelope) to {what} on {endpoint}, observed the connection "
                   f"dropped ({exc}); a valid {probe} request sent right after was served ({judge.describe(resp)}), "
                   "so the gateway fell over on this request")

    def _journal(self) -> "RunJournal":
        journal = self._run.journal
        invariant(journal is not None, "a journaled request without a journal")
        return journal  # type: ignore[return-value]

    def _journal_sent(self, endpoint: str, content: bytes, why: str | None, listed: bool) -> str | None:
        """Before a request with side effects leaves: its journal line, on disk (None: nothing to
        journal). A journal that cannot be written stops the request: no payment goes unrecorded."""
        method = METHODS.get(endpoint)
        if method is None or not method.writes or self._run.journal is None:
            return None
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else {}
        try:
            return self._run.journal.sent(target=self.target.name, base_url=self.target.base_url, method=endpoint,
                                          body=body, why=why or method.effect or endpoint, test=self.nodeid,
                                          listed=listed)
        except OSError as exc:
            raise HarnessError("setup", f"not sent: cannot write the payments journal {self._run.journal.path} "
                                        f"({exc.strerror or exc}); fix the path or pass --agws-journal PATH") from None

    def require_served(self, endpoint: str, fields: Mapping[str, Any] | None = None, *,
                       success: bool = False) -> Any:
        """Precondition of every "must be refused" check: the same request, correctly signed, is served.

        A refusal is evidence only from a gateway that serves the good request; without this, a
        gateway that refuses everything would pass every rejection check. With ``success``, the
        good request must be a success (scope checks need a known account or payment). Judged once
        per run and request (cached per target), and failing as the positive rule it rests on.
        Returns the good request's parsed answer (a scope check searches refusals for its data).
        """
        __tracebackhide__ = True
        fields = dict(fields if fields is not None else self.fields(endpoint))
        key = (endpoint, self.encode(fields))
        if key not in self._bound.served:
            resp = (self.pay(fields, endpoint=endpoint, why="precondition: served correctly signed")
                    if METHODS[endpoint].writes else self.send(endpoint, fields))
            self._bound.served[key] = (judge.passed_signature_check(resp), judge.is_success(resp), judge.describe(resp),
                                       resp.json)
        served, succeeded, observed, body = self._bound.served[key]
        if success:
            self.check(succeeded, METHODS[endpoint].found,
                       "precondition: expected the same request with this target's credentials, "
                       f"correctly signed, to succeed, observed {observed}")
        else:
            self.check(served, "SIG-ACCEPT-GO-BODY", "precondition: expected the same request, correctly signed, "
                                                     f"to be served (a success or a documented expected error), observed {observed}")
        return body

    def stable_unknown(self, endpoint: str) -> str:
        """One unknown identifier per endpoint for the whole run (so preconditions on it are cached)."""
        unknowns = self._bound.stable_unknowns
        if endpoint not in unknowns:
            unknowns[endpoint] = self.unknown_username() if endpoint == "user/check" else self.unknown_external_id()
        return unknowns[endpoint]

    def require_signature_checked_first(self, endpoint: str) -> None:
        """Precondition of reading 1407/1041 as "the signature was accepted": the target refuses a
        badly signed request for an unknown identifier with 1014 (SIG-BEFORE-LOOKUP) instead of
        looking the identifier up first. Judged once per run and endpoint."""
        __tracebackhide__ = True
        cache = self._bound.signature_first
        if endpoint not in cache:
            lookup = LOOKUP_FIELDS[endpoint]
            content = self.encode(self.fields(endpoint, **{lookup: self.stable_unknown(endpoint)}))
            resp = self.send(endpoint, content=content, signature=self.sign_with_secret(content, _NOT_THE_SECRET))
            cache[endpoint] = (not judge.passed_signature_check(resp), judge.describe(resp))
        ok, observed = cache[endpoint]
        self.check(ok, "SIG-BEFORE-LOOKUP", f"precondition: expected a badly signed {endpoint} request naming an "
                                            f"unknown {LOOKUP_FIELDS[endpoint]} to be refused with 1014, observed it "
                                            f"looked up: {observed}")

    # -- judging ---------------------------------------------------------------------------
    def _finding(self, requirement: str, ok: bool | None, message: str) -> Finding:
        catalogue = load_catalogue()
        if requirement not in catalogue.requirements:
            raise KeyError(f"unknown requirement {requirement!r}: add it to schemas/requirements.json")
        # Capture-time redaction: a gateway may echo anything, the secret included, into what we quote.
        message = self._run.redactor(message)
        finding = Finding(requirement, catalogue.requirements[requirement].level, ok, message)
        if ok is True:  # one pass per requirement is enough evidence; generated tests judge thousands
            if requirement in self._seen_passes:
                return finding
            self._seen_passes.add(requirement)
        if len(self.findings) < 500:
            self.findings.append(finding)
        return finding

    def check(self, ok: bool, requirement: str, message: str) -> bool:
        """Judge one rule; a MUST violation fails the test at once, SHOULD is a warning."""
        __tracebackhide__ = True
        finding = self._finding(requirement, bool(ok), message)
        if not ok and finding.level == "MUST":
            raise ConformanceFailure(finding)
        return bool(ok)

    def observe(self, requirement: str, message: str) -> None:
        """Record an INFO observation: reported, never judged."""
        self._finding(requirement, None, message)

    def judge(self, checks: Iterable[judge.Check]) -> bool:
        """Record every check, then fail with all MUST violations together."""
        __tracebackhide__ = True
        failed: list[Finding] = []
        for c in checks:
            f = self._finding(c.requirement, c.ok, c.message)
            if c.ok is False and f.level == "MUST":
                failed.append(f)
        if failed:
            if len(failed) == 1:
                raise ConformanceFailure(failed[0])
            first = failed[0]
            merged = Finding(first.requirement, "MUST", False,
                             first.message + "".join(f"\n[{f.requirement}] {f.message}" for f in failed[1:]))
            raise ConformanceFailure(merged)
        return True

    def expect_success(self, resp: "Response", *, requirement: str, schema: str, schema_requirement: str) -> dict:
        __tracebackhide__ = True
        self.judge(judge.success(resp, requirement=requirement, schema=schema, schema_requirement=schema_requirement,
                                 strict=self.settings.strict))
        return resp.json["result"]

    def expect_expected_error(self, resp: "Response", *, code: int, requirement: str, endpoint: str | None = None) -> None:
        """An expected error in the declared format; with ``auto``, the format must not change within the run.

        ``endpoint``: a method with its own error format (Make a payment: always the old one,
        ERRATUM-CASH-IN-ERROR-FORMAT) is judged in that format instead of the target's.
        """
        __tracebackhide__ = True
        own = METHODS[endpoint].error_format if endpoint is not None else "target"
        declared = self.error_format if own == "target" else own
        checks, fmt = judge.expected_error(resp, code=code, declared=declared, requirement=requirement,
                                           strict=self.settings.strict)
        if fmt is not None and own != "target" and fmt != own:
            checks.append(judge.Check(requirement, False, f"expected error {code} in the {own} error format "
                                                          f"{endpoint} always uses, observed the {fmt} format"))
        if fmt is not None and own == "target":
            seen = self._bound.error_formats.setdefault(str(code), {})
            seen.setdefault(fmt, self.nodeid)
            self._bound.observations["error_format"] = format_note(self._bound.error_formats)
            checks.append(judge.Check("ERR-FORMAT-CONSISTENT", len(seen) == 1,
                                      f"expected one error format for error {code} within the run, observed "
                                      + ", ".join(f"{k} (first in {v})" for k, v in seen.items())))
            checks.append(judge.Check("ERR-FORMAT-OBSERVED", None, f"error {code} came back in the {fmt} format"))
        self.judge(checks)

    def expect_unexpected_error(self, resp: "Response", *, code: int | None, requirement: str) -> None:
        __tracebackhide__ = True
        self.judge(judge.unexpected_error(resp, code=code, requirement=requirement, strict=self.settings.strict))

    def expect_refused(self, resp: "Response", *, requirement: str, proxy_page: bool = False) -> None:
        __tracebackhide__ = True
        self.judge(judge.refused(resp, requirement=requirement, proxy_page=proxy_page))

    @property
    def shared(self) -> dict[str, Any]:
        """Per target and run: what one test established for others (e.g. the run's first payment)."""
        return self._bound.shared

    def note(self, key: str, value: str) -> None:
        """A run-level fact for the report's identity block (e.g. the canonicalization fingerprint)."""
        self._bound.observations[key] = value


JSON_TEXT_CAP = 200
"""A value recorded as its JSON text is cut to this many characters (a report, not a replay)."""


def typed_value(name: str, value: Any, *, number: bool = False) -> dict[str, Any]:
    """``{name: value}`` when ``value`` has the summary's type for it (a finite number, or a string;
    None stays None), else ``{name: None, name_json: its JSON text}``.

    A generated invalid payment sends an amount that is a boolean, a string or an object, and a
    gateway may answer any status_code: the summary records what was, typed for the summary
    (``schemas/report-summary.schema.json``), never a value its own gate would refuse.
    """
    if value is None:
        return {name: None}
    if number and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return {name: value}
    if not number and isinstance(value, str):
        return {name: value}
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=repr)
    except (ValueError, RecursionError):
        text = repr(value)
    return {name: None, f"{name}_json": text[:JSON_TEXT_CAP]}
