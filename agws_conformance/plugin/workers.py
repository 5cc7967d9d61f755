"""pytest-xdist: what each worker learnt about its targets, carried to the controller that reports.

Under ``-n N`` every worker resolves and binds its own targets (the embedded mock: one mock per
worker, each with its own fresh secret), while the controller, which never runs a test, writes the
terminal summary, the HTML report and the JSON summary. Test reports reach it by themselves (the
``report.agws`` payload is redacted in the worker); the run-level facts do not: the base URL a
worker actually used, the observed error format, the canonicalization fingerprint, the number of
requests. Each worker hands them over in ``config.workeroutput`` at its session end, already
redacted with its own redactor, so the controller never learns a worker's secret.

Nothing here imports xdist: the hooks that call these functions only fire under xdist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pytest

from agws_conformance.state import Observed

if TYPE_CHECKING:
    from .run import Run

WORKER_OUTPUT_KEY = "agws"
"""The key of this plugin's entry in xdist's ``workeroutput`` dict (JSON-able values only)."""


def worker_output(run: "Run") -> dict[str, Any]:
    """This worker's run-level facts, JSON-able and redacted with the worker's own redactor."""
    redact = run.redactor.redact
    return {
        "request_count": run.request_count,
        "selection": run.selection.to_dict(),
        "targets": {
            name: {
                "base_url": redact(b.target.base_url),
                "observations": {redact(k): redact(v) for k, v in b.observations.items()},
                "error_formats": {code: {fmt: redact(nodeid) for fmt, nodeid in formats.items()}
                                  for code, formats in b.error_formats.items()},
                "preflight": b.preflight.to_dict() if b.preflight is not None else None,
                "payments": [{k: redact(v) if isinstance(v, str) else v for k, v in p.items()} for p in getattr(b, "payments", ())],
            }
            for name, b in run.bound.items()
        },
    }


def send_to_controller(config: pytest.Config, run: "Run") -> None:
    """In an xdist worker (at session end): publish :func:`worker_output` for the controller."""
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output.setdefault(WORKER_OUTPUT_KEY, {}).update(worker_output(run))


def note_usage_error(config: pytest.Config, error: pytest.UsageError) -> None:
    """In an xdist worker: keep a bad target configuration's one-line message for the controller,
    which re-raises it (xdist would otherwise show an internal error about pending tests)."""
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output.setdefault(WORKER_OUTPUT_KEY, {})["usage_error"] = str(error)


def receive_from_worker(run: "Run", output: Mapping[str, Any] | None) -> None:
    """In the controller, as each worker finishes: add its requests and observations to ``run``."""
    if not output:
        return  # a crashed worker sends nothing; its tests are reported as crashed by xdist
    if output.get("usage_error"):
        raise pytest.UsageError(output["usage_error"])
    run.request_count += int(output.get("request_count", 0))
    run.selection.merge(output.get("selection") or {})  # every worker selects the same tests
    for name, facts in (output.get("targets") or {}).items():
        run.remote.setdefault(name, Observed()).merge(facts.get("base_url", ""), facts.get("observations") or {},
                                                      facts.get("error_formats") or {}, facts.get("preflight"),
                                                      facts.get("payments") or ())
