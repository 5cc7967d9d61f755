"""The other side: an integrator's callback receiver, judged by the suite as a signed sender.

Runs only for a target file with a ``[receiver]`` table (every other suite test is then not
applicable, and these are not applicable to a gateway). The suite POSTs Payment System Callbacks
shaped and signed as the Callback page documents (``mock.callbacks``) about the one payment the
file names, and judges the answers: a genuine final callback answered 200 within the sender's
timeout (RCV-ACK-200), the same callback again answered 200 again (RCV-ACK-REPEAT), forged ones not
answered 200 (RCV-REJECTS-UNSIGNED), and callbacks for an unknown payment or an unexpected status
answered without a crash (RCV-UNKNOWN-ID, RCV-UNEXPECTED-STATUS). Whether a repeat was credited
twice cannot be seen from here: the report says so (RCV-CREDITS-ONCE).

The forged callbacks go first (module order): a receiver may answer a repeat of what it already
credited with 200 without crediting, so they are judged before it has the genuine one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from agws_conformance import signer
from agws_conformance.client import HarnessError
from agws_conformance.endpoints import FINAL_STATUSES, TRANSACTION_STATUSES
from agws_conformance.mock.callbacks import payment_callback

pytestmark = pytest.mark.receiver

UNEXPECTED = tuple(s for s in TRANSACTION_STATUSES if s not in FINAL_STATUSES)
"""Documented statuses that are not final: a gateway may call them back (ERRATUM-CALLBACK-INTERMEDIATE)."""


JUDGED_TROUBLE = ("timeout", "connection-reset", "protocol", "closed-during-upload")
"""What a receiver did instead of answering, judged as no answer (the others: setup, harness)."""


@dataclass(frozen=True)
class Answer:
    """What the receiver did with one delivery: its HTTP status, or why there was none in time."""

    status: int | None
    elapsed: float
    trouble: str | None = None  # "no answer within 10 s", "connection reset", ...

    def __str__(self) -> str:
        return f"HTTP {self.status} in {self.elapsed:.2f} s" if self.status is not None else str(self.trouble)


def deliver(agws, content: bytes, signature: str | None) -> Answer:
    """One delivery. A receiver that once answered and now misses the deadline or drops the
    connection has given the sender no 200: that is judged. One never reached (refused, DNS, TLS)
    is a setup problem and stays a harness error."""
    __tracebackhide__ = True
    try:
        resp = agws.deliver(content, signature)
    except HarnessError as exc:
        if exc.kind not in JUDGED_TROUBLE:
            raise
        return Answer(None, agws.target.receiver.timeout, f"no answer ({exc.kind}: {str(exc)[:200]})")
    return Answer(resp.status, resp.elapsed)


def callback(agws, *, external_id: str | None = None, status_code: str | None = None, **changes: Any) -> dict[str, Any]:
    """The callback body for the [receiver] payment (or another external_id / status)."""
    known = agws.target.receiver
    body = payment_callback(project=agws.target.project, service_code=agws.target.service_code,
                            external_id=external_id or known.external_id, status_code=status_code or known.status_code,
                            username=known.username, amount=known.amount,
                            at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return {**body, **changes}


def encode(agws, body: dict[str, Any]) -> bytes:
    """The bytes a Go gateway sends for this body (its map rendering, the target's variant)."""
    return signer.canonical_from_value(body, agws.variant)


def acknowledged(answer: Answer, timeout: float) -> bool:
    return answer.status == 200 and answer.elapsed <= timeout


GENUINE = "receiver: genuine final callback delivered"
"""Set in ``agws.shared`` once this process has delivered the payment's genuine final callback:
every later one is a repeat to the receiver, whichever test sends it."""


def require_acknowledged(agws, content: bytes, what: str) -> Answer:
    """A genuine final callback answered 200 in time: RCV-ACK-200 the first time in the run, and
    RCV-ACK-REPEAT after (the receiver has had it). Also the precondition of every refusal check."""
    __tracebackhide__ = True
    timeout = agws.target.receiver.timeout
    repeat = bool(agws.shared.get(GENUINE))
    agws.shared[GENUINE] = True
    answer = deliver(agws, content, agws.sign(content))
    agws.check(acknowledged(answer, timeout), "RCV-ACK-REPEAT" if repeat else "RCV-ACK-200",
               f"expected HTTP 200 within {timeout:g} s ([receiver] timeout) to {what}"
               + (" (a repeat: delivered before in this run)" if repeat else "") + f", observed {answer}")
    return answer


@pytest.mark.requirement("RCV-REJECTS-UNSIGNED", "RCV-ACK-200", "RCV-ACK-REPEAT")
def test_forged_callbacks_not_acknowledged(agws) -> None:
    """Four forgeries of the payment's final callback: X-Signature missing, empty, under another key,
    and a body changed (the amount) after signing. None may be answered 200; then the genuine one
    must be (else a receiver that answers nothing 200 would pass)."""
    body = callback(agws)
    content = encode(agws, body)
    changed = encode(agws, {**body, "amount": body["amount"] + 1})
    forgeries = {
        "no X-Signature": (content, None),
        "an empty X-Signature": (content, ""),
        "an X-Signature under another key": (content, agws.sign_with_secret(content, secrets.token_urlsafe(24))),
        "a body changed after signing (amount + 1)": (changed, agws.sign(content)),
    }
    answers = {what: deliver(agws, data, signature) for what, (data, signature) in forgeries.items()}
    require_acknowledged(agws, content, f"the genuine final callback for {body['external_id']!r} (after the forgeries)")
    taken = [what for what, answer in answers.items() if answer.status == 200]
    agws.check(not taken, "RCV-REJECTS-UNSIGNED",
               f"expected no HTTP 200 to a callback for {body['external_id']!r} with a missing, empty or wrong "
               f"signature or a changed body (a receiver that credits it lets anyone mark a payment paid), observed "
               + "; ".join(f"{what}: {answer}" for what, answer in answers.items()))


@pytest.mark.requirement("RCV-ACK-200", "RCV-ACK-REPEAT")
def test_final_callback_acknowledged(agws) -> None:
    """The payment's final callback, correctly signed: answered 200 within the sender's timeout
    (judged as a repeat when an earlier test of the run delivered it first)."""
    body = callback(agws)
    require_acknowledged(agws, encode(agws, body), f"the final callback (status {body['status_code']!r}) for "
                                                   f"{body['external_id']!r}")


@pytest.mark.requirement("RCV-ACK-REPEAT", "RCV-CREDITS-ONCE", "RCV-ACK-200")
def test_repeated_callback_acknowledged_again(agws) -> None:
    """The gateway retries a callback until it gets 200, so the same one can arrive again: each
    repeat of the same signed bytes is answered 200 again. Crediting twice is not visible here."""
    body = callback(agws)
    content = encode(agws, body)
    timeout = agws.target.receiver.timeout
    require_acknowledged(agws, content, f"the final callback for {body['external_id']!r}")
    repeats = [deliver(agws, content, agws.sign(content)) for _ in range(2)]
    agws.check(all(acknowledged(a, timeout) for a in repeats), "RCV-ACK-REPEAT",
               f"expected HTTP 200 within {timeout:g} s to each of 2 repeats of the final callback for "
               f"{body['external_id']!r} (else the gateway retries it for 10 minutes), observed "
               + ", ".join(map(str, repeats)))
    agws.observe("RCV-CREDITS-ONCE", f"the final callback for {body['external_id']!r} was delivered 3 times; whether "
                                     "the receiver credited the payment more than once cannot be seen by the sender: "
                                     "check the receiver's own records for one credit")


def no_crash(answer: Answer, timeout: float) -> bool:
    return answer.status is not None and answer.status < 500 and answer.elapsed <= timeout


def note(answer: Answer) -> str:
    return "" if answer.status == 200 else " (anything but 200 makes the gateway retry it for 10 minutes)"


@pytest.mark.requirement("RCV-UNKNOWN-ID")
def test_unknown_payment_answered(agws) -> None:
    """A correctly signed final callback for an external_id the receiver cannot know: answered in
    time with a status below 500 (acknowledged and ignored, or a 4xx), never a crash."""
    external_id = f"agws-unknown-{secrets.token_hex(8)}"
    content = encode(agws, callback(agws, external_id=external_id))
    timeout = agws.target.receiver.timeout
    answer = deliver(agws, content, agws.sign(content))
    agws.check(no_crash(answer, timeout), "RCV-UNKNOWN-ID",
               f"expected an answer below 500 within {timeout:g} s to a signed callback for the unknown "
               f"{external_id!r}, observed {answer}{note(answer)}")


@pytest.mark.requirement("RCV-UNEXPECTED-STATUS")
def test_unexpected_status_answered(agws) -> None:
    """Correctly signed callbacks for the known payment with each documented non-final status (a
    gateway may call those back): each answered in time with a status below 500."""
    timeout = agws.target.receiver.timeout
    answers = {}
    for status in UNEXPECTED:
        content = encode(agws, callback(agws, status_code=status))
        answers[status] = deliver(agws, content, agws.sign(content))
    agws.check(all(no_crash(a, timeout) for a in answers.values()), "RCV-UNEXPECTED-STATUS",
               f"expected an answer below 500 within {timeout:g} s to a signed callback for "
               f"{agws.target.receiver.external_id!r} with each non-final status, observed "
               + "; ".join(f"status {s!r}: {a}{note(a)}" for s, a in answers.items()))
