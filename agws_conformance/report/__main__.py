"""``python -m agws_conformance.report gate SUMMARY.json``: a release gate without jq or HTML.

Exits 0 (CONFORMANT, with or without warnings), 1 (NOT CONFORMANT) or 10 (INCOMPLETE, a missing
or invalid summary, or a run against the embedded mock without --allow-mock) and prints one line
saying why.
"""

from __future__ import annotations

import argparse
import sys

from .summary import gate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agws_conformance.report",
                                     description="Decide a release from an agws-conformance JSON summary.")
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gate", help="exit 0 / 1 / 10 from the summary's verdict")
    g.add_argument("summary", help="the file written by --agws-json")
    g.add_argument("--fail-on-warnings", action="store_true",
                   help="treat CONFORMANT WITH WARNINGS as a failure (exit 1)")
    g.add_argument("--allow-mock", action="store_true",
                   help="gate a run against the embedded mock by its verdict (otherwise INCOMPLETE, exit 10)")
    args = parser.parse_args(argv)
    status, line = gate(args.summary, allow_mock=args.allow_mock)
    if args.fail_on_warnings and line.startswith("CONFORMANT WITH WARNINGS"):
        status = 1
    print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
