"""The project's own tests: independent of the developer's environment.

A developer's own ``AGWS_*`` variables (a staging target, ``AGWS_STRICT=1``, a seed) would
otherwise reach the plugin runs these tests start and change their outcome; each test that needs
one sets it itself (``monkeypatch.setenv``).
"""

from __future__ import annotations

import os

import pytest

KEPT = frozenset({"AGWS_UPDATE_GOLDEN"})
"""Variables meant for the project's tests themselves."""


@pytest.fixture(autouse=True)
def _no_agws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("AGWS_") and n not in KEPT]:
        monkeypatch.delenv(name)
