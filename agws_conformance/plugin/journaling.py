"""This process's side of the run's payments journal (agws_conformance.journal): what the plugin
writes before and after each request with side effects, the run's end line, and the journal's
payments of this run for a partial report.

Every string passes the run's redactor before it is written; no header, body or signature is.
"""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import pytest

from agws_conformance import journal, judge
from agws_conformance.report.identity import safe_url
from agws_conformance.state import RESULTS_KEY, Observed, observed_targets

if TYPE_CHECKING:
    from agws_conformance.client import Response

    from .options import Settings
    from .run import Run

WORKER_RUN_ID = "agws_run_id"
WORKER_JOURNAL = "agws_journal"
"""The keys of xdist's ``workerinput`` carrying the controller's run id and journal path."""


def journal_path(settings: "Settings") -> Path | None:
    """``--agws-journal``/AGWS_JOURNAL, else beside the JSON summary, else the working directory.
    The embedded mock journals only when asked: its payments vanish with it."""
    if settings.journal:
        return Path(settings.journal).absolute()
    if settings.embedded:
        return None
    return journal.default_path(settings.json_path)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


class RunJournal:
    """Appends this process's lines of run ``run_id`` to the journal at ``path``."""

    def __init__(self, path: Path, run_id: str, redact: Callable[[str], str], worker: str = "main") -> None:
        self.path = path
        self.run_id = run_id
        self.redact = redact
        self.worker = worker
        self.wrote = False  # this process has journaled a request (so the run has lines)
        self._started: set[str] = set()  # targets whose start line this process wrote
        self._lock = threading.Lock()

    def _line(self, event: str, target: str, base_url: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"event": event, "run": self.run_id, "at": journal.now(),
                                 "target": self.redact(target), "base_url": safe_url(base_url, self.redact)}
        for key, value in fields.items():
            entry[key] = self.redact(value) if isinstance(value, str) else value
        return entry

    def sent(self, *, target: str, base_url: str, method: str, body: Mapping[str, Any], why: str, test: str,
             listed: bool) -> str:
        """Journal a request about to leave (fsynced before this returns); the id its answer names."""
        send = uuid.uuid4().hex[:12]
        amount = body.get("amount")
        with self._lock:
            if target not in self._started:
                journal.append(self.path, self._line(journal.START, target, base_url, worker=self.worker,
                                                     pid=os.getpid()))
                self._started.add(target)
            journal.append(self.path, self._line(
                journal.SENT, target, base_url, send=send, method=method,
                external_id=str(body["external_id"])[:120] if "external_id" in body else None,
                amount=amount if isinstance(amount, (int, float)) and not isinstance(amount, bool) else None,
                username=str(body["username"])[:120] if "username" in body else None,
                why=why[:200], test=test, listed=listed))
            self.wrote = True
        return send

    def answered(self, send: str, *, target: str, base_url: str, resp: "Response | None",
                 error: str | None = None) -> None:
        """Journal the answer to ``send`` (or, with ``error``, that none came)."""
        fields: dict[str, Any] = {"send": send}
        if resp is None:
            fields["error"] = (error or "no answer")[:200]
        else:
            success = judge.is_success(resp)
            result = resp.json.get("result") if success and isinstance(resp.json, dict) else None
            data = result.get("data") if isinstance(result, dict) else None
            status = data.get("status_code") if isinstance(data, dict) else \
                result.get("transaction_status_id") if isinstance(result, dict) else None
            fields.update(http_status=resp.status, code=0 if success else judge.error_code(resp),
                          status=str(status)[:20] if status is not None else None,
                          created=success and isinstance(result, dict))
        with self._lock:
            journal.append(self.path, self._line(journal.ANSWER, target, base_url, **fields), sync=False)

    def end(self, *, summary: str | None, html: str | None, partial: str | None) -> None:
        """The run's reports are written: it did not end without a summary."""
        journal.append(self.path, {"event": journal.END, "run": self.run_id, "at": journal.now(),
                                   "summary": summary, "html": html, "partial": self.redact(partial) if partial else None})


def report_records(payments: list[journal.Payment]) -> list[dict[str, Any]]:
    """Journal payments in the shape of the report's payments list (``targets[].payments``)."""
    return [{"external_id": p.external_id or "(none)", "amount": p.amount, "username": p.username or "",
             "test": p.test, "why": p.why, "answer": f"{p.answer_text()} (from the payments journal)",
             "status": p.status, "created": p.created, "timeline": []} for p in payments]


def missing_from_report(payments: list[journal.Payment], known: Sequence[Mapping[str, Any]]) -> list[journal.Payment]:
    """The listed journal payments of one target that ``known`` (the report's records, gathered
    from the processes that lived to hand them over) lacks: a worker that died took its own."""
    left: dict[tuple[str, str, str], int] = {}
    for record in known:
        key = (str(record.get("external_id")), str(record.get("test")), str(record.get("why")))
        left[key] = left.get(key, 0) + 1
    out = []
    for p in payments:
        if not p.listed:
            continue
        key = (p.external_id or "(none)", p.test, p.why)
        if left.get(key, 0) > 0:
            left[key] -= 1
        else:
            out.append(p)
    return out


class JournalHooks:
    """The journal's pytest hooks: hand the run id and path to xdist workers, say at the start when
    earlier runs of a target ended without a summary, put the journal's payments of this run into
    the reports, and write the run's end line once they are written."""

    def __init__(self, run: "Run", config: pytest.Config) -> None:
        self.run = run
        self.config = config
        self.announced = False

    @property
    def controller(self) -> bool:
        """This process writes the reports (no xdist, or xdist's controller)."""
        return not hasattr(self.config, "workerinput")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist, in the controller: every worker journals under this run's id, to this file."""
        node.workerinput[WORKER_RUN_ID] = self.run.run_id
        node.workerinput[WORKER_JOURNAL] = str(self.run.journal.path) if self.run.journal is not None else ""

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.controller and any("agws" in getattr(item, "fixturenames", ()) for item in session.items):
            self.announce()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Any) -> None:
        if ids:
            self.announce()

    def announce(self) -> None:
        """One line per target whose earlier runs in this journal ended without a summary."""
        journal_ = self.run.journal
        if self.announced or journal_ is None or not journal_.path.is_file():
            return
        self.announced = True
        try:
            with warnings.catch_warnings():  # a worker warns about the target file; the controller need not
                warnings.simplefilter("ignore")
                names = [t.name for t in self.run.targets()]
            found = journal.read([journal_.path])
        except (pytest.UsageError, OSError):
            return  # a bad target configuration is reported by collection; an unreadable journal by the first payment
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        for name in names:
            runs = journal.unfinished(found, self.run.redactor(name), besides=self.run.run_id)
            if runs and reporter is not None:
                reporter.write_line(journal.notice(runs, name, journal_.path), yellow=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Before the reports are built: the journal's payments of this run that no living process
        handed over (a worker that crashed, or a request whose process died) join them."""
        journal_ = self.run.journal
        if not self.controller or journal_ is None or not journal_.path.is_file():
            return
        try:
            mine = journal.read([journal_.path]).run(self.run.run_id)
        except OSError:
            return
        if mine is None:
            return
        journal_.wrote = True
        observed = observed_targets(self.run)
        for name in mine.targets:
            known = observed[name].payments if name in observed else []
            missing = missing_from_report([p for p in mine.payments if p.target == name], known)
            if missing:
                self.run.remote.setdefault(name, Observed()).merge("", {}, {}, None, report_records(missing))

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The reports are written (sessionfinish is over): the run did not end without a summary."""
        journal_ = self.run.journal
        if not self.controller or journal_ is None or not journal_.wrote:
            return
        results = config.stash.get(RESULTS_KEY, None)
        json_path = self.run.settings.json_path
        wrote_summary = bool(json_path and results is not None and results.tests)
        try:
            journal_.end(summary=str(Path(json_path).absolute()) if json_path and wrote_summary else None,
                         html=getattr(config.option, "htmlpath", None), partial=self.run.interrupted)
        except OSError:
            pass  # the run's lines stay without an end: the next run says so, which is the safe side
