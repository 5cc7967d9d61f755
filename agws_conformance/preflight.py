"""Before any suite test: is the setup right, and how does this target sign?

A wrong secret, a wrong path prefix or a missing test account would otherwise fail a hundred
tests with "1014 Invalid signature" or "HTTP 404", and be reported as a gateway defect. The
preflight sends a handful of requests first and either diagnoses the setup (the run stops:
INCOMPLETE, one line naming the most likely cause, its evidence and the fix) or hands the suites
a target that is known to be reachable, to accept this project's signatures, to hold the declared
accounts and payments, and whose signing variant is known.

Signing variants (public-facts.md, Signing page): Go before 1.22 writes ``\\b`` ``\\f`` as
``\\u0008`` ``\\u000c``; the signing page leaves ``""`` fields out of the signature, the documents'
Go sample keeps them. A probe sends one body that differs only in that respect, signed both ways;
the signature the target takes decides, unless the target file declares the dimension and the
probe contradicts it (a setup problem: the declaration is wrong). A third probe records whether the
target escapes ``< > &`` as Go does; a target that does not is a non-Go signer, judged by
SIG-CANON-HTML, never adopted as a variant.

Plain functions over a ``send`` callable, so the diagnosis is tested without pytest or a network.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NoReturn, Protocol

from agws_conformance import judge, signer
from agws_conformance.client import HarnessError, Response
from agws_conformance.endpoints import ENDPOINTS, METHODS, SCOPE_CODES
from agws_conformance.signer import Variant
from agws_conformance.target import Target
from agws_conformance.transcript import Exchange

__all__ = ["Detection", "PreflightReport", "Sender", "preflight_evidence", "run_preflight"]



class Sender(Protocol):
    def __call__(self, endpoint: str, content: bytes, signature: str | None) -> Response: ...


@dataclass(frozen=True)
class Detection:
    """What one signing probe observed."""

    dimension: str  # "escapes" | "empty-fields" | "html"
    observed: str  # a choice label, "either" or "undetermined"
    evidence: str  # what each signature got, in one line

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass
class PreflightReport:
    """The outcome: ``problem`` is None when the setup is right; ``variant`` is what later requests sign with."""

    target: str
    variant: Variant = field(default_factory=Variant)
    detections: list[Detection] = field(default_factory=list)
    problem: str | None = None
    cause: str | None = None
    fix: str | None = None
    requests: int = 0
    evidence: Exchange | None = None  # the exchange that decided a failure (redacted at capture)
    undetermined: tuple[str, ...] = ()  # dimensions no probe could decide
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        """One line for a failed preflight: the problem and the fix."""
        if self.ok:
            return f"target {self.target!r}: setup verified in {self.requests} requests; signing {self.variant.name}"
        return f"setup problem on target {self.target!r}: {self.problem}; fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return {"status": "passed" if self.ok else "failed", "problem": self.problem, "cause": self.cause,
                "fix": self.fix, "requests": self.requests, "variant": self.variant.name,
                "detections": [d.to_dict() for d in self.detections], "undetermined": list(self.undetermined),
                "notes": list(self.notes), "evidence": _shown(self.evidence)}


EVIDENCE_BODY_CAP = 2048
"""Bytes of each evidence body kept in the JSON form (the HTML report shows the whole exchange)."""


def _shown(exchange: Exchange | None) -> dict[str, Any] | None:
    if exchange is None:
        return None
    doc = exchange.to_dict()
    for part in ("request", "response"):
        body = doc[part].get("body")
        if isinstance(body, str) and len(body) > EVIDENCE_BODY_CAP:
            doc[part]["body"] = body[:EVIDENCE_BODY_CAP]
            doc[part]["truncated"] = True
    return doc


class _Stop(Exception):
    """The setup is wrong: the report carries the diagnosis."""


@dataclass
class _Prober:
    target: Target
    send_raw: Sender
    sign: Callable[[bytes, Variant], str]
    fresh_id: Callable[[], str]
    report: PreflightReport

    # -- sending -----------------------------------------------------------------------------
    def send(self, endpoint: str, content: bytes, signature: str | None) -> Response:
        self.report.requests += 1
        return self.send_raw(endpoint, content, signature)

    def body(self, endpoint: str, variant: Variant, **overrides: str) -> bytes:
        """The target's valid request, written in ``variant``'s canonical form: the bytes any signer
        variant hashes alike (a gateway hashing the raw bytes accepts them too)."""
        return signer.canonical_from_value({**self.target.request_fields(endpoint, self.fresh_id), **overrides},
                                           variant)

    def stop(self, cause: str, problem: str, fix: str, resp: Response | None = None,
             exc: HarnessError | None = None) -> NoReturn:
        self.report.cause, self.report.problem, self.report.fix = cause, problem, fix
        self.report.evidence = resp.exchange if resp is not None else exc.exchange if exc is not None else None
        raise _Stop()

    # -- the first answer --------------------------------------------------------------------
    def reach(self) -> None:
        """One correctly signed request for a declared identifier: reachable, the right path,
        the right secret, project, agent and service code, and the declared data."""
        t = self.target
        endpoint = "user/check" if t.accounts or not t.payments else "action/status"
        variant = self.report.variant
        content = self.body(endpoint, variant)
        try:
            resp = self.send(endpoint, content, self.sign(content, variant))
        except HarnessError as exc:
            self.unanswered(endpoint, exc)
        self.not_the_gateway(endpoint, resp)
        code = judge.error_code(resp)
        if code == judge.SIGNATURE_ERROR:
            self.confirm_secret(endpoint, resp)
        elif code in SCOPE_CODES:
            key, meaning = SCOPE_CODES[code]
            value = getattr(t, key)
            self.stop(key, f"a correctly signed request naming {key} {value!r} was answered {code} "
                           f"({meaning}): this target does not know that {key} ({judge.describe(resp)})",
                      f"correct [target] {key}{self.where()}: use the {key} the gateway's owners gave you", resp)
        if t.accounts or t.payments:
            self.check_declared(endpoint, resp, t.accounts[0].username if endpoint == "user/check"
                                else t.payments[0].external_id, 0)

    def unanswered(self, endpoint: str, exc: HarnessError) -> NoReturn:
        path = ENDPOINTS[endpoint]
        if exc.exchange is not None and exc.exchange.status is not None:
            self.stop("stalled", f"the first answer (HTTP {exc.exchange.status} on {path}) did not complete "
                                 f"within the deadline: {exc}",
                      "check the target, or raise --agws-timeout if it is just slow", exc=exc)
        self.stop(exc.kind, f"the target did not answer the first request ({exc.kind}): {exc}",
                  "check that base_url is right and the target is up and reachable from this machine", exc=exc)

    def not_the_gateway(self, endpoint: str, resp: Response) -> None:
        """Stop when what answered is clearly not an AGWS gateway (a web server, a proxy, a router)."""
        ctype = (resp.headers.get("content-type") or "").split(";")[0].strip().lower() or "no content type"
        what = f"HTTP {resp.status} ({ctype})"
        path = ENDPOINTS[endpoint]
        base = f"base_url {self.target.base_url!r}"
        known = judge.error_code(resp) in judge.EXPECTED_ERROR_CODES | {judge.SIGNATURE_ERROR}
        if resp.status in (404, 405, 410) and not known:
            # Even a JSON envelope: a router's "no such route" is not an AGWS answer on a documented path.
            self.stop("path", f"{what} on the documented path {path} ({judge.describe(resp)}): nothing AGWS "
                              f"answers there, so {base} or its path prefix is wrong",
                      "set [target] base_url to the origin plus any prefix in front of /showcase-gateway/api/v1"
                      + self.where(), resp)
        if isinstance(resp.json, dict) and ("status" in resp.json or "result" in resp.json):
            return
        if resp.status in (404, 410):
            self.stop("path", f"{what} on the documented path {path}: nothing AGWS answers there, so {base} "
                              "or its path prefix is wrong",
                      "set [target] base_url to the origin plus any prefix in front of /showcase-gateway/api/v1"
                      + self.where(), resp)
        if 300 <= resp.status < 400:
            location = resp.headers.get("location", "no Location header")
            self.stop("path", f"{what} redirect to {location} on {path}: the suite never follows redirects",
                      f"set [target] base_url to where it redirects (http vs https, a prefix){self.where()}", resp)
        if resp.status in (401, 403, 407):
            self.stop("access", f"{what} on {path}: something in front of the gateway refused the request "
                                "(an IP allow-list, a WAF, a proxy asking for credentials)",
                      "ask the gateway's owners to admit this machine", resp)
        if resp.status in (502, 503, 504):
            self.stop("down", f"{what} on {path}: the proxy in front of the gateway cannot reach it",
                      "check that the gateway behind the proxy is running", resp)
        if ctype in ("text/html", "application/xhtml+xml"):
            self.stop("path", f"an HTML page ({what}) answered on the documented path {path}: {base} points at "
                              "a web site, not the gateway",
                      f"set [target] base_url to the gateway's origin and prefix{self.where()}", resp)
        # Anything else may be the gateway itself answering badly: the suites judge it.

    def confirm_secret(self, endpoint: str, resp: Response) -> None:
        """1014 for a correctly signed request: ask the other endpoint once before blaming the secret."""
        other = "action/status" if endpoint == "user/check" else "user/check"
        variant = self.report.variant
        content = self.body(other, variant)
        try:
            second = self.send(other, content, self.sign(content, variant))
        except HarnessError:
            second = None
        if second is None or judge.rejected_by_signature(second):
            t = self.target
            self.stop("secret", f"every correctly signed request was refused with 1014 Invalid signature "
                                f"({ENDPOINTS[endpoint]} and {ENDPOINTS[other]}): {t.secret_env} does not hold the "
                                f"secret of project {t.project!r}, or the gateway's signature check is broken",
                      f"export the project's secret in {t.secret_env} (and check [target] project)", resp)
        self.report.notes.append(f"{ENDPOINTS[endpoint]} refused a correctly signed request with 1014 while "
                                 f"{ENDPOINTS[other]} accepted one: not a setup problem, the suites judge it")

    # -- declared data -----------------------------------------------------------------------
    def where(self) -> str:
        return f" in {self.target.source}" if self.target.source else ""

    def check_declared(self, endpoint: str, resp: Response, ident: str, index: int) -> None:
        t = self.target
        declared = t.accounts if endpoint == "user/check" else t.payments
        if not declared or index >= len(declared):
            return
        missing = METHODS[endpoint].missing_code
        if missing is None or judge.error_code(resp) != missing:
            return
        table, key = ("accounts", "username") if endpoint == "user/check" else ("payments", "external_id")
        self.stop(table[:-1], f"declared {table[:-1]} {ident!r} ({table}[{index}]) was answered {missing} "
                              f"{judge.DOCUMENTED_MESSAGES[missing]!r}: it does not exist on this target",
                  f"correct or remove {table}[{index}].{key}{self.where()}, or create it on the target", resp)

    def declared_data(self) -> None:
        """Every declared account and payment exists (the first account was checked by reach())."""
        t = self.target
        reached = "user/check" if t.accounts else "action/status"
        for endpoint, items, key in (("user/check", t.accounts, "username"),
                                     ("action/status", t.payments, "external_id")):
            for index, item in enumerate(items):
                if endpoint == reached and index == 0:
                    continue
                ident = getattr(item, key)
                resp = self.ask(endpoint, key, ident)
                if resp is not None:
                    self.check_declared(endpoint, resp, ident, index)

    def ask(self, endpoint: str, key: str, ident: str) -> Response | None:
        """The answer to a correctly signed request naming ``ident`` (None, noted, when there is none)."""
        variant = self.report.variant
        content = self.body(endpoint, variant, **{key: ident})
        try:
            return self.send(endpoint, content, self.sign(content, variant))
        except HarnessError as exc:
            self.report.notes.append(f"could not check {key} {ident!r}: {exc.kind}")
            return None

    def write_accounts(self) -> None:
        """The [write] table's accounts exist and the payee can be topped up: a payment refused for
        a missing account is a setup mistake, not a gateway defect (only user/check is sent)."""
        write = self.target.write
        if write is None:
            return
        for key, username in (("username", write.username), ("expiring_username", write.expiring_username)):
            resp = self.ask("user/check", "username", username) if username is not None else None
            if resp is None:
                continue
            result = resp.json.get("result") if judge.is_success(resp) else None
            fix = f"correct write.{key}{self.where()}, or create the account on the target"
            if judge.error_code(resp) == METHODS["user/check"].missing_code:
                self.stop("write", f"[write] {key} {username!r} was answered 1407 "
                                   f"{judge.DOCUMENTED_MESSAGES[1407]!r}: it does not exist on this target", fix, resp)
            if key == "username" and isinstance(result, dict) and result.get("account_status") == 0:
                self.stop("write", f"[write] username {username!r} cannot be topped up (account_status 0): "
                                   "every payment to it would be refused", fix.replace("create the account",
                                                                                       "use an active account"), resp)

    # -- signing probes ----------------------------------------------------------------------
    def probe(self, dimension: str, labels: tuple[str, str], variants: tuple[Variant, Variant],
              contents: tuple[bytes, bytes], endpoint: str = "user/check") -> Detection:
        outcomes: dict[str, Response | None] = {}
        words: list[str] = []
        for label, variant, content in zip(labels, variants, contents, strict=True):
            try:
                resp = self.send(endpoint, content, self.sign(content, variant))
            except HarnessError as exc:
                outcomes[label] = None
                words.append(f"signed {label}: no answer ({exc.kind})")
            else:
                outcomes[label] = resp
                words.append(f"signed {label}: {_outcome(resp)}")
        return Detection(dimension, decide(outcomes), "; ".join(words))

    def signing(self) -> None:
        base = self.report.variant
        go122, go121 = dataclasses.replace(base, legacy_escapes=False), dataclasses.replace(base, legacy_escapes=True)
        name = self.fresh_id() + "-\b\f"
        escapes = self.probe("escapes", ("go1.22", "go1.21"), (go122, go121),
                             (self.body("user/check", go122, username=name), self.body("user/check", go121, username=name)))
        self.adopt(escapes, "signing", {"go1.22": False, "go1.21": True}, "legacy_escapes")
        if escapes.observed == "undetermined" and "no answer" in escapes.evidence:
            self.report.notes.append("the signing probes stopped: a probe got no answer within the deadline")
            self.report.detections.append(Detection("empty-fields", "undetermined", "not probed"))
            self.report.undetermined += ("empty-fields",)
            return
        base = self.report.variant
        kept, left = dataclasses.replace(base, omit_empty=False), dataclasses.replace(base, omit_empty=True)
        # An undocumented field holding "": the only "" a gateway that ignores extra fields serves.
        extra = self.body("user/check", kept, username=self.fresh_id(), comment="")
        empty = self.probe("empty-fields", ("empty-fields-included", "empty-fields-omitted"), (kept, left),
                           (extra, extra))
        if empty.observed == "undetermined":
            # A gateway refusing extra fields: a required field equal to "" is refused either way,
            # but only the right signature gets past 1014 to the field check.
            blank = self.body("user/check", kept, username="")
            retry = self.probe("empty-fields", ("empty-fields-included", "empty-fields-omitted"), (kept, left),
                               (blank, blank))
            empty = Detection("empty-fields", retry.observed, f"{empty.evidence}; with username \"\": {retry.evidence}")
        self.adopt(empty, "omit_empty", {"empty-fields-included": False, "empty-fields-omitted": True}, "omit_empty")
        base = self.report.variant
        html = dataclasses.replace(base, escape_html=False)
        name = self.fresh_id() + "-<&>"
        self.report.detections.append(self.probe("html", ("html-escaped", "html-raw"), (base, html),
                                                 (self.body("user/check", base, username=name),) * 2))

    def adopt(self, found: Detection, key: str, values: Mapping[str, bool], attribute: str) -> None:
        """Use what the probe found; a declaration the probe contradicts is a setup problem."""
        self.report.detections.append(found)
        t = self.target
        declared = t.signing if key == "signing" else t.omit_empty
        declared_value = None if declared in ("auto", None) else (declared == "go1.21" if key == "signing" else declared)
        if found.observed in values:
            observed = values[found.observed]
            if declared_value is not None and declared_value != observed:
                shown = f'"{declared}"' if key == "signing" else str(declared).lower()
                want = f'"{found.observed}"' if key == "signing" else str(observed).lower()
                self.stop(key, f"the target file declares {key} = {shown}, but the target accepted only the "
                               f"{found.observed} signature ({found.dimension} probe: {found.evidence})",
                          f"set {key} = {want} (or \"auto\") in [target]{self.where()}")
            self.report.variant = dataclasses.replace(self.report.variant, **{attribute: observed})
        elif found.observed == "undetermined" and declared_value is None:
            self.report.undetermined += (found.dimension,)


def _outcome(resp: Response) -> str:
    if judge.passed_signature_check(resp):
        return f"accepted ({judge.describe(resp)})"
    if judge.rejected_by_signature(resp):
        return "rejected with 1014"
    return f"refused otherwise ({judge.describe(resp)})"


def decide(outcomes: Mapping[str, Response | None]) -> str:
    """Which of two signatures of the same request the target takes.

    The one it serves (a success or a documented expected error); when it serves neither, the one
    that got past the signature check to another refusal while the other got 1014 (the only
    difference between the two requests is the signature). "either" when both are served.
    """
    served = [label for label, r in outcomes.items() if r is not None and judge.passed_signature_check(r)]
    if len(served) == 1:
        return served[0]
    if len(served) == 2:
        return "either"
    answered = {label: r for label, r in outcomes.items() if r is not None}
    if len(answered) == 2:
        rejected = [label for label, r in answered.items() if judge.rejected_by_signature(r)]
        others = [label for label, r in answered.items() if not judge.rejected_by_signature(r)
                  and isinstance(r.json, dict) and "status" in r.json]
        if len(rejected) == 1 and len(others) == 1:
            return others[0]
    return "undetermined"


def preflight_evidence(report: Mapping[str, Any]) -> str:
    """How each signing dimension was decided, in a few words (from ``PreflightReport.to_dict()``)."""
    return "; ".join(f"{d['dimension']}: {d['observed']}" for d in report.get("detections", [])) or "not probed"


def run_preflight(target: Target, send: Sender, sign: Callable[[bytes, Variant], str],
                  fresh_id: Callable[[], str]) -> PreflightReport:
    """Diagnose the setup and detect the signing variant; never raises for anything the target does.

    ``send(endpoint, content, signature)`` sends one request (raising HarnessError when there is no
    answer); ``sign(content, variant)`` is the correct X-Signature under ``variant``; ``fresh_id()``
    gives an identifier the target cannot hold.
    """
    report = PreflightReport(target.name, variant=target.variant)
    prober = _Prober(target, send, sign, fresh_id, report)
    try:
        prober.reach()
        prober.signing()
        prober.write_accounts()  # before the other declared data: a missing payee is found in a few requests
        prober.declared_data()
    except _Stop:
        pass
    return report
