"""HTML fragments for the pytest-html report: verdict banner, identity, requirement matrix,
errata, and per-test details (requirement chips, expected vs observed, transcripts, curl).

Pure functions returning strings; ``hooks.py`` feeds them to pytest-html. The target is
untrusted input: every value goes through :func:`esc` before it reaches markup, because
pytest-html inserts these fragments with ``innerHTML``.
"""

from __future__ import annotations

import base64
import html
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from agws_conformance.catalogue import Catalogue
from agws_conformance.preflight import preflight_evidence
from agws_conformance.results import Results
from agws_conformance.transcript import Exchange, Redactor

from .identity import RunIdentity, utc

AREAS = ("signature", "envelope", "check", "status", "errors", "robustness")
BODY_CAP = 4096
"""Characters of a body shown in a transcript; the full (64 KiB-capped) body stays in the JSON payload."""
CURL_CAP = 8192
EXCHANGES_SHOWN = 6
"""Exchanges shown per test: the first half and the last half; the count of the rest is stated."""
TESTS_LISTED = 25
FINDINGS_SHOWN = 20
VERDICT_CLASS = {"CONFORMANT": "ok", "CONFORMANT WITH WARNINGS": "warn", "NOT CONFORMANT": "fail",
                 "INCOMPLETE": "incomplete"}
VERDICT_MEANING = {
    "CONFORMANT": "every MUST and SHOULD requirement judged passed",
    "CONFORMANT WITH WARNINGS": "every MUST requirement passed; some SHOULD requirements were violated",
    "NOT CONFORMANT": "at least one MUST requirement failed",
    "INCOMPLETE": "harness errors, or MUST requirements skipped or not run: no verdict on those",
}
_NO_REDACTION = Redactor(())


def esc(value: object, *, quote: bool = True) -> str:
    """HTML-escape anything; ``quote=False`` only for text nodes (never attributes)."""
    return html.escape(str(value), quote=quote)


def text(value: object) -> str:
    """Escape a text node (quotes need no escaping there; the report stays smaller)."""
    return html.escape(str(value), quote=False)


def clip(text: str, cap: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= cap else (text[:cap], True)


def chip(text: str, kind: str, title: str = "") -> str:
    attr = f' title="{esc(title)}"' if title else ""
    return f'<span class="agws-chip agws-{esc(kind.replace(" ", "-"))}"{attr}>{esc(text)}</span>'


def requirement_chips(ids: Iterable[str], catalogue: Catalogue, *, tooltips: bool = False) -> str:
    """One chip per requirement ID, coloured by level, linking to its row in the matrix.

    Tooltips (the summary) only where chips are few: per test they would repeat a thousand times.
    """
    out = []
    for rid in ids:
        req = catalogue.requirements.get(rid)
        kind = f"lvl-{req.level.lower()}" if req else "lvl-unknown"
        title = (f"{req.level}: {req.summary}" if req else "not in the catalogue") if tooltips else ""
        out.append(f'<a href="#req-{esc(rid)}">{chip(rid, kind, title)}</a>')
    return " ".join(out)


def chips_of_test(declared: Iterable[str], failed: Iterable[str], catalogue: Catalogue) -> str:
    """A test's chips: the requirements whose rule failed first (red, "failed:"), then the others it
    judges; beyond a few, the others fold away so the row stays one line."""
    failed = list(dict.fromkeys(failed))
    others = [r for r in dict.fromkeys(declared) if r not in failed]
    out = []
    if failed:
        out.append("failed: " + " ".join(f'<a href="#req-{esc(r)}">{chip(r, "fail")}</a>' for r in failed))
    shown, folded = others[:3], others[3:]
    if shown:
        out.append(requirement_chips(shown, catalogue))
    if folded:
        out.append(f"<details><summary>{len(folded)} more</summary>{requirement_chips(folded, catalogue)}</details>")
    return " ".join(out)


# -- the summary block ---------------------------------------------------------------------------

STYLE = """<style>
body{display:flex;flex-direction:column}#title{order:-2}.summary{order:-1;flex-wrap:wrap}
.summary__data{flex:1 1 100%!important}.summary__spacer{display:none}
.agws{color:#222;font-size:13px;max-width:1400px}
.agws h2{margin:18px 0 6px}.agws table{border-collapse:collapse;margin:4px 0 10px}
.agws td,.agws th{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
.agws th{background:#f3f3f3}.agws code,.agws pre{font-family:monospace;font-size:12px}
#agws-verdict{padding:14px 18px;border-radius:6px;color:#fff;margin:6px 0 10px}
#agws-verdict .agws-verdict-text{font-size:26px;font-weight:bold;display:block}
.agws-v-ok{background:#2e7d32}.agws-v-warn{background:#b26a00}.agws-v-fail{background:#c62828}
.agws-v-incomplete{background:#6a1b9a}.agws-setup{font-weight:bold;margin:4px 0}.agws-mock{font-weight:bold}
.agws-chip{display:inline-block;padding:0 5px;border-radius:3px;font:11px monospace;color:#fff;
background:#777;white-space:nowrap;margin:1px}
.agws-pass{background:#2e7d32}.agws-fail{background:#c62828}.agws-warn{background:#b26a00}
.agws-info{background:#1565c0}.agws-skipped{background:#757575}.agws-error{background:#6a1b9a}
.agws-not-run,.agws-not-judged{background:#bdbdbd;color:#222}
.agws-lvl-must{background:#37474f}.agws-lvl-should{background:#6d4c41}.agws-lvl-info,.agws-lvl-may{background:#546e7a}
.agws-note{color:#555;font-size:12px;max-width:520px}.agws-area td{background:#eceff1;font-weight:bold}
.agws-x{border-left:3px solid #90a4ae;margin:6px 0;padding:2px 8px}
.agws-x pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;margin:3px 0;padding:4px;color:#222}
.agws-test{color:#222}.agws-test li{margin:2px 0}
</style>"""


SIDES = {"gateway": "Side judged: the gateway (its answers to the suite's requests)",
         "receiver": "Side judged: an integrator's callback receiver (its answers to the suite's signed callbacks)"}


def verdict_banner(verdict: str, level_counts: Mapping[Any, Mapping[str, int]], setup: Iterable[str] = (), *,
                   mock: str | bool | None = None, scope: str = "", side: str = "gateway") -> str:
    """The first thing a partner sees: the verdict with its scope (the method groups it did not
    judge), whether it is a mock's, which side was judged, any setup problem, the requirement
    counts per level."""
    parts = []
    for level in ("MUST", "SHOULD", "MAY", "INFO"):
        counts = level_counts.get(level)
        if counts:
            parts.append(f"{level}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    problems = "".join(f'<div class="agws-setup">{esc(line)}</div>' for line in setup)
    which = "the embedded mock" if mock is True else mock
    meaning = VERDICT_MEANING[verdict] + (f"; scope: {scope}" if scope else "")
    return (f'<div id="agws-verdict" class="agws-v-{VERDICT_CLASS[verdict]}">'
            f'<span class="agws-verdict-text">{esc(verdict)}</span>'
            + (f' <span class="agws-scope">({esc(scope)})</span>' if scope else "")
            + (f'<span class="agws-mock">({esc(which)}: a run against the bundled mock gateway, not a gateway '
               "under test)</span><br>" if which else "")
            + f'<span id="agws-side" data-side="{esc(side)}">{esc(SIDES.get(side, side))}</span><br>'
            + f'<span>{esc(meaning)}</span><br>{problems}'
            f'<span id="agws-level-counts">{esc(" · ".join(parts))}</span></div>')


def identity_tables(identity: RunIdentity, test_counts: Mapping[str, int]) -> str:
    run_rows = [
        ("Suite version", identity.suite_version),
        ("Suite git commit", (identity.git_commit or "unknown (not a git checkout)")
         + (" (with local changes)" if identity.git_dirty else "")),
        ("Catalogue version", f"{identity.catalogue_version} (errata {identity.errata_version})"),
        ("Hypothesis seed", identity.hypothesis_seed),
        ("Profile", identity.profile + (" (strict: SHOULD violations fail)" if identity.strict else "")),
        ("Started (UTC)", utc(identity.started)),
        ("Finished (UTC)", utc(identity.finished)),
        ("Duration", f"{identity.duration:.1f} s"),
        ("Requests sent", str(identity.request_count)),
        ("Tests", ", ".join(f"{n} {k}" for k, n in test_counts.items())),
    ]
    out = ['<h2>Run</h2><table id="agws-run">']
    out += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in run_rows]
    out.append("</table>")
    if identity.targets:
        fields = [
            ("Target URL", lambda t: t.base_url + (" (embedded mock)" if t.embedded_mock else
                                                   f" (mock gateway: {t.mock})" if t.mock else "")),
            ("Agent", lambda t: t.agent), ("Project", lambda t: t.project),
            ("Service code", lambda t: t.service_code),
            ("Error format declared", lambda t: t.error_format_declared),
            ("Error format observed", lambda t: t.error_format_observed or "not observed"),
            ("Canonicalization fingerprint", lambda t: t.fingerprint or "not observed"),
            ("Signing declared", lambda t: t.signing_declared or "not declared"),
            ("Signing used", lambda t: t.signing + (f" (preflight: {preflight_evidence(t.preflight)})"
                                                    if t.preflight else "")),
            ("Preflight", lambda t: (f"passed in {t.preflight['requests']} requests" if t.preflight["status"] == "passed"
                                     else f"failed: {t.preflight['problem']}") if t.preflight else "not run"),
        ]
        if any(t.scope_neighbour for t in identity.targets):
            fields.append(("Scope neighbour (INFO)", lambda t: t.scope_neighbour or "declared: scope judged against it"))
        if any(t.mock_faults for t in identity.targets):
            fields.append(("Mock faults injected", lambda t: ", ".join(t.mock_faults) or "none"))
        out.append('<h2>Targets</h2><table id="agws-targets"><tr><th></th>')
        out += [f"<th>{esc(t.name)}</th>" for t in identity.targets]
        out.append("</tr>")
        for label, get in fields:
            out.append(f"<tr><th>{esc(label)}</th>" + "".join(f"<td>{esc(get(t))}</td>" for t in identity.targets)
                       + "</tr>")
        out.append("</table>")
    out.append(payments_table(identity))
    return "".join(out)


def payments_table(identity: RunIdentity) -> str:
    """Every cash-in the run sent, per target: what QA needs to find and reconcile test payments."""
    rows = [(t.name, p) for t in identity.targets for p in t.payments]
    if not rows:
        return ""
    created = sum(1 for _, p in rows if p.get("created"))
    out = [f'<h2>Payments sent by this run</h2><p>{len(rows)} cash-in requests, {created} accepted as payments '
           '(the others were refused, as the tests intended or not). Reconcile the accepted ones by external_id.</p>'
           '<table id="agws-payments"><tr><th>Target</th><th>external_id</th><th>Amount</th><th>Username</th>'
           '<th>Why</th><th>Answer</th><th>Last status</th><th>Timeline (s after the cash-in)</th>'
           '<th>Test</th></tr>']
    for name, p in rows:
        amount = p.get("amount")
        out.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in (
            name, p.get("external_id", ""), f"{amount:g}" if isinstance(amount, (int, float)) else
            p.get("amount_json") or "-",
            p.get("username", ""), p.get("why", ""), p.get("answer", ""),
            p.get("status") or p.get("status_json") or ("-" if not p.get("created") else "unknown"),
            "; ".join(f"+{t:g} s {what}" for t, what in p.get("timeline", ())) or "-", p.get("test", ""))) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _cell(status: str, tests: list[str], messages: list[str]) -> str:
    out = [chip(status, status)]
    for m in list(dict.fromkeys(messages))[:2]:
        text, cut = clip(m, 200)
        out.append(f'<div class="agws-note">{esc(text)}{"…" if cut else ""}</div>')
    if tests:
        listed = "".join(f"<li><code>{esc(t)}</code></li>" for t in sorted(tests)[:TESTS_LISTED])
        more = f"<li>and {len(tests) - TESTS_LISTED} more</li>" if len(tests) > TESTS_LISTED else ""
        out.append(f"<details><summary>{len(tests)} test{'s' if len(tests) != 1 else ''}</summary>"
                   f"<ul>{listed}{more}</ul></details>")
    return "".join(out)


def requirement_matrix(results: Results, catalogue: Catalogue, targets: list[str]) -> str:
    """Every catalogue requirement, grouped by area, with its result on each target."""
    matrix = results.matrix(catalogue)
    areas = list(AREAS) + sorted({r.area for r in catalogue.requirements.values()} - set(AREAS))
    columns = targets or [""]
    head = "".join(f"<th>{esc(t or 'result')}</th>" for t in columns)
    out = ['<h2>Requirements</h2><table id="agws-matrix"><tr><th>ID</th><th>Level</th><th>Requirement</th>',
           head, "</tr>"]
    for area in areas:
        reqs = [r for r in catalogue.requirements.values() if r.area == area]
        if not reqs:
            continue
        out.append(f'<tr class="agws-area"><td colspan="{3 + len(columns)}">{esc(area)}</td></tr>')
        for req in reqs:
            cells = []
            for t in columns:
                r = matrix.get(t, {}).get(req.id)
                cells.append(f'<td data-status="{esc(r.status if r else "not run")}">'
                             + (_cell(r.status, r.tests, r.messages) if r else chip("not run", "not run")) + "</td>")
            out.append(f'<tr id="req-{esc(req.id)}"><td><code>{esc(req.id)}</code></td><td>{esc(req.level)}</td>'
                       f'<td>{esc(req.summary)}</td>{"".join(cells)}</tr>')
    out.append("</table>")
    return "".join(out)


def method_matrix(matrix: Mapping[str, Any]) -> str:
    """The rule x method matrix (``coverage.method_matrix``): per target, one row per per-method
    requirement and one column per method, so a partner sees what was proven for each method."""
    methods = matrix["methods"]
    out = []
    for target, rows in matrix["targets"].items():
        if not rows:
            continue
        counts: dict[str, int] = {}
        for row in rows:
            for cell in row["cells"].values():
                counts[cell["status"]] = counts.get(cell["status"], 0) + 1
        total = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        out.append(f'<h2>Rules per method{" on " + esc(target) if len(matrix["targets"]) > 1 else ""}</h2>'
                   f'<p class="agws-note">Each rule the catalogue judges per method, on every method of the registry: '
                   f'{esc(total)}. n/a: the rule does not apply to that method (hover for why); not judged: no test '
                   f'of this run judged it there.</p><table class="agws-method-matrix"><tr><th>Requirement</th>'
                   + "".join(f"<th><code>{esc(m)}</code></th>" for m in methods) + "</tr>")
        for row in rows:
            cells = "".join(f'<td data-status="{esc(c["status"])}">{chip(c["status"], c["status"], c["note"])}</td>'
                            for c in (row["cells"][m] for m in methods))
            out.append(f'<tr><td><a href="#req-{esc(row["id"])}"><code>{esc(row["id"])}</code></a></td>{cells}</tr>')
        out.append("</table>")
    return "".join(out)


def errata_section(catalogue: Catalogue) -> str:
    out = [f'<h2>Errata resolved ({len(catalogue.errata)})</h2>'
           '<p class="agws-note">Where the AGWS documents contradict themselves, and the reading this suite takes.</p>'
           '<table id="agws-errata"><tr><th>Erratum</th><th>Decision</th><th>Affects</th></tr>']
    for e in catalogue.errata.values():
        out.append(f'<tr><td><code>{esc(e.id)}</code><br>{esc(e.title)}</td><td>{esc(e.decision)}</td>'
                   f'<td>{requirement_chips(e.requirements, catalogue, tooltips=True)}</td></tr>')
    out.append("</table>")
    return "".join(out)


REASON_HEADINGS = {"interrupted": "Interrupted", "failed": "Failed", "harness": "Harness error", "skipped": "Skipped", "not run": "Not run",
                   "deselected": "Deselected"}


def _first_message(messages: list[str]) -> str:
    return next((m for m in messages if m), "")


def reasons_section(reasons: list[dict[str, Any]], catalogue: Catalogue, *, title: str = "What failed",
                    table_id: str = "agws-failed", other_title: str = "Why incomplete") -> str:
    """"What failed" and "Why incomplete", right under the banner: each failed requirement with its
    rule and expected vs observed, linked to its matrix row; then harness errors, skipped and
    not-run MUST requirements with the fix, and a deselection."""
    failed = [r for r in reasons if r["kind"] == "failed"]
    other = [r for r in reasons if r["kind"] not in ("failed", "setup")]
    out = []
    if failed:
        out.append(f'<h2>{esc(title)} ({len(failed)})</h2><table id="{esc(table_id)}"><tr><th>Requirement</th>'
                   "<th>Rule</th><th>Expected vs observed</th></tr>")
        for r in failed:
            req = catalogue.requirements.get(r["requirement"] or "")
            rule = f"{req.level}: {req.summary}" if req else ""
            target = f" on {r['target']}" if r.get("target") else ""
            kind = "fail" if table_id == "agws-failed" else "warn"
            out.append(f'<tr><td><a href="#req-{esc(r["requirement"])}">{chip(r["requirement"], kind)}</a>{esc(target)}'
                       f'</td><td>{esc(rule)}</td><td>{esc(r["text"])} <span class="agws-note">({r["tests"]} '
                       f'test{"s" if r["tests"] != 1 else ""}: the evidence is in the matrix row and the test '
                       "details below)</span></td></tr>")
        out.append("</table>")
    if other:
        out.append(f'<h2>{esc(other_title)} ({len(other)})</h2><table id="agws-incomplete"><tr><th>Reason</th>'
                   "<th>What happened</th><th>Fix</th></tr>")
        for r in other:
            subject = (f'<a href="#req-{esc(r["requirement"])}"><code>{esc(r["requirement"])}</code></a>'
                       if r.get("requirement") else "")
            count = f" ({r['tests']} tests)" if r["kind"] == "harness" and r["tests"] > 1 else ""
            out.append(f"<tr><td>{esc(REASON_HEADINGS[r['kind']])}{count} {subject}</td><td>{esc(r['text'])}</td>"
                       f"<td>{esc(r.get('fix') or '')}</td></tr>")
        out.append("</table>")
    return "".join(out)


def summary_block(results: Results, identity: RunIdentity, catalogue: Catalogue,
                  document: Mapping[str, Any] | None = None) -> str:
    """The report, top-down: the verdict banner (with its scope and any setup problem), what failed
    and why the run is incomplete, the run and target identity (with the signing variant detected),
    the requirement matrix (targets side by side), the errata. ``document``: the run's checked JSON
    summary (built here when not given), so the banner says what the summary and the gate say."""
    from .summary import final_summary, mock_words, verdict_words

    if document is None:
        document = final_summary(results, identity, catalogue)
    verdict = document["verdict"]
    level_counts = results.level_counts(catalogue)
    ordered = {lvl: dict(sorted(level_counts[lvl].items())) for lvl in ("MUST", "SHOULD", "MAY", "INFO")
               if lvl in level_counts}
    targets = results.targets or [t.name for t in identity.targets]
    setup = [f"Setup problem on target {t.name!r} (not a conformance verdict): {t.preflight['problem']}. "
             f"Fix: {t.preflight['fix']}." for t in identity.targets
             if t.preflight is not None and t.preflight.get("status") == "failed"]
    if identity.partial:
        setup.insert(0, f"PARTIAL REPORT: {identity.partial} after {len(results.tests)} tests; the tests that had not "
                        "finished are not in this report.")
    warned = [{"kind": "failed", "requirement": r["id"], "target": target, "text": _first_message(cell["messages"]),
               "tests": len(cell["tests"])}
              for r in document["requirements"] for target, cell in r["results"].items() if cell["status"] == "warn"]
    scope = verdict_words(document)[len(verdict):].strip(" ()")
    return (STYLE + '<div class="agws" id="agws-summary">'
            + verdict_banner(verdict, ordered, setup, mock=mock_words(document), scope=scope,
                             side=identity.side)
            + reasons_section(document["reasons"], catalogue, other_title="Why incomplete" if verdict == "INCOMPLETE"
                              else "Not judged as well")
            + reasons_section(warned, catalogue, title="What warned (SHOULD, not failing)", table_id="agws-warned")
            + identity_tables(identity, results.counts() | {"total": len(results.tests)})
            + requirement_matrix(results, catalogue, targets) + method_matrix(document["method_matrix"])
            + errata_section(catalogue) + "</div>")


# -- per test --------------------------------------------------------------------------------------

def expected_observed(payload: Mapping[str, Any], outcome: str, fallback: str = "") -> str:
    """One sentence for the results table: the first finding that decided the outcome."""
    if payload.get("harness"):
        return f"harness error (not a conformance verdict): {payload['harness']}"
    findings = payload.get("findings") or []
    for wanted in ("fail", "warn"):
        for f in findings:
            if f.get("outcome") == wanted:
                return f"[{f['requirement']}] {f['message']}"
    if outcome == "skipped" and fallback:
        return f"skipped: {fallback}"
    if outcome in ("failed", "error") and fallback:
        return fallback
    passes = [f for f in findings if f.get("outcome") == "pass"]
    if passes:
        more = f" (+{len(passes) - 1} more checks)" if len(passes) > 1 else ""
        return f"[{passes[0]['requirement']}] {passes[0]['message']}{more}"
    infos = [f for f in findings if f.get("outcome") == "info"]
    return f"[{infos[0]['requirement']}] {infos[0]['message']}" if infos else fallback


def _body_text(part: Mapping[str, Any]) -> str:
    body = part.get("body") or ""
    length = part.get("body_length", len(body))
    if part.get("body_encoding") == "base64":
        raw = base64.b64decode(body)
        shown, cut = clip(body, BODY_CAP)
        note = f"[{length} bytes, not UTF-8; base64{', first ' + str(BODY_CAP) + ' characters' if cut else ''}]\n"
        return note + shown if raw else ""
    shown, cut = clip(body, BODY_CAP)
    if cut or part.get("truncated"):
        shown += f"\n[… body shown up to {len(shown)} characters of {length} bytes]"
    return shown


def curl_command(exchange: Mapping[str, Any]) -> str:
    """The curl command that resends a recorded request (rebuilt from its JSON form)."""
    request = exchange["request"]
    body = request.get("body") or ""
    raw = base64.b64decode(body) if request.get("body_encoding") == "base64" else body.encode("utf-8")
    rebuilt = Exchange.capture(_NO_REDACTION, method=exchange["method"], url=exchange["url"],
                               request_headers=[tuple(h) for h in request.get("headers", [])],
                               request_body=raw, cap=len(raw) + 1)
    command = rebuilt.to_curl()
    if request.get("truncated"):
        command += f"  # request body truncated: {len(raw)} of {request.get('body_length')} bytes recorded"
    return command


def render_exchange(exchange: Mapping[str, Any], index: int) -> str:
    request, response = exchange["request"], exchange["response"]
    req_lines = [f"{exchange['method']} {exchange['url']}"]
    req_lines += [f"{k}: {v}" for k, v in request.get("headers", [])]
    status = response.get("status")
    ms = round(float(exchange.get("elapsed") or 0) * 1000)
    resp_lines = [f"HTTP {status}" if status is not None else f"no response: {exchange.get('error') or 'unknown'}"]
    resp_lines += [f"{k}: {v}" for k, v in response.get("headers", [])]
    head = f"#{index} {exchange['method']} {exchange['url']} → {status if status is not None else 'no response'} ({ms} ms)"
    curl = curl_command(exchange)
    curl_html = (f"<pre class=\"agws-curl\">{text(curl)}</pre>" if len(curl) <= CURL_CAP
                 else f'<p class="agws-note">curl command omitted: {len(curl)} characters</p>')
    notes = "".join(f'<div class="agws-note">{esc(n)}</div>' for n in exchange.get("notes") or [])
    error = f'<div class="agws-note">error: {esc(exchange["error"])}</div>' if exchange.get("error") else ""
    return (f'<div class="agws-x"><b>{esc(head)}</b>{error}{notes}'
            f'<pre class="agws-req">{text(chr(10).join(req_lines))}\n\n{text(_body_text(request))}</pre>'
            f'<pre class="agws-resp">{text(chr(10).join(resp_lines))}\n\n{text(_body_text(response))}</pre>'
            f"{curl_html}</div>")


class TranscriptBudget:
    """A cap on transcript HTML for the whole report, so a 1,000-test run stays quick to open."""

    def __init__(self, limit: int = 8 * 1024 * 1024) -> None:
        self.limit = limit
        self.used = 0
        self.refused = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.limit:
            self.refused += 1
            return False
        self.used += size
        return True


def details_html(payload: Mapping[str, Any], *, outcome: str, catalogue: Catalogue, rerun: str,
                 show_transcript: bool, budget: TranscriptBudget) -> str:
    """The extras block of one test: chips, findings, the re-run command and (maybe) the transcript."""
    out = ['<div class="agws-test">']
    findings = payload.get("findings") or []
    if findings:
        judged = [f for f in findings if f.get("outcome") != "pass"] + [f for f in findings if f.get("outcome") == "pass"]
        limit = FINDINGS_SHOWN if outcome in ("failed", "error", "warn") else FINDINGS_SHOWN // 2
        out.append("<ul>")
        for f in judged[:limit]:
            message, cut = clip(str(f.get("message", "")), 1000)
            out.append(f"<li>{chip(f.get('outcome', ''), f.get('outcome', ''))} <code>{text(f.get('requirement'))}</code> "
                       f"{text(message)}{'…' if cut else ''}</li>")
        if len(judged) > limit:
            out.append(f"<li>and {len(judged) - limit} more findings</li>")
        out.append("</ul>")
    if payload.get("harness"):
        out.append(f'<p><b>Harness error (not a conformance verdict):</b> {esc(payload["harness"])}</p>')
    out.append(f'<p>Re-run: <code class="agws-rerun">{esc(rerun)}</code></p>')
    exchanges = list(payload.get("exchanges") or [])
    dropped = int(payload.get("exchanges_dropped") or 0)
    if exchanges and show_transcript:
        half = EXCHANGES_SHOWN // 2
        shown = exchanges if len(exchanges) <= EXCHANGES_SHOWN else exchanges[:half] + exchanges[-half:]
        hidden = len(exchanges) - len(shown) + dropped
        parts = [render_exchange(x, i + 1) for i, x in enumerate(shown)]
        block = "".join(parts)
        if budget.take(len(block)):
            is_open = " open" if outcome in ("failed", "error", "warn") else ""
            out.append(f"<details class=\"agws-transcript\"{is_open}><summary>HTTP transcript: "
                       f"{len(exchanges) + dropped} exchange(s)"
                       f"{f', {hidden} not shown (first and last {half} kept)' if hidden else ''}</summary>{block}</details>")
        else:
            out.append('<p class="agws-note">HTTP transcript omitted: the report\'s transcript budget is spent; '
                       "re-run this test to see it.</p>")
    elif exchanges:
        out.append(f'<p class="agws-note">{len(exchanges) + dropped} exchange(s); transcripts of passing tests '
                   "appear with --agws-transcripts=all.</p>")
    out.append("</div>")
    return "".join(out)


def rerun_command(nodeid: str, options: list[str]) -> str:
    """The command that runs one test again with the same target options (never a secret)."""
    return " ".join(["python -m pytest", shlex.quote(nodeid), *map(shlex.quote, options)])
