"""Report outputs from synthetic results: the JSON summary, the HTML fragments, the gate.

A small hand-made catalogue keeps the golden files stable while the real catalogue grows; the
golden files pin the structure (verdict, matrix, transcript, redaction). Regenerate them with
``AGWS_UPDATE_GOLDEN=1 pytest tests/test_report_outputs.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from agws_conformance.catalogue import Catalogue, Erratum, ErratumSource, Requirement, load_catalogue
from agws_conformance.report import html as fragments
from agws_conformance.report.__main__ import main as report_main
from agws_conformance.report.identity import RunIdentity, TargetIdentity, safe_url
from agws_conformance.report.summary import EXIT_STATUS, build_summary, gate, summary_errors, write_summary
from agws_conformance.results import Results, TestResult
from agws_conformance.transcript import Exchange, Redactor

GOLDEN = Path(__file__).parent / "golden"
HOSTILE = '<script>document.title="PWNED"</script><img src=x onerror="document.title=\'PWNED\'">'
CANARY = "canary-7f3a9c-SECRET"


def catalogue() -> Catalogue:
    def req(rid: str, level: str, area: str) -> Requirement:
        return Requirement(rid, level, area, "synthetic", f"summary of {rid} <b>not bold</b>")  # type: ignore[arg-type]

    reqs = [req("SIG-REJECT-MISSING", "MUST", "signature"), req("SIG-INFO-VARIANT", "INFO", "signature"),
            req("ENV-SHAPE", "MUST", "envelope"), req("ENV-CONTENT-TYPE", "SHOULD", "envelope"),
            req("ROB-MALFORMED-JSON", "MUST", "robustness")]
    erratum = Erratum("ERRATUM-X", "A contradiction", (ErratumSource("doc", "p. 1", "says <x>"),),
                      "the suite reads it as y", "because", ("ENV-SHAPE",), ())
    return Catalogue("9.9.9", {r.id: r for r in reqs}, {}, {erratum.id: erratum}, "9.9.8", {})


def exchange(body: bytes, *, secret: str = CANARY) -> dict:
    return Exchange.capture(
        Redactor([secret]), method="POST", url="http://127.0.0.1:1234/showcase-gateway/api/v1/user/check",
        request_headers=[("Content-Type", "application/json"), ("X-Signature", "ab" * 32)],
        request_body=b'{"agent":"a","username":"u"}', status=200,
        response_headers=[("Content-Type", "text/html"), ("X-Leak", secret)],
        response_body=body, elapsed=0.012, started=0.0).to_dict()


def results(*, failing: bool = True, target: str = "staging") -> Results:
    r = Results()
    f = [{"requirement": "ENV-SHAPE", "level": "MUST", "ok": not failing, "outcome": "fail" if failing else "pass",
          "message": f"expected a JSON object, observed {HOSTILE}"}]
    r.add(TestResult("suites/test_envelope.py::test_shape", target, ["ENV-SHAPE"],
                     "failed" if failing else "passed", findings=f,
                     exchanges=[exchange(HOSTILE.encode() + f" secret={CANARY} ".encode() + b"x" * 6000)],
                     message="[ENV-SHAPE] expected a JSON object" if failing else "", duration=0.02))
    r.add(TestResult("suites/test_envelope.py::test_content_type", target, ["ENV-CONTENT-TYPE"], "warn",
                     findings=[{"requirement": "ENV-CONTENT-TYPE", "level": "SHOULD", "ok": False, "outcome": "warn",
                                "message": "expected application/json, observed text/html"}]))
    r.add(TestResult("suites/test_signature_rejected.py::test_missing", target, ["SIG-REJECT-MISSING"], "passed",
                     findings=[{"requirement": "SIG-REJECT-MISSING", "level": "MUST", "ok": True, "outcome": "pass",
                                "message": "expected error 1014, observed 1014"}]))
    r.add(TestResult("suites/test_robustness.py::test_malformed", target, ["ROB-MALFORMED-JSON"], "skipped",
                     message="target configures no [[accounts]] entry"))
    return r


def identity(*names: str) -> RunIdentity:
    targets = tuple(TargetIdentity(n, f"https://{n}.example.test/gw", "agent", "project", "201106", "new", "new",
                                   "go1.22", "go1.22", False) for n in names or ("staging",))
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    return RunIdentity("0.1.0", "0" * 40, False, "9.9.9", "9.9.8", "12345", "quick", False,
                       moment, moment.replace(minute=5), 42, targets)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("AGWS_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}; run with AGWS_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


# -- JSON summary -------------------------------------------------------------------------------

def test_summary_golden_and_schema() -> None:
    summary = build_summary(results(), identity(), catalogue())
    assert summary_errors(summary) == []
    assert summary["verdict"] == "NOT CONFORMANT" and summary["exit_status"] == 1
    cells = {r["id"]: r["results"]["staging"]["status"] for r in summary["requirements"]}
    assert cells == {"SIG-REJECT-MISSING": "pass", "SIG-INFO-VARIANT": "not run", "ENV-SHAPE": "fail",
                     "ENV-CONTENT-TYPE": "warn", "ROB-MALFORMED-JSON": "skipped"}
    assert CANARY not in json.dumps(summary)
    check_golden("report-summary.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")


def test_a_partial_run_is_never_conformant_and_says_why(tmp_path: Path) -> None:
    """Ctrl-C: whatever passed before it, the summary is INCOMPLETE, its first reason is the
    interruption, the HTML says PARTIAL, and the gate finds the summary consistent."""
    import dataclasses

    passing = Results()
    passing.add(TestResult("suites/test_signature_rejected.py::test_missing", "staging", ["SIG-REJECT-MISSING"],
                           "passed", findings=[{"requirement": "SIG-REJECT-MISSING", "level": "MUST", "ok": True,
                                                "outcome": "pass", "message": "expected error 1014, observed 1014"}]))
    full = catalogue()
    tiny = dataclasses.replace(full, requirements={"SIG-REJECT-MISSING": full.requirements["SIG-REJECT-MISSING"]},
                               errata={})
    assert build_summary(passing, identity(), tiny)["verdict"] == "CONFORMANT"
    partial = dataclasses.replace(identity(), partial="interrupted by the user (Ctrl-C)")
    summary = build_summary(passing, partial, tiny)
    assert summary_errors(summary) == []
    assert (summary["verdict"], summary["exit_status"], summary["run"]["partial"]) == (
        "INCOMPLETE", 10, "interrupted by the user (Ctrl-C)")
    assert summary["reasons"][0]["kind"] == "interrupted" and "after 1 test;" in summary["reasons"][0]["text"]
    path = tmp_path / "summary.json"
    write_summary(str(path), summary)
    code, line = gate(path)
    assert code == 10 and "interrupted: partial report" in line, line
    assert "PARTIAL REPORT: interrupted by the user (Ctrl-C) after 1 tests" in fragments.summary_block(
        passing, partial, tiny)


@pytest.mark.parametrize("failing,expected", [(True, "NOT CONFORMANT"), (False, "INCOMPLETE")])
def test_summary_verdicts(failing: bool, expected: str) -> None:
    # Not failing still leaves a MUST requirement skipped: INCOMPLETE, never CONFORMANT.
    assert build_summary(results(failing=failing), identity(), catalogue())["verdict"] == expected


def test_summary_conformant_with_warnings() -> None:
    r = results(failing=False)
    del r.tests["staging::suites/test_robustness.py::test_malformed"]
    cat = catalogue()
    cat.requirements.pop("ROB-MALFORMED-JSON")
    summary = build_summary(r, identity(), cat)
    assert (summary["verdict"], summary["exit_status"]) == ("CONFORMANT WITH WARNINGS", 0)


def test_summary_schema_rejects_tampering() -> None:
    summary = build_summary(results(), identity(), catalogue())
    assert summary_errors(summary | {"verdict": "MOSTLY FINE"})
    assert summary_errors({k: v for k, v in summary.items() if k != "counts"})
    summary["requirements"][0]["results"]["staging"]["status"] = "great"
    assert summary_errors(summary)


def test_multi_target_summary_has_per_target_verdicts() -> None:
    r = results(failing=True, target="a")
    for t in results(failing=False, target="b").tests.values():
        r.add(t)
    summary = build_summary(r, identity("a", "b"), catalogue())
    assert [(t["name"], t["verdict"]) for t in summary["targets"]] == [("a", "NOT CONFORMANT"), ("b", "INCOMPLETE")]
    shape = next(x for x in summary["requirements"] if x["id"] == "ENV-SHAPE")["results"]
    assert (shape["a"]["status"], shape["b"]["status"]) == ("fail", "pass")
    assert summary_errors(summary) == []


def test_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.json"
    write_summary(path, build_summary(results(), identity(), catalogue()))
    assert gate(path)[0] == 1 and "ENV-SHAPE" in gate(path)[1]
    assert report_main(["gate", str(path)]) == 1
    assert capsys.readouterr().out.startswith("NOT CONFORMANT: 4 tests")
    assert gate(tmp_path / "missing.json") == (10, f"INCOMPLETE: cannot read {tmp_path / 'missing.json'}: "
                                                    "No such file or directory")
    path.write_text("{", encoding="utf-8")
    assert gate(path)[0] == 10
    path.write_text('{"verdict": "CONFORMANT"}', encoding="utf-8")  # not a summary: never a pass
    assert gate(path)[0] == 10
    assert set(EXIT_STATUS.values()) == {0, 1, 10}


def test_safe_url_drops_credentials_and_query() -> None:
    redact = Redactor([CANARY])
    assert safe_url(f"https://user:{CANARY}@gw.example:8443/p?token={CANARY}#x", redact.redact) == \
        "https://gw.example:8443/p"
    assert safe_url(f"https://gw.example/{CANARY}/", redact.redact) == "https://gw.example/[REDACTED]/"


# -- HTML ----------------------------------------------------------------------------------------

def _details(r: Results, show: bool = True) -> str:
    out = []
    budget = fragments.TranscriptBudget()
    for t in sorted(r.tests.values(), key=lambda t: t.nodeid):
        payload = {"requirements": t.requirements, "findings": t.findings, "exchanges": t.exchanges,
                   "exchanges_dropped": t.exchanges_dropped, "harness": t.harness, "outcome": t.outcome}
        out.append(fragments.details_html(payload, outcome=t.outcome, catalogue=catalogue(),
                                          rerun=fragments.rerun_command(t.nodeid, ["--agws-target", "t.toml"]),
                                          show_transcript=show, budget=budget))
    return "\n".join(out)


def test_html_golden() -> None:
    r = results()
    page = fragments.summary_block(r, identity(), catalogue()) + "\n" + _details(r)
    assert 'id="agws-verdict" class="agws-v-fail"' in page and ">NOT CONFORMANT<" in page
    for rid in catalogue().requirements:
        assert f'id="req-{rid}"' in page
    check_golden("report-fragments.html", page + "\n")


def test_html_escapes_untrusted_text_everywhere() -> None:
    r = results()
    page = fragments.summary_block(r, identity(), catalogue()) + _details(r)
    assert "<script" not in page and "<img" not in page and "<b>not bold" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=" in page
    assert CANARY not in page and "[REDACTED]" in page


def test_html_transcript_caps_bodies_and_counts_exchanges() -> None:
    payload = {"requirements": ["ENV-SHAPE"], "findings": [], "outcome": "failed", "harness": None,
               "exchanges": [exchange(b"y" * 50_000)] * 9, "exchanges_dropped": 3}
    block = fragments.details_html(payload, outcome="failed", catalogue=catalogue(), rerun="x",
                                   show_transcript=True, budget=fragments.TranscriptBudget())
    assert "12 exchange(s), 6 not shown" in block
    assert block.count('class="agws-x"') == fragments.EXCHANGES_SHOWN
    assert "y" * fragments.BODY_CAP in block and "y" * (fragments.BODY_CAP + 1) not in block
    assert "body shown up to 4096 characters of 50000 bytes" in block
    tight = fragments.TranscriptBudget(limit=1000)
    assert "transcript budget is spent" in fragments.details_html(
        payload, outcome="failed", catalogue=catalogue(), rerun="x", show_transcript=True, budget=tight)
    passing = fragments.details_html(payload | {"outcome": "passed"}, outcome="passed", catalogue=catalogue(),
                                     rerun="x", show_transcript=False, budget=fragments.TranscriptBudget())
    assert 'class="agws-x"' not in passing and "--agws-transcripts=all" in passing


def test_curl_reproduces_the_request() -> None:
    x = exchange(b"{}")
    assert fragments.curl_command(x) == (
        "curl -sS -i --http1.1 http://127.0.0.1:1234/showcase-gateway/api/v1/user/check "
        "-H 'Content-Type: application/json' -H 'X-Signature: " + "ab" * 32 + "' -H user-agent: -H accept: "
        "--data-binary '{\"agent\":\"a\",\"username\":\"u\"}'")


def test_expected_observed_sentence() -> None:
    payload = {"findings": [{"requirement": "A", "outcome": "pass", "message": "ok"},
                            {"requirement": "B", "outcome": "warn", "message": "expected x, observed y"}]}
    assert fragments.expected_observed(payload, "warn") == "[B] expected x, observed y"
    assert fragments.expected_observed({"harness": "timed out"}, "error").startswith("harness error")
    assert fragments.expected_observed({}, "skipped", "no data") == "skipped: no data"


def test_thousand_test_report_is_small_and_fast() -> None:
    """A synthetic 1,000-test run (10% failing with transcripts) renders fast and stays small."""
    cat = load_catalogue()
    ids = list(cat.requirements)
    r = Results()
    for i in range(1000):
        failing = i % 10 == 0
        rid = ids[i % len(ids)]
        r.add(TestResult(f"suites/test_x.py::test_{i}[case-{i}]", "staging", [rid], "failed" if failing else "passed",
                         findings=[{"requirement": rid, "level": "MUST", "ok": not failing,
                                    "outcome": "fail" if failing else "pass", "message": "expected a, observed b"}],
                         exchanges=[exchange(b'{"status":false}' * 20)] * 3))
    budget = fragments.TranscriptBudget()
    size = len(fragments.summary_block(r, identity(), cat))
    for t in r.tests.values():
        payload = {"requirements": t.requirements, "findings": t.findings, "exchanges": t.exchanges,
                   "exchanges_dropped": 0, "harness": None, "outcome": t.outcome}
        size += len(fragments.details_html(payload, outcome=t.outcome, catalogue=cat, rerun="python -m pytest x",
                                           show_transcript=t.outcome == "failed", budget=budget))
    assert size < 3_000_000, f"1,000-test fragments take {size} bytes"


def test_stable_area_order_in_matrix() -> None:
    page = fragments.requirement_matrix(results(), catalogue(), ["staging"])
    areas = re.findall(r'<tr class="agws-area"><td colspan="\d+">(\w+)</td>', page)
    assert areas == ["signature", "envelope", "robustness"]


# -- the rule x method matrix ---------------------------------------------------------------------

def test_method_matrix_shows_what_was_proven_per_method() -> None:
    """A per-method requirement: pass where its method's test passed, fail where it failed, n/a with
    the catalogue's reason where the method is exempt, "not judged" where no test of the run judged
    it; in the JSON summary (schema-valid) and in the HTML report."""
    import dataclasses
    from types import MappingProxyType

    from agws_conformance.report import html as fragments

    base = catalogue()
    per_method = dataclasses.replace(base.requirements["SIG-REJECT-MISSING"],
                                     exempt=MappingProxyType({"showcase/balance": "no <reason> needed"}))
    cat = dataclasses.replace(base, requirements={**base.requirements, per_method.id: per_method})
    r = Results()
    for method, ok in (("user/check", True), ("action/status", False)):
        r.add(TestResult(f"suites/t.py::test_missing[{method}]", "staging", ["SIG-REJECT-MISSING"],
                         "passed" if ok else "failed", method=method,
                         findings=[{"requirement": "SIG-REJECT-MISSING", "level": "MUST", "ok": ok,
                                    "outcome": "pass" if ok else "fail", "message": f"observed {HOSTILE}"}]))
    summary = build_summary(r, identity(), cat)
    assert summary_errors(summary) == []
    row, = summary["method_matrix"]["targets"]["staging"]
    cells = {m: c["status"] for m, c in row["cells"].items()}
    assert (row["id"], cells["user/check"], cells["action/status"], cells["showcase/balance"]) == (
        "SIG-REJECT-MISSING", "pass", "fail", "n/a")
    assert cells["action/link"] == "not judged" and row["cells"]["showcase/balance"]["note"] == "no <reason> needed"
    page = fragments.method_matrix(summary["method_matrix"])
    assert page.count("<tr>") == 2 and "<th><code>action/link</code></th>" in page
    assert 'title="no &lt;reason&gt; needed"' in page and HOSTILE not in page
    assert "1 fail, 1 n/a, 4 not judged, 1 pass" in page


# -- issue 25: the gate never passes a run that proved less than it claims ----------------------------

def _tiny() -> Catalogue:
    import dataclasses

    full = catalogue()
    return dataclasses.replace(full, requirements={"SIG-REJECT-MISSING": full.requirements["SIG-REJECT-MISSING"]},
                               errata={})


def _passing(*, failing: bool = False) -> Results:
    r = Results()
    r.add(TestResult("suites/test_signature_rejected.py::test_missing", "staging", ["SIG-REJECT-MISSING"],
                     "failed" if failing else "passed",
                     findings=[{"requirement": "SIG-REJECT-MISSING", "level": "MUST", "ok": not failing,
                                "outcome": "fail" if failing else "pass", "message": "expected error 1014"}]))
    return r


def _gated(tmp_path: Path, summary: dict, **options: object) -> tuple[int, str]:
    path = tmp_path / "summary.json"
    write_summary(path, summary)
    return gate(path, **options)  # type: ignore[arg-type]


def _selected(reason_identity: RunIdentity) -> RunIdentity:
    import dataclasses

    from agws_conformance.state import Selection

    selection = Selection()
    selection.note_deselected(["suites/test_signature_rejected.py::test_missing_signature[user/check-declared]",
                               "suites/test_signature_rejected.py::test_missing_signature[user/check-unknown]"])
    return dataclasses.replace(reason_identity, deselected=2, selection=selection.to_dict())


def test_a_deselected_run_is_incomplete_unless_the_gate_allows_partial(tmp_path: Path) -> None:
    """-k "not test_missing_signature": what ran passed, but the run is not a verdict (issue 25)."""
    partial = _selected(identity())
    summary = build_summary(_passing(), partial, _tiny())
    assert summary_errors(summary) == []
    assert (summary["verdict"], summary["exit_status"]) == ("INCOMPLETE", 10)
    reason = next(r for r in summary["reasons"] if r["kind"] == "deselected")
    assert reason["text"].startswith("deselected 2 tests: suites/test_signature_rejected.py::test_missing_signature")
    code, line = _gated(tmp_path, summary)
    assert code == 10 and line.startswith("INCOMPLETE") and "partial run: deselected 2 tests" in line, line
    code, line = _gated(tmp_path, summary, allow_partial=True)
    assert code == 0 and line.startswith("CONFORMANT [partial run allowed (--allow-partial): deselected 2 tests"), line
    assert "deselected 2 tests" in fragments.summary_block(_passing(), partial, _tiny())
    # A selection that keeps every test is not partial.
    assert build_summary(_passing(), identity(), _tiny())["verdict"] == "CONFORMANT"


def test_a_partial_run_with_a_failed_must_is_not_conformant(tmp_path: Path) -> None:
    """A failed MUST wins over partial (the detection benchmark's fault runs are selections)."""
    summary = build_summary(_passing(failing=True), _selected(identity()), _tiny())
    assert (summary["verdict"], summary["exit_status"]) == ("NOT CONFORMANT", 1)
    assert _gated(tmp_path, summary)[0] == 1
    assert _gated(tmp_path, summary, allow_partial=True)[0] == 1


def _scoped(write: bool = True, callbacks: bool = True) -> RunIdentity:
    import dataclasses

    from agws_conformance.mock.data import embedded_target
    from agws_conformance.scope import target_scope

    target = embedded_target()
    target = dataclasses.replace(target, write=target.write if write else None,
                                 callbacks=target.callbacks if callbacks else None)
    base = identity()
    return dataclasses.replace(base, targets=(dataclasses.replace(base.targets[0], scope=target_scope(target)),))


def test_the_scope_is_part_of_the_verdict_and_require_refuses_a_missing_group(tmp_path: Path) -> None:
    """No [write]: CONFORMANT, but it says "read only", and --require payments,callbacks refuses it (issue 25)."""
    read_only = build_summary(_passing(), _scoped(write=False), _tiny())
    assert summary_errors(read_only) == [] and read_only["verdict"] == "CONFORMANT"
    words = "CONFORMANT (read only: payments, callbacks, confirmation and links not enabled)"
    code, line = _gated(tmp_path, read_only)
    assert code == 0 and line.startswith(words + ": 1 tests"), line
    code, line = _gated(tmp_path, read_only, require=["payments", "callbacks"])
    assert code == 10 and line.startswith("INCOMPLETE: --require payments,callbacks: not judged: payments on "
                                          "'staging' (no [write] table; enable: add a [write] table"), line
    assert "callbacks on 'staging' (no [write] table" in line
    banner = fragments.summary_block(_passing(), _scoped(write=False), _tiny())
    assert "read only: payments, callbacks, confirmation and links not enabled" in banner
    # With [write] but no [callbacks]: payments pass the requirement, callbacks do not.
    no_callbacks = build_summary(_passing(), _scoped(callbacks=False), _tiny())
    code, line = _gated(tmp_path, no_callbacks, require=["payments", "callbacks"])
    assert code == 10 and "callbacks on 'staging' (no [callbacks] table; enable: add a [callbacks] table" in line
    assert "payments on" not in line
    whole = build_summary(_passing(), _scoped(), _tiny())
    code, line = _gated(tmp_path, whole, require=["payments", "callbacks", "confirm", "links", "read"])
    assert (code, line.split(":")[0]) == (0, "CONFORMANT"), line
    with pytest.raises(ValueError, match="unknown method group 'money'"):
        _gated(tmp_path, whole, require=["money"])


def test_a_standalone_mock_is_refused_like_the_embedded_one(tmp_path: Path) -> None:
    import dataclasses

    base = identity()
    mocked = dataclasses.replace(base, targets=(dataclasses.replace(base.targets[0], mock="agws-conformance"),))
    summary = build_summary(_passing(), mocked, _tiny())
    code, line = _gated(tmp_path, summary)
    assert code == 10 and line.startswith("INCOMPLETE: ran against a mock gateway (agws-conformance), served "
                                          "standalone, not a gateway"), line
    assert _gated(tmp_path, summary, allow_mock=True)[0] == 0
    assert "a mock gateway (agws-conformance)" in fragments.summary_block(_passing(), mocked, _tiny())


def test_a_summary_that_breaks_its_schema_is_repaired_and_incomplete(tmp_path: Path) -> None:
    """A value the schema refuses never reaches the file and is never silent: the run names its
    path and is INCOMPLETE (a failed MUST would still be NOT CONFORMANT)."""
    import dataclasses

    from agws_conformance.report.summary import checked_summary

    base = identity()
    payment = {"external_id": "x-1", "amount": False, "username": "u", "test": "t", "why": "w",
               "answer": "a", "status": None, "created": False}
    broken = dataclasses.replace(base, targets=(dataclasses.replace(base.targets[0], payments=[payment]),))
    summary = checked_summary(build_summary(_passing(), broken, _tiny()))
    assert summary_errors(summary) == []
    assert summary["run"]["summary_problems"] == [
        "$.targets[0].payments[0].amount: False is not of type 'number', 'null'"]
    assert (summary["verdict"], summary["exit_status"]) == ("INCOMPLETE", 10)
    code, line = _gated(tmp_path, summary)
    assert code == 10 and "summary broke its own schema at $.targets[0].payments[0].amount" in line, line


def test_the_gate_is_also_an_agws_conformance_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from agws_conformance.cli import main as cli_main

    path = tmp_path / "s.json"
    write_summary(path, build_summary(_passing(), _scoped(write=False), _tiny()))
    assert cli_main(["gate", str(path)]) == 0
    assert capsys.readouterr().out.startswith("CONFORMANT (read only:")
    assert cli_main(["gate", str(path), "--require", "payments,callbacks"]) == 10
    assert "not judged: payments on 'staging'" in capsys.readouterr().out
    assert report_main(["gate", str(path), "--require", "links"]) == 10
    with pytest.raises(SystemExit) as exc:
        cli_main(["gate", str(path), "--require", "money"])
    assert exc.value.code == 2 and "unknown method group 'money'" in capsys.readouterr().err


def test_balance_exclusive_false_leaves_payments_not_judged_as_a_whole() -> None:
    import dataclasses

    from agws_conformance.mock.data import embedded_target
    from agws_conformance.scope import scope_words, target_scope

    target = embedded_target()
    write = dataclasses.replace(target.write, balance_exclusive=False, confirm_code=None)
    scope = target_scope(dataclasses.replace(target, write=write, callbacks=None))
    assert scope["payments"] == {"judged": False, "why": "balance_exclusive = false: the balance debit rules are not "
                                 "judged", "enable": "set [write] balance_exclusive = true (nobody else moves the "
                                 "showcase balance during the run)"}
    assert scope_words([scope]) == ("judged: read, links; callbacks and confirmation not enabled; payments not judged "
                                    "as a whole (balance_exclusive = false: the balance debit rules are not judged)")
    assert scope_words([target_scope(target)]) == ""


# -- payments as a picture (issue 26) ----------------------------------------------------------------

def _payment(**extra: object) -> dict:
    return {"external_id": "agws-test-abc", "amount": 1.5, "username": "u", "test": "suites/t.py::t", "why": "w",
            "answer": 'HTTP 200 {"status":true}', "status": "2", "created": True, "method": "action/cash-in",
            "request": 1, "final_within": 10.0, "callback_within": 5.0, **extra}


def test_a_timeline_is_an_svg_with_every_event_named() -> None:
    timeline = [[0.01, "action/cash-in answered HTTP 200", {"kind": "answer", "http": 200, "success": True}],
                [0.02, 'status "7" (Transaction is in progress)', {"kind": "status", "status": "7"}],
                [0.3, 'callback #1: status "2", receiver answered 500', {"kind": "callback", "n": 1, "answered": 500,
                                                                          "gap": None, "status": "2"}],
                [0.8, 'callback #2: status "2", receiver answered 500, 0.50 s after the previous',
                 {"kind": "callback", "n": 2, "answered": 500, "gap": 0.5, "status": "2"}],
                [0.9, 'status "2" (Transaction successfully processed)', {"kind": "status", "status": "2"}]]
    svg = fragments.timeline_svg(_payment(timeline=timeline))
    assert svg.startswith('<svg class="agws-tl"') and "<script" not in svg
    assert svg.count("<circle") == 2 and svg.count("<path") == 2 and svg.count("<rect") == 1
    assert f'fill="{fragments.COLOURS["intermediate"]}"' in svg and f'fill="{fragments.COLOURS["final"]}"' in svg
    assert ">500 +0.5s<" in svg and "final_within" in svg and "callback within" in svg
    assert "<li>+0.8 s callback #2: status &quot;2&quot;" in svg or '<li>+0.8 s callback #2: status "2"' in svg
    assert fragments.timeline_svg(_payment(timeline=[])) == ""


def test_requests_without_an_external_id_are_rows_of_their_own() -> None:
    links = [_payment(external_id="(none)", method="action/link", request=n, created=False, status=None,
                      timeline=[[0.01, "action/link answered", {"kind": "answer"}]]) for n in (1, 2)]
    identity = RunIdentity(suite_version="0", git_commit=None, git_dirty=None, catalogue_version="1",
                           errata_version="1", hypothesis_seed="0", profile="quick", strict=False,
                           started=datetime(2025, 1, 1, tzinfo=timezone.utc),
                           finished=datetime(2025, 1, 1, tzinfo=timezone.utc), request_count=2,
                           targets=(TargetIdentity(name="t", base_url="http://x", agent="a", project="p",
                                                   service_code="s", error_format_declared="auto",
                                                   error_format_observed=None, fingerprint=None, signing="go1.22",
                                                   embedded_mock=True, payments=[_payment(timeline=[]), *links]),))
    table = fragments.payments_table(identity)
    assert "action/link #1 (no external_id)" in table and "action/link #2 (no external_id)" in table
    assert "(none)" not in table and "2 (Transaction successfully processed)" in table


@pytest.mark.parametrize(("value", "limit", "expected"), [
    ({"status": True, "message": "Success"}, 120, '{"status":true,"message":"Success"}'),
    ({"status": False, "status_code": 1042, "message": "duplicate external id for this payment"}, 40,
     '{"status":false,"status_code":1042,...}'),
    (["a" * 50, "b"], 20, "[...]"),
])
def test_compact_json_cuts_only_at_a_field_boundary(value: object, limit: int, expected: str) -> None:
    from agws_conformance.judge import compact_json

    assert compact_json(value, limit) == expected
