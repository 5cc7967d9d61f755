"""The release gate on real summaries: a copied example target file, an embedded-mock run.

Done the way the README tells a new user: copy ``targets/example-staging.toml``, fill it in for a
gateway (here the mock, served standalone), run ``pytest suites``, gate on the JSON summary.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from agws_conformance.endpoints import METHODS
from agws_conformance.mock import MockServer, embedded_target
from agws_conformance.report.summary import gate
from agws_conformance.resources import data_dir
from agws_conformance.target import Secret
from suite_runs import SuiteRun, run_module, run_suites

SECRET = "example-staging-secret-for-the-gate-test"
MOCK = dataclasses.replace(embedded_target(), secret=Secret(SECRET))

# The example's test data, replaced by what the mock gateway holds (a QA engineer's own values).
FILL = {
    'base_url = "https://staging.example.kz"': None,  # the mock's URL, below
    'agent = "tarlan"': f'agent = "{MOCK.agent}"',
    'project = "mobile"': f'project = "{MOCK.project}"',
    'service_code = "201106"': f'service_code = "{MOCK.service_code}"',
    '"parking-active-001"': '"77011234567"',
    '"parking-inactive-001"': '"77019876543"',
    'username = "finance-unverified-001"\naccount_status = 2\ncategory = "finance"':
        'username = "unverified-7705"\naccount_status = 2\ncategory = "parking"',
    'external_id = "200001"\nstatus_code = "2"\nusername = "77011234567"\namount = 100':
        'external_id = "ext-0002"\nstatus_code = "2"\nusername = "77011234567"\namount = 1500.5',
    'external_id = "200002"': 'external_id = "ext-0004"',
    'omit_empty = "auto"': 'omit_empty = "auto"\ncategories = ["parking"]',
}


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    with MockServer(MOCK) as server:
        yield server.url


def filled_example(url: str) -> str:
    text = (data_dir("targets") / "example-staging.toml").read_text(encoding="utf-8")
    for old, new in FILL.items():
        assert old.split("\n")[0] in text, f"the example no longer has {old!r}: update this test with it"
        text = text.replace(old, new if new is not None else f'base_url = "{url}"')
    return text


def run_with_target(tmp_path: Path, toml: str) -> SuiteRun:
    target = tmp_path / "staging.toml"
    target.write_text(toml, encoding="utf-8")
    return run_suites(tmp_path, "--hypothesis-seed=0", "--agws-target", target, env={"AGWS_SECRET": SECRET})


def test_the_example_target_filled_in_is_conformant(gateway: str, tmp_path: Path) -> None:
    done = run_with_target(tmp_path, filled_example(gateway))
    assert done.returncode == 0, done.output[-3000:]
    # The gateway here is the bundled mock served standalone: any mock is a mock (issue 25).
    words = "CONFORMANT (read only: payments, callbacks, confirmation and links not enabled)"
    assert f"verdict: {words} (a mock gateway (agws-conformance), served standalone: not a gateway)" in done.done.stdout
    code, line = gate(done.summary_path)
    assert code == 10 and line.startswith("INCOMPLETE: ran against a mock gateway (agws-conformance), served "
                                          f"standalone, not a gateway (its own verdict: {words})"), line
    code, line = gate(done.summary_path, allow_mock=True)
    assert code == 0 and line.startswith(words + ": "), line
    # No [write] table: the scope says so, and a pipeline that requires payments refuses the run.
    gated = run_module("agws_conformance.cli", "gate", done.summary_path, "--allow-mock", "--require", "payments,callbacks")
    assert gated.returncode == 10, gated.stdout + gated.stderr
    assert gated.stdout.startswith("INCOMPLETE: --require payments,callbacks: not judged: payments on 'staging' "
                                   "(no [write] table; enable: add a [write] table"), gated.stdout
    # A mock's report looks like a mock's (issue 26): the DEMO banner first, the verdict on the mock second.
    assert "DEMO RUN against the bundled mock: not evidence about any gateway" in done.html
    assert ("verdict on the mock: <b class=\"agws-v-ok\">CONFORMANT</b> <span class=\"agws-scope\">(read only: payments, "
            "callbacks") in done.html
    assert "AGWS conformance report: DEMO RUN against a mock gateway" in done.html
    summary = done.summary
    not_applicable = {r["id"] for r in summary["requirements"] if r["results"]["staging"]["status"] == "n/a"}
    assert {"SCH-INFO-FINANCE", "SCH-INFO-UTILITIES"} <= not_applicable  # not served, so n/a, not skipped
    # No [write] table: the suites that move money are n/a (not skipped MUSTs), and nothing was paid.
    assert {"PAY-SUCCESS", "PAY-DUPLICATE-1042", "PAY-LIFETIME-EXPIRY", "BAL-DEBITED"} <= not_applicable
    payments = [t for t in summary["tests"] if t["nodeid"].startswith("suites/test_payments.py")]
    assert payments and all(t["outcome"] == "n/a" or "not applicable" in (t["message"] or "") for t in payments)
    assert summary["targets"][0]["payments"] == []


def test_a_missing_account_names_the_skipped_requirement_and_the_key_to_add(gateway: str, tmp_path: Path) -> None:
    text = filled_example(gateway)
    without = re.sub(r'\[\[accounts\]\]\nusername = "77019876543"\naccount_status = 0\n(.*\n){2}', "", text)
    assert without != text
    done = run_with_target(tmp_path, without)
    assert done.returncode == 10, done.output[-3000:]
    code, line = gate(done.summary_path, allow_mock=True)
    assert code == 10 and line.startswith("INCOMPLETE")
    assert "skipped MUST CHK-INACTIVE-FAIL-REASON" in line and "add an [[accounts]] entry with account_status = 0" in line
    assert "skipped MUST CHK-INACTIVE-FAIL-REASON" in done.done.stdout  # the terminal says the same


def test_the_gate_refuses_an_embedded_mock_run(tmp_path: Path) -> None:
    done = run_suites(tmp_path, "--agws-requirement", "CHK-ACCOUNT-STATUS")
    assert "verdict: INCOMPLETE (embedded mock)" in done.done.stdout
    assert "deselected" in done.done.stdout  # the selection is said as such
    code, line = gate(done.summary_path)
    assert code == 10 and "ran against the embedded mock, not a gateway" in line
    gated = run_module("agws_conformance.report", "gate", done.summary_path, "--allow-mock")
    assert gated.returncode == 10 and "deselected" in gated.stdout and "embedded mock" not in gated.stdout


def test_a_deselected_run_is_not_a_verdict(tmp_path: Path) -> None:
    """-k "not test_sig_reject_missing" (issue 25): what ran passed, yet the run is INCOMPLETE, exit
    10, and the terminal and the gate say which tests were left out; --allow-partial gates it by
    the tests that ran and says so."""
    done = run_suites(tmp_path, "--hypothesis-seed=0", "-k", "not test_sig_reject_missing")
    assert done.returncode == 10, done.output[-3000:]
    selection = done.summary["run"]["selection"]
    n = selection["deselected"]
    assert n >= len(METHODS) and selection["files_not_run"] == []  # at least one case per method
    assert f"partial run: deselected {n} tests: suites/test_rules_signature.py::test_sig_reject_missing[" \
        in done.done.stdout
    assert "verdict: INCOMPLETE (embedded mock)" in done.done.stdout
    code, line = gate(done.summary_path, allow_mock=True)
    assert code == 10 and line.startswith("INCOMPLETE") and f"partial run: deselected {n} tests" in line, line
    gated = run_module("agws_conformance.cli", "gate", done.summary_path, "--allow-mock", "--allow-partial")
    assert gated.returncode == 0, gated.stdout
    assert gated.stdout.startswith(f"CONFORMANT [partial run allowed (--allow-partial): deselected {n} tests"), \
        gated.stdout


def test_a_subset_of_the_suite_files_or_node_ids_is_partial(tmp_path: Path) -> None:
    """Naming files or node IDs instead of ``suites`` drops tests without deselecting them."""
    done = run_suites(tmp_path, "--hypothesis-seed=0", paths=("suites/test_balance.py::test_balance_answered",))
    assert done.returncode == 10, done.output[-3000:]
    selection = done.summary["run"]["selection"]
    assert "suites/test_commission.py" in selection["files_not_run"] and "suites/test_balance.py" not in \
        selection["files_not_run"]
    assert selection["node_ids"] == ["suites/test_balance.py::test_balance_answered"]
    code, line = gate(done.summary_path, allow_mock=True)
    assert code == 10 and "suite files not run: suites/test_action_status.py" in line, line
