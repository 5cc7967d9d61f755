"""The response envelope and HTTP status, judged on all three kinds of answer on both endpoints.

Every suite test already judges the envelope of what it receives (the ``agws.expect_*`` helpers);
these tests are the focused evidence: one response of each kind (success, expected error,
unexpected error) per endpoint, each judged for one rule, so a report row points at one cause.
"""

from __future__ import annotations

import pytest

from agws_conformance import judge
from agws_conformance.client import Response
from agws_conformance.endpoints import LOOKUP_METHODS, METHODS

ENDPOINTS = LOOKUP_METHODS  # the read-only methods that look an identifier up (endpoints.METHODS)
KINDS = ("success", "expected", "unexpected")


# A key that is not the target's secret: its signatures are refused (1014, an unexpected error).
OTHER_SECRET = "agws-conformance-not-the-secret"


def provoke(agws, endpoint: str, kind: str) -> Response:
    """One request on ``endpoint`` that the documents answer with a response of ``kind``."""
    if kind == "success":
        if endpoint == "user/check":
            fields = agws.fields(endpoint, username=agws.require_account().username)
        else:
            fields = agws.fields(endpoint, external_id=agws.require_payment().external_id)
        return agws.send(endpoint, fields)
    if kind == "expected":
        unknown = {"username": agws.unknown_username()} if endpoint == "user/check" \
            else {"external_id": agws.unknown_external_id()}
        return agws.send(endpoint, agws.fields(endpoint, **unknown))
    content = agws.encode(agws.fields(endpoint))
    return agws.send(endpoint, content=content, signature=agws.sign_with_secret(content, OTHER_SECRET))


def what(endpoint: str, kind: str) -> str:
    """How the report names the provoked response, e.g. 'the 1407 expected error of user/check'."""
    return {"success": f"the success of {endpoint}",
            "expected": f"the {METHODS[endpoint].missing_code} expected error of {endpoint}",
            "unexpected": f"the 1014 unexpected error of {endpoint}"}[kind]


def expect_kind(agws, resp: Response, endpoint: str, kind: str) -> None:
    """Precondition: the provoked response is of the intended kind (judged under its own rule)."""
    __tracebackhide__ = True
    if kind == "success":
        agws.check(judge.is_success(resp), METHODS[endpoint].found,
                   f"expected a success for a configured identifier, observed {judge.describe(resp)}")
    elif kind == "expected":
        code = METHODS[endpoint].missing_code
        agws.check(judge.error_code(resp) == code, METHODS[endpoint].missing,
                   f"expected error {code} in either documented format, observed {judge.describe(resp)}")
    else:
        agws.require_served(endpoint)  # a refusal is evidence only from a gateway that serves the good request
        agws.judge([judge.signature_rejected(resp, requirement="SIG-REJECT-WRONG-SECRET")])


def error_location(body: dict, code: int) -> str | None:
    """Where an expected error's code is, whatever the status flag says: the judged rule ties the two."""
    result = body.get("result")
    if isinstance(result, dict) and result.get("error_code") == code:
        return "result.error_code"
    if body.get("status_code") == code:
        return "status_code"
    return None


def precondition_rules(endpoint: str, kind: str) -> tuple[str, ...]:
    """What :func:`expect_kind` judges for a response of ``kind``."""
    method = METHODS[endpoint]
    return {"success": (method.found,), "expected": (method.missing,),
            "unexpected": ("SIG-ACCEPT-GO-BODY", "SIG-REJECT-WRONG-SECRET")}[kind]


def cases(kinds: tuple[str, ...] = KINDS) -> list:
    """(endpoint, kind) parameters, each declaring the precondition rules it judges."""
    return [pytest.param(e, k, id=f"{e}-{k}", marks=pytest.mark.requirement(*precondition_rules(e, k)))
            for e in ENDPOINTS for k in kinds]


CASES = cases()


@pytest.mark.requirement("ENV-SHAPE", "ENV-CONTENT-TYPE")
@pytest.mark.parametrize("endpoint,kind", [pytest.param(e, k, id=f"{e}-{k}") for e in ENDPOINTS for k in KINDS])
def test_envelope_shape(agws, endpoint: str, kind: str) -> None:
    """Every answer is the documented JSON envelope, labelled application/json."""
    resp = provoke(agws, endpoint, kind)
    checks = [c for c in judge.envelope(resp) if c.requirement in ("ENV-SHAPE", "ENV-CONTENT-TYPE")]
    agws.judge(checks)


@pytest.mark.requirement("ENV-SUCCESS-CODE-ZERO", "ENV-SHAPE")
@pytest.mark.parametrize("endpoint,kind", cases(("success", "expected")))  # preconditions judged on status false only
def test_status_true_has_code_zero(agws, endpoint: str, kind: str) -> None:
    """status true means status_code 0 and message "Success", also around a new-format expected error."""
    resp = provoke(agws, endpoint, kind)
    agws.judge(c for c in judge.envelope(resp) if c.requirement == "ENV-SHAPE")
    body = resp.json
    if body.get("status") is not True:
        expect_kind(agws, resp, endpoint, kind)
        agws.not_applicable(f"{what(endpoint, kind)} has status false (the old error format): no status-true envelope to judge")
    agws.check(body.get("status_code") == 0 and body.get("message") == "Success", "ENV-SUCCESS-CODE-ZERO",
               f"expected status_code 0 and message 'Success' with status true in {what(endpoint, kind)}, "
               f"observed status_code {body.get('status_code')!r} and message {body.get('message')!r}")


@pytest.mark.requirement("ENV-STATUS-FALSE-IFF-UNEXPECTED", "ENV-SHAPE")
@pytest.mark.parametrize("endpoint,kind", CASES)
def test_status_false_only_for_errors_outside_result(agws, endpoint: str, kind: str) -> None:
    """status is true for successes and new-format expected errors, false for unexpected errors.

    An old-format expected error also has status false (the format predates the change), so for an
    expected error the rule that can be judged is that status matches where the error code is:
    true with ``result.error_code``, false with ``status_code``.
    """
    resp = provoke(agws, endpoint, kind)
    agws.judge(c for c in judge.envelope(resp) if c.requirement == "ENV-SHAPE")
    status = resp.json.get("status")
    if kind == "success":
        expect_kind(agws, resp, endpoint, kind)
        ok, want = status is True, "status true"
    elif kind == "expected":
        code = METHODS[endpoint].missing_code
        where = error_location(resp.json, code)
        agws.check(where is not None, METHODS[endpoint].missing,
                   f"expected error {code} in result.error_code or status_code, observed {judge.describe(resp)}")
        ok = status is (where == "result.error_code")
        want = f"status {'true' if where == 'result.error_code' else 'false'} with the error code in {where}"
    else:
        expect_kind(agws, resp, endpoint, kind)
        ok, want = status is False, "status false"
    agws.check(ok, "ENV-STATUS-FALSE-IFF-UNEXPECTED", f"expected {want} in {what(endpoint, kind)}, "
               f"observed {judge.describe(resp)}")


@pytest.mark.requirement("HTTP-200-SUCCESS")
@pytest.mark.parametrize("endpoint,kind", cases(("success", "expected")))
def test_http_200_for_success_and_new_format_errors(agws, endpoint: str, kind: str) -> None:
    """Successes and new-format expected errors are answered with HTTP 200."""
    resp = provoke(agws, endpoint, kind)
    expect_kind(agws, resp, endpoint, kind)
    if kind == "expected" and judge.observed_error_format(resp) == "old":
        agws.not_applicable(f"{what(endpoint, kind)} is in the old format, whose HTTP status is only recorded "
                    "(HTTP-OLD-FORMAT-STATUS)")
    agws.check(resp.status == 200, "HTTP-200-SUCCESS",
               f"expected HTTP 200 for {what(endpoint, kind)}, observed HTTP {resp.status}")


@pytest.mark.requirement("HTTP-UNEXPECTED-FAILING-STATUS", "ENV-SHAPE", *precondition_rules("user/check", "unexpected"))
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_http_failing_status_for_unexpected_errors(agws, endpoint: str) -> None:
    """Unexpected errors are answered with a 4xx or 5xx status, never HTTP 200 (ERRATUM-UNEXPECTED-HTTP-STATUS)."""
    resp = provoke(agws, endpoint, "unexpected")
    agws.judge(c for c in judge.envelope(resp) if c.requirement == "ENV-SHAPE")
    expect_kind(agws, resp, endpoint, "unexpected")
    agws.check(400 <= resp.status < 600, "HTTP-UNEXPECTED-FAILING-STATUS",
               f"expected a failing HTTP status (4xx/5xx) for {what(endpoint, 'unexpected')}, observed HTTP {resp.status}")


@pytest.mark.requirement("HTTP-OLD-FORMAT-STATUS")
@pytest.mark.parametrize("endpoint", [pytest.param(e, marks=pytest.mark.requirement(METHODS[e].missing)) for e in ENDPOINTS])
def test_http_status_of_old_format_errors_recorded(agws, endpoint: str) -> None:
    """The HTTP status of an old-format expected error is recorded: the documents do not fix it."""
    resp = provoke(agws, endpoint, "expected")
    expect_kind(agws, resp, endpoint, "expected")
    fmt = judge.observed_error_format(resp)
    if fmt != "old":
        agws.not_applicable(f"{what(endpoint, 'expected')} is in the {fmt} format: no old-format HTTP status to record")
    agws.observe("HTTP-OLD-FORMAT-STATUS",
                 f"{what(endpoint, 'expected')} (old format) is answered with HTTP {resp.status}")


def _schema(endpoint: str, kind: str, resp: Response) -> tuple[str, str]:
    """The schema (and its requirement) that documents ``resp``."""
    if kind == "success":
        return METHODS[endpoint].success_schema, METHODS[endpoint].success_schema_requirement
    if kind == "expected":
        return ("error-expected-new", "SCH-ERROR-NEW") if judge.observed_error_format(resp) == "new" \
            else ("error-expected-old", "SCH-ERROR-OLD")
    return "error-unexpected", "SCH-ERROR-UNEXPECTED"


SCHEMA_RULES = {"success": lambda e: (METHODS[e].success_schema_requirement,),
                "expected": lambda e: ("SCH-ERROR-NEW", "SCH-ERROR-OLD"),
                "unexpected": lambda e: ("SCH-ERROR-UNEXPECTED",)}


@pytest.mark.requirement("SCH-STRICT-EXTRA-FIELDS")
@pytest.mark.parametrize("endpoint,kind", [
    pytest.param(e, k, id=f"{e}-{k}", marks=pytest.mark.requirement(*precondition_rules(e, k), *SCHEMA_RULES[k](e)))
    for e in ENDPOINTS for k in KINDS])
def test_undocumented_fields_recorded(agws, endpoint: str, kind: str) -> None:
    """Fields the documents do not list are recorded (INFO); they fail only under --agws-strict."""
    resp = provoke(agws, endpoint, kind)
    expect_kind(agws, resp, endpoint, kind)
    schema, requirement = _schema(endpoint, kind, resp)
    # A body the lenient schema refuses fails here, under its own requirement.
    agws.judge(judge.schema_checks(resp, schema, requirement, strict=agws.settings.strict))
