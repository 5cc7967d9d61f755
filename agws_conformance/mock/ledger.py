"""The mock's money: payments created by cash-in, their statuses over time, and the showcase balance.

A payment's status is derived from its age each time it is asked for, never stored, so the mock
needs no background task: a payment is "7" (in progress) until ``settle_seconds`` have passed and
"2" after; a payment to the target's ``expiring_username`` stays "1" (created, awaiting
confirmation) until the transaction lifetime passes and is then "4" with fail_reason 401
(Transaction Lifetime page; ERRATUM-LIFETIME-REASON). The balance is the opening balance minus
every payment not failed, in tiyn (integers), so sums are exact to the cent; variations may add
each payment's upper commission or keep the balance as a float64 running total (``PaymentRules``).
A payment failed by a wrong confirmation code (a variation) is "4" with fail_reason 402.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from agws_conformance.endpoints import REASON_CODES, TRANSACTION_STATUSES

LIFETIME_REASON = 401
WRONG_CODE_REASON = 402  # "Incorrect confirmation code" (Payment Status Guide, reasons)
# The confirmation page's curl example code; the mock's "OTP" for every payment awaiting confirmation.
CONFIRM_CODE = "104000"
DEFAULT_BALANCE = 5000.0
DEFAULT_SETTLE_SECONDS = 0.3


def tiyn(amount: float) -> int:
    """An amount in tenge as whole tiyn (1/100), rounded half away from zero."""
    return int(round(amount * 100))


@dataclass
class Entry:
    """One payment the mock accepted (or, under a fault, created while refusing it)."""

    external_id: str
    username: str
    amount: float
    datetime: str
    project: str
    service_code: str
    created: float
    expiring: bool = False
    confirmed: bool = False  # a payment awaiting confirmation, confirmed with the right code
    refused_code: bool = False  # failed ("4", reason 402) by a wrong code (PaymentRules.wrong_code == "fail")
    first_asked: float | None = None  # when the status method was first asked about it


@dataclass(frozen=True)
class PaymentRules:
    """How the mock's money behaves; the clean mock is ``PaymentRules()``, faults swap one field."""

    duplicate: str = "refuse"  # "refuse" (1042), "second" (accept, a second payment), "update" (1042, amount
    # changed), "debit" (1042, yet the repeat's amount leaves the balance)
    create_refused: bool = False  # a refused cash-in (signature, scope, fields) is still recorded
    check_balance: bool = True  # an amount over the balance gets 1410
    debit: bool = True  # payments lower the balance
    settle: bool = True  # payments in progress reach "2"
    expire: str = "reason"  # lifetime expiry: "reason" ("4" + fail_reason), "no-reason" ("4" without), "never"
    confirm_any_code: bool = False  # a wrong confirmation code confirms too (a fault)
    commission_rate: float = 0.025  # the account-check example: 119 -> 122
    commission_skew: float = 0.0  # added to amount_with_commission (a fault)
    stall_unasked_after: float | None = None  # a payment not asked about this long after it is made ...
    stall_until: float = 12.0  # ... stays "7" until this age (a fault)
    wrong_code: str = "keep"  # a wrong confirmation code: "keep" the payment waiting ("1"), or "fail" it (402)
    debit_commission: bool = False  # the balance also pays the upper commission of each payment
    opening_balance: float | None = None  # instead of the app's opening balance
    float_balance: bool = False  # the balance is a float64 running total, not whole tiyn
    datetime_checked: bool = True  # a cash-in datetime that is no ISO 8601 timestamp is refused


@dataclass
class Ledger:
    """Every payment created on this mock, and the balance they leave."""

    opening_balance: float = DEFAULT_BALANCE
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    lifetime: float | None = None
    expiring_username: str | None = None
    rules: PaymentRules = field(default_factory=PaymentRules)
    clock: Callable[[], float] = time.monotonic
    entries: dict[str, list[Entry]] = field(default_factory=dict)
    repeats_debited: list[float] = field(default_factory=list)  # repeats refused with 1042 yet paid (a fault)

    def find(self, external_id: str) -> Entry | None:
        """The first payment with this external_id (a faulty mock may hold more)."""
        found = self.entries.get(external_id)
        return found[0] if found else None

    def create(self, body: dict[str, Any]) -> Entry:
        entry = self.unrecorded(body)
        self.entries.setdefault(entry.external_id, []).append(entry)
        return entry

    def unrecorded(self, body: dict[str, Any]) -> Entry:
        """A payment for ``body`` that the ledger does not hold (status method: 1041; balance: unchanged),
        aging like one: what a fault calls back although it refused the cash-in."""
        return Entry(body["external_id"], body["username"], float(body["amount"]), body["datetime"],
                     body["project"], body["service_code"], self.clock(),
                     expiring=self.expiring_username is not None and body["username"] == self.expiring_username)

    def asked(self, entry: Entry) -> None:
        """The status method was asked about the payment (the stalling fault watches for it)."""
        if entry.first_asked is None:
            entry.first_asked = self.clock()

    def _stalled(self, entry: Entry, age: float) -> bool:
        after = self.rules.stall_unasked_after
        if after is None or entry.expiring or age >= self.rules.stall_until:
            return False
        return (entry.first_asked if entry.first_asked is not None else self.clock()) - entry.created >= after

    def status(self, entry: Entry) -> tuple[str, dict[str, Any]]:
        """(status_code, fail_reason) of a payment now."""
        age = self.clock() - entry.created
        if entry.confirmed:
            return "2", {}
        if entry.refused_code:
            return "4", {"code": WRONG_CODE_REASON, "message": REASON_CODES[WRONG_CODE_REASON]}
        if self._stalled(entry, age):
            return "7", {}
        if entry.expiring:
            if self.lifetime is None or age < self.lifetime or self.rules.expire == "never":
                return "1", {}
            if self.rules.expire == "no-reason":
                return "4", {}
            return "4", {"code": LIFETIME_REASON, "message": REASON_CODES[LIFETIME_REASON]}
        if self.rules.settle and age >= self.settle_seconds:
            return "2", {}
        return "7", {}

    def balance(self) -> float:
        opening = self.rules.opening_balance if self.rules.opening_balance is not None else self.opening_balance
        paid = [e.amount for entries in self.entries.values() for e in entries if self.status(e)[0] not in ("3", "4")]
        paid += self.repeats_debited
        if self.rules.debit_commission:
            paid = [a + self.commission_of(a) for a in paid]
        if not self.rules.debit:
            paid = []
        if self.rules.float_balance:  # 4988.44 - 2.17 - ... in float64, as a naive gateway keeps it
            total = opening
            for amount in paid:
                total -= amount
            return total
        return (tiyn(opening) - sum(tiyn(a) for a in paid)) / 100

    def covers(self, amount: float) -> bool:
        """Whether the balance pays for ``amount`` (and its commission, when the balance pays that too)."""
        cost = tiyn(amount) + (tiyn(self.commission_of(amount)) if self.rules.debit_commission else 0)
        return cost <= tiyn(self.balance())

    def data(self, entry: Entry) -> dict[str, Any]:
        """``result.data`` for the payment, as cash-in and the status method answer it."""
        code, reason = self.status(entry)
        data: dict[str, Any] = {
            "status_code": code,
            "status_message": TRANSACTION_STATUSES[code],
            "username": entry.username,
            "amount": entry.amount,
            "datetime": entry.datetime,
            "project": entry.project,
            "service_code": entry.service_code,
            "external_id": entry.external_id,
        }
        if code == "4":
            data["fail_reason"] = reason
        return data

    def confirm(self, entry: Entry, code: object) -> dict[str, Any]:
        """``result`` of action/confirm/invoice for a payment: the right code confirms one awaiting
        confirmation ("1"); anything else confirms nothing (is_success false, otp_status false)."""
        status, _ = self.status(entry)
        right = code == CONFIRM_CODE or (self.rules.confirm_any_code and isinstance(code, str))
        if status == "1" and right:
            entry.confirmed = True
            status = "2"
        elif status == "1" and self.rules.wrong_code == "fail":
            entry.refused_code = True
            status = "4"
        return {"is_success": entry.confirmed and right, "transaction_status_id": status,
                "external_id": entry.external_id, "otp_status": right, "message": ""}

    def commission_of(self, amount: float) -> float:
        """The upper commission for ``amount``, rounded to the tiyn."""
        return tiyn(amount * self.rules.commission_rate) / 100

    def commission(self, amount: float) -> dict[str, float]:
        """``result`` of calculate/upper/commission: the commission rounded to the tiyn."""
        commission = self.commission_of(amount)
        total = (tiyn(amount) + tiyn(commission)) / 100 + self.rules.commission_skew
        return {"amount": amount, "amount_with_commission": total, "commission": commission}
