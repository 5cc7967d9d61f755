"""``agws-conformance payments``: reconcile from the payments journal.

Lists every request with side effects the journals record (cash-ins, links, confirmations),
grouped by run, with its last known answer and status, and marks the runs that ended without a
summary (killed, or crashed: their payments are in no report). ``--recheck TARGET_FILE`` asks the
target's status method (read-only) what became of each payment and prints what changed. The secret
comes from the variable the target file names, as for a run; it is never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agws_conformance import journal, judge, signer
from agws_conformance.client import GatewayClient, HarnessError
from agws_conformance.endpoints import ENDPOINTS
from agws_conformance.preflight import run_preflight
from agws_conformance.target import ConfigError, Target, missing_secret_message, resolve_target
from agws_conformance.transcript import Redactor

NAME = "payments"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``payments`` subcommand."""
    parser = subparsers.add_parser(
        NAME, help="list the payments a journal records, by run; --recheck asks the gateway about each",
        description="List every request with side effects the payments journals record (--agws-journal; "
                    "default agws-payments.jsonl), grouped by run, marking the runs that ended without a summary.")
    parser.add_argument("journals", nargs="*", type=Path, metavar="JOURNAL",
                        help=f"journal files (default: ./{journal.JOURNAL_NAME})")
    parser.add_argument("--recheck", metavar="TARGET_FILE", type=Path,
                        help="ask this target's status method (read-only) for the current status of each payment "
                             "of its runs, and print what changed")
    parser.add_argument("--run", metavar="ID", help="only this run")
    parser.add_argument("--json", action="store_true", help="print the runs (and the recheck) as JSON")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per-request deadline of --recheck (default 10)")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"agws-conformance payments: {message}", file=sys.stderr)
    return 2


def listing(runs: list[journal.JournalRun]) -> list[str]:
    """The runs and their payments, as lines for a person."""
    lines: list[str] = []
    for r in runs:
        where = ", ".join(f"{t!r}" for t in r.targets) + (f" at {', '.join(r.base_urls)}" if r.base_urls else "")
        lines.append(f"run {r.run} (target {where}), started {r.started}: {r.state()}; "
                     f"{len(r.payments)} requests with side effects")
        for p in r.payments:
            amount = f"{p.amount:g}" if p.amount is not None else "-"
            status = f"status {p.status}" if p.status is not None else "no status"
            lines.append(f"  {p.at}  {p.method:<22} {p.external_id or '-'}  amount {amount}  to {p.username or '-'}  "
                         f"{status}  {p.answer_text()}  [{p.why}; {p.test}]")
    return lines


def status_asker(target: Target, timeout: float) -> tuple[Any, GatewayClient, str | None]:
    """``ask(external_id) -> (status code or None, answer)`` over the target's status method,
    signing as its preflight detects; with the preflight's problem line when the setup is wrong."""
    secret = target.secret.reveal() if target.secret is not None else ""
    client = GatewayClient(target.base_url, timeout=timeout, redactor=Redactor([secret]))
    counter = iter(range(1, 1_000_000))

    def send(endpoint: str, content: bytes, signature: str | None) -> Any:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Signature"] = signature
        return client.post(ENDPOINTS[endpoint], content=content, headers=headers)

    report = run_preflight(target, send, lambda content, variant: signer.sign(content, secret, variant).signature,
                           lambda: f"agws-recheck-{next(counter)}")
    if not report.ok:
        return None, client, report.line()

    def ask(external_id: str) -> tuple[str | None, str]:
        fields = {**target.request_fields("action/status", lambda: external_id), "external_id": external_id}
        content = signer.go_struct_body(fields)
        try:
            resp = send("action/status", content, signer.sign(content, secret, report.variant).signature)
        except HarnessError as exc:
            return None, f"no answer: {exc}"
        if judge.is_success(resp):
            data = (resp.json.get("result") or {}).get("data")
            status = data.get("status_code") if isinstance(data, dict) else None
            return (str(status) if status is not None else None), "found"
        code = judge.error_code(resp)
        if code == 1041:
            return None, "the gateway does not know it (1041 Order not found): no payment was made"
        return None, f"HTTP {resp.status}, error {code}"

    return ask, client, None


def run(args: argparse.Namespace) -> int:
    """0 when listed (and rechecked); 2 on a missing journal, a bad target file or a setup problem."""
    paths = args.journals or [Path(journal.JOURNAL_NAME)]
    found = journal.read(paths)
    if found.missing and len(found.missing) == len(paths):
        return _fail(f"no such journal: {', '.join(found.missing)} (runs write one with --agws-journal PATH, "
                     f"default {journal.JOURNAL_NAME} beside --agws-json)")
    runs = [r for r in found.runs if args.run is None or r.run == args.run]
    changes: list[journal.Change] = []
    if args.recheck is not None:
        try:
            target = resolve_target(file=args.recheck)
        except ConfigError as exc:
            return _fail(str(exc))
        if target.secret is None:
            return _fail(missing_secret_message(target))
        ask, client, problem = status_asker(target, args.timeout)
        try:
            if problem is not None:
                return _fail(f"--recheck: setup problem, nothing asked: {problem}")
            payments = [p for r in runs for p in r.payments if p.target == target.name]
            changes = journal.recheck(payments, ask)
        finally:
            client.close()
    if args.json:
        print(json.dumps({"journals": [str(p) for p in paths], "missing": found.missing, "torn_lines": found.torn,
                          "runs": [r.to_dict() for r in runs], "recheck": [c.to_dict() for c in changes]},
                         indent=2, ensure_ascii=False))
        return 0
    for line in listing(runs):
        print(line)
    if not runs:
        print("no requests with side effects recorded" + (f" for run {args.run}" if args.run else ""))
    if found.missing:
        print(f"missing: {', '.join(found.missing)}")
    if found.torn:
        print(f"{found.torn} unreadable line(s) skipped (a line torn by a kill mid-write)")
    if args.recheck is not None:
        changed = sum(c.changed for c in changes)
        print(f"recheck against {args.recheck}: {len(changes)} payments asked, {changed} changed since the run saw them")
        for c in changes:
            print(("  CHANGED " if c.changed else "  ") + c.line())
    return 0
