"""The rule x method matrix cannot shrink silently: every (requirement, method) pair the catalogue
and the method registry say applies is judged by some suite test (agws_conformance.coverage).

The suites are collected in a child process (``-p collect_items``; the plugin freezes the heap of a
process that collects them) against the embedded mock, which has [write] and [callbacks], so every
suite test is collected.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agws_conformance import coverage
from agws_conformance.catalogue import load_catalogue
from agws_conformance.coverage import CollectedTest
from agws_conformance.endpoints import METHODS

from suite_runs import run_pytest

TESTS = Path(__file__).resolve().parent

_OWED_TO_ITEM_1 = ("action/cash-in", "showcase/balance", "calculate/upper/commission", "action/confirm/invoice",
                   "action/link")
KNOWN_GAPS: dict[str, tuple[str, ...]] = {
    # Pairs no suite judges yet. Empty since the registry-driven rule families (issue 23): an entry
    # here is a known hole to close, and test_known_gaps_are_still_gaps fails once it is closed.
}


def known_gaps() -> set[coverage.Pair]:
    return {(req, method) for req, methods in KNOWN_GAPS.items() for method in methods}


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> list[CollectedTest]:
    out = tmp_path_factory.mktemp("coverage") / "items.json"
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    done = run_pytest("suites", "--collect-only", "-q", "-p", "collect_items",
                      env={"PYTHONPATH": path, "COVERAGE_ITEMS_FILE": str(out)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [CollectedTest(i["nodeid"], i["method"], tuple(i["requirements"]))
            for i in json.loads(out.read_text(encoding="utf-8"))]


def holes(tests: list[CollectedTest]) -> str | None:
    """The coverage failure for ``tests``: every applicable pair no test judges (beyond KNOWN_GAPS)."""
    missing = [pair for pair in coverage.unjudged(load_catalogue(), tests) if pair not in known_gaps()]
    if not missing:
        return None
    return (f"{len(missing)} (requirement, method) pairs apply (schemas/requirements.json 'methods', "
            "endpoints.METHODS) but no suite test judges them:\n" + coverage.describe(missing))


def test_every_applicable_pair_is_judged(collected: list[CollectedTest]) -> None:
    assert holes(collected) is None, holes(collected)


def test_known_gaps_are_still_gaps(collected: list[CollectedTest]) -> None:
    """KNOWN_GAPS only shrinks: an entry a suite now judges, or one that no longer applies, must go."""
    still = set(coverage.unjudged(load_catalogue(), collected))
    stale = sorted(known_gaps() - still)
    assert not stale, "remove from KNOWN_GAPS (now judged, or no longer applicable):\n" + coverage.describe(stale)


def test_removing_a_rule_for_one_method_fails(collected: list[CollectedTest]) -> None:
    """The truncated-signature family loses action/status (as if its parametrization skipped it): the
    coverage test fails and names exactly that pair."""
    assert holes(collected) is None
    pruned = [t for t in collected
              if not (t.nodeid.startswith("suites/test_rules_signature.py::test_sig_reject_truncated[")
                      and t.method == "action/status")]
    assert len(pruned) < len(collected)
    assert holes(pruned) == ("1 (requirement, method) pairs apply (schemas/requirements.json 'methods', "
                             "endpoints.METHODS) but no suite test judges them:\nSIG-REJECT-TRUNCATED: action/status")


def test_every_method_is_seen(collected: list[CollectedTest]) -> None:
    """Every registry method has collected tests, and the method of every parametrized or marked test is known."""
    assert {t.method for t in collected} >= set(METHODS)
    # The receiver profile judges an integrator's receiver, about no gateway method.
    about_none = sorted(t.nodeid for t in collected if t.method is None
                        and not t.nodeid.startswith("suites/test_receiver.py::"))
    assert about_none == ["suites/test_error_format.py::test_one_format_per_error_class",
                          "suites/test_fingerprint.py::test_canonicalization_fingerprint",
                          "suites/test_generated.py::test_go_version_characters_are_served"]


# -- the module itself, on synthetic tests ----------------------------------------------------------

def test_method_of_reads_the_parameter_then_the_marker() -> None:
    assert coverage.method_of({"method": "action/link"}, "user/check") == "action/link"
    assert coverage.method_of({"method": "GET", "endpoint": "action/status"}, None) == "action/status"  # an HTTP verb
    assert coverage.method_of({"kind": "x"}, "showcase/balance") == "showcase/balance"
    assert coverage.method_of({}, None) is None and coverage.method_of({}, "no/such") is None


def test_a_new_method_is_owed_every_per_method_rule() -> None:
    """An eighth method in the registry is owed every per-method requirement that does not exempt it,
    with no catalogue or suite edit; tests about the other methods do not judge it."""
    catalogue = load_catalogue()
    methods = (*METHODS, "action/refund")
    per_method = [r.id for r in catalogue.requirements.values() if r.exempt is not None]
    tests = [CollectedTest(f"t[{m}]", m, tuple(per_method)) for m in METHODS]
    assert coverage.unjudged(catalogue, tests, methods) == [(r, "action/refund") for r in per_method]
    assert coverage.unjudged(catalogue, [*tests, CollectedTest("t[refund]", "action/refund", tuple(per_method))],
                             methods) == []


def test_exempt_pairs_are_not_owed() -> None:
    catalogue = load_catalogue()
    pairs = set(coverage.applicable_pairs(catalogue))
    assert ("SIG-SCOPE-PROJECT", "showcase/balance") not in pairs and ("SIG-SCOPE-PROJECT", "user/check") in pairs
    assert ("SIG-BEFORE-LOOKUP", "action/cash-in") not in pairs
    judged = coverage.judged_pairs([CollectedTest("a", None, ("SIG-REJECT-EMPTY",)),
                                    CollectedTest("b", "action/link", ("SIG-REJECT-EMPTY", "LNK-CREATED"))])
    assert judged == {("SIG-REJECT-EMPTY", "action/link"), ("LNK-CREATED", "action/link")}

