"""The soak profile's clock: one time budget shared by the generated tests, and its progress line.

``--agws-profile soak --agws-budget 10m`` runs the fixed tests first (the plugin moves the tests
marked ``generated`` to the end of the session), then gives each generated test an equal share of
what is left of the budget. A test that ends early (a failure, an exhausted strategy) leaves its
time to the next one, because each share is computed when its test starts: ``left / tests left``.

Plain logic, no pytest: the plugin feeds it the clock, the request counter and a writer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["PROGRESS_EVERY", "Soak", "format_duration"]

PROGRESS_EVERY = 10.0
"""Seconds between two progress lines (a CI log gets a line, not a redrawn status bar)."""


def format_duration(seconds: float) -> str:
    """``754.2`` -> ``12m34s``; ``42`` -> ``42s``; ``3700`` -> ``1h01m40s``."""
    whole = max(0, int(round(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


@dataclass
class Soak:
    """The budget of one soak run (one pytest process) and what it has spent."""

    budget: float
    requests: Callable[[], int]
    """How many requests the run has sent so far (all tests, the preflight included)."""
    failures: Callable[[], int] = lambda: 0
    """How many tests have failed so far."""
    write: Callable[[str], None] = lambda line: None
    clock: Callable[[], float] = time.monotonic
    every: float = PROGRESS_EVERY
    started: float = field(default=0.0)
    examples: int = 0
    """Generated examples judged so far, over all generated tests."""
    _last_line: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()
        self._last_line = self.started

    def restart(self) -> None:
        """Start the budget now (the plugin calls it once collection is over)."""
        self.started = self._last_line = self.clock()

    @property
    def deadline(self) -> float:
        return self.started + self.budget

    def elapsed(self) -> float:
        return self.clock() - self.started

    def left(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def share(self, tests_left: int) -> float:
        """The deadline (clock time) of a generated test that starts now, ``tests_left`` counting it."""
        return self.clock() + self.left() / max(1, tests_left)

    def tick(self, where: str) -> None:
        """Count one generated example; write a progress line when one is due."""
        self.examples += 1
        now = self.clock()
        if now - self._last_line >= self.every:
            self._last_line = now
            self.write(self.line(where))

    def line(self, where: str = "") -> str:
        failed = self.failures()
        text = (f"soak: {self.requests():,} requests, {self.examples:,} generated cases, {failed} failed "
                f"test{'s' if failed != 1 else ''}, {format_duration(self.elapsed())} elapsed, "
                f"{format_duration(self.left())} of {format_duration(self.budget)} left")
        return text + (f" ({where})" if where else "")
