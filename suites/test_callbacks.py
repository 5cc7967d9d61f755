"""Payment System Callback: what the gateway POSTs to a payment's callback_url, judged by the
run's own receiver (``agws_conformance.receiver``).

Runs only with both a ``[write]`` table (the callbacks come from payments the suite makes, within
its limits) and a ``[callbacks]`` table (where the receiver listens and the URL the gateway must
call); otherwise each test is not applicable. Timing rules carry the tolerances stated in the
catalogue (ERRATUM-CALLBACK-JITTER) and scale with ``callbacks.time_scale``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from agws_conformance import judge, schemas
from agws_conformance.endpoints import FINAL_STATUSES

AGREEING = ("status_code", "amount", "username", "external_id", "project", "service_code")
FIRST_RETRY = (0.25, 0.75)  # seconds after the first attempt: 500 ms with randomisation factor 0.5
LONGEST = 90.0  # 60 s at most, plus its randomisation
SLACK = 0.25  # seconds of network and scheduling on top of the policy's bounds


def final_delivery(deliveries: list[Any]) -> bool:
    return any((d.json() or {}).get("status_code") in FINAL_STATUSES for d in deliveries if isinstance(d.json(), dict))


def pay_and_settle(agws, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A payment naming the receiver, followed to its final status (PAY-SUCCESS, PAY-FINAL-STATUS
    are the preconditions)."""
    __tracebackhide__ = True
    write = agws.require_write()
    fields = overrides.pop("fields", None) or agws.payment_fields(amount=agws.draw_amount(), **overrides)
    resp = agws.pay(fields, why="called back")
    agws.check(judge.is_success(resp), "PAY-SUCCESS", f"precondition: expected the payment to succeed, observed "
                                                      f"{judge.describe(resp)}")
    within = write.final_within + (write.lifetime or 0)
    final, _ = agws.poll_final(fields["external_id"], within)
    agws.check(final is not None and final.get("status_code") in FINAL_STATUSES, "PAY-FINAL-STATUS",
               f"precondition: expected {fields['external_id']!r} final within {within:g} s, "
               f"observed {(final or {}).get('status_code')!r}")
    return fields, final  # type: ignore[return-value]


def signature_checks(agws, deliveries: list[Any]) -> list[judge.Check]:
    """CB-SIGNATURE on every delivery: the project secret over the body as received."""
    return [judge.Check("CB-SIGNATURE", d.signature is not None and d.signature == agws.sign(d.body),
                        f"expected X-Signature to sign the callback body with the project secret ({agws.variant.name}), "
                        f"observed {d.signature!r} on {d.body[:120]!r}")
            for d in deliveries if isinstance(d.json(), dict)]


def require_reachable(agws, receiver: Any) -> None:
    """A receiver that got no request at all in this run, not even for an ordinary payment made to
    find out, says nothing about the gateway's callbacks: most likely the gateway cannot reach it.
    Reported as a setup problem (the MUST is skipped, the run INCOMPLETE with the fix), never as
    NOT CONFORMANT."""
    __tracebackhide__ = True
    if not receiver.deliveries():
        # Nothing yet (e.g. only this test ran): one ordinary payment, whose callback shows the way works.
        fields, _ = pay_and_settle(agws)
        receiver.wait_for(fields["external_id"], bool, agws.target.callbacks.within)
    if not receiver.deliveries():
        pytest.skip(f"not judged: the callback receiver at {receiver.url} got no request at all in this run; the "
                    "gateway cannot reach it or sends no callbacks: check [callbacks] url and listen (a tunnel or "
                    "firewall between the gateway and this runner?)")


def record_deliveries(agws, external_id: str, deliveries: list[Any]) -> None:
    first = deliveries[0].at if deliveries else 0.0
    trail = ", ".join(f"+{d.at - first:.2f} s -> {d.answered}" for d in deliveries[:12])
    agws.observe("CB-DUPLICATES", f"{len(deliveries)} deliveries for {external_id!r}: {trail or 'none'}")
    agws.note_callbacks(external_id, deliveries)


@pytest.mark.requirement("CB-DELIVERED", "CB-SIGNATURE", "SCH-CALLBACK", "CB-AGREES", "CB-DUPLICATES",
                         "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_callback_for_a_final_payment(agws) -> None:
    """A final payment is called back: signed with the project secret, per the schema, and saying
    what the status method says."""
    receiver, callbacks = agws.receiver, agws.target.callbacks
    fields, final = pay_and_settle(agws)
    external_id = fields["external_id"]
    deliveries = receiver.wait_for(external_id, final_delivery, callbacks.within)
    record_deliveries(agws, external_id, deliveries)
    require_reachable(agws, receiver)
    agws.check(final_delivery(deliveries), "CB-DELIVERED",
               f"expected a callback with the final status for {external_id!r} at {receiver.url} within "
               f"{callbacks.within:g} s ([callbacks] within), observed {len(deliveries)} deliveries"
               + (f" ({', '.join(str(d.json())[:80] for d in deliveries[:2])})" if deliveries else ""))
    last = [d for d in deliveries if isinstance(d.json(), dict)][-1]
    body = last.json()
    problems = schemas.errors("callback", body, strict=False)
    agws.judge([
        *signature_checks(agws, deliveries),
        judge.Check("SCH-CALLBACK", not problems, "expected a callback body valid against callback, observed: "
                    + ("; ".join(problems[:3]) if problems else "valid")),
        *(judge.Check("CB-AGREES", judge.same_amount(body.get(k), final.get(k)) if k == "amount" else body.get(k) == final.get(k),
                      f"expected the callback's {k} to be the status method's {final.get(k)!r} for {external_id!r}, "
                      f"observed {body.get(k, 'no ' + k + ' field')!r}") for k in AGREEING),
    ])


@pytest.mark.requirement("CB-RETRY", "CB-STOPS-AFTER-200", "CB-RETRY-INTERVALS", "CB-DUPLICATES", "PAY-SUCCESS",
                         "PAY-FINAL-STATUS")
def test_callback_retried_until_200(agws) -> None:
    """The receiver answers the first two deliveries with 500: the gateway delivers again, the
    first retry about 0.5 s after the first attempt, and stops once the receiver answers 200."""
    receiver, callbacks = agws.receiver, agws.target.callbacks
    fields = agws.payment_fields(amount=agws.draw_amount())
    external_id = fields["external_id"]
    receiver.plan(external_id, [500, 500])
    pay_and_settle(agws, fields=fields)
    deliveries = receiver.wait_for(external_id, lambda ds: any(d.answered == 200 for d in ds), callbacks.within)
    require_reachable(agws, receiver)
    agws.check(len(deliveries) >= 3, "CB-RETRY",
               f"expected the callback for {external_id!r} delivered again after each 500 (3 deliveries, the third "
               f"answered 200) within {callbacks.within:g} s, observed {len(deliveries)}: "
               + ", ".join(str(d.answered) for d in deliveries))
    stopped_at = next(d.at for d in deliveries if d.answered == 200)
    time.sleep(max(0.0, stopped_at + callbacks.observe - time.monotonic()))
    deliveries = receiver.deliveries(external_id)
    record_deliveries(agws, external_id, deliveries)
    after = [d for d in deliveries if d.at > stopped_at]
    scale = callbacks.time_scale
    low, high = FIRST_RETRY[0] * scale * 0.5, FIRST_RETRY[1] * scale * 1.5 + SLACK
    gaps = [b.at - a.at for a, b in zip(deliveries, deliveries[1:])]
    agws.judge([
        judge.Check("CB-STOPS-AFTER-200", not after,
                    f"expected no delivery for {external_id!r} in the {callbacks.observe:g} s after the receiver "
                    f"answered 200, observed {len(after)}"),
        judge.Check("CB-RETRY-INTERVALS", low <= gaps[0] <= high and max(gaps) <= LONGEST * scale + SLACK,
                    f"expected the first retry {low:.2f}-{high:.2f} s after the first attempt and no gap over "
                    f"{LONGEST * scale:g} s (times time_scale {scale:g}), observed gaps "
                    + ", ".join(f"{g:.2f} s" for g in gaps)),
    ])


@pytest.mark.requirement("CB-EXPIRY", "CB-SIGNATURE", "CB-DUPLICATES", "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_callback_on_lifetime_expiry(agws) -> None:
    """A payment left to expire is called back with status "4" and a fail_reason."""
    receiver, callbacks, write = agws.receiver, agws.target.callbacks, agws.require_write()
    if write.expiring_username is None:
        agws.not_applicable("the [write] table declares no expiring_username and lifetime")
    fields, _ = pay_and_settle(agws, username=write.expiring_username)
    external_id = fields["external_id"]
    deliveries = receiver.wait_for(external_id, final_delivery, callbacks.within)
    record_deliveries(agws, external_id, deliveries)
    require_reachable(agws, receiver)
    bodies = [d.json() for d in deliveries if isinstance(d.json(), dict)]
    expired = [b for b in bodies if b.get("status_code") == "4"]
    agws.judge([
        judge.Check("CB-EXPIRY", bool(expired) and judge.has_reason(expired[-1].get("fail_reason")),
                    f"expected a callback with status \"4\" and a fail_reason for the expired {external_id!r} within "
                    f"{callbacks.within:g} s, observed " + ("; ".join(str(b)[:120] for b in bodies) or "no callback")),
        *signature_checks(agws, deliveries),
    ])
