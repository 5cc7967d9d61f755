"""The response envelope and HTTP status, judged on all three kinds of answer on every method.

Every suite test already judges the envelope of what it receives (the ``agws.expect_*`` helpers);
these tests are the focused evidence: one response of each kind (success, expected error,
unexpected error) per method of ``endpoints.METHODS``, each judged for one rule, so a report row
points at one cause. A kind a method cannot be asked for without side effects is not applicable:
a writing method's success moves money (its own suite judges it), and only lookup methods have an
expected error ("not found") that any request can provoke.
"""

from __future__ import annotations

import pytest

from agws_conformance import judge
from agws_conformance.client import Response
from agws_conformance.endpoints import METHODS, Method
from agws_conformance.plugin import rules

KINDS = ("success", "expected", "unexpected")

# A key that is not the target's secret: its signatures are refused (1014, an unexpected error).
OTHER_SECRET = "agws-conformance-not-the-secret"


def applicable(method: Method, kind: str) -> str | None:
    """Why ``kind`` cannot be provoked on ``method`` (None: it can)."""
    if kind == "success" and method.writes:
        return f"a success of {method.name} moves money or confirms a payment: its own suite judges it"
    if kind == "expected" and method.missing_code is None:
        return f"{method.name} has no documented expected error a request can provoke without side effects"
    return None


def provoke(agws, endpoint: str, kind: str) -> Response:
    """One request on ``endpoint`` that the documents answer with a response of ``kind``."""
    method = METHODS[endpoint]
    reason = applicable(method, kind)
    if reason is not None:
        agws.not_applicable(reason)
    # A success or an expected error is judged as it comes (expect_kind), so no precondition first.
    if kind == "success":
        return agws.send(endpoint, rules.lookup_request(agws, endpoint) if method.lookup else agws.fields(endpoint))
    if kind == "expected":
        return agws.send(endpoint, rules.lookup_request(agws, endpoint, "unknown"))
    content = agws.encode(rules.served_request(agws, endpoint))
    resp = rules.send(agws, endpoint, content, signature=agws.sign_with_secret(content, OTHER_SECRET),
                      why="must be refused: a signature under another key", must_refuse="a signature under another key")
    agws.judge([judge.no_crash(resp, f"a signature under another key on {endpoint}")])
    return resp


def what(endpoint: str, kind: str) -> str:
    """How the report names the provoked response, e.g. 'the 1407 expected error of user/check'."""
    return {"success": f"the success of {endpoint}",
            "expected": f"the {METHODS[endpoint].missing_code} expected error of {endpoint}",
            "unexpected": f"the 1014 unexpected error of {endpoint}"}[kind]


def kind_checks(resp: Response, endpoint: str, kind: str) -> list[judge.Check]:
    """The provoked response is of the intended kind, each judged under its own rule."""
    if kind == "success":
        return [judge.Check(METHODS[endpoint].found, judge.is_success(resp),
                            f"expected a success for a request this target serves, observed {judge.describe(resp)}")]
    if kind == "expected":
        code = METHODS[endpoint].missing_code
        return [judge.Check(str(METHODS[endpoint].missing), judge.error_code(resp) == code,
                            f"expected error {code} in either documented format, observed {judge.describe(resp)}")]
    return [judge.signature_rejected(resp, requirement="SIG-REJECT-WRONG-SECRET")]


def expect_kind(agws, resp: Response, endpoint: str, kind: str) -> None:
    """Precondition: the provoked response is of the intended kind (judged under its own rule)."""
    __tracebackhide__ = True
    agws.judge(kind_checks(resp, endpoint, kind))


def error_location(body: dict, code: int) -> str | None:
    """Where an expected error's code is, whatever the status flag says: the judged rule ties the two."""
    result = body.get("result")
    if isinstance(result, dict) and result.get("error_code") == code:
        return "result.error_code"
    if body.get("status_code") == code:
        return "status_code"
    return None


def provoke_rules(method: Method, kind: str) -> tuple[str, ...]:
    """What :func:`provoke` judges: for a refusal, that the good request is served and no crash."""
    return (*rules.precondition_rules(method), "ROB-NO-CRASH") if kind == "unexpected" else ()


def precondition_rules(method: Method, kind: str) -> tuple[str, ...]:
    """What :func:`provoke` and :func:`expect_kind` judge for a response of ``kind``."""
    if kind == "success":
        return (method.found,)
    if kind == "expected":
        return (method.missing,) if method.missing else ()
    return (*provoke_rules(method, kind), "SIG-REJECT-WRONG-SECRET")


def cases(kinds: tuple[str, ...] = KINDS, extra=lambda m, k: (), rules_of=precondition_rules) -> list:  # noqa: ANN001
    """(method, kind) parameters, each declaring the precondition rules it judges (and ``extra``)."""
    return [pytest.param(m.name, k, id=f"{m.name}-{k}",
                         marks=pytest.mark.requirement(*rules_of(m, k), *extra(m, k)))
            for m in METHODS.values() for k in kinds]


CASES = cases()


@pytest.mark.requirement("ENV-SHAPE", "ENV-CONTENT-TYPE")
@pytest.mark.parametrize("method,case", cases(rules_of=provoke_rules))
def test_envelope_shape(agws, method: str, case: str) -> None:
    """Every answer is the documented JSON envelope, labelled application/json."""
    resp = provoke(agws, method, case)
    checks = [c for c in judge.envelope(resp) if c.requirement in ("ENV-SHAPE", "ENV-CONTENT-TYPE")]
    agws.judge(checks)


@pytest.mark.requirement("ENV-SUCCESS-CODE-ZERO", "ENV-SHAPE")
@pytest.mark.parametrize("method,case", cases(("success", "expected")))  # preconditions judged on status false only
def test_status_true_has_code_zero(agws, method: str, case: str) -> None:
    """status true means status_code 0 and message "Success", also around a new-format expected error."""
    resp = provoke(agws, method, case)
    agws.judge(c for c in judge.envelope(resp) if c.requirement == "ENV-SHAPE")
    body = resp.json
    if body.get("status") is not True:
        expect_kind(agws, resp, method, case)
        agws.not_applicable(f"{what(method, case)} has status false (the old error format): no status-true envelope to judge")
    # Judged together: a success whose status_code is not 0 fails its method's rule and this one.
    agws.judge([*kind_checks(resp, method, case),
                judge.Check("ENV-SUCCESS-CODE-ZERO", body.get("status_code") == 0 and body.get("message") == "Success",
                            f"expected status_code 0 and message 'Success' with status true in {what(method, case)}, "
                            f"observed status_code {body.get('status_code')!r} and message {body.get('message')!r}")])


@pytest.mark.requirement("ENV-STATUS-FALSE-IFF-UNEXPECTED", "ENV-SHAPE")
@pytest.mark.parametrize("method,case", CASES)
def test_status_false_only_for_errors_outside_result(agws, method: str, case: str) -> None:
    """status is true for successes and new-format expected errors, false for unexpected errors.

    An old-format expected error also has status false (the format predates the change), so for an
    expected error the rule that can be judged is that status matches where the error code is:
    true with ``result.error_code``, false with ``status_code``.
    """
    resp = provoke(agws, method, case)
    agws.judge(c for c in judge.envelope(resp) if c.requirement == "ENV-SHAPE")
    status = resp.json.get("status")
    if case == "success":
        expect_kind(agws, resp, method, case)
        ok, want = status is True, "status true"
    elif case == "expected":
        code = METHODS[method].missing_code
        where = error_location(resp.json, code)
        agws.check(where is not None, METHODS[method].missing,
                   f"expected error {code} in result.error_code or status_code, observed {judge.describe(resp)}")
        ok = status is (where == "result.error_code")
        want = f"status {'true' if where == 'result.error_code' else 'false'} with the error code in {where}"
    else:
        expect_kind(agws, resp, method, case)
        ok, want = status is False, "status false"
    agws.check(ok, "ENV-STATUS-FALSE-IFF-UNEXPECTED", f"expected {want} in {what(method, case)}, "
               f"observed {judge.describe(resp)}")


@pytest.mark.requirement("HTTP-200-SUCCESS")
@pytest.mark.parametrize("method,case", cases(("success", "expected")))
def test_http_200_for_success_and_new_format_errors(agws, method: str, case: str) -> None:
    """Successes and new-format expected errors are answered with HTTP 200."""
    resp = provoke(agws, method, case)
    expect_kind(agws, resp, method, case)
    if case == "expected" and judge.observed_error_format(resp) == "old":
        agws.not_applicable(f"{what(method, case)} is in the old format, whose HTTP status is only recorded "
                    "(HTTP-OLD-FORMAT-STATUS)")
    agws.check(resp.status == 200, "HTTP-200-SUCCESS",
               f"expected HTTP 200 for {what(method, case)}, observed HTTP {resp.status}")


@pytest.mark.requirement("HTTP-UNEXPECTED-FAILING-STATUS", "ENV-SHAPE")
@pytest.mark.parametrize("method", [
    pytest.param(m.name, marks=pytest.mark.requirement(*precondition_rules(m, "unexpected"))) for m in METHODS.values()])
def test_http_failing_status_for_unexpected_errors(agws, method: str) -> None:
    """Unexpected errors are answered with a 4xx or 5xx status, never HTTP 200 (ERRATUM-UNEXPECTED-HTTP-STATUS)."""
    resp = provoke(agws, method, "unexpected")
    agws.judge(c for c in judge.envelope(resp) if c.requirement == "ENV-SHAPE")
    expect_kind(agws, resp, method, "unexpected")
    agws.check(400 <= resp.status < 600, "HTTP-UNEXPECTED-FAILING-STATUS",
               f"expected a failing HTTP status (4xx/5xx) for {what(method, 'unexpected')}, observed HTTP {resp.status}")


@pytest.mark.requirement("HTTP-OLD-FORMAT-STATUS")
@pytest.mark.parametrize("method", [
    pytest.param(m.name, marks=pytest.mark.requirement(*precondition_rules(m, "expected"))) for m in METHODS.values()])
def test_http_status_of_old_format_errors_recorded(agws, method: str) -> None:
    """The HTTP status of an old-format expected error is recorded: the documents do not fix it."""
    resp = provoke(agws, method, "expected")
    expect_kind(agws, resp, method, "expected")
    fmt = judge.observed_error_format(resp)
    if fmt != "old":
        agws.not_applicable(f"{what(method, 'expected')} is in the {fmt} format: no old-format HTTP status to record")
    agws.observe("HTTP-OLD-FORMAT-STATUS",
                 f"{what(method, 'expected')} (old format) is answered with HTTP {resp.status}")


def _schema(method: str, case: str, resp: Response) -> tuple[str, str]:
    """The schema (and its requirement) that documents ``resp``."""
    if case == "success":
        return METHODS[method].success_schema, METHODS[method].success_schema_requirement
    if case == "expected":
        return ("error-expected-new", "SCH-ERROR-NEW") if judge.observed_error_format(resp) == "new" \
            else ("error-expected-old", "SCH-ERROR-OLD")
    return "error-unexpected", "SCH-ERROR-UNEXPECTED"


SCHEMA_RULES = {"success": lambda e: (METHODS[e].success_schema_requirement,),
                "expected": lambda e: ("SCH-ERROR-NEW", "SCH-ERROR-OLD"),
                "unexpected": lambda e: ("SCH-ERROR-UNEXPECTED",)}


@pytest.mark.requirement("SCH-STRICT-EXTRA-FIELDS")
@pytest.mark.parametrize("method,case", cases(extra=lambda m, k: SCHEMA_RULES[k](m.name)))
def test_undocumented_fields_recorded(agws, method: str, case: str) -> None:
    """Fields the documents do not list are recorded (INFO); they fail only under --agws-strict."""
    resp = provoke(agws, method, case)
    expect_kind(agws, resp, method, case)
    schema, requirement = _schema(method, case, resp)
    # A body the lenient schema refuses fails here, under its own requirement.
    agws.judge(judge.schema_checks(resp, schema, requirement, strict=agws.settings.strict))
