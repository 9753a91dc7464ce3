"""``python -m benchmarks exhaustive`` runs the slow engine comparison the benchmark
figures rest on, and stops (no figure, exit 1) when it fails."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from benchmarks import __main__ as bench_main


def test_it_is_one_of_the_benchmarks() -> None:
    assert "exhaustive" in bench_main.ALL


def test_it_selects_the_exhaustive_marker_with_its_switch_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(args=args, env=kwargs["env"])
        return subprocess.CompletedProcess(args, 0, "...\n3 passed in 61.0s\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert bench_main.main(["exhaustive"]) == 0
    args = seen["args"]
    assert args[args.index("-m", 2) + 1] == "exhaustive"
    assert args[-1].endswith("tests/test_engines.py")
    assert seen["env"]["SIMLAB_EXHAUSTIVE"] == "1"
    assert "3 passed in 61.0s" in capsys.readouterr().out


def test_a_failed_comparison_stops_the_benchmarks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "F\n1 failed, 2 passed in 70.0s\n", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert bench_main.main(["exhaustive", "scale"]) == 1
    err = capsys.readouterr().err
    assert "'exhaustive' stopped" in err and "1 failed, 2 passed" in err
