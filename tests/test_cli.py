from __future__ import annotations

from pathlib import Path

import pytest

import simlab
from simlab.cli import main
from simlab.pki import spki_pin
from tests.conftest import SmallPKI


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"simlab {simlab.__version__}"


def test_pin_prints_each_certificate_pin(
    small_pki: SmallPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chain.pem"
    path.write_text(small_pki.chain.pem())
    assert main(["pin", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split('"')[1] for line in lines] == [
        spki_pin(c) for c in small_pki.chain.certificates
    ]
    assert "CN=example.com" in lines[0]


@pytest.mark.parametrize("content", [b"garbage", b""])
def test_pin_on_a_bad_file_is_one_line_and_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    assert main(["pin", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "bad.pem" in err and "Traceback" not in err


def test_pin_on_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["pin", str(tmp_path / "nope.pem")]) == 1
    assert "cannot read" in capsys.readouterr().err
