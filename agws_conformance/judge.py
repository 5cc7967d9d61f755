"""Judging one gateway response against the catalogue's rules, as plain functions.

Each function returns ``Check`` tuples ``(requirement, ok, message)``; the pytest context turns
them into findings with the catalogue's level. The messages say what was expected and what was
observed, in one sentence, because they are what a partner reads in the report.
"""

from __future__ import annotations

import json

import math
from typing import Any, Iterable, Literal, NamedTuple, Protocol

from agws_conformance import schemas
from agws_conformance.endpoints import (  # noqa: F401 - TRANSACTION_STATUSES re-exported for the suites
    DOCUMENTED_MESSAGES,
    REASON_CODES,
    SCOPE_CODES,
    TRANSACTION_STATUSES,
)

ErrorFormat = Literal["old", "new"]




# What each judging function below may record, for the requirement markers of the tests that call
# it: a test declares what it can judge (format-dependent rules included), and nothing else.
ENVELOPE_RULES: tuple[str, ...] = ("ENV-SHAPE", "ENV-SUCCESS-CODE-ZERO", "ENV-CONTENT-TYPE")


def success_rules(requirement: str, schema_requirement: str) -> tuple[str, ...]:
    """What :func:`success` records."""
    return (*ENVELOPE_RULES, requirement, "HTTP-200-SUCCESS", schema_requirement, "SCH-STRICT-EXTRA-FIELDS")


def expected_error_rules(requirement: str, fmt: str | None = None) -> tuple[str, ...]:
    """What :func:`expected_error` records, with the run's format tracking (``Agws.expect_expected_error``);
    ``fmt``: only what an error in that format ("old" or "new") records."""
    new = ("ENV-SUCCESS-CODE-ZERO", "SCH-ERROR-NEW", "HTTP-200-SUCCESS")
    old = ("SCH-ERROR-OLD", "HTTP-OLD-FORMAT-STATUS")
    rules = (*ENVELOPE_RULES, requirement, "ERR-FORMAT-DECLARED", *new, *old, "ERR-CODE-MESSAGE",
             "SCH-STRICT-EXTRA-FIELDS", "ERR-FORMAT-CONSISTENT", "ERR-FORMAT-OBSERVED")
    other = {"old": new, "new": old}.get(fmt or "", ())
    return tuple(dict.fromkeys(r for r in rules if r not in other))


def fixed_format_error_rules(requirement: str) -> tuple[str, ...]:
    """What ``Agws.expect_expected_error(..., endpoint=...)`` records for a method with its own error
    format (Make a payment): either format's rules, but no run-wide format tracking."""
    return tuple(r for r in expected_error_rules(requirement) if r not in ("ERR-FORMAT-CONSISTENT", "ERR-FORMAT-OBSERVED"))


def unexpected_error_rules(requirement: str) -> tuple[str, ...]:
    """What :func:`unexpected_error` records."""
    return (*ENVELOPE_RULES, requirement, "ENV-STATUS-FALSE-IFF-UNEXPECTED", "SCH-ERROR-UNEXPECTED",
            "SCH-STRICT-EXTRA-FIELDS", "HTTP-UNEXPECTED-FAILING-STATUS", "ERR-CODE-MESSAGE")


class Check(NamedTuple):
    requirement: str
    ok: bool | None  # None: an INFO observation
    message: str


class ResponseLike(Protocol):
    """What the judges read of a response (``client.Response`` satisfies it; tests pass stand-ins)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Any: ...
    @property
    def body(self) -> bytes: ...
    @property
    def json(self) -> Any: ...
    @property
    def json_error(self) -> str | None: ...


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compact_json(value: Any, limit: int = 120) -> str:
    """``value`` as compact JSON (what a partner's tools print, never Python's repr), cut only at a
    field or item boundary with "..." so no word is ever cut in half."""
    def dump(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str)

    whole = dump(value)
    if len(whole) <= limit:
        return whole
    if isinstance(value, dict):
        parts, opener, closer = [f"{dump(str(k))}:{dump(v)}" for k, v in value.items()], "{", "}"
    elif isinstance(value, list):
        parts, opener, closer = [dump(v) for v in value], "[", "]"
    else:
        return f"({type(value).__name__}, {len(whole)} characters)"
    kept: list[str] = []
    for part in parts:
        if len(opener) + len(",".join([*kept, part])) + len(",...") + len(closer) > limit:
            break
        kept.append(part)
    return opener + ",".join([*kept, "..."]) + closer


def describe(resp: ResponseLike) -> str:
    """One phrase for what came back, used in every message (the envelope's fields as compact JSON)."""
    if resp.json_error:
        return f"HTTP {resp.status} with an unusable body ({resp.json_error})"
    body = resp.json
    if isinstance(body, dict):
        keys = {k: body.get(k) for k in ("status", "status_code", "message") if k in body}
        result = body.get("result")
        if isinstance(result, dict) and "error_code" in result:
            keys["result.error_code"] = result.get("error_code")
        return f"HTTP {resp.status} {compact_json(keys)}"
    return f"HTTP {resp.status} with JSON {type(body).__name__} {compact_json(body, 60)}"


def envelope_ok(resp: ResponseLike) -> bool:
    return not resp.json_error and isinstance(resp.json, dict) and not schemas.errors("envelope", resp.json)


def is_success(resp: ResponseLike) -> bool:
    """A success at every level: an envelope with status true, status_code 0 and error_code 0 (or absent).

    Deliberately generous, so that a gateway that wrongly succeeds is caught by "never a success" rules.
    """
    return success_body(resp) and 200 <= resp.status < 300


def success_body(resp: ResponseLike) -> bool:
    """The body says success (status true, status_code and error_code 0 or absent), whatever the
    HTTP status: a "never a success" rule must not accept the served data under a 4xx."""
    body = resp.json
    if not isinstance(body, dict) or body.get("status") is not True:
        return False
    if body.get("status_code") not in (0, None):
        return False
    result = body.get("result")
    return not (isinstance(result, dict) and result.get("error_code") not in (0, None))


def observed_error_format(resp: ResponseLike) -> ErrorFormat | None:
    """Which documented error format an error response uses, if any."""
    body = resp.json
    if not isinstance(body, dict):
        return None
    result = body.get("result")
    if body.get("status") is True and isinstance(result, dict) and result.get("error_code") not in (0, None):
        return "new"
    if body.get("status") is False and body.get("status_code") not in (0, None):
        return "old"
    return None


def error_code(resp: ResponseLike) -> int | None:
    """The error code wherever the response's format puts it."""
    fmt = observed_error_format(resp)
    body = resp.json
    code = body["result"].get("error_code") if fmt == "new" else body.get("status_code") if fmt == "old" else None
    # An untrusted body may put anything there; only a JSON integer is a code (bool is not).
    return code if isinstance(code, int) and not isinstance(code, bool) else None


EXPECTED_ERROR_CODES: frozenset[int] = frozenset(
    {1407, 1041, 1042, 1410, 5103, 5413, 8008, 8015, 8301, 9718, 9721, 9724, 9427})
"""The Error Codes page's expected errors (public-facts.md; 9427 is a page version's 9724)."""

SIGNATURE_ERROR = 1014


def passed_signature_check(resp: ResponseLike) -> bool:
    """Whether the request got past the signature check: a success or a documented expected error.

    Any other answer (1014, a 400 about a field, a 5xx, garbage) is no evidence that the signature
    was accepted, so it does not count.
    """
    if is_success(resp):
        return True
    return observed_error_format(resp) is not None and error_code(resp) in EXPECTED_ERROR_CODES


def rejected_by_signature(resp: ResponseLike) -> bool:
    """Refused as error 1014 Invalid signature, in whichever format the target writes it."""
    return error_code(resp) == SIGNATURE_ERROR


def signature_accepted(resp: ResponseLike, *, requirement: str) -> Check:
    """A correctly signed request is served (success or documented expected error), never 1014."""
    return Check(requirement, passed_signature_check(resp),
                 "expected the signature to be accepted (a success or a documented expected error), "
                 f"observed {describe(resp)}")


def signature_rejected(resp: ResponseLike, *, requirement: str) -> Check:
    """A badly signed request is not served: neither a success nor a documented expected error."""
    served = passed_signature_check(resp)
    return Check(requirement, not served,
                 f"expected a signature rejection (error {SIGNATURE_ERROR}), observed the request served: "
                 f"{describe(resp)}" if served else f"request refused: {describe(resp)}")


def envelope(resp: ResponseLike) -> list[Check]:
    """ENV-SHAPE, ENV-SUCCESS-CODE-ZERO and ENV-CONTENT-TYPE for any response."""
    checks: list[Check] = []
    if resp.json_error or not isinstance(resp.json, dict):
        checks.append(Check("ENV-SHAPE", False, f"expected a JSON object envelope, observed {describe(resp)}"))
        return checks
    problems = schemas.errors("envelope", resp.json)
    checks.append(Check("ENV-SHAPE", not problems,
                        "expected the documented envelope (status, status_code, message, result), observed: "
                        + ("; ".join(problems[:3]) if problems else "well-formed")))
    if resp.json.get("status") is True:
        code, message = resp.json.get("status_code"), resp.json.get("message")
        checks.append(Check("ENV-SUCCESS-CODE-ZERO", code == 0 and message == "Success",
                            "expected status_code 0 and message 'Success' with status true, "
                            f"observed status_code {_short(code)} and message {_short(message)}"))
    ctype = resp.headers.get("content-type", "") if resp.headers is not None else ""
    checks.append(Check("ENV-CONTENT-TYPE", ctype.split(";")[0].strip().lower() == "application/json",
                        f"expected Content-Type application/json, observed {ctype or 'none'!r}"))
    return checks


def schema_checks(resp: ResponseLike, schema: str, requirement: str, *, strict: bool = False) -> list[Check]:
    """The response body against one schema; undocumented fields are recorded as INFO."""
    if resp.json_error or not isinstance(resp.json, dict):
        return [Check(requirement, False, f"expected a body valid against {schema}, observed {describe(resp)}")]
    problems = schemas.errors(schema, resp.json)
    checks = [Check(requirement, not problems,
                    f"expected a body valid against {schema}, observed: "
                    + ("; ".join(problems[:5]) if problems else "valid"))]
    if not problems:
        extra = schemas.errors(schema, resp.json, strict=True)
        # INFO: recorded either way; under --agws-strict, undocumented fields fail.
        checks.append(Check("SCH-STRICT-EXTRA-FIELDS", not extra if strict or not extra else None,
                            "undocumented fields: " + "; ".join(extra[:5]) if extra
                            else f"only fields {schema} documents"))
    return checks


def success(resp: ResponseLike, *, requirement: str, schema: str, schema_requirement: str,
            strict: bool = False) -> list[Check]:
    """A documented success: HTTP 200, the envelope, error_code 0, and the response schema."""
    checks = envelope(resp)
    checks.append(Check(requirement, is_success(resp), f"expected a success (status true, error_code 0), observed {describe(resp)}"))
    if is_success(resp):
        checks.append(Check("HTTP-200-SUCCESS", resp.status == 200, f"expected HTTP 200 for a success, observed HTTP {resp.status}"))
        checks += schema_checks(resp, schema, schema_requirement, strict=strict)
    return checks


def expected_error(resp: ResponseLike, *, code: int, declared: str, requirement: str,
                   strict: bool = False) -> tuple[list[Check], ErrorFormat | None]:
    """An expected error (1407, 1041, ...) in the declared format; returns the checks and the observed format."""
    checks = envelope(resp)
    fmt = observed_error_format(resp)
    got = error_code(resp)
    checks.append(Check(requirement, got == code and fmt is not None,
                        f"expected error {code} ({DOCUMENTED_MESSAGES.get(code, 'documented error')}), observed {describe(resp)}"))
    if fmt is None:
        return checks, None
    if declared in ("old", "new"):
        checks.append(Check("ERR-FORMAT-DECLARED", fmt == declared,
                            f"expected the {declared} error format the target declares, observed the {fmt} format"))
    if fmt == "new":
        checks += schema_checks(resp, "error-expected-new", "SCH-ERROR-NEW", strict=strict)
        checks.append(Check("HTTP-200-SUCCESS", resp.status == 200,
                            f"expected HTTP 200 for a new-format expected error, observed HTTP {resp.status}"))
        message = resp.json["result"].get("message")
    else:
        checks += schema_checks(resp, "error-expected-old", "SCH-ERROR-OLD", strict=strict)
        checks.append(Check("HTTP-OLD-FORMAT-STATUS", None, f"old-format expected error {got} answered with HTTP {resp.status}"))
        message = resp.json.get("message")
    if got == code and code in DOCUMENTED_MESSAGES:
        checks.append(Check("ERR-CODE-MESSAGE", message == DOCUMENTED_MESSAGES[code],
                            f"expected message {DOCUMENTED_MESSAGES[code]!r} for {code}, observed {_short(message)}"))
    return checks, fmt


def unexpected_error(resp: ResponseLike, *, code: int | None, requirement: str, strict: bool = False) -> list[Check]:
    """An unexpected error (1014, ...): status false, its code in status_code, result {}, a failing HTTP status."""
    checks = envelope(resp)
    body = resp.json if isinstance(resp.json, dict) else {}
    got = body.get("status_code")
    is_unexpected = body.get("status") is False and got not in (0, None)
    want = f"an unexpected error with status_code {code}" if code is not None else "an unexpected error"
    checks.append(Check(requirement, is_unexpected and (code is None or got == code),
                        f"expected {want}, observed {describe(resp)}"))
    result = body.get("result")
    if code is not None and (got == code or (isinstance(result, dict) and result.get("error_code") == code)):
        # The error is there, wherever its code sits: its status flag is judged.
        checks.append(Check("ENV-STATUS-FALSE-IFF-UNEXPECTED", body.get("status") is False,
                            f"expected status false for unexpected error {code}, observed {describe(resp)}"))
    if is_unexpected:
        checks += schema_checks(resp, "error-unexpected", "SCH-ERROR-UNEXPECTED", strict=strict)
        checks.append(Check("HTTP-UNEXPECTED-FAILING-STATUS", resp.status >= 400,
                            f"expected a failing HTTP status (4xx/5xx) for an unexpected error, observed HTTP {resp.status}"))
        if code in DOCUMENTED_MESSAGES and got == code:
            checks.append(Check("ERR-CODE-MESSAGE", body.get("message") == DOCUMENTED_MESSAGES[code],
                                f"expected message {DOCUMENTED_MESSAGES[code]!r} for {code}, observed {_short(body.get('message'))}"))
    return checks


def is_unexpected_envelope(resp: ResponseLike) -> bool:
    """The documented unexpected-error envelope: status false, a non-zero status_code, a message, result {}."""
    return not resp.json_error and isinstance(resp.json, dict) and not schemas.errors("error-unexpected", resp.json)


def crashed(resp: ResponseLike) -> bool:
    """A 5xx without the documented unexpected-error envelope: the gateway fell over.

    The Error Codes page documents unexpected errors under HTTP 500 (500 Internal Server Error,
    999999 Unknown error), so a 5xx carrying that envelope is an answer, not a crash
    (ERRATUM-UNEXPECTED-HTTP-STATUS).
    """
    return resp.status >= 500 and not is_unexpected_envelope(resp)


def no_crash(resp: ResponseLike, why: str = "a client fault") -> Check:
    return Check("ROB-NO-CRASH", not crashed(resp),
                 f"expected no crash for {why} (a 5xx only with the documented unexpected-error envelope), "
                 f"observed {describe(resp)}")


def refused(resp: ResponseLike, *, requirement: str, proxy_page: bool = False) -> list[Check]:
    """Bad input: an error envelope (any documented error shape), never a success, never a crash.

    ``proxy_page``: the rule asks only "never a success, never a crash", and the request is one a
    reverse proxy answers itself (a wrong method, an oversized body), so a 4xx page of any kind
    (nginx's HTML 405 or 413) is a refusal too.
    """
    is_error_envelope = envelope_ok(resp) and observed_error_format(resp) is not None
    if proxy_page:
        refusal = is_error_envelope or 400 <= resp.status < 500
        want = "an error envelope, or a 4xx page from a proxy in front of the gateway"
    else:
        refusal, want = is_error_envelope, "an error envelope"
    return [
        Check(requirement, not success_body(resp), f"expected an error, observed a success: {describe(resp)}"),
        no_crash(resp),
        Check(requirement, refusal, f"expected {want}, observed {describe(resp)}"),
    ]


CENT = 0.005
"""Half a tiyn: two amounts in tenge are the same amount when they differ by less."""


def is_number(value: Any) -> bool:
    """A finite JSON number (a bool is not one, although Python says it is an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def same_amount(a: Any, b: Any) -> bool:
    """Two amounts in tenge equal to the tiyn (float64 sums are never compared exactly)."""
    return is_number(a) and is_number(b) and abs(a - b) < CENT


def scope_code(resp: ResponseLike, scope: str, also: Iterable[int] = ()) -> Check:
    """ERR-SCOPE-CODE: a request naming an unknown project / agent / service code is refused with
    that field's documented code (or 1014: the secret may be chosen by the named project); ``also``:
    codes the method documents for it besides (``Method.scope_codes``)."""
    codes = {code for code, (name, _) in SCOPE_CODES.items() if name == scope} | set(also)
    return Check("ERR-SCOPE-CODE", error_code(resp) in codes | {SIGNATURE_ERROR},
                 f"expected error {' or '.join(map(str, sorted(codes)))} (or 1014) for an unknown {scope}, "
                 f"observed {describe(resp)}")


def status_checks(data: dict[str, Any], requirement: str, expected: str | None = None) -> list[Check]:
    """A payment's data.status_code is one of "1".."7" (``expected`` where known) under
    ``requirement``, and its status_message has the status table's wording (STS-STATUS-MESSAGE)."""
    code = data.get("status_code", "no status_code field")
    message = data.get("status_message", "no status_message field")
    known = isinstance(code, str) and code in TRANSACTION_STATUSES
    want = f"status_code {expected!r} (a string, one of \"1\"..\"7\")" if expected is not None \
        else "status_code to be one of \"1\"..\"7\" (a string)"
    checks = [Check(requirement, known and (expected is None or code == expected), f"expected {want}, observed {code!r}")]
    if known:
        wording = TRANSACTION_STATUSES[code]
        checks.append(Check("STS-STATUS-MESSAGE", message == wording,
                            f"expected status_message {wording!r} for status {code}, observed {message!r}"))
    else:
        checks.append(Check("STS-STATUS-MESSAGE", None,
                            f"status_message {message!r} not compared: status_code {code!r} is not in the table"))
    return checks


def has_reason(reason: Any) -> bool:
    """A fail_reason that says why: an integer code and a non-empty message."""
    return (isinstance(reason, dict) and type(reason.get("code")) is int
            and isinstance(reason.get("message"), str) and reason["message"] != "")


def fail_reason_checks(reason: Any, declared: int | None, whose: str) -> list[Check]:
    """A non-empty fail_reason: a documented reason code (the declared one, where the target file
    declares it) with a message (CHK-FAIL-REASON-CODE); code 100 with its wording (CHK-FAIL-REASON-100)."""
    reason = reason if isinstance(reason, dict) else {}
    code, message = reason.get("code"), reason.get("message")
    checks = [Check("CHK-FAIL-REASON-CODE", type(code) is int and code in REASON_CODES
                    and isinstance(message, str) and message != "" and (declared is None or code == declared),
                    "expected a fail_reason with a documented reason code"
                    + (f" ({declared}, as declared)" if declared is not None else "")
                    + f" and a message for {whose}, observed {_short(reason)}")]
    if code == 100:
        checks.append(Check("CHK-FAIL-REASON-100", message == REASON_CODES[100],
                            f"expected message {REASON_CODES[100]!r} with fail_reason code 100 for {whose}, "
                            f"observed {_short(message)}"))
    return checks
