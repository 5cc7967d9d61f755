"""The documented AGWS paths, hosts, error messages and status wordings, named once."""

from __future__ import annotations

import ipaddress

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

# The documented messages of the codes the suite judges (the two documents' examples; public-facts.md).
DOCUMENTED_MESSAGES: dict[int, str] = {
    1014: "Invalid signature",
    1041: "Order not found",
    1407: "Cache: item not found",
}

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
