"""The mock's money: payments created by cash-in, their statuses over time, and the showcase balance.

A payment's status is derived from its age each time it is asked for, never stored, so the mock
needs no background task: a payment is "7" (in progress) until ``settle_seconds`` have passed and
"2" after; a payment to the target's ``expiring_username`` stays "1" (created, awaiting
confirmation) until the transaction lifetime passes and is then "4" with fail_reason 401
(Transaction Lifetime page; ERRATUM-LIFETIME-REASON). The balance is the opening balance minus
every payment not failed, in tiyn (integers), so sums are exact to the cent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from agws_conformance.endpoints import REASON_CODES, TRANSACTION_STATUSES

LIFETIME_REASON = 401
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


@dataclass(frozen=True)
class PaymentRules:
    """How the mock's money behaves; the clean mock is ``PaymentRules()``, faults swap one field."""

    duplicate: str = "refuse"  # "refuse" (1042), "second" (accept, a second payment), "update" (1042, amount changed)
    create_refused: bool = False  # a refused cash-in (signature, scope, fields) is still recorded
    check_balance: bool = True  # an amount over the balance gets 1410
    debit: bool = True  # payments lower the balance
    settle: bool = True  # payments in progress reach "2"
    expire: str = "reason"  # lifetime expiry: "reason" ("4" + fail_reason), "no-reason" ("4" without), "never"
    confirm_any_code: bool = False  # a wrong confirmation code confirms too (a fault)
    commission_rate: float = 0.025  # the account-check example: 119 -> 122
    commission_skew: float = 0.0  # added to amount_with_commission (a fault)


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

    def status(self, entry: Entry) -> tuple[str, dict[str, Any]]:
        """(status_code, fail_reason) of a payment now."""
        age = self.clock() - entry.created
        if entry.confirmed:
            return "2", {}
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
        spent = 0
        if self.rules.debit:
            spent = sum(tiyn(e.amount) for entries in self.entries.values() for e in entries
                        if self.status(e)[0] not in ("3", "4"))
        return (tiyn(self.opening_balance) - spent) / 100

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
        return {"is_success": entry.confirmed and right, "transaction_status_id": status,
                "external_id": entry.external_id, "otp_status": right, "message": ""}

    def commission(self, amount: float) -> dict[str, float]:
        """``result`` of calculate/upper/commission: the commission rounded to the tiyn."""
        commission = tiyn(amount * self.rules.commission_rate) / 100
        total = (tiyn(amount) + tiyn(commission)) / 100 + self.rules.commission_skew
        return {"amount": amount, "amount_with_commission": total, "commission": commission}
