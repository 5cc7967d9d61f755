"""The ``--agws-*`` options, their environment variables, and the resolved run settings.

Precedence everywhere: command line, then target file, then environment.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal, Mapping

import pytest

PROFILES: dict[str, int] = {"quick": 25, "thorough": 300, "soak": 25}
"""Hypothesis examples per generated test in each profile. The soak profile's figure is a floor:
each generated test then goes on, in thorough-sized runs, until its share of ``--agws-budget``
is spent (agws_conformance.plugin.generated)."""

DEFAULT_SOAK_BUDGET = 600.0
"""Seconds a soak run generates for when no ``--agws-budget`` is given (10 minutes)."""

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str, name: str = "--agws-budget") -> float:
    """``90``, ``90s``, ``10m``, ``1.5h`` -> seconds; a UsageError naming ``name`` otherwise."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _DURATION_UNITS else "s"
    number = raw[:-1] if raw[-1:] in _DURATION_UNITS else raw
    try:
        seconds = float(number) * _DURATION_UNITS[unit]
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise pytest.UsageError(f"{name} {text!r}: give a positive duration such as 90s, 10m or 1h")
    return seconds


@dataclass(frozen=True)
class Settings:
    target_files: tuple[str, ...]
    base_url: str | None
    agent: str | None
    project: str | None
    service_code: str | None
    error_format: str | None
    profile: Literal["quick", "thorough", "soak"]
    timeout: float
    max_rps: float | None
    strict: bool
    allow_production: bool
    mock_faults: tuple[str, ...]
    json_path: str | None
    transcripts: Literal["failures", "all"]
    requirements: tuple[str, ...] = ()
    """--agws-requirement: run only the suite tests judging these IDs (fnmatch patterns); () runs all."""
    hypothesis_seed: str | None = None
    """Hypothesis' own ``--hypothesis-seed`` (its pytest plugin's public option), as typed."""
    budget: float | None = None
    """--agws-budget in seconds: how long a soak run generates (set only for the soak profile)."""
    journal: str | None = None
    """--agws-journal / AGWS_JOURNAL as given: the payments journal (default: plugin.journaling.journal_path)."""
    root: str | None = None
    """The run's root directory (pytest's rootdir): paths in partner documents are shown relative to it."""

    @property
    def embedded(self) -> bool:
        """No target file and no base URL: the suite runs against the embedded mock."""
        return not self.target_files and not self.base_url

    @property
    def examples(self) -> int:
        return PROFILES[self.profile]


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("agws", "AGWS conformance (agws-conformance)")
    group.addoption("--agws-target", action="append", default=[], metavar="FILE",
                    help="target file (TOML); repeat for a multi-target run [env AGWS_TARGET]; its secret is read "
                         "from the environment variable its secret_env names [env AGWS_SECRET without a file]")
    group.addoption("--agws-base-url", metavar="URL", help="origin plus optional path prefix [env AGWS_BASE_URL]")
    group.addoption("--agws-agent", metavar="CODE", help="showcase (agent) code [env AGWS_AGENT]")
    group.addoption("--agws-project", metavar="CODE", help="project code [env AGWS_PROJECT]")
    group.addoption("--agws-service-code", metavar="CODE", help="service code [env AGWS_SERVICE_CODE]")
    group.addoption("--agws-error-format", choices=("old", "new", "auto"),
                    help="error format the target uses [env AGWS_ERROR_FORMAT; default auto]")
    group.addoption("--agws-profile", choices=tuple(PROFILES),
                    help="how many generated cases: quick (default, CI: 25 per generated test), thorough "
                         "(300), or soak (generate until --agws-budget is spent) [env AGWS_PROFILE]; the cases "
                         "are drawn from Hypothesis' --hypothesis-seed [env AGWS_HYPOTHESIS_SEED]")
    group.addoption("--agws-budget", metavar="DURATION",
                    help="soak profile: how long to generate, e.g. 90s, 10m, 1h (default 10m) [env AGWS_BUDGET]")
    group.addoption("--agws-timeout", type=float, metavar="SECONDS",
                    help="per-request deadline (default 10) [env AGWS_TIMEOUT]")
    group.addoption("--agws-max-rps", type=float, metavar="N",
                    help="request rate limit (default 10/s, unlimited on loopback) [env AGWS_MAX_RPS]")
    group.addoption("--agws-strict", action="store_true", default=None,
                    help="SHOULD violations fail the run [env AGWS_STRICT=1]")
    group.addoption("--agws-allow-production", action="store_true", default=None,
                    help="allow the documented production host [env AGWS_ALLOW_PRODUCTION=1]")
    group.addoption("--agws-mock-fault", action="append", default=[], metavar="NAME",
                    help="inject a fault into the embedded mock (repeatable; see agws-conformance mock --list-faults) "
                         "[env AGWS_MOCK_FAULTS, comma-separated]")
    group.addoption("--agws-json", metavar="FILE", help="write the JSON summary for release gates [env AGWS_JSON]")
    group.addoption("--agws-journal", metavar="PATH",
                    help="the payments journal: every request with side effects is appended (and fsynced) "
                         "before it is sent, so a killed run's payments can be reconciled (default: "
                         "agws-payments.jsonl beside --agws-json, else in the working directory; the embedded "
                         "mock only when given) [env AGWS_JOURNAL]")
    group.addoption("--agws-transcripts", choices=("failures", "all"),
                    help="which tests show HTTP transcripts in the HTML report (default failures: every failed, "
                         "warned or erroring test's; passed tests' exchanges stay in the run, not the page)")
    group.addoption("--agws-host-details", action="store_true", default=False,
                    help="show the host's platform and CI details in the HTML report (hidden by default)")
    group.addoption("--agws-requirement", action="append", default=[], metavar="ID",
                    help="run only the suite tests that judge this requirement ID (repeatable; "
                         "shell-style patterns such as 'SIG-REJECT-*' allowed)")


def _flag(value: bool | None, env: str | None, name: str = "") -> bool:
    if value:
        return True
    raw = (env or "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise pytest.UsageError(f"{name}={env!r}: use 1/true/yes/on or 0/false/no/off")


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = environ.get(name, "").strip()
    if raw and raw not in choices:
        raise pytest.UsageError(f"{name}={raw!r}: choose one of {', '.join(choices)}")
    return raw or None


def _number(option: float | None, env_name: str, environ: Mapping[str, str], default: float | None) -> float | None:
    if option is not None:
        value: float | None = option
    elif environ.get(env_name, "").strip():
        raw = environ[env_name].strip()
        try:
            value = float(raw)
        except ValueError:
            raise pytest.UsageError(f"{env_name}={raw!r} is not a number") from None
    else:
        return default
    if value is not None and not (math.isfinite(value) and value > 0):
        raise pytest.UsageError(f"{env_name.lower().replace('_', '-')} must be a positive finite number (got {value})")
    return value


def settings_from(config: pytest.Config, environ: Mapping[str, str] = os.environ) -> Settings:
    """Resolve the options against the environment; raise UsageError with one clear line."""
    opt = config.option
    files = tuple(opt.agws_target or ())
    if not files and environ.get("AGWS_TARGET", "").strip():
        files = (environ["AGWS_TARGET"].strip(),)
    profile = opt.agws_profile or environ.get("AGWS_PROFILE", "").strip() or "quick"
    if profile not in PROFILES:
        raise pytest.UsageError(f"AGWS_PROFILE={profile!r}: choose one of {', '.join(PROFILES)}")
    budget_text = getattr(opt, "agws_budget", None) or environ.get("AGWS_BUDGET", "").strip() or None
    if budget_text is not None and profile != "soak":
        raise pytest.UsageError(f"--agws-budget {budget_text!r} applies to the soak profile only: add "
                                "--agws-profile soak (or drop the budget)")
    budget = parse_duration(budget_text) if budget_text is not None else DEFAULT_SOAK_BUDGET if profile == "soak" else None
    faults = list(opt.agws_mock_fault or ())
    faults += [f.strip() for f in environ.get("AGWS_MOCK_FAULTS", "").split(",") if f.strip()]
    return Settings(
        target_files=files,
        base_url=opt.agws_base_url or environ.get("AGWS_BASE_URL", "").strip() or None,
        agent=opt.agws_agent,
        project=opt.agws_project,
        service_code=opt.agws_service_code,
        error_format=opt.agws_error_format or _choice(environ, "AGWS_ERROR_FORMAT", ("old", "new", "auto")),
        profile=profile,  # type: ignore[arg-type]
        timeout=_number(opt.agws_timeout, "AGWS_TIMEOUT", environ, 10.0) or 10.0,
        max_rps=_number(opt.agws_max_rps, "AGWS_MAX_RPS", environ, None),
        strict=_flag(opt.agws_strict, environ.get("AGWS_STRICT"), "AGWS_STRICT"),
        allow_production=_flag(opt.agws_allow_production, environ.get("AGWS_ALLOW_PRODUCTION"), "AGWS_ALLOW_PRODUCTION"),
        mock_faults=tuple(dict.fromkeys(faults)),
        json_path=opt.agws_json or environ.get("AGWS_JSON", "").strip() or None,
        transcripts=opt.agws_transcripts or "failures",
        requirements=tuple(dict.fromkeys(getattr(opt, "agws_requirement", None) or ())),
        hypothesis_seed=getattr(opt, "hypothesis_seed", None),
        budget=budget,
        journal=getattr(opt, "agws_journal", None) or environ.get("AGWS_JOURNAL", "").strip() or None,
        root=str(config.rootpath),
    )


def shown_path(path: str, root: str | None) -> str:
    """A path as a partner document shows it: relative to the run's root directory when it is
    inside it, else by its name alone (nothing about the machine it ran on)."""
    if not os.path.isabs(path):
        return path
    if root:
        try:
            relative = os.path.relpath(path, root)
        except ValueError:  # another drive (Windows)
            relative = os.pardir
        if not relative.startswith(os.pardir):
            return relative
    return os.path.basename(path)


def target_options(settings: Settings) -> list[str]:
    """The command-line options that select the same target and judging as ``settings`` (for
    re-run and replay commands). Never a secret: the secret is read from the environment; target
    files relative to the run's root (``shown_path``)."""
    opts: list[str] = []
    for f in settings.target_files:
        opts += ["--agws-target", shown_path(f, settings.root)]
    for flag, value in (("--agws-base-url", settings.base_url), ("--agws-agent", settings.agent),
                        ("--agws-project", settings.project), ("--agws-service-code", settings.service_code),
                        ("--agws-error-format", settings.error_format)):
        if value:
            opts += [flag, value]
    for fault in settings.mock_faults:
        opts += ["--agws-mock-fault", fault]
    if settings.profile != "quick":
        opts += ["--agws-profile", settings.profile]
    if settings.profile == "soak" and settings.budget is not None:
        opts += ["--agws-budget", f"{settings.budget:g}s"]
    if settings.strict:
        opts.append("--agws-strict")
    return opts
