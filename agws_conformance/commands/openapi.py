"""``agws-conformance openapi``: print (or write) the OpenAPI 3.1 description built from the schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agws_conformance.openapi import build_openapi

NAME = "openapi"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``openapi`` subcommand."""
    parser = subparsers.add_parser(
        NAME,
        help="export an OpenAPI 3.1 document of the two documented methods",
        description="Build an OpenAPI 3.1 document from the suite's JSON Schemas (the same files the "
        "suite validates responses with) and print it, or write it with -o.",
    )
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, default=None,
                        help="write to FILE instead of standard output")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the document; a path that cannot be written is a one-line error and exit status 2."""
    text = json.dumps(build_openapi(), indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"agws-conformance openapi: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
