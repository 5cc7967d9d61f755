"""The request strategies follow the request schemas, and generated runs are reproducible."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from jsonschema.validators import Draft202012Validator

from agws_conformance import schemas, signer, strategies
from agws_conformance.endpoints import LOOKUP_METHODS, METHODS
from agws_conformance.plugin import generated

# The all-string request schemas (the tests below build string bases); the numeric ones are below.
ENDPOINTS = LOOKUP_METHODS
NUMERIC = ("action/cash-in", "calculate/upper/commission")
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


class _Found(Exception):
    pass


def _exists(strategy, predicate) -> bool:
    """Whether ``strategy`` produces an example satisfying ``predicate`` (searched, not shrunk)."""

    @seed(0)
    @settings(max_examples=2000, database=None, phases=[Phase.generate], report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def search(value) -> None:
        if predicate(value):
            raise _Found

    try:
        search()
    except _Found:
        return True
    return False


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
    mixed = strategies.valid_requests(name, FIXED, known={free: ["known-1", "known-2"]})
    assert _exists(mixed, lambda r: r[free] == "known-1") and _exists(mixed, lambda r: r[free] == "known-2")
    assert _exists(mixed, lambda r: not r[free].startswith("known-"))  # still generated too


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_invalid_requests_are_invalid_in_exactly_one_way(endpoint):
    name = strategies.REQUEST_SCHEMAS[endpoint]
    required = schemas.load_schema(name)["required"]
    base = {**FIXED, **{k: "x" for k in required if k not in FIXED}}
    invalid = strategies.invalid_requests(name, fixed=base)
    for request in _collect(invalid, 100):
        assert schemas.errors(name, request), request
        signer.canonical_from_value(request)  # signable: the target cannot hide behind 1014
        missing = [k for k in required if k not in request]
        changed = [k for k in request if request[k] != base[k]]
        assert len(missing) + len(changed) == 1, request
    for field in required:
        assert _exists(invalid, lambda r: field not in r), field
        assert _exists(invalid, lambda r: r.get(field) == ""), field  # below minLength 1
        assert _exists(invalid, lambda r: not isinstance(r.get(field, ""), str)), field


def test_wrong_type_values_cover_every_other_json_type():
    rule = strategies.field_rules("user-check-request")["username"]
    wrong = strategies.wrong_type_values(rule)
    assert not any(isinstance(v, str) for v in _collect(wrong, 100))
    for kind in (type(None), bool, int, float, list, dict):
        assert _exists(wrong, lambda v: type(v) is kind), kind
    numeric = strategies.wrong_type_values(strategies.FieldRule("n", ("integer",), True))
    assert not any(type(v) is int for v in _collect(numeric, 100))
    assert _exists(numeric, lambda v: isinstance(v, str)) and _exists(numeric, lambda v: isinstance(v, float))


def test_hard_characters_are_covered():
    text = strategies.hard_text()
    groups = {
        "html": "<>&", "quotes": "\"'", "backslash": "\\", "slash": "/", "controls": "\b\f",
        "separators": "\u2028\u2029", "whitespace": " \t\n\u00a0",
        "cyrillic": "ЖжёЯ", "kazakh": "ӘәҒғҚқҢңӨөҰұҮүҺһІі",
    }
    for group, chars in groups.items():
        assert _exists(text, lambda t: any(c in chars for c in t)), group
    assert _exists(text, lambda t: any(ord(c) > 0xFFFF for c in t))  # astral plane (emoji)
    sample = [t for t in _collect(text, 100) if t]
    assert not any(0xD800 <= ord(c) <= 0xDFFF for t in sample for c in t)  # no lone surrogates
    # Biased, not merely possible: most non-empty strings hold at least one hard character.
    assert sum(any(c in strategies.HARD_CHARACTERS for c in t) for t in sample) > len(sample) // 2


def test_excluded_characters_never_appear_while_the_rest_stay_biased():
    # While the preflight cannot tell Go < 1.22 from 1.22+, \b and \f would be a coin toss.
    exclude = strategies.VARIANT_CHARACTERS["escapes"]
    name = strategies.REQUEST_SCHEMAS["user/check"]
    requests = _collect(strategies.valid_requests(name, fixed=FIXED, exclude=exclude), 300)
    assert not any(c in exclude for r in requests for v in r.values() for c in v)
    assert any("<" in r["username"] or "\u2028" in r["username"] for r in requests)
    assert _exists(strategies.valid_requests(name, fixed=FIXED), lambda r: "\b" in r["username"])


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
    invalid = strategies.invalid_requests(schema, fixed=FIXED)
    assert not any(validator.is_valid(r) for r in _collect(invalid, 100))
    assert _exists(invalid, lambda r: "amount" not in r)
    assert _exists(invalid, lambda r: isinstance(r.get("external_id"), str) and len(r["external_id"]) > 7)
    assert _exists(strategies.wrong_type_values(strategies.field_rules(schema)["amount"]), lambda v: isinstance(v, str))
    # The stored schema is untouched.
    assert "amount" not in schemas.load_schema("action-status-request")["properties"]


def test_numeric_bounds_are_honoured_and_crossed():
    schema = {"type": "object", "properties": {"amount": {"type": "integer", "minimum": 0, "maximum": 10}},
              "required": ["amount"]}
    assert all(0 <= r["amount"] <= 10 for r in _collect(strategies.valid_requests(schema), 50))
    invalid = strategies.invalid_requests(schema)
    assert not any(type(r.get("amount")) is int and 0 <= r["amount"] <= 10 for r in _collect(invalid, 100))
    assert _exists(invalid, lambda r: "amount" not in r)
    assert _exists(invalid, lambda r: type(r.get("amount")) is int and r["amount"] < 0)
    assert _exists(invalid, lambda r: type(r.get("amount")) is int and r["amount"] > 10)


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

def _agws(profile_examples: int, seed_option: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(settings=SimpleNamespace(examples=profile_examples, hypothesis_seed=seed_option),
                           nodeid="suites/x.py::t[a/b]")


def test_settings_follow_the_profile_and_are_reproducible(monkeypatch):
    monkeypatch.delenv(generated.SEED_ENV, raising=False)
    s = generated.hypothesis_settings(_agws(25))
    assert (s.max_examples, s.deadline, s.database, s.derandomize) == (25, None, None, False)
    assert HealthCheck.function_scoped_fixture in s.suppress_health_check
    assert generated.hypothesis_settings(_agws(300)).max_examples == 300
    assert generated.hypothesis_settings(_agws(25, seed_option="3")).derandomize is True
    monkeypatch.setenv(generated.SEED_ENV, "7")
    assert generated.hypothesis_settings(_agws(25)).derandomize is True


def test_fixed_seed_sources():
    assert generated.fixed_seed(None, {}) is None
    assert generated.fixed_seed(None, {generated.SEED_ENV: " 12 "}) == 12
    assert generated.fixed_seed("3", {}) == 3  # --hypothesis-seed=3
    assert generated.fixed_seed("3", {generated.SEED_ENV: "5"}) == 5  # the environment wins
    assert generated.fixed_seed(None, {generated.SEED_ENV: "nightly"}) == "nightly"  # text seeds, as Hypothesis allows
    assert generated.fixed_seed("nightly", {}) == "nightly"


def test_replay_command_is_shell_safe():
    assert generated.replay_command("suites/t.py::t[user/check]", 4) == \
        "pytest 'suites/t.py::t[user/check]' --hypothesis-seed=4"
    assert generated.replay_command("s.py::t", "a b") == "pytest s.py::t '--hypothesis-seed=a b'"
    # The replay goes to the same target, not to the embedded mock.
    assert generated.replay_command("s.py::t", 7, ["--agws-target", "my staging.toml"]) == \
        "pytest s.py::t --agws-target 'my staging.toml' --hypothesis-seed=7"


def test_same_seed_same_examples():
    strategy = strategies.valid_requests("user-check-request", fixed=FIXED)
    assert _collect(strategy, 30) == _collect(strategy, 30)


@pytest.mark.parametrize("endpoint", NUMERIC)
def test_numeric_requests_are_valid_and_signable(endpoint):
    """Amounts as whole tiyn and RFC 3339 datetimes: valid, signable, and Go's form for whole amounts."""
    name = METHODS[endpoint].request_schema
    requests = _collect(strategies.valid_requests(name, overrides={"amount": strategies.amounts(50)}))
    for request in requests:
        assert schemas.errors(name, request) == [], request
        assert 0.01 <= request["amount"] <= 50 and abs(round(request["amount"] * 100) - request["amount"] * 100) < 1e-6
        signer.go_struct_body({k: v for k, v in request.items() if isinstance(v, (str, int, float))})
    assert _exists(strategies.amounts(50), lambda a: isinstance(a, int))  # whole amounts are written 100, never 100.0


@pytest.mark.parametrize("endpoint", NUMERIC)
def test_numeric_invalid_requests_are_invalid(endpoint):
    name = METHODS[endpoint].request_schema
    invalid = strategies.invalid_requests(name, overrides={"amount": strategies.amounts(50)})
    for request in _collect(invalid, 100):
        assert schemas.errors(name, request), request
    assert _exists(invalid, lambda r: isinstance(r.get("amount"), (int, float)) and r["amount"] <= 0)
    if endpoint == "action/cash-in":
        assert _exists(invalid, lambda r: isinstance(r.get("datetime"), str) and schemas.errors(
            name, {**r, "amount": 1}) != [])
