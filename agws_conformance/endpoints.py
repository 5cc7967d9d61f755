"""The documented AGWS paths and hosts, named once."""

from __future__ import annotations

USER_CHECK_PATH = "/showcase-gateway/api/v1/user/check"
ACTION_STATUS_PATH = "/showcase-gateway/api/v1/action/status"

ENDPOINTS: dict[str, str] = {
    "user/check": USER_CHECK_PATH,
    "action/status": ACTION_STATUS_PATH,
}

# The documents' production origin; the suite refuses it unless --agws-allow-production.
PRODUCTION_HOSTS: frozenset[str] = frozenset({"agwsapi.tarlanpayments.kz"})

# Required request fields per endpoint, in the order the documents' Go structs marshal them.
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "user/check": ("agent", "username", "project", "service_code"),
    "action/status": ("agent", "project", "service_code", "external_id"),
}
