"""The mock gateway's data: the bundled target and the realistic answers it gives.

Every answer is derived from the username or external_id alone (a seeded ``random.Random``), so
the same request gets the same body in every run and on every machine, which keeps transcripts and
test failures reproducible while the data still looks like a Kazakh parking, finance or utilities
provider's (tenge amounts, Almaty/Astana coordinates, Cyrillic addresses).
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import secrets
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from agws_conformance.endpoints import ACCOUNT_MESSAGES as DOCUMENTED_ACCOUNT_MESSAGES
from agws_conformance.endpoints import FAILED_STATUSES, REASON_CODES, TRANSACTION_STATUSES
from agws_conformance.resources import data_dir
from agws_conformance.target import Account, Payment, Target, load_target

MOCK_TARGET_FILE = "mock.toml"

# The neighbour scope mock.toml declares (other_agent, other_project, other_service_code) exists on
# the mock with a showcase of its own: this is its balance, which only a gateway leaking scope
# (the fault scope-leak-neighbour) ever shows to this target's credentials.
NEIGHBOUR_BALANCE = 73150.25


# Every example's fail_reason is code 100 with this message (the key is "message", as in every
# example, not the field tables' "massage"); a target file may declare another code per account or
# payment, which is then answered with the reason page's wording for it.
UNKNOWN_REASON = 100

# The examples' wordings for 0 and 1; 2 has no example.
ACCOUNT_MESSAGES: dict[int, str] = {**DOCUMENTED_ACCOUNT_MESSAGES, 2: "This account is not verified"}

# Accounts that cannot be topped up say why; 2 (not verified) with the reason page's 202.
ACCOUNT_REASONS: dict[int, int] = {0: UNKNOWN_REASON, 2: 202}


def fail_reason(code: int) -> dict[str, Any]:
    return {"code": code, "message": REASON_CODES.get(code, "Unknown reason")}


# An account without a declared category is answered as parking, the documents' main example.
DEFAULT_CATEGORY = "parking"

_ALMATY = timezone(timedelta(hours=5))


def mock_target_path() -> Path:
    """The bundled ``targets/mock.toml``."""
    return data_dir("targets") / MOCK_TARGET_FILE


def embedded_target(
    error_format: str = "new",
    *,
    agent: str | None = None,
    project: str | None = None,
    service_code: str | None = None,
    path: str | Path | None = None,
) -> Target:
    """Load the bundled mock target with a freshly generated secret.

    Each embedded run gets new credentials, so a secret can never leak from one run into another
    run's transcript or be mistaken for a real one. ``error_format`` "auto" means "new" for a mock
    (a mock must answer in one definite format).
    """
    if error_format not in ("old", "new", "auto"):
        raise ValueError(f"error_format must be 'old', 'new' or 'auto', not {error_format!r}")
    source = Path(path) if path is not None else mock_target_path()
    secret_env = tomllib.loads(source.read_text(encoding="utf-8"))["target"]["secret_env"]
    target = load_target(source, environ={secret_env: secrets.token_urlsafe(32)})
    overrides: dict[str, Any] = {"error_format": "new" if error_format == "auto" else error_format}
    for key, value in (("agent", agent), ("project", project), ("service_code", service_code)):
        if value is not None:
            overrides[key] = value
    return dataclasses.replace(target, **overrides)


def _rng(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _tenge(rng: random.Random, low: int, high: int) -> float:
    """An amount in tenge with tiyn (two decimals); whole amounts are common, as in real bills."""
    if rng.random() < 0.4:
        return float(rng.randint(low, high))
    return round(rng.uniform(low, high), 2)


def _phone(rng: random.Random) -> str:
    return "7" + rng.choice(("701", "702", "705", "707", "747", "771", "775", "777")) + "".join(
        str(rng.randint(0, 9)) for _ in range(7)
    )


def _moment(rng: random.Random) -> datetime:
    start = datetime(2024, 6, 1, tzinfo=_ALMATY)
    return start + timedelta(seconds=rng.randint(0, 300 * 24 * 3600))


def category_of(account: Account) -> str:
    return account.category or DEFAULT_CATEGORY


def parking_info(username: str, active: bool) -> dict[str, Any]:
    """Every documented parking field; an inactive account gets the documented empty shape."""
    if not active:
        return {
            "in_date": "",
            "left_free_time_minutes": 0,
            "sum": 0,
            "current_balance": 0,
            "zone": "",
            "coordinates": {"latitude": 0, "longitude": 0},
            "duration": 0,
            "phone": "",
        }
    rng = _rng("parking", username)
    city_lat, city_lon = rng.choice(((43.238949, 76.889709), (51.128207, 71.430411)))
    duration = rng.randint(10, 600) * 60
    return {
        "in_date": _moment(rng).replace(microsecond=0).isoformat(),
        "left_free_time_minutes": float(rng.choice((0, 0, 5, 10, 15))),
        "sum": float(rng.randint(1, 40) * 50),
        "current_balance": float(rng.choice((-1, 0, rng.randint(100, 5000)))),
        "zone": f"{rng.randint(1000, 9999)}-{rng.randint(100, 999)}",
        "coordinates": {
            "latitude": round(city_lat + rng.uniform(-0.05, 0.05), 6),
            "longitude": round(city_lon + rng.uniform(-0.05, 0.05), 6),
        },
        "duration": duration,
        "phone": _phone(rng),
    }


_CONTRACT_NAMES = ("Кредит наличными", "Рассрочка на технику", "Микрокредит", "Автокредит", "Ипотека")
_CLIENTS = ("Иванов Иван", "Нұрлан Сейітов", "Айгерим Қасымова", "John Doe", "Ерлан Жұмабаев")


def finance_info(username: str) -> dict[str, Any]:
    rng = _rng("finance", username)
    contracts = []
    for _ in range(rng.randint(1, 3)):
        low = _tenge(rng, 500, 5000)
        high = round(low + _tenge(rng, 1000, 250000), 2)
        signed = _moment(rng) - timedelta(days=rng.randint(30, 700))
        contracts.append(
            {
                "contract_id": str(rng.randint(100000000, 999999999)),
                "contract_name": rng.choice(_CONTRACT_NAMES),
                "contract_date": signed.strftime("%d.%m.%Y %H:%M:%S"),
                "client": rng.choice(_CLIENTS),
                "amount": high,
                "min": low,
                "max": high,
            }
        )
    return {"phone": _phone(rng), "contracts": contracts}


_ADDRESSES = (
    "г.Алматы, ул. Абая д. {n} кв. {k}",
    "г. Астана, пр. Мәңгілік Ел д. {n} кв. {k}",
    "г. Шымкент, ул. Тәуке хан д. {n} кв. {k}",
    "г. Қарағанды, ул. Бұқар Жырау д. {n} кв. {k}",
)
# name, measure, metered
_SERVICES = (
    ("Электроэнергия", "тг/кВт.сағ.", True),
    ("Холодная вода", "тг/м³", True),
    ("Горячая вода", "тг/м³", True),
    ("Вывоз мусора", "тг/чел.", False),
    ("Отопление", "тг/Гкал", False),
)


def utilities_info(username: str) -> dict[str, Any]:
    rng = _rng("utilities", username)
    formed = _moment(rng).replace(day=rng.randint(1, 10))
    period = (formed.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    services = []
    for index in rng.sample(range(len(_SERVICES)), rng.randint(2, 4)):
        name, measure, metered = _SERVICES[index]
        prev_count = float(rng.randint(100, 9000)) if metered else 0.0
        used = float(rng.randint(1, 300)) if metered else 0.0
        tariff = round(rng.uniform(20, 90), 2)
        fix_sum = 0.0 if metered else _tenge(rng, 300, 6000)
        total = round(used * tariff, 2) if metered else fix_sum
        debt = 0.0 if rng.random() < 0.7 else _tenge(rng, 100, 20000)
        services.append(
            {
                "fix_sum": fix_sum,
                "service_id": str(1000 + index * 17 + rng.randint(0, 9)),
                "service_name": name,
                "measure": measure,
                "fix_count": 0.0 if metered else float(rng.randint(1, 5)),
                "prev_count": prev_count,
                "last_count": prev_count + used,
                "debt_sum": debt,
                "debt_info": "" if not debt else f"Задолженность за {period}",
                "prev_count_date": (formed - timedelta(days=40)).strftime("%Y-%m-%d"),
                "last_count_date": (formed - timedelta(days=10)).strftime("%Y-%m-%d"),
                "sum": total,
                "pay_sum": round(total + debt, 2),
                "is_counter_service": metered,
            }
        )
    return {
        "customer": {"address": rng.choice(_ADDRESSES).format(n=rng.randint(1, 300), k=rng.randint(1, 250))},
        "invoice": {
            "invoice_id": str(rng.randint(10**13, 10**14 - 1)),
            "period_date": period,
            "formed_date": formed.strftime("%Y-%m-%d %H:%M:%S"),
            "expire_date": (formed + timedelta(days=10)).strftime("%Y-%m-%d"),
        },
        "service": services,
    }


def _amount_due(category: str, info: dict[str, Any]) -> float:
    if category == "parking":
        return info["sum"]
    if category == "finance":
        return info["contracts"][0]["min"]
    return round(sum(service["pay_sum"] for service in info["service"]), 2)


def account_result(account: Account) -> dict[str, Any]:
    """``result`` of a user/check success for a configured account."""
    category = category_of(account)
    active = account.account_status == 1
    if category == "finance":
        info = finance_info(account.username)
    elif category == "utilities":
        info = utilities_info(account.username)
    else:
        info = parking_info(account.username, active)
    amount = _amount_due(category, info) if active else 0.0
    return {
        "error_code": 0,
        "message": ACCOUNT_MESSAGES[account.account_status],
        "account_status": account.account_status,
        "fail_reason": {} if active else fail_reason(account.fail_reason or ACCOUNT_REASONS[account.account_status]),
        "info": {category: info},
        "amount": amount,
        # The documents' example: amount 119, upper_commission 122 (about 2.5 % on top).
        "upper_commission": round(amount * 1.025, 2) if active else 0.0,
    }


def payment_data(payment: Payment, request: dict[str, str], usernames: tuple[str, ...]) -> dict[str, Any]:
    """``result.data`` of an action/status success; echoes the request's identifiers."""
    rng = _rng("payment", payment.external_id)
    initiated = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randint(0, 500 * 24 * 3600))
    failed = payment.status_code in FAILED_STATUSES
    username = rng.choice(usernames) if usernames else str(rng.randint(10**5, 10**6 - 1))
    amount = _tenge(rng, 100, 50000)
    return {
        "status_code": payment.status_code,
        "status_message": TRANSACTION_STATUSES.get(payment.status_code, "Transaction status unknown"),
        "username": payment.username or username,
        "amount": payment.amount if payment.amount is not None else amount,
        "fail_reason": fail_reason(payment.fail_reason or UNKNOWN_REASON) if failed else {},
        "datetime": initiated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "project": request["project"],
        "service_code": request["service_code"],
        "external_id": request["external_id"],
    }
