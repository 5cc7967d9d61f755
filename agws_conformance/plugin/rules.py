"""What the rule suites (``suites/test_rules_*.py``) share: every rule applied to every method.

A rule family is written once and parametrized over :data:`endpoints.METHODS`; nothing here or in
those suites branches on a method's name. Whatever a rule needs to know about a method comes from
its :class:`~agws_conformance.endpoints.Method` entry: ``subject`` says how to build a request the
target would serve, ``writes`` that every request goes through ``agws.pay`` (counted against
``max_payments``), ``effect`` how to show that a refused request created nothing
(PAY-REFUSED-CREATES-NOTHING). Adding a method to the registry gives it every rule.

Each case is named ``method-case`` under a test named after the rule, e.g.
``test_sig_reject_truncated[action/cash-in-63]``; the parametrize argument is ``method``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import pytest

from agws_conformance import judge
from agws_conformance.judge import Check
from agws_conformance.findings import invariant
from agws_conformance.endpoints import FAILED_STATUSES, FINAL_STATUSES, LIFETIME_REASONS, METHODS, Method

from .context import SIGN

if TYPE_CHECKING:
    from agws_conformance.client import Response

    from .context import Agws

PAYER = next(m for m in METHODS.values() if m.subject == "new-payment")
"""The method that makes a payment (cash-in): payments awaiting confirmation are made with it."""
STATUS = next(m for m in METHODS.values() if m.subject == "payment")
"""The method that looks a payment up (the status method): it proves a refused payment does not exist."""
PAYMENT_ID = STATUS.lookup or "external_id"
"""The field that names a payment in every method that names one."""
BALANCE = "showcase/balance"
"""The method answering the showcase's balance (a refused payment must leave it where it was)."""

RULE_AMOUNT = 1.01
"""Tenge in every payment the rule suites send (a refused one moves nothing; a wrongly accepted one this)."""
PENDING = "1"
"""The status of a payment awaiting confirmation."""

Case = tuple[str, Any, tuple[str, ...]]
"""(case id, value, requirements the case judges besides its test's)."""


# -- parameters ----------------------------------------------------------------------------

def identifiers(method: Method) -> tuple[str, ...]:
    """Lookup methods are tried with a declared identifier and an unknown one (SIG-BEFORE-LOOKUP:
    a badly signed request for an unknown account must be refused with 1014, not looked up)."""
    return ("declared", "unknown") if method.missing_code is not None else ("declared",)


def lookup_identifiers(method: Method) -> tuple[str, ...]:
    """Identifiers SIG-BEFORE-LOOKUP compares a refusal across: every method whose request names an
    existing account or payment (a confirmation names a payment too, though it has no "not found"
    code of its own to provoke), each with a declared and an unknown identifier."""
    return ("declared", "unknown") if method.subject in ("account", "payment", "pending-payment") else ("declared",)


def identifier_cases(method: Method) -> list[Case]:
    return [(i, i, ("SIG-BEFORE-LOOKUP",) if i == "unknown" else ()) for i in identifiers(method)]


def precondition_rules(method: Method) -> tuple[str, ...]:
    """What :func:`served_request` judges for ``method``: that the good request is served."""
    if method.subject in ("account", "payment"):
        return ("SIG-ACCEPT-GO-BODY",)
    if method.subject == "pending-payment":
        return ("SIG-ACCEPT-GO-BODY", PAYER.found)
    return ("SIG-ACCEPT-GO-BODY", method.found)


def leftover_rules(method: Method) -> tuple[str, ...]:
    """What :class:`Refusal` judges after a refusal of a writing method (created nothing)."""
    return ("PAY-REFUSED-CREATES-NOTHING",) if method.effect is not None else ()


def refusal_rules(method: Method) -> tuple[str, ...]:
    """Declared by every refusal case: the precondition, no crash (a dropped connection included:
    ``Agws.send(must_refuse=...)``) and, for a writing method, that nothing was created."""
    return (*precondition_rules(method), "ROB-NO-CRASH", *leftover_rules(method))


def method_params(cases: Callable[[Method], Iterable[Case]] | None = None, *,
                  rules: Callable[[Method], tuple[str, ...]] = refusal_rules) -> list[Any]:
    """One parameter per method (and case), id ``method`` or ``method-case``, each declaring
    what it judges. Without ``cases``: one value per method (``parametrize("method", ...)``);
    with: (method, value) pairs (``parametrize("method,case", ...)``)."""
    out = []
    for method in METHODS.values():
        if cases is None:
            out.append(pytest.param(method.name, id=method.name,
                                    marks=pytest.mark.requirement(*rules(method))))
            continue
        for case_id, value, extra in cases(method):
            out.append(pytest.param(method.name, value, id=f"{method.name}-{case_id}" if case_id else method.name,
                                    marks=pytest.mark.requirement(*rules(method), *extra)))
    return out


# -- requests the target would serve ---------------------------------------------------------

def lookup_request(agws: "Agws", endpoint: str, identifier: str = "declared") -> dict[str, Any]:
    """A lookup method's valid fields naming a declared (or an unknown) identifier, nothing judged."""
    method = METHODS[endpoint]
    invariant(method.lookup is not None, f"{endpoint} looks nothing up")
    if identifier == "unknown":
        value = agws.stable_unknown(endpoint)
    elif method.subject == "account":
        value = agws.require_account().username
    else:
        value = agws.require_payment().external_id
    return agws.fields(endpoint, **{str(method.lookup): value})


def served_request(agws: "Agws", endpoint: str, identifier: str = "declared") -> dict[str, Any]:
    """Fields of a request of ``endpoint`` that, correctly signed, this target serves; the
    precondition of every refusal (a gateway that refuses everything proves nothing by refusing
    a broken copy), judged here once per run under :func:`precondition_rules`.

    Writing methods get a fresh request each time (a new external_id), so a wrongly accepted copy
    is a payment of its own that the follow-up can find.
    """
    __tracebackhide__ = True
    method = METHODS[endpoint]
    if method.writes:
        agws.require_write()
    if method.subject in ("account", "payment") and method.lookup is not None:
        fields = lookup_request(agws, endpoint, identifier)
        agws.require_served(endpoint, fields)
        return fields
    if method.subject == "pending-payment":
        # Served (an unknown payment's documented error) without touching the payment refusals name.
        unknown = agws.fields(endpoint, **{PAYMENT_ID: agws.stable_unknown(endpoint)})
        agws.require_served(endpoint, unknown)
        if identifier == "unknown":
            return unknown
        pending = pending_payment(agws)
        fields = agws.fields(endpoint, **{PAYMENT_ID: pending or agws.stable_unknown(endpoint)})
        code = agws.require_write().confirm_code
        if code is not None and "confirm_code" in method.optional:
            fields = dict(sorted({**fields, "confirm_code": code}.items()))  # the page's table order
        return fields
    fields = fresh_request(agws, endpoint)
    if method.writes:
        require_created_once(agws, endpoint)
    else:
        agws.require_served(endpoint, fields)  # SIG-ACCEPT-GO-BODY: not refused for its signature
        agws.require_served(endpoint, fields, success=True)  # the same (cached) answer: a success
    return fields


def fresh_request(agws: "Agws", endpoint: str) -> dict[str, Any]:
    """The target's valid fields for a method that names nothing declared: a new payment (fresh
    external_id, RULE_AMOUNT within max_amount) where it makes one, else the fields as they are."""
    if METHODS[endpoint].subject == "new-payment":
        return agws.payment_fields(amount=min(RULE_AMOUNT, agws.require_write().max_amount), endpoint=endpoint)
    return agws.fields(endpoint)


def created(method: Method, resp: "Response") -> bool:
    """Whether an answer says a request of a writing method took effect: a payment in a success,
    a confirmation (is_success true, or "true": ERRATUM-CONFIRM-IS-SUCCESS), a redirect_url (with or
    without an envelope: ERRATUM-LINK-SHAPE)."""
    body: dict[str, Any] = resp.json if isinstance(resp.json, dict) else {}
    result: dict[str, Any] = body["result"] if isinstance(body.get("result"), dict) else {}
    if method.effect == "link":
        return bool(result.get("redirect_url") or body.get("redirect_url"))
    if method.effect == "confirmation":
        return judge.success_body(resp) and result.get("is_success") in (True, "true")
    return judge.success_body(resp)


def require_created_once(agws: "Agws", endpoint: str) -> None:
    """Precondition for a writing method whose every request is new: one correct request of this
    run was served (SIG-ACCEPT-GO-BODY) and took effect (the method's ``found``), once per run."""
    __tracebackhide__ = True
    method = METHODS[endpoint]
    key = f"rules-served:{endpoint}"
    if key not in agws.shared:
        fields = fresh_request(agws, endpoint)
        resp = agws.pay(fields, endpoint=endpoint, why="rule suites: the correct request first")
        took_effect = created(method, resp)  # a link may come without the envelope (ERRATUM-LINK-SHAPE)
        agws.shared[key] = (took_effect or judge.passed_signature_check(resp), took_effect, judge.describe(resp))
    served, ok, observed = agws.shared[key]
    agws.check(served, "SIG-ACCEPT-GO-BODY", f"precondition: expected a correct {endpoint} request, signed as the "
                                             f"documents' Go client signs, to be served, observed {observed}")
    agws.check(ok, method.found, f"precondition: expected a correct {endpoint} request within the [write] limits "
                                 f"to be served and take effect, observed {observed}")


def pending_payment(agws: "Agws") -> str | None:
    """A payment of this run awaiting confirmation ("1"), made with the payment method for the
    [write] table's expiring_username, reused while it still waits; None without that account.
    Its acceptance is the precondition of every case that names it (judged under the payment
    method's ``found`` each time)."""
    __tracebackhide__ = True
    write = agws.require_write()
    if write.expiring_username is None:
        return None
    current = agws.shared.get("rules-pending")
    if isinstance(current, tuple):
        _, data = agws.payment_status(current[0])
        if (data or {}).get("status_code") != PENDING:
            current = None
    if not isinstance(current, tuple):
        fields = agws.payment_fields(amount=min(RULE_AMOUNT, write.max_amount), endpoint=PAYER.name,
                                     username=write.expiring_username)
        resp = agws.pay(fields, endpoint=PAYER.name, why="rule suites: a payment awaiting confirmation")
        result = resp.json.get("result") if judge.is_success(resp) else None
        status = ((result or {}).get("data") or {}).get("status_code") if isinstance(result, dict) else None
        current = agws.shared["rules-pending"] = (fields[PAYMENT_ID], status == PENDING,
                                                  f"{judge.describe(resp)}, status {status!r}")
    external_id, ok, observed = current
    agws.check(ok, PAYER.found, f"precondition: expected a payment to {write.expiring_username!r} accepted and "
                                f"awaiting confirmation (\"1\"), observed {observed}")
    return external_id


# -- sending --------------------------------------------------------------------------------

def send(agws: "Agws", endpoint: str, content: bytes, *, signature: Any = SIGN, method: str = "POST",
         why: str, must_refuse: str | None = None) -> "Response":
    """Send one request of any method: a writing method's through ``agws.pay`` (listed in the report,
    counted against max_payments, skipped past the budget)."""
    if METHODS[endpoint].writes:
        return agws.pay(content=content, signature=signature, endpoint=endpoint, method=method, why=why,
                        must_refuse=must_refuse)
    return agws.send(endpoint, content=content, signature=signature, method=method, must_refuse=must_refuse)


# -- refusals --------------------------------------------------------------------------------

@dataclass
class Refusal:
    """One request the rules say must be refused, built from ``fields`` (a request the target
    would serve): sent, then judged together with what it must not have left behind."""

    agws: "Agws"
    endpoint: str
    fields: Mapping[str, Any]
    what: str  # what is wrong with it, for messages ("a truncated signature")
    before: tuple[float, dict[str, Any]] | None = field(default=None, init=False)  # balance_snapshot()

    def __post_init__(self) -> None:
        method = METHODS[self.endpoint]
        if method.effect == "payment":
            external_id = self.fields.get(PAYMENT_ID)
            if isinstance(external_id, str) and external_id:
                self.agws.note_refused(external_id)
            self.before = balance_snapshot(self.agws)

    def send(self, fields: Mapping[str, Any] | None = None, *, content: bytes | None = None, signature: Any = SIGN,
             method: str = "POST", hang_up_refuses: bool = False) -> "Response":
        """Send the broken request (``fields`` or ``content``, by default the good fields); a writing
        method's through ``agws.pay``. ``signature``: SIGN (correct), None (no header) or a value.
        A dropped connection is judged ROB-NO-CRASH (``Agws.send(must_refuse=...)``) unless
        ``hang_up_refuses``: closing the connection is a way to refuse this request (an oversized body)."""
        if content is None:
            content = self.agws.encode(fields if fields is not None else self.fields)
        return send(self.agws, self.endpoint, content, signature=signature, method=method,
                    why=f"must be refused: {self.what}", must_refuse=None if hang_up_refuses else self.what)

    def judge(self, resp: "Response", checks: Iterable[Check]) -> None:
        """The refusal's own checks, no crash, and (a writing method) that nothing was created, together."""
        __tracebackhide__ = True
        self.agws.judge([judge.no_crash(resp, f"{self.what} on {self.endpoint}"), *checks, *self.leftovers(resp)])

    def judge_hang_up(self, hung_up: bool, observed: str) -> None:
        """A refusal by hanging up (an oversized body): ROB-OVERSIZED, and nothing created."""
        __tracebackhide__ = True
        self.agws.judge([judge.Check("ROB-OVERSIZED", hung_up, observed), *self.leftovers(None)])

    def leftovers(self, resp: "Response | None") -> list[Check]:
        """PAY-REFUSED-CREATES-NOTHING, by what the method's served requests leave behind."""
        method = METHODS[self.endpoint]
        if method.effect is None:
            return []
        whose = f"{self.endpoint} refused ({self.what})"
        if method.effect == "link":
            if resp is None:
                return []  # no answer: no link handed out
            return [judge.Check("PAY-REFUSED-CREATES-NOTHING", not created(method, resp),
                                f"expected no redirect_url in the answer to a {whose}, observed {judge.describe(resp)}")]
        external_id = self.fields.get(PAYMENT_ID)
        if not isinstance(external_id, str) or external_id == self.agws.stable_unknown(self.endpoint):
            return []
        status_resp, data = self.agws.payment_status(external_id)
        if method.effect == "confirmation":
            if external_id != (self.agws.shared.get("rules-pending") or ("",))[0]:
                return []  # an unknown payment: nothing to confirm
            status = (data or {}).get("status_code")
            reason = (data or {}).get("fail_reason")
            expired = status in FAILED_STATUSES and isinstance(reason, dict) and reason.get("code") in LIFETIME_REASONS
            return [judge.Check("PAY-REFUSED-CREATES-NOTHING", status == PENDING or expired,
                                f"expected {external_id!r} still awaiting confirmation (\"1\") after a {whose}, "
                                f"observed status {status!r} ({judge.describe(status_resp)})")]
        # A payment is there when the status method answers its data; any other answer (1041, or
        # one the envelope rules fail) shows none.
        checks = [judge.Check("PAY-REFUSED-CREATES-NOTHING", data is None,
                              f"expected the status method to know no payment {external_id!r} ({STATUS.missing_code}) "
                              f"after a {whose}, observed {judge.describe(status_resp)}")]
        if self.before is not None:
            balance, statuses = self.before
            now = read_balance(self.agws)
            moved = [k for k, v in payment_statuses(self.agws).items() if k in statuses and statuses[k] != v]
            if now is not None and not moved:
                checks.append(judge.Check("PAY-REFUSED-CREATES-NOTHING", judge.same_amount(now, balance),
                                          f"expected the balance to stay {balance:.2f} after a {whose} "
                                          f"(balance_exclusive; no payment of this run changed status meanwhile), "
                                          f"observed {now:.2f}"))
        return checks


def payment_statuses(agws: "Agws") -> dict[str, Any]:
    """Every payment of this run with its status now (those not final polled once, never waited for)."""
    for record in agws.created_payments():
        if record.get("status") not in FINAL_STATUSES:
            agws.payment_status(str(record["external_id"]))
    return {str(r["external_id"]): r.get("status") for r in agws.created_payments()}


def balance_snapshot(agws: "Agws") -> tuple[float, dict[str, Any]] | None:
    """(the balance, this run's payment statuses) where a refused payment's effect on the balance
    can be judged: balance_exclusive, one process paying, the balance a number. The comparison
    afterwards counts only if no payment of this run changed status in between (one that did may
    have moved the balance itself)."""
    write = agws.require_write()
    if not write.balance_exclusive or (agws.workers > 1 and not agws.is_mock):
        return None
    statuses = payment_statuses(agws)
    balance = read_balance(agws)
    return (balance, statuses) if balance is not None else None


def read_balance(agws: "Agws") -> float | None:
    """The showcase's balance now, None when it is not answered as a number."""
    resp = agws.send(BALANCE, agws.fields(BALANCE))
    result = resp.json.get("result") if judge.is_success(resp) else None
    balance = result.get("balance") if isinstance(result, dict) else None
    return float(balance) if judge.is_number(balance) else None  # type: ignore[arg-type]


def parsed(content: bytes) -> dict[str, Any]:
    """A body's top-level object (empty when it is none)."""
    try:
        value = json.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
