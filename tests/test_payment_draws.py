"""Suite traffic a gateway cannot recognise: amounts and external_id suffixes differ from run to run,
even under the same --hypothesis-seed (issue 23, item 9)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from agws_conformance import money
from agws_conformance.mock import embedded_target

try:
    from suite_runs import run_suites
except ImportError:  # run from the repository root as a package
    from tests.suite_runs import run_suites

WRITE = embedded_target().write
ID = re.compile(re.escape(WRITE.id_prefix) + r"-[a-z0-9]{16}\Z")


def payments_of(out: Path) -> list[dict]:
    run = run_suites(out, "--hypothesis-seed=0", "-k", "test_payment_accepted or test_repeat_with_another_amount")
    assert [t["outcome"] for t in run.summary["tests"]] == ["passed", "passed"], run.output[-2000:]
    return run.summary["targets"][0]["payments"]


def test_two_runs_with_one_seed_send_different_amounts_and_ids(tmp_path: Path) -> None:
    first, second = payments_of(tmp_path / "a"), payments_of(tmp_path / "b")
    assert len(first) == len(second) >= 3
    for payment in first + second:
        assert ID.match(payment["external_id"]), payment["external_id"]
        amount = money.cents(payment["amount"])
        assert amount is not None and Decimal("1.00") <= amount <= min(Decimal("9.99"), money.cents(WRITE.max_amount))
        assert Decimal(repr(payment["amount"])) == amount  # whole tiyn on the wire
    assert not {p["external_id"] for p in first} & {p["external_id"] for p in second}
    assert [p["amount"] for p in first] != [p["amount"] for p in second]
