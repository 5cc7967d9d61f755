"""Drive the Go reference signer (``main.go`` beside this file) from Python.

Used by ``tests/test_go_crosscheck.py`` and ``vectors/generate.py``: build once with a private
GOCACHE/GOPATH (offline, no cgo), then stream many bodies through one process.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def go_binary() -> str | None:
    """The ``go`` command on PATH, or None."""
    return shutil.which("go")


def _go_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOCACHE=str(workdir / "gocache"),
        GOPATH=str(workdir / "gopath"),
        CGO_ENABLED="0",
        GOFLAGS="-mod=mod",
        GOPROXY="off",
        GOTOOLCHAIN="local",
        GO111MODULE="on",
    )
    return env


def go_version(workdir: Path) -> str:
    """``go env GOVERSION``, e.g. ``go1.19.8``."""
    go = go_binary() or "go"
    out = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True,
        env=_go_env(workdir), timeout=60,
    )
    return out.stdout.strip()


def is_legacy(version: str) -> bool:
    """True for Go < 1.22 (``\\u0008``/``\\u000c`` instead of ``\\b``/``\\f``)."""
    numbers = version.removeprefix("go").split(".")
    major, minor = int(numbers[0]), int("".join(ch for ch in numbers[1] if ch.isdigit()) or 0)
    return (major, minor) < (1, 22)


def build(workdir: Path) -> Path:
    """Compile the reference signer into ``workdir``; return the executable."""
    go = go_binary()
    if go is None:
        raise FileNotFoundError("go is not on PATH")
    workdir.mkdir(parents=True, exist_ok=True)
    exe = workdir / "gosign"
    subprocess.run(
        [go, "build", "-o", str(exe), "."], cwd=HERE, env=_go_env(workdir), check=True,
        capture_output=True, timeout=300,
    )
    return exe


class Conversation:
    """One long-lived gosign process answering one body at a time (for Hypothesis)."""

    def __init__(self, exe: Path) -> None:
        self._proc = subprocess.Popen(
            [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def sign(self, body: bytes, secret: str = "", omit_empty: bool = False) -> dict:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request = {"body": base64.b64encode(body).decode("ascii"), "secret": secret,
                   "omit_empty": omit_empty}
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("gosign exited")
        answer = json.loads(line)
        if answer["canonical"] is not None:
            answer["canonical"] = base64.b64decode(answer["canonical"])
        return answer

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
        if self._proc.stdout:
            self._proc.stdout.close()


def run(exe: Path, cases: Iterable[tuple[bytes, str, bool]]) -> list[dict]:
    """Sign each (body, secret, omit_empty) in one process.

    Returns dicts with ``canonical`` (bytes or None), ``signature`` and ``error`` (str or None).
    """
    lines = [
        json.dumps({"body": base64.b64encode(body).decode("ascii"), "secret": secret,
                    "omit_empty": omit_empty})
        for body, secret, omit_empty in cases
    ]
    proc = subprocess.run(
        [str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True,
        check=True, timeout=300,
    )
    results = []
    for line in proc.stdout.splitlines():
        answer = json.loads(line)
        if answer["canonical"] is not None:
            answer["canonical"] = base64.b64decode(answer["canonical"])
        results.append(answer)
    if len(results) != len(lines):
        raise RuntimeError(f"gosign answered {len(results)} of {len(lines)} lines")
    return results
