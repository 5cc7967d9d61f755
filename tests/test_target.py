"""Target files: valid ones load, every mistake is one line naming file, line and key."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import textwrap
from pathlib import Path

import pytest

from agws_conformance.resources import data_dir
from agws_conformance.signer import Variant
from agws_conformance.target import (
    Account,
    ConfigError,
    Payment,
    Secret,
    is_production,
    load_target,
    missing_secret_message,
    parse_target,
    resolve_target,
)

SECRET = "hunter2-top-secret"

GOOD = """\
[target]
name = "staging"
base_url = "https://staging.example.kz/gw/"
agent = "tarlan"
project = "mobile"
service_code = "201106"
secret_env = "STAGING_SECRET"
error_format = "new"
signing = "go1.21"
omit_empty = true

[[accounts]]
username = "parking-active-001"
account_status = 1
category = "parking"

[[accounts]]
username = "finance-001"
account_status = 0

[[accounts]]
username = "utilities-001"
account_status = 2
category = "utilities"

[[payments]]
external_id = "200001"
status_code = "4"
"""


def parse(text: str, environ=None):
    return parse_target(textwrap.dedent(text), source="staging.toml",
                        environ={} if environ is None else environ)


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(text)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---- valid files -------------------------------------------------------------------------------


def test_a_full_file_loads() -> None:
    target = parse(GOOD, {"STAGING_SECRET": SECRET})
    assert target.name == "staging"
    assert target.base_url == "https://staging.example.kz/gw"  # trailing slash dropped
    assert target.url("/showcase-gateway/api/v1/user/check") == \
        "https://staging.example.kz/gw/showcase-gateway/api/v1/user/check"
    assert (target.agent, target.project, target.service_code) == ("tarlan", "mobile", "201106")
    assert target.secret_env == "STAGING_SECRET" and target.secret.reveal() == SECRET
    assert target.error_format == "new"
    assert target.variant == Variant(legacy_escapes=True, omit_empty=True)
    assert target.accounts == (Account("parking-active-001", 1, "parking"),
                               Account("finance-001", 0, None),
                               Account("utilities-001", 2, "utilities"))
    assert target.payments == (Payment("200001", "4"),)


def test_defaults_and_missing_secret() -> None:
    target = parse("""\
        [target]
        base_url = "http://127.0.0.1:8080"
        agent = "a"
        project = "p"
        service_code = "s"
        """)
    assert target.name == "staging"  # the file stem
    assert target.secret_env == "AGWS_SECRET" and target.secret is None
    assert target.error_format == "auto" and target.variant == Variant()
    assert (target.signing, target.omit_empty) == ("auto", None)  # detected by the preflight
    assert target.accounts == () and target.payments == ()


def test_the_shipped_example_is_valid(tmp_path: Path) -> None:
    target = load_target(data_dir("targets") / "example-staging.toml",
                         environ={"AGWS_SECRET": SECRET})
    assert target.name == "staging" and target.secret == Secret(SECRET)
    assert {a.account_status for a in target.accounts} == {0, 1, 2}
    assert all(p.status_code in "1234567" for p in target.payments)


# ---- one-line errors with line numbers ---------------------------------------------------------

BASE = """\
[target]
base_url = "https://staging.example.kz"
agent = "a"
project = "p"
service_code = "s"
"""


@pytest.mark.parametrize("extra, message", [
    # line 16: the third [[accounts]] table's account_status
    ('[[accounts]]\nusername = "u0"\naccount_status = 1\n\n[[accounts]]\nusername = "u1"\n'
     'account_status = 0\n[[accounts]]\nusername = "u2"\naccount_status = 5\n',
     "staging.toml:16: accounts[2].account_status must be 0, 1 or 2 (got 5)"),
    ('[[accounts]]\nusername = "u0"\naccount_status = "1"\n',
     "staging.toml:9: accounts[0].account_status must be an integer, not a string; "
     "write account_status = 1"),
    ('[[accounts]]\nusername = "u0"\naccount_status = true\n',
     "staging.toml:9: accounts[0].account_status must be 0, 1 or 2 (got true)"),
    ('[[accounts]]\nusername = "u0"\n',
     "staging.toml:7: accounts[0].account_status is missing; add account_status = 0, 1 or 2"),
    ('[[accounts]]\nusername = "u0"\naccount_status = 1\ncategory = "parkin"\n',
     "staging.toml:10: accounts[0].category must be one of parking, finance, utilities "
     "(got 'parkin')"),
    ('[[accounts]]\nusernme = "u0"\naccount_status = 1\n',
     "staging.toml:8: accounts[0].usernme is not a known key; did you mean 'username'?"),
    ('[[accounts]]\nusername = "u0"\naccount_status = 1\n[[accounts]]\nusername = "u0"\n'
     'account_status = 2\n',
     "staging.toml:11: accounts[1].username 'u0' repeats accounts[0]; each account must be "
     "listed once"),
    ('[[accounts]]\nusername = 77\naccount_status = 1\n',
     'staging.toml:8: accounts[0].username must be a string (got 77); quote it: username = "77"'),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = 4\n',
     'staging.toml:9: payments[0].status_code must be a string (got 4); quote it: '
     'status_code = "4"'),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = "9"\n',
     'staging.toml:9: payments[0].status_code must be one of "1".."7" (got \'9\')'),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = "2"\n\n[[payments]]\nexternal_id = "1"\n'
     'status_code = "3"\n',
     "staging.toml:12: payments[1].external_id '1' repeats payments[0]; each payment must be "
     "listed once"),
    ('[[accounts]]\nusername = "u0"\naccount_status = 0\nfail_reason = "100"\n',
     'staging.toml:10: accounts[0].fail_reason must be a reason code, a non-negative integer such as 100 '
     "(got '100'); write fail_reason = 100"),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = "4"\nfail_reason = -1\n',
     "staging.toml:10: payments[0].fail_reason must be a reason code, a non-negative integer such as 100 (got -1)"),
    ('[[accounts]]\nusername = "u0"\naccount_status = 2\nfail_reason = 2020\n',
     "staging.toml:10: accounts[0].fail_reason 2020 is not a documented reason code; did you mean 202? (the codes "
     "listed on the Reason for operation rejection page: 100-107, 200-207, 300-304, 400-407)"),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = "2"\namount = "100"\n',
     "staging.toml:10: payments[0].amount must be a positive number such as 100 or 100.5 (got '100')"),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = "2"\namount = 0\n',
     "staging.toml:10: payments[0].amount must be a positive number such as 100 or 100.5 (got 0)"),
    ('[[payments]]\nexternal_id = "1"\nstatus_code = "2"\nusername = 7701\n',
     'staging.toml:10: payments[0].username must be a string (got 7701); quote it: username = "7701"'),
    ('[[payments]]\nstatus_code = "2"\n',
     'staging.toml:7: payments[0].external_id is missing; add external_id = "..." to '
     '[[payments]]'),
    ('accounts = [{username = "u", account_status = 3}]\n',
     "staging.toml:7: target.accounts: accounts go in their own tables; write each entry under "
     "[[accounts]] after the [target] keys"),
    ('[payments]\nexternal_id = "1"\n',
     "staging.toml:7: payments must be an array of tables: write each entry under [[payments]]"),
    ('[extra]\nx = 1\n',
     "staging.toml:7: extra is not a known table; allowed keys: target, accounts, payments, write, callbacks, receiver"),
])
def test_table_errors_name_the_line_and_the_key(extra: str, message: str) -> None:
    assert error_of(BASE + "\n" + extra) == message


def test_inline_array_of_tables_is_located_by_key() -> None:
    text = 'accounts = [{username = "u", account_status = 3}]\n' + BASE
    assert error_of(text) == "staging.toml:1: accounts[0].account_status must be 0, 1 or 2 (got 3)"


@pytest.mark.parametrize("line, message", [
    ('bse_url = "x"', "staging.toml:6: target.bse_url is not a known key; did you mean "
                      "'base_url'?"),
    ('colour = "red"', "staging.toml:6: target.colour is not a known key; allowed keys: name, "
                       "base_url, agent, project, service_code, secret_env, error_format, "
                       "signing, omit_empty, categories, other_agent, other_project, other_service_code"),
    ('error_format = "newest"', "staging.toml:6: target.error_format must be one of old, new, "
                                "auto (got 'newest')"),
    ('signing = "go1.19"', "staging.toml:6: target.signing must be one of auto, go1.22, go1.21 "
                           "(got 'go1.19')"),
    ('omit_empty = "yes"', "staging.toml:6: target.omit_empty must be true, false or \"auto\" "
                           "(got 'yes')"),
    ('categories = "parking"', 'staging.toml:6: target.categories must be a non-empty list such as ["parking"] '
                               "(got 'parking')"),
    ('categories = ["parking", "fuel"]', "staging.toml:6: target.categories: 'fuel' is not a category; choose "
                                         "from parking, finance, utilities"),
    ('secret_env = "MY-SECRET"', "staging.toml:6: target.secret_env must be an environment "
                                 "variable name like AGWS_SECRET (got 'MY-SECRET')"),
    ('name = 3', "staging.toml:6: target.name must be a string (got 3)"),
])
def test_target_key_errors(line: str, message: str) -> None:
    assert error_of(BASE + line + "\n") == message


def test_missing_required_key_points_at_the_table() -> None:
    text = "# comment\n\n[target]\nbase_url = \"https://x.kz\"\nagent = \"a\"\nproject = \"p\"\n"
    assert error_of(text) == ('staging.toml:3: target.service_code is missing; add '
                              'service_code = "..." to [target]')


def test_wrong_type_and_empty_value() -> None:
    assert error_of(BASE.replace('agent = "a"', "agent = 5")) == \
        "staging.toml:3: target.agent must be a string (got 5)"
    assert error_of(BASE.replace('agent = "a"', 'agent = "  "')) == \
        "staging.toml:3: target.agent must not be empty"


@pytest.mark.parametrize("url, problem", [
    ("ftp://x.kz", "must start with http:// or https:// (got scheme 'ftp')"),
    ("staging.example.kz", "must start with http:// or https://"),
    ("https://x.kz/?a=1", "must not contain a query string (?...)"),
    ("https://x.kz/#frag", "must not contain a fragment (#...)"),
    ("https:///path", "has no host (expected e.g. https://staging.example.kz)"),
    ("https://x.kz:99999", "is not a valid URL (bad port or brackets)"),
    ("https://x .kz", "must not contain spaces or control characters"),
    ("https://qa:Pa55word-XYZ@x.kz", "must not contain credentials (user:password@); the suite "
                                     "signs requests with the secret from the environment "
                                     "instead"),
])
def test_bad_base_url(url: str, problem: str) -> None:
    message = error_of(BASE.replace("https://staging.example.kz", url))
    assert message == f"staging.toml:2: target.base_url {problem}"
    assert "Pa55word" not in message


def test_secret_in_the_file_is_refused_without_echoing_it() -> None:
    message = error_of(BASE + f'secret = "{SECRET}"\n')
    assert message.startswith("staging.toml:6: target.secret: the secret must not be in the "
                              "target file")
    assert SECRET not in message


def test_misplaced_and_missing_tables() -> None:
    assert error_of('base_url = "https://x.kz"\n') == \
        "staging.toml:1: base_url must be inside the [target] table; put [target] above it"
    assert error_of('[[accounts]]\nusername = "u"\naccount_status = 1\n') == \
        ("staging.toml:1: the [target] table is missing; add [target] with base_url, agent, "
         "project and service_code")


@pytest.mark.parametrize("text, message", [
    ('[target]\nbase_url = https://x\n',
     "staging.toml:2:12: TOML syntax error: Invalid value; fix the file (strings need quotes, "
     "tables need [brackets])"),
    ('[target\n', "staging.toml:1:8: TOML syntax error: Expected ']' at the end of a table "
                  "declaration; fix the file (strings need quotes, tables need [brackets])"),
    ('[target]\nagent = "a"\nagent = "b"\n',
     "staging.toml:3:12: TOML syntax error: Cannot overwrite a value; fix the file (strings "
     "need quotes, tables need [brackets])"),
    ("", "staging.toml:1: the target file is empty; start from targets/example-staging.toml"),
    ("\n  \n# only a comment\n", None),
])
def test_syntax_errors_keep_line_and_column(text: str, message: str | None) -> None:
    got = error_of(text)
    if message is None:
        assert got == "staging.toml:1: the [target] table is missing; add [target] with " \
                      "base_url, agent, project and service_code"
    else:
        assert got == message


# ---- files -------------------------------------------------------------------------------------


def test_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^.*nope\.toml: no such file; check the path"):
        load_target(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r": is a directory; pass the target \.toml file"):
        load_target(tmp_path)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(BASE.encode() + b'name = "caf\xe9"\n')
    with pytest.raises(ConfigError) as info:
        load_target(latin)
    offset = len(BASE.encode()) + len('name = "caf')
    assert str(info.value) == (f"{latin}:6: not valid UTF-8 (byte 0xe9 at offset {offset}); save "
                               "the file as UTF-8")
    empty = tmp_path / "empty.toml"
    empty.write_bytes(b"")
    with pytest.raises(ConfigError, match=r"empty\.toml:1: the target file is empty"):
        load_target(empty)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_target(bom, environ={}).name == "bom"

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(ConfigError) as info:
        load_target(bom)
    assert str(info.value) == f"{bom}: cannot read the file (Permission denied); check its " \
                              "permissions"


# ---- precedence --------------------------------------------------------------------------------


ENV = {"AGWS_BASE_URL": "http://env.test", "AGWS_AGENT": "env-agent",
       "AGWS_PROJECT": "env-project", "AGWS_SERVICE_CODE": "env-code",
       "AGWS_ERROR_FORMAT": "old", "AGWS_SECRET": SECRET}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "staging.toml"
    path.write_text(text)
    return path


def test_environment_alone_is_enough() -> None:
    target = resolve_target(environ=ENV)
    assert (target.base_url, target.agent, target.project, target.service_code) == \
        ("http://env.test", "env-agent", "env-project", "env-code")
    assert target.error_format == "old" and target.secret.reveal() == SECRET
    assert target.name == "env.test" and target.source is None


def test_file_wins_over_environment_and_command_line_wins_over_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    target = resolve_target(file=path, environ=ENV)
    assert (target.base_url, target.agent) == ("https://staging.example.kz", "a")
    assert target.error_format == "old"  # the file did not set it: the environment does
    target = resolve_target(file=path, agent="cli-agent", base_url="http://cli.test/",
                            error_format="new", environ=ENV)
    assert (target.base_url, target.agent, target.project) == ("http://cli.test", "cli-agent", "p")
    assert target.error_format == "new"
    path = write(tmp_path, BASE + 'error_format = "auto"\n')
    assert resolve_target(file=path, environ=ENV).error_format == "auto"


def test_agws_target_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    target = resolve_target(environ={**ENV, "AGWS_TARGET": str(path)})
    assert target.agent == "a" and target.source == str(path)


def test_resolution_errors_are_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_target(environ={"AGWS_BASE_URL": "http://x.test"})
    assert str(info.value) == ("no agent given; pass --agws-agent, set agent in a target file "
                               "(--agws-target or AGWS_TARGET), or export AGWS_AGENT")
    with pytest.raises(ConfigError) as info:
        resolve_target(environ={**ENV, "AGWS_BASE_URL": "http://u:Pa55@x.test"})
    assert str(info.value).startswith("environment variable AGWS_BASE_URL: base_url must not "
                                      "contain credentials")
    assert "Pa55" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        resolve_target(environ={**ENV, "AGWS_ERROR_FORMAT": "newer"})
    assert str(info.value) == ("environment variable AGWS_ERROR_FORMAT: error_format must be one "
                               "of old, new, auto (got 'newer')")
    with pytest.raises(ConfigError) as info:
        resolve_target(base_url="", environ=ENV)
    assert str(info.value) == "--agws-base-url: base_url must not be empty"


# ---- the secret --------------------------------------------------------------------------------


def test_secret_never_shows_itself() -> None:
    secret = Secret(SECRET)
    target = parse(BASE, {"AGWS_SECRET": SECRET})
    rendered = [repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % secret,
                format(secret, ">40"), repr(target), str(target),
                str(dataclasses.asdict(target)), str(copy.deepcopy(target)),
                str(ValueError(f"failed with {secret}"))]
    for text in rendered:
        assert SECRET not in text
    assert repr(secret) == "Secret('***')" and str(secret) == "Secret('***')"
    assert secret.reveal() == SECRET and target.secret == secret
    assert secret != Secret("other") and secret == Secret(SECRET)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(target)
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]


def test_missing_secret_message_names_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + 'secret_env = "STAGING_SECRET"\n')
    target = load_target(path, environ={"AGWS_SECRET": SECRET})
    assert target.secret is None  # the file asked for STAGING_SECRET, not AGWS_SECRET
    message = missing_secret_message(target)
    assert "\n" not in message and "export STAGING_SECRET" in message and str(path) in message
    assert load_target(path, environ={"STAGING_SECRET": ""}).secret is None


def test_short_secret_is_warned_about_without_quoting_it() -> None:
    from agws_conformance.target import SHORT_SECRET, secret_warning

    assert secret_warning("AGWS_SECRET", "x" * SHORT_SECRET) is None
    message = secret_warning("AGWS_SECRET", "qz")
    assert message is not None and "qz" not in message
    assert "AGWS_SECRET" in message and "2 character(s)" in message and "\n" not in message


@pytest.mark.parametrize("prefix, problem", [
    ("", None), ("/gw", None), ("gw", None), ("/a/b", None), ("/%7Egw", None),
    ("/a b", "spaces"), ("/x?y=1", "query string"), ("/x#f", "fragment"),
    ("/a/../b", "plain path"), ("//x", "plain path"), ("/./x", "plain path"), ("/x\t", "control"),
])
def test_path_prefix_is_checked_like_a_base_url_path(prefix: str, problem: str | None) -> None:
    from agws_conformance.target import check_path_prefix

    found = check_path_prefix(prefix.replace("\\t", "\t"))
    assert (found is None) if problem is None else (found is not None and problem in found), found


@pytest.mark.parametrize("url, production", [
    ("https://agwsapi.tarlanpayments.kz", True),
    ("https://AGWSAPI.tarlanpayments.kz./prefix", True),
    ("https://staging.tarlanpayments.kz", False),
    ("http://127.0.0.1:8080", False),
])
def test_is_production(url: str, production: bool) -> None:
    target = parse(BASE.replace("https://staging.example.kz", url))
    assert is_production(target) is production


def test_declared_reasons_usernames_and_amounts_load() -> None:
    target = parse(BASE + '\n[[accounts]]\nusername = "u0"\naccount_status = 2\nfail_reason = 202\n'
                   '\n[[payments]]\nexternal_id = "p1"\nstatus_code = "4"\nusername = "u0"\namount = 100\n'
                   'fail_reason = 100\n', {})
    assert target.accounts == (Account("u0", 2, None, fail_reason=202),)
    assert target.payments == (Payment("p1", "4", username="u0", amount=100.0, fail_reason=100),)
    assert isinstance(target.payments[0].amount, float)


@pytest.mark.parametrize("lines, signing, omit_empty, variant", [
    ("", "auto", None, Variant()),
    ('signing = "auto"\nomit_empty = "auto"\n', "auto", None, Variant()),
    ('signing = "go1.21"\n', "go1.21", None, Variant(legacy_escapes=True)),
    ("omit_empty = false\n", "auto", False, Variant()),
    ('signing = "go1.22"\nomit_empty = true\n', "go1.22", True, Variant(omit_empty=True)),
])
def test_signing_is_detected_unless_declared(lines: str, signing: str, omit_empty: bool | None,
                                             variant: Variant) -> None:
    target = parse(BASE + lines, {})
    assert (target.signing, target.omit_empty, target.variant) == (signing, omit_empty, variant)


def test_categories_limit_what_the_showcase_serves() -> None:
    target = parse(BASE + 'categories = ["parking", "parking"]\n[[accounts]]\nusername = "u"\naccount_status = 1\n'
                   'category = "parking"\n', {})
    assert target.categories == ("parking",)
    assert error_of(BASE + 'categories = ["parking"]\n[[accounts]]\nusername = "u"\naccount_status = 1\n'
                    'category = "finance"\n') == ("staging.toml:10: accounts[0].category 'finance' is not among "
                                                  "[target] categories (parking); add it there or correct the account")
    assert parse(BASE, {}).categories is None


# -- [write]: permission for the suites that move money -------------------------------------------
WRITE_BASE = '[target]\nbase_url = "https://staging.example.kz"\nagent = "a"\nproject = "p"\nservice_code = "s"\n'


def test_write_table_parsed_with_its_limits() -> None:
    target = parse_target(WRITE_BASE + '[write]\nusername = "u1"\nmax_amount = 50\nmax_payments = 12\n'
                          'expiring_username = "u2"\nlifetime = 30\n', source="s.toml", environ={})
    assert target.write is not None and target.write.max_amount == 50.0 and target.write.max_payments == 12
    assert target.write.lifetime == 30.0 and target.write.id_prefix == "agws-test"
    off = parse_target(WRITE_BASE + '[write]\nenabled = false\nusername = "u1"\nmax_amount = 50\nmax_payments = 12\n',
                       source="s.toml", environ={})
    assert off.write is None
    assert parse_target(WRITE_BASE, source="s.toml", environ={}).write is None


@pytest.mark.parametrize("table, message", [
    ('username = "u"\nmax_amount = 10\n', "s.toml:6: write.max_payments is missing; add max_payments = 20"),
    ('username = "u"\nmax_amount = 0\nmax_payments = 3\n', "s.toml:8: write.max_amount must be a number above 0"),
    ('username = "u"\nmax_amount = 1\nmax_payments = 2.5\n', "s.toml:9: write.max_payments must be an integer"),
    ('username = "u"\nmax_amount = 1\nmax_payments = 3\nlifetime = 5\n', "write.expiring_username and write.lifetime go together"),
    ('username = "u"\nmax_amount = 1\nmax_payments = 3\nid_prefix = "a b"\n', "write.id_prefix must be 1-24 letters"),
    ('max_amount = 1\nmax_payments = 3\n', "write.username is missing"),
])
def test_write_table_errors_name_the_key(table: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_target(WRITE_BASE + "[write]\n" + table, source="s.toml", environ={})
    assert message in str(info.value)


def test_write_table_refused_for_production_whatever_the_route() -> None:
    production = WRITE_BASE.replace("staging.example.kz", "agwsapi.tarlanpayments.kz")
    with pytest.raises(ConfigError, match=r"\[write\] is refused for the production host agwsapi.tarlanpayments.kz"):
        parse_target(production + '[write]\nusername = "u"\nmax_amount = 1\nmax_payments = 3\n', source="s.toml", environ={})


def test_write_table_refused_when_the_command_line_points_at_production(tmp_path) -> None:
    path = tmp_path / "staging.toml"
    path.write_text(WRITE_BASE + '[write]\nusername = "u"\nmax_amount = 1\nmax_payments = 3\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="the production host is refused for a target file with"):
        resolve_target(file=path, base_url="https://agwsapi.tarlanpayments.kz", environ={})


# -- [callbacks]: the run's receiver ----------------------------------------------------------------
WRITE_TABLE = '[write]\nusername = "u"\nmax_amount = 1\nmax_payments = 3\n'


def test_callbacks_table_parsed() -> None:
    target = parse_target(WRITE_BASE + WRITE_TABLE + '[callbacks]\nlisten = "0.0.0.0:8099"\n'
                          'url = "https://tunnel.example.kz/agws-callback"\nwithin = 60\n', source="s.toml", environ={})
    assert target.callbacks is not None and (target.callbacks.host, target.callbacks.port) == ("0.0.0.0", 8099)
    assert target.callbacks.url == "https://tunnel.example.kz/agws-callback" and target.callbacks.within == 60.0
    assert target.callbacks.time_scale == 1.0 and target.callbacks.observe == 5.0


@pytest.mark.parametrize("table, message", [
    ('[callbacks]\n', "[callbacks] needs a [write] table"),
    (WRITE_TABLE + '[callbacks]\nlisten = "8099"\n', 'callbacks.listen must be host:port such as "0.0.0.0:8099"'),
    (WRITE_TABLE + '[callbacks]\nlisten = "h:99999"\n', "callbacks.listen must be host:port"),
    (WRITE_TABLE + '[callbacks]\nurl = "ftp://x"\n', "callbacks.url must start with http:// or https://"),
    (WRITE_TABLE + '[callbacks]\nwithin = 0\n', "callbacks.within must be a number above 0"),
    (WRITE_TABLE + '[callbacks]\nsecret = "x"\n', "callbacks.secret is not a known key"),
])
def test_callbacks_table_errors_name_the_key(table: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_target(WRITE_BASE + table, source="s.toml", environ={})
    assert message in str(info.value) and str(info.value).startswith("s.toml:")


def test_neighbour_scope_is_optional_and_checked_line_by_line() -> None:
    """other_agent / other_project / other_service_code: a scope that exists, never this target's own."""
    target = parse(BASE + 'other_agent = "b"\nother_service_code = "t"\n', {})
    assert target.other("agent") == "b" and target.other("service_code") == "t" and target.other("project") is None
    assert parse(BASE, {}).neighbour == ()
    assert error_of(BASE + 'other_agent = "a"\n') == (
        "staging.toml:6: target.other_agent must name another agent than target.agent ('a'): a neighbour that "
        "exists on the gateway")
    assert error_of(BASE + 'other_project = ""\n') == "staging.toml:6: target.other_project must not be empty"
    assert error_of(BASE + "other_service_code = 201107\n") == (
        'staging.toml:6: target.other_service_code must be a string (got 201107); quote it: '
        'other_service_code = "201107"')
