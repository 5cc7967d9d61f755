"""The documented AGWS methods, paths, hosts, error messages and status wordings, named once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

USER_CHECK_PATH = "/showcase-gateway/api/v1/user/check"
ACTION_STATUS_PATH = "/showcase-gateway/api/v1/action/status"

ENDPOINTS: dict[str, str] = {
    "user/check": USER_CHECK_PATH,
    "action/status": ACTION_STATUS_PATH,
}

# The documents' production origin; the suite refuses it unless --agws-allow-production.
PRODUCTION_HOSTS: frozenset[str] = frozenset({"agwsapi.tarlanpayments.kz"})

def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal, brackets allowed) is this machine's loopback.

    Decides the default rate limit (none on loopback) and where the mock may listen.
    """
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Required request fields per endpoint, in the order the documents' Go structs marshal them.
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "user/check": ("agent", "username", "project", "service_code"),
    "action/status": ("agent", "project", "service_code", "external_id"),
}



@dataclass(frozen=True)
class Method:
    """One documented method: what it looks up, and the requirements its answers are judged by."""

    lookup: str  # the field it looks up; the others are the caller's credentials
    missing_code: int  # the expected error for a lookup value the target does not hold
    found: str  # requirement: a declared value is answered with a success
    missing: str  # requirement: an unknown value gets missing_code
    success_schema: str
    success_schema_requirement: str


METHODS: dict[str, Method] = {
    "user/check": Method("username", 1407, "CHK-ACCOUNT-FOUND", "CHK-UNKNOWN-1407", "user-check-success",
                         "SCH-CHECK-SUCCESS"),
    "action/status": Method("external_id", 1041, "STS-PAYMENT-FOUND", "STS-UNKNOWN-1041", "action-status-success",
                            "SCH-STATUS-SUCCESS"),
}

# The field each endpoint looks up (the rest are the caller's credentials).
LOOKUP_FIELDS: dict[str, str] = {name: m.lookup for name, m in METHODS.items()}

# The documented messages of the codes the suite judges (the two documents' examples; public-facts.md).
DOCUMENTED_MESSAGES: dict[int, str] = {
    1014: "Invalid signature",
    1041: "Order not found",
    1407: "Cache: item not found",
}

SCOPE_ERRORS: dict[str, tuple[int, str]] = {
    "project": (8008, "project doesn't exist"),
    "agent": (9724, "showcase not found"),
    "service_code": (9721, "showcase service not found"),
}
"""The expected error for a body naming a project, agent or service code the target does not know
(public-facts.md, Error Codes), by the field that names it."""

SCOPE_CODES: dict[int, tuple[str, str]] = {
    **{code: (name, message) for name, (code, message) in SCOPE_ERRORS.items()},
    9427: ("agent", SCOPE_ERRORS["agent"][1]),  # a page version's spelling of 9724 (ERRATUM-CODE-9724-9427)
}
"""Every documented scope code -> (the field it is about, its meaning)."""

TRANSACTION_STATUSES: dict[str, str] = {
    "1": "Transaction created",
    "2": "Transaction successfully processed",
    "3": "Transaction was canceled by user",
    "4": "Transaction was failed",
    "5": "Transaction holded by service provider",
    "6": "Transaction finished with error",
    "7": "Transaction is in progress",
}
"""action/status ``data.status_code`` -> its wording (public-facts.md, Transaction status codes)."""


ACCOUNT_MESSAGES: dict[int, str] = {
    1: "This account is active",
    0: "This account is inactive",
}
"""user/check ``result.message`` in the account-check document's examples, by account_status."""

REASON_CODES: dict[int, str] = {
    100: "Unknown reason, clarification required",
    101: "Error on the service provider side",
    102: "Request validation error",
    103: "A payment with the specified ID already exists in the system",
    104: "Transaction with the specified ID is not found in the system",
    105: "Authorization error",
    106: "Verification via the provider's server is unavailable",
    107: "Transaction failed by timeout",
    200: "Insufficient balance",
    201: "Invalid ID format",
    202: "Unverified account",
    203: "Phone number not available for top-up",
    204: "Operation limit exceeded for a user with simplified identification",
    205: "Operation limit exceeded for an identified user",
    206: "Operation limit exceeded for an unidentified user",
    207: "Invoices not yet generated",
    300: "The payment amount is too large",
    301: "Limit exceeded",
    302: "Incorrect payment amount",
    303: "The payment amount is less than the minimum value",
    304: "Amount out of acceptable range",
    400: "Two confirmation requests for the same operation received with a minimal interval",
    401: "Transaction lifespan expired",
    402: "Incorrect confirmation code",
    403: "The service has already been paid",
    404: "The specified zone does not exist",
    405: "The specified zone is inactive",
    406: "A parameter required for payment is missing",
    407: "Exceeded the number of confirmation code attempts",
}
"""``fail_reason.code`` -> its meaning (public-pages.md, Reason for operation rejection). Only 100's
text appears in an example ("Unknown reason, clarification required"); the others are the page's
descriptions, not fixed messages."""

FAILED_STATUSES: frozenset[str] = frozenset({"4", "6"})
"""Payment statuses that carry a fail_reason (ERRATUM-FAILED-PAYMENT-FAIL-REASON)."""
