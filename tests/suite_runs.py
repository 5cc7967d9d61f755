"""One way for the project's tests to run pytest in a child process, as a user would.

A whole run needs its own process: the plugin freezes the heap, starts the mock gateway and
reads the environment once. Every child gets the same environment: the developer's own
``AGWS_*`` variables removed (see ``conftest.py``) and bytecode cached outside the checkout,
shared by all children (each process of an xdist run would otherwise compile and
assertion-rewrite every module again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

REPO = Path(__file__).resolve().parents[1]
BYTECODE = Path(tempfile.gettempdir()) / "agws-conformance-test-pycache"


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without ``AGWS_*`` and with the shared bytecode cache, plus ``extra``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AGWS_") and k != "PYTHONDONTWRITEBYTECODE"}
    return environ | {"PYTHONPYCACHEPREFIX": str(BYTECODE)} | dict(extra or {})


def run_pytest(*args: str | Path, cwd: Path = REPO, env: Mapping[str, str] | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m pytest *args`` in ``cwd``: no cache provider, no random order."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                           *map(str, args)], cwd=cwd, env=child_environment(env), capture_output=True, text=True,
                          timeout=timeout)


def run_module(module: str, *args: str | Path, env: Mapping[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m module *args`` from the checkout (the gate command, the CLI)."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO, env=child_environment(env),
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class SuiteRun:
    """One finished ``pytest suites`` run and the files it wrote into ``out``."""

    done: subprocess.CompletedProcess[str]
    out: Path

    @property
    def returncode(self) -> int:
        return self.done.returncode

    @property
    def output(self) -> str:
        return self.done.stdout + self.done.stderr

    @property
    def summary_path(self) -> Path:
        return self.out / "summary.json"

    @cached_property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.summary_path.read_text(encoding="utf-8"))

    @cached_property
    def html(self) -> str:
        return (self.out / "report.html").read_text(encoding="utf-8")

    @cached_property
    def junit(self) -> ET.ElementTree:
        return ET.parse(self.out / "junit.xml")


def run_suites(out: Path, *options: str | Path, paths: tuple[str, ...] = ("suites",),
               env: Mapping[str, str] | None = None, timeout: float = 300) -> SuiteRun:
    """``pytest suites`` from the checkout, writing the JSON summary, HTML report and JUnit XML into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    done = run_pytest(*paths, "-q", f"--agws-json={out / 'summary.json'}", f"--html={out / 'report.html'}",
                      f"--junitxml={out / 'junit.xml'}", *options, env=env, timeout=timeout)
    return SuiteRun(done, out)
