"""The schema registry: one compiled JSON Schema validator per documented message.

The schema files in ``schemas/`` are the single source of truth (the OpenAPI export is built from
them too). Two profiles exist: the default one lets undocumented fields through, because a gateway
that adds a field stays compatible with the documents; the strict one reports them. The strict
profile is derived from the same files at load time, never kept as a second copy.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import jsonschema.protocols
import referencing
import referencing.jsonschema
from jsonschema.validators import Draft202012Validator

from .errors import UnknownSchemaError
from .endpoints import METHODS
from .resources import data_dir

BASE_URI = "https://agws-conformance.dev/schemas/"

# Message schemas, in the order the documents introduce them. common.json only holds $defs and
# requirements/errata schemas describe the catalogue, not the API, so neither is listed.
_MESSAGE_SCHEMAS = (
    *(name for method in METHODS.values() for name in (method.request_schema, method.success_schema)),
    "callback",
    "envelope",
    "error-unexpected",
    "error-expected-old",
    "error-expected-new",
    "info-parking",
    "info-finance",
    "info-utilities",
)

# Keywords whose value is one subschema, a list of subschemas, or a name -> subschema mapping.
_SCHEMA_KEYWORDS = (
    "items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "not", "if",
    "then", "else", "contains", "propertyNames",
)
_SCHEMA_LIST_KEYWORDS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties", "$defs", "dependentSchemas")


def schema_names() -> list[str]:
    """The message schemas a response or request can be validated against."""
    return list(_MESSAGE_SCHEMAS)


def schema_dir() -> Path:
    """The folder holding the schema files."""
    return data_dir("schemas")


def uri_of(name: str) -> str:
    """The ``$id`` of schema ``name`` (a file stem such as ``common``)."""
    return f"{BASE_URI}{name}.json"


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema document ``name`` as stored (``common`` included). Do not mutate it."""
    path = schema_dir() / f"{name}.json"
    if not path.is_file():
        raise UnknownSchemaError(name, schema_names())
    return json.loads(path.read_text(encoding="utf-8"))


def _api_schema_files() -> list[str]:
    return ["common", *_MESSAGE_SCHEMAS]


def subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every (sub)schema object inside ``schema``, itself first; ``const``/``enum`` values are skipped."""
    if not isinstance(schema, dict):
        return
    yield schema
    for keyword in _SCHEMA_KEYWORDS:
        if keyword in schema:
            yield from subschemas(schema[keyword])
    for keyword in _SCHEMA_LIST_KEYWORDS:
        for item in schema.get(keyword, ()):
            yield from subschemas(item)
    for keyword in _SCHEMA_MAP_KEYWORDS:
        for item in schema.get(keyword, {}).values():
            yield from subschemas(item)


def strict_copy(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``unevaluatedProperties: false`` on every object that declares properties.

    ``unevaluatedProperties`` (not ``additionalProperties``) so that fields declared through
    ``allOf``/``$ref`` (the envelope under a success schema) still count as documented. A node
    with ``allOf`` only refines fields its (strict) base already declares, so it is left alone:
    a second check there would also report the base's fields, because a failing subschema
    contributes no annotations.
    """
    derived = copy.deepcopy(schema)
    for node in subschemas(derived):
        if "properties" in node and "allOf" not in node and not (
            {"unevaluatedProperties", "additionalProperties"} & node.keys()
        ):
            node["unevaluatedProperties"] = False
    return derived


@functools.cache
def registry(*, strict: bool = False) -> referencing.Registry:
    """A registry of every API schema by ``$id``; the strict registry holds the strict copies."""
    resources = []
    for name in _api_schema_files():
        contents = load_schema(name)
        if strict:
            contents = strict_copy(contents)
        resource = referencing.Resource.from_contents(
            contents, default_specification=referencing.jsonschema.DRAFT202012
        )
        resources.append((uri_of(name), resource))
    return referencing.Registry().with_resources(resources).crawl()


@functools.cache
def validator(name: str, *, strict: bool = False) -> jsonschema.protocols.Validator:
    """The compiled validator of message ``name`` with format checking on.

    ``strict=True`` reports undocumented properties at every level.
    """
    if name not in _MESSAGE_SCHEMAS:
        raise UnknownSchemaError(name, schema_names())
    schema = load_schema(name)
    if strict:
        schema = strict_copy(schema)
    return Draft202012Validator(
        schema,
        registry=registry(strict=strict),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _describe(error: jsonschema.ValidationError) -> str:
    where = error.json_path
    if error.validator == "unevaluatedProperties":
        return f"{where}: undocumented field(s): {error.message}"
    return f"{where}: {error.message}"


def _leaves(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    # For anyOf/oneOf the top error only says "is not valid under any of the given schemas";
    # the branch errors are what a reader needs, so report those instead.
    if error.context:
        for sub in error.context:
            yield from _leaves(sub)
    else:
        yield error


def errors(name: str, instance: Any, *, strict: bool = False) -> list[str]:
    """Why ``instance`` fails schema ``name``: one readable line per problem, each with its JSON path.

    An empty list means the instance is valid. Memoised on the instance's JSON text: a conformance
    run validates the same few response bodies hundreds of times, twice each (default and strict).
    """
    try:
        key = json.dumps(instance, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):  # not JSON data (a test's hand-made object): validate directly
        return list(_errors(name, instance, strict))
    return list(_cached_errors(name, key, strict))


@functools.lru_cache(maxsize=4096)
def _cached_errors(name: str, key: str, strict: bool) -> tuple[str, ...]:
    return _errors(name, json.loads(key), strict)


def _errors(name: str, instance: Any, strict: bool) -> tuple[str, ...]:
    found = sorted(validator(name, strict=strict).iter_errors(instance), key=lambda e: list(e.absolute_path))
    lines: list[str] = []
    for error in found:
        if error.validator in ("anyOf", "oneOf") and error.context:
            branches = "; ".join(dict.fromkeys(_describe(sub) for sub in _leaves(error)))
            lines.append(f"{error.json_path}: matches none of the allowed forms ({branches})")
        else:
            lines.append(_describe(error))
    return tuple(lines)


def is_valid(name: str, instance: Any, *, strict: bool = False) -> bool:
    """Whether ``instance`` validates against schema ``name``."""
    return validator(name, strict=strict).is_valid(instance)
