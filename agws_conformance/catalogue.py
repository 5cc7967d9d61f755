"""The requirement catalogue and the errata, loaded once and checked against their own schemas.

Requirement IDs are the suite's stable vocabulary: tests, reports and partners cite them, so the
loader refuses a catalogue with duplicate IDs or an ID that is both active and retired.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Mapping

from jsonschema.validators import Draft202012Validator

from .errors import CatalogueError
from .resources import data_dir

Level = Literal["MUST", "SHOULD", "MAY", "INFO"]


@dataclass(frozen=True)
class Requirement:
    """One stable rule of the API."""

    id: str
    level: Level
    area: str
    source: str
    summary: str
    schema: str | None = None  # the message schema that checks it, when one does
    level_erratum: str | None = None  # the erratum deciding its level, where the documents do not
    exempt: Mapping[str, str] | None = field(default=None, hash=False)
    """Judged per method when not None: on every method of ``endpoints.METHODS`` except these
    (method name -> why it does not apply). None: not a per-method rule (agws_conformance.coverage)."""

    @property
    def per_method(self) -> bool:
        return self.exempt is not None


@dataclass(frozen=True)
class Retired:
    """A requirement no longer checked; its ID is never reused."""

    id: str
    retired_in: str
    reason: str


@dataclass(frozen=True)
class ErratumSource:
    document: str
    location: str
    says: str


@dataclass(frozen=True)
class Erratum:
    """A contradiction in the documents and the reading the suite takes."""

    id: str
    title: str
    sources: tuple[ErratumSource, ...]
    decision: str
    rationale: str
    requirements: tuple[str, ...]
    schemas: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    version: str
    requirements: dict[str, Requirement]
    retired: dict[str, Retired]
    errata: dict[str, Erratum]
    errata_version: str
    documents: dict[str, str]

    def level_of(self, requirement_id: str) -> Level:
        """The level of ``requirement_id``; a KeyError naming it if it is not in the catalogue."""
        try:
            return self.requirements[requirement_id].level
        except KeyError:
            hint = " (retired)" if requirement_id in self.retired else ""
            raise KeyError(f"unknown requirement ID {requirement_id!r}{hint}") from None


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None


def _check(path: Path, document: Any, schema_path: Path) -> None:
    validator = Draft202012Validator(_read(schema_path))
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise CatalogueError(f"{path}: {error.json_path}: {error.message}")


def parse_catalogue(requirements_doc: Any, errata_doc: Any, *, folder: Path) -> Catalogue:
    """Build a :class:`Catalogue` from the two already-parsed documents (validated first)."""
    req_path, err_path = folder / "requirements.json", folder / "errata.json"
    _check(req_path, requirements_doc, folder / "requirements.schema.json")
    _check(err_path, errata_doc, folder / "errata.schema.json")

    requirements: dict[str, Requirement] = {}
    for item in requirements_doc["requirements"]:
        if item["id"] in requirements:
            raise CatalogueError(f"{req_path}: duplicate requirement ID {item['id']}")
        requirements[item["id"]] = Requirement(
            id=item["id"], level=item["level"], area=item["area"], source=item["source"],
            summary=item["summary"], schema=item.get("schema"), level_erratum=item.get("level_erratum"),
            exempt=MappingProxyType(dict(item["methods"].get("exempt", {}))) if "methods" in item else None,
        )
    retired: dict[str, Retired] = {}
    for item in requirements_doc["retired"]:
        if item["id"] in requirements or item["id"] in retired:
            raise CatalogueError(f"{req_path}: retired ID {item['id']} is reused or listed twice")
        retired[item["id"]] = Retired(id=item["id"], retired_in=item["retired_in"], reason=item["reason"])

    errata: dict[str, Erratum] = {}
    for item in errata_doc["errata"]:
        if item["id"] in errata:
            raise CatalogueError(f"{err_path}: duplicate erratum ID {item['id']}")
        unknown = [r for r in item["affects"]["requirements"] if r not in requirements]
        if unknown:
            raise CatalogueError(f"{err_path}: {item['id']} names unknown requirement(s) {', '.join(unknown)}")
        missing = [s for s in item["affects"]["schemas"] if not (folder / f"{s}.json").is_file()]
        if missing:
            raise CatalogueError(f"{err_path}: {item['id']} names unknown schema(s) {', '.join(missing)}")
        errata[item["id"]] = Erratum(
            id=item["id"], title=item["title"],
            sources=tuple(ErratumSource(**source) for source in item["sources"]),
            decision=item["decision"], rationale=item["rationale"],
            requirements=tuple(item["affects"]["requirements"]),
            schemas=tuple(item["affects"]["schemas"]),
        )
    for req in requirements.values():
        erratum = errata.get(req.level_erratum or "")
        if req.level_erratum is not None and (erratum is None or req.id not in erratum.requirements):
            raise CatalogueError(f"{req_path}: {req.id} names level_erratum {req.level_erratum}, which is not an "
                                 f"erratum listing {req.id} in {err_path.name}")
        if req.level in ("SHOULD", "MAY") and req.level_erratum is None:
            raise CatalogueError(f"{req_path}: {req.id} is {req.level}: name the erratum that decides its level "
                                 "(level_erratum)")
    return Catalogue(
        version=requirements_doc["version"], requirements=requirements, retired=retired,
        errata=errata, errata_version=errata_doc["version"], documents=dict(requirements_doc["documents"]),
    )


@functools.cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue and errata (read and validated once per process)."""
    folder = data_dir("schemas")
    return parse_catalogue(
        _read(folder / "requirements.json"), _read(folder / "errata.json"), folder=folder
    )


def level_of(requirement_id: str) -> Level:
    """The level of ``requirement_id`` in the packaged catalogue."""
    return load_catalogue().level_of(requirement_id)


def errata_markdown(catalogue: Catalogue) -> str:
    """docs/errata.md, generated from errata.json so the two cannot drift apart."""
    lines = [
        "# Errata: where the AGWS documents contradict themselves",
        "",
        "<!-- Generated from schemas/errata.json by `python -m agws_conformance.catalogue`; do not edit. -->",
        "",
        f"Errata version {catalogue.errata_version}: {len(catalogue.errata)} entries. Each entry names the "
        "sources, what each says, the reading the suite takes and the requirements and schemas it affects.",
        "",
        "| ID | Title |",
        "|---|---|",
    ]
    lines += [f"| [{e.id}](#{e.id.lower()}) | {e.title} |" for e in catalogue.errata.values()]
    for erratum in catalogue.errata.values():
        lines += ["", f"## {erratum.id}", "", f"**{erratum.title}**", "", "What the sources say:", ""]
        for source in erratum.sources:
            lines.append(f"- *{source.document}*, {source.location}: {source.says}")
        lines += ["", f"**Decision.** {erratum.decision}", "", f"**Why.** {erratum.rationale}", ""]
        affected = [f"`{r}`" for r in erratum.requirements] + [f"`schemas/{s}.json`" for s in erratum.schemas]
        lines.append(f"Affects: {', '.join(affected) if affected else 'no requirement or schema directly'}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # regenerate docs/errata.md: python -m agws_conformance.catalogue > docs/errata.md
    import sys

    sys.stdout.write(errata_markdown(load_catalogue()))
