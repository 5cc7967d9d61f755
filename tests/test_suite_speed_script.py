"""benchmarks/suite_speed.py measures what it says: its bare loop sends correctly signed requests
the gateway serves (not 1014 refusals, which would flatter the loop), to a standalone mock that it
starts and stops. No figure is asserted: speed lives in benchmarks/ only."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import httpx
import pytest

try:
    from benchmark_scripts import load_benchmark
except ImportError:  # run from the repository root as a package
    from tests.benchmark_scripts import load_benchmark

suite_speed = load_benchmark("suite_speed")


def test_the_bare_loop_sends_served_requests_to_a_standalone_mock(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    secret = secrets.token_urlsafe(24)
    monkeypatch.setenv(suite_speed.SECRET_ENV, secret)
    prepared = suite_speed.bodies(40, secret)
    assert len({body for _, body, _ in prepared}) == 40
    with suite_speed.standalone_mock(tmp_path) as (url, target):
        assert target.is_file() and url in target.read_text(encoding="utf-8")
        with httpx.Client(base_url=url) as client:
            codes = {json.loads(client.post(path, content=body, headers={"X-Signature": signature}).content)
                     .get("status_code") for path, body, signature in prepared}
        assert 1014 not in codes and codes <= {0, 1407, 1041}, codes
        result = suite_speed.bare_loop(url, secret, 40)
    assert result["requests"] == 40 and result["seconds"] > 0
    assert os.environ[suite_speed.SECRET_ENV] == secret
