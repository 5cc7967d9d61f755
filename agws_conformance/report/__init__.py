"""Reports: the partner-facing HTML (pytest-html), the JSON summary for release gates, and the
run identity both carry. JUnit XML comes from pytest itself, with requirement IDs as properties.
"""

from __future__ import annotations

import pytest

from .identity import RunIdentity, TargetIdentity, run_identity
from .summary import EXIT_STATUS, build_summary, gate, summary_errors, write_summary

__all__ = ["EXIT_STATUS", "RunIdentity", "TargetIdentity", "build_summary", "gate", "register_report",
           "run_identity", "summary_errors", "write_summary"]


def register_report(config: pytest.Config) -> None:
    """Register the report hooks (called once from the main plugin's ``pytest_configure``)."""
    from .hooks import ReportHooks

    if not config.pluginmanager.has_plugin("agws-report"):
        config.pluginmanager.register(ReportHooks(config), "agws-report")
