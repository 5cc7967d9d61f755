"""Amounts in tenge as ``Decimal`` whole tiyn: how the suite provokes and compares balances.

A gateway writes amounts as JSON numbers (float64): 4988.44 is stored as 4988.4399999999996...,
and a balance kept as a float running total may read 4993.269999999999. Arithmetic on those
floats (``floor(balance * 100) + 1``) lands on the balance itself for about one balance in
fifteen, so every amount the suite compares or derives from a balance goes through here: read to
the nearest tiyn, computed in ``Decimal``, and written back as the float Go would send.
"""

from __future__ import annotations

import math
import random
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

TIYN = Decimal("0.01")
"""One tiyn, the smallest amount in tenge."""


def cents(value: Any) -> Decimal | None:
    """A JSON number in tenge to the nearest tiyn (None for anything else: a string, a bool, NaN).

    Read through ``repr``, the shortest text that round-trips the float, so 4988.44 is 4988.44 and
    a float sum's 4993.269999999999 is 4993.27."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(TIYN, rounding=ROUND_HALF_EVEN)


def one_tiyn_over(balance: Any) -> Decimal:
    """The smallest whole-tiyn amount strictly over ``balance``: the nearest tiyn plus one.

    A balance within half a tiyn of its rounding is below that rounding plus one tiyn, whichever
    way it was rounded."""
    rounded = cents(balance)
    if rounded is None:
        raise ValueError(f"not an amount: {balance!r}")
    return rounded + TIYN


def on_the_wire(amount: Decimal) -> float:
    """What the suite sends: the float64 nearest a whole-tiyn amount (Go writes it back as typed)."""
    return float(amount)


def draw(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    """A whole-tiyn amount in [low, high] (high first rounded down to the tiyn), drawn from ``rng``."""
    top = high.quantize(TIYN, rounding=ROUND_FLOOR)
    bottom = min(max(low, TIYN), top)
    return Decimal(rng.randint(int(bottom * 100), int(top * 100))) / 100
