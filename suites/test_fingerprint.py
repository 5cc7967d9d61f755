"""Which canonicalization the target signs with: recorded (INFO), never judged.

Signers disagree in three places (public-facts.md, Signing page): Go before 1.22 writes ``\\b``
``\\f`` as ``\\u0008`` ``\\u000c``; the signing page leaves ``""`` fields out while the documents'
Go sample keeps them; a non-Go signer may write ``< > &`` raw. Each probe sends one body that
differs only in that respect, signed both ways, and records which signature the target takes.
A target file declares its variant (``[target] signing``, ``omit_empty``); a contradiction is
reported so that whoever owns the target file can correct it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import pytest

from agws_conformance import judge, signer


class Probe(NamedTuple):
    """One dimension: the body that exposes it, and the two ways to sign it (label, variant change)."""

    dimension: str
    body: Callable[[Any], dict[str, Any]]  # agws -> fields
    choices: tuple[tuple[str, dict[str, bool]], tuple[str, dict[str, bool]]]
    remedy: str  # what to do when the target file's declaration is contradicted


PROBES = (
    Probe("escapes", lambda agws: agws.fields("user/check", username=agws.unknown_username() + "-\b\f"),
          (("go1.22", {"legacy_escapes": False}), ("go1.21", {"legacy_escapes": True})),
          "set [target] signing in the target file"),
    # An undocumented extra field whose value is "": the only field that can be empty and valid.
    Probe("empty-fields", lambda agws: agws.fields("user/check", comment=""),
          (("empty-fields-included", {"omit_empty": False}), ("empty-fields-omitted", {"omit_empty": True})),
          "set [target] omit_empty in the target file"),
    Probe("html", lambda agws: agws.fields("user/check", username=agws.unknown_username() + "-<&>"),
          (("html-escaped", {"escape_html": True}), ("html-raw", {"escape_html": False})),
          "a non-Go signer: Go clients' values with < > & will be rejected, see SIG-CANON-HTML"),
)


def _outcome(resp) -> str:
    if judge.passed_signature_check(resp):
        return "accepted"
    if judge.rejected_by_signature(resp):
        return "rejected"
    return "refused otherwise"


def _declared(variant: signer.Variant, probe: Probe) -> str:
    for label, change in probe.choices:
        if all(getattr(variant, name) == value for name, value in change.items()):
            return label
    raise AssertionError(f"test bug: no choice of {probe.dimension} matches {variant}")


@pytest.mark.requirement("SIG-INFO-VARIANT")
def test_canonicalization_fingerprint(agws) -> None:
    declared_variant = agws.target.variant
    labels: list[str] = []
    for probe in PROBES:
        content = agws.encode(probe.body(agws))
        signatures = {label: agws.sign(content, dataclasses.replace(declared_variant, **change))
                      for label, change in probe.choices}
        assert len(set(signatures.values())) == 2, f"test bug: the {probe.dimension} probe signs the same both ways"
        outcomes = {label: _outcome(agws.send("user/check", content=content, signature=signature))
                    for label, signature in signatures.items()}
        accepted = [label for label, outcome in outcomes.items() if outcome == "accepted"]
        if len(accepted) == 1:
            observed = accepted[0]
        elif len(accepted) == 2:
            observed = f"{probe.dimension}-either"
        else:
            observed = f"{probe.dimension}-undetermined"
        labels.append(observed)
        message = f"{probe.dimension}: " + ", ".join(
            f"signed {label}: {outcome}" for label, outcome in outcomes.items()) + f" -> {observed}"
        declared = _declared(declared_variant, probe)
        if len(accepted) == 1 and observed != declared:
            # One message per dimension: the report shows only the first few findings of a test.
            message += f"; CONTRADICTS the target file, which declares {declared} ({probe.remedy})"
        agws.observe("SIG-INFO-VARIANT", message)
    agws.note("fingerprint", ", ".join(labels))
