"""The payments journal (agws_conformance.journal, issue 28): every request with side effects is on
disk before it leaves, so a killed run's payments can still be reconciled.

The end-to-end test kills a ``[write]`` + ``[callbacks]`` run against the standalone mock with
SIGKILL and shows that the journal names every payment the mock's ledger created, and that
``agws-conformance payments --recheck`` reports each one's final status. The mock's ledger is read
through what the standalone mock already prints, one access line per request (a cash-in answered
with a success is one ledger entry), and through its status method, as a gateway's would be.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agws_conformance import journal
from agws_conformance.endpoints import FINAL_STATUSES
from agws_conformance.mock import embedded_target, mock_target_path
from agws_conformance.plugin.journaling import missing_from_report, report_records
from suite_runs import REPO, child_environment, run_module, run_pytest

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

false_failures = load_benchmark("false_failures")
SECRET = "journal-canary-secret-0123456789"


def _sent(run: str, send: str, external_id: str | None = "p-1", *, target: str = "qa", listed: bool = True,
          test: str = "t::a", why: str = "payment") -> dict:
    return {"event": "sent", "run": run, "at": "2026-01-01T00:00:00.000Z", "target": target,
            "base_url": "http://gw.test", "send": send, "method": "action/cash-in", "external_id": external_id,
            "amount": 1.5, "username": "7701", "why": why, "test": test, "listed": listed}


def _answer(run: str, send: str, **fields: object) -> dict:
    return {"event": "answer", "run": run, "at": "2026-01-01T00:00:01.000Z", "target": "qa", "send": send, **fields}


def test_lines_round_trip_grouped_by_run_with_a_torn_line_skipped(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal.append(path, _sent("r1", "s1"))
    journal.append(path, _answer("r1", "s1", http_status=200, code=0, status="7", created=True))
    journal.append(path, _sent("r2", "s2", "p-2"))
    journal.append(path, {"event": "end", "run": "r1", "at": "x", "summary": "/out/summary.json"})
    with path.open("ab") as handle:
        handle.write(b'{"event":"sent","run":"r2","se')  # a kill mid-write
    found = journal.read([path, tmp_path / "absent.jsonl"])
    assert [r.run for r in found.runs] == ["r1", "r2"] and found.torn == 1
    assert found.missing == [str(tmp_path / "absent.jsonl")]
    first, second = found.runs
    assert first.ended and first.state() == "ended, summary /out/summary.json"
    assert first.payments[0].created and first.payments[0].status == "7"
    assert first.payments[0].answer_text() == "HTTP 200, success"
    assert not second.ended and second.state() == "ended without a summary"
    assert second.payments[0].answer_text().startswith("no answer recorded")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def _append_many(path: str, writer: int) -> None:
    for n in range(200):
        journal.append(path, _sent("run", f"{writer}-{n}", f"x{'y' * 300}-{writer}-{n}"))


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    """Four processes appending to one file (as xdist workers do): every line is whole."""
    path = tmp_path / "j.jsonl"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    found = journal.read([path])
    assert found.torn == 0 and len(found.runs[0].payments) == 800


def test_unfinished_runs_of_a_target_and_the_notice(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    for entry in (_sent("old", "a"), _sent("other", "b", target="prod-like"), _sent("done", "c"),
                  {"event": "end", "run": "done", "at": "x"}, _sent("now", "d")):
        journal.append(path, entry)
    found = journal.read([path])
    runs = journal.unfinished(found, "qa", besides="now")
    assert [r.run for r in runs] == ["old"]
    line = journal.notice(runs, "qa", path)
    assert "run old" in line and "ended without a summary" in line
    assert line.endswith(f"agws-conformance payments {path} --recheck TARGET_FILE") and "\n" not in line


def test_recheck_asks_once_per_external_id_against_the_last_status_seen() -> None:
    a = journal.Payment("1", "r", "qa", "u", "action/cash-in", "p-1", 1.0, "u", "payment", "t", "x", status="1")
    confirm = journal.Payment("2", "r", "qa", "u", "action/confirm/invoice", "p-1", None, None, "confirmation", "t",
                              "x", listed=False, status="2")
    link = journal.Payment("3", "r", "qa", "u", "action/link", None, 2.0, "u", "payment link", "t", "x")
    b = journal.Payment("4", "r", "qa", "u", "action/cash-in", "p-2", 1.0, "u", "payment", "t", "x", status="7")
    asked: list[str] = []

    def ask(external_id: str) -> tuple[str | None, str]:
        asked.append(external_id)
        return {"p-1": "2", "p-2": "2"}[external_id], "found"

    changes = journal.recheck([a, confirm, link, b], ask)
    assert asked == ["p-1", "p-2"]
    assert [(c.was, c.now, c.changed) for c in changes] == [("2", "2", False), ("7", "2", True)]
    assert changes[1].line() == "p-2: status 7 -> 2; found"


def test_the_report_gets_the_journal_payments_no_process_handed_over() -> None:
    """A crashed worker's payments: in the journal, not among the records the report gathered."""
    payments = [journal.Payment("1", "r", "qa", "u", "action/cash-in", "p-1", 1.0, "u", "payment", "t::a", "x"),
                journal.Payment("2", "r", "qa", "u", "action/link", None, 1.0, "u", "payment link", "t::b", "x"),
                journal.Payment("3", "r", "qa", "u", "action/link", None, 1.0, "u", "payment link", "t::b", "x"),
                journal.Payment("4", "r", "qa", "u", "action/confirm/invoice", "p-1", None, None, "confirmation",
                                "t::c", "x", listed=False)]
    known = [{"external_id": "(none)", "test": "t::b", "why": "payment link"}]
    missing = missing_from_report(payments, known)
    assert [p.send for p in missing] == ["1", "3"]
    records = report_records(missing)
    assert records[0]["answer"].startswith("no answer recorded") and records[1]["external_id"] == "(none)"


# -- end to end: a run killed with SIGKILL ---------------------------------------------------------

class _StandaloneMock:
    """``agws-conformance mock`` in a child process; its access lines read on a thread."""

    def __init__(self) -> None:
        env = child_environment({embedded_target().secret_env: SECRET})
        self.process = subprocess.Popen([sys.executable, "-m", "agws_conformance.cli", "mock", "--target",
                                         str(mock_target_path()), "--port", "0"], env=env, stdout=subprocess.PIPE,
                                        text=True, cwd=REPO)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert "listening on " in line, line
        self.url = line.split("listening on ")[1].split(" ")[0]
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def created(self) -> int:
        """Payments its ledger holds: cash-ins it answered with a success (the clean mock creates
        a ledger entry exactly then)."""
        return sum(bool(re.search(r"/action/cash-in -> 200 success", line)) for line in self.lines)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)


def _created_in(path: Path) -> int:
    """Cash-ins the journal records as answered with a success."""
    if not path.exists():
        return 0
    return sum(p.created for r in journal.read([path]).runs for p in r.payments if p.method == "action/cash-in")


@pytest.mark.slow
def test_a_run_killed_mid_way_leaves_a_journal_of_every_payment(tmp_path: Path) -> None:
    mock = _StandaloneMock()
    try:
        target = tmp_path / "qa.toml"
        target.write_text(false_failures.qa_target_file(mock.url, embedded_target()), encoding="utf-8")
        out = tmp_path / "out"
        journal_path = out / journal.JOURNAL_NAME  # the default: beside the JSON summary
        env = child_environment({false_failures.SECRET_ENV: SECRET})
        suite = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
                                  "suites/test_payments.py", "suites/test_callbacks.py", "--agws-target", str(target),
                                  f"--agws-json={out / 'summary.json'}", "--hypothesis-seed=0"],
                                 cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _created_in(journal_path) < 8 and suite.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert suite.poll() is None, "the run ended before it was killed"
        suite.send_signal(signal.SIGKILL)
        suite.wait(10)
        time.sleep(2.0)  # every payment reaches a final status (the mock's lifetime is 1.5 s)
        created = mock.created()
        assert created >= 8 and not (out / "summary.json").exists()

        found = journal.read([journal_path])
        (killed,) = found.runs
        assert not killed.ended and found.torn == 0
        listed = run_module("agws_conformance.cli", "payments", journal_path)
        assert listed.returncode == 0 and f"run {killed.run}" in listed.stdout
        assert "ended without a summary" in listed.stdout

        rechecked = run_module("agws_conformance.cli", "payments", journal_path, "--recheck", target, "--json",
                               env={false_failures.SECRET_ENV: SECRET})
        assert rechecked.returncode == 0, rechecked.stderr
        changes = json.loads(rechecked.stdout)["recheck"]
        on_ledger = {c["external_id"]: c["now"] for c in changes if c["now"] is not None}
        # Every payment the ledger holds is journaled (the journal's ids the status method finds are
        # as many as the ledger's entries), and each one's final status is reported.
        assert len(on_ledger) == created, (on_ledger, created)
        assert set(on_ledger.values()) <= FINAL_STATUSES, on_ledger
        journaled = {p.external_id for p in killed.payments}
        assert set(on_ledger) <= journaled

        # The next run of the same target says so in one line, with the reconcile command.
        again = run_pytest("suites/test_payments.py", "--collect-only", "-q", "--agws-target", target,
                           f"--agws-journal={journal_path}", env={false_failures.SECRET_ENV: SECRET})
        notices = [line for line in again.stdout.splitlines() if line.startswith("payments journal:")]
        assert len(notices) == 1 and f"run {killed.run}" in notices[0], again.stdout[-2000:]
        assert f"agws-conformance payments {journal_path} --recheck TARGET_FILE" in notices[0]
    finally:
        mock.stop()
    assert SECRET.encode() not in journal_path.read_bytes()


CRASHING_SUITE = '''
import os

import pytest


@pytest.mark.requirement("PAY-SUCCESS")
def test_a_pays(agws):
    agws.pay(why="handed over")


@pytest.mark.requirement("PAY-SUCCESS")
def test_b_pays_then_its_worker_dies(agws):
    agws.pay(why="paid by a worker that died")
    os._exit(3)
'''


@pytest.mark.slow
def test_a_crashed_workers_payments_reach_the_report_from_the_journal(tmp_path: Path) -> None:
    """Under xdist a worker that dies hands nothing over; the report still lists its payment."""
    (tmp_path / "test_crash.py").write_text(CRASHING_SUITE, encoding="utf-8")
    done = run_pytest("test_crash.py", "-n", "1", "-q", f"--agws-journal={tmp_path / 'j.jsonl'}",
                      f"--agws-json={tmp_path / 'summary.json'}", cwd=tmp_path, timeout=120)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    payments = {p["why"]: p for p in summary["targets"][0]["payments"]}
    assert set(payments) == {"handed over", "paid by a worker that died"}, done.stdout[-2000:]
    assert payments["paid by a worker that died"]["answer"].endswith("(from the payments journal)")
    assert payments["paid by a worker that died"]["created"] is True
    (run,) = journal.read([tmp_path / "j.jsonl"]).runs
    assert run.ended and len(run.payments) == 2


def test_payments_command_lists_by_run_and_refuses_a_missing_journal(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from agws_conformance.cli import main

    path = tmp_path / "j.jsonl"
    journal.append(path, _sent("r1", "s1"))
    journal.append(path, _answer("r1", "s1", error="timeout: no answer within 10 s"))
    assert main(["payments", str(path)]) == 0
    out = capsys.readouterr().out
    assert "run r1 (target 'qa' at http://gw.test)" in out and "ended without a summary" in out
    assert "no answer (timeout: no answer within 10 s)" in out
    assert main(["payments", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["runs"][0]["payments"][0]["external_id"] == "p-1" and document["recheck"] == []
    assert main(["payments", str(tmp_path / "none.jsonl")]) == 2
    assert "no such journal" in capsys.readouterr().err
