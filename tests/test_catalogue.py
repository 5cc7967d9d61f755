"""Self-tests of the requirement catalogue and the errata.

The catalogue is the contract between the suites and their readers: every requirement must be
checked by some suite test, and no test or mock fault may cite an ID the catalogue does not know.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
import copy
import json
import re
from pathlib import Path

import pytest

from agws_conformance import catalogue as catalogue_module
from agws_conformance import schemas
from agws_conformance.catalogue import CatalogueError, load_catalogue, parse_catalogue
from agws_conformance.endpoints import METHODS
from agws_conformance.resources import data_dir

REPO = Path(__file__).resolve().parent.parent
SCHEMA_DIR = data_dir("schemas")
ID_PATTERN = re.compile(r"^[A-Z]+(-[A-Z0-9]+)+$")
FAULTS = REPO / "agws_conformance" / "mock" / "faults.py"


def _raw(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


# --- scanning the suites and the mock's faults -----------------------------------------------


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _strings(nodes) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def requirement_ids_in_source(source: str) -> tuple[set[str], set[str]]:
    """(IDs named by requirement markers, IDs named by checks/observations) in Python ``source``.

    Markers are ``pytest.mark.requirement("ID", ...)`` or a bare ``requirement(...)``; checks are
    ``agws.check(cond, "ID", ...)``, ``agws.observe("ID", ...)`` and similar calls whose string
    arguments look like requirement IDs.
    """
    marked: set[str] = set()
    cited: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "requirement":
            marked.update(_strings(node.args))
        elif name in ("check", "observe", "warn", "expect", "judge", "require"):
            cited.update(s for s in _strings(node.args) if ID_PATTERN.fullmatch(s))
    return marked, cited


def scan_suites() -> dict[str, set[Path]]:
    """requirement ID -> suite files that name it (markers and checks)."""
    found: dict[str, set[Path]] = {}
    for path in sorted((REPO / "suites").rglob("*.py")):
        marked, cited = requirement_ids_in_source(path.read_text(encoding="utf-8"))
        for requirement_id in marked | cited:
            found.setdefault(requirement_id, set()).add(path)
    return found


def scan_markers() -> set[str]:
    """IDs that carry at least one ``requirement`` marker in the suites."""
    ids: set[str] = set()
    for path in sorted((REPO / "suites").rglob("*.py")):
        ids |= requirement_ids_in_source(path.read_text(encoding="utf-8"))[0]
    return ids


def fault_requirement_ids(source: str) -> set[str]:
    """Every string constant in the faults module shaped like a requirement ID (errata excluded)."""
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and ID_PATTERN.fullmatch(node.value) and not node.value.startswith("ERRATUM-")
    }


def test_scanner_finds_markers_and_checks() -> None:
    # The scanner itself must work, or the two coverage tests below would pass vacuously.
    source = '''
import pytest
pytestmark = pytest.mark.requirement("ENV-SHAPE")

@pytest.mark.requirement("SIG-CANON-ORDER", "SIG-CANON-WHITESPACE")
def test_x(agws):
    agws.check(True, "SIG-CANON-ESCAPES", "expected ..., observed ...")
    agws.observe("SIG-INFO-VARIANT", "go1.22")
    agws.check(True, "not an id")
'''
    marked, cited = requirement_ids_in_source(source)
    assert marked == {"ENV-SHAPE", "SIG-CANON-ORDER", "SIG-CANON-WHITESPACE"}
    assert cited == {"SIG-CANON-ESCAPES", "SIG-INFO-VARIANT"}
    assert fault_requirement_ids('_fault("x", ("SIG-REJECT-MISSING",), note="ERRATUM-X")') == {"SIG-REJECT-MISSING"}


def test_suites_name_no_unknown_requirement() -> None:
    known = set(load_catalogue().requirements)
    unknown = {rid: sorted(str(p.relative_to(REPO)) for p in paths) for rid, paths in scan_suites().items() if rid not in known}
    assert unknown == {}, f"suite tests name requirement IDs missing from schemas/requirements.json: {unknown}"


_DUMP_MARKERS = """
import json, sys, pytest
class Dump:
    def pytest_collection_finish(self, session):
        out = {i.nodeid: [str(a) for m in i.iter_markers("requirement") for a in m.args] for i in session.items}
        sys.stdout.write("@@" + json.dumps(out) + "\\n")
sys.exit(pytest.main(["suites", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"], plugins=[Dump()]))
"""


@functools.cache
def collected_markers() -> dict[str, list[str]]:
    """nodeid -> requirement IDs its markers name, as pytest collects the suites (markers built from
    the judges' rule sets and per-parameter marks included, which a static scan cannot see)."""
    done = subprocess.run([sys.executable, "-c", _DUMP_MARKERS], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items() if not k.startswith("AGWS_")})
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("@@")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(line[2:])


def test_every_requirement_has_a_suite_test() -> None:
    marked = {r for reqs in collected_markers().values() for r in reqs}
    missing = sorted(set(load_catalogue().requirements) - marked)
    assert missing == [], f"{len(missing)} requirement(s) without a suite test: {', '.join(missing)}"


def test_collected_markers_name_only_catalogued_requirements() -> None:
    known = set(load_catalogue().requirements)
    unknown = {f"{nodeid}: {r}" for nodeid, reqs in collected_markers().items() for r in reqs if r not in known}
    assert not unknown, sorted(unknown)[:10]


def test_faults_name_only_known_requirements() -> None:
    if not FAULTS.is_file():
        pytest.skip("agws_conformance/mock/faults.py not present")
    named = fault_requirement_ids(FAULTS.read_text(encoding="utf-8"))
    assert named, "the scanner found no requirement ID in faults.py"
    unknown = sorted(named - set(load_catalogue().requirements))
    assert unknown == [], f"faults name unknown requirement IDs: {unknown}"


# --- the catalogue itself ------------------------------------------------------------------------


def test_catalogue_loads_with_every_seeded_requirement() -> None:
    catalogue = load_catalogue()
    assert len(catalogue.requirements) >= 67
    assert catalogue.level_of("SIG-CANON-ORDER") == "MUST"
    assert catalogue.level_of("CHK-PARKING-COORDINATES") == "SHOULD"
    assert catalogue.level_of("ERR-FORMAT-OBSERVED") == "INFO"
    assert catalogue_module.level_of("ROB-NO-CRASH") == "MUST"
    with pytest.raises(KeyError, match=r"'ROB-NO-5XX' \(retired\)"):
        catalogue_module.level_of("ROB-NO-5XX")
    assert catalogue.retired["ROB-NO-5XX"].retired_in == "2.0.0"
    requirement = catalogue.requirements["SCH-INFO-PARKING"]
    assert requirement.schema == "info-parking" and requirement.area == "check"


def test_level_of_unknown_id_is_a_clear_key_error() -> None:
    with pytest.raises(KeyError, match="unknown requirement ID 'SIG-NOPE'"):
        load_catalogue().level_of("SIG-NOPE")


def test_requirement_schema_references_exist() -> None:
    for requirement in load_catalogue().requirements.values():
        if requirement.schema is not None:
            assert requirement.schema in schemas.schema_names(), requirement.id


def test_requirements_file_is_valid_against_its_schema() -> None:
    from jsonschema.validators import Draft202012Validator

    validator = Draft202012Validator(_raw("requirements.schema.json"))
    assert [e.message for e in validator.iter_errors(_raw("requirements.json"))] == []
    for item in _raw("requirements.json")["requirements"]:
        assert ID_PATTERN.fullmatch(item["id"])


def test_no_active_id_is_retired() -> None:
    document = _raw("requirements.json")
    active = {item["id"] for item in document["requirements"]}
    retired = [item["id"] for item in document["retired"]]
    assert len(retired) == len(set(retired))
    assert active.isdisjoint(retired)


def test_loader_refuses_a_reused_retired_id() -> None:
    document = copy.deepcopy(_raw("requirements.json"))
    document["retired"].append({"id": "ENV-SHAPE", "retired_in": "0.9.0", "reason": "test"})
    with pytest.raises(CatalogueError, match="retired ID ENV-SHAPE is reused"):
        parse_catalogue(document, _raw("errata.json"), folder=SCHEMA_DIR)


def test_loader_refuses_duplicates_and_bad_entries_in_one_line() -> None:
    document = copy.deepcopy(_raw("requirements.json"))
    document["requirements"].append(dict(document["requirements"][0]))
    with pytest.raises(CatalogueError, match="duplicate requirement ID ENV-SHAPE"):
        parse_catalogue(document, _raw("errata.json"), folder=SCHEMA_DIR)
    document = copy.deepcopy(_raw("requirements.json"))
    document["requirements"][3]["level"] = "MUSTN'T"
    with pytest.raises(CatalogueError) as caught:
        parse_catalogue(document, _raw("errata.json"), folder=SCHEMA_DIR)
    assert "$.requirements[3].level" in str(caught.value) and "\n" not in str(caught.value)


def test_loader_refuses_errata_naming_unknown_requirements() -> None:
    errata = copy.deepcopy(_raw("errata.json"))
    errata["errata"][0]["affects"]["requirements"].append("SCH-NOPE")
    with pytest.raises(CatalogueError, match="unknown requirement\\(s\\) SCH-NOPE"):
        parse_catalogue(_raw("requirements.json"), errata, folder=SCHEMA_DIR)


def test_loader_reports_invalid_json_with_line(tmp_path: Path) -> None:
    bad = tmp_path / "requirements.json"
    bad.write_text('{\n  "version": "1.0.0",\n}', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"requirements.json: line 3: invalid JSON"):
        catalogue_module._read(bad)


# --- errata ----------------------------------------------------------------------------------------

REQUIRED_ERRATA = {
    "ERRATUM-FAIL-REASON-MASSAGE", "ERRATUM-STATUS-EXAMPLE-MALFORMED", "ERRATUM-STATUS-FAIL-REASON-PLACEMENT",
    "ERRATUM-ACCOUNT-STATUS-UNTABLED", "ERRATUM-ERROR-CODE-TYPE", "ERRATUM-PARKING-LATITUDE",
    "ERRATUM-PARKING-EXAMPLES-PARTIAL", "ERRATUM-CHECK-INACTIVE-NO-AMOUNT", "ERRATUM-EXPECTED-DATA-NULL-OR-EMPTY",
    "ERRATUM-SIGN-EMPTY-FIELDS", "ERRATUM-NEW-FORMAT-SCOPE", "ERRATUM-GO-SERVISE-TYPO", "ERRATUM-CODE-9724-9427",
    "ERRATUM-GO-WIRE-ORDER", "ERRATUM-SIGN-PYTHON-SAMPLE",
}


def test_errata_cover_the_known_contradictions() -> None:
    assert REQUIRED_ERRATA <= set(load_catalogue().errata)


def test_every_cited_erratum_exists() -> None:
    known = set(load_catalogue().errata)
    for path in SCHEMA_DIR.glob("*.json"):
        if path.name == "errata.json":
            continue
        cited = set(re.findall(r"ERRATUM(?:-[A-Z0-9]+)+", path.read_text(encoding="utf-8")))
        assert cited <= known, (path.name, cited - known)


def test_docs_errata_md_is_generated_from_errata_json() -> None:
    expected = catalogue_module.errata_markdown(load_catalogue())
    actual = (REPO / "docs" / "errata.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/errata.md is stale: run python -m agws_conformance.catalogue > docs/errata.md"
    for erratum_id in load_catalogue().errata:
        assert f"## {erratum_id}" in actual


def test_every_should_names_the_erratum_deciding_its_level() -> None:
    catalogue = load_catalogue()
    for req in catalogue.requirements.values():
        if req.level in ("SHOULD", "MAY"):
            assert req.level_erratum in catalogue.errata, req.id
            assert req.id in catalogue.errata[req.level_erratum].requirements, req.id


def test_a_should_without_its_erratum_is_refused() -> None:
    folder = data_dir("schemas")
    requirements = json.loads((folder / "requirements.json").read_text(encoding="utf-8"))
    errata = json.loads((folder / "errata.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(requirements)
    for item in broken["requirements"]:
        if item["id"] == "ENV-CONTENT-TYPE":
            del item["level_erratum"]
    with pytest.raises(CatalogueError, match="ENV-CONTENT-TYPE is SHOULD: name the erratum"):
        parse_catalogue(broken, errata, folder=folder)
    wrong = copy.deepcopy(requirements)
    for item in wrong["requirements"]:
        if item["id"] == "ENV-CONTENT-TYPE":
            item["level_erratum"] = "ERRATUM-GO-SERVISE-TYPO"
    with pytest.raises(CatalogueError, match="not an erratum listing ENV-CONTENT-TYPE"):
        parse_catalogue(wrong, errata, folder=folder)


def _literal_pass(node: ast.Call) -> bool:
    """``agws.check(True, ...)`` or ``Check(req, True, ...)``: a pass that no answer could turn into a fail."""
    name = _call_name(node)
    args = node.args
    if name == "check" and args and isinstance(args[0], ast.Constant) and args[0].value is True:
        return True
    return name == "Check" and len(args) > 1 and isinstance(args[1], ast.Constant) and args[1].value is True


def test_no_evidence_record_is_a_pass_that_cannot_fail() -> None:
    sources = [*sorted((REPO / "suites").rglob("*.py")), REPO / "agws_conformance" / "judge.py",
               REPO / "agws_conformance" / "plugin" / "context.py"]
    found = [f"{path.relative_to(REPO)}:{node.lineno}" for path in sources
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and _literal_pass(node)]
    assert not found, f"passes recorded unconditionally (they can never fail): {found}"
    assert _literal_pass(ast.parse("agws.check(True, 'ENV-SHAPE', 'x')").body[0].value)


def test_per_method_exemptions_name_registry_methods() -> None:
    """A requirement's "methods": {"exempt": ...} names only endpoints.METHODS methods, each with a reason;
    the scope rules exempt exactly the methods whose request lacks that scope field (Method.scope)."""
    catalogue = load_catalogue()
    for req in catalogue.requirements.values():
        unknown = sorted(set(req.exempt or {}) - set(METHODS))
        assert not unknown, f"{req.id} exempts {unknown}, which are not methods in endpoints.METHODS"
        assert all(why.strip() for why in (req.exempt or {}).values()), req.id
    for requirement, field in (("SIG-SCOPE-PROJECT", "project"), ("SIG-SCOPE-AGENT", "agent"),
                               ("SIG-SCOPE-SERVICE", "service_code")):
        exempt = catalogue.requirements[requirement].exempt
        assert exempt is not None and set(exempt) == {m for m, method in METHODS.items() if field not in method.scope}
