"""Suite speed, side by side: the suite's request rate against a bare httpx loop, and profile times.

One pytest process runs the whole suite against its embedded mock; at session end, before the
mock stops, this file (loaded as a pytest plugin) replays every request the suite recorded (the
same bytes, headers and signatures) to the same mock instance with a bare ``httpx.Client``
keep-alive loop. Both rates share the process, the GIL and the mock, so their ratio is the
suite's own overhead (judging, schema validation, Hypothesis, pytest per-test work).

    python benchmarks/suite_speed.py [--rounds 3]

Then the quick and thorough profiles are run whole, each timed with its request count.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULT_ENV = "AGWS_SUITE_SPEED_OUT"
_SKIP_HEADERS = {"host", "content-length", "transfer-encoding"}


class SpeedPlugin:
    """Times the test loop, keeps every recorded request, and replays them at session end."""

    def __init__(self) -> None:
        self.loop_seconds = 0.0
        self.requests: list[dict[str, Any]] = []
        self.timers = {"send": 0.0, "generated": 0.0, "generated_send": 0.0}
        self._timing()

    def _timing(self) -> None:
        """Attribute loop time by wrapping two functions (before the suites import them): every
        Agws.send (signing, the client, the round trip) and every generated test's explore()."""
        from agws_conformance.plugin import context, generated

        timers, inside = self.timers, [False]
        send, explore = context.Agws.send, generated.explore

        def timed_send(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return send(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                timers["send"] += spent
                if inside[0]:
                    timers["generated_send"] += spent

        def timed_explore(*args: Any, **kwargs: Any) -> Any:
            start, inside[0] = time.perf_counter(), True
            try:
                return explore(*args, **kwargs)
            finally:
                timers["generated"] += time.perf_counter() - start
                inside[0] = False

        context.Agws.send = timed_send  # type: ignore[method-assign]
        generated.explore = timed_explore

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        start = time.perf_counter()
        try:
            return (yield)
        finally:
            self.loop_seconds = time.perf_counter() - start

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Tap every exchange the run records (before any target is bound), serialized later."""
        from agws_conformance.state import RUN_KEY

        run = session.config.stash[RUN_KEY]
        record = run._record

        def tap(exchange: Any) -> None:
            self.requests.append(exchange)
            record(exchange)

        run._record = tap  # type: ignore[method-assign]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from agws_conformance.state import RUN_KEY

        run = session.config.stash[RUN_KEY]
        bound = next(iter(run.bound.values()))  # the embedded mock, still running
        replayable = [d for d in (e.to_dict() for e in self.requests)
                      if not d["error"] and not d["request"]["truncated"] and d["response"]["status"]]
        seconds, sent = bare_loop(bound.target.base_url, replayable)
        out = {"suite_requests": run.request_count, "suite_loop_seconds": self.loop_seconds,
               "replayed": sent, "bare_seconds": seconds, "send_seconds": self.timers["send"],
               "generation_seconds": self.timers["generated"] - self.timers["generated_send"]}
        Path(os.environ[RESULT_ENV]).write_text(json.dumps(out), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    """Loaded with ``-p suite_speed``: measure only when asked to (``AGWS_SUITE_SPEED_OUT``)."""
    if os.environ.get(RESULT_ENV):
        config.pluginmanager.register(SpeedPlugin(), "agws-suite-speed")


def bare_loop(base_url: str, exchanges: list[dict[str, Any]]) -> tuple[float, int]:
    """Send the recorded requests back to back on one keep-alive client; (seconds, requests)."""
    import httpx

    prepared = []
    for e in exchanges:
        req = e["request"]
        body = base64.b64decode(req["body"]) if req["body_encoding"] == "base64" else req["body"].encode("utf-8")
        headers = [(k, v) for k, v in req["headers"] if k.lower() not in _SKIP_HEADERS]
        path = e["url"].split("://", 1)[1].split("/", 1)[1] if "/" in e["url"].split("://", 1)[1] else ""
        prepared.append((e["method"], "/" + path, headers, body))
    with httpx.Client(base_url=base_url, timeout=10) as client:
        start = time.perf_counter()
        for method, path, headers, body in prepared:
            client.request(method, path, headers=headers, content=body).read()
        return time.perf_counter() - start, len(prepared)


FLOOR_TESTS = 274
FLOOR_FILE = '''
import pytest

@pytest.mark.requirement("ENV-SHAPE")
@pytest.mark.parametrize("i", range({n}))
def test_floor(agws, i):
    agws.check(True, "ENV-SHAPE", "no request: the per-test floor of pytest and the plugin")
'''


def _speed_run(args: list[str], cwd: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agws-speed-") as tmp:
        out = Path(tmp) / "speed.json"
        env = dict(os.environ, **{RESULT_ENV: str(out)},
                   PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])))
        subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider", "-p", "suite_speed",
                        "--hypothesis-seed=0", f"--rootdir={cwd}"], cwd=cwd, env=env, capture_output=True, check=False)
        return json.loads(out.read_text(encoding="utf-8"))


def floor_round(tests: int = FLOOR_TESTS) -> float:
    """Seconds pytest and the plugin need for ``tests`` tests that send nothing (same process setup)."""
    with tempfile.TemporaryDirectory(prefix="agws-floor-") as tmp:
        (Path(tmp) / "test_floor.py").write_text(FLOOR_FILE.format(n=tests), encoding="utf-8")
        (Path(tmp) / "conftest.py").write_text("", encoding="utf-8")
        return float(_speed_run(["test_floor.py"], Path(tmp))["suite_loop_seconds"])


def suite_round() -> dict[str, Any]:
    """One whole-suite run with the replay at its end (a fresh process), and the floor run beside it."""
    data = _speed_run(["suites"], REPO)
    data["floor_seconds"] = floor_round()
    data["suite_rps"] = data["suite_requests"] / data["suite_loop_seconds"]
    data["bare_rps"] = data["replayed"] / data["bare_seconds"]
    data["ratio"] = data["suite_rps"] / data["bare_rps"]
    # The best ratio any pytest suite of this many tests could reach: floor + pure request time.
    data["ceiling"] = data["bare_seconds"] / (data["floor_seconds"] + data["bare_seconds"])
    return data


def profile_run(profile: str) -> dict[str, Any]:
    """The whole suite in one profile: wall time (process start to exit) and request count."""
    with tempfile.TemporaryDirectory(prefix="agws-speed-") as tmp:
        summary = Path(tmp) / "s.json"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
                               "--agws-profile", profile, f"--agws-json={summary}"], cwd=REPO,
                              capture_output=True, check=False)
        wall = time.perf_counter() - start
        doc = json.loads(summary.read_text(encoding="utf-8"))
    return {"profile": profile, "wall_seconds": wall, "requests": doc["run"]["request_count"],
            "tests": doc["counts"]["tests"]["total"], "verdict": doc["verdict"], "exit": done.returncode}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rounds = [suite_round() for _ in range(args.rounds)]
    for r in rounds:
        print(f"suite {r['suite_requests']} req / {r['suite_loop_seconds']:.2f} s = {r['suite_rps']:.0f} req/s; "
              f"bare loop {r['replayed']} req / {r['bare_seconds']:.2f} s = {r['bare_rps']:.0f} req/s; "
              f"ratio {r['ratio']:.2f}; floor {FLOOR_TESTS} empty tests {r['floor_seconds']:.2f} s, "
              f"best possible ratio {r['ceiling']:.2f}")
        rest = r["suite_loop_seconds"] - r["send_seconds"] - r["generation_seconds"]
        print(f"  where the suite's {r['suite_loop_seconds']:.2f} s went: {r['send_seconds']:.2f} s in Agws.send "
              f"(sign, client, round trip; the bare loop needs {r['bare_seconds']:.2f} s), "
              f"{r['generation_seconds']:.2f} s generating and judging the Hypothesis examples, "
              f"{rest:.2f} s everything else (pytest per test, fixtures, judging, report hooks)")
    ratio = statistics.median(r["ratio"] for r in rounds)
    ceiling = statistics.median(r["ceiling"] for r in rounds)
    print(f"median ratio suite/bare: {ratio:.2f} (target >= 0.5); pytest's own per-test floor caps it at {ceiling:.2f}; "
          f"the suite reaches {ratio / ceiling:.0%} of that cap")
    for profile in ("quick", "thorough"):
        p = profile_run(profile)
        print(f"profile {profile}: {p['wall_seconds']:.1f} s wall, {p['requests']} requests, {p['tests']} tests, "
              f"{p['verdict']} (exit {p['exit']})")
    return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
