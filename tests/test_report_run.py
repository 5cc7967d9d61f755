"""Whole runs of the suite, as a release pipeline and a partner see them: JUnit mapping, JSON
summary, the HTML report in a real browser, multi-target matrices and secret hygiene.

Each run is a subprocess (``python -m pytest``), exactly how CI invokes the suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agws_conformance.mock.data import mock_target_path
from agws_conformance.mock.server import MockServer
from agws_conformance.report.summary import summary_errors
from agws_conformance.target import load_target
from suite_runs import REPO as ROOT
from suite_runs import run_pytest
GOLDEN = Path(__file__).parent / "golden"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CANARY = "CANARY-9d1e4b7c-do-not-leak"
HOSTILE = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"

SYNTHETIC_SUITE = f'''
import pytest
from agws_conformance.client import HarnessError

@pytest.mark.requirement("HTTP-200-SUCCESS")
def test_pass(agws):
    resp = agws.send("user/check")
    agws.check(resp.status == 200, "HTTP-200-SUCCESS", f"expected HTTP 200, observed {{resp.status}}")

@pytest.mark.requirement("ENV-SHAPE")
def test_fail(agws):
    agws.send("user/check")
    agws.check(False, "ENV-SHAPE", "expected a JSON object, observed " + {HOSTILE!r})

@pytest.mark.requirement("ENV-CONTENT-TYPE")
def test_warn(agws):
    agws.check(False, "ENV-CONTENT-TYPE", "expected application/json, observed text/plain")

@pytest.mark.requirement("ROB-RESPONSE-TIME")
def test_harness(agws):
    raise HarnessError("timeout", "no answer within 10 s from the target")

@pytest.mark.requirement("STS-PAYMENT-FOUND")
def test_skip(agws):
    pytest.skip("target configures no [[payments]] entry")
'''


def run_in(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pytest in a folder of its own: no ini file from the checkout, the plugin named explicitly."""
    return run_pytest("--rootdir", cwd, "-c", os.devnull, "-p", "agws_conformance.plugin", *args, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic suite against the embedded mock: pass, fail, warn, harness error, skip."""
    folder = tmp_path_factory.mktemp("synthetic")
    (folder / "test_synthetic.py").write_text(SYNTHETIC_SUITE, encoding="utf-8")
    done = run_in(folder, "test_synthetic.py", "--html=report.html", "--junitxml=junit.xml",
                      "--agws-json=summary.json", "--hypothesis-seed=1234")
    assert done.returncode == 1, done.stdout + done.stderr
    (folder / "stdout.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    return folder


def junit_skeleton(path: Path) -> list[dict]:
    out = []
    for case in ET.parse(path).iter("testcase"):
        out.append({"name": case.get("name"),
                    "elements": [c.tag for c in case if c.tag != "properties"],
                    "properties": [[p.get("name"), p.get("value")] for p in case.iter("property")]})
    return out


def test_junit_maps_nonconformance_to_failure_and_harness_to_error(synthetic_run: Path) -> None:
    skeleton = junit_skeleton(synthetic_run / "junit.xml")
    by_name = {c["name"]: c for c in skeleton}
    assert by_name["test_fail"]["elements"] == ["failure"]
    assert by_name["test_harness"]["elements"] == ["error"]
    assert by_name["test_pass"]["elements"] == [] and by_name["test_warn"]["elements"] == []
    assert ["requirement", "ENV-SHAPE"] in by_name["test_fail"]["properties"]
    golden = GOLDEN / "report-junit.json"
    if os.environ.get("AGWS_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(skeleton, indent=2) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert skeleton == expected


def test_json_summary_of_a_run(synthetic_run: Path) -> None:
    summary = json.loads((synthetic_run / "summary.json").read_text(encoding="utf-8"))
    assert summary_errors(summary) == []
    assert (summary["verdict"], summary["exit_status"]) == ("NOT CONFORMANT", 1)
    assert summary["counts"]["tests"] == {"passed": 1, "failed": 1, "warn": 1, "skipped": 1, "error": 1, "total": 5}
    assert summary["run"]["hypothesis_seed"] == "1234" and summary["run"]["request_count"] == 2 + summary["targets"][0]["preflight"]["requests"]
    status = {r["id"]: r["results"]["mock"]["status"] for r in summary["requirements"]}
    assert (status["ENV-SHAPE"], status["ENV-CONTENT-TYPE"], status["ROB-RESPONSE-TIME"],
            status["STS-PAYMENT-FOUND"], status["HTTP-200-SUCCESS"]) == ("fail", "warn", "error", "skipped", "pass")
    assert summary["targets"][0]["embedded_mock"] is True


def test_html_report_structure(synthetic_run: Path) -> None:
    page = (synthetic_run / "report.html").read_text(encoding="utf-8")
    assert not (synthetic_run / "assets").exists(), "the report must be one self-contained file"
    assert ("<title id=\"head-title\">AGWS conformance report: DEMO RUN against the embedded mock, not evidence "
            "about any gateway (NOT CONFORMANT on the mock)</title>") in page
    assert page.index('id="agws-verdict"') < page.index('id="agws-matrix"') < page.index('id="agws-errata"')
    assert 'id="req-ENV-SHAPE"' in page and "Hypothesis seed</th><td>1234" in page
    assert "onerror=" not in page.replace("&amp;", "&").replace("&lt;img src=x onerror=", "")
    # The per-test data blob carries the transcript, curl and re-run command of the failure.
    blob = page.replace("&#34;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    assert "agws-transcript" in blob and "curl -sS -i" in blob and "python -m pytest" in blob
    assert "test_synthetic.py::test_harness (harness error)" in blob


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_renders_banner_and_failing_requirement(tmp_path: Path) -> None:
    """A run against a faulty mock, opened in headless Chromium: banner, failing ID, no script ran."""
    import dataclasses

    from agws_conformance.mock import MockServer, embedded_target
    from agws_conformance.target import Secret

    suite = tmp_path / "test_synthetic.py"
    suite.write_text(SYNTHETIC_SUITE, encoding="utf-8")
    mock = dataclasses.replace(embedded_target(), secret=Secret(CANARY))
    with MockServer(mock, faults=["accept-any-signature"]) as server:
        done = run_in(tmp_path, str(ROOT / "suites" / "test_rules_signature.py"), str(suite),
                          "--agws-base-url", server.url, "--agws-agent", mock.agent, "--agws-project", mock.project,
                          "--agws-service-code", mock.service_code, "--html=report.html",
                          env={"AGWS_SECRET": CANARY})
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    # The faulty gateway is the bundled mock served standalone: a DEMO banner, the verdict on the mock second.
    banner = re.search(r'<div id="agws-verdict" class="agws-v-mock" data-verdict="([^"]+)"><span '
                       r'class="agws-verdict-text">([^<]+)</span>', dom)
    assert banner and banner.groups() == ("NOT CONFORMANT", "DEMO RUN against the bundled mock: not evidence about "
                                                            "any gateway"), dom[:3000]
    assert re.search(r'<tr id="req-SIG-REJECT-WRONG-SECRET">.*?data-status="fail"', dom)
    # Rendered by pytest-html's JavaScript: the failing row with its requirement chip.
    assert re.search(r'<tbody class="results-table-row failed"[^>]*>\s*<tr[^>]*>.*?SIG-REJECT-', dom, re.S)
    assert 'data-pwned="1"' not in dom and '<img src="x"' not in dom
    assert "&lt;img src=x onerror=" in dom
    # Top-down: the verdict, then what failed, then the identity and the matrix.
    assert dom.index('id="agws-verdict"') < dom.index('id="agws-failed"') < dom.index('id="agws-run"') \
        < dom.index('id="agws-matrix"')
    failed = dom[dom.index('id="agws-failed"'):dom.index("</table>", dom.index('id="agws-failed"'))]
    links = re.findall(r'href="#(req-[A-Z0-9-]+)"', failed)
    assert "req-SIG-REJECT-WRONG-SECRET" in links and all(f'id="{link}"' in dom for link in links)
    assert CANARY not in dom and CANARY not in (tmp_path / "report.html").read_text(encoding="utf-8")


def chromium_dom(html: Path, profile: Path) -> str:
    """The page as headless Chromium renders it (pytest-html's script included)."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--virtual-time-budget=5000", "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=120).stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_chromium_renders_payments_as_timelines_with_nothing_local(tmp_path: Path) -> None:
    """The embedded mock's payment suites, opened in headless Chromium (issue 26): a DEMO banner,
    an SVG timeline per payment (a callback answered 500 twice shows both), a row per link request,
    answers as whole JSON fields, and no absolute path, Python repr or cut word anywhere."""
    out = tmp_path / "out"
    out.mkdir()
    done = run_pytest(ROOT / "suites" / "test_callbacks.py", ROOT / "suites" / "test_confirm_and_links.py",
                      "--hypothesis-seed=0", f"--html={out / 'report.html'}", f"--agws-json={out / 'summary.json'}",
                      cwd=ROOT)
    assert done.returncode in (0, 10), done.stdout[-3000:] + done.stderr[-3000:]
    dom = chromium_dom(out / "report.html", tmp_path / "profile")
    assert 'class="agws-v-mock"' in dom and "DEMO RUN against the bundled mock" in dom
    assert "<title" in dom and "DEMO RUN against the embedded mock" in dom
    payments = json.loads((out / "summary.json").read_text(encoding="utf-8"))["targets"][0]["payments"]
    created = [p for p in payments if p["created"]]
    assert created and dom.count('<svg class="agws-tl"') >= len(created)
    # One row per link request: each link's timeline holds its own answer only, never the others'.
    links = [p for p in payments if p.get("method") == "action/link"]
    assert links and all(len(p["timeline"]) == 1 for p in links if p["external_id"] == "(none)")
    assert all(f"action/link #{p['request']} (no external_id)" in dom for p in links if p["external_id"] == "(none)")
    retried = next(p for p in payments if p["test"].endswith("test_callback_retried_until_200") and p["created"])
    row = dom[dom.index(f"<code>{retried['external_id']}</code>"):]
    svg = row[row.index("<svg"):row.index("</svg>")]
    assert svg.count(">500") >= 2 and ">200" in svg, svg
    # Nothing local, nothing Python, nothing cut inside a word.
    for local in (str(ROOT), str(tmp_path), str(Path.home())):
        assert local not in dom, local
    assert not re.search(r"\{'[a-z_.]+': |': (True|False|None)\b|Skipped: |\('/", dom)
    answers = re.findall(r"<td><code>HTTP \d{3} (\{[^<]*\})</code></td>", dom.replace("<wbr>", ""))
    assert len(answers) >= len(created)
    for answer in answers:
        json.loads(answer.replace(",...}", "}"))  # whole fields only: the JSON still parses


class _Leaky(BaseHTTPRequestHandler):
    """A gateway that leaks the secret it shares with us in every answer (the worst case)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"status": True, "status_code": 0, "message": f"debug: secret={CANARY}",
                           "result": {"echo": CANARY}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Debug-Secret", CANARY)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _target_file(folder: Path, name: str, url: str) -> Path:
    text = mock_target_path().read_text(encoding="utf-8")
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', text, count=1)
    text = re.sub(r'(?m)^base_url = ".*"$', f'base_url = "{url}"', text, count=1)
    text = re.sub(r'(?m)^secret_env = ".*"$', 'secret_env = "AGWS_CANARY_SECRET"', text, count=1)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_canary_secret_never_reaches_an_artifact(tmp_path: Path) -> None:
    """One multi-target run (passing mock, faulty mock, leaky gateway) with a canary secret:
    the canary appears in no artifact (stdout, HTML, JUnit, JSON, Hypothesis files), and the
    report shows the three targets side by side."""
    env = {"AGWS_CANARY_SECRET": CANARY}
    template = load_target(_target_file(tmp_path, "template", "http://127.0.0.1:1"), environ=env)
    leaky = ThreadingHTTPServer(("127.0.0.1", 0), _Leaky)
    threading.Thread(target=leaky.serve_forever, daemon=True).start()
    with MockServer(template) as good, MockServer(template, faults=["accept-any-signature"]) as bad:
        files = [_target_file(tmp_path, "passing", good.url), _target_file(tmp_path, "faulty", bad.url),
                 _target_file(tmp_path, "leaky", f"http://127.0.0.1:{leaky.server_port}")]
        artifacts = tmp_path / "out"
        done = run_in(tmp_path, str(ROOT / "suites" / "test_rules_signature.py"),
                          str(ROOT / "suites" / "test_rules_envelope.py"),
                          str(ROOT / "suites" / "test_confirm_and_links.py"), "-v", "-rA",
                          *[a for f in files for a in ("--agws-target", str(f))],
                          f"--html={artifacts / 'report.html'}", f"--junitxml={artifacts / 'junit.xml'}",
                          f"--agws-json={artifacts / 'summary.json'}", "--agws-transcripts=all", env=env)
    leaky.shutdown()
    leaky.server_close()
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    (tmp_path / "stdout.txt").write_text(done.stdout + done.stderr, encoding="utf-8")
    scanned = 0
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.name.endswith(".toml") and path.name != "stdout.txt":
            scanned += 1
            assert CANARY.encode() not in path.read_bytes(), f"the canary secret leaked into {path}"
    assert scanned >= 3
    # The payments journal (links and confirmations, to every target, the leaky one too) is scanned above.
    logged = [json.loads(line) for line in (artifacts / "agws-payments.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {e["target"] for e in logged if e["event"] == "sent"} == {"passing", "faulty", "leaky"}
    assert {e["method"] for e in logged if e["event"] == "sent"} >= {"action/link", "action/confirm/invoice"}
    summary = json.loads((artifacts / "summary.json").read_text(encoding="utf-8"))
    verdicts = {t["name"]: t["verdict"] for t in summary["targets"]}
    assert verdicts["faulty"] == verdicts["leaky"] == "NOT CONFORMANT" and verdicts["passing"] != "NOT CONFORMANT"
    page = (artifacts / "report.html").read_text(encoding="utf-8")
    assert re.search(r'<table id="agws-matrix"><tr><th>ID</th><th>Level</th><th>Requirement</th>'
                     r'<th>faulty</th><th>leaky</th><th>passing</th></tr>', page)
    assert "[REDACTED]" in page
    stdout = (tmp_path / "stdout.txt").read_text(encoding="utf-8")
    assert CANARY not in stdout
