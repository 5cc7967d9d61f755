"""``python -m agws_conformance.report gate SUMMARY.json`` (also ``agws-conformance gate``): a
release gate without jq or HTML.

Exits 0 (CONFORMANT, with or without warnings), 1 (NOT CONFORMANT) or 10 (INCOMPLETE: a missing or
invalid summary, a run against a mock without --allow-mock, a partial selection without
--allow-partial, a --require'd method group the run did not judge) or 4 (USAGE ERROR: the run stopped
before any test, for a mistyped option or key, a secret not exported ...; the summary says which and
its fix) and prints one line saying why.
"""

from __future__ import annotations

import argparse
import sys

from agws_conformance.scope import GROUPS

from .summary import gate


def groups(value: str) -> list[str]:
    """``--require payments,callbacks``: method group names (``scope.GROUPS``), comma-separated."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown method group {(unknown or [value])[0]!r} "
                                         f"(choose from {', '.join(GROUPS)})")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gate's arguments, one definition for both spellings of the command."""
    parser.add_argument("summary", help="the file written by --agws-json")
    parser.add_argument("--require", type=groups, action="append", default=[], metavar="GROUP[,GROUP]",
                        help=f"INCOMPLETE unless the run judged these method groups ({', '.join(GROUPS)})")
    parser.add_argument("--allow-mock", action="store_true",
                        help="gate a run against the bundled mock (embedded or standalone) by its verdict "
                             "(otherwise INCOMPLETE, exit 10)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="gate a run that left suite tests out (-k, -m, a subset of files ...) by the "
                             "tests that ran; the line says so")
    parser.add_argument("--fail-on-warnings", action="store_true",
                        help="treat CONFORMANT WITH WARNINGS as a failure (exit 1)")


def run_gate(args: argparse.Namespace) -> int:
    """Print the gate's one line; return its exit status."""
    status, line = gate(args.summary, allow_mock=args.allow_mock, allow_partial=args.allow_partial,
                        require=[g for chunk in args.require for g in chunk])
    if args.fail_on_warnings and line.startswith("CONFORMANT WITH WARNINGS"):
        status = 1
    print(line)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agws_conformance.report",
                                     description="Decide a release from an agws-conformance JSON summary.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_arguments(sub.add_parser("gate", help="exit 0 / 1 / 10 (4: a usage error) from the summary's verdict"))
    return run_gate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
