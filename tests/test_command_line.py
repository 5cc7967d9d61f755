"""One coherent command line (issue 26): every subcommand's help current with the method registry,
the requirement catalogue listed and explained, "did you mean" for IDs, methods and fault names,
the environment variables in ``pytest --help``, the summary line's labels in words, and a usage
error that reaches the report and the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agws_conformance.cli import build_parser, main
from agws_conformance.endpoints import METHODS
from agws_conformance.report.summary import gate, summary_errors
from suite_runs import run_pytest

SUBCOMMANDS = ("mock", "sign", "openapi", "gate", "requirements", "payments")


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_every_subcommand_is_there_and_its_help_names_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    top = help_of(capsys)
    assert all(name in top for name in SUBCOMMANDS), top
    assert "two" not in top and f"{len(METHODS)} methods" in top
    for name in ("mock", "openapi"):
        text = " ".join(help_of(capsys, name).split())
        assert all(m in text for m in METHODS), (name, text)
        assert "two documented" not in text


def test_mock_help_says_its_pace_and_how_to_change_it(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of(capsys, "mock").split())
    assert "--time-scale X" in text and "0.1" in text and "[callbacks] time_scale" in text


def test_requirements_lists_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "--method", "action/link", "--level", "must", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and all(r["level"] == "MUST" for r in listed)
    assert all(r["methods"] is not None and "action/link" in r["methods"] for r in listed)
    assert main(["requirements", "--area", "signature"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all("  signature " in line for line in lines)


def test_requirements_explains_one_with_the_tests_that_judge_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "SIG-REJECT-MISSING"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("SIG-REJECT-MISSING  MUST  (signature)") and "Source:" in text
    assert all(f"test_sig_reject_missing[{m}" in text for m in METHODS), text
    assert "pytest suites --agws-requirement SIG-REJECT-MISSING" in text


@pytest.mark.parametrize(("argv", "suggestion"), [
    (["requirements", "SIG-REJECT-MISSNG"], "did you mean 'SIG-REJECT-MISSING'?"),
    (["requirements", "--method", "action/lnk"], "did you mean 'action/link'?"),
    (["mock", "--fault", "accept-any-signatur", "--port", "0"], "did you mean 'accept-any-signature'?"),
])
def test_a_typo_gets_did_you_mean(argv: list[str], suggestion: str, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGWS_MOCK_SECRET", "a-secret-for-the-typo-test")
    assert main(argv) == 2
    assert suggestion in capsys.readouterr().err


def test_pytest_help_lists_the_environment_variables() -> None:
    done = run_pytest("--help")
    text = " ".join(done.stdout.split())
    for variable in ("AGWS_TARGET", "AGWS_SECRET", "AGWS_BASE_URL", "AGWS_PROFILE", "AGWS_MOCK_FAULTS",
                     "AGWS_HYPOTHESIS_SEED", "AGWS_JSON", "AGWS_JOURNAL", "AGWS_TIMEOUT", "AGWS_STRICT"):
        assert variable in text, variable


def test_a_mistyped_requirement_gets_did_you_mean_from_pytest(tmp_path: Path) -> None:
    done = run_pytest("suites", "--agws-requirement", "SIG-REJECT-MISSNG", "--collect-only", "-q")
    assert done.returncode == 4
    assert "did you mean 'SIG-REJECT-MISSING'?" in done.stdout + done.stderr


def test_a_usage_error_is_the_report_and_the_gates_answer(tmp_path: Path) -> None:
    """The secret not exported: pytest exits 4 with one line; the HTML says that line and its fix
    and nothing that reads like a verdict; the JSON summary records it; the gate answers 4."""
    target = tmp_path / "staging.toml"
    target.write_text('[target]\nname = "staging"\nbase_url = "http://127.0.0.1:9"\nagent = "a"\nproject = "p"\n'
                      'service_code = "1"\nsecret_env = "AGWS_NOT_EXPORTED_SECRET"\n', encoding="utf-8")
    done = run_pytest("suites", "--agws-target", target, f"--html={tmp_path / 'r.html'}",
                      f"--agws-json={tmp_path / 's.json'}", env={"AGWS_NOT_EXPORTED_SECRET": ""})
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "USAGE ERROR: no test ran" in page and "AGWS_NOT_EXPORTED_SECRET" in page
    assert "Fix: " in page and 'id="agws-matrix"' not in page and "CONFORMANT" not in page
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert summary_errors(summary) == [] and "AGWS_NOT_EXPORTED_SECRET" in summary["usage_error"]["error"]
    assert summary["reasons"][0]["kind"] == "usage"
    code, line = gate(tmp_path / "s.json")
    assert code == 4 and line.startswith("USAGE ERROR: the run stopped before any test: target 'staging'"), line


def test_the_parser_is_built_once_per_subcommand() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert sorted(actions[0].choices) == sorted(SUBCOMMANDS)  # type: ignore[attr-defined]
