"""``agws-conformance sign``: output modes, secret handling, and one-line errors for bad input."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agws_conformance import cli
from agws_conformance.signer import Variant, sign

BODY = (
    b'{"agent":"tarlan","amount":100,"datetime":"2022-12-01T15:45:00Z","external_id":"200001",'
    b'"project":"mobile","service_code":"201106","username":"989898"}'
)
SIGNATURE = "9ab70986d5b875e66fc92368029f845275a1208633eb9dda821bbabf99cac4b2"
SECRET = "12345"


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    return path


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGWS_SECRET", SECRET)


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def test_prints_signature_of_file(body_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sign", str(body_file)]) == 0
    assert capsys.readouterr().out == SIGNATURE + "\n"


def test_reads_stdin_by_default(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(BODY))
    assert cli.main(["sign"]) == 0
    assert capsys.readouterr().out.strip() == SIGNATURE


def test_json_output(body_file: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli.main(["sign", "--json", str(body_file)]) == 0
    out = json.loads(capsysbinary.readouterr().out)
    signed = sign(BODY, SECRET)
    assert out == {"canonical": signed.canonical.decode(), "base64": signed.base64, "signature": SIGNATURE}


def test_explain_shows_steps_but_never_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    secret = "s3cr3t-ΩΩ"
    monkeypatch.setenv("AGWS_SECRET", secret)
    path = tmp_path / "b.json"
    path.write_bytes(b'{"b":"<\xd3\x99>","a":1}')
    assert cli.main(["sign", "--explain", str(path)]) == 0
    captured = capsysbinary.readouterr()
    out = captured.out.decode()
    signed = sign(path.read_bytes(), secret)
    assert signed.canonical.decode() in out and signed.base64 in out and signed.signature in out
    assert secret not in out and secret.encode() not in captured.err


@pytest.mark.parametrize("flag", [["--go-version", "1.21"], ["--legacy-escapes"]])
def test_legacy_escapes(flag: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(rb'{"s":"\b"}')
    assert cli.main(["sign", *flag, str(path)]) == 0
    legacy = capsys.readouterr().out.strip()
    assert cli.main(["sign", "--go-version", "1.22", str(path)]) == 0
    modern = capsys.readouterr().out.strip()
    assert legacy == sign(path.read_bytes(), SECRET, Variant(legacy_escapes=True)).signature
    assert modern == sign(path.read_bytes(), SECRET).signature != legacy


def test_omit_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(b'{"agent":"a","username":""}')
    assert cli.main(["sign", "--omit-empty", str(path)]) == 0
    assert capsys.readouterr().out.strip() == sign(b'{"agent":"a"}', SECRET).signature


def test_secret_env_names_the_variable(body_file: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MY_PROJECT_SECRET", SECRET)
    monkeypatch.delenv("AGWS_SECRET")
    assert cli.main(["sign", "--secret-env", "MY_PROJECT_SECRET", str(body_file)]) == 0
    assert capsys.readouterr().out.strip() == SIGNATURE


@pytest.mark.parametrize("argv", [["sign"], ["sign", "--secret-env", "OTHER_SECRET"]])
def test_missing_secret_exits_2_naming_the_variable(argv: list[str], body_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AGWS_SECRET")
    assert cli.main([*argv, str(body_file)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert (argv[-1] if argv[-1] != "sign" else "AGWS_SECRET") in line


def test_secret_is_not_an_argument() -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["sign", "--secret", "12345"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"[1,2]", "not a JSON object"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":1e400}', "overflows"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "invalid character"),
        (b'{"a":' + b"[" * 200000, "deeper than 10000"),
        (b"", "unexpected end"),
    ],
)
def test_refused_body_exits_1_with_one_line(body: bytes, needle: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.bin"
    path.write_bytes(body)
    assert cli.main(["sign", str(path)]) == 1
    captured = capsys.readouterr()
    assert needle in _one_line_error(captured.err)
    assert captured.out == ""


@pytest.mark.parametrize("target", ["missing.json", "."])
def test_unreadable_input_exits_2(target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sign", target]) == 2
    assert target in _one_line_error(capsys.readouterr().err)


def test_keyboard_interrupt_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class _Interrupting:
        class buffer:  # noqa: N801 - mimics sys.stdin.buffer
            @staticmethod
            def read(_n: int) -> bytes:
                raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", _Interrupting)
    assert cli.main(["sign"]) == 130
    _one_line_error(capsys.readouterr().err)


def test_commands_are_pluggable() -> None:
    assert "agws_conformance.commands.sign" in cli.COMMANDS
    parser = cli.build_parser()
    args = parser.parse_args(["sign", "-"])
    assert callable(args.func)


def test_console_script_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("agws-conformance")
    command = [exe] if exe else [sys.executable, "-m", "agws_conformance.cli"]
    env = {k: v for k, v in os.environ.items() if k != "AGWS_SECRET"}
    env["AGWS_SECRET"] = SECRET
    done = subprocess.run([*command, "sign"], input=BODY, capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == SIGNATURE
    # a closed pipe on stdout must not produce a traceback
    (tmp_path / "body.json").write_bytes(BODY)
    shell = f"{' '.join(command)} sign --explain {tmp_path / 'body.json'} | true"
    broken = subprocess.run(shell, shell=True,
                            capture_output=True, env=env, timeout=60)
    assert b"Traceback" not in broken.stderr


# -- sign --check: the signature doctor -----------------------------------------------------------

def test_check_correct_signature_says_correct_and_which_variants(body_file: Path,
                                                                  capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli.main(["sign", "--check", SIGNATURE, str(body_file)]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert "verdict:    correct" in out and "go1.22" in out and "go1.21" in out


def test_check_names_the_recipe_and_its_fix_never_the_secret(monkeypatch: pytest.MonkeyPatch,
                                                               capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    import base64
    import hashlib

    from agws_conformance.doctor import RECIPES

    wrong = hashlib.sha256(base64.b64encode(sign(BODY, SECRET).canonical) + SECRET.encode()).hexdigest().upper()
    monkeypatch.setattr(sys, "stdin", _Stdin(BODY))
    assert cli.main(["sign", "--check", wrong]) == 1
    captured = capsysbinary.readouterr()
    out = captured.out.decode()
    assert "uppercase-hex" in out and RECIPES["uppercase-hex"].fix in out
    assert SECRET not in out and SECRET.encode() not in captured.err


def test_check_unknown_recipe_prints_the_canonical_string(body_file: Path,
                                                           capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert cli.main(["sign", "--check", "0" * 64, "--json", str(body_file)]) == 1
    out = json.loads(capsysbinary.readouterr().out)
    assert out["verdict"] == "unknown" and out["canonical"] == sign(BODY, SECRET).canonical.decode()


def test_check_under_an_explicit_go_version_names_the_other_one(tmp_path: Path,
                                                                 capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(b'{"a":"\\b"}')
    legacy = sign(path.read_bytes(), SECRET, Variant(legacy_escapes=True)).signature
    assert cli.main(["sign", "--check", legacy, str(path)]) == 0  # any Go variant is correct
    assert "go1.21" in capsysbinary.readouterr().out.decode()
    assert cli.main(["sign", "--check", legacy, "--go-version", "1.22", str(path)]) == 1
    assert "go-escapes-1.21" in capsysbinary.readouterr().out.decode()
