"""Who and what a report is about: the run's identity, safe to hand to a partner.

Everything here ends up in the HTML report and the JSON summary, so URLs lose their user-info,
query and fragment, and every string passes the run's redactor (the secret never leaves).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit, urlunsplit

from agws_conformance import __version__
from agws_conformance.scope import target_scope
from agws_conformance.state import observed_targets
from agws_conformance.transcript import redact_deep

if TYPE_CHECKING:
    import pytest

    from agws_conformance.catalogue import Catalogue
    from agws_conformance.plugin.run import Run

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TargetIdentity:
    """One target as the report names it (never its secret)."""

    name: str
    base_url: str
    agent: str
    project: str
    service_code: str
    error_format_declared: str
    error_format_observed: str | None
    fingerprint: str | None
    signing: str
    embedded_mock: bool
    mock_faults: tuple[str, ...] = ()
    signing_declared: str = ""
    preflight: dict[str, Any] | None = None
    scope_neighbour: str | None = None
    """INFO: set when a scope rule named an unknown identifier because the target file declares no
    neighbour (``other_agent`` ...) for that field: a leak to a real neighbour could not be seen."""
    payments: list[dict[str, Any]] = field(default_factory=list)
    """Every cash-in the run sent (external_id, amount, username, test, answer, last status), so QA
    can find and reconcile the test payments."""
    scope: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Method group -> judged, and why not (``agws_conformance.scope``)."""
    mock: str | None = None
    mock_pace: str | None = None
    """The mock's own callback pace disagreeing with [callbacks] time_scale, in one line (else None)."""
    """What the target's answers say it is when it is the bundled mock (the ``X-AGWS-Mock`` header),
    served standalone or embedded; None for a gateway."""

    @property
    def is_mock(self) -> bool:
        return self.embedded_mock or bool(self.mock)


@dataclass(frozen=True)
class RunIdentity:
    """The run: suite and catalogue versions, timing, seed, and its targets."""

    suite_version: str
    git_commit: str | None
    git_dirty: bool | None
    catalogue_version: str
    errata_version: str
    hypothesis_seed: str
    profile: str
    strict: bool
    started: datetime
    finished: datetime
    request_count: int
    targets: tuple[TargetIdentity, ...] = field(default_factory=tuple)
    deselected: int = 0
    selection: dict[str, Any] | None = None
    """Which suite tests the run left out (``state.Selection.to_dict``): a partial run is not a verdict."""
    partial: str | None = None
    """Why the run stopped before every test ran (Ctrl-C), or None: a partial report is never CONFORMANT."""
    budget_seconds: float | None = None
    """The soak profile's time budget."""
    side: str = "gateway"
    """Which side was judged: "gateway", or "receiver" (an integrator's callback receiver, a
    [receiver] target file); a run judges one side (plugin.run)."""

    @property
    def duration(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started"] = utc(self.started)
        data["finished"] = utc(self.finished)
        data["duration_seconds"] = round(self.duration, 3)
        data["targets"] = [asdict(t) | {"mock_faults": list(t.mock_faults)} for t in self.targets]
        if self.selection is None:
            del data["selection"]
        return data


def utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: what a partner compares with their logs."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_url(url: str, redact: Callable[[str], str] = lambda s: s) -> str:
    """``url`` without user-info, query or fragment, redacted: a target URL fit for a report."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = host + (f":{parts.port}" if parts.port else "")
        return redact(urlunsplit((parts.scheme, netloc, parts.path, "", "")))
    except ValueError:
        return "(unparseable URL)"


def _git(*args: str, root: Path = _SOURCE_ROOT) -> str | None:
    try:
        done = subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args],
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def suite_root(rootpath: Path) -> Path:
    """The checkout the suites ran from: pytest's rootdir when it is one (``pip install .`` then
    ``pytest suites`` in a clone), else the package's own source tree (editable install)."""
    if (rootpath / "suites").is_dir() and (rootpath / "schemas" / "requirements.json").is_file():
        return rootpath.resolve()
    return _SOURCE_ROOT


@functools.lru_cache(maxsize=8)
def git_commit(root: Path = _SOURCE_ROOT) -> tuple[str | None, bool | None]:
    """The suite's own commit and whether its tracked files differ from it (asked once per run and
    checkout: the terminal, the HTML report and the JSON summary each build the run identity).

    Only when ``root`` is the top of a git checkout (an installed wheel has none); a read-only
    query (``--no-optional-locks``: no index refresh is written).
    """
    top = _git("rev-parse", "--show-toplevel", root=root)
    if top is None or Path(top).resolve() != root:
        return None, None
    commit = _git("rev-parse", "HEAD", root=root)
    status = _git("status", "--porcelain", "--untracked-files=no", root=root)
    return commit, (bool(status) if status is not None else None)


def hypothesis_seed(config: "pytest.Config") -> str:
    """The seed that reproduces the generated cases, or why there is none to give."""
    seed = getattr(config.option, "hypothesis_seed", None)
    if seed is not None:
        return str(seed)
    try:
        import hypothesis

        default = hypothesis.settings.default
        if default is not None and default.derandomize:
            return "derandomized (fixed per test)"
    except ImportError:  # pragma: no cover - hypothesis is a dependency
        return "n/a"
    return "per generated test (each one records its seed and a replay command; --hypothesis-seed=N fixes one for all)"


def _target_identities(run: "Run") -> tuple[TargetIdentity, ...]:
    try:
        configured = run.targets()
    except Exception:  # a bad target config is reported by the plugin; identity stays partial
        configured = []
    observed = observed_targets(run)  # this process's bound targets and, under xdist, the workers'
    redact = run.redactor.redact
    out = []
    for t in configured:
        seen = observed.get(t.name)
        observations = seen.observations if seen is not None else {}
        urls = seen.base_urls if seen is not None and seen.base_urls else [t.base_url]
        out.append(TargetIdentity(
            name=redact(t.name), base_url=", ".join(safe_url(u, redact) for u in urls), agent=redact(t.agent),
            project=redact(t.project), service_code=redact(t.service_code),
            error_format_declared=t.error_format,
            error_format_observed=observations.get("error_format"),
            fingerprint=redact(observations["fingerprint"]) if "fingerprint" in observations else None,
            signing=(seen.preflight or {}).get("variant", t.variant.name) if seen is not None else t.variant.name,
            embedded_mock=run.settings.embedded,
            mock_faults=tuple(run.settings.mock_faults) if run.settings.embedded else (),
            signing_declared=f"signing {t.signing}, omit_empty {'auto' if t.omit_empty is None else str(t.omit_empty).lower()}",
            preflight=redact_deep(seen.preflight, redact) if seen is not None and seen.preflight else None,
            payments=[redact_deep(p, redact) for p in seen.payments] if seen is not None else [],
            scope_neighbour=redact(observations["scope_neighbour"]) if "scope_neighbour" in observations else None,
            scope=target_scope(t),
            mock=redact(observations["mock"]) if observations.get("mock") else None,
            mock_pace=observations.get("mock_pace"),
        ))
    return tuple(out)


def run_identity(run: "Run", config: "pytest.Config", catalogue: "Catalogue") -> RunIdentity:
    """The identity of the run now (call after the session has finished for final numbers)."""
    commit, dirty = git_commit(suite_root(Path(config.rootpath)))
    return RunIdentity(
        suite_version=__version__, git_commit=commit, git_dirty=dirty,
        catalogue_version=catalogue.version, errata_version=catalogue.errata_version,
        hypothesis_seed=hypothesis_seed(config), profile=run.settings.profile, strict=run.settings.strict,
        started=run.started, finished=run.finished or datetime.now(timezone.utc),
        request_count=run.request_count, targets=_target_identities(run), deselected=run.deselected,
        selection=run.selection.to_dict(),
        partial=run.interrupted, budget_seconds=run.settings.budget, side=_side(run),
    )


def _side(run: "Run") -> str:
    try:
        sides = {t.side for t in run.targets()}
    except Exception:  # a bad target config is reported by the plugin
        return "gateway"
    return "receiver" if sides == {"receiver"} else "gateway"
