"""``agws-conformance sign``: the X-Signature of a request body, as the Go gateway computes it.

``sign --check SIGNATURE`` asks the signature doctor (``agws_conformance.doctor``) instead: is that
signature right for the body and, if not, which usual mistake produced it and how to fix it.

The secret comes from an environment variable (``AGWS_SECRET`` or ``--secret-env NAME``), never
from the command line, and is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from agws_conformance import doctor
from agws_conformance.signer import DEFAULT_VARIANT, SignerError, Variant, sign
from agws_conformance.target import secret_problem

DEFAULT_SECRET_ENV = "AGWS_SECRET"
MAX_BODY_BYTES = 64 * 1024 * 1024


def register(subparsers: Any) -> None:
    """Add the ``sign`` parser."""
    parser = subparsers.add_parser(
        "sign",
        allow_abbrev=False,  # so that --secret VALUE is an error, not --secret-env
        help="compute the X-Signature of a request body",
        description=(
            "Print the X-Signature of a raw request body as the documents' Go code computes it: "
            "json.Marshal of the body decoded into map[string]interface{}, Base64, secret appended, "
            f"SHA-256, lowercase hex. The secret is read from ${DEFAULT_SECRET_ENV} (or --secret-env)."
        ),
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE",
                        help="file with the raw body; '-' or omitted reads stdin")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print {canonical, base64, signature} as JSON")
    output.add_argument("--explain", action="store_true", help="show each step (the secret is not shown)")
    parser.add_argument("--check", metavar="SIGNATURE", default=None,
                        help="diagnose SIGNATURE (the X-Signature a client sent with the body): correct, "
                        "or which known wrong recipe produced it and its fix; exit 0 only when correct. "
                        "Without --go-version/--omit-empty any Go signing variant counts as correct")
    version = parser.add_mutually_exclusive_group()
    version.add_argument("--go-version", choices=("1.21", "1.22"), default=None,
                         help="Go before 1.22 writes \\b \\f as \\u0008 \\u000c (default 1.22)")
    version.add_argument("--legacy-escapes", action="store_true", help="same as --go-version 1.21")
    parser.add_argument("--omit-empty", action="store_true",
                        help="leave out top-level fields whose value is \"\" (the public signing page's rule)")
    parser.add_argument("--secret-env", default=DEFAULT_SECRET_ENV, metavar="NAME",
                        help=f"environment variable holding the secret (default {DEFAULT_SECRET_ENV})")
    parser.set_defaults(func=run)


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _read_body(name: str) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    else:
        with open(name, "rb") as handle:
            data = handle.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise ValueError(f"body is larger than {MAX_BODY_BYTES} bytes")
    return data


def run(args: argparse.Namespace) -> int:
    """Sign the body; 0 on success, 1 for a body Go refuses, 2 for a usage problem."""
    if not args.secret_env:
        return _fail("--secret-env needs the name of an environment variable", 2)
    secret = os.environ.get(args.secret_env)
    if not secret:  # unset or empty: target files refuse an empty secret too
        return _fail(f"no secret: set the environment variable {args.secret_env}", 2)
    problem = secret_problem(args.secret_env, secret)
    if problem:
        return _fail(problem, 2)
    try:
        body = _read_body(args.file)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return _fail(f"cannot read {args.file!r}: {reason}", 2)
    except ValueError as exc:
        return _fail(str(exc), 2)
    variant = Variant(
        legacy_escapes=args.legacy_escapes or args.go_version == "1.21",
        omit_empty=args.omit_empty,
        escape_html=DEFAULT_VARIANT.escape_html,
    )
    if args.check is not None:
        explicit = args.legacy_escapes or args.go_version is not None or args.omit_empty
        return _check(body, args.check, secret, variant if explicit else None, as_json=args.json)
    try:
        signed = sign(body, secret, variant)
    except SignerError as exc:
        return _fail(str(exc), 1)
    canonical = signed.canonical.decode("utf-8")  # Go's output is always valid UTF-8
    if args.json:
        lines = [json.dumps({"canonical": canonical, "base64": signed.base64, "signature": signed.signature},
                            ensure_ascii=False)]
    elif args.explain:
        lines = [
            f"variant:    {variant.name}",
            f"canonical:  {canonical}",
            f"base64:     {signed.base64}",
            f"secret:     appended to the base64 as UTF-8 (from ${args.secret_env}; not shown)",
            f"signature:  {signed.signature}  (SHA-256 of base64 + secret, lowercase hex)",
        ]
    else:
        lines = [signed.signature]
    # Bytes, not print(): the canonical JSON is UTF-8 whatever the terminal's locale says.
    sys.stdout.buffer.write(("\n".join(lines) + "\n").encode("utf-8"))
    sys.stdout.flush()
    return 0


def _check(body: bytes, signature: str, secret: str, gateway: Variant | None, *, as_json: bool) -> int:
    """Print the doctor's diagnosis; 0 when the signature is correct, 1 otherwise."""
    found = doctor.diagnose(body, signature, secret, gateway)
    if as_json:
        lines = [json.dumps(found.as_dict(), ensure_ascii=False)]
    else:
        lines = [f"verdict:    {found.verdict}", f"gateway:    {found.gateway}"]
        if found.recipe is not None:
            detail = f" [{found.detail}]" if found.detail else ""
            lines += [f"diagnosis:  wrong recipe {found.recipe.id}: {found.recipe.title}{detail}",
                      f"fix:        {found.recipe.fix}"]
        else:
            lines.append(f"diagnosis:  {found.summary()}")
        if found.canonical is not None and not found.ok:
            lines.append(f"canonical:  {found.canonical}  (sign base64 of exactly this, then the secret)")
    sys.stdout.buffer.write(("\n".join(lines) + "\n").encode("utf-8"))
    sys.stdout.flush()
    return 0 if found.ok else 1
