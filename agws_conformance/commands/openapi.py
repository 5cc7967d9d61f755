"""``agws-conformance openapi``: print (or write) the OpenAPI 3.1 description built from the schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agws_conformance.endpoints import METHODS
from agws_conformance.openapi import build_openapi

NAME = "openapi"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``openapi`` subcommand."""
    parser = subparsers.add_parser(
        NAME,
        help=f"export an OpenAPI 3.1 document of the {len(METHODS)} methods of the registry",
        description="Build an OpenAPI 3.1 document from the suite's JSON Schemas (the same files the "
        f"suite validates responses with) for {', '.join(METHODS)}, and print it, or write it with -o.",
    )
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, default=None,
                        help="write to FILE instead of standard output (YAML for .yaml/.yml, else JSON)")
    parser.set_defaults(func=run)
    return parser


def to_yaml(value: Any, indent: int = 0) -> str:
    """``value`` (JSON data) as block-style YAML. Every string is double-quoted with JSON's escapes,
    which YAML's double-quoted scalars share, so no value can be mistaken for another type."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            head = f"{pad}{json.dumps(str(key), ensure_ascii=False)}:"
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{head}\n{to_yaml(item, indent + 2)}")
            else:
                lines.append(f"{head} {to_yaml(item)}")
        return "\n".join(lines)
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[indent + 2:]}")
            else:
                lines.append(f"{pad}- {to_yaml(item)}")
        return "\n".join(lines)
    return json.dumps(value, ensure_ascii=False)  # scalars, {} and []: JSON is YAML here


def run(args: argparse.Namespace) -> int:
    """Write the document (YAML when the file name ends in .yaml or .yml, else JSON); a path that
    cannot be written is a one-line error and exit status 2."""
    document = build_openapi()
    if args.output is not None and args.output.suffix.lower() in (".yaml", ".yml"):
        text = to_yaml(document) + "\n"
    else:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"agws-conformance openapi: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
