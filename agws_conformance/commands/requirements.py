"""``agws-conformance requirements [--method M] [--level L] [--area A] [ID]``: the requirement
catalogue without reading its JSON.

Without an ID: one line per requirement (ID, level, area, the methods it applies to, its rule),
filtered by method, level or area. With an ID: that requirement explained: its rule, its source in
the documents, the errata that decide it, the methods it applies to (and why not the others), and
which suite tests judge it (collected from the checkout's ``suites``, markers built by the rule
families included, as ``pytest --collect-only`` sees them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from agws_conformance.catalogue import Catalogue, Requirement, load_catalogue
from agws_conformance.coverage import applicable
from agws_conformance.endpoints import METHODS
from agws_conformance.errors import did_you_mean

NAME = "requirements"
LEVELS = ("MUST", "SHOULD", "MAY", "INFO")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``requirements`` subcommand."""
    catalogue = load_catalogue()
    areas = sorted({r.area for r in catalogue.requirements.values()})
    parser = subparsers.add_parser(
        NAME, help="list the requirement catalogue (filter by method, level, area) or explain one ID",
        description=f"The {len(catalogue.requirements)} requirements of catalogue {catalogue.version}. "
                    "Without an ID, one line each; with an ID, its rule, source, errata, the methods it "
                    "applies to and the suite tests that judge it.")
    parser.add_argument("id", nargs="?", metavar="ID", help="a requirement ID to explain, e.g. SIG-REJECT-MISSING")
    parser.add_argument("--method", metavar="NAME",
                        help=f"only the requirements judged on this method ({', '.join(METHODS)})")
    parser.add_argument("--level", type=str.upper, metavar="LEVEL", help=f"only this level ({', '.join(LEVELS)})")
    parser.add_argument("--area", metavar="AREA", help=f"only this area ({', '.join(areas)})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"agws-conformance requirements: {message}", file=sys.stderr)
    return 2


def methods_of(req: Requirement, catalogue: Catalogue) -> tuple[str, ...] | None:
    """The methods a per-method requirement is judged on (None: not a per-method rule)."""
    return applicable(catalogue).get(req.id)


def run(args: argparse.Namespace) -> int:
    catalogue = load_catalogue()
    if args.method and args.method not in METHODS:
        return _fail(f"unknown method {args.method!r}; {did_you_mean(args.method, METHODS)}"
                     f"methods: {', '.join(METHODS)}")
    if args.level and args.level not in LEVELS:
        return _fail(f"unknown level {args.level!r}; choose from {', '.join(LEVELS)}")
    areas = sorted({r.area for r in catalogue.requirements.values()})
    if args.area and args.area not in areas:
        return _fail(f"unknown area {args.area!r}; {did_you_mean(args.area, areas)}areas: {', '.join(areas)}")
    if args.id:
        return explain(catalogue, args.id.strip(), as_json=args.json)
    chosen = [r for r in catalogue.requirements.values()
              if (not args.level or r.level == args.level) and (not args.area or r.area == args.area)
              and (not args.method or args.method in (methods_of(r, catalogue) or ()))]
    if args.json:
        print(json.dumps([_entry(r, catalogue) for r in chosen], indent=2, ensure_ascii=False))
        return 0
    width = max((len(r.id) for r in chosen), default=0)
    for r in chosen:
        print(f"{r.id:<{width}}  {r.level:<6}  {r.area:<10}  {r.summary}")
    print(f"{len(chosen)} of {len(catalogue.requirements)} requirements"
          + (f" judged on {args.method}" if args.method else "")
          + "; `agws-conformance requirements ID` explains one", file=sys.stderr)
    return 0


def _entry(req: Requirement, catalogue: Catalogue) -> dict[str, object]:
    methods = methods_of(req, catalogue)
    return {"id": req.id, "level": req.level, "area": req.area, "summary": req.summary, "source": req.source,
            "schema": req.schema, "level_erratum": req.level_erratum,
            "methods": list(methods) if methods is not None else None,
            "not_applicable": dict(req.exempt or {}),
            "errata": [e.id for e in catalogue.errata.values() if req.id in e.requirements]}


def explain(catalogue: Catalogue, rid: str, *, as_json: bool = False) -> int:
    """One requirement in full, with the suite tests that judge it."""
    req = catalogue.requirements.get(rid) or catalogue.requirements.get(rid.upper())
    if req is None:
        retired = catalogue.retired.get(rid.upper())
        if retired is not None:
            return _fail(f"{retired.id} was retired in catalogue {retired.retired_in}: {retired.reason}")
        return _fail(f"unknown requirement ID {rid!r}; {did_you_mean(rid, catalogue.requirements)}"
                     "`agws-conformance requirements` lists them")
    entry = _entry(req, catalogue)
    tests = judging_tests(req.id)
    entry["tests"] = tests
    if as_json:
        print(json.dumps(entry, indent=2, ensure_ascii=False))
        return 0
    wrap = lambda s: textwrap.fill(s, 100, initial_indent="  ", subsequent_indent="  ")  # noqa: E731
    lines = [f"{req.id}  {req.level}  ({req.area})", wrap(req.summary), "", "Source:", wrap(req.source)]
    if req.schema:
        lines.append(f"  checked with schemas/{req.schema}.json")
    errata = [e for e in catalogue.errata.values() if req.id in e.requirements or e.id == req.level_erratum]
    if errata:
        lines += ["", "Errata:"]
        for e in errata:
            lines += [f"  {e.id}: {e.title}", wrap("decision: " + e.decision)]
    methods = methods_of(req, catalogue)
    lines += ["", "Methods:", "  " + (", ".join(methods) if methods else
                                   "not a per-method rule: judged where the tests below say" if methods is None
                                   else "none")]
    for method, why in (req.exempt or {}).items():
        lines.append(wrap(f"not {method}: {why}"))
    lines += ["", "Judged by:"]
    if tests is None:
        lines.append("  (the suites are not next to this installation: run from a checkout to list the tests)")
    else:
        lines += [f"  {t}" for t in tests] or ["  no suite test (a gap: see tests/test_coverage.py)"]
    lines += ["", f"Run only these: pytest suites --agws-requirement {req.id}"]
    print("\n".join(lines))
    return 0


_COLLECT = """
import json, sys, pytest
class Dump:
    def pytest_collection_finish(self, session):
        wanted = sys.argv[1]
        out = [i.nodeid for i in session.items
               if wanted in {str(a) for m in i.iter_markers("requirement") for a in m.args}]
        sys.stdout.write("@@" + json.dumps(out) + "\\n")
sys.exit(pytest.main([sys.argv[2], "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
                     plugins=[Dump()]))
"""


def suites_dir() -> Path | None:
    """The checkout's suites (beside the package, or in the working directory), or None."""
    for candidate in (Path(__file__).resolve().parents[2] / "suites", Path.cwd() / "suites"):
        if candidate.is_dir():
            return candidate
    return None


def judging_tests(rid: str) -> list[str] | None:
    """The suite tests whose requirement markers name ``rid`` (None: no suites to collect)."""
    folder = suites_dir()
    if folder is None:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGWS_")}  # collection only, no target
    done = subprocess.run([sys.executable, "-c", _COLLECT, rid, str(folder)], cwd=folder.parent,
                          capture_output=True, text=True, timeout=300, env=env)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("@@")), None)
    return json.loads(line[2:]) if line is not None else None
