"""The rule x method matrix: which (requirement, method) pairs apply, which the suites judge, and
what a run proved for each. Plain functions, no pytest.

A requirement whose catalogue entry carries ``"methods"`` is judged per method: on every method of
:data:`endpoints.METHODS` except the ones it exempts, each with a reason. The pairs that apply come
from the registry and the catalogue alone, so an eighth method in the registry is owed every
per-method rule at once; the pairs judged come from the suites' collected tests (their requirement
markers and the method each one is about). ``tests/test_coverage.py`` fails naming every pair that
applies and that no test judges, so the matrix cannot shrink silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from agws_conformance.catalogue import Catalogue
from agws_conformance.endpoints import METHODS
from agws_conformance.results import Results, TestResult

Pair = tuple[str, str]
"""(requirement ID, method name)."""

METHOD_PARAMS = ("method", "endpoint")
"""The parametrize arguments that name the method a test is about, in order of preference. A value
that is not a method name (``method="GET"``: an HTTP verb) does not count."""

NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class CollectedTest:
    """One collected suite test, as far as the matrix is concerned."""

    nodeid: str
    method: str | None
    requirements: tuple[str, ...]


def method_of(params: Mapping[str, Any], marked: str | None, methods: Iterable[str] = METHODS) -> str | None:
    """The method a test is about: its ``method`` (else ``endpoint``) parameter when that names a
    method, else its ``@pytest.mark.method(...)`` (``marked``), else None (a test about no one method)."""
    names = set(methods)
    for key in METHOD_PARAMS:
        value = params.get(key)
        if isinstance(value, str) and value in names:
            return value
    return marked if marked in names else None


def applicable(catalogue: Catalogue, methods: Iterable[str] = METHODS) -> dict[str, tuple[str, ...]]:
    """Per-method requirement -> the methods it applies to (registry order), in catalogue order."""
    names = tuple(methods)
    return {req.id: tuple(m for m in names if m not in req.exempt)
            for req in catalogue.requirements.values() if req.exempt is not None}


def applicable_pairs(catalogue: Catalogue, methods: Iterable[str] = METHODS) -> list[Pair]:
    """Every (requirement, method) pair a suite test must judge, in catalogue then registry order."""
    return [(req, m) for req, ms in applicable(catalogue, methods).items() for m in ms]


def judged_pairs(tests: Iterable[CollectedTest]) -> set[Pair]:
    """The pairs the collected tests declare they judge (a test about no one method judges none)."""
    return {(req, t.method) for t in tests if t.method is not None for req in t.requirements}


def unjudged(catalogue: Catalogue, tests: Iterable[CollectedTest], methods: Iterable[str] = METHODS) -> list[Pair]:
    """The pairs that apply and that no collected test judges: the matrix's holes."""
    judged = judged_pairs(tests)
    return [pair for pair in applicable_pairs(catalogue, methods) if pair not in judged]


def describe(pairs: Iterable[Pair]) -> str:
    """One line per requirement: ``SIG-REJECT-EMPTY: action/cash-in, action/link``."""
    by_req: dict[str, list[str]] = defaultdict(list)
    for req, method in pairs:
        by_req[req].append(method)
    return "\n".join(f"{req}: {', '.join(ms)}" for req, ms in by_req.items())


def method_matrix(results: Results, catalogue: Catalogue, methods: Iterable[str] = METHODS) -> dict[str, Any]:
    """What a run proved per method, for the reports: per target, one row per per-method
    requirement, one cell per method with its status (the requirement's status over that method's
    tests: pass, fail, warn, info, skipped, n/a, error; ``n/a`` with the catalogue's reason where the
    method is exempt; "not judged" where no test of the run judged it for that method), the number
    of tests behind it and a note."""
    names = tuple(methods)
    by_method: dict[tuple[str, str], list[TestResult]] = defaultdict(list)
    for t in results.tests.values():
        if t.method is not None:
            by_method[t.target, t.method].append(t)
    targets: dict[str, list[dict[str, Any]]] = {}
    for target in results.targets:
        rows = []
        for req in catalogue.requirements.values():
            if req.exempt is None:
                continue
            cells: dict[str, dict[str, Any]] = {}
            for m in names:
                if m in req.exempt:
                    cells[m] = {"status": "n/a", "tests": 0, "note": req.exempt[m]}
                    continue
                status, tests, messages = results.requirement_status(req.id, target, by_method[target, m])
                if status == "not run":
                    cells[m] = {"status": NOT_JUDGED, "tests": 0, "note": "no test of this run judged it for this method"}
                else:
                    cells[m] = {"status": status, "tests": len(tests), "note": messages[0][:300] if messages else ""}
            rows.append({"id": req.id, "level": req.level, "cells": cells})
        targets[target] = rows
    return {"methods": list(names), "targets": targets}
