"""The mock's receiver mode: an integrator's callback receiver, correct or with one fault.

The receiver profile of the suite (``suites/test_receiver.py``, a target file with a ``[receiver]``
table) sends Payment System Callbacks and judges the answers; this is what proves each of its
checks. The correct receiver verifies X-Signature over the body it got (with the project secret,
under either Go signing variant), answers 401 to a missing or wrong one, credits the known
payment once on its final callback and answers 200 to every repeat, and acknowledges a callback
for a payment it does not know or with a status it does not expect (200, logged) instead of
failing. Each fault (``RECEIVER_FAULTS``) breaks exactly one of those, naming the requirements.

Receiver faults do not fit the gateway's ``Behaviour`` hooks (they judge a request instead of
answering one), so they have their own small registry here. The bounds on what the receiver reads
are those of the suite's own receiver (``agws_conformance.receiver``), which this extends.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from agws_conformance import signer
from agws_conformance.endpoints import FINAL_STATUSES
from agws_conformance.errors import UnknownFaultError, did_you_mean
from agws_conformance.receiver import DEFAULT_PATH, CallbackReceiver

SLOW_SECONDS = 11.0
"""How long the ``slow`` fault takes over a callback: beyond the mock gateway's 10 s client
timeout (``mock.callbacks.REQUEST_TIMEOUT``), times ``time_scale``."""

VARIANTS = (signer.Variant(), signer.Variant(legacy_escapes=True))
"""A receiver written in Go verifies under its own Go's escapes; either is a correct signature."""


@dataclass(frozen=True)
class ReceiverFault:
    """One deviation of an integrator's receiver; ``breaks``: the requirement IDs it violates."""

    name: str
    description: str
    breaks: tuple[str, ...]


RECEIVER_FAULTS: dict[str, ReceiverFault] = {f.name: f for f in (
    ReceiverFault("accepts-unsigned", "checks no signature: credits a callback with a missing, empty or wrong "
                                      "X-Signature, or a body changed after signing", ("RCV-REJECTS-UNSIGNED",)),
    ReceiverFault("signature-present-only", "checks only that X-Signature is there and not empty, not that it "
                                            "signs the body", ("RCV-REJECTS-UNSIGNED",)),
    ReceiverFault("500-on-repeat", "answers 500 to a final callback it has already credited (a duplicate-key "
                                   "error), so the gateway retries it for 10 minutes", ("RCV-ACK-REPEAT",)),
    ReceiverFault("slow", f"credits synchronously: answers a final callback after {SLOW_SECONDS:g} s (times "
                          "time_scale), when the gateway's client has given up", ("RCV-ACK-200",)),
    ReceiverFault("crash-on-unknown", "answers 500 to a signed callback for an external_id it does not know",
                  ("RCV-UNKNOWN-ID",)),
    ReceiverFault("crash-on-status", "answers 500 to a signed callback with a status it does not expect (not the "
                                     "known payment's final one)", ("RCV-UNEXPECTED-STATUS",)),
)}


def receiver_faults(names: Iterable[str]) -> frozenset[str]:
    """The named faults, checked against the registry (one clear error for a typo)."""
    out = frozenset(names)
    unknown = sorted(out - set(RECEIVER_FAULTS))
    if unknown:
        raise UnknownFaultError(f"unknown receiver fault {unknown[0]!r}; {did_you_mean(unknown[0], RECEIVER_FAULTS)}"
                                    f"choose from {', '.join(sorted(RECEIVER_FAULTS))}")
    return out


class MockReceiver(CallbackReceiver):
    """The suite's bounded receiver, answering as an integrator's receiver would (see the module)."""

    def __init__(self, *, secret: str, known: Iterable[str], faults: Iterable[str] = (), time_scale: float = 1.0,
                 log: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("path", DEFAULT_PATH)
        kwargs.setdefault("read_timeout", 5.0)
        super().__init__(**kwargs)
        self._secret = secret
        self.known = frozenset(known)
        self.faults = receiver_faults(faults)
        self.time_scale = time_scale
        self._log = log
        self._credits: dict[str, int] = {}
        self._credit_lock = threading.Lock()

    def credits(self, external_id: str) -> int:
        """How many times the known payment was credited (a correct receiver: at most once)."""
        with self._credit_lock:
            return self._credits.get(external_id, 0)

    def _signed(self, headers: dict[str, str], body: bytes) -> bool:
        got = headers.get("x-signature", "")
        if "accepts-unsigned" in self.faults:
            return True
        if "signature-present-only" in self.faults:
            return bool(got.strip())
        try:
            return any(hmac.compare_digest(got.lower(), signer.sign(body, self._secret, v).signature) for v in VARIANTS)
        except signer.SignerError:  # not a JSON object Go would read: no signature can be right
            return False

    async def respond(self, headers: dict[str, str], body: bytes, external_id: str | None) -> int:
        status, why = await self._judge(headers, body, external_id)
        if self._log is not None:  # never a header or a body: the status and why
            self._log(f"receiver: {status} ({why})")
        return status

    async def _judge(self, headers: dict[str, str], body: bytes, external_id: str | None) -> tuple[int, str]:
        if not self._signed(headers, body):
            return 401, "signature missing or wrong"
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or external_id is None:
            return 400, "not a callback body"
        if external_id not in self.known:
            return (500, "crash on an unknown external_id") if "crash-on-unknown" in self.faults \
                else (200, "unknown external_id, acknowledged and ignored")
        status = data.get("status_code")
        if status not in FINAL_STATUSES:
            return (500, "crash on an unexpected status") if "crash-on-status" in self.faults \
                else (200, f"status {str(status)[:8]!r} not final, acknowledged")
        with self._credit_lock:
            repeat = self._credits.get(external_id, 0) > 0
            if not repeat:
                self._credits[external_id] = 1
        if repeat:
            return (500, "repeat of a credited callback") if "500-on-repeat" in self.faults \
                else (200, "repeat, acknowledged without crediting again")
        if "slow" in self.faults:
            await asyncio.sleep(SLOW_SECONDS * self.time_scale)
        return 200, "credited"
