"""The ``agws-conformance`` command line: one subcommand per module in COMMANDS.

Each module exposes ``register(subparsers) -> None``, which adds its parser and calls
``set_defaults(func=run)`` with ``run(args) -> int``. Errors are one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from agws_conformance import __version__
from agws_conformance.endpoints import METHODS

COMMANDS: tuple[str, ...] = ("agws_conformance.commands.mock", "agws_conformance.commands.sign",
                             "agws_conformance.commands.openapi", "agws_conformance.commands.gate",
                             "agws_conformance.commands.requirements", "agws_conformance.commands.payments")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="agws-conformance",
        allow_abbrev=False,
        description=f"Conformance tooling for the AGWS showcase-gateway API ({len(METHODS)} methods: "
                    f"{', '.join(METHODS)}). The conformance run itself is `pytest suites` (pytest --help "
                    "lists its --agws-* options and their environment variables).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); silence the flush at interpreter exit too.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
