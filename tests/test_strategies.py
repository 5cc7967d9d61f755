"""The request strategies follow the request schemas, and generated runs are reproducible."""

from __future__ import annotations

import copy
import unicodedata
from types import SimpleNamespace

import hypothesis
import pytest
from hypothesis import HealthCheck, given, seed, settings
from jsonschema.validators import Draft202012Validator

from agws_conformance import schemas, signer, strategies
from agws_conformance.plugin import generated

ENDPOINTS = tuple(strategies.REQUEST_SCHEMAS)
FIXED = {"agent": "mock-showcase", "project": "mock-project", "service_code": "201106"}


def _collect(strategy, n: int = 100) -> list:
    """``n`` examples of ``strategy``, deterministically (seed 0)."""
    out: list = []

    @seed(0)
    @settings(max_examples=n, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(value) -> None:
        out.append(value)

    run()
    return out


def _validator(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema, registry=schemas.registry())


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_valid_requests_are_valid_and_keep_fixed_fields(endpoint):
    name = strategies.REQUEST_SCHEMAS[endpoint]
    fixed = {k: v for k, v in FIXED.items()}
    requests = _collect(strategies.valid_requests(name, fixed=fixed))
    for request in requests:
        assert schemas.errors(name, request) == [], request
        assert {k: request[k] for k in fixed} == fixed
        # Every generated value has a Go canonical form, so the suite can sign it.
        signer.canonical_from_value(request)
        signer.go_struct_body(request)
    free = [k for k in schemas.load_schema(name)["required"] if k not in fixed]
    assert len({request[free[0]] for request in requests}) > len(requests) // 2  # really generated


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_known_values_are_mixed_in(endpoint):
    name = strategies.REQUEST_SCHEMAS[endpoint]
    free = next(k for k in schemas.load_schema(name)["required"] if k not in FIXED)
    values = [r[free] for r in _collect(strategies.valid_requests(name, FIXED, known={free: ["known-1", "known-2"]}))]
    assert {"known-1", "known-2"} <= set(values)
    assert sum(v.startswith("known-") for v in values) < len(values) // 2  # mostly generated


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_invalid_requests_are_invalid_in_each_way(endpoint):
    name = strategies.REQUEST_SCHEMAS[endpoint]
    required = schemas.load_schema(name)["required"]
    base = {**FIXED, **{k: "x" for k in required if k not in FIXED}}
    seen = set()
    for request in _collect(strategies.invalid_requests(name, fixed=base), 150):
        problems = schemas.errors(name, request)
        assert problems, request
        signer.canonical_from_value(request)  # signable: the target cannot hide behind 1014
        missing = [k for k in required if k not in request]
        changed = [k for k in request if request[k] != base[k]]
        assert len(missing) + len(changed) == 1, request  # exactly one thing broken
        if missing:
            seen.add("dropped")
        elif not isinstance(request[changed[0]], str):
            seen.add(f"type:{type(request[changed[0]]).__name__}")
        else:
            seen.add("too-short")
    assert {"dropped", "too-short", "type:NoneType", "type:bool", "type:int", "type:list", "type:dict"} <= seen


def test_hard_characters_are_covered():
    text = "".join(_collect(strategies.hard_text(), 150))
    groups = {
        "html": "<>&", "quotes": "\"'", "backslash": "\\", "slash": "/", "controls": "\b\f",
        "separators": "\u2028\u2029", "whitespace": " \t\n\u00a0",
    }
    for group, chars in groups.items():
        assert any(c in text for c in chars), group
    assert any("CYRILLIC" in unicodedata.name(c, "") for c in text)
    assert any(c in "ӘәҒғҚқҢңӨөҰұҮүҺһІі" for c in text)  # Kazakh letters beyond Russian Cyrillic
    assert any(ord(c) > 0xFFFF for c in text)  # astral plane (emoji)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)  # no lone surrogates: not valid UTF-8


def test_every_hard_character_is_one_encodable_code_point():
    for c in strategies.HARD_CHARACTERS:
        assert len(c) == 1
        c.encode("utf-8")


def test_field_rules_come_from_the_schema():
    rules = strategies.field_rules("user-check-request")
    assert list(rules) == ["username", "agent", "project", "service_code"]
    assert all(r.types == ("string",) and r.required and r.min_length == 1 for r in rules.values())


def test_changing_a_schema_copy_changes_the_strategy():
    schema = copy.deepcopy(schemas.load_schema("action-status-request"))
    schema["properties"]["amount"] = {"type": "integer", "minimum": 0}
    schema["required"].append("amount")
    schema["properties"]["external_id"] = {"type": "string", "minLength": 5, "maxLength": 7}
    validator = _validator(schema)
    valid = _collect(strategies.valid_requests(schema, fixed=FIXED))
    assert all(validator.is_valid(r) for r in valid)
    assert all(isinstance(r["amount"], int) and 5 <= len(r["external_id"]) <= 7 for r in valid)
    invalid = _collect(strategies.invalid_requests(schema, fixed=FIXED), 200)
    assert not any(validator.is_valid(r) for r in invalid)
    assert any("amount" not in r for r in invalid)
    assert any("amount" in r and not isinstance(r["amount"], int) for r in invalid)  # amount's type changed
    assert any(isinstance(r.get("external_id"), str) and len(r["external_id"]) > 7 for r in invalid)
    # The stored schema is untouched.
    assert "amount" not in schemas.load_schema("action-status-request")["properties"]


def test_numeric_bounds_are_honoured_and_crossed():
    schema = {"type": "object", "properties": {"amount": {"type": "integer", "minimum": 0, "maximum": 10}},
              "required": ["amount"]}
    assert all(0 <= r["amount"] <= 10 for r in _collect(strategies.valid_requests(schema), 50))
    amounts = [r.get("amount") for r in _collect(strategies.invalid_requests(schema), 100)]
    assert None in amounts  # dropped (or null)
    assert any(type(a) is int and a < 0 for a in amounts) and any(type(a) is int and a > 10 for a in amounts)
    assert not any(type(a) is int and 0 <= a <= 10 for a in amounts)


def test_dropping_required_changes_what_invalid_means():
    schema = copy.deepcopy(schemas.load_schema("user-check-request"))
    schema["required"] = ["username"]
    invalid = _collect(strategies.invalid_requests(schema, fixed=FIXED), 100)
    assert all("username" in r or set(r) >= set(FIXED) for r in invalid)
    assert not any(set(r) == {"username", "project", "service_code"} for r in invalid)  # agent is optional now


def test_schema_mistakes_are_clear_errors():
    with pytest.raises(ValueError, match="unknown endpoint 'nope'"):
        strategies.request_schema("nope")
    with pytest.raises(ValueError, match="'extra'.*not properties"):
        strategies.valid_requests("user-check-request", known={"extra": ["x"]})
    with pytest.raises(ValueError, match="'extra'.*not properties"):
        strategies.valid_requests("user-check-request", fixed={"extra": "x"})
    schema = {"type": "object", "properties": {"a": {"minLength": 1}}, "required": ["a"]}
    with pytest.raises(ValueError, match="property 'a': no 'type'"):
        strategies.field_rules(schema)
    with pytest.raises(ValueError, match=r"required field\(s\) \['b'\]"):
        strategies.field_rules({"type": "object", "properties": {}, "required": ["b"]})


# -- plugin/generated.py ----------------------------------------------------------------------

def _agws(profile_examples: int) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(examples=profile_examples), nodeid="suites/x.py::t[a/b]")


def test_settings_follow_the_profile_and_are_reproducible(monkeypatch):
    monkeypatch.delenv(generated.SEED_ENV, raising=False)
    monkeypatch.setattr(hypothesis.core, "global_force_seed", None)
    s = generated.hypothesis_settings(_agws(25))
    assert (s.max_examples, s.deadline, s.database, s.derandomize) == (25, None, None, False)
    assert HealthCheck.function_scoped_fixture in s.suppress_health_check
    assert generated.hypothesis_settings(_agws(300)).max_examples == 300
    monkeypatch.setenv(generated.SEED_ENV, "7")
    assert generated.hypothesis_settings(_agws(25)).derandomize is True


def test_fixed_seed_sources(monkeypatch):
    monkeypatch.setattr(hypothesis.core, "global_force_seed", None)
    assert generated.fixed_seed({}) is None
    assert generated.fixed_seed({generated.SEED_ENV: " 12 "}) == 12
    monkeypatch.setattr(hypothesis.core, "global_force_seed", 3)  # what --hypothesis-seed=3 sets
    assert generated.fixed_seed({}) == 3
    assert generated.fixed_seed({generated.SEED_ENV: "5"}) == 5  # the environment wins
    with pytest.raises(ValueError, match=r"AGWS_HYPOTHESIS_SEED='x' is not an integer seed"):
        generated.fixed_seed({generated.SEED_ENV: "x"})


def test_replay_command_is_shell_safe():
    assert generated.replay_command("suites/t.py::t[user/check]", 4) == \
        "pytest 'suites/t.py::t[user/check]' --hypothesis-seed=4"


def test_same_seed_same_examples():
    strategy = strategies.valid_requests("user-check-request", fixed=FIXED)
    assert _collect(strategy, 30) == _collect(strategy, 30)
