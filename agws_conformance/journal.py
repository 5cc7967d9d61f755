"""The payments journal: a write-ahead record of every request with side effects a run sends.

A run that is killed (a CI timeout, an out-of-memory kill) writes no report, so "every payment is
listed in the report" needs a record that exists before the report does. A payment terminal
journals before it sends; so does the suite. One JSON object per line:

- ``start``: a process of a run journals its first request (run id, target, base URL, worker);
- ``sent`` (fsynced): before a cash-in, link or confirmation leaves (refused ones too: a gateway
  that wrongly accepts one has moved money), with method, external_id, amount, username, time, why;
- ``answer``: when its answer arrives (HTTP status, error/status code, payment status), or
  ``error`` when none ever came (a time-out, a reset);
- ``end``: the run's reports are written (the JSON summary's path, if one was asked for).

A run with ``sent`` lines and no ``end`` line ended without a summary: ``agws-conformance
payments`` lists it and asks the gateway's status method what became of each payment.

Several processes append to one file (pytest-xdist workers of a run, successive runs): every line
is one ``os.write`` of a whole line on a descriptor opened with ``O_APPEND``. On a local file
system the kernel moves to the end and writes in one step, so concurrent lines never interleave
(not guaranteed on NFS: give each run its own ``--agws-journal`` there). A ``sent`` line is
fsynced before the request leaves. A line torn by a kill mid-write is skipped when read, and counted.

Never the secret, never a signature: the lines hold identifiers, amounts, codes and statuses, and
the plugin passes every string through the run's redactor before it is written.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

JOURNAL_NAME = "agws-payments.jsonl"
"""The journal's file name: beside the JSON summary, else in the working directory."""
JOURNAL_ENV = "AGWS_JOURNAL"

START, SENT, ANSWER, END = "start", "sent", "answer", "end"


def now() -> str:
    """UTC to the millisecond, as the lines record times."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def default_path(json_summary: str | Path | None) -> Path:
    """Where a run journals when not told: beside its JSON summary, else the working directory."""
    folder = Path(json_summary).parent if json_summary else Path()
    return (folder / JOURNAL_NAME).absolute()


def append(path: str | Path, entry: Mapping[str, Any], *, sync: bool = True) -> None:
    """Append ``entry`` as one line; with ``sync``, fsync it: on disk before the caller goes on.

    One ``os.write`` per line on an ``O_APPEND`` descriptor: lines of concurrent writers (xdist
    workers) never interleave on a local file system (see the module's docstring). Without
    ``sync`` (an answer line) the line survives a killed process, as written lines do, but not a
    power cut: the ``sent`` line before it is what must never be lost.
    """
    data = (json.dumps(dict(entry), ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, data)
        if written != len(data):  # a full disk; a partial line is skipped when reading
            raise OSError(f"{target}: wrote {written} of {len(data)} bytes of a journal line")
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Payment:
    """One request with side effects, as its ``sent`` line and (if any) ``answer`` line record it."""

    send: str  # the id joining the two lines
    run: str
    target: str
    base_url: str
    method: str
    external_id: str | None
    amount: float | None
    username: str | None
    why: str
    test: str
    at: str
    listed: bool = True  # counted against max_payments and listed in the report (cash-ins, links)
    answered: bool = False
    http_status: int | None = None
    code: int | None = None
    status: str | None = None
    created: bool = False  # the answer was a success naming the payment (or the link)
    error: str | None = None  # no answer: why (a time-out, a reset)

    def answer_text(self) -> str:
        """The last known answer, in a few words."""
        if self.error is not None:
            return f"no answer ({self.error})"
        if not self.answered:
            return "no answer recorded (the process ended before it came)"
        what = "success" if self.code == 0 else f"error {self.code}" if self.code is not None else "no code"
        return f"HTTP {self.http_status}, {what}"

    def to_dict(self) -> dict[str, Any]:
        return {"send": self.send, "run": self.run, "target": self.target, "base_url": self.base_url,
                "method": self.method, "external_id": self.external_id, "amount": self.amount,
                "username": self.username, "why": self.why, "test": self.test, "at": self.at,
                "listed": self.listed, "answer": self.answer_text(), "http_status": self.http_status,
                "code": self.code, "status": self.status, "created": self.created}


@dataclass
class JournalRun:
    """Every line of one run id: its processes' starts, its payments, its end (None: never ended)."""

    run: str
    started: str
    targets: list[str] = field(default_factory=list)
    base_urls: list[str] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    end: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        """The run lived to write its reports (an ``end`` line)."""
        return self.end is not None

    def state(self) -> str:
        if self.end is None:
            return "ended without a summary"
        summary = self.end.get("summary")
        partial = f" (partial: {self.end['partial']})" if self.end.get("partial") else ""
        return (f"ended, summary {summary}" if summary else "ended (no JSON summary asked for)") + partial

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "started": self.started, "targets": self.targets, "base_urls": self.base_urls,
                "ended": self.ended, "state": self.state(), "end": self.end,
                "payments": [p.to_dict() for p in self.payments]}


@dataclass
class Journal:
    """What one or more journal files say, grouped by run in the order the runs began."""

    runs: list[JournalRun] = field(default_factory=list)
    torn: int = 0  # lines that are not a journal entry (torn by a kill mid-write, or edited)
    missing: list[str] = field(default_factory=list)  # files that do not exist

    def run(self, run_id: str) -> JournalRun | None:
        return next((r for r in self.runs if r.run == run_id), None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def read(paths: Iterable[str | Path]) -> Journal:
    """Group the lines of ``paths`` by run; a missing file is noted, a torn line counted."""
    journal = Journal()
    runs: dict[str, JournalRun] = {}
    sent: dict[tuple[str, str], Payment] = {}
    for path in paths:
        try:
            raw = Path(path).read_bytes()
        except FileNotFoundError:
            journal.missing.append(str(path))
            continue
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                journal.torn += bool(line.strip())
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("run"), str):
                journal.torn += 1
                continue
            run_id = entry["run"]
            run = runs.get(run_id)
            if run is None:
                run = runs[run_id] = JournalRun(run_id, str(entry.get("at", "")))
                journal.runs.append(run)
            _add(run, entry, sent)
    return journal


def _add(run: JournalRun, entry: dict[str, Any], sent: dict[tuple[str, str], Payment]) -> None:
    event = entry.get("event")
    target, base_url = str(entry.get("target", "")), str(entry.get("base_url", ""))
    if event in (START, SENT):
        if target and target not in run.targets:
            run.targets.append(target)
        if base_url and base_url not in run.base_urls:
            run.base_urls.append(base_url)
    if event == SENT:
        payment = Payment(send=str(entry.get("send", "")), run=run.run, target=target, base_url=base_url,
                          method=str(entry.get("method", "")), external_id=_text(entry.get("external_id")),
                          amount=_number(entry.get("amount")), username=_text(entry.get("username")),
                          why=str(entry.get("why", "")), test=str(entry.get("test", "")), at=str(entry.get("at", "")),
                          listed=bool(entry.get("listed", True)))
        run.payments.append(payment)
        sent[(run.run, payment.send)] = payment
    elif event == ANSWER:
        answered = sent.get((run.run, str(entry.get("send", ""))))
        if answered is None:
            return
        payment = answered
        payment.answered = entry.get("error") is None
        payment.error = _text(entry.get("error"))
        payment.http_status = entry.get("http_status") if isinstance(entry.get("http_status"), int) else None
        payment.code = entry.get("code") if isinstance(entry.get("code"), int) else None
        payment.status = _text(entry.get("status"))
        payment.created = bool(entry.get("created"))
    elif event == END:
        run.end = {k: v for k, v in entry.items() if k not in ("event", "run")}


def unfinished(journal: Journal, target: str, *, besides: str = "") -> list[JournalRun]:
    """Runs of ``target`` that sent requests with side effects and never wrote their end line
    (``besides``: the current run, which has not ended yet)."""
    return [r for r in journal.runs if r.run != besides and not r.ended and r.payments and target in r.targets]


def reconcile_command(path: str | Path) -> str:
    """The command that lists a journal's payments and asks the gateway about each."""
    return f"agws-conformance payments {shlex.quote(str(path))} --recheck TARGET_FILE"


def notice(runs: list[JournalRun], target: str, path: str | Path) -> str:
    """The one line a run prints when its journal holds earlier runs of its target that ended
    without a summary (killed, or crashed): their payments are in no report."""
    last = runs[-1]
    count = sum(len(r.payments) for r in runs)
    several = f"{len(runs)} earlier runs" if len(runs) > 1 else "an earlier run"
    return (f"payments journal: {several} of target {target!r} ended without a summary (last: run {last.run} "
            f"started {last.started}; {count} requests with side effects in all, none in a report); reconcile: "
            f"{reconcile_command(path)}")


@dataclass(frozen=True)
class Change:
    """What the status method says now about a journaled payment, against what the run last saw."""

    payment: Payment
    was: str | None  # the last status the run saw (its cash-in's or a confirmation's answer)
    now: str | None  # the status code now, None when the status method found nothing
    answer: str  # the status method's answer in a few words

    @property
    def changed(self) -> bool:
        return self.now != self.was

    def line(self) -> str:
        was = self.was if self.was is not None else "-"
        now = self.now if self.now is not None else "-"
        arrow = f"{was} -> {now}" if self.changed else f"{now} (unchanged)"
        return f"{self.payment.external_id}: status {arrow}; {self.answer}"

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.payment.run, "target": self.payment.target, "external_id": self.payment.external_id,
                "was": self.was, "now": self.now, "changed": self.changed, "answer": self.answer}


def recheck(payments: Iterable[Payment], ask: Callable[[str], tuple[str | None, str]]) -> list[Change]:
    """Ask ``ask(external_id) -> (status code or None, answer)`` (the status method, read-only)
    once about each external_id the payments name, against the last status the run saw for it.
    Links name none: the documents give no way to look one up."""
    first: dict[str, Payment] = {}
    last: dict[str, str | None] = {}
    for p in payments:
        if p.external_id is None:
            continue
        first.setdefault(p.external_id, p)
        if p.status is not None or p.external_id not in last:
            last[p.external_id] = p.status
    out: list[Change] = []
    for external_id, p in first.items():
        status, answer = ask(external_id)
        out.append(Change(p, last[external_id], status, answer))
    return out
