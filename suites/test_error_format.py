"""Error formats: expected errors in the declared format (or one consistent format with ``auto``).

The documents changed how expected errors (1407, 1041, ...) look: before, the unexpected-error
shape with the code in ``status_code``; after, the success envelope with ``result.error_code``.
Unexpected errors (1014) kept one shape. A target declares ``old``, ``new`` or ``auto``; with
``auto`` either is accepted, the one seen is reported, and mixing both for one error is a failure.
"""

from __future__ import annotations

import pytest

from agws_conformance import judge
from agws_conformance.client import Response
from agws_conformance.endpoints import LOOKUP_METHODS, METHODS
from agws_conformance.plugin import rules

ENDPOINTS = LOOKUP_METHODS  # the read-only methods that look an identifier up (endpoints.METHODS)
OTHER_SECRET = "agws-conformance-not-the-secret"

# Requests per error class in the consistency test: sent back to back, so a target that alternates
# formats request by request shows both within one class.
REPEATS = 3

# Every method, with what expect_expected_error judges on its "not found" error where it has one.
EXPECTED = [pytest.param(m.name, marks=pytest.mark.requirement(*judge.expected_error_rules(m.missing)))
            if m.missing else pytest.param(m.name) for m in METHODS.values()]


def send_unknown(agws, endpoint: str) -> Response:
    """A request naming an identifier the target cannot hold (1407 / 1041); not applicable to a
    method without a documented "not found" error."""
    method = METHODS[endpoint]
    if method.lookup is None or method.missing_code is None:
        agws.not_applicable(f"{endpoint} looks up nothing: it has no documented \"not found\" expected error")
    return agws.send(endpoint, agws.fields(endpoint, **{method.lookup: agws.unknown_username() if
                                                        method.subject == "account" else agws.unknown_external_id()}))


@pytest.mark.requirement("ERR-FORMAT-DECLARED", "ERR-FORMAT-OBSERVED")
@pytest.mark.parametrize("method", EXPECTED)
def test_expected_error_in_declared_format(agws, method: str) -> None:
    """An expected error comes back in the format the target declares (any documented one with auto)."""
    resp = send_unknown(agws, method)
    agws.expect_expected_error(resp, code=METHODS[method].missing_code, requirement=METHODS[method].missing)
    if agws.error_format == "auto":
        agws.observe("ERR-FORMAT-DECLARED", f"the target declares error_format auto; error {METHODS[method].missing_code} "
                     f"came back in the {judge.observed_error_format(resp)} format")


@pytest.mark.parametrize("method,fmt", [
    pytest.param(m.name, fmt, id=f"{m.name}-{fmt}",
                 marks=pytest.mark.requirement(*judge.expected_error_rules(m.missing, fmt)) if m.missing else ())
    for m in METHODS.values() for fmt in ("old", "new")])
def test_expected_error_schema(agws, method: str, fmt: str) -> None:
    """An expected error in the old (new) format validates against error-expected-old (-new)."""
    resp = send_unknown(agws, method)
    observed = judge.observed_error_format(resp)
    if observed is not None and observed != fmt:
        agws.not_applicable(f"error {METHODS[method].missing_code} of {method} came back in the {observed} format, not the {fmt} one")
    agws.expect_expected_error(resp, code=METHODS[method].missing_code, requirement=METHODS[method].missing)


@pytest.mark.requirement(*judge.unexpected_error_rules("SCH-ERROR-UNEXPECTED"))
@pytest.mark.parametrize("method", rules.method_params(rules=lambda m: (*rules.precondition_rules(m), "ROB-NO-CRASH")))
def test_unexpected_error_shape(agws, method: str) -> None:
    """A signature rejection is the documented unexpected error: 1014 "Invalid signature", result {}."""
    content = agws.encode(rules.served_request(agws, method))
    resp = rules.send(agws, method, content, signature=agws.sign_with_secret(content, OTHER_SECRET),
                      why="must be refused: a signature under another key", must_refuse="a signature under another key")
    agws.judge([judge.no_crash(resp, f"a signature under another key on {method}")])
    agws.expect_unexpected_error(resp, code=judge.SIGNATURE_ERROR, requirement="SCH-ERROR-UNEXPECTED")


@pytest.mark.requirement("ERR-CODE-MESSAGE")
@pytest.mark.parametrize("method", EXPECTED)
def test_expected_error_message(agws, method: str) -> None:
    """1407 says "Cache: item not found" and 1041 "Order not found" (SHOULD: the documents' examples)."""
    resp = send_unknown(agws, method)
    agws.expect_expected_error(resp, code=METHODS[method].missing_code, requirement=METHODS[method].missing)


@pytest.mark.requirement(*judge.expected_error_rules("CHK-UNKNOWN-1407"), "STS-UNKNOWN-1041")
def test_one_format_per_error_class(agws) -> None:
    """Repeated 1407s and 1041s each come back in one format; the format seen is reported.

    Judged here on this test's own requests, so a target that alternates formats is caught even
    when the run is filtered to this file (the context also tracks formats across the whole run).
    """
    seen: dict[int, list[str | None]] = {}
    responses: list[tuple[str, Response]] = []
    for endpoint in ENDPOINTS:
        for _ in range(REPEATS):
            resp = send_unknown(agws, endpoint)
            responses.append((endpoint, resp))
            seen.setdefault(METHODS[endpoint].missing_code, []).append(judge.observed_error_format(resp))
    # Judged over the answers that are documented errors at all: a gateway answering none of them
    # is not "consistent", it fails the 1407/1041 rules below.
    agws.judge(judge.Check("ERR-FORMAT-CONSISTENT", len(set(formats)) == 1,
                           f"expected one error format for error {code} across {len(formats)} requests, observed "
                           + ", ".join(str(f) for f in formats))
               for code, formats in ((c, [f for f in fs if f]) for c, fs in seen.items()) if len(formats) > 1)
    for endpoint, resp in responses:
        agws.expect_expected_error(resp, code=METHODS[endpoint].missing_code, requirement=METHODS[endpoint].missing)
    per_class = {code: formats[0] for code, formats in seen.items()}
    formats = set(per_class.values())
    agws.note("error_format", formats.pop() if len(formats) == 1
              else ", ".join(f"{code}: {fmt}" for code, fmt in per_class.items()))
