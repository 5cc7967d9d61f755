"""The mock's Payment System Callback: once a payment with a callback_url is final, POST it there.

The body is what the Callback page's Response table and example show (no envelope: project,
service_code, external_id, status_code, status_message, amount, datetime, username, and fail_reason
for status "4"), rendered as a Go server renders a map and signed like a request (X-Signature with
the project secret, ERRATUM-CALLBACK-SECRET). Delivery follows the documented backoff in the terms
of the library the acquiring page names (cenkalti/backoff): initial interval 0.5 s, randomisation
factor 0.5, multiplier 1.5, at most 60 s apart, for at most 10 minutes, until an HTTP 200. Every
timing is multiplied by ``time_scale`` so the project's tests stay fast.

A variation may also call back the status a payment has when it is created (an intermediate one,
"7" or "1") before its final one; each status is delivered with its own backoff, until its own 200.
"""

from __future__ import annotations

import asyncio
import functools
import random
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from agws_conformance import signer
from agws_conformance.endpoints import FINAL_STATUSES, TRANSACTION_STATUSES
from agws_conformance.mock.ledger import Entry, Ledger

INITIAL_INTERVAL = 0.5
RANDOMIZATION = 0.5
MULTIPLIER = 1.5
MAX_INTERVAL = 60.0
MAX_ELAPSED = 600.0
REQUEST_TIMEOUT = 10.0


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every delivery: httpx builds a new one per client otherwise, loading
    the CA bundle each time (13 % of a whole suite run's CPU against the embedded mock)."""
    return ssl.create_default_context()


@dataclass(frozen=True)
class CallbackRules:
    """How the mock calls back; the clean mock is ``CallbackRules()``, faults swap one field."""

    signing: str = "good"  # "good", "other-secret", "other-body" (signed over another body than sent)
    retry: bool = True  # retry after an answer other than 200
    stop_after_200: bool = True  # stop at the first 200 (a fault keeps going twice more)
    on_expiry: bool = True  # call back when a lifetime expiry fails the payment
    status_override: str | None = None  # report this status_code instead of the payment's
    retry_signature: str | None = None  # retries carry this X-Signature instead of the first delivery's (a fault)
    intermediate: bool = False  # also call back the status a payment has when created, before its final one
    call_back_refused: bool = False  # a cash-in refused for its signature is still called back (a fault)


def payment_callback(*, project: str, service_code: str, external_id: str, status_code: str, username: str,
                     amount: float, at: str, fail_reason: dict[str, Any] | None = None) -> dict[str, Any]:
    """One callback body as the Callback page's example shows it (no envelope, no agent), in the
    order a Go map renders anyway; ``fail_reason`` goes with status "4" only. The one shape both
    the mock (through its ledger) and the suite's sender to an integrator's receiver use."""
    body: dict[str, Any] = {
        "status_code": status_code,
        "status_message": TRANSACTION_STATUSES[status_code],
        "username": username,
        "amount": amount,
        "datetime": at,
        "project": project,
        "service_code": service_code,
        "external_id": external_id,
    }
    if status_code == "4":
        body["fail_reason"] = fail_reason or {"code": 100, "message": "Unknown reason, clarification required"}
    return body


def signed_callback(body: dict[str, Any], secret: str, variant: signer.Variant) -> tuple[bytes, str]:
    """The bytes a callback carries and their X-Signature: rendered as a Go server renders a map,
    signed like a request with the project secret (ERRATUM-CALLBACK-SECRET)."""
    content = signer.canonical_from_value(body, variant)
    return content, signer.sign(content, secret, variant).signature


def callback_body(ledger: Ledger, entry: Entry, rules: CallbackRules) -> dict[str, Any]:
    body = ledger.data(entry)
    if rules.status_override is not None:
        body["status_code"] = rules.status_override
    return body


class CallbackSender:
    """Schedules one delivery task per payment that named a callback_url (on the server's loop)."""

    def __init__(self, ledger: Ledger, secret: str, variant: signer.Variant, rules: CallbackRules,
                 time_scale: float = 1.0) -> None:
        self.ledger = ledger
        self.secret = secret
        self.variant = variant
        self.rules = rules
        self.scale = time_scale
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, entry: Entry, url: str) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(entry, url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _final(self, entry: Entry) -> str | None:
        """The payment's final status, once it has one (None: it never became final in time)."""
        give_up = self.ledger.clock() + (self.ledger.lifetime or 0) + self.ledger.settle_seconds + MAX_ELAPSED * self.scale
        while self.ledger.clock() < give_up:
            code, _ = self.ledger.status(entry)
            if code in FINAL_STATUSES:
                return code
            await asyncio.sleep(0.02)
        return None

    async def _deliver(self, entry: Entry, url: str) -> None:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, follow_redirects=False, verify=_tls()) as client:
            if self.rules.intermediate and self.ledger.status(entry)[0] not in FINAL_STATUSES:
                await self._send(client, url, callback_body(self.ledger, entry, self.rules))
            code = await self._final(entry)
            if code is None or (entry.expiring and code == "4" and not self.rules.on_expiry):
                return
            await self._send(client, url, callback_body(self.ledger, entry, self.rules))

    def _signed(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        secret = self.secret if self.rules.signing != "other-secret" else self.secret + "-not-it"
        content, signature = signed_callback(body, secret, self.variant)
        if self.rules.signing == "other-body":
            _, signature = signed_callback({**body, "amount": body["amount"] + 1}, secret, self.variant)
        return content, {"Content-Type": "application/json", "X-Signature": signature}

    async def _send(self, client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
        """Deliver one callback body with the backoff until a 200 (or the rules say stop)."""
        content, headers = self._signed(body)
        interval, elapsed, extra = INITIAL_INTERVAL * self.scale, 0.0, 0
        while True:
            try:
                ok = (await client.post(url, content=content, headers=headers)).status_code == 200
            except httpx.HTTPError:  # a receiver that is down or resets: retried like a 500
                ok = False
            if self.rules.retry_signature is not None:
                headers = {**headers, "X-Signature": self.rules.retry_signature}
            if ok:
                if self.rules.stop_after_200 or extra >= 2:
                    return
                extra += 1
            elif not self.rules.retry:
                return
            delay = interval * (1 + random.uniform(-RANDOMIZATION, RANDOMIZATION))
            if elapsed + delay > MAX_ELAPSED * self.scale:
                return
            await asyncio.sleep(delay)
            elapsed += delay
            interval = min(interval * MULTIPLIER, MAX_INTERVAL * self.scale)
