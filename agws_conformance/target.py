"""The target under test: a TOML file, validated with one-line errors that name file, key and line.

A target file is written by hand by a QA engineer, so every mistake is reported as
``file:line: key problem; what to do`` instead of a traceback. The signing secret is never in the
file: the file names an environment variable (``secret_env``) and the value is read from there into
a :class:`Secret`, which refuses to show itself anywhere but :meth:`Secret.reveal`.
"""

from __future__ import annotations

import difflib
import hmac
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, cast
from urllib.parse import urlsplit

from agws_conformance.errors import ConfigError, did_you_mean
from agws_conformance.endpoints import PRODUCTION_HOSTS, REASON_CODES, REQUEST_FIELDS, TRANSACTION_STATUSES
from agws_conformance.signer import Variant

__all__ = [
    "Account",
    "ConfigError",
    "Payment",
    "Secret",
    "Target",
    "Callbacks",
    "Receiver",
    "Write",
    "check_path_prefix",
    "is_production",
    "is_production_url",
    "load_target",
    "missing_secret_message",
    "parse_target",
    "resolve_target",
    "secret_problem",
    "secret_warning",
]

ErrorFormat = Literal["old", "new", "auto"]
Signing = Literal["auto", "go1.22", "go1.21"]

ERROR_FORMATS: tuple[str, ...] = ("old", "new", "auto")
CATEGORIES: tuple[str, ...] = ("parking", "finance", "utilities")
SIGNINGS: tuple[str, ...] = ("auto", "go1.22", "go1.21")
ACCOUNT_STATUSES: tuple[int, ...] = (0, 1, 2)
STATUS_CODES: tuple[str, ...] = tuple(TRANSACTION_STATUSES)
DEFAULT_SECRET_ENV = "AGWS_SECRET"

# Environment variables below the target file in precedence (command line > file > environment).
ENV_KEYS: dict[str, str] = {
    "base_url": "AGWS_BASE_URL",
    "agent": "AGWS_AGENT",
    "project": "AGWS_PROJECT",
    "service_code": "AGWS_SERVICE_CODE",
    "error_format": "AGWS_ERROR_FORMAT",
}
TARGET_FILE_ENV = "AGWS_TARGET"

_TOP_KEYS = ("target", "accounts", "payments", "write", "callbacks", "receiver")
_TARGET_KEYS = (
    "name",
    "base_url",
    "agent",
    "project",
    "service_code",
    "secret_env",
    "error_format",
    "signing",
    "omit_empty",
    "categories",
    "other_agent",
    "other_project",
    "other_service_code",
)
_REQUIRED_TARGET_KEYS = ("base_url", "agent", "project", "service_code")
SCOPE_FIELDS = ("project", "agent", "service_code")
"""The credential fields a request names its scope by; ``other_<field>`` declares a neighbour's."""
_ACCOUNT_KEYS = ("username", "account_status", "category", "fail_reason")
_PAYMENT_KEYS = ("external_id", "status_code", "username", "amount", "fail_reason")
_WRITE_KEYS = ("enabled", "username", "max_amount", "max_payments", "final_within", "poll_interval",
               "balance_exclusive", "expiring_username", "lifetime", "id_prefix", "confirm_code")
_CALLBACK_KEYS = ("listen", "url", "within", "observe", "time_scale")
_RECEIVER_KEYS = ("name", "url", "secret_env", "project", "service_code", "external_id", "username", "amount",
                  "status_code", "timeout", "signing")
Side = Literal["gateway", "receiver"]
_ID_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,24}\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Secret:
    """The signing secret: ``repr``/``str``/f-strings show ``Secret('***')``, ``reveal()`` gives it.

    It refuses to be pickled (so it cannot leak into a pytest-xdist payload or a cache file) and
    compares in constant time.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret value must be a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the secret itself: call this only where the signature is computed."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        # Hash a digest, not the value, so hash() reveals nothing usable about the secret.
        import hashlib

        return hash(("Secret", hashlib.sha256(self._value.encode()).digest()))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("Secret cannot be pickled: read it from the environment in each process")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


@dataclass(frozen=True)
class Account:
    """A test account the target holds, with the account_status it must report.

    ``fail_reason``: the ``fail_reason.code`` it must report, when the target file declares one.
    """

    username: str
    account_status: int
    category: str | None = None
    fail_reason: int | None = None


@dataclass(frozen=True)
class Payment:
    """A payment the target holds, with the status_code (a string "1".."7") it must report.

    ``username``, ``amount`` and ``fail_reason`` (its code) are compared only when declared.
    """

    external_id: str
    status_code: str
    username: str | None = None
    amount: float | None = None
    fail_reason: int | None = None


@dataclass(frozen=True)
class Write:
    """The ``[write]`` table: the target file's explicit permission for the suites that move money.

    Without it the payment suites are not applicable. Every cash-in the suite sends counts against
    ``max_payments`` (a refused one too: a gateway that wrongly accepts it has moved money), and no
    amount exceeds ``max_amount``. Never honoured for the documents' production host.
    """

    username: str  # the test account that may receive money
    max_amount: float  # per payment
    max_payments: int  # cash-in requests per run
    final_within: float = 60.0  # seconds for a payment to reach a final status
    poll_interval: float = 1.0  # seconds between status polls
    balance_exclusive: bool = False  # nobody else moves the showcase balance during the run
    expiring_username: str | None = None  # an account whose payments stay "1" until the lifetime ends
    lifetime: float | None = None  # seconds: the merchant's transaction lifetime (with expiring_username)
    id_prefix: str = "agws-test"  # every external_id the suite creates starts with it and the run id
    confirm_code: str | None = None  # the code that confirms a debit awaiting confirmation (issuance is undocumented)


@dataclass(frozen=True)
class Callbacks:
    """The ``[callbacks]`` table: the run starts a receiver and its payments name it as callback_url."""

    host: str = "127.0.0.1"  # where the receiver listens
    port: int = 0  # 0: any free port
    url: str | None = None  # what the gateway must call (a tunnel, a CI service name); None: the listening address
    within: float = 30.0  # seconds after a payment is final for its callback to arrive
    observe: float = 5.0  # seconds to watch for more deliveries after the receiver answered 200
    time_scale: float = 1.0  # the gateway's backoff timings times this (1 for a real gateway)


@dataclass(frozen=True)
class Receiver:
    """The ``[receiver]`` table: an integrator's callback receiver, judged by the suite as the sender.

    The suite POSTs Payment System Callbacks to ``url``, signed with the secret in ``secret_env``,
    about one payment the receiver may treat as its own (``external_id`` with its ``username``,
    ``amount`` and final ``status_code``), and waits at most ``timeout`` seconds for each answer
    (the page states no timeout for the gateway's client: ERRATUM-RECEIVER-TIMEOUT).
    """

    url: str
    external_id: str
    username: str = "test-user"
    amount: float = 100.0
    status_code: str = "2"  # the known payment's final status, as the genuine callback reports it
    timeout: float = 10.0


@dataclass(frozen=True)
class Target:
    """Everything the suite needs to talk to one gateway deployment (or, with ``receiver``, to
    the integrator's callback receiver: the other side, see :attr:`side`)."""

    name: str
    base_url: str
    agent: str
    project: str
    service_code: str
    secret_env: str
    secret: Secret | None
    error_format: ErrorFormat
    accounts: tuple[Account, ...]
    payments: tuple[Payment, ...]
    signing: Signing = "auto"
    """The Go escapes of the target's signer as the file declares them; "auto": detected by the preflight."""
    omit_empty: bool | None = None
    """Whether the target's signer leaves "" fields out, as declared; None ("auto"): detected."""
    categories: tuple[str, ...] | None = None
    """The service categories the showcase serves; None: all three. The others' rules are n/a."""
    neighbour: tuple[tuple[str, str], ...] = ()
    """Another scope that exists on the gateway, as (field, value) pairs (``other_agent`` -> "agent"):
    what the scope rules name instead of an unknown identifier, so a leak to a real neighbour is seen."""
    write: Write | None = None
    """The ``[write]`` table when present and enabled: what the payment suites may do."""
    callbacks: Callbacks | None = None
    """The ``[callbacks]`` table: the receiver the payments' callback_url names."""
    receiver: Receiver | None = None
    """The ``[receiver]`` table: this file judges an integrator's callback receiver, not a gateway
    (``base_url`` is then the receiver's URL, ``agent`` empty, and no gateway suite applies)."""
    source: str | None = None  # the file it came from, for messages; None when built from flags
    file_keys: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """The [target] keys the file set itself (the environment fills only the others)."""

    @property
    def side(self) -> Side:
        """Which side of the API the file judges: the gateway, or an integrator's callback receiver."""
        return "receiver" if self.receiver is not None else "gateway"

    @property
    def variant(self) -> Variant:
        """The declared signing variant, with the documents' Go sample where a dimension is "auto"."""
        return Variant(legacy_escapes=self.signing == "go1.21", omit_empty=bool(self.omit_empty))

    def other(self, name: str) -> str | None:
        """The declared neighbour's value of scope field ``name`` (project, agent, service_code), if any."""
        return dict(self.neighbour).get(name)

    def url(self, path: str) -> str:
        """The full URL of a documented path (``base_url`` may carry a path prefix)."""
        return self.base_url + path

    def request_fields(self, endpoint: str, unknown: Callable[[], str]) -> dict[str, Any]:
        """The valid request for ``endpoint``, in the documents' Go struct order: this target's
        credentials and its first declared account or payment (``unknown()`` when it declares none).

        A cash-in gets the [write] table's account and a small amount; its external_id is
        ``unknown()``, a fresh one (the caller must count it against ``max_payments``).
        """
        if endpoint not in REQUEST_FIELDS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {sorted(REQUEST_FIELDS)}")
        base: dict[str, Any] = {"agent": self.agent, "project": self.project, "service_code": self.service_code,
                                "amount": 100, "datetime": "2024-01-01T00:00:00Z"}
        if endpoint == "user/check":
            base["username"] = self.accounts[0].username if self.accounts else unknown()
        elif endpoint == "action/status":
            base["external_id"] = self.payments[0].external_id if self.payments else unknown()
        elif endpoint in ("action/cash-in", "action/link"):
            base["username"] = self.write.username if self.write else unknown()
            base["external_id"] = unknown()
            base["amount"] = min(1, self.write.max_amount) if self.write else 1
            # The link page names a "service" (a service name) and the payer's domain; neither is
            # target data the documents define, so the service code and a test host stand in.
            base["service"], base["refer_host"] = self.service_code, "agws-conformance.test"
        elif endpoint == "action/confirm/invoice":
            base["external_id"] = unknown()
        return {k: base[k] for k in REQUEST_FIELDS[endpoint]}


# --------------------------------------------------------------------------------------------
# Line numbers: tomllib does not give them, so find the table header and key in the text.


class _LineFinder:
    """Find the line of ``[table]``/``[[array]]`` headers and ``key =`` lines in hand-written TOML."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_\-\"'. ]+?)\s*(\]\]?)\s*(#.*)?$")
    _KEY = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+))\s*=""")

    def __init__(self, text: str) -> None:
        self.lines = re.split(r"\r?\n", text)  # not splitlines(): U+2028 in a string is not a line break
        # sections: list of (name, index or None, header line number 1-based, key -> line)
        self.sections: list[tuple[str, int | None, int, dict[str, int]]] = [("", None, 0, {})]
        counts: dict[str, int] = {}
        in_multiline: str | None = None
        for number, line in enumerate(self.lines, start=1):
            if in_multiline is not None:
                if in_multiline in line:
                    in_multiline = None
                continue
            header = self._HEADER.match(line)
            if header and len(header.group(1)) == len(header.group(3)):
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    self.sections.append((name, index, number, {}))
                else:
                    self.sections.append((name, None, number, {}))
                continue
            key = self._KEY.match(line)
            if key:
                name = next(g for g in key.groups() if g is not None)
                self.sections[-1][3].setdefault(name, number)
                for quote in ('"""', "'''"):
                    rest = line[key.end() :]
                    if rest.count(quote) == 1:
                        in_multiline = quote

    def line(self, table: str, index: int | None = None, key: str | None = None) -> int:
        """Best line for ``table[index].key`` (falls back to the table header, then line 1)."""
        header = None
        for name, idx, header_line, keys in self.sections:
            if name == table and idx == index:
                if key is not None and key in keys:
                    return keys[key]
                header = header_line
                break
        if key is not None:
            if table == "":  # a top-level name: its own [key] or [[key]] header
                for name, _, header_line, _ in self.sections:
                    if name == key:
                        return header_line
            # A key in a table written inline or with dotted keys: first line naming the key.
            pattern = re.compile(rf"(^|[\s{{,.]){re.escape(key)}\s*=")
            for number, line in enumerate(self.lines, start=1):
                if pattern.search(line):
                    return number
        return max(header or 1, 1)


# --------------------------------------------------------------------------------------------
# Validation


def _describe(value: object) -> str:
    """A short rendering of a config value for an error message (TOML spelling)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (int, float)):
        return repr(value)
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    return did_you_mean(key, allowed).strip() or "allowed keys: " + ", ".join(allowed)


class _Validator:
    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.finder = _LineFinder(text)

    def error(self, table: str, index: int | None, key: str | None, problem: str) -> ConfigError:
        line = self.finder.line(table, index, key)
        return ConfigError(f"{self.source}:{line}: {problem}")

    @staticmethod
    def path(table: str, index: int | None, key: str | None) -> str:
        out = table if index is None else f"{table}[{index}]"
        return f"{out}.{key}" if key else out

    def check_keys(self, table: str, index: int | None, data: dict, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key in allowed:
                continue
            where = self.path(table, index, key)
            if table == "target" and key in ("accounts", "payments"):
                raise self.error(table, index, key,
                                 f"{where}: {key} go in their own tables; write each entry under "
                                 f"[[{key}]] after the [target] keys")
            if table == "target" and key.lower() in ("secret", "secret_key", "key", "password"):
                raise self.error(
                    table, index, key,
                    f"{where}: the secret must not be in the target file; remove it and export it "
                    f"in the environment variable named by secret_env (default {DEFAULT_SECRET_ENV})",
                )
            raise self.error(table, index, key,
                             f"{where} is not a known key; {_suggest(key, allowed)}")

    def string(self, table: str, index: int | None, data: dict, key: str, *,
               required: bool, allow_int_hint: bool = False) -> str | None:
        where = self.path(table, index, key)
        if key not in data:
            if required:
                raise self.error(table, index, None,
                                 f"{where} is missing; add {key} = \"...\" to "
                                 f"{'[' + table + ']' if index is None else '[[' + table + ']]'}")
            return None
        value = data[key]
        if not isinstance(value, str):
            hint = ""
            if allow_int_hint and isinstance(value, int) and not isinstance(value, bool):
                hint = f"; quote it: {key} = \"{value}\""
            raise self.error(table, index, key,
                             f"{where} must be a string (got {_describe(value)}){hint}")
        if value.strip() == "":
            raise self.error(table, index, key, f"{where} must not be empty")
        return value

    def choice(self, table: str, data: dict, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.string(table, None, data, key, required=False)
        if value is None:
            return default
        if value not in allowed:
            raise self.error(table, None, key,
                             f"{table}.{key} must be one of {', '.join(allowed)} (got {value!r})")
        return value


def _check_base_url(url: str) -> str | None:
    """Return a problem with ``url`` (never echoing credentials), or None when it is usable."""
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL (bad port or brackets)"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return ("must not contain credentials (user:password@); the suite signs requests with the "
                "secret from the environment instead")
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https:// (got scheme {parts.scheme!r})" if parts.scheme \
            else "must start with http:// or https://"
    if not parts.hostname:
        return "has no host (expected e.g. https://staging.example.kz)"
    if parts.query or url.endswith("?"):
        return "must not contain a query string (?...)"
    if parts.fragment or "#" in url:
        return "must not contain a fragment (#...)"
    del port
    return None


def _normalize_base_url(url: str) -> str:
    return url.rstrip("/")


def parse_target(text: str, *, source: str, environ: Mapping[str, str] = os.environ) -> Target:
    """Parse and validate a target file's text; ``source`` names it in error messages."""
    if text.strip() == "":
        raise ConfigError(f"{source}:1: the target file is empty; start from "
                          "targets/example-staging.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_message(source, text, exc)) from None
    v = _Validator(source, text)

    for key in data:
        if key not in _TOP_KEYS:
            if key in _TARGET_KEYS:
                raise v.error("", None, key,
                              f"{key} must be inside the [target] table; put [target] above it")
            raise v.error("", None, key, f"{key} is not a known table; {_suggest(key, _TOP_KEYS)}")
    if "receiver" in data:
        return _receiver_target(v, data, source, environ)
    table = data.get("target")
    if table is None:
        raise ConfigError(f"{source}:1: the [target] table is missing; add [target] with "
                          "base_url, agent, project and service_code")
    if not isinstance(table, dict):
        raise v.error("", None, "target", "target must be a table: write [target] on its own line")
    v.check_keys("target", None, table, _TARGET_KEYS)

    values: dict[str, Any] = {}
    for key in _REQUIRED_TARGET_KEYS:
        values[key] = v.string("target", None, table, key, required=True)
    problem = _check_base_url(values["base_url"])
    if problem:
        raise v.error("target", None, "base_url", f"target.base_url {problem}")
    stem = Path(source).stem or "target"
    name = v.string("target", None, table, "name", required=False) or stem
    secret_env = v.string("target", None, table, "secret_env", required=False) or DEFAULT_SECRET_ENV
    if not _ENV_NAME.match(secret_env):
        raise v.error("target", None, "secret_env",
                      f"target.secret_env must be an environment variable name like "
                      f"{DEFAULT_SECRET_ENV} (got {secret_env[:40]!r})")
    error_format = v.choice("target", table, "error_format", ERROR_FORMATS, "auto")
    signing = v.choice("target", table, "signing", SIGNINGS, "auto")
    omit_empty = table.get("omit_empty", "auto")
    if omit_empty == "auto":
        omit_empty = None
    elif not isinstance(omit_empty, bool):
        raise v.error("target", None, "omit_empty",
                      f"target.omit_empty must be true, false or \"auto\" (got {_describe(omit_empty)})")

    categories = _categories(v, table)
    neighbour = _neighbour(v, table, values)
    write = _write(v, data.get("write"))
    if write is not None and is_production_url(values["base_url"]):
        raise v.error("write", None, None,
                      f"[write] is refused for the production host {urlsplit(values['base_url']).hostname}: "
                      "the suites that move money run only against staging or a mock; remove [write] or "
                      "point base_url at a test deployment")
    callbacks = _callbacks(v, data.get("callbacks"))
    if callbacks is not None and write is None:
        raise v.error("callbacks", None, None, "[callbacks] needs a [write] table: callbacks come from the payments "
                                               "the suite makes; add [write] or remove [callbacks]")
    accounts = tuple(_accounts(v, data.get("accounts", [])))
    payments = tuple(_payments(v, data.get("payments", [])))
    if categories is not None:
        for i, account in enumerate(accounts):
            if account.category is not None and account.category not in categories:
                raise v.error("accounts", i, "category",
                              f"accounts[{i}].category {account.category!r} is not among [target] categories "
                              f"({', '.join(categories)}); add it there or correct the account")
    return Target(
        name=name,
        base_url=_normalize_base_url(values["base_url"]),
        agent=values["agent"],
        project=values["project"],
        service_code=values["service_code"],
        secret_env=secret_env,
        secret=_read_secret(environ, secret_env),
        error_format=error_format,  # type: ignore[arg-type]
        accounts=accounts,
        payments=payments,
        signing=signing,  # type: ignore[arg-type]
        omit_empty=omit_empty,
        categories=categories,
        neighbour=neighbour,
        write=write,
        callbacks=callbacks,
        source=source,
        file_keys=frozenset(table),
    )


def _neighbour(v: _Validator, table: dict, own: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``other_agent`` / ``other_project`` / ``other_service_code``: a neighbour scope that exists
    (its value must differ from this target's own, or the scope rules would name this target)."""
    out: dict[str, str] = {}
    for name in SCOPE_FIELDS:
        key = f"other_{name}"
        value = v.string("target", None, table, key, required=False, allow_int_hint=True)
        if value is None:
            continue
        if value == own[name]:
            raise v.error("target", None, key, f"target.{key} must name another {name.replace('_', ' ')} than "
                                               f"target.{name} ({value!r}): a neighbour that exists on the gateway")
        out[name] = value
    return tuple(out.items())


def _categories(v: _Validator, table: dict) -> tuple[str, ...] | None:
    """``categories = ["parking", ...]``: the service categories the showcase serves (default: all)."""
    if "categories" not in table:
        return None
    value = table["categories"]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise v.error("target", None, "categories",
                      f"target.categories must be a non-empty list such as [\"parking\"] (got {_describe(value)})")
    unknown = [c for c in value if c not in CATEGORIES]
    if unknown:
        raise v.error("target", None, "categories",
                      f"target.categories: {unknown[0]!r} is not a category; choose from {', '.join(CATEGORIES)}")
    return tuple(dict.fromkeys(value))


def _array_of_tables(v: _Validator, name: str, items: object) -> list[dict]:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise v.error("", None, name,
                      f"{name} must be an array of tables: write each entry under [[{name}]]")
    return items


def _entries(v: _Validator, name: str, items: object, keys: tuple[str, ...],
             key: str) -> Iterator[tuple[int, dict, str]]:
    """(index, table, key value) of each ``[[name]]`` entry; its keys checked, its key listed once."""
    seen: dict[str, int] = {}
    for i, item in enumerate(_array_of_tables(v, name, items)):
        v.check_keys(name, i, item, keys)
        value = v.string(name, i, item, key, required=True, allow_int_hint=True)
        assert value is not None
        if value in seen:
            raise v.error(name, i, key, f"{name}[{i}].{key} {value!r} repeats {name}[{seen[value]}]; "
                                        f"each {name[:-1]} must be listed once")
        seen[value] = i
        yield i, item, value


def _accounts(v: _Validator, items: object) -> list[Account]:
    out: list[Account] = []
    for i, item, username in _entries(v, "accounts", items, _ACCOUNT_KEYS, "username"):
        if "account_status" not in item:
            raise v.error("accounts", i, None,
                          f"accounts[{i}].account_status is missing; add account_status = 0, 1 or 2")
        status = item["account_status"]
        if isinstance(status, str) and status in ("0", "1", "2"):
            raise v.error("accounts", i, "account_status",
                          f"accounts[{i}].account_status must be an integer, not a string; "
                          f"write account_status = {status}")
        if not isinstance(status, int) or isinstance(status, bool) or status not in ACCOUNT_STATUSES:
            raise v.error("accounts", i, "account_status",
                          f"accounts[{i}].account_status must be 0, 1 or 2 (got {_describe(status)})")
        category = v.string("accounts", i, item, "category", required=False)
        if category is not None and category not in CATEGORIES:
            raise v.error("accounts", i, "category",
                          f"accounts[{i}].category must be one of {', '.join(CATEGORIES)} "
                          f"(got {category!r})")
        out.append(Account(username=username, account_status=status, category=category,
                           fail_reason=_reason_code(v, "accounts", i, item)))
    return out


def _reason_code(v: _Validator, table: str, index: int, item: dict) -> int | None:
    """An optional ``fail_reason = <code>``: the fail_reason.code the target must report."""
    if "fail_reason" not in item:
        return None
    code = item["fail_reason"]
    if not isinstance(code, int) or isinstance(code, bool) or code < 0:
        hint = f"; write fail_reason = {code}" if isinstance(code, str) and code.isdigit() else ""
        raise v.error(table, index, "fail_reason",
                      f"{table}[{index}].fail_reason must be a reason code, a non-negative integer such as 100 "
                      f"(got {_describe(code)}){hint}")
    if code not in REASON_CODES:
        # The check wants the declared code and a documented one: an undocumented declaration would
        # fail CHK-FAIL-REASON-CODE on every gateway, a setup mistake reported as a defect.
        near = difflib.get_close_matches(str(code), [str(c) for c in REASON_CODES], n=1)
        raise v.error(table, index, "fail_reason",
                      f"{table}[{index}].fail_reason {code} is not a documented reason code"
                      + (f"; did you mean {near[0]}?" if near else "")
                      + " (the codes listed on the Reason for operation rejection page: 100-107, 200-207, 300-304, 400-407)")
    return code


def _payments(v: _Validator, items: object) -> list[Payment]:
    out: list[Payment] = []
    for i, item, external_id in _entries(v, "payments", items, _PAYMENT_KEYS, "external_id"):
        status_code = v.string("payments", i, item, "status_code", required=True,
                               allow_int_hint=True)
        if status_code not in STATUS_CODES:
            raise v.error("payments", i, "status_code",
                          f"payments[{i}].status_code must be one of \"1\"..\"7\" "
                          f"(got {status_code!r})")
        assert status_code is not None
        username = v.string("payments", i, item, "username", required=False, allow_int_hint=True)
        amount = item.get("amount")
        if amount is not None and (not isinstance(amount, (int, float)) or isinstance(amount, bool)
                                   or not math.isfinite(amount) or amount <= 0):
            raise v.error("payments", i, "amount",
                          f"payments[{i}].amount must be a positive number such as 100 or 100.5 "
                          f"(got {_describe(amount)})")
        out.append(Payment(external_id=external_id, status_code=status_code, username=username,
                           amount=float(amount) if amount is not None else None,
                           fail_reason=_reason_code(v, "payments", i, item)))
    return out


def _number(v: _Validator, table: dict, key: str, *, low: float, high: float, integer: bool = False,
            default: float | None = None, example: str, where: str = "write") -> float | None:
    """A number in ``(low, high]`` (an integer when ``integer``), or ``default`` when absent."""
    if key not in table:
        return default
    value = table[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and low < value <= high and (not integer or isinstance(value, int))
    if not ok:
        kind = "an integer" if integer else "a number"
        raise v.error(where, None, key, f"{where}.{key} must be {kind} above {low:g} and at most {high:g}, "
                                        f"such as {key} = {example} (got {_describe(value)})")
    return value


def _write(v: _Validator, table: object) -> Write | None:
    """``[write]``: permission for the suites with side effects, with its limits (None: not given or disabled)."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise v.error("", None, "write", "write must be a table: write [write] on its own line")
    v.check_keys("write", None, table, _WRITE_KEYS)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise v.error("write", None, "enabled", f"write.enabled must be true or false (got {_describe(enabled)})")
    username = v.string("write", None, table, "username", required=True, allow_int_hint=True)
    for key, example in (("max_amount", "100"), ("max_payments", "20")):
        if key not in table:
            raise v.error("write", None, None, f"write.{key} is missing; add {key} = {example} to [write] "
                                               "(the suite never exceeds it)")
    max_amount = _number(v, table, "max_amount", low=0, high=1e9, example="100")
    max_payments = _number(v, table, "max_payments", low=0, high=10000, integer=True, example="20")
    final_within = _number(v, table, "final_within", low=0, high=3600, default=60.0, example="60")
    poll_interval = _number(v, table, "poll_interval", low=0, high=60, default=1.0, example="1")
    exclusive = table.get("balance_exclusive", False)
    if not isinstance(exclusive, bool):
        raise v.error("write", None, "balance_exclusive",
                      f"write.balance_exclusive must be true or false (got {_describe(exclusive)})")
    expiring = v.string("write", None, table, "expiring_username", required=False, allow_int_hint=True)
    lifetime = _number(v, table, "lifetime", low=0, high=3600, example="30")
    if (expiring is None) != (lifetime is None):
        missing = "lifetime" if lifetime is None else "expiring_username"
        raise v.error("write", None, "expiring_username" if expiring else "lifetime",
                      f"write.expiring_username and write.lifetime go together; add {missing} to [write]")
    confirm_code = v.string("write", None, table, "confirm_code", required=False, allow_int_hint=True)
    prefix = v.string("write", None, table, "id_prefix", required=False) or "agws-test"
    if not _ID_PREFIX.match(prefix):
        raise v.error("write", None, "id_prefix", f"write.id_prefix must be 1-24 letters, digits, '-' or '_' "
                                                  f"(got {prefix[:40]!r})")
    if not enabled:
        return None
    assert username is not None and max_amount is not None and max_payments is not None
    return Write(username=username, max_amount=float(max_amount), max_payments=int(max_payments),
                 final_within=float(final_within or 60.0), poll_interval=float(poll_interval or 1.0),
                 balance_exclusive=exclusive, expiring_username=expiring,
                 lifetime=float(lifetime) if lifetime is not None else None, id_prefix=prefix,
                 confirm_code=confirm_code)


def _callbacks(v: _Validator, table: object) -> Callbacks | None:
    """``[callbacks]``: where the receiver listens, the URL the gateway must call, and the timings."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise v.error("", None, "callbacks", "callbacks must be a table: write [callbacks] on its own line")
    v.check_keys("callbacks", None, table, _CALLBACK_KEYS)
    listen = v.string("callbacks", None, table, "listen", required=False) or "127.0.0.1:0"
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise v.error("callbacks", None, "listen", f"callbacks.listen must be host:port such as \"0.0.0.0:8099\" "
                                                   f"(port 0: any free port; got {listen[:60]!r})")
    url = v.string("callbacks", None, table, "url", required=False)
    if url is not None and (_check_base_url(url) is not None):
        raise v.error("callbacks", None, "url", f"callbacks.url {_check_base_url(url)}")
    numbers = {key: _number(v, table, key, low=0, high=high, default=default, example=example, where="callbacks")
               for key, high, default, example in (("within", 3600, 30.0, "30"), ("observe", 600, 5.0, "5"),
                                                    ("time_scale", 10, 1.0, "1"))}
    return Callbacks(host=host, port=int(port), url=url, **{k: float(n) for k, n in numbers.items() if n is not None})


def _receiver_target(v: _Validator, data: dict, source: str, environ: Mapping[str, str]) -> Target:
    """A file with a ``[receiver]`` table judges an integrator's callback receiver: one side per
    file (and per run), so it holds no gateway table."""
    table = data["receiver"]
    if not isinstance(table, dict):
        raise v.error("", None, "receiver", "receiver must be a table: write [receiver] on its own line")
    for other in data:
        if other != "receiver":
            raise v.error("", None, other, f"[{other}] does not go with [receiver]: a [receiver] file judges an "
                                           "integrator's callback receiver, not a gateway; put the gateway's tables "
                                           "in a target file of their own")
    v.check_keys("receiver", None, table, _RECEIVER_KEYS)
    url = v.string("receiver", None, table, "url", required=True)
    assert url is not None
    problem = _check_base_url(url)
    if problem:
        raise v.error("receiver", None, "url", f"receiver.url {problem}")
    values = {key: v.string("receiver", None, table, key, required=True, allow_int_hint=True)
              for key in ("project", "service_code", "external_id")}
    secret_env = v.string("receiver", None, table, "secret_env", required=False) or DEFAULT_SECRET_ENV
    if not _ENV_NAME.match(secret_env):
        raise v.error("receiver", None, "secret_env", f"receiver.secret_env must be an environment variable name "
                                                      f"like {DEFAULT_SECRET_ENV} (got {secret_env[:40]!r})")
    username = v.string("receiver", None, table, "username", required=False, allow_int_hint=True) or "test-user"
    status_code = v.string("receiver", None, table, "status_code", required=False, allow_int_hint=True) or "2"
    if status_code not in ("2", "3", "4", "6"):
        raise v.error("receiver", None, "status_code", f"receiver.status_code must be a final status: \"2\", \"3\", "
                                                       f"\"4\" or \"6\" (got {status_code[:20]!r})")
    amount = _number(v, table, "amount", low=0, high=1e9, default=100.0, example="100.5", where="receiver")
    timeout = _number(v, table, "timeout", low=0, high=120, default=10.0, example="10", where="receiver")
    signing = v.choice("receiver", table, "signing", ("go1.22", "go1.21"), "go1.22")
    receiver = Receiver(url=url, external_id=str(values["external_id"]), username=username,
                        amount=float(amount or 100.0), status_code=status_code, timeout=float(timeout or 10.0))
    return Target(
        name=v.string("receiver", None, table, "name", required=False) or Path(source).stem or "receiver",
        base_url=_normalize_base_url(url), agent="", project=str(values["project"]),
        service_code=str(values["service_code"]), secret_env=secret_env, secret=_read_secret(environ, secret_env),
        error_format="auto", accounts=(), payments=(), signing=signing,  # type: ignore[arg-type]
        omit_empty=False, receiver=receiver, source=source)


def _syntax_message(source: str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc).splitlines()[0] if str(exc) else "invalid TOML"
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if found:
        return (f"{source}:{found.group(1)}:{found.group(2)}: TOML syntax error: "
                f"{message[: found.start()]}; fix the file (strings need quotes, tables need "
                "[brackets])")
    found = re.search(r"\s*\(at end of document\)\s*$", message)
    if found:
        line = max(len(text.splitlines()), 1)
        return (f"{source}:{line}: TOML syntax error at end of file: {message[: found.start()]}; "
                "fix the file")
    return f"{source}:1: TOML syntax error: {message}; fix the file"


def secret_problem(name: str, value: str) -> str | None:
    """Why the value of environment variable ``name`` cannot be a signing secret, or None.

    The signature appends the secret's UTF-8 bytes, so bytes that are not UTF-8 (which Python
    reads as lone surrogates) cannot be signed with; the message never quotes the value.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"environment variable {name} holds bytes that are not UTF-8 text; set it to the project secret as text"
    return None


SHORT_SECRET = 8
"""Below this many characters a secret is suspicious, and redacting it would garble reports."""


def secret_warning(name: str, value: str) -> str | None:
    """A warning for a secret too short to be a real project secret, or None; never quotes it.

    Every report replaces every occurrence of the secret with ``[REDACTED]``: a one-letter
    secret would blank out that letter everywhere, and a short one is most likely a placeholder.
    """
    if len(value) >= SHORT_SECRET:
        return None
    return (f"the secret in {name} is only {len(value)} character(s) long: reports replace every occurrence "
            f"of it with [REDACTED], so they will be hard to read, and a real project secret is longer; "
            f"check that {name} holds the project's secret")


def check_path_prefix(prefix: str) -> str | None:
    """Return a problem with a URL path prefix such as ``/gw`` (the mock's ``--prefix``), or None."""
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    problem = _check_base_url("http://127.0.0.1" + prefix)
    if problem is None and ("//" in prefix or any(seg in (".", "..") for seg in prefix.split("/"))):
        problem = "must be a plain path such as /gateway (no empty, '.' or '..' segments)"
    return problem


def _read_secret(environ: Mapping[str, str], name: str) -> Secret | None:
    value = environ.get(name)
    if not value:
        return None
    problem = secret_problem(name, value)
    if problem:
        raise ConfigError(problem)
    return Secret(value)


def load_target(path: str | Path, *, environ: Mapping[str, str] = os.environ) -> Target:
    """Read and validate a target file; the secret comes from ``environ[secret_env]`` (or None)."""
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise ConfigError(f"{source}: is a directory; pass the target .toml file inside it")
    if path.exists() and not path.is_file():  # a FIFO or device would block or stream forever
        raise ConfigError(f"{source}: is not a regular file; pass the target .toml file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file; check the path (see "
                          "targets/example-staging.toml for the format)") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file ({exc.strerror or exc}); check its "
                          "permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
                          f"{exc.start}); save the file as UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_target(text, source=source, environ=environ)


def resolve_target(
    *,
    file: str | Path | None = None,
    base_url: str | None = None,
    agent: str | None = None,
    project: str | None = None,
    service_code: str | None = None,
    error_format: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Target:
    """Combine the sources: command line (the keyword arguments) > target file > environment.

    ``file`` defaults to ``$AGWS_TARGET``. Without any file, the four required values must come
    from the command line or ``AGWS_BASE_URL``/``AGWS_AGENT``/``AGWS_PROJECT``/``AGWS_SERVICE_CODE``.
    """
    if file is None:
        file = environ.get(TARGET_FILE_ENV) or None
    flags = {"base_url": base_url, "agent": agent, "project": project,
             "service_code": service_code, "error_format": error_format}
    target = load_target(file, environ=environ) if file is not None else None
    if target is not None and target.receiver is not None:
        given = [f"--agws-{k.replace('_', '-')}" for k, value in flags.items() if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} do(es) not apply to a [receiver] target ({target.source}): "
                              "its URL, project and service_code are in its [receiver] table")
        return target
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, env in ENV_KEYS.items():
        if target is not None and key in target.file_keys:
            merged[key] = getattr(target, key)
            origin[key] = f"{target.source} target.{key}"
        elif environ.get(env):
            merged[key] = environ[env]
            origin[key] = f"environment variable {env}"
    for key, value in flags.items():
        if value is not None:
            merged[key] = value
            origin[key] = f"--agws-{key.replace('_', '-')}"

    for key in _REQUIRED_TARGET_KEYS:
        value = merged.get(key)
        if not isinstance(value, str) or value.strip() == "":
            if key in merged:
                raise ConfigError(f"{origin[key]}: {key} must not be empty")
            raise ConfigError(
                f"no {key} given; pass --agws-{key.replace('_', '-')}, set {key} in a target file "
                f"(--agws-target or {TARGET_FILE_ENV}), or export {ENV_KEYS[key]}")
    problem = _check_base_url(merged["base_url"])
    if problem:
        raise ConfigError(f"{origin['base_url']}: base_url {problem}")
    fmt = merged.get("error_format") or "auto"
    if fmt not in ERROR_FORMATS:
        raise ConfigError(f"{origin.get('error_format', 'error_format')}: error_format must be one "
                          f"of {', '.join(ERROR_FORMATS)} (got {str(fmt)[:40]!r})")
    if target is not None:
        if target.write is not None and is_production_url(merged["base_url"]):
            raise ConfigError(f"{origin['base_url']}: the production host is refused for a target file with "
                              f"[write] ({target.source}): the suites that move money never run against it")
        return replace(target, base_url=_normalize_base_url(merged["base_url"]),
                       agent=merged["agent"], project=merged["project"],
                       service_code=merged["service_code"], error_format=cast(ErrorFormat, fmt))
    return Target(
        name=urlsplit(merged["base_url"]).hostname or "target",
        base_url=_normalize_base_url(merged["base_url"]),
        agent=merged["agent"],
        project=merged["project"],
        service_code=merged["service_code"],
        secret_env=DEFAULT_SECRET_ENV,
        secret=_read_secret(environ, DEFAULT_SECRET_ENV),
        error_format=fmt,  # type: ignore[arg-type]
        accounts=(),
        payments=(),
        source=None,
    )


def missing_secret_message(target: Target) -> str:
    """The one-line message shown when the target's secret variable is unset or empty."""
    where = f" (secret_env in {target.source})" if target.source and target.secret_env != \
        DEFAULT_SECRET_ENV else ""
    return (f"target {target.name!r}: the signing secret is not set; export {target.secret_env}"
            f"{where} in the environment before running (it is never read from the command line "
            "or the target file)")


def is_production_url(url: str) -> bool:
    """True when ``url`` points at the documents' production host."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host.rstrip(".").lower() in PRODUCTION_HOSTS


def is_production(target: Target) -> bool:
    """True when the target points at the documents' production host (guarded by the plugin)."""
    return is_production_url(target.base_url)
