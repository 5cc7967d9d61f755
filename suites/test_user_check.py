"""user/check: every configured account is found, with its status, fail_reason and info category.

The target file declares what each account must look like (``account_status``, ``category``);
rules that need a kind of account the target lacks (no inactive account, no finance account)
skip and say so, rather than pass without evidence.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from agws_conformance import judge, schemas
from agws_conformance.endpoints import ACCOUNT_MESSAGES
from agws_conformance.target import CATEGORIES

pytestmark = pytest.mark.method("user/check")  # what every test here is about (coverage.method_of)

ENDPOINT = "user/check"
INFO_SCHEMAS = {"parking": ("info-parking", "SCH-INFO-PARKING"),
                "finance": ("info-finance", "SCH-INFO-FINANCE"),
                "utilities": ("info-utilities", "SCH-INFO-UTILITIES")}


def check_account(agws, username: str) -> dict[str, Any]:
    """``result`` of user/check for a configured account; its success is a precondition (CHK-ACCOUNT-FOUND).

    The envelope and the full success schema are judged once per account (``test_account_found``),
    so the other tests read fields defensively and judge only their own rule.
    """
    __tracebackhide__ = True
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, username=username))
    agws.check(judge.is_success(resp) and isinstance(resp.json.get("result"), dict), "CHK-ACCOUNT-FOUND",
               f"precondition: expected a success for configured account {username!r}, observed {judge.describe(resp)}")
    return resp.json["result"]


@pytest.mark.requirement(*judge.success_rules("CHK-ACCOUNT-FOUND", "SCH-CHECK-SUCCESS"))
def test_account_found(agws, account) -> None:
    """A configured account is answered with a schema-valid success."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, username=account.username))
    agws.expect_success(resp, requirement="CHK-ACCOUNT-FOUND", schema="user-check-success",
                        schema_requirement="SCH-CHECK-SUCCESS")


@pytest.mark.requirement("CHK-ACCOUNT-STATUS", "CHK-ACCOUNT-FOUND")
def test_account_status(agws, account) -> None:
    """account_status is 0, 1 or 2 and equals the value the target file declares."""
    result = check_account(agws, account.username)
    observed = result.get("account_status", "no account_status field")
    agws.check(type(observed) is int and observed in (0, 1, 2) and observed == account.account_status,
               "CHK-ACCOUNT-STATUS",
               f"expected account_status {account.account_status} for {account.username!r}, observed {observed!r}")


@pytest.mark.requirement("CHK-INFO-CATEGORY", "CHK-ACCOUNT-FOUND")
def test_info_category(agws, account) -> None:
    """info carries the account's declared service category as its key."""
    if account.category is None:
        pytest.skip(f"account {account.username!r} declares no category in the target file")
    result = check_account(agws, account.username)
    info = result.get("info")
    keys = sorted(info) if isinstance(info, dict) else info
    agws.check(isinstance(info, dict) and isinstance(info.get(account.category), dict), "CHK-INFO-CATEGORY",
               f"expected info.{account.category} (an object) for {account.username!r}, observed info keys {keys!r}")


@pytest.mark.requirement("CHK-INFO-SINGLE-CATEGORY", "CHK-ACCOUNT-FOUND")
def test_info_single_category(agws, account) -> None:
    """info carries exactly one service category: the service type is the key within info."""
    info = check_account(agws, account.username).get("info")
    found = sorted(k for k in info if k in CATEGORIES) if isinstance(info, dict) else []
    agws.check(len(found) == 1, "CHK-INFO-SINGLE-CATEGORY",
               f"expected exactly one of {', '.join(CATEGORIES)} in info for {account.username!r}, observed "
               f"{sorted(info) if isinstance(info, dict) else info!r}")


@pytest.mark.requirement("CHK-INFO-CATEGORY", "CHK-ACCOUNT-FOUND")
@pytest.mark.parametrize("category", [
    pytest.param("parking", marks=pytest.mark.requirement("SCH-INFO-PARKING")),
    pytest.param("finance", marks=pytest.mark.requirement("SCH-INFO-FINANCE")),
    pytest.param("utilities", marks=pytest.mark.requirement("SCH-INFO-UTILITIES")),
])
def test_info_fields(agws, category: str) -> None:
    """Every documented field of the category's info object is present and well typed."""
    agws.require_account(category=category)
    schema, requirement = INFO_SCHEMAS[category]
    for account in agws.accounts(category=category):
        result = check_account(agws, account.username)
        info = result.get("info")
        found = info.get(category) if isinstance(info, dict) else None
        agws.check(isinstance(found, dict), "CHK-INFO-CATEGORY", f"expected info.{category} for {account.username!r}, "
                   f"observed info keys {sorted(info) if isinstance(info, dict) else info!r}")
        problems = schemas.errors(schema, found)
        agws.check(not problems, requirement, f"expected info.{category} of {account.username!r} valid against "
                   f"{schema}, observed: " + ("; ".join(problems[:5]) if problems else "valid"))


@pytest.mark.requirement("CHK-ACCOUNT-FOUND")
@pytest.mark.parametrize("status,requirement,what", [
    pytest.param(0, "CHK-INACTIVE-FAIL-REASON", "inactive", marks=pytest.mark.requirement("CHK-INACTIVE-FAIL-REASON"),
                 id="inactive"),
    pytest.param(2, "CHK-UNVERIFIED-FAIL-REASON", "not verified",
                 marks=pytest.mark.requirement("CHK-UNVERIFIED-FAIL-REASON"), id="not-verified"),
])
def test_account_that_cannot_be_topped_up_says_why(agws, status: int, requirement: str, what: str) -> None:
    """An account with account_status 0 (inactive) or 2 (not verified, ERRATUM-UNVERIFIED-FAIL-REASON)
    is a success carrying fail_reason code and message."""
    agws.require_account(account_status=status)
    for account in agws.accounts(account_status=status):
        reason = check_account(agws, account.username).get("fail_reason")
        agws.check(judge.has_reason(reason), requirement, f"expected fail_reason with an integer code and a message for "
                   f"{what} account {account.username!r}, observed {reason!r}")


@pytest.mark.requirement("CHK-FAIL-REASON-CODE", "CHK-FAIL-REASON-100", "CHK-ACCOUNT-FOUND")
def test_account_fail_reason_codes(agws) -> None:
    """The fail_reason of each account that cannot be topped up has a documented code (the declared
    one, where the target file declares it) and a message; code 100 has the documented wording."""
    accounts = agws.accounts(account_status=0) + agws.accounts(account_status=2)
    if not accounts:
        pytest.skip(f"target {agws.target.name!r} configures no [[accounts]] entry with account_status 0 or 2")
    judged = 0
    for account in accounts:
        reason = check_account(agws, account.username).get("fail_reason")
        if judge.has_reason(reason):
            judged += 1
            agws.judge(judge.fail_reason_checks(reason, account.fail_reason, f"account {account.username!r}"))
    if not judged:
        pytest.skip("no account answered with a fail_reason to judge (CHK-INACTIVE-FAIL-REASON reports that)")


_INACTIVE = re.compile(r"\binactive\b|\bnot\s+active\b|\bisn't\s+active\b|неактив|не\s+актив", re.IGNORECASE)
_ACTIVE = re.compile(r"\bactive\b|актив", re.IGNORECASE)


def describes_as(message: Any, active: bool) -> bool:
    """Whether a message calls the account active (or inactive), in any wording: "Account is not
    active!" is as much a contradiction of status 1 as the example's "This account is inactive"."""
    if not isinstance(message, str):
        return False
    inactive = _INACTIVE.search(message) is not None
    return (not inactive and _ACTIVE.search(message) is not None) if active else inactive


@pytest.mark.requirement("CHK-RESULT-MESSAGE", "CHK-RESULT-MESSAGE-WORDING", "CHK-ACCOUNT-FOUND")
def test_result_message(agws) -> None:
    """result.message never contradicts account_status; for 0 and 1 it is the examples' wording (SHOULD)."""
    if not agws.target.accounts:
        pytest.skip(f"target {agws.target.name!r} configures no [[accounts]] entry")
    for account in agws.target.accounts:
        message = check_account(agws, account.username).get("message", "no message field")
        status = account.account_status
        opposite = "active" if status != 1 else "inactive"
        checks = [judge.Check("CHK-RESULT-MESSAGE", not describes_as(message, active=status != 1),
                              f"expected result.message not to call {account.username!r} {opposite} "
                              f"(account_status {status}), observed {message!r}")]
        if status in ACCOUNT_MESSAGES:
            checks.append(judge.Check("CHK-RESULT-MESSAGE-WORDING", message == ACCOUNT_MESSAGES[status],
                                      f"expected result.message {ACCOUNT_MESSAGES[status]!r} for {account.username!r} "
                                      f"(account_status {status}), observed {message!r}"))
        agws.judge(checks)


@pytest.mark.requirement("CHK-ACTIVE-EMPTY-FAIL-REASON", "CHK-ACCOUNT-FOUND")
def test_active_account_has_empty_fail_reason(agws) -> None:
    """An active account (account_status 1) has fail_reason {} (SHOULD: the active example)."""
    agws.require_account(account_status=1)
    for account in agws.accounts(account_status=1):
        result = check_account(agws, account.username)
        reason = result.get("fail_reason", "no fail_reason field")
        agws.check(reason == {}, "CHK-ACTIVE-EMPTY-FAIL-REASON",
                   f"expected fail_reason {{}} for active account {account.username!r}, observed {reason!r}")


@pytest.mark.requirement("CHK-FINANCE-MIN-MAX", "CHK-ACCOUNT-FOUND")
def test_finance_contract_min_not_above_max(agws) -> None:
    """Each finance contract has min <= max (SHOULD: the finance table names a range)."""
    agws.require_account(category="finance")
    judged = 0
    for account in agws.accounts(category="finance"):
        info = check_account(agws, account.username).get("info")
        finance = info.get("finance") if isinstance(info, dict) else None
        contracts = finance.get("contracts") if isinstance(finance, dict) else None
        for i, contract in enumerate(contracts if isinstance(contracts, list) else ()):
            low, high = (contract.get("min"), contract.get("max")) if isinstance(contract, dict) else (None, None)
            if judge.is_number(low) and judge.is_number(high):
                judged += 1
                agws.check(low <= high, "CHK-FINANCE-MIN-MAX", f"expected min <= max in contract {i} of "
                           f"{account.username!r}, observed min {low!r} and max {high!r}")
    if not judged:
        pytest.skip("no finance contract with numeric min and max to compare (the info-finance schema "
                    "test reports malformed contracts)")


@pytest.mark.requirement("CHK-PARKING-COORDINATES", "CHK-ACCOUNT-FOUND")
def test_parking_coordinates_in_range(agws) -> None:
    """Parking coordinates are geographic: latitude within ±90, longitude within ±180 (SHOULD)."""
    agws.require_account(category="parking")
    judged = 0
    for account in agws.accounts(category="parking"):
        info = check_account(agws, account.username).get("info")
        parking = info.get("parking") if isinstance(info, dict) else None
        where = parking.get("coordinates") if isinstance(parking, dict) else None
        if not isinstance(where, dict) or not (judge.is_number(where.get("latitude")) and judge.is_number(where.get("longitude"))):
            continue  # optional in the examples; its type is the info-parking schema's business
        judged += 1
        lat, lon = where["latitude"], where["longitude"]
        agws.check(-90 <= lat <= 90 and -180 <= lon <= 180, "CHK-PARKING-COORDINATES",
                   f"expected latitude in [-90, 90] and longitude in [-180, 180] for {account.username!r}, "
                   f"observed latitude {lat!r} and longitude {lon!r}")
    if not judged:
        pytest.skip("no parking account answered with numeric coordinates (they are optional)")


@pytest.mark.requirement(*judge.expected_error_rules("CHK-UNKNOWN-1407"))
def test_unknown_username_gets_1407(agws) -> None:
    """A username the target cannot hold gets expected error 1407 in the target's error format."""
    resp = agws.send(ENDPOINT, agws.fields(ENDPOINT, username=agws.unknown_username()))
    agws.expect_expected_error(resp, code=1407, requirement="CHK-UNKNOWN-1407")
