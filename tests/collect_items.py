"""A pytest plugin for a child process (``-p collect_items``): after collection, write every collected
suite test's nodeid, method and requirement markers as JSON to the file ``COVERAGE_ITEMS_FILE`` names.

The rule x method matrix is read from what pytest collects, not from the source, so a test that is
parametrized away, deselected by a marker or renamed is seen as pytest sees it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agws_conformance.plugin import item_method, item_requirements


def pytest_collection_finish(session: pytest.Session) -> None:
    items = [{"nodeid": item.nodeid, "method": item_method(item), "requirements": item_requirements(item)}
             for item in session.items if "agws" in getattr(item, "fixturenames", ())]
    Path(os.environ["COVERAGE_ITEMS_FILE"]).write_text(json.dumps(items), encoding="utf-8")
