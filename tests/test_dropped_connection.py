"""A request that must be refused, answered by a dropped connection (issue 23, item 8): ROB-NO-CRASH
failed when the next valid request is served, harness trouble when it is not."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from agws_conformance.errors import HarnessError
from agws_conformance.findings import ConformanceFailure
from agws_conformance.mock import embedded_target
from agws_conformance.plugin.context import Agws
from agws_conformance.plugin.run import BoundTarget
from agws_conformance.transcript import Redactor


class _Client:
    """Drops the first request; then serves (``recovers``) or keeps dropping."""

    def __init__(self, recovers: bool) -> None:
        self.recovers = recovers
        self.calls = 0

    def request(self, method: str, path: str, *, content: bytes, headers: Any) -> Any:
        self.calls += 1
        if self.calls == 1 or not self.recovers:
            raise HarnessError("connection-reset", "the connection was closed before any response")
        body = {"status": True, "status_code": 0, "message": "Success", "result": {"account_status": 1}}
        return SimpleNamespace(status=200, json=body, json_error=None, body=json.dumps(body).encode(), elapsed=0.01,
                               headers={"content-type": "application/json"})


def _agws(client: _Client) -> Agws:
    bound = BoundTarget(name="mock", target=embedded_target(), client=client)  # type: ignore[arg-type]
    run = SimpleNamespace(redactor=Redactor(()), settings=SimpleNamespace(timeout=10.0, strict=False), journal=None)
    return Agws(run, bound, "test")  # type: ignore[arg-type]


def test_drop_then_served_is_a_crash() -> None:
    agws = _agws(_Client(recovers=True))
    with pytest.raises(ConformanceFailure) as failed:
        agws.send("user/check", content=b'{"agent": ', signature="0" * 64, must_refuse="a body that is not JSON")
    assert failed.value.finding.requirement == "ROB-NO-CRASH"
    assert "dropped" in failed.value.finding.message and "served" in failed.value.finding.message


def test_drop_then_nothing_served_is_harness_trouble() -> None:
    agws = _agws(_Client(recovers=False))
    with pytest.raises(HarnessError):
        agws.send("user/check", content=b'{"agent": ', signature="0" * 64, must_refuse="a body that is not JSON")


def test_drop_of_a_request_that_may_be_served_is_harness_trouble() -> None:
    agws = _agws(_Client(recovers=True))
    with pytest.raises(HarnessError):
        agws.send("user/check", content=b'{"agent": "a"}')


def test_writing_methods_are_probed_with_a_read_only_request() -> None:
    client = _Client(recovers=True)
    seen: list[str] = []
    original = client.request

    def request(method: str, path: str, **kwargs: Any) -> Any:
        seen.append(path)
        return original(method, path, **kwargs)

    client.request = request  # type: ignore[method-assign]
    agws = _agws(client)
    with pytest.raises(ConformanceFailure):
        agws.send("action/cash-in", content=b"[]", signature="0" * 64, must_refuse="a body that is not an object")
    assert seen[0].endswith("/action/cash-in") and seen[1].endswith("/user/check")
