"""The inspector's report: the integrator's client judged by the requests the mock received.

Its own small renderer (the gateway report is pytest-html's page with our fragments), with the
gateway report's verdict words, colours and chips (``html.py``) so both sides read alike. Input is
:meth:`agws_conformance.inspector.Inspector.document`; every value the client sent is escaped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from .html import STYLE, VERDICT_CLASS, VERDICT_MEANING, chip, clip, esc

REQUESTS_SHOWN = 200
"""Requests listed in the HTML (all kept ones are in the JSON)."""


def _banner(doc: Mapping[str, Any]) -> str:
    verdict = doc["verdict"]
    dropped = f" ({doc['requests_dropped']} beyond the first {doc['requests_kept']} counted, not kept)" \
        if doc["requests_dropped"] else ""
    return (f'<div id="agws-verdict" class="agws-v-{VERDICT_CLASS[verdict]}">'
            f'<span class="agws-verdict-text">{esc(verdict)}</span>'
            f'<span class="agws-mock">Side judged: {esc(doc["side"])} (the requests it sent to the inspecting '
            f'mock; the gateway signs as {esc(doc["gateway_variant"])})</span><br>'
            f'<span>{esc(VERDICT_MEANING[verdict])}</span><br>'
            f'<span>{doc["requests_seen"]} request(s) from {esc(doc["started"])} to {esc(doc["written"])}'
            f'{esc(dropped)}</span></div>')


def _requirements(doc: Mapping[str, Any]) -> str:
    out = ["<h2>Requirements</h2><table id=\"agws-matrix\"><tr><th>ID</th><th>Level</th><th>Requirement</th>"
           "<th>Result</th><th>Requests (pass / fail / info)</th></tr>"]
    for r in doc["requirements"]:
        counts = r["counts"]
        out.append(f'<tr id="req-{esc(r["id"])}"><td><code>{esc(r["id"])}</code></td>'
                   f'<td>{chip(r["level"], "lvl-" + r["level"].lower())}</td><td>{esc(r["summary"])}</td>'
                   f'<td data-status="{esc(r["status"])}">{chip(r["status"], r["status"])}</td>'
                   f'<td>{counts["pass"]} / {counts["fail"]} / {counts["info"]}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _diagnoses(doc: Mapping[str, Any]) -> str:
    if not doc["signature_diagnoses"]:
        return ""
    out = ["<h2>Why the signatures were wrong</h2><table id=\"agws-diagnoses\"><tr><th>Diagnosis</th>"
           "<th>Requests</th><th>First</th><th>What the client did</th><th>Fix</th></tr>"]
    for d in doc["signature_diagnoses"]:
        out.append(f'<tr><td><code>{esc(d["diagnosis"])}</code></td><td>{d["count"]}</td>'
                   f'<td><a href="#request-{d["first_request"]}">#{d["first_request"]}</a></td>'
                   f'<td>{esc(d["title"] or "")}</td><td>{esc(d["fix"] or "")}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _request(r: Mapping[str, Any]) -> str:
    worst = "fail" if any(f["outcome"] == "fail" for f in r["findings"]) else "pass"
    chips = " ".join(chip(f'{f["requirement"]} {f["outcome"]}', f["outcome"]) for f in r["findings"])
    notes = "".join(f'<div class="agws-note">{esc(f["requirement"])}: {esc(clip(f["message"], 600)[0])}</div>'
                    for f in r["findings"] if f["message"])
    sig = r.get("signature") or {}
    canonical = ""
    if sig.get("canonical") is not None and sig.get("verdict") != "correct":
        canonical = f'<div>should have signed (canonical form):<pre>{esc(clip(sig["canonical"], 4096)[0])}</pre></div>'
    body = "" if r["body"] is None else \
        f'<div>body{" (clipped)" if r["body_clipped"] else ""}:<pre>{esc(r["body"])}</pre></div>'
    code = "" if r["status_code"] is None else f' status_code {r["status_code"]}'
    return (f'<div class="agws-x" id="request-{r["n"]}" data-outcome="{worst}"><b>#{r["n"]}</b> '
            f'<code>{esc(r["method"])} {esc(r["path"])}</code> → HTTP {r["http_status"]}{code} '
            f'<span class="agws-note">{esc(r["at"])}</span><br>{chips}{notes}{canonical}{body}</div>')


def render_html(doc: Mapping[str, Any]) -> str:
    """A standalone HTML page (no script, no external resource)."""
    shown = doc["requests"][:REQUESTS_SHOWN]
    more = len(doc["requests"]) - len(shown)
    listed = "".join(_request(r) for r in shown)
    if more:
        listed += f"<p>{more} more request(s) kept in the JSON report.</p>"
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>AGWS integrator client report</title>"
            f"{STYLE}</head><body><div class=\"agws\"><h1>AGWS integrator client report</h1>{_banner(doc)}"
            f"{_requirements(doc)}{_diagnoses(doc)}<h2>Requests</h2>{listed}</div></body></html>\n")


def render_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically: a report read while the mock writes it is never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_reports(doc: Mapping[str, Any], html_path: Path | None, json_path: Path | None) -> list[Path]:
    """Write the requested reports; returns the paths written."""
    written = []
    if html_path is not None:
        _write(html_path, render_html(doc))
        written.append(html_path)
    if json_path is not None:
        _write(json_path, render_json(doc))
        written.append(json_path)
    return written
