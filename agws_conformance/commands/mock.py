"""``agws-conformance mock``: run the mock gateway as a standalone sandbox.

The secret comes from the environment variable the target file names (``secret_env``), never
from the command line, so it stays out of shell history and process listings. The mock binds to
loopback unless ``--allow-remote`` is given: it is a test double holding a signing secret, not a
service to expose.

``--inspect FILE.html`` / ``--inspect-json FILE`` turn the mock into an inspector of the
integrator's own client (``agws_conformance.inspector``): every request is judged and the report is
written when the mock stops (Ctrl-C, SIGTERM) and whenever it receives SIGUSR1. The answers stay
exactly the gateway's; what is wrong goes to the report and to stderr.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from agws_conformance.endpoints import METHODS, is_loopback_host
from agws_conformance.inspector import DEFAULT_MAX_REQUESTS, Inspector
from agws_conformance.mock.app import normalize_prefix
from agws_conformance.mock.data import mock_target_path
from agws_conformance.mock.faults import FAULTS, UnknownFaultError
from agws_conformance.mock.receiver_mode import RECEIVER_FAULTS, MockReceiver
from agws_conformance.resources import data_dir
from agws_conformance.mock.server import MockServer
from agws_conformance.mock.variations import VARIATIONS, UnknownVariationError
from agws_conformance.target import ConfigError, check_path_prefix, load_target

NAME = "mock"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``mock`` subcommand."""
    parser = subparsers.add_parser(
        NAME,
        help="run the mock AGWS gateway (a local sandbox, optionally with injected faults)",
        description=f"Serve the {len(METHODS)} AGWS methods of the registry ({', '.join(METHODS)}) from a target "
        "file's accounts and payments. The signing secret is read from the variable named by secret_env. "
        "The mock's pace: it calls back with the documented retry intervals times its time scale, by default "
        "the target file's [callbacks] time_scale (the bundled targets/mock.toml: 0.1, ten times faster than "
        "a gateway); --time-scale changes it, and every answer names it (X-AGWS-Mock-Time-Scale), so a suite "
        "whose [callbacks] time_scale disagrees says so in one line.",
    )
    parser.add_argument("--target", metavar="FILE", type=Path, default=None,
                        help="target file with the accounts and payments (default: the bundled "
                        "targets/mock.toml)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None,
                        help="port to listen on (default: the port of the target's base_url, "
                        "0 for any free port)")
    parser.add_argument("--prefix", default="", help="path prefix before /showcase-gateway/...")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="inject a fault (repeatable); see --list-faults")
    parser.add_argument("--list-faults", action="store_true",
                        help="list the fault modes and the requirement IDs each one breaks, then exit")
    parser.add_argument("--variation", action="append", default=[], metavar="NAME",
                        help="take on a legitimate deployment variation (repeatable); see --list-variations")
    parser.add_argument("--list-variations", action="store_true",
                        help="list the legitimate variations and what allows each one, then exit")
    parser.add_argument("--receiver", action="store_true",
                        help="serve an integrator's callback receiver instead of the gateway, at the url of a "
                        "[receiver] target file (default: the bundled targets/mock-receiver.toml), for the "
                        "receiver profile of the suite")
    parser.add_argument("--receiver-fault", action="append", default=[], metavar="NAME",
                        help="with --receiver: inject a receiver fault (repeatable); see --list-faults")
    parser.add_argument("--time-scale", type=float, default=None, metavar="X",
                        help="the mock's own pace: every timing it plays (the gateway's callback retry intervals; "
                        "with --receiver, the slow fault's delay) is the documented one times X, 0 < X <= 10 "
                        "(default: the target file's [callbacks] time_scale, else 1; the bundled mock.toml says 0.1). "
                        "A suite run against it sets the same [callbacks] time_scale")
    parser.add_argument("--quiet", action="store_true",
                        help="do not print a line per request (method, path, status, outcome; never a header or body)")
    inspect = parser.add_argument_group(
        "inspector", "judge the client pointed at the mock: each request's schema, headers and signature (with "
        "the diagnosis of a wrong signature and its fix); the report is written when the mock stops and on SIGUSR1")
    inspect.add_argument("--inspect", metavar="FILE.html", type=Path, default=None,
                         help="write the inspector's HTML report to FILE.html")
    inspect.add_argument("--inspect-json", metavar="FILE", type=Path, default=None,
                         help="write the inspector's JSON report to FILE")
    inspect.add_argument("--inspect-max", metavar="N", type=int, default=DEFAULT_MAX_REQUESTS,
                         help=f"keep the first N requests in full, count the rest (default {DEFAULT_MAX_REQUESTS})")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the mock is a test double; think twice)")
    parser.set_defaults(func=run)


def _listing(title: str, entries: dict, detail: str, value: Callable[[Any], str]) -> str:
    """Names with their description and one detail line each, aligned."""
    width = max(len(name) for name in entries)
    lines = [title]
    for name in sorted(entries):
        lines.append(f"  {name:<{width}}  {entries[name].description}")
        lines.append(f"  {'':<{width}}  {detail}: {value(entries[name])}")
    return "\n".join(lines)


def list_faults() -> str:
    return _listing(f"{len(FAULTS)} fault modes (each breaks the listed requirement IDs):", FAULTS, "breaks",
                    lambda fault: ", ".join(fault.breaks)) + "\n" + _listing(
        f"{len(RECEIVER_FAULTS)} receiver fault modes (with --receiver; --receiver-fault NAME):", RECEIVER_FAULTS,
        "breaks", lambda fault: ", ".join(fault.breaks))


def list_variations() -> str:
    return _listing(f"{len(VARIATIONS)} legitimate variations (a conforming gateway may have each; the suite "
                    "accepts them):", VARIATIONS, "allowed by", lambda variation: variation.allowed_by)


def _fail(message: str) -> int:
    print(f"agws-conformance mock: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 on a clean stop, 2 on a usage or configuration error."""
    if args.list_faults:
        print(list_faults())
        return 0
    if args.list_variations:
        print(list_variations())
        return 0
    if not is_loopback_host(args.host) and not args.allow_remote:
        return _fail(f"refusing to listen on non-loopback host {args.host!r}; pass --allow-remote "
                     "to expose the mock on the network")
    problem = check_path_prefix(normalize_prefix(args.prefix))
    if problem:
        return _fail(f"--prefix {problem} (got {args.prefix!r})")
    if args.receiver_fault and not args.receiver:
        return _fail("--receiver-fault applies to --receiver only")
    if args.time_scale is not None and not (math.isfinite(args.time_scale) and 0 < args.time_scale <= 10):
        return _fail(f"--time-scale must be above 0 and at most 10 (got {args.time_scale})")
    if args.receiver:
        return serve_receiver(args)
    path = args.target or mock_target_path()
    try:
        target = load_target(path)
    except ConfigError as exc:
        return _fail(str(exc))
    if target.secret is None:
        return _fail(f"the signing secret is not set; export {target.secret_env} first, e.g. "
                     f"export {target.secret_env}=\"$(python -c 'import secrets; "
                     "print(secrets.token_urlsafe(24))')\"")
    port = args.port
    if port is None:
        from urllib.parse import urlsplit

        port = urlsplit(target.base_url).port or 8080
    if not 0 <= port <= 65535:
        return _fail(f"--port must be between 0 and 65535 (got {port})")
    if args.inspect_max < 0:
        return _fail(f"--inspect-max must not be negative (got {args.inspect_max})")
    inspector = None
    if args.inspect is not None or args.inspect_json is not None:
        inspector = Inspector(target.secret.reveal(), target.variant, max_requests=args.inspect_max,
                              log=lambda line: print(line, file=sys.stderr, flush=True))
    try:
        log = None if args.quiet else (lambda line: print(line, flush=True))
        time_scale = args.time_scale if args.time_scale is not None else \
            target.callbacks.time_scale if target.callbacks is not None else 1.0
        server = MockServer(target, faults=args.fault, variations=args.variation, host=args.host, port=port,
                            prefix=args.prefix, log=log, inspector=inspector, callback_time_scale=time_scale)
        url = server.start()
    except (UnknownFaultError, UnknownVariationError) as exc:
        return _fail(str(exc))
    except (OSError, RuntimeError) as exc:
        return _fail(str(exc))
    faults = f", faults={','.join(args.fault)}" if args.fault else ""
    faults += f", variations={','.join(args.variation)}" if args.variation else ""
    print(f"AGWS mock gateway listening on {url} (agent={target.agent}, project={target.project}, "
          f"service_code={target.service_code}, error_format={target.error_format}{faults})",
          flush=True)
    print(f"callback time scale {time_scale:g}: retries come at the documented intervals times {time_scale:g}; a target "
          f"file run against this mock sets [callbacks] time_scale = {time_scale:g} (change it with --time-scale)",
          flush=True)
    if inspector is not None:
        print(f"inspecting every request: the report is written on stop and on SIGUSR1 (kill -USR1 "
              f"{os.getpid()})", flush=True)
    wait_for_stop(on_report=(lambda: _write_inspection(inspector, args)) if inspector is not None else None)
    server.stop()
    _write_inspection(inspector, args)
    print("AGWS mock gateway stopped", flush=True)
    return 0


def serve_receiver(args: argparse.Namespace) -> int:
    """``--receiver``: an integrator's callback receiver (correct, or with receiver faults) at the
    [receiver] url of the target file, knowing its payment and verifying with its secret."""
    from urllib.parse import urlsplit

    path = args.target or data_dir("targets") / "mock-receiver.toml"
    try:
        target = load_target(path)
    except ConfigError as exc:
        return _fail(str(exc))
    if target.receiver is None:
        return _fail(f"--receiver needs a target file with a [receiver] table ({path} has none)")
    if target.secret is None:
        return _fail(f"the signing secret is not set; export {target.secret_env} first")
    url = urlsplit(target.receiver.url)
    time_scale = args.time_scale if args.time_scale is not None else \
        target.callbacks.time_scale if target.callbacks is not None else 1.0
    port = args.port if args.port is not None else url.port or 8090
    log = None if args.quiet else (lambda line: print(line, flush=True))
    try:
        receiver = MockReceiver(secret=target.secret.reveal(), known=[target.receiver.external_id],
                                faults=args.receiver_fault, time_scale=time_scale, log=log, host=args.host,
                                port=port, path=url.path or "/")
        listening = receiver.start()
    except UnknownFaultError as exc:
        return _fail(str(exc))
    except (OSError, RuntimeError) as exc:
        return _fail(str(exc))
    faults = f", receiver faults={','.join(args.receiver_fault)}" if args.receiver_fault else ""
    print(f"AGWS mock callback receiver listening on {listening} (knows {target.receiver.external_id!r}{faults})",
          flush=True)
    wait_for_stop()
    receiver.stop()
    print("AGWS mock callback receiver stopped", flush=True)
    return 0


def wait_for_stop(on_report: Callable[[], None] | None = None) -> None:
    """Block until Ctrl-C or SIGTERM; with ``on_report``, call it on each SIGUSR1 and serve on."""
    stop = threading.Event()
    report_now = threading.Event()
    wake = threading.Event()  # set by every signal, so the loop below reacts at once

    def on_stop(*_: object) -> None:
        stop.set()
        wake.set()

    def on_usr1(*_: object) -> None:
        report_now.set()
        wake.set()

    # Both set explicitly: a process started in the background of a non-interactive shell (CI)
    # inherits SIGINT as ignored, and Ctrl-C must still stop it.
    previous = {sig: signal.signal(sig, on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    if on_report is not None and hasattr(signal, "SIGUSR1"):  # not on Windows: the report comes on stop only
        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, on_usr1)
    try:
        while not stop.is_set():
            wake.wait(0.5)
            wake.clear()
            if report_now.is_set() and not stop.is_set() and on_report is not None:  # SIGUSR1: report, serve on
                report_now.clear()
                on_report()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_inspection(inspector: Inspector | None, args: argparse.Namespace) -> None:
    """Write the inspector's reports; a path that cannot be written is said, not fatal (the mock serves on)."""
    if inspector is None:
        return
    from agws_conformance.report.inspector import write_reports

    try:
        written = write_reports(inspector.document(), args.inspect, args.inspect_json)
    except OSError as exc:
        print(f"agws-conformance mock: cannot write the inspector report: {exc}", file=sys.stderr, flush=True)
        return
    print(f"inspector report ({inspector.verdict()}, {inspector.seen} request(s)): "
          + ", ".join(str(p) for p in written), flush=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m agws_conformance.commands.mock``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="agws-conformance")
    register(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args([NAME, *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
