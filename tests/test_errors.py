"""One exception family: every error the package raises on purpose is an AgwsError."""

from __future__ import annotations

import pickle

import pytest

from agws_conformance import errors
from agws_conformance.catalogue import CatalogueError
from agws_conformance.client import HarnessError
from agws_conformance.mock import UnknownFaultError, UnknownVariationError
from agws_conformance.openapi import OpenAPIBuildError
from agws_conformance.schemas import UnknownSchemaError, validator
from agws_conformance.signer import SignerError, sign
from agws_conformance.target import ConfigError, parse_target


@pytest.mark.parametrize("cls, builtin", [
    (ConfigError, None), (UnknownFaultError, ValueError), (UnknownVariationError, ValueError),
    (HarnessError, None), (SignerError, ValueError), (UnknownSchemaError, KeyError),
    (CatalogueError, ValueError), (OpenAPIBuildError, ValueError), (errors.SuiteBug, None),
])
def test_every_error_is_an_agws_error_and_keeps_its_builtin_base(cls: type, builtin: type | None) -> None:
    assert issubclass(cls, errors.AgwsError)
    if builtin is not None:
        assert issubclass(cls, builtin)


def test_the_family_raised_for_real_is_one_line() -> None:
    raised = []
    for attempt in (lambda: sign(b"[1]", "s"), lambda: validator("nope"),
                    lambda: parse_target("[target]\n", source="t.toml")):
        with pytest.raises(errors.AgwsError) as info:
            attempt()
        raised.append(str(info.value))
    assert all(line and "\n" not in line for line in raised), raised
    assert raised[1].startswith("unknown schema 'nope'; known: ")


def test_harness_kinds_are_a_closed_set_and_survive_pickling() -> None:
    assert "setup" in errors.HARNESS_ERROR_KINDS and "circuit-open" in errors.HARNESS_ERROR_KINDS
    with pytest.raises(ValueError, match="unknown harness error kind 'oops'"):
        HarnessError("oops", "x")  # type: ignore[arg-type]
    error = pickle.loads(pickle.dumps(HarnessError("timeout", "no answer", url="http://x")))
    assert (error.kind, str(error), error.url) == ("timeout", "no answer", "http://x")
