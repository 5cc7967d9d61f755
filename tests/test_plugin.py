"""The pytest plugin as users meet it: inert by default, clean usage errors, levels, harness errors, redaction.

Each case runs pytest in-process (pytester's ``runpytest``): a fresh config and session, as a user's
run would have; only the heap test needs a process of its own (the collector's state is per process).
"""

from __future__ import annotations

import gc

import socket
import textwrap

import pytest

pytest_plugins = ["pytester"]

SUITE = textwrap.dedent('''
    import pathlib
    import pytest
    from agws_conformance import judge

    @pytest.mark.requirement("ENV-CONTENT-TYPE", "ENV-SHAPE")
    def test_envelope(agws):
        resp = agws.send("user/check")
        agws.judge(judge.envelope(resp))
''')


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _target(pytester: pytest.Pytester, extra_line: str, name: str = "t.toml") -> str:
    """A target file for a closed local port, plus ``extra_line`` as its line 7 (line 1 is empty)."""
    path = pytester.path / name
    path.write_text(textwrap.dedent('''
        [target]
        base_url = "http://127.0.0.1:9"
        agent = "a"
        project = "p"
        service_code = "s"
    ''') + extra_line + "\n", encoding="utf-8")
    return str(path)


def _no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text


def test_inert_without_suite_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert "AGWS conformance" not in result.stdout.str()


def test_bad_target_file_is_one_clean_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    path = _target(pytester, 'eror_format = "new"')
    result = pytester.runpytest("--agws-target", path)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "eror_format" in err and "t.toml:7" in err, err
    _no_traceback(result)


def test_missing_secret_names_the_variable(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGWS_TEST_SECRET", raising=False)
    pytester.makepyfile(SUITE)
    path = _target(pytester, 'secret_env = "AGWS_TEST_SECRET"')
    result = pytester.runpytest("--agws-target", path)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "AGWS_TEST_SECRET" in result.stderr.str()
    _no_traceback(result)


def test_production_host_is_refused_without_the_flag(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGWS_SECRET", "s3cr3t-for-test")
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--agws-base-url", "https://agwsapi.tarlanpayments.kz",
                                           "--agws-agent", "a", "--agws-project", "p", "--agws-service-code", "s")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--agws-allow-production" in result.stderr.str()
    _no_traceback(result)


def _run_unreachable(pytester: pytest.Pytester) -> pytest.RunResult:
    """SUITE against a closed local port, with a JUnit file."""
    pytester.makepyfile(SUITE)
    return pytester.runpytest(
        "--agws-base-url", f"http://127.0.0.1:{_closed_port()}", "--agws-agent", "a", "--agws-project", "p",
        "--agws-service-code", "s", "--agws-timeout", "2", "--junitxml", "junit.xml")


def test_unreachable_target_is_a_harness_error_not_a_failure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGWS_SECRET", "s3cr3t-for-test")
    result = _run_unreachable(pytester)
    assert result.ret == 10, result.stdout.str()
    out = result.stdout.str()
    assert "HARNESS ERROR" in out and "verdict: INCOMPLETE" in out
    junit = (pytester.path / "junit.xml").read_text()
    assert "<error" in junit and "<failure" not in junit
    _no_traceback(result)


def test_heap_is_frozen_only_for_suite_runs(pytester: pytest.Pytester) -> None:
    """Suite runs move the long-lived heap out of the collector's way; other runs are left alone."""
    pytester.makepyfile(test_plain="import gc\n\ndef test_plain():\n    assert gc.get_freeze_count() == 0\n")
    assert pytester.runpytest_subprocess("-p", "no:randomly").ret == 0
    pytester.makepyfile(test_suite=textwrap.dedent('''
        import gc
        import pytest

        @pytest.mark.requirement("ENV-SHAPE")
        def test_frozen(agws):
            agws.observe("ENV-SHAPE", "frozen heap: %d objects" % gc.get_freeze_count())
            assert gc.get_freeze_count() > 0
    '''))
    assert pytester.runpytest_subprocess("test_suite.py", "-p", "no:randomly").ret in (0, 10)
    # In process (as the matrices' reused workers run): the heap is unfrozen once the run is over.
    before = gc.get_freeze_count()
    assert pytester.runpytest_inprocess("test_suite.py", "-p", "no:randomly").ret in (0, 10)
    assert gc.get_freeze_count() == before


def test_short_secret_is_warned_about_and_still_redacted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGWS_SECRET", "Qz")
    result = _run_unreachable(pytester)
    out = result.stdout.str()
    assert "AgwsConfigWarning" in out and "only 2 character(s) long" in out, out
    assert "Qz" not in out and "Qz" not in (pytester.path / "junit.xml").read_text()
    _no_traceback(result)


def test_should_violation_warns_and_fails_only_when_strict(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    relaxed = pytester.runpytest("--agws-mock-fault", "wrong-content-type", "-p", "no:randomly")
    # Not a failure: exit 10 only because this two-check suite leaves most MUST requirements not run.
    assert relaxed.ret == 10, relaxed.stdout.str()
    assert "verdict: INCOMPLETE" in relaxed.stdout.str()
    assert "WARNING [ENV-CONTENT-TYPE]" in relaxed.stdout.str()
    strict = pytester.runpytest("--agws-mock-fault", "wrong-content-type", "--agws-strict", "-p", "no:randomly")
    assert strict.ret == 1
    assert "ENV-CONTENT-TYPE" in strict.stdout.str()


def test_must_violation_fails_naming_the_requirement(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--agws-mock-fault", "status-code-as-string", "-p", "no:randomly")
    assert result.ret == 1
    assert "[ENV-SHAPE]" in result.stdout.str() and "verdict: NOT CONFORMANT" in result.stdout.str()


def test_unknown_fault_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest("--agws-mock-fault", "no-such-fault")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown mock fault 'no-such-fault'" in result.stderr.str()
    _no_traceback(result)


def test_secret_in_a_traceback_is_redacted_at_capture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent('''
        import pathlib
        import pytest

        @pytest.mark.requirement("ENV-SHAPE")
        def test_leaks(agws):
            secret = agws._secret.reveal()
            pathlib.Path("leaked.txt").write_text(secret)
            print("stdout has", secret)
            assert secret == "x", f"oops {secret}"
    '''))
    result = pytester.runpytest("-l", "--tb=long", "--junitxml", "junit.xml", "-p", "no:randomly")
    secret = (pytester.path / "leaked.txt").read_text()
    assert len(secret) >= 16
    out = result.stdout.str() + result.stderr.str()
    assert "oops" in out and secret not in out
    assert secret not in (pytester.path / "junit.xml").read_text()


def test_a_bug_in_the_suite_is_a_harness_error_not_non_conformance(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent('''
        import pytest
        from agws_conformance.findings import invariant

        @pytest.mark.requirement("ENV-SHAPE")
        def test_invariant(agws):
            invariant(False, "the permutation lost a key")

        @pytest.mark.requirement("ENV-SHAPE")
        def test_bare_assert(agws):
            assert 1 == 2, "test bug"

        @pytest.mark.requirement("ENV-SHAPE")
        def test_type_error(agws):
            None + 1
    '''))
    result = pytester.runpytest("--junitxml", "junit.xml", "-p", "no:randomly")
    assert result.ret == 10, result.stdout.str()
    out = result.stdout.str()
    assert out.count("HARNESS ERROR") == 3 and "verdict: INCOMPLETE" in out and "NOT CONFORMANT" not in out
    assert "SuiteBug: suite bug: the permutation lost a key" in out and "a bug in the suite" in out
    junit = (pytester.path / "junit.xml").read_text()
    assert junit.count("<error") == 3 and "<failure" not in junit


def test_a_failed_preflight_reports_one_error_and_sends_nothing_more(pytester: pytest.Pytester,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from agws_conformance.mock import MockServer, embedded_target

    mock = embedded_target()
    monkeypatch.setenv("AGWS_SECRET", mock.secret.reveal())
    pytester.makepyfile(SUITE + textwrap.dedent('''
        @pytest.mark.requirement("ENV-SHAPE")
        def test_second(agws):
            agws.send("user/check")
    '''))
    with MockServer(dataclasses.replace(mock, error_format="new")) as server:
        result = pytester.runpytest("--agws-base-url", server.url, "--agws-agent", mock.agent,
                                               "--agws-project", "not-the-mock", "--agws-service-code",
                                               mock.service_code, "-p", "no:randomly")
    assert result.ret == 10, result.stdout.str()
    out = result.stdout.str()
    assert "SETUP PROBLEM on target '127.0.0.1'" in out and "project 'not-the-mock' was answered 8008" in out
    assert "1 skipped, 1 error" in out and "requests sent: 1;" in out
    _no_traceback(result)


NEIGHBOUR_SUITE = textwrap.dedent('''
    import pytest
    from agws_conformance import judge

    @pytest.mark.requirement("SIG-SCOPE-AGENT")
    def test_other_agent(agws):
        agent, declared = agws.other_scope("agent", agws.target.agent)
        assert declared == (agws.target.other("agent") is not None)
        resp = agws.send("user/check", agws.fields("user/check", agent=agent))
        agws.check(not judge.is_success(resp), "SIG-SCOPE-AGENT", "refused")
''')


def test_scope_without_a_declared_neighbour_is_an_info_note(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A target without other_agent / other_project / other_service_code: the scope rules name unknown
    identifiers, and the terminal and the JSON summary say so (INFO: never a failure, never a reason for
    INCOMPLETE; this one-test run is INCOMPLETE only for the catalogue's rules it does not run);
    the bundled mock declares its neighbour, so no note."""
    import json

    from agws_conformance.mock import MockServer, embedded_target

    mock = embedded_target()
    monkeypatch.setenv("AGWS_SECRET", mock.secret.reveal())
    pytester.makepyfile(NEIGHBOUR_SUITE)
    with MockServer(mock) as server:
        result = pytester.runpytest("--agws-base-url", server.url, "--agws-agent", mock.agent, "--agws-project",
                                    mock.project, "--agws-service-code", mock.service_code, "--agws-json", "s.json",
                                    "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    summary = json.loads((pytester.path / "s.json").read_text())
    assert not [r for r in summary["reasons"] if "scope" in r["text"] or r["kind"] != "not run"]
    note = summary["targets"][0]["scope_neighbour"]
    assert note.startswith("scope rules tried with unknown identifiers only for project, agent, service_code")
    assert "other_project, other_agent, other_service_code" in note
    assert f"INFO '127.0.0.1': {note}" in result.stdout.str()
    declared = pytester.runpytest("--agws-json", "d.json", "-p", "no:randomly")
    declared.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "d.json").read_text())["targets"][0]["scope_neighbour"] is None
