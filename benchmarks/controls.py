"""Negative controls: three deliberately wrong gateways the suite must fail broadly.

A check that passes against a gateway that does nothing is a check that cannot fail. Each control
is a tiny stdlib HTTP server on loopback, tested through an ordinary target file (the mock's
accounts and payments, a fresh secret in the environment via ``secret_env``):

``empty-200``   answers every request with HTTP 200 and ``{}``;
``echo``        answers HTTP 200 with the request body (and its Content-Type);
``always-500``  answers every request with HTTP 500.

Against a control, no requirement may *pass* unless it only states the absence of a misbehaviour
that doing nothing also avoids (:data:`ABSENCE_RULES`, each with its reason).

    python benchmarks/controls.py            # runs the suite against all three; exit 1 if any passes
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Sequence

from agws_conformance.mock.data import mock_target_path
from agws_conformance.target import load_target

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection import SuiteRun, run_suite  # noqa: E402  (a sibling script, not a package)

SECRET_ENV = "AGWS_CONTROL_SECRET"

Answer = Callable[[str, bytes], tuple[int, str, bytes]]
"""(content type of the request, body) -> (HTTP status, content type, body)."""

CONTROLS: dict[str, Answer] = {
    "empty-200": lambda ctype, body: (200, "application/json", b"{}"),
    "echo": lambda ctype, body: (200, ctype or "application/json", body),
    "always-500": lambda ctype, body: (500, "text/plain; charset=utf-8", b"Internal Server Error"),
}

ABSENCE_RULES: dict[str, dict[str, str]] = {
    "empty-200": {
        "ENV-CONTENT-TYPE": "the control labels its {} application/json, which is all the rule asks",
        "ROB-RESPONSE-TIME": "answering at once is not evidence of anything, but it is what the rule asks",
        "ROB-NO-CRASH": "the rule is 'never a crash' (no 5xx without the envelope); a gateway that never answers 5xx satisfies it",
    },
    "echo": {
        "ROB-RESPONSE-TIME": "answering at once is what the rule asks",
        "ROB-NO-CRASH": "the rule is 'never a crash'; it never answers 5xx",
        "ENV-CONTENT-TYPE": "the echo answers with the request's Content-Type, application/json, as the rule asks",
    },
    "always-500": {
        "ROB-RESPONSE-TIME": "answering at once is what the rule asks",
    },
}
"""control -> requirement -> why a pass against this control is not a check that cannot fail."""


class ControlServer:
    """One control gateway on ``127.0.0.1:<free port>`` in a background thread."""

    def __init__(self, answer: Answer) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a real gateway

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, ctype, out = answer(self.headers.get("Content-Type", ""), body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

        class QuietServer(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the suite hangs up mid-upload on purpose (oversized bodies); not worth a traceback

        self._server = QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "ControlServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def target_file(path: Path, name: str, base_url: str) -> Path:
    """A target file for a control: the mock's identity, accounts and payments at ``base_url``."""
    mock = load_target(mock_target_path(), environ={"AGWS_MOCK_SECRET": "unused"})
    def q(value: str) -> str:  # a TOML basic string: JSON's escapes, but no \uD83D surrogate pairs
        return json.dumps(value, ensure_ascii=False)

    lines = ["[target]", f"name = {q(name)}", f"base_url = {q(base_url)}", f"agent = {q(mock.agent)}",
             f"project = {q(mock.project)}", f"service_code = {q(mock.service_code)}",
             f"secret_env = {q(SECRET_ENV)}", 'error_format = "auto"', ""]
    for a in mock.accounts:
        lines += ["[[accounts]]", f"username = {q(a.username)}", f"account_status = {a.account_status}"]
        lines += [f"category = {q(a.category)}"] if a.category else []
    for p in mock.payments:
        lines += ["[[payments]]", f"external_id = {q(p.external_id)}", f"status_code = {q(p.status_code)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class ControlResult:
    name: str
    exit_code: int
    verdict: str
    tests: dict[str, int]
    failing: list[str]  # requirements with status fail
    passing: list[str]  # requirements with status pass
    unexplained_passes: list[str]  # passes not in ABSENCE_RULES: checks that cannot fail
    problem: str | None = None

    @property
    def failed_broadly(self) -> bool:
        """Not conformant, with nearly every test that ran and at least ten requirements failing.

        Skipped tests (not applicable: no [write] table, a receiver's rules) are not counted. Since
        the rule families rest every refusal on its method's good request being served, a control
        that serves nothing fails those preconditions (SIG-ACCEPT-GO-BODY, CHK-ACCOUNT-FOUND, ...)
        rather than each rule: fewer distinct requirements, the same tests."""
        failed = self.tests.get("failed", 0)
        ran = self.tests.get("total", 0) - self.tests.get("skipped", 0)
        return self.exit_code == 1 and self.verdict == "NOT CONFORMANT" and len(self.failing) >= 10 \
            and failed >= 0.9 * max(1, ran)

    @property
    def ok(self) -> bool:
        """The suite failed the control broadly and no positive-evidence check passed."""
        return self.failed_broadly and not self.unexplained_passes


def run_control(name: str, extra_args: Sequence[str] = ()) -> ControlResult:
    """Run the whole suite against the control ``name``."""
    with ControlServer(CONTROLS[name]) as server, tempfile.TemporaryDirectory(prefix="agws-control-") as tmp:
        path = target_file(Path(tmp) / f"{name}.toml", f"control-{name}", server.url)
        env = dict(__import__("os").environ, **{SECRET_ENV: secrets.token_urlsafe(32)})
        # A short deadline: none of the controls stalls, and a harness time-out must not hide a pass.
        run: SuiteRun = run_suite(["--agws-target", str(path), "--agws-timeout", "5", *extra_args], env=env)
    if run.summary is None:
        return ControlResult(name, run.exit_code, "NO SUMMARY", {}, [], [], [], run.problem)
    cells = run.cells()
    passing = sorted(r for r, (_, status, _) in cells.items() if status == "pass")
    return ControlResult(name, run.exit_code, run.summary["verdict"], run.summary["counts"]["tests"],
                         sorted(r for r, (_, status, _) in cells.items() if status == "fail"), passing,
                         [r for r in passing if r not in ABSENCE_RULES[name]])


def run_controls(names: Sequence[str] = tuple(CONTROLS), jobs: int = 2) -> list[ControlResult]:
    """Run several controls, ``jobs`` at a time (each a fresh pytest process)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run_control, names))


def main(argv: Sequence[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(CONTROLS)
    ok = True
    for name, r in zip(names, run_controls(names), strict=True):
        ok &= r.ok
        print(f"{name}: exit {r.exit_code}, {r.verdict}; tests {r.tests}; {len(r.failing)} requirements fail, "
              f"{len(r.passing)} pass ({', '.join(r.passing) or 'none'}); "
              f"unexplained passes: {', '.join(r.unexplained_passes) or 'none'}" + (f"; {r.problem}" if r.problem else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
