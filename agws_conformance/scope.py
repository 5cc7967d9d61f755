"""Which method groups a run judges, and why it leaves the others out: part of every verdict.

A target file without ``[write]`` makes every payment, callback, confirmation and link rule not
applicable: right for the run, wrong to be silent about. The groups are named here once; the
summary records them per target (``targets[].scope``), and the banner, the terminal verdict line
and the gate say them in words ("CONFORMANT (read only: ...)"); ``gate --require GROUP`` refuses
a run that left a group out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from agws_conformance.target import Target


@dataclass(frozen=True)
class Group:
    """One method group: what it covers, and how a target file enables it."""

    name: str
    words: str  # how a sentence names it
    covers: str


GROUPS: dict[str, Group] = {g.name: g for g in (
    Group("read", "read", "user/check, action/status, showcase/balance, calculate/upper/commission"),
    Group("payments", "payments", "action/cash-in and the balance debits it makes"),
    Group("callbacks", "callbacks", "the Payment System Callback to the run's receiver"),
    Group("confirm", "confirmation", "action/confirm/invoice"),
    Group("links", "links", "action/link"),
)}
"""Every group, in the order the reports name them."""


def target_scope(target: "Target") -> dict[str, dict[str, Any]]:
    """group -> {"judged": bool, "why": what left it (or part of it) out, "enable": the key that enables it}.

    ``judged`` is true only for the whole group; payments without ``balance_exclusive = true`` are
    not judged as a whole (the balance debit rules need a balance nobody else moves).
    """
    write, callbacks = target.write, target.callbacks
    no_write = ("no [write] table", "add a [write] table to the target file (README, 'Payments')")

    def entry(missing: tuple[str, str] | None) -> dict[str, Any]:
        return {"judged": missing is None, "why": missing[0] if missing else None,
                "enable": missing[1] if missing else None}

    payments = no_write if write is None else None if write.balance_exclusive else (
        "balance_exclusive = false: the balance debit rules are not judged",
        "set [write] balance_exclusive = true (nobody else moves the showcase balance during the run)")
    return {
        "read": entry(None),
        "payments": entry(payments),
        "callbacks": entry(no_write if write is None else None if callbacks is not None else
                           ("no [callbacks] table", "add a [callbacks] table (README, 'Callbacks')")),
        "confirm": entry(no_write if write is None else None if write.confirm_code is not None else
                         ("no [write] confirm_code", "set [write] confirm_code (the code that confirms a debit)")),
        "links": entry(no_write if write is None else None),
    }


def left_out(scopes: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """group -> why, for every group some target's scope does not judge (the first target's why)."""
    out: dict[str, str] = {}
    for scope in scopes:
        for name in GROUPS:
            entry = scope.get(name)
            if entry is not None and not entry.get("judged"):
                out.setdefault(name, str(entry.get("why") or "not enabled"))
    return out


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def scope_words(scopes: Iterable[Mapping[str, Mapping[str, Any]]]) -> str:
    """The scope in words, "" when every group is judged: "read only: payments, callbacks,
    confirmation and links not enabled", or "payments not judged as a whole: balance_exclusive = false"."""
    scopes = list(scopes)
    if not scopes:
        return ""
    missing = left_out(scopes)
    if not missing:
        return ""
    judged = [g.words for name, g in GROUPS.items() if name not in missing]
    # Enabled but not judged as a whole (payments without balance_exclusive) is not "not enabled".
    partly = [name for name, why in missing.items() if not why.startswith("no ")]
    off = [GROUPS[name].words for name in missing if name not in partly]
    parts = [f"{_join(off)} not enabled"] if off else []
    parts += [f"{GROUPS[name].words} not judged as a whole ({missing[name]})" for name in partly]
    if judged == ["read"]:
        return "read only: " + "; ".join(parts)
    return "; ".join([f"judged: {', '.join(judged)}", *parts])
