"""The documented AGWS methods, paths, hosts, error messages and status wordings, named once."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

USER_CHECK_PATH = "/showcase-gateway/api/v1/user/check"
ACTION_STATUS_PATH = "/showcase-gateway/api/v1/action/status"
CASH_IN_PATH = "/showcase-gateway/api/v1/action/cash-in"
BALANCE_PATH = "/showcase-gateway/api/v1/showcase/balance"
COMMISSION_PATH = "/showcase-gateway/api/v1/calculate/upper/commission"
CONFIRM_PATH = "/showcase-gateway/api/v1/action/confirm/invoice"
LINK_PATH = "/showcase-gateway/api/v1/action/link"

# The documents' production origin; the suite refuses it unless --agws-allow-production, and the
# write suites refuse it always.
PRODUCTION_HOSTS: frozenset[str] = frozenset({"agwsapi.tarlanpayments.kz"})

MOCK_HEADER = "X-AGWS-Mock"
"""Not AGWS: the response header every answer of the bundled mock carries (embedded, or served by
``agws-conformance mock``). A gateway does not send it, so a run that sees it is a mock run."""
MOCK_TIME_SCALE_HEADER = "X-AGWS-Mock-Time-Scale"
"""The bundled mock's own pace on every answer: its callback backoff (and a receiver's slow delay) is
the documented timing times this (``agws-conformance mock --time-scale``); a real gateway sends none."""


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


ErrorFormatRule = Literal["target", "old"]
Subject = Literal["account", "payment", "new-payment", "pending-payment"]
Effect = Literal["payment", "confirmation", "link"]


@dataclass(frozen=True)
class Method:
    """One documented method: everything the schemas, the mock, the strategies, the OpenAPI export
    and the suites need to know about it. Adding a method is adding an entry to :data:`METHODS`."""

    name: str  # "user/check": the suffix of the path, and how reports name the method
    path: str
    page: str  # where the documents describe it
    fields: tuple[str, ...]  # required request fields, in the order the documents' Go structs marshal them
    request_schema: str
    success_schema: str
    success_schema_requirement: str
    scope: tuple[str, ...]  # the credential fields the gateway must check against the caller's project
    found: str  # requirement: a declared value (or a valid request) is answered with a success
    error_format: ErrorFormatRule = "target"
    """"old": every expected error in the old format, whatever the target's (Make a payment,
    ERRATUM-CASH-IN-ERROR-FORMAT); "target": the format the target declares (or "auto")."""
    writes: bool = False  # side effects: run only when the target file's [write] table allows it
    optional: tuple[str, ...] = ()  # documented optional request fields
    lookup: str | None = None  # the field it looks up; the others are the caller's credentials
    missing_code: int | None = None  # the expected error for a lookup value the target does not hold
    missing: str | None = None  # requirement: an unknown value gets missing_code
    subject: Subject | None = None
    """What a request this target would serve names besides the caller's credentials: a declared
    ``account`` or ``payment`` (looked up), a ``new-payment`` (a fresh external_id within the [write]
    limits), a ``pending-payment`` (one of this run's payments awaiting confirmation, with the
    declared confirm_code); None: nothing else (the target's valid fields are served as they are).
    The rule suites build every request they break from it (``plugin/rules.py``)."""
    scope_codes: tuple[tuple[str, int], ...] = ()
    """(scope field, code): documented codes a refusal naming another value of that field may carry
    on this method besides the field's own (``SCOPE_ERRORS``), e.g. balance's 8015 (ERRATUM-BALANCE-UNKNOWN-AGENT)."""
    effect: Effect | None = None
    """What a served request of a writing method leaves behind, so that a refused one can be shown
    to have left nothing (PAY-REFUSED-CREATES-NOTHING): a ``payment`` (the status method knows its
    external_id, the balance moves), a ``confirmation`` (the payment it names is no longer waiting),
    a ``link`` (a redirect_url in the answer)."""


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("user/check", USER_CHECK_PATH, "Check account status (account-check document)",
           ("agent", "username", "project", "service_code"), "user-check-request", "user-check-success",
           "SCH-CHECK-SUCCESS", ("project", "agent", "service_code"),
           lookup="username", missing_code=1407, found="CHK-ACCOUNT-FOUND", missing="CHK-UNKNOWN-1407",
           subject="account"),
    Method("action/status", ACTION_STATUS_PATH, "Checking the refill status (payment-status document)",
           ("agent", "project", "service_code", "external_id"), "action-status-request", "action-status-success",
           "SCH-STATUS-SUCCESS", ("project", "agent", "service_code"),
           lookup="external_id", missing_code=1041, found="STS-PAYMENT-FOUND", missing="STS-UNKNOWN-1041",
           subject="payment"),
    Method("action/cash-in", CASH_IN_PATH, "Make a payment (public-pages.md §2.8)",
           ("username", "amount", "agent", "project", "service_code", "external_id", "datetime"),
           "cash-in-request", "cash-in-success", "SCH-PAY-SUCCESS", ("project", "agent", "service_code"),
           error_format="old", writes=True, optional=("callback_url",), found="PAY-SUCCESS",
           subject="new-payment", effect="payment"),
    Method("showcase/balance", BALANCE_PATH, "Checking the remaining balance (public-pages.md §2.10)",
           ("agent",), "balance-request", "balance-success", "SCH-BAL-SUCCESS", ("agent",),
           found="BAL-ANSWERED", scope_codes=(("agent", 8015),)),
    Method("calculate/upper/commission", COMMISSION_PATH,
           "Calculation of the upper commission (public-pages.md §2.16)",
           ("agent", "project", "service_code", "amount"), "commission-request", "commission-success",
           "SCH-COM-SUCCESS", ("project", "agent", "service_code"), found="COM-ANSWERED"),
    Method("action/confirm/invoice", CONFIRM_PATH, "Confirmation of funds debit (public-pages.md §2.11)",
           ("agent", "external_id"), "confirm-request", "confirm-success", "SCH-CNF-SUCCESS", ("agent",),
           writes=True, optional=("confirm_code",), found="CNF-CONFIRMED", subject="pending-payment",
           effect="confirmation"),
    Method("action/link", LINK_PATH, "Creating a payment link (public-pages.md §2.12)",
           ("agent", "username", "amount", "service", "refer_host"), "link-request", "link-success",
           "SCH-LINK-SUCCESS", ("agent",), writes=True, optional=("return_url",), found="LNK-CREATED",
           effect="link"),
)}

ENDPOINTS: dict[str, str] = {name: m.path for name, m in METHODS.items()}
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {name: m.fields for name, m in METHODS.items()}
LOOKUP_FIELDS: dict[str, str] = {name: m.lookup for name, m in METHODS.items() if m.lookup is not None}
"""The field each lookup method looks up (the rest are the caller's credentials)."""

LOOKUP_METHODS: tuple[str, ...] = tuple(name for name, m in METHODS.items() if m.lookup and not m.writes)
"""Read-only methods that look an identifier up: the suites built on "declared vs unknown" run on these."""
PLAIN_METHODS: tuple[str, ...] = tuple(name for name, m in METHODS.items() if not m.lookup and not m.writes)
"""Read-only methods without a lookup (balance, commission): a valid request is simply answered."""
WRITE_METHODS: tuple[str, ...] = tuple(name for name, m in METHODS.items() if m.writes)

# The documented messages of the codes the suite judges (the two documents' examples; public-facts.md).
DOCUMENTED_MESSAGES: dict[int, str] = {
    1014: "Invalid signature",
    1041: "Order not found",
    1042: "duplicate external id",
    1407: "Cache: item not found",
    1410: "not enough balance",
    5103: "transaction not found",
    5413: "transaction already finished",
    8015: "account doesn't exist",
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

FINAL_STATUSES: frozenset[str] = frozenset({"2", "3", "4", "6"})
"""Statuses a payment does not leave; "6" needs manual reconciliation but is no longer in progress
(ERRATUM-STATUS-6-FINAL)."""

LIFETIME_REASONS: frozenset[int] = frozenset({401, 107})
"""The fail_reason codes a lifetime expiry may carry (ERRATUM-LIFETIME-REASON)."""
