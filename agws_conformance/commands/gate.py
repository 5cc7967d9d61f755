"""``agws-conformance gate SUMMARY.json [--require GROUP,...] [--allow-mock] [--allow-partial]``:
decide a release from a run's JSON summary; the same gate as ``python -m agws_conformance.report
gate`` (its arguments and exit statuses are defined there once)."""

from __future__ import annotations

import argparse

from agws_conformance.report.__main__ import add_arguments, run_gate


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gate", help="exit 0 / 1 / 10 (4: a usage error) from a run's JSON summary (--agws-json)",
                                   description="Decide a release from an agws-conformance JSON summary: "
                                               "0 CONFORMANT, 1 NOT CONFORMANT, 10 INCOMPLETE, 4 the run stopped "
                                               "before any test for a usage error.")
    add_arguments(parser)
    parser.set_defaults(func=run_gate)
