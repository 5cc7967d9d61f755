"""Negative controls: gateways that do nothing useful must fail the suite broadly
(benchmarks/controls.py). A check that passes against them is a check that cannot fail."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

controls = load_benchmark("controls")


@pytest.mark.parametrize("name,status,body", [("empty-200", 200, b"{}"), ("echo", 200, b'{"a":"<b>"}'),
                                              ("always-500", 500, b"Internal Server Error")])
def test_control_servers_answer_as_documented(name: str, status: int, body: bytes) -> None:
    with controls.ControlServer(controls.CONTROLS[name]) as server, httpx.Client(base_url=server.url) as client:
        for method in ("POST", "GET"):
            resp = client.request(method, "/showcase-gateway/api/v1/user/check", content=b'{"a":"<b>"}',
                                  headers={"Content-Type": "application/json"})
            assert resp.status_code == status
            if method == "POST":
                assert resp.content == body


def test_target_file_carries_the_mock_data_but_no_secret(tmp_path: Path) -> None:
    path = controls.target_file(tmp_path / "c.toml", "control-x", "http://127.0.0.1:9")
    text = path.read_text(encoding="utf-8")
    assert 'secret_env = "AGWS_CONTROL_SECRET"' in text and "driver🚗42" in text
    from agws_conformance.target import load_target

    target = load_target(path, environ={"AGWS_CONTROL_SECRET": "s" * 32})
    assert target.base_url == "http://127.0.0.1:9" and len(target.accounts) == 10 and len(target.payments) == 10


# One test per control, both judgments on its one run: a module fixture shared by several tests is
# computed again on each pytest-xdist worker that runs one of them (~9 CPU-seconds a run).
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(controls.CONTROLS))
def test_control_fails_the_suite_broadly_and_passes_no_positive_evidence_check(name: str) -> None:
    r = controls.run_control(name)
    assert r.problem is None, r.problem
    assert r.failed_broadly, f"{name}: exit {r.exit_code}, {r.verdict}, tests {r.tests}, failing {r.failing}"
    assert not r.unexplained_passes, f"checks that pass against a gateway doing nothing: {r.unexplained_passes}"
