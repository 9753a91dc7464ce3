from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
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


def test_every_setting_has_a_plain_meaning() -> None:
    from simlab.parameter_help import MEANINGS
    from simlab.world import Settings

    fields = {f.name for f in dataclasses.fields(Settings)}
    missing = sorted(fields - set(MEANINGS))
    assert missing == [], f"add a meaning to simlab/parameter_help.py for {missing}"
    assert set(MEANINGS) <= fields, "a meaning for a setting that no longer exists"
    assert all(m and not m.endswith(".") for m in MEANINGS.values())


@pytest.mark.parametrize(
    ("metric", "value", "shown"),
    [
        ("interception_rate", 0.125, "12.5%"),
        ("detection_time", 5400.0, "1.5 h"),
        ("detection_time", None, "never"),
        ("detection_time", float("nan"), "never"),
        ("exposure_window", 2.5 * 86400, "2.50 d"),
        ("lockout_duration", 0.0, "0.0 h"),
        ("clients_affected", 12.0, "12"),
        ("detected_by", "ct_monitor", "ct_monitor"),
    ],
)
def test_metrics_are_shown_with_units(metric: str, value: object, shown: str) -> None:
    from simlab.units import format_metric

    assert format_metric(metric, value) == shown
    assert format_metric(metric, value, applies=False) == "n/a"


def test_csv_tables_say_their_units() -> None:
    from simlab.units import for_csv

    table = pd.DataFrame(
        {
            "time": [3600.0, 5400.0],
            "detection_time": [7200.0, None],
            "lockout_duration": [86400.0 * 3, 0.0],
            "clients_affected": [4.0, 0.0],
        }
    )
    out = for_csv(table)
    assert list(out) == ["time_h", "detection_time_h", "lockout_duration_d", "clients_affected"]
    assert out["time_h"].tolist() == [1.0, 1.5]
    assert out["detection_time_h"].iloc[0] == 2.0 and pd.isna(out["detection_time_h"].iloc[1])
    assert out["lockout_duration_d"].tolist() == [3.0, 0.0]
    assert out.to_csv(index=False).splitlines()[1:] == ["1.0,2.0,3.0,4", "1.5,,0.0,0"]
    assert list(table) == ["time", "detection_time", "lockout_duration", "clients_affected"]


def test_a_sweep_cell_counts_the_runs_that_never_detected() -> None:
    # The mean of the detected runs alone would hide that one run in three never detected.
    from simlab.cli import _sweep_cell

    assert _sweep_cell("detection_time", [float("nan"), 3600.0, 7200.0]) == "1.5 h (2/3 detected)"
    assert _sweep_cell("detection_time", [float("nan")] * 2) == "never"
    assert _sweep_cell("interception_rate", [0.5, 0.25]) == "37.5%"


def test_metrics_table_for_notebooks_has_units_and_n_a() -> None:
    from simlab.units import metrics_table

    runs = {d: simlab.run("key-loss", d, n_clients=30) for d in ("none", "hpkp")}
    table = metrics_table(runs)
    assert list(table.index) == ["none", "hpkp"] and table.index.name == "defence"
    assert table.loc["hpkp", "interception rate"] == "n/a"
    # The owner still learns of its own outage: detection is shown, not n/a.
    assert table.loc["hpkp", "detected by"] == runs["hpkp"].metrics["detected_by"] != "n/a"
    lockout = runs["hpkp"].metrics["lockout_duration"]
    assert table.loc["hpkp", "lockout duration"].split()[-1] == ("d" if lockout >= 86400 else "h")
