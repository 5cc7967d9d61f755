"""Load a script from ``benchmarks/`` as a module, for the project tests that keep its figures true."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"agws_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


MATRIX_JOBS = 2 * (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
"""Suite runs in parallel for the matrices the project tests run: twice the cores, since a run
spends most of its time waiting on the clock (payments settling, callbacks' backoff), not computing
(benchmarks/README.md, "CI time")."""
