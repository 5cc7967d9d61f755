"""HTML fragments for the pytest-html report: verdict banner, identity, requirement matrix,
errata, and per-test details (requirement chips, expected vs observed, transcripts, curl).

Pure functions returning strings; ``hooks.py`` feeds them to pytest-html. The target is
untrusted input: every value goes through :func:`esc` before it reaches markup, because
pytest-html inserts these fragments with ``innerHTML``.
"""

from __future__ import annotations

import base64
import html
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from agws_conformance.catalogue import Catalogue
from agws_conformance.endpoints import FAILED_STATUSES, FINAL_STATUSES, TRANSACTION_STATUSES
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
DEMO_WORDS = "DEMO RUN against the bundled mock: not evidence about any gateway"
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
.agws-v-incomplete{background:#6a1b9a}.agws-v-usage{background:#37474f}
.agws-v-mock{background:repeating-linear-gradient(135deg,#455a64 0 18px,#546e7a 18px 36px);border:4px dashed #ffca28}
.agws-v-mock .agws-mock{font-size:16px;display:block;margin:4px 0}.agws-v-mock b{padding:1px 6px;border-radius:3px}.agws-tl{display:block}.agws-setup{font-weight:bold;margin:4px 0}.agws-mock{font-weight:bold}
a.agws-c,a.agws-c-fail{display:inline-block;padding:0 4px;border-radius:3px;font:11px monospace;color:#fff;
background:#37474f;white-space:nowrap;margin:1px;text-decoration:none}a.agws-c-fail{background:#c62828}
.agws-chip{display:inline-block;padding:0 5px;border-radius:3px;font:11px monospace;color:#fff;
background:#777;white-space:nowrap;margin:1px}
.agws-pass{background:#2e7d32}.agws-fail{background:#c62828}.agws-warn{background:#b26a00}
.agws-info{background:#1565c0}.agws-skipped{background:#757575}.agws-error{background:#6a1b9a}
.agws-not-run,.agws-not-judged{background:#bdbdbd;color:#222}
.agws-lvl-must{background:#37474f}.agws-lvl-should{background:#6d4c41}.agws-lvl-info,.agws-lvl-may{background:#546e7a}
.agws-note{color:#555;font-size:12px;max-width:520px}.agws-area td{background:#eceff1;font-weight:bold}
.agws-x{border-left:3px solid #90a4ae;margin:6px 0;padding:2px 8px}
.agws-x pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;margin:3px 0;padding:4px;color:#222}
.agws-mm-pass{background:#c8e6c9}.agws-mm-fail{background:#ef9a9a}.agws-mm-warn{background:#ffe0b2}
.agws-mm-na{color:#999}.agws-mm-not-judged{background:#eee}.agws-mm-error,.agws-mm-skipped{background:#e1bee7}
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
    # A mock's run must never pass for a gateway's at a glance: its own colour and words first, the
    # verdict (what the suite concluded about the mock) second.
    head = (f'<span class="agws-verdict-text">{esc(DEMO_WORDS)}</span><span class="agws-mock">Ran against '
            f'{esc(which)}. The suite\'s verdict on the mock: <b class="agws-v-{VERDICT_CLASS[verdict]}">{esc(verdict)}</b>'
            + (f' <span class="agws-scope">({esc(scope)})</span>' if scope else "") + "</span><br>"
            if which else f'<span class="agws-verdict-text">{esc(verdict)}</span>'
            + (f'<span class="agws-scope">({esc(scope)})</span><br>' if scope else ""))
    colour = "mock" if which else VERDICT_CLASS[verdict]
    return (f'<div id="agws-verdict" class="agws-v-{colour}" data-verdict="{esc(verdict)}">{head}'
            + f'<span id="agws-side" data-side="{esc(side)}">{esc(SIDES.get(side, side))}</span><br>'
            + f'<span>{esc(meaning)}</span><br>{problems}'
            f'<span id="agws-level-counts">{esc(" · ".join(parts))}</span></div>')


def usage_banner(error: str, fix: str) -> str:
    """The banner of a run that stopped before any test: the mistake and its fix, nothing else
    (no matrix of "not run" rows that would read like a verdict)."""
    return (f'{STYLE}<div class="agws" id="agws-summary"><div id="agws-verdict" class="agws-v-usage" '
            f'data-verdict="USAGE ERROR"><span class="agws-verdict-text">USAGE ERROR: no test ran</span>'
            f'<span>{esc(error)}</span><br><span>Fix: {esc(fix)}</span><br>'
            '<span>This is not a conformance verdict: correct the run and start it again.</span></div></div>')


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
        if any(t.mock_pace for t in identity.targets):
            fields.append(("Mock's callback pace", lambda t: t.mock_pace or "as [callbacks] time_scale"))
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


STATUS_KIND = {**{c: "final" for c in FINAL_STATUSES - FAILED_STATUSES - {"3"}},
               **{c: "failed" for c in FAILED_STATUSES | {"3"}}}
"""How a payment status is coloured on a timeline: final (green), failed (red: failed, finished with
an error, cancelled), anything else intermediate (amber)."""
COLOURS = {"final": "#2e7d32", "failed": "#c62828", "intermediate": "#ef8f00", "answer": "#546e7a",
           "refused": "#8d6e63", "callback": "#1565c0", "callback-refused": "#c62828", "deadline": "#6a1b9a"}
SVG_WIDTH, SVG_HEIGHT, SVG_PAD = 380, 56, 12
LABEL_GAP = 44
"""Pixels between two callback labels on one line; closer ones take the second line."""


def status_words(status: object) -> str:
    """A status code with its documented name: ``7 (Transaction is in progress)``."""
    name = TRANSACTION_STATUSES.get(status) if isinstance(status, str) else None
    return f"{status} ({name})" if name else str(status)


def _event_colour(detail: Mapping[str, Any]) -> str:
    kind = detail.get("kind")
    if kind == "status":
        return COLOURS[STATUS_KIND.get(str(detail.get("status")), "intermediate")]
    if kind == "callback":
        answered = detail.get("answered")
        return COLOURS["callback" if isinstance(answered, int) and 200 <= answered < 300 else "callback-refused"]
    return COLOURS["answer" if detail.get("success") else "refused"]


def timeline_svg(p: Mapping[str, Any]) -> str:
    """A request's life as an inline SVG (no script): its answer (square), each status the status
    method reported (circle, coloured final / intermediate / failed, labelled with its code), each
    callback delivery (triangle, labelled with the receiver's answer and the interval since the
    previous one) and the final_within / callback within deadlines as dashed marks. Every shape
    has a tooltip with the event in words; the same events are listed in words below the picture."""
    events = [e for e in p.get("timeline") or () if isinstance(e, (list, tuple)) and len(e) >= 2]
    if not events:
        return ""
    last = max(float(e[0]) for e in events)
    deadlines = [(float(p["final_within"]), "final_within")] if p.get("final_within") else []
    final_at = next((float(e[0]) for e in events if len(e) > 2 and isinstance(e[2], Mapping)
                     and e[2].get("kind") == "status" and e[2].get("status") in FINAL_STATUSES), None)
    if p.get("callback_within") and final_at is not None:
        deadlines.append((final_at + float(p["callback_within"]), "callback within"))
    # The scale shows the events; a deadline far beyond them is named at the right edge instead.
    span = max(last * 1.15, 0.05)
    near = [d for d in deadlines if d[0] <= span * 4]
    if near:
        span = max(span, max(d[0] for d in near) * 1.02)
    width = SVG_WIDTH - 2 * SVG_PAD

    def x(t: float) -> float:
        return round(SVG_PAD + width * min(t, span) / span, 1)

    summary = f"timeline of {request_name(p)}: {len(events)} events over {last:g} s"
    out = [f'<svg class="agws-tl" width="{SVG_WIDTH}" height="{SVG_HEIGHT}" viewBox="0 0 {SVG_WIDTH} {SVG_HEIGHT}" '
           f'role="img"><title>{text(summary)}</title>'
           f'<line x1="{SVG_PAD}" y1="20" x2="{SVG_WIDTH - SVG_PAD}" y2="20" stroke="#bbb"/>'
           f'<text x="{SVG_PAD}" y="54" font-size="9" fill="#777">0 s</text>'
           f'<text x="{SVG_WIDTH - SVG_PAD}" y="54" font-size="9" fill="#777" text-anchor="end">{span:.3g} s</text>']
    named = [f"┆ {label} {at:g} s" for at, label in near] + \
        [f"{label} {at:g} s →" for at, label in deadlines if (at, label) not in near]
    for at, label in near:
        out.append(f'<line x1="{x(at)}" y1="2" x2="{x(at)}" y2="46" stroke="{COLOURS["deadline"]}" '
                   f'stroke-dasharray="3,2"><title>{text(f"{label} deadline: {at:g} s")}</title></line>')
    if named:
        out.append(f'<text x="{SVG_WIDTH // 2}" y="54" font-size="9" fill="{COLOURS["deadline"]}" '
                   f'text-anchor="middle">{text("  ".join(named))}</text>')
    label_x = {35: -1e9, 45: -1e9}  # the last callback label's x on each of the two label lines
    for event in events:
        at, words = float(event[0]), str(event[1])
        detail = event[2] if len(event) > 2 and isinstance(event[2], Mapping) else {"kind": "answer"}
        cx, colour, tip = x(at), _event_colour(detail), f"<title>{text(f'+{at:g} s {words}')}</title>"
        kind = detail.get("kind")
        if kind == "status":
            out.append(f'<circle cx="{cx}" cy="20" r="5" fill="{colour}">{tip}</circle>'
                       f'<text x="{cx}" y="11" font-size="9" text-anchor="middle">{text(detail.get("status") or "?")}</text>')
        elif kind == "callback":
            gap = detail.get("gap")
            label = f"{detail.get('answered')}" + (f" +{gap:.2g}s" if isinstance(gap, (int, float)) else "")
            line = 35 if cx - label_x[35] >= LABEL_GAP or cx - label_x[45] < LABEL_GAP and label_x[35] <= label_x[45] \
                else 45
            label_x[line] = cx
            out.append(f'<path d="M{cx - 5},26 L{cx + 5},26 L{cx},17 Z" fill="{colour}">{tip}</path>'
                       f'<text x="{cx}" y="{line}" font-size="9" text-anchor="middle" fill="{colour}">{text(label)}</text>')
        else:
            out.append(f'<rect x="{cx - 4}" y="16" width="8" height="8" fill="{colour}">{tip}</rect>')
    out.append("</svg>")
    listed = "".join(f"<li>+{float(e[0]):g} s {text(e[1])}</li>" for e in events)
    return "".join(out) + f"<details class=agws-note><summary>{len(events)} events in words</summary><ul>{listed}</ul></details>"


def request_name(p: Mapping[str, Any]) -> str:
    """What a request really was: its external_id, or for a request without one (a payment link)
    its method and its own request number."""
    external_id = str(p.get("external_id", ""))
    if external_id and external_id != "(none)":
        return external_id
    return f"{p.get('method') or 'request'} #{p.get('request', '?')} (no external_id)"


def payments_table(identity: RunIdentity) -> str:
    """Every cash-in, link and confirmation the run sent, per target, one row per request: what QA
    needs to find and reconcile test payments, and each one's life as a picture."""
    rows = [(t.name, p) for t in identity.targets for p in t.payments]
    if not rows:
        return ""
    created = sum(1 for _, p in rows if p.get("created"))
    multi = len(identity.targets) > 1
    users = sorted({str(p.get("username")) for _, p in rows if p.get("username")})
    accounts = (f" (account{'s' if len(users) > 1 else ''} {', '.join(users[:5])}"
                + (f" and {len(users) - 5} more" if len(users) > 5 else "") + ")") if users else ""
    accounts = text(accounts)
    legend = ('<p class="agws-note">Timeline: ■ the answer (grey: accepted, brown: refused); ● a status the status '
              'method reported (green final, amber intermediate, red failed); ▲ a callback delivery with the '
              'receiver\'s answer and the interval since the previous one; dashed: the final_within and callback '
              'within deadlines. Hover a mark for its words.</p>')
    out = [f'<h2>Payments sent by this run</h2><p>{len(rows)} requests that may move money, {created} accepted as '
           'payments (the others were refused, as the tests intended or not). Reconcile the accepted ones by '
           f'external_id{accounts}.</p>{legend}']
    lived = [(n, p) for n, p in rows if p.get("created") or len(p.get("timeline") or ()) > 1]
    refused = [(n, p) for n, p in rows if (n, p) not in lived]
    head = ("<tr>" + ("<th>Target</th>" if multi else "") + "<th>Request</th><th>Amount</th><th>Why (test)</th>"
            "<th>Answer</th><th>Last status</th>{}</tr>")
    out.append('<table id="agws-payments">' + head.format("<th>Timeline</th>")
               + "".join(_payment_row(n, p, multi, picture=True) for n, p in lived) + "</table>")
    if refused:
        out.append(f"<details id=agws-refused><summary>{len(refused)} requests refused at once (no payment made: "
                   "their answer is their whole story)</summary><table>" + head.format("")
                   + "".join(_payment_row(n, p, multi, picture=False) for n, p in refused) + "</table></details>")
    return "".join(out)


def _payment_row(target: str, p: Mapping[str, Any], multi: bool, *, picture: bool) -> str:
    amount = p.get("amount")
    amount_text = f"{amount:g}" if isinstance(amount, (int, float)) else p.get("amount_json") or "-"
    status = p.get("status") or p.get("status_json") or ("-" if not p.get("created") else "unknown")
    name, method = request_name(p), p.get("method") or ""
    who = f"<code>{text(name)}</code>" + (f"<br><span class=agws-note>{text(method)}</span>"
                                           if method and name == p.get("external_id") else "")
    return ("<tr>" + (f"<td>{text(target)}</td>" if multi else "") + f"<td>{who}</td><td>{text(amount_text)}</td>"
            f"<td>{text(p.get('why', ''))}<br><code class=agws-note>{breakable(p.get('test', ''))}</code></td>"
            f"<td><code>{breakable(p.get('answer', ''))}</code></td><td>{text(status_words(status))}</td>"
            + (f"<td>{timeline_svg(p) or '-'}</td>" if picture else "") + "</tr>")


def breakable(words: object) -> str:
    """Escaped text that a narrow column may wrap after a JSON comma or a path separator (never
    inside a word)."""
    return text(words).replace(",", ",<wbr>").replace("::", "::<wbr>").replace("/", "/<wbr>")


def _cell(status: str, tests: list[str], messages: list[str]) -> str:
    """One requirement's result on one target: a pass is its chip and how many tests proved it (the
    tests are in the rows below and the JSON); anything else says why and which tests."""
    out = [chip(status, status)]
    if status in ("pass", "n/a"):
        if tests:
            out.append(f" <span class=agws-note>{len(tests)} test{'s' if len(tests) != 1 else ''}</span>")
        return "".join(out)
    for m in list(dict.fromkeys(messages))[:2]:
        text, cut = clip(m, 200)
        out.append(f"<div class=agws-note>{esc(text)}{'…' if cut else ''}</div>")
    if tests:
        listed = "".join(f"<li><code>{esc(t)}</code></li>" for t in sorted(tests)[:TESTS_LISTED])
        more = f"<li>and {len(tests) - TESTS_LISTED} more</li>" if len(tests) > TESTS_LISTED else ""
        out.append(f"<details><summary>{len(tests)} test{'s' if len(tests) != 1 else ''}</summary>"
                   f"<ul>{listed}{more}</ul></details>")
    return "".join(out)


def row_chips(declared: Iterable[str], failed: Iterable[str], shown: int = 3) -> str:
    """A results-table row's requirements: the failed ones first (red), then the first few others
    (coloured by result of the row, linked to their matrix rows); the rest counted. Compact markup:
    every row travels JSON-escaped in one attribute of the page."""
    failed = list(dict.fromkeys(failed))
    others = [r for r in dict.fromkeys(declared) if r not in failed]
    out = [f"<a href=#req-{esc(r)} class=agws-c-fail>{esc(r)}</a>" for r in failed]
    out += [f"<a href=#req-{esc(r)} class=agws-c>{esc(r)}</a>" for r in others[:shown]]
    if len(others) > shown:
        out.append(f"+{len(others) - shown}")
    return " ".join(out)


def compact_cell(cell: str) -> str:
    """pytest-html's own cells (``<td class="col-result">``) with the quotes dropped."""
    return re.sub(r'class="([\w-]+)"', r"class=\1", cell)


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
            cells = "".join(f"<td class=agws-mm-{esc(c['status'].replace(' ', '-').replace('/', ''))}"
                            + (f' title="{esc(c["note"])}"' if c.get("note") and c["status"] != "pass" else "")
                            + f">{text(c['status'])}</td>" for c in (row["cells"][m] for m in methods))
            out.append(f'<tr><td><a href="#req-{esc(row["id"])}"><code>{esc(row["id"])}</code></a></td>{cells}</tr>')
        out.append("</table>")
    return "".join(out)


def listed_tests(results: Results) -> str:
    """The passed tests by suite file and the skipped ones by reason, folded: the results table
    below holds only what needs a look (failures, warnings, errors). A passed test's findings and
    exchanges are in the JSON summary (--agws-json); --agws-transcripts=all puts every row back."""
    by_file: dict[str, list[str]] = {}
    by_reason: dict[str, list[str]] = {}
    for t in results.tests.values():
        if t.outcome == "passed":
            path, _, name = t.nodeid.partition("::")
            by_file.setdefault(path, []).append(name)
        elif t.outcome == "skipped":
            by_reason.setdefault(t.message.removeprefix("Skipped: ") or "no reason given", []).append(t.nodeid)
    out = []
    if by_file:
        total = sum(len(v) for v in by_file.values())
        out.append(f'<h2 id="agws-passed">Tests passed ({total})</h2><p class=agws-note>Listed here; a row of the '
                   "results table only when it reports an INFO observation (the table holds what needs a look). "
                   "Each passed test's outcome is in the JSON summary, and --agws-transcripts=all makes every test "
                   "a row with its findings and transcript.</p>")
        out += [f"<details><summary><code>{text(path)}</code>: {len(names)}</summary><p class=agws-note>"
                + " · ".join(text(n) for n in names) + "</p></details>" for path, names in sorted(by_file.items())]
    if by_reason:
        total = sum(len(v) for v in by_reason.values())
        out.append(f'<h2 id="agws-skipped">Tests skipped ({total}), by reason</h2>')
        out += [f"<details><summary>{len(ids)}: {text(reason)}</summary><p class=agws-note>"
                + " · ".join(text(i) for i in ids) + "</p></details>"
                for reason, ids in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))]
    return "".join(out)


def rerun_pattern(options: list[str] | None) -> str:
    """How to run any one test of the report again, once (the rows of failures repeat it per test)."""
    return (f'<p class=agws-note id="agws-rerun">Re-run one test: <code>{text(rerun_command("NODE_ID", options))}'
            "</code> (NODE_ID: the test's name in the results table).</p>") if options is not None else ""


def errata_section(catalogue: Catalogue) -> str:
    out = [f'<h2>Errata resolved ({len(catalogue.errata)})</h2>'
           '<p class="agws-note">Where the AGWS documents contradict themselves, and the reading this suite takes.</p>'
           '<table id="agws-errata"><tr><th>Erratum</th><th>Decision</th><th>Affects</th></tr>']
    for e in catalogue.errata.values():
        out.append(f'<tr><td><code>{esc(e.id)}</code><br>{esc(e.title)}</td><td>{esc(e.decision)}</td>'
                   f'<td>{requirement_chips(e.requirements, catalogue)}</td></tr>')
    out.append("</table>")
    return "".join(out)


REASON_HEADINGS = {"interrupted": "Interrupted", "failed": "Failed", "harness": "Harness error", "skipped": "Skipped", "not run": "Not run",
                   "deselected": "Deselected", "usage": "Usage error"}


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
                  document: Mapping[str, Any] | None = None, rerun: list[str] | None = None) -> str:
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
            + rerun_pattern(rerun)
            + identity_tables(identity, results.counts() | {"total": len(results.tests)})
            + requirement_matrix(results, catalogue, targets) + method_matrix(document["method_matrix"])
            + listed_tests(results) + errata_section(catalogue) + "</div>")


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
        return f"skipped: {fallback.removeprefix('Skipped: ')}"
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
        if outcome == "passed" and not show_transcript:  # its row is for its INFO observations (not --agws-transcripts=all)
            limit = min(limit, sum(1 for f in findings if f.get("outcome") != "pass"))
        out.append("<ul>")
        for f in judged[:limit]:
            message, cut = clip(str(f.get("message", "")), 1000)
            out.append(f"<li>{chip(f.get('outcome', ''), f.get('outcome', ''))} <code>{text(f.get('requirement'))}</code> "
                       f"{text(message)}{'…' if cut else ''}</li>")
        if len(judged) > limit:
            out.append(f"<li>and {len(judged) - limit} more findings"
                       + (" (passed checks; in the JSON summary's tests[].judged)" if outcome == "passed"
                          and not show_transcript else "")
                       + "</li>")
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
    return " ".join(["python -m pytest", nodeid if nodeid == "NODE_ID" else shlex.quote(nodeid),
                     *map(shlex.quote, options)])
