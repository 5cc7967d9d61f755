"""Amounts as Decimal tiyn: one tiyn over a balance is over it for every balance, however it is written."""

from __future__ import annotations

import math
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from agws_conformance import money

BALANCES = st.integers(min_value=0, max_value=10**11)  # whole tiyn up to a billion tenge


@given(BALANCES)
def test_one_tiyn_over_is_exactly_the_balance_plus_a_tiyn(tiyn: int) -> None:
    balance = tiyn / 100  # as a gateway's JSON number reads back
    over = money.one_tiyn_over(balance)
    assert over == Decimal(tiyn) / 100 + money.TIYN
    assert money.on_the_wire(over) > balance and money.cents(money.on_the_wire(over)) == over


@given(BALANCES, st.lists(st.integers(min_value=1, max_value=10**6), max_size=30))
def test_a_float_running_total_reads_to_the_tiyn(opening: int, paid: list[int]) -> None:
    balance = opening / 100
    for amount in paid:  # a gateway keeping the balance as a float64 running total
        balance -= amount / 100
    exact = Decimal(opening - sum(paid)) / 100
    assert money.cents(balance) == exact
    assert money.on_the_wire(money.one_tiyn_over(balance)) > balance


def test_the_float_formula_it_replaces_was_wrong() -> None:
    for balance in (4988.44, 1.13):
        assert (math.floor(balance * 100) + 1) / 100 == balance  # the old test's amount: not over at all
        assert money.one_tiyn_over(balance) == Decimal(repr(balance)) + money.TIYN


def test_cents_refuses_what_is_no_amount() -> None:
    assert [money.cents(v) for v in ("1.00", True, None, float("nan"), float("inf"))] == [None] * 5
    assert money.cents(3) == Decimal("3.00") and money.cents(Decimal("2.345")) == Decimal("2.34")


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=10**6),
       st.integers(min_value=0, max_value=10**6))
def test_draws_are_whole_tiyn_within_the_bounds(seed: int, low: int, span: int) -> None:
    low_d, high_d = Decimal(low) / 100, Decimal(low + span) / 100
    amount = money.draw(random.Random(seed), low_d, high_d)
    assert low_d <= amount <= high_d and amount == amount.quantize(money.TIYN)
    assert money.draw(random.Random(seed), Decimal("5"), Decimal("0.999")) == Decimal("0.99")  # high wins
