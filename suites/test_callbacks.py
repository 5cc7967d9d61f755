"""Payment System Callback: what the gateway POSTs to a payment's callback_url, judged by the
run's own receiver (``agws_conformance.receiver``).

Runs only with both a ``[write]`` table (the callbacks come from payments the suite makes, within
its limits) and a ``[callbacks]`` table (where the receiver listens and the URL the gateway must
call); otherwise each test is not applicable. Timing rules carry the tolerances stated in the
catalogue (ERRATUM-CALLBACK-JITTER) and scale with ``callbacks.time_scale``.

Every delivery is judged, retries included (signature, schema, agreement with the status method);
a callback for an intermediate status is allowed (ERRATUM-CALLBACK-INTERMEDIATE), so retries and
repeats are counted per status; and no callback may name a cash-in this run saw refused.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from agws_conformance import judge, schemas
from agws_conformance.endpoints import FINAL_STATUSES, TRANSACTION_STATUSES

pytestmark = pytest.mark.method("action/cash-in")  # what every test here is about (coverage.method_of)

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


def by_status(deliveries: list[Any]) -> dict[str, list[Any]]:
    """The deliveries with a JSON object body, grouped by the status_code they carry, in order: one
    callback is one status of one payment, delivered (and retried) on its own."""
    groups: dict[str, list[Any]] = {}
    for d in deliveries:
        body = d.json()
        if isinstance(body, dict):
            groups.setdefault(repr(body.get("status_code")), []).append(d)
    return groups


def _disagreement(body: dict[str, Any], final: dict[str, Any]) -> str | None:
    """What a delivery says that the status method does not: a final status must be the payment's
    final status with its fields (CB-AGREES); an intermediate one need only be a documented status."""
    status = body.get("status_code")
    if status not in FINAL_STATUSES:
        return None if status in TRANSACTION_STATUSES else f"status_code {status!r} is no documented status"
    for k in AGREEING:
        same = judge.same_amount(body.get(k), final.get(k)) if k == "amount" else body.get(k) == final.get(k)
        if not same:
            return f"{k} {body.get(k, 'absent')!r} where the status method says {final.get(k)!r}"
    return None


def delivery_checks(agws, deliveries: list[Any], final: dict[str, Any]) -> list[judge.Check]:
    """CB-SIGNATURE, SCH-CALLBACK and CB-AGREES on every delivery, retries included: a partner
    verifies each request it gets, not only the first. Nothing is judged without a delivery."""
    found: dict[str, list[str]] = {"CB-SIGNATURE": [], "SCH-CALLBACK": [], "CB-AGREES": []}
    judged = 0
    for n, d in enumerate(deliveries, 1):
        body = d.json()
        if not isinstance(body, dict):
            continue
        judged += 1
        where = f"delivery #{n} (status {body.get('status_code')!r}, answered {d.answered})"
        if d.signature is None or d.signature != agws.sign(d.body):
            found["CB-SIGNATURE"].append(f"{where}: X-Signature {d.signature!r} on {d.body[:120]!r}")
        problems = schemas.errors("callback", body, strict=False)
        if problems:
            found["SCH-CALLBACK"].append(f"{where}: " + "; ".join(problems[:3]))
        disagreement = _disagreement(body, final)
        if disagreement:
            found["CB-AGREES"].append(f"{where}: {disagreement}")
    if not judged:
        return []
    expected = {
        "CB-SIGNATURE": f"X-Signature to sign the callback body with the project secret ({agws.variant.name})",
        "SCH-CALLBACK": "a callback body valid against callback",
        "CB-AGREES": f"a final status with the status method's {', '.join(AGREEING)}, or a documented intermediate "
                     "status",
    }
    return [judge.Check(req, not problems, f"expected {expected[req]} on each of the {judged} deliveries for "
                                           f"{final.get('external_id')!r}, observed "
                                           + ("; ".join(problems[:3]) if problems else "all as expected"))
            for req, problems in found.items()]


def refused_checks(agws, receiver: Any, besides: str = "") -> list[judge.Check]:
    """PAY-REFUSED-CREATES-NOTHING over every delivery the receiver got in this run: none names a
    cash-in this run saw refused (a refused request is not processed, so nothing completes).
    ``besides``: one the caller judges itself."""
    refused = agws.refused_external_ids() - {besides}
    if not refused:
        return []
    named = [d for d in receiver.deliveries() if d.external_id in refused]
    return [judge.Check("PAY-REFUSED-CREATES-NOTHING", not named,
                        f"expected no callback naming any of the {len(refused)} cash-ins this run saw refused, "
                        f"observed {len(named)}: " + "; ".join(f"{d.external_id!r} {d.body[:100]!r}" for d in named[:3]))]


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


@pytest.mark.requirement("PAY-REFUSED-CREATES-NOTHING", "SIG-REJECT-WRONG-SECRET", "CB-DUPLICATES", "PAY-SUCCESS",
                         "PAY-FINAL-STATUS")
def test_no_callback_for_a_refused_payment(agws) -> None:
    """A cash-in signed under another key, naming the receiver as callback_url, is refused: it was
    never processed, so nothing completes and nothing is called back, within ``[callbacks] within``
    of the refusal. Judged only once an ordinary payment's callback has shown that the gateway
    reaches the receiver (else silence proves nothing). First in the module, so that the callback
    tests after it scan their receiver for this refused id too."""
    receiver, callbacks, write = agws.receiver, agws.target.callbacks, agws.require_write()
    fields = agws.payment_fields(amount=min(1.33, write.max_amount))
    external_id, content = fields["external_id"], agws.encode(fields)
    resp = agws.pay(content=content, signature=agws.sign_with_secret(content, secrets.token_urlsafe(24)),
                    why="refused: wrong secret, with a callback_url")
    refused_at = time.monotonic()
    agws.check(not judge.is_success(resp), "SIG-REJECT-WRONG-SECRET",
               f"precondition: expected a cash-in signed under another key to be refused, observed {judge.describe(resp)}")
    require_reachable(agws, receiver)
    deliveries = receiver.wait_for(external_id, bool, max(0.0, refused_at + callbacks.within - time.monotonic()))
    record_deliveries(agws, external_id, deliveries)
    agws.judge([
        judge.Check("PAY-REFUSED-CREATES-NOTHING", not deliveries,
                    f"expected no callback for the refused cash-in {external_id!r} within {callbacks.within:g} s "
                    f"([callbacks] within), observed {len(deliveries)}: "
                    + "; ".join(f"{d.body[:120]!r}" for d in deliveries[:3])),
        *refused_checks(agws, receiver, besides=external_id),
    ])


@pytest.mark.requirement("CB-DELIVERED", "CB-SIGNATURE", "SCH-CALLBACK", "CB-AGREES", "CB-DUPLICATES",
                         "PAY-REFUSED-CREATES-NOTHING", "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_callback_for_a_final_payment(agws) -> None:
    """A final payment is called back: every delivery signed with the project secret, per the
    schema, and saying what the status method says (or a documented intermediate status)."""
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
    agws.judge([*delivery_checks(agws, deliveries, final), *refused_checks(agws, receiver)])


def answered_final(deliveries: list[Any]) -> bool:
    """A delivery with a final status was answered 200: the payment's last callback is done."""
    return final_delivery([d for d in deliveries if d.answered == 200])


def trail(groups: dict[str, list[Any]]) -> str:
    return "; ".join(f"status {status}: " + ", ".join(str(d.answered) for d in ds) for status, ds in groups.items()) \
        or "no delivery"


@pytest.mark.requirement("CB-RETRY", "CB-STOPS-AFTER-200", "CB-RETRY-INTERVALS", "CB-SIGNATURE", "SCH-CALLBACK",
                         "CB-AGREES", "CB-DUPLICATES", "PAY-REFUSED-CREATES-NOTHING", "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_callback_retried_until_200(agws) -> None:
    """The receiver answers the payment's first two deliveries with 500: each callback answered 500
    is delivered again (the first retry about 0.5 s after the first attempt), every retry signed and
    valid, and a callback stops once the receiver answers it 200. Counted per status: a callback for
    an intermediate status, then one for the final status, is two callbacks, not a repeat."""
    receiver, callbacks = agws.receiver, agws.target.callbacks
    fields = agws.payment_fields(amount=agws.draw_amount())
    external_id = fields["external_id"]
    receiver.plan(external_id, [500, 500])
    _, final = pay_and_settle(agws, fields=fields)
    deliveries = receiver.wait_for(external_id, answered_final, callbacks.within)
    require_reachable(agws, receiver)
    groups = by_status(deliveries)
    answered_500 = [ds for ds in groups.values() if any(d.answered == 500 for d in ds)]
    agws.check(bool(answered_500) and all(ds[-1].answered == 200 for ds in answered_500), "CB-RETRY",
               f"expected each callback for {external_id!r} answered 500 delivered again until answered 200 (the "
               f"receiver answers the first two deliveries 500) within {callbacks.within:g} s, observed "
               + trail(groups))
    first_200 = {status: next(d.at for d in ds if d.answered == 200) for status, ds in groups.items()
                 if any(d.answered == 200 for d in ds)}
    time.sleep(max(0.0, max(first_200.values()) + callbacks.observe - time.monotonic()))
    deliveries = receiver.deliveries(external_id)
    record_deliveries(agws, external_id, deliveries)
    groups = by_status(deliveries)
    repeated = {status: n for status, at in first_200.items() if (n := sum(d.at > at for d in groups[status]))}
    # A retry is the next delivery of the same callback after one not answered 200; the first is the earliest.
    retries = sorted(((a, b) for ds in groups.values() for a, b in zip(ds, ds[1:]) if a.answered != 200),
                     key=lambda pair: pair[0].at)
    gaps = [b.at - a.at for a, b in retries]
    scale = callbacks.time_scale
    low, high = FIRST_RETRY[0] * scale * 0.5, FIRST_RETRY[1] * scale * 1.5 + SLACK
    agws.judge([
        judge.Check("CB-STOPS-AFTER-200", not repeated,
                    f"expected no delivery of a callback for {external_id!r} in the {callbacks.observe:g} s after the "
                    f"receiver answered it 200 (same status), observed "
                    + ("; ".join(f"status {status} {n} more time(s)" for status, n in repeated.items()) or "none")
                    + f" ({trail(groups)})"),
        judge.Check("CB-RETRY-INTERVALS", low <= gaps[0] <= high and max(gaps) <= LONGEST * scale + SLACK,
                    f"expected the first retry {low:.2f}-{high:.2f} s after the first attempt and no gap over "
                    f"{LONGEST * scale:g} s (times time_scale {scale:g}) between deliveries of one callback, observed "
                    + ", ".join(f"{g:.2f} s" for g in gaps)),
        *delivery_checks(agws, deliveries, final),
        *refused_checks(agws, receiver),
    ])


@pytest.mark.requirement("CB-EXPIRY", "CB-SIGNATURE", "SCH-CALLBACK", "CB-AGREES", "CB-DUPLICATES",
                         "PAY-REFUSED-CREATES-NOTHING", "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_callback_on_lifetime_expiry(agws) -> None:
    """A payment left to expire is called back with status "4" and a fail_reason; every delivery
    signed, valid and agreeing."""
    receiver, callbacks, write = agws.receiver, agws.target.callbacks, agws.require_write()
    if write.expiring_username is None:
        agws.not_applicable("the [write] table declares no expiring_username and lifetime")
    fields, final = pay_and_settle(agws, username=write.expiring_username)
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
        *delivery_checks(agws, deliveries, final),
        *refused_checks(agws, receiver),
    ])
