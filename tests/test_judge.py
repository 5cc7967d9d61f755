"""The response judging functions, on hand-made responses (no network)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agws_conformance import judge


@dataclass
class Resp:
    status: int
    payload: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})

    @property
    def body(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.payload).encode()

    @property
    def json(self) -> Any:
        if self.raw is not None:
            return None
        return self.payload

    @property
    def json_error(self) -> str | None:
        return "not JSON" if self.raw is not None else None


UNEXPECTED_1014 = {"status": False, "status_code": 1014, "message": "Invalid signature", "result": {}}
OLD_1407 = {"status": False, "status_code": 1407, "message": "Cache: item not found", "result": {}}
NEW_1407 = {"status": True, "status_code": 0, "message": "Success",
            "result": {"error_code": 1407, "message": "Cache: item not found", "data": None}}


def failed(checks: list[judge.Check]) -> set[str]:
    return {c.requirement for c in checks if c.ok is False}


def test_success_predicate_is_generous_toward_catching_wrong_successes():
    assert judge.is_success(Resp(200, {"status": True, "status_code": 0, "message": "Success", "result": {"error_code": 0}}))
    assert not judge.is_success(Resp(200, NEW_1407))
    assert not judge.is_success(Resp(200, OLD_1407))
    assert not judge.is_success(Resp(200, {}))
    assert not judge.is_success(Resp(200, raw=b"<html>"))


def test_error_format_classification():
    assert judge.observed_error_format(Resp(200, NEW_1407)) == "new"
    assert judge.observed_error_format(Resp(404, OLD_1407)) == "old"
    assert judge.error_code(Resp(200, NEW_1407)) == 1407
    assert judge.error_code(Resp(404, OLD_1407)) == 1407
    assert judge.observed_error_format(Resp(200, {"status": True, "status_code": 0, "result": {"error_code": 0}})) is None


def test_unexpected_error_passes_for_the_documented_1014():
    checks = judge.unexpected_error(Resp(400, UNEXPECTED_1014), code=1014, requirement="SIG-REJECT-MISSING")
    assert not failed(checks)


def test_unexpected_error_with_http_200_fails_the_failing_status_rule():
    checks = judge.unexpected_error(Resp(200, UNEXPECTED_1014), code=1014, requirement="SIG-REJECT-MISSING")
    assert failed(checks) == {"HTTP-UNEXPECTED-FAILING-STATUS"}


def test_a_success_where_1014_was_due_fails_the_rule():
    ok = {"status": True, "status_code": 0, "message": "Success", "result": {"error_code": 0}}
    checks = judge.unexpected_error(Resp(200, ok), code=1014, requirement="SIG-REJECT-MISSING")
    assert failed(checks) == {"SIG-REJECT-MISSING"}  # not an error at all: its status flag is not at issue


def test_a_1014_with_status_true_fails_the_status_rule():
    flagged = dict(UNEXPECTED_1014, status=True)
    checks = judge.unexpected_error(Resp(400, flagged), code=1014, requirement="SIG-REJECT-MISSING")
    assert {"SIG-REJECT-MISSING", "ENV-STATUS-FALSE-IFF-UNEXPECTED"} <= failed(checks)


def test_expected_error_in_the_declared_format():
    checks, fmt = judge.expected_error(Resp(200, NEW_1407), code=1407, declared="new", requirement="CHK-UNKNOWN-1407")
    assert fmt == "new" and not failed(checks)
    checks, fmt = judge.expected_error(Resp(200, OLD_1407), code=1407, declared="new", requirement="CHK-UNKNOWN-1407")
    assert fmt == "old" and failed(checks) == {"ERR-FORMAT-DECLARED"}
    checks, fmt = judge.expected_error(Resp(200, OLD_1407), code=1407, declared="auto", requirement="CHK-UNKNOWN-1407")
    assert not failed(checks)


def test_expected_error_wrong_code_or_garbage():
    checks, _ = judge.expected_error(Resp(200, NEW_1407), code=1041, declared="new", requirement="STS-UNKNOWN-1041")
    assert "STS-UNKNOWN-1041" in failed(checks)
    checks, fmt = judge.expected_error(Resp(502, raw=b"<html>bad gateway</html>"), code=1041, declared="new",
                                       requirement="STS-UNKNOWN-1041")
    assert fmt is None and {"ENV-SHAPE", "STS-UNKNOWN-1041"} <= failed(checks)


def test_documented_message_is_a_separate_should_rule():
    wrong = dict(NEW_1407, result=dict(NEW_1407["result"], message="not found"))
    checks, _ = judge.expected_error(Resp(200, wrong), code=1407, declared="new", requirement="CHK-UNKNOWN-1407")
    assert failed(checks) == {"ERR-CODE-MESSAGE"}


def test_refused_rejects_successes_crashes_and_non_envelopes():
    assert not failed(judge.refused(Resp(400, UNEXPECTED_1014), requirement="ROB-MALFORMED-JSON"))
    ok = {"status": True, "status_code": 0, "message": "Success", "result": {"error_code": 0}}
    assert "ROB-MALFORMED-JSON" in failed(judge.refused(Resp(200, ok), requirement="ROB-MALFORMED-JSON"))
    crash = Resp(500, raw=b"Internal Server Error\n", headers={"content-type": "text/plain"})
    assert failed(judge.refused(crash, requirement="ROB-MALFORMED-JSON")) == {"ROB-NO-CRASH", "ROB-MALFORMED-JSON"}
    assert "ROB-MALFORMED-JSON" in failed(judge.refused(Resp(400, raw=b"bad"), requirement="ROB-MALFORMED-JSON"))


def test_a_5xx_with_the_documented_envelope_is_an_answer_not_a_crash():
    # The Error Codes page: 500 Internal Server Error and 999999 Unknown error under HTTP 500.
    server_error = {"status": False, "status_code": 999999, "message": "Unknown error", "result": {}}
    assert not failed(judge.refused(Resp(500, server_error), requirement="ROB-WRONG-TYPES"))
    assert judge.crashed(Resp(502, raw=b"<html>bad gateway</html>", headers={"content-type": "text/html"}))
    assert not judge.crashed(Resp(500, UNEXPECTED_1014))


def test_a_proxy_page_is_a_refusal_only_where_the_rule_allows_it():
    page = Resp(405, raw=b"<html>405 Not Allowed</html>", headers={"content-type": "text/html"})
    assert not failed(judge.refused(page, requirement="ROB-WRONG-METHOD", proxy_page=True))
    assert failed(judge.refused(page, requirement="ROB-MALFORMED-JSON")) == {"ROB-MALFORMED-JSON"}
    redirect = Resp(302, raw=b"", headers={"location": "/login"})
    assert "ROB-WRONG-METHOD" in failed(judge.refused(redirect, requirement="ROB-WRONG-METHOD", proxy_page=True))


def test_envelope_checks_content_type_and_shape():
    resp = Resp(400, UNEXPECTED_1014, headers={"content-type": "text/html"})
    assert failed(judge.envelope(resp)) == {"ENV-CONTENT-TYPE"}
    assert "ENV-SHAPE" in failed(judge.envelope(Resp(200, {"status": "true"})))
    assert "ENV-SUCCESS-CODE-ZERO" in failed(judge.envelope(Resp(200, {"status": True, "status_code": 7, "message": "", "result": {}})))


SUCCESS = {"status": True, "status_code": 0, "message": "Success", "result": {"error_code": 0}}
OLD_1014_AS_EXPECTED = {"status": False, "status_code": 1014, "message": "Invalid signature", "result": {}}


def test_passed_signature_check_means_served():
    assert judge.passed_signature_check(Resp(200, SUCCESS))
    assert judge.passed_signature_check(Resp(200, NEW_1407))
    assert judge.passed_signature_check(Resp(404, OLD_1407))
    assert not judge.passed_signature_check(Resp(400, UNEXPECTED_1014))
    assert not judge.passed_signature_check(Resp(500, raw=b"oops"))
    # An undocumented error code is no evidence that the signature was accepted.
    odd = dict(NEW_1407, result=dict(NEW_1407["result"], error_code=4242))
    assert not judge.passed_signature_check(Resp(200, odd))


def test_rejected_by_signature_in_either_format():
    assert judge.rejected_by_signature(Resp(400, UNEXPECTED_1014))
    new_1014 = dict(NEW_1407, result=dict(NEW_1407["result"], error_code=1014))
    assert judge.rejected_by_signature(Resp(200, new_1014))
    assert not judge.rejected_by_signature(Resp(200, NEW_1407))


def test_signature_accepted_and_rejected_checks_are_opposites():
    for resp in (Resp(200, SUCCESS), Resp(200, NEW_1407), Resp(400, OLD_1014_AS_EXPECTED)):
        accepted = judge.signature_accepted(resp, requirement="SIG-CANON-ORDER")
        rejected = judge.signature_rejected(resp, requirement="SIG-REJECT-TAMPERED")
        assert accepted.ok is not rejected.ok
        assert accepted.requirement == "SIG-CANON-ORDER" and rejected.requirement == "SIG-REJECT-TAMPERED"


def test_success_message_must_be_success():
    wrong = dict(SUCCESS, message="OK")
    assert "ENV-SUCCESS-CODE-ZERO" in failed(judge.envelope(Resp(200, wrong)))


def test_strict_profile_turns_undocumented_fields_into_failures():
    extra = dict(UNEXPECTED_1014, request_id="abc")
    relaxed = judge.unexpected_error(Resp(400, extra), code=1014, requirement="SIG-REJECT-MISSING")
    strict = judge.unexpected_error(Resp(400, extra), code=1014, requirement="SIG-REJECT-MISSING", strict=True)
    assert [c.ok for c in relaxed if c.requirement == "SCH-STRICT-EXTRA-FIELDS"] == [None]
    assert [c.ok for c in strict if c.requirement == "SCH-STRICT-EXTRA-FIELDS"] == [False]
