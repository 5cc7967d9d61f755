"""Make a payment (action/cash-in), followed through the status method and the balance.

These tests move money, so they run only when the target file has a ``[write]`` table (otherwise
each is "not applicable"), never against the production host, never above ``max_amount`` per
payment and never more than ``max_payments`` cash-ins per run (refused ones count too). Every
external_id they send starts with the table's ``id_prefix``, followed by characters drawn for the
run, and every amount is drawn for the run in whole tiyn (``agws.draw_amount``): nothing a gateway
could recognise the suite by. The report lists each payment with its answer and last status, so QA
can find and reconcile them. Balances are read and compared as ``Decimal`` tiyn (``money``).

A refusal is evidence only from a gateway that accepts the same payment correctly signed, so every
refusal test rests on the run's first payment being accepted (PAY-SUCCESS).
"""

from __future__ import annotations

import copy
import itertools
import secrets
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume
from hypothesis import strategies as st

from agws_conformance import judge, money, schemas, signer, strategies
from agws_conformance.endpoints import FINAL_STATUSES, LIFETIME_REASONS, METHODS
from agws_conformance.plugin.generated import explore

pytestmark = pytest.mark.method("action/cash-in")  # what every test here is about (coverage.method_of)

ENDPOINT = "action/cash-in"
STATUS = "action/status"
SUCCESS_SCHEMA = METHODS[ENDPOINT].success_schema
ECHOED = ("username", "amount", "external_id", "project", "service_code")


def echo_checks(data: dict[str, Any], fields: dict[str, Any], whose: str) -> list[judge.Check]:
    """PAY-ECHO: result.data repeats what the cash-in named (the amount to the cent)."""
    out = []
    for name in ECHOED:
        got = data.get(name, f"no {name} field")
        ok = judge.same_amount(got, fields[name]) if name == "amount" else got == fields[name]
        out.append(judge.Check("PAY-ECHO", ok, f"expected data.{name} {fields[name]!r} (as sent) for {whose}, "
                                               f"observed {got!r}"))
    return out


def first_payment(agws) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run's first accepted payment (fields sent, result.data answered): made once per run,
    the precondition of every refusal test (PAY-SUCCESS)."""
    __tracebackhide__ = True
    cached = agws.shared.get("first-payment")
    if cached is None:
        fields = agws.payment_fields(amount=agws.draw_amount())
        resp = agws.pay(fields, why="first payment")
        result = resp.json.get("result") if judge.is_success(resp) else None
        data = result.get("data") if isinstance(result, dict) else None
        cached = agws.shared["first-payment"] = (fields, data if isinstance(data, dict) else None,
                                                 judge.describe(resp))
    fields, data, observed = cached
    agws.check(data is not None, "PAY-SUCCESS",
               f"precondition: expected a correct cash-in within the limits to succeed with result.data, observed {observed}")
    return fields, data


def expect_nothing_created(agws, external_id: str, why: str) -> None:
    """PAY-REFUSED-CREATES-NOTHING: the status method knows no payment with this external_id (1041)."""
    __tracebackhide__ = True
    resp, data = agws.payment_status(external_id)
    agws.check(data is None and judge.error_code(resp) == 1041, "PAY-REFUSED-CREATES-NOTHING",
               f"expected the status method to answer 1041 for external_id {external_id!r} after {why}, "
               f"observed {judge.describe(resp)}")


@pytest.mark.requirement(*judge.success_rules("PAY-SUCCESS", "SCH-PAY-SUCCESS"), "PAY-STATUS-CODE",
                         "STS-STATUS-MESSAGE", "PAY-ECHO")
def test_payment_accepted(agws) -> None:
    """A correct cash-in for the [write] account: a schema-valid success with a documented status
    that echoes username, amount, external_id, project and service_code."""
    fields = agws.payment_fields(amount=agws.draw_amount())
    resp = agws.pay(fields, why="accepted payment")
    result = agws.expect_success(resp, requirement="PAY-SUCCESS", schema=SUCCESS_SCHEMA,
                                 schema_requirement="SCH-PAY-SUCCESS")
    data = result.get("data") if isinstance(result.get("data"), dict) else {}
    agws.judge([*judge.status_checks(data, "PAY-STATUS-CODE"), *echo_checks(data, fields, "the payment")])


def agreement_checks(answer: dict[str, Any], polled: dict[str, Any], external_id: str) -> list[judge.Check]:
    """PAY-STATUS-AGREES: the status method reports what cash-in answered (a final status never changes)."""
    out = []
    for name in ECHOED:
        a, b = answer.get(name), polled.get(name)
        ok = judge.same_amount(a, b) if name == "amount" else a == b
        out.append(judge.Check("PAY-STATUS-AGREES", ok, f"expected the status method's data.{name} to be the "
                                                        f"payment answer's {a!r} for {external_id!r}, observed {b!r}"))
    first = answer.get("status_code")
    if first in FINAL_STATUSES:
        out.append(judge.Check("PAY-STATUS-AGREES", polled.get("status_code") == first,
                               f"expected final status {first!r} (from the payment answer) to stay for "
                               f"{external_id!r}, observed {polled.get('status_code')!r}"))
    return out


def final_status_check(agws, external_id: str, within: float, why: str) -> tuple[judge.Check, dict[str, Any] | None]:
    """PAY-FINAL-STATUS for one payment of this run, polled until ``within`` seconds after it was made;
    (the check, the last result.data)."""
    final, history = agws.poll_final(external_id, within, since_sent=True)
    trail = ", ".join(f"{t:g} s: {s!r}" for t, s in history[-6:])
    status = final.get("status_code") if final is not None else None
    return judge.Check("PAY-FINAL-STATUS", status in FINAL_STATUSES,
                       f"expected a final status (\"2\", \"3\", \"4\" or \"6\") for {external_id!r} ({why}) within "
                       f"{within:g} s of its cash-in, observed {status!r} ({len(history)} polls; last: {trail})"), final


@pytest.mark.requirement("PAY-FINAL-STATUS", "PAY-STATUS-AGREES", "PAY-SUCCESS")
def test_payment_reaches_final_status(agws) -> None:
    """Polled through the status method, the run's first payment becomes final within
    write.final_within seconds of its cash-in and agrees with the cash-in answer.

    The suite first asks about it only after a pause drawn for the run: the status method is a
    read, and a payment must progress whether or when anyone asks."""
    write = agws.require_write()
    fields, answer = first_payment(agws)
    agws.leave_unasked(fields["external_id"])
    check, final = final_status_check(agws, fields["external_id"], write.final_within, "the run's first payment")
    agws.judge([check])
    agws.judge(agreement_checks(answer, final or {}, fields["external_id"]))


@pytest.mark.requirement(*judge.fixed_format_error_rules("PAY-DUPLICATE-1042"), "PAY-SUCCESS")
def test_repeat_gets_1042(agws) -> None:
    """The run's first payment sent again, byte for byte: expected error 1042 in the old format."""
    fields, _ = first_payment(agws)
    resp = agws.pay(fields, why="repeat of the first payment")
    agws.expect_expected_error(resp, code=1042, requirement="PAY-DUPLICATE-1042", endpoint=ENDPOINT)


@pytest.mark.requirement("PAY-DUPLICATE-NO-CHANGE", "PAY-DUPLICATE-1042", "PAY-SUCCESS", "PAY-FINAL-STATUS",
                         "BAL-ANSWERED")
def test_repeat_with_another_amount_changes_nothing(agws) -> None:
    """A repeat of a payment with another amount: refused (no success), the status method still
    reports the first amount, and (balance_exclusive) the balance did not move.

    The balance is compared once this run's payments are final (or have had final_within to be:
    one that is not fails PAY-FINAL-STATUS here, and the balance is judged all the same)."""
    write = agws.require_write()
    first = agws.draw_amount()
    other = next((a for a in (agws.draw_amount() for _ in range(20)) if a != first), None)
    if other is None:
        agws.not_applicable(f"[write] max_amount {write.max_amount:g} leaves no second amount to repeat with")
    fields = agws.payment_fields(amount=first)
    resp = agws.pay(fields, why="payment to repeat")
    agws.check(judge.is_success(resp), "PAY-SUCCESS", f"precondition: expected the payment to succeed, "
                                                      f"observed {judge.describe(resp)}")
    check, _ = final_status_check(agws, fields["external_id"], write.final_within, "the payment to repeat")
    agws.judge([check])
    checks, why_not = settled(agws)
    before = read_balance(agws) if why_not is None else None
    repeat = agws.pay(dict(fields, amount=money.on_the_wire(other)), why="repeat with another amount")
    _, after = agws.payment_status(fields["external_id"])
    # Judged together: a gateway that accepts the repeat is shown to have changed things too.
    checks += [judge.Check("PAY-DUPLICATE-1042", not judge.success_body(repeat) and judge.error_code(repeat) == 1042,
                           f"expected error 1042 for a repeat of {fields['external_id']!r} with amount {other}, "
                           f"observed {judge.describe(repeat)}"),
               judge.Check("PAY-DUPLICATE-NO-CHANGE", money.cents((after or {}).get("amount")) == first,
                           f"expected the status method to still report amount {first} for {fields['external_id']!r} "
                           f"after a repeat with {other}, observed {(after or {}).get('amount', 'no payment')!r}")]
    if before is None:
        checks.append(judge.Check("PAY-DUPLICATE-NO-CHANGE", None, f"balance not compared: {why_not}"))
    else:
        now = read_balance(agws)
        checks.append(judge.Check("PAY-DUPLICATE-NO-CHANGE", now == before,
                                  f"expected the balance to stay {before} after a refused repeat (balance_exclusive), "
                                  f"observed {now}{unsettled_note(checks)}"))
    agws.judge(checks)


def read_balance(agws) -> Decimal:
    """The showcase's balance now, to the tiyn (BAL-ANSWERED is the precondition)."""
    __tracebackhide__ = True
    resp = agws.send("showcase/balance", agws.fields("showcase/balance"))
    result = resp.json.get("result") if judge.is_success(resp) else None
    balance = money.cents(result.get("balance") if isinstance(result, dict) else None)
    agws.check(balance is not None,
               "BAL-ANSWERED", f"precondition: expected the balance as a number, observed {judge.describe(resp)}")
    return balance  # type: ignore[return-value]  # checked just above


# Each refused cash-in: what the refusal is judged under, then PAY-REFUSED-CREATES-NOTHING. The
# signature, scope and generic robustness refusals of every method are in suites/test_rules_*.py;
# these are cash-in's own payloads.
REFUSED_COMMON = ("PAY-REFUSED-CREATES-NOTHING", "PAY-SUCCESS")
FIELD_REFUSALS = {
    "negative-amount": "ROB-WRONG-TYPES",
    # A string the pages do not forbid (datetime is a String): refusing it is at most a SHOULD.
    "unparseable-datetime": "PAY-DATETIME-FORMAT",
}


def _params(cases: dict[str, str]) -> list:
    return [pytest.param(how, marks=pytest.mark.requirement(requirement)) for how, requirement in cases.items()]


@pytest.mark.requirement(*REFUSED_COMMON, "ROB-NO-CRASH")
@pytest.mark.parametrize("how", _params(FIELD_REFUSALS))
def test_malformed_payment_creates_nothing(agws, how: str) -> None:
    """A cash-in with a negative amount, or with a datetime that is no timestamp, correctly signed:
    an error, never a success, and no payment. (A datetime string may be stored as given,
    ERRATUM-CASH-IN-DATETIME-STRING: a warning, and then a payment.)"""
    first_payment(agws)
    fields = agws.payment_fields(amount=agws.draw_amount())
    if how == "negative-amount":
        content = agws.encode(dict(fields, amount=-fields["amount"]))
    else:
        content = agws.encode(dict(fields, datetime="yesterday at noon"))
    resp = agws.pay(content=content, why=f"refused: {how}", must_refuse=f"a cash-in with a {how}")
    agws.expect_refused(resp, requirement=FIELD_REFUSALS[how])
    if not judge.success_body(resp):  # a success gets this far only under a SHOULD: then it is a payment
        expect_nothing_created(agws, fields["external_id"], f"a cash-in refused ({how})")


@pytest.mark.requirement(*judge.fixed_format_error_rules("PAY-INSUFFICIENT-1410"), "PAY-REFUSED-CREATES-NOTHING",
                         "BAL-ANSWERED", "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_over_balance_gets_1410(agws) -> None:
    """An amount one tiyn over the showcase balance: 1410 in the old format, and no payment.

    Only with balance_exclusive (a balance others move may have risen by the time the payment
    arrives, and the payment would rightly be accepted), after this run's own payments are final
    (one that is not within final_within fails PAY-FINAL-STATUS), and only when that amount is
    within max_amount: otherwise the check is not applicable (the suite never sends more than the
    target file allows). The amount is the balance to the tiyn plus one tiyn, in Decimal: float
    arithmetic lands on the balance itself for about one balance in fifteen."""
    write = agws.require_write()
    if not write.balance_exclusive:
        agws.not_applicable("the [write] table does not declare balance_exclusive = true: 'one tiyn over the "
                            "balance' is only known while nobody else moves it")
    first_payment(agws)
    agws.judge(require_settled(agws))  # one tiyn over a balance that may still move proves nothing
    balance = read_balance(agws)
    amount = money.one_tiyn_over(balance)
    if amount > money.cents(write.max_amount):  # type: ignore[operator]  # max_amount is a number
        agws.not_applicable(f"the showcase balance {balance} is not below [write] max_amount {write.max_amount:g}: "
                            "1410 cannot be provoked within the limit")
    fields = agws.payment_fields(amount=amount)
    resp = agws.pay(fields, why="over the balance")
    agws.expect_expected_error(resp, code=1410, requirement="PAY-INSUFFICIENT-1410", endpoint=ENDPOINT)
    expect_nothing_created(agws, fields["external_id"], "a cash-in over the balance")


@pytest.mark.requirement("PAY-LIFETIME-EXPIRY", "PAY-SUCCESS")
def test_lifetime_expiry(agws) -> None:
    """A payment to write.expiring_username (an account that never confirms) becomes "4" with a
    fail_reason 401 or 107 once the transaction lifetime has passed."""
    write = agws.require_write()
    if write.expiring_username is None or write.lifetime is None:
        agws.not_applicable("the [write] table declares no expiring_username and lifetime (the lifetime is set "
                            "per merchant and unpublished)")
    fields = agws.payment_fields(amount=agws.draw_amount(), username=write.expiring_username)
    resp = agws.pay(fields, why="left to expire")
    agws.check(judge.is_success(resp), "PAY-SUCCESS",
               f"precondition: expected the payment to {write.expiring_username!r} to be accepted, observed "
               f"{judge.describe(resp)}")
    final, history = agws.poll_final(fields["external_id"], write.lifetime + write.final_within)
    data = final or {}
    reason = data.get("fail_reason")
    agws.judge([
        judge.Check("PAY-LIFETIME-EXPIRY", data.get("status_code") == "4",
                    f"expected status \"4\" within {write.lifetime + write.final_within:g} s ([write] lifetime plus "
                    "final_within: is the declared lifetime the merchant's?), "
                    f"observed {data.get('status_code')!r} after {len(history)} polls"),
        judge.Check("PAY-LIFETIME-EXPIRY", judge.has_reason(reason) and reason.get("code") in LIFETIME_REASONS,
                    f"expected a fail_reason with code 401 or 107 for an expired payment, observed {reason!r}"),
    ])


@pytest.mark.requirement("BAL-DEBITED", "BAL-DEBIT-BASIS", "BAL-ANSWERED", "PAY-SUCCESS", "PAY-FINAL-STATUS")
def test_balance_falls_by_the_credited_amounts(agws) -> None:
    """With balance_exclusive: two payments and one refused one move the balance by exactly the
    amounts the status method reports credited ("2"), or by those amounts plus the upper commission
    the gateway itself quotes for each (calculate/upper/commission; the pages do not say which,
    ERRATUM-BALANCE-DEBIT-BASIS, and which one is reported under BAL-DEBIT-BASIS)."""
    write = agws.require_write()
    if not write.balance_exclusive:
        agws.not_applicable("the [write] table does not declare balance_exclusive = true (others may move the balance)")
    if agws.workers > 1 and not agws.is_mock:
        pytest.skip("balance_exclusive needs a run without -n: the other workers' payments move the same balance")
    first_payment(agws)
    checks = require_settled(agws)
    before = read_balance(agws)
    ids = []
    for _ in range(2):
        fields = agws.payment_fields(amount=agws.draw_amount())
        resp = agws.pay(fields, why="balance check")
        agws.check(judge.is_success(resp), "PAY-SUCCESS", f"precondition: expected the payment to succeed, observed "
                                                          f"{judge.describe(resp)}")
        ids.append(fields["external_id"])
    refused = agws.payment_fields(amount=agws.draw_amount())
    content = agws.encode(refused)
    agws.pay(content=content, signature=agws.sign_with_secret(content, secrets.token_urlsafe(24)), why="balance check (refused)")
    credited: list[Decimal] = []
    pending: list[Decimal] = []
    for external_id in ids:
        check, final = final_status_check(agws, external_id, write.final_within, "a payment of the balance check")
        checks.append(check)
        amount = money.cents((final or {}).get("amount"))
        if (final or {}).get("status_code") == "2" and amount is not None:
            credited.append(amount)
        elif not check.ok and amount is not None:
            pending.append(amount)  # still in progress: it may or may not have left the balance yet
    after = read_balance(agws)
    agws.judge(checks + debit_checks(agws, before - after, credited, pending, unsettled_note(checks)))


def debit_checks(agws, fall: Decimal, credited: list[Decimal], pending: list[Decimal], note: str = ""
                 ) -> list[judge.Check]:
    """BAL-DEBITED: the balance fell by the credited amounts, or by each plus the upper commission the
    gateway quotes for it; a payment still in progress may have been debited or not. BAL-DEBIT-BASIS
    (INFO) says which."""
    quotes = {a: commission_quote(agws, a) for a in credited + pending}
    bases = {"the amounts": lambda a: a}
    if all(q is not None for q in quotes.values()):
        bases["the amounts plus the upper commission the gateway quotes"] = lambda a: a + quotes[a]  # type: ignore[operator]
    matches = [name for name, cost in bases.items()
               if any(fall == sum(map(cost, credited + list(extra)), Decimal(0))
                      for n in range(len(pending) + 1) for extra in itertools.combinations(pending, n))]
    quoted = ", ".join(f"{a} -> {q}" for a, q in quotes.items() if q is not None) or "none"
    by_amount = sum(credited, Decimal(0))
    note += f" ({len(pending)} payment(s) still in progress, counted either way)" if pending else ""
    return [judge.Check("BAL-DEBITED", bool(matches),
                        f"expected the balance to fall by {by_amount} (the amounts credited: "
                        f"{', '.join(map(str, credited)) or 'none'}) or by those plus their upper commission "
                        f"(quoted: {quoted}){note}, observed a fall of {fall}"),
            judge.Check("BAL-DEBIT-BASIS", None, f"the balance fell by {fall}: "
                        + (" or ".join(matches) if matches else "neither the amounts nor the amounts plus commission")
                        + f" (amounts {by_amount}; commissions quoted: {quoted})")]


def commission_quote(agws, amount: Decimal) -> Decimal | None:
    """The upper commission the gateway quotes for ``amount`` (calculate/upper/commission), or None
    when it quotes none (then only 'the balance falls by the amount' is accepted)."""
    resp = agws.send("calculate/upper/commission",
                     agws.fields("calculate/upper/commission", amount=money.on_the_wire(amount)))
    result = resp.json.get("result") if judge.is_success(resp) else None
    return money.cents(result.get("commission")) if isinstance(result, dict) else None


def settle_this_runs_payments(agws) -> tuple[list[judge.Check], list[str]]:
    """Wait until every payment this run created is final, so none moves the balance later.

    Returns PAY-FINAL-STATUS checks (a payment not final within final_within of its cash-in is
    evidence, judged by the caller, never a reason to skip) and the payments awaiting confirmation
    ("1", to write.expiring_username) that may still expire and move the balance: waited for until
    write.lifetime + final_within, or, without a declared lifetime, not at all."""
    write = agws.require_write()
    checks, waiting = [], []
    for record in agws.created_payments():
        if record.get("status") in FINAL_STATUSES:
            continue
        external_id = record["external_id"]
        if write.expiring_username is not None and record.get("username") == write.expiring_username:
            within = write.lifetime + write.final_within if write.lifetime is not None else 0.0
            final, _ = agws.poll_final(external_id, within, since_sent=True)
            if (final or {}).get("status_code") not in FINAL_STATUSES:
                waiting.append(external_id)
        else:
            check, _ = final_status_check(agws, external_id, write.final_within, f"made by {record['test']}")
            checks.append(check)
    return checks, waiting


def settled(agws) -> tuple[list[judge.Check], str | None]:
    """Settle this run's payments for a balance comparison: (PAY-FINAL-STATUS checks, why the
    balance cannot be compared or None)."""
    write = agws.require_write()
    if not write.balance_exclusive:
        return [], "the [write] table does not declare balance_exclusive = true (others may move the balance)"
    checks, waiting = settle_this_runs_payments(agws)
    if waiting:
        return checks, (f"{len(waiting)} payment(s) of this run still await confirmation ({', '.join(waiting[:3])}) "
                        "and may expire and move the balance; declare [write] lifetime, or shorten it")
    return checks, None


def unsettled_note(checks: list[judge.Check]) -> str:
    """Said with a balance judged while some of this run's payments were not final."""
    late = sum(c.requirement == "PAY-FINAL-STATUS" and c.ok is False for c in checks)
    return f" (judged although {late} payment(s) of this run were not final: see PAY-FINAL-STATUS)" if late else ""


def require_settled(agws) -> list[judge.Check]:
    """The balance is judged to the tiyn once this run's payments are final. Returns the
    PAY-FINAL-STATUS checks of those that were not within final_within, for the caller to judge with
    its own; only payments awaiting confirmation that may still expire leave the balance unjudged
    (skipped, saying why, once the checks are judged)."""
    __tracebackhide__ = True
    checks, why_not = settled(agws)
    if why_not is not None:
        agws.judge(checks)
        pytest.skip(f"not judged: {why_not}")
    return checks


@pytest.mark.requirement(*judge.success_rules("PAY-SUCCESS", "SCH-PAY-SUCCESS"), "PAY-ECHO")
def test_generated_payments(agws) -> None:
    """Generated valid payments (amounts as whole tiyn up to max_amount, datetimes in RFC 3339):
    each a schema-valid success echoing what it named. Bounded by a quarter of the payment budget."""
    budget, fixed, overrides = generation_plan(agws)
    strategy = strategies.valid_requests(without_callback_url(), fixed=fixed,
                                         overrides={**overrides, "external_id": st.just("")})

    def case(fields: dict[str, Any]) -> list[judge.Check]:
        fields = dict(fields, external_id=agws.new_external_id())
        resp = agws.pay(fields, why="generated")
        checks = judge.success(resp, requirement="PAY-SUCCESS", schema=SUCCESS_SCHEMA, schema_requirement="SCH-PAY-SUCCESS")
        data = ((resp.json or {}).get("result") or {}).get("data") if judge.is_success(resp) else None
        if isinstance(data, dict):
            checks += echo_checks(data, fields, f"generated payment {fields['external_id']!r}")
        return checks

    explore(agws, strategy, case, requirement="PAY-SUCCESS", max_examples=budget)


@pytest.mark.requirement("ROB-GENERATED-INVALID", "PAY-REFUSED-CREATES-NOTHING", "ROB-NO-CRASH", "PAY-SUCCESS")
def test_generated_invalid_payments(agws) -> None:
    """Generated schema-invalid payments, correctly signed: never a success, and nothing created.
    Not a request whose only fault is a datetime string that is no timestamp: the pages do not
    forbid one (ERRATUM-CASH-IN-DATETIME-STRING; test_malformed_payment_creates_nothing judges it
    as the SHOULD PAY-DATETIME-FORMAT). Bounded by a quarter of the payment budget."""
    budget, fixed, overrides = generation_plan(agws)
    write = agws.require_write()
    strategy = strategies.invalid_requests(without_callback_url(), fixed=fixed, overrides=overrides)

    def case(fields: dict[str, Any]) -> list[judge.Check]:
        if isinstance(fields.get("external_id"), str) and fields["external_id"]:
            fields = dict(fields, external_id=agws.new_external_id())  # never an id another payment has
        problems = schemas.errors("cash-in-request", fields)
        assume(problems and not only_the_datetime_form(fields))
        # A mistyped amount a lenient gateway might still read as a number must stay within the limit.
        assume(not _number_over(fields.get("amount"), write.max_amount))
        resp = agws.pay(content=signer.canonical_from_value(fields), why="generated invalid")
        checks = judge.refused(resp, requirement="ROB-GENERATED-INVALID")
        external_id = fields.get("external_id")
        if isinstance(external_id, str) and external_id and not judge.success_body(resp):
            status, data = agws.payment_status(external_id)
            checks.append(judge.Check("PAY-REFUSED-CREATES-NOTHING", data is None and judge.error_code(status) == 1041,
                                      f"expected 1041 for {external_id!r} after a refused invalid cash-in "
                                      f"({problems[0]}), observed {judge.describe(status)}"))
        return checks

    explore(agws, strategy, case, requirement="ROB-GENERATED-INVALID", max_examples=budget)


def only_the_datetime_form(fields: dict[str, Any]) -> bool:
    """The request's one fault is a non-empty datetime string that is no RFC 3339 timestamp: the
    pages type datetime as a String and forbid no form (a SHOULD, not robustness)."""
    value = fields.get("datetime")
    return (isinstance(value, str) and value != ""
            and not schemas.errors("cash-in-request", dict(fields, datetime="2026-12-01T10:00:00Z")))


def generation_plan(agws) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(examples, fixed fields, field strategies) for generated payments: a quarter of the remaining
    payment budget, the [write] payee and this target's credentials, amounts within the limit."""
    write = agws.require_write()
    first_payment(agws)
    budget = agws.payments_left() // 4
    if budget == 0:
        pytest.skip(f"not sent: no payment budget left for generated payments ([write] max_payments = {write.max_payments})")
    t = agws.target
    fixed = {"username": write.username, "agent": t.agent, "project": t.project, "service_code": t.service_code}
    return budget, fixed, {"amount": strategies.amounts(min(write.max_amount, 50.0))}


def without_callback_url() -> dict[str, Any]:
    """The cash-in request schema without the optional callback_url: the suite never asks for
    callbacks here, and what a Go server does with a mistyped optional field (null is "absent",
    for one) is not documented, so generating one proves nothing."""
    schema = copy.deepcopy(schemas.load_schema("cash-in-request"))
    del schema["properties"]["callback_url"]
    return schema


def _number_over(value: Any, limit: float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value > limit
    if isinstance(value, str):
        try:
            return float(value) > limit
        except ValueError:
            return False
    return False
