"""One family for every error the package raises on purpose (standard library only).

Each ``str()`` is one line that names the problem and says what to do next; the command line and
the plugin print it as is, never a traceback. Catch :class:`AgwsError` for all of them. The
children keep the built-in base their callers relied on (``ValueError``, ``KeyError``).

``ConformanceFailure`` (``findings.py``) is not here on purpose: it is the verdict that a gateway
broke a rule, not an error of the suite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Literal, get_args

if TYPE_CHECKING:
    from agws_conformance.transcript import Exchange

__all__ = [
    "HARNESS_ERROR_KINDS",
    "AgwsConfigWarning",
    "AgwsError",
    "CatalogueError",
    "ConfigError",
    "HarnessError",
    "HarnessKind",
    "OpenAPIBuildError",
    "SchemaError",
    "SignerError",
    "SuiteBug",
    "UnknownFaultError",
    "UnknownSchemaError",
    "UnknownVariationError",
    "did_you_mean",
]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'X'? "`` for the choice closest to a mistyped ``word``, or "" when none is
    close: the same help for a mistyped key, requirement ID, method name or fault name."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close and word.upper() != word:
        close = difflib.get_close_matches(word.upper(), list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


class AgwsError(Exception):
    """Base of the package's errors; ``str()`` is one line with what to do next."""


# -- the user's setup ------------------------------------------------------------------------

class ConfigError(AgwsError):
    """A target configuration mistake; ``str()`` is one line: ``file:line: key problem; fix``."""


class UnknownFaultError(ConfigError, ValueError):
    """A mock fault name that does not exist; ``str()`` lists the valid names."""


class UnknownVariationError(ConfigError, ValueError):
    """A mock variation name that does not exist; ``str()`` lists the valid names."""


class AgwsConfigWarning(UserWarning):
    """A target configuration that works but is probably not what the user meant."""


# -- the target ------------------------------------------------------------------------------

HarnessKind = Literal[
    "unreachable",           # connection refused, DNS failure
    "tls",                   # TLS handshake / certificate failure
    "timeout",               # connect time-out or the per-request deadline passed
    "connection-reset",      # the connection dropped before any response byte
    "protocol",              # the bytes that came back are not HTTP/1.1
    "closed-during-upload",  # the target closed while the request body was still being sent
    "rate-limited",          # 429 kept coming after the allowed waits
    "setup",                 # the preflight found the setup wrong (agws_conformance.preflight)
    "circuit-open",          # not sent: the target was given up after repeated stalls
]
HARNESS_ERROR_KINDS: tuple[HarnessKind, ...] = get_args(HarnessKind)


class HarnessError(AgwsError):
    """The suite could not get a response; ``str()`` is one line naming the URL and what to do.

    ``kind`` is one of :data:`HARNESS_ERROR_KINDS`. ``closed-during-upload`` is the one kind a
    test may read as a verdict: the target refused the request body by hanging up on it.
    """

    def __init__(self, kind: HarnessKind, message: str, *, url: str | None = None,
                 exchange: Exchange | None = None, retryable: bool = False) -> None:
        if kind not in HARNESS_ERROR_KINDS:
            raise ValueError(f"unknown harness error kind {kind!r}; one of {', '.join(HARNESS_ERROR_KINDS)}")
        super().__init__(message)
        self.kind: HarnessKind = kind
        self.message = message
        self.url = url
        self.exchange = exchange
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"HarnessError({self.kind!r}, {self.message!r})"

    def __reduce__(self) -> Any:  # keyword-only state survives pickling (pytest-xdist)
        return (type(self), (self.kind, self.message),
                {"url": self.url, "exchange": self.exchange, "retryable": self.retryable})


# -- the documents' data -----------------------------------------------------------------------

class SignerError(AgwsError, ValueError):
    """A body Go's ``json.Unmarshal`` into ``map[string]interface{}`` refuses; ``str()`` is one line."""


class SchemaError(AgwsError):
    """A schema, the catalogue or the errata cannot be used as they are."""


class UnknownSchemaError(SchemaError, KeyError):
    """A schema name that is not one of ``schemas.schema_names()``: ``UnknownSchemaError(name, known)``."""

    def __str__(self) -> str:
        name, known = (self.args + ((),))[:2]
        return f"unknown schema {name!r}; known: {', '.join(known)}"


class CatalogueError(SchemaError, ValueError):
    """The catalogue or errata file is unreadable or invalid; ``str()`` is one line."""


class OpenAPIBuildError(SchemaError, ValueError):
    """A schema file cannot be embedded (an unknown reference or a name clash)."""


# -- the suite itself ---------------------------------------------------------------------------

class SuiteBug(AgwsError):
    """An internal assertion of the suite failed: a bug in a test, never a verdict on the gateway.

    Reported as a harness error (INCOMPLETE), like any exception other than ConformanceFailure.
    """
