"""Which canonicalization the target signs with: detected by the preflight, recorded here (INFO).

Signers disagree in three places (public-facts.md, Signing page): Go before 1.22 writes ``\\b``
``\\f`` as ``\\u0008`` ``\\u000c``; the signing page leaves ``""`` fields out while the documents'
Go sample keeps them; a non-Go signer may write ``< > &`` raw. Before any test, the preflight
(``agws_conformance.preflight``) sends one body per dimension that differs only in that respect,
signed both ways, and every later request signs the way the target takes. A target file that
declares a dimension the probe contradicts stops the run as a setup problem, so by the time this
test runs, what it records is what the whole run used.
"""

from __future__ import annotations

import pytest

from agws_conformance.findings import invariant


@pytest.mark.requirement("SIG-INFO-VARIANT")
def test_canonicalization_fingerprint(agws) -> None:
    report = agws.preflight
    invariant(report is not None and report.ok, "a suite test ran without a passed preflight")
    for found in report.detections:
        agws.observe("SIG-INFO-VARIANT", f"{found.dimension}: {found.evidence} -> {found.observed}")
    used = f"every request signed {agws.variant.name}"
    if report.undetermined:
        used += (f"; undetermined: {', '.join(report.undetermined)} (generated requests avoid the characters "
                 "on which the variants differ)")
    agws.observe("SIG-INFO-VARIANT", used)
    agws.note("fingerprint", ", ".join(f"{d.dimension}: {d.observed}" for d in report.detections) or "not probed")
