"""Hypothesis strategies for AGWS requests, derived from the request schemas.

The field names, which fields are required, their JSON types and length bounds are read from
``schemas/user-check-request.json`` / ``action-status-request.json`` (through the schema registry),
never restated here: when a schema changes, the generated requests change with it.

Free string values are biased toward the characters that break signers and parsers: HTML
characters Go escapes (``<>&``), JSON escapes (quotes, backslash, ``\\b``, ``\\f``, other control
characters), U+2028/U+2029 (which Go escapes and Python does not), Cyrillic and Kazakh letters,
astral-plane emoji (surrogate pairs in UTF-16 signers), and odd whitespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from hypothesis import strategies as st

from agws_conformance import schemas
from agws_conformance.endpoints import ENDPOINTS, METHODS

__all__ = [
    "HARD_CHARACTERS",
    "HARD_CHARACTER_GROUPS",
    "amounts",
    "date_times",
    "JSON_TYPES",
    "REQUEST_SCHEMAS",
    "VARIANT_CHARACTERS",
    "FieldRule",
    "field_rules",
    "hard_text",
    "invalid_requests",
    "request_schema",
    "valid_requests",
    "wrong_type_values",
]

REQUEST_SCHEMAS: dict[str, str] = {name: method.request_schema for name, method in METHODS.items()}
"""Endpoint name (as in ``endpoints.METHODS``) -> request schema name."""

HARD_CHARACTER_GROUPS: dict[str, tuple[str, ...]] = {
    "html": ("<", ">", "&"),                                  # Go's json.Marshal writes \u003c \u003e \u0026
    "json-escapes": ('"', "'", "\\", "/"),                  # JSON string escapes; "/" is escapable, never escaped by Go
    "controls": ("\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f"),  # \b \f differ between Go < 1.22 and >= 1.22
    "separators": ("\u2028", "\u2029"),                       # Go escapes them, Python's json does not
    "spaces": (" ", "\u00a0", "\u3000", "\u200b", "\ufeff"),  # spaces, zero-width, BOM
    "cyrillic": ("Ж", "ж", "ё", "Я"),
    "kazakh": ("Ә", "ә", "Ғ", "ғ", "Қ", "қ", "Ң", "ң", "Ө", "ө", "Ұ", "ұ", "Ү", "ү", "Һ", "һ", "І", "і"),
    "astral": ("😀", "𝄞", "🇰", "\U0010fffd"),               # surrogate pairs in UTF-16
    "odd": ("\u0301", "\u202e", "\ufffd", "%", "+", "="),      # combining mark, RTL override, replacement char
}
"""The character classes every generated free string is biased toward (single code points, no surrogates)."""

HARD_CHARACTERS: tuple[str, ...] = tuple(c for group in HARD_CHARACTER_GROUPS.values() for c in group)

JSON_TYPES: tuple[str, ...] = ("null", "boolean", "integer", "number", "string", "array", "object")

_UNDERSTOOD = frozenset({"type", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "format",
                         "description", "title", "$comment", "examples", "default"})

DEFAULT_MAX_SIZE = 40
"""Longest generated string when the schema sets no maxLength: long enough for every hard character mix."""


@dataclass(frozen=True)
class FieldRule:
    """What a request schema says about one top-level property."""

    name: str
    types: tuple[str, ...]
    required: bool
    min_length: int = 0
    max_length: int | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    exclusive_minimum: int | float | None = None
    format: str | None = None


def request_schema(endpoint: str) -> dict[str, Any]:
    """The stored request schema of ``endpoint`` ("user/check" or "action/status")."""
    try:
        return schemas.load_schema(REQUEST_SCHEMAS[endpoint])
    except KeyError:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {sorted(ENDPOINTS)}") from None


def _resolve(node: dict[str, Any], base_uri: str) -> dict[str, Any]:
    """Follow ``$ref`` chains through the registry, merging the referring node's own keywords on top."""
    resolver = schemas.registry().resolver(base_uri=base_uri)
    merged: dict[str, Any] = {}
    for _ in range(32):
        if "$ref" not in node:
            return {**node, **merged}
        merged = {**{k: v for k, v in node.items() if k != "$ref"}, **merged}
        resolved = resolver.lookup(node["$ref"])
        node, resolver = resolved.contents, resolved.resolver
    raise ValueError(f"$ref chain too long (a cycle?) at {node.get('$ref')!r}")


def field_rules(schema: str | Mapping[str, Any]) -> dict[str, FieldRule]:
    """The top-level properties of a request schema (a schema name or a schema document), in order.

    Only these keywords are understood: ``type``, ``minLength``/``maxLength``,
    ``minimum``/``maximum``, ``required`` (plus annotations); any other constraint raises, so a
    schema change the strategies cannot honour is loud instead of silently ignored.
    """
    doc = schemas.load_schema(schema) if isinstance(schema, str) else schema
    if doc.get("type") != "object" or not isinstance(doc.get("properties"), dict):
        raise ValueError("a request schema must be an object schema with properties")
    base = doc.get("$id", schemas.BASE_URI)
    required = set(doc.get("required", ()))
    rules: dict[str, FieldRule] = {}
    for name, sub in doc["properties"].items():
        node = _resolve(sub, base)
        declared = node.get("type")
        if declared is None:
            raise ValueError(f"property {name!r}: no 'type' in the schema, cannot generate values for it")
        types = (declared,) if isinstance(declared, str) else tuple(declared)
        unknown = set(types) - set(JSON_TYPES)
        if unknown:
            raise ValueError(f"property {name!r}: unknown JSON type(s) {sorted(unknown)}")
        unsupported = set(node) - _UNDERSTOOD
        if unsupported:
            raise ValueError(f"property {name!r}: the strategies cannot honour {sorted(unsupported)}")
        if node.get("format") not in (None, "date-time"):
            raise ValueError(f"property {name!r}: the strategies cannot generate format {node['format']!r}")
        rules[name] = FieldRule(name, types, name in required, int(node.get("minLength", 0)),
                                node.get("maxLength"), node.get("minimum"), node.get("maximum"),
                                node.get("exclusiveMinimum"), node.get("format"))
    missing = required - set(rules)
    if missing:
        raise ValueError(f"required field(s) {sorted(missing)} have no properties entry")
    return rules


VARIANT_CHARACTERS: dict[str, str] = {"escapes": "\b\f"}
"""Per signing dimension, the characters whose canonical form depends on it (Go < 1.22 vs 1.22+).
A generated request avoids them while the preflight could not decide the dimension."""


def hard_text(*, min_size: int = 0, max_size: int | None = DEFAULT_MAX_SIZE, exclude: str = "") -> st.SearchStrategy[str]:
    """Strings biased toward :data:`HARD_CHARACTERS`, drawn from all of Unicode minus surrogates
    (and minus ``exclude``)."""
    # One branch per class, so each class is as likely as any other whatever Hypothesis' preference
    # for early elements of a sampled_from (newer versions favour them strongly).
    groups = [tuple(c for c in group if c not in exclude) for group in HARD_CHARACTER_GROUPS.values()]
    alphabet = st.one_of(*(st.sampled_from(group) for group in groups if group),
                         st.characters(codec="utf-8", exclude_characters=exclude))
    # lists + join, not text(alphabet=...): newer Hypothesis merges a text alphabet into one interval
    # set, where the few hard characters drown in the rest of Unicode.
    return st.lists(alphabet, min_size=min_size, max_size=max_size).map("".join)


def _short_text() -> st.SearchStrategy[str]:
    return hard_text(max_size=6)


def _values_of(json_type: str) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), _short_text())
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        # Bounded to float64-exact integers: beyond that, the signer's rounding would be under test.
        "integer": st.integers(-(2**53), 2**53),
        "number": st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False)),
        "string": hard_text(),
        "array": st.lists(scalars, max_size=3),
        "object": st.dictionaries(_short_text(), scalars, max_size=3),
    }[json_type]


def amounts(maximum: float, minimum: float = 0.01) -> st.SearchStrategy[float]:
    """Amounts in tenge as whole tiyn in ``[minimum, maximum]``: what a payment form produces, and
    numbers whose Go float64 form (100, 10.5) is what the signature covers (ERRATUM-CASH-IN-AMOUNT-FORM)."""
    low, high = max(1, round(minimum * 100)), int(maximum * 100)
    return st.integers(low, max(low, high)).map(lambda t: t // 100 if t % 100 == 0 else t / 100)


def date_times() -> st.SearchStrategy[str]:
    """RFC 3339 timestamps in UTC with a 'Z', as the suite sends datetime (ERRATUM-CASH-IN-DATETIME)."""
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda moment: moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _allowed_values(rule: FieldRule, exclude: str = "") -> st.SearchStrategy[Any]:
    options: list[st.SearchStrategy[Any]] = []
    if rule.format == "date-time":
        return date_times()
    for t in rule.types:
        if t in ("integer", "number") and rule.exclusive_minimum is not None:
            options.append(st.floats(rule.exclusive_minimum, rule.maximum if rule.maximum is not None else 2.0**53,
                                     exclude_min=True, allow_nan=False, allow_infinity=False))
        elif t == "string":
            options.append(hard_text(min_size=rule.min_length,
                                     max_size=rule.max_length if rule.max_length is not None
                                     else max(DEFAULT_MAX_SIZE, rule.min_length), exclude=exclude))
        elif t in ("integer", "number") and (rule.minimum is not None or rule.maximum is not None):
            low = rule.minimum if rule.minimum is not None else -(2**53)
            high = rule.maximum if rule.maximum is not None else 2**53
            options.append(st.integers(int(low), int(high)) if t == "integer"
                           else st.floats(low, high, allow_nan=False, allow_infinity=False))
        else:
            options.append(_values_of(t))
    return st.one_of(options)


def wrong_type_values(rule: FieldRule) -> st.SearchStrategy[Any]:
    """Values of every JSON type the schema does not allow for ``rule`` (``integer`` counts as a ``number``)."""
    allowed = set(rule.types)
    if "number" in allowed:
        allowed.add("integer")
    wrong = [t for t in JSON_TYPES if t not in allowed and not (t == "number" and "integer" in allowed)]
    options = [_values_of(t) for t in wrong]
    if "integer" in allowed and "number" not in allowed:
        options.append(st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()))
    return st.one_of(options)


def valid_requests(schema: str | Mapping[str, Any], fixed: Mapping[str, Any] | None = None,
                   known: Mapping[str, Sequence[Any]] | None = None,
                   exclude: str = "",
                   overrides: Mapping[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Requests valid against ``schema``: ``fixed`` fields keep their value, the others are generated.

    Required properties are always present; optional ones sometimes. Fields keep the schema's order.
    ``fixed`` is for values the target must recognise (agent, project, service_code): generating
    them would only test that the target refuses strangers. ``known`` values (configured accounts,
    payments) are drawn now and then instead of a generated one, so successes get judged too.
    Generated strings never contain a character of ``exclude``. ``overrides`` replaces the schema's
    strategy for a field with a narrower one the caller needs (e.g. :func:`amounts` within a limit).
    """
    rules = field_rules(schema)
    overrides = dict(overrides or {})
    fixed = dict(fixed or {})
    known = {k: list(v) for k, v in (known or {}).items() if v}
    unknown = (set(fixed) | set(known)) - set(rules)
    if unknown:
        raise ValueError(f"field(s) {sorted(unknown)} are not properties of the schema")
    parts: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, rule in rules.items():
        value = st.just(fixed[name]) if name in fixed else overrides[name] if name in overrides \
            else _allowed_values(rule, exclude)
        if name in known and name not in fixed:
            value = st.one_of(value, st.sampled_from(known[name]))
        (parts if rule.required or name in fixed else optional)[name] = value
    order = list(rules)
    return st.fixed_dictionaries(parts, optional=optional).map(
        lambda d: {k: d[k] for k in order if k in d})


def _mutations(rules: Mapping[str, FieldRule],
               valid: st.SearchStrategy[dict[str, Any]]) -> list[st.SearchStrategy[dict[str, Any]]]:
    """One strategy per schema keyword a field carries, each breaking a ``valid`` request in that one
    way: required -> drop it, type -> change it, minLength/maxLength -> cross the bound,
    minimum/maximum -> step outside. Built once, so Hypothesis validates each strategy once, not once
    per example (a flatmap building them per example cost about a third of the generation time)."""
    out: list[st.SearchStrategy[dict[str, Any]]] = []

    def drop(name: str) -> st.SearchStrategy[dict[str, Any]]:
        return valid.map(lambda req: {k: v for k, v in req.items() if k != name})

    def replace_with(name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.tuples(valid, values).map(lambda pair: {**pair[0], name: pair[1]})

    for name, rule in rules.items():
        if rule.required:
            out.append(drop(name))
        out.append(replace_with(name, wrong_type_values(rule)))
        if "string" in rule.types and rule.min_length > 0:
            out.append(replace_with(name, hard_text(max_size=rule.min_length - 1)))
        if "string" in rule.types and rule.max_length is not None:
            out.append(replace_with(name, hard_text(min_size=rule.max_length + 1, max_size=rule.max_length + 8)))
        numeric = {"integer", "number"} & set(rule.types)
        if numeric and rule.exclusive_minimum is not None:
            out.append(replace_with(name, st.one_of(st.just(rule.exclusive_minimum), st.integers(
                max_value=int(rule.exclusive_minimum), min_value=-(2**53)))))
        if rule.format == "date-time":
            out.append(replace_with(name, hard_text(max_size=12)))
        if numeric and rule.minimum is not None:
            out.append(replace_with(name, st.integers(max_value=int(rule.minimum) - 1, min_value=-(2**53))))
        if numeric and rule.maximum is not None:
            out.append(replace_with(name, st.integers(min_value=int(rule.maximum) + 1, max_value=2**53)))
    return out


def invalid_requests(schema: str | Mapping[str, Any], fixed: Mapping[str, Any] | None = None,
                     overrides: Mapping[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Requests that break ``schema`` in exactly one way: a required field dropped, a type changed,
    or a length bound crossed. The rest of the request is valid (``fixed`` values kept).

    Shrinking keeps the request invalid in practice, but a judge should still re-check it against
    the schema (``hypothesis.assume(not schemas.is_valid(...))``) before treating it as invalid.
    """
    mutations = _mutations(field_rules(schema), valid_requests(schema, fixed, overrides=overrides))
    # sampled_from picks mutations evenly; one_of over many branches would favour the first ones.
    return st.sampled_from(mutations).flatmap(lambda mutation: mutation)
