"""Outputs are safe: no user file replaced without --force, none half-written, no symlink
followed out of the output folder (issue #17, item 5)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from simlab import files, runner
from simlab.cli import main
from simlab.errors import OutputError
from simlab.export import FILES as EXPORT_FILES
from simlab.export import export
from simlab.live import FILES as LIVE_FILES

PINNING_HIJACK = """\
[scenario]
name = "pinning-hijack"
story = "domain-hijack"
title = "A hijacker that pins its own key"
[params]
hijacker_pins = true
n_clients = 30
"""


def _listing(folder: Path) -> dict[str, bytes]:
    """Every entry in ``folder`` (hidden ones too) with its bytes, or b"->target" for a link."""
    return {
        p.name: b"->" + os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in folder.iterdir()
    }


def _main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit:  # argparse's own errors
        return int(exit.code or 0)


# files.write: whole or not at all


def test_write_replaces_a_file_whole_with_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "table.csv"
    assert files.write(target, "a,b\n1,2\n") == target  # the folder is created
    files.write(target, b"new")
    assert target.read_bytes() == b"new"
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert target.stat().st_mode == plain.stat().st_mode  # 0666 less the umask, not 0600
    assert _listing(target.parent) == {"table.csv": b"new"}  # no temporary file left


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    target = tmp_path / "README.txt"
    target.write_text("the user's own")

    def fail(fd: int) -> None:
        raise failure

    monkeypatch.setattr(os, "fsync", fail)  # after the bytes went to the temporary file
    expected = OutputError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        files.write(target, "half" * 1000)
    if expected is OutputError:
        assert str(info.value) == f"cannot write {target}: No space left on device"
    assert _listing(tmp_path) == {"README.txt": b"the user's own"}


@pytest.mark.parametrize("replace", [True, False])
def test_a_set_of_files_is_written_all_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: bool
) -> None:
    """The third file of a set cannot be written (a full disk): none of the set is put in
    place, an existing file keeps its bytes, and no temporary file is left."""
    (tmp_path / "b.csv").write_text("the user's own")
    real_fsync, calls = os.fsync, []

    def full_at_third(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_at_third)
    names = ["a.csv", "b.csv", "c.csv"]
    with pytest.raises(OutputError, match="cannot write .*c.csv: No space left on device"):
        files.write_all({tmp_path / name: name for name in names}, replace=replace)
    assert _listing(tmp_path) == {"b.csv": b"the user's own"}


def test_a_rename_failing_after_every_byte_is_written_takes_back_the_new_files(
    tmp_path: Path,
) -> None:
    """A folder put in the way of the last file since the command planned: the files this
    call created are removed again, the one it had already replaced stays replaced (whole),
    and the folder is untouched."""
    (tmp_path / "a.csv").write_text("old a")
    (tmp_path / "c.csv").mkdir()
    with pytest.raises(OutputError, match="cannot write .*c.csv"):
        files.write_all({tmp_path / n: f"new {n}" for n in ["a.csv", "b.csv", "c.csv"]})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "c.csv"]  # no b.csv
    assert (tmp_path / "a.csv").read_text() == "new a.csv" and (tmp_path / "c.csv").is_dir()


def test_a_set_whose_last_name_is_taken_meanwhile_is_taken_back(tmp_path: Path) -> None:
    """Without replace, a file that appeared under one of the names is the user's: the
    files already put in place are removed again, and the user's file is kept."""
    (tmp_path / "c.csv").write_text("appeared")
    with pytest.raises(OutputError, match="c.csv appeared while simlab was working"):
        files.write_all({tmp_path / n: n for n in ["a.csv", "b.csv", "c.csv"]}, replace=False)
    assert _listing(tmp_path) == {"c.csv": b"appeared"}


def test_a_file_size_limit_leaves_no_part_of_an_export(tmp_path: Path) -> None:
    """A real limit (``ulimit -f 1``, 1 KiB: a root fits, a chain does not): the export
    fails with one line and leaves none of its files, nor the folders it made, so running
    it again needs no --force."""
    import shlex
    import subprocess
    import sys

    out = tmp_path / "out" / "sub"
    command = shlex.join([sys.executable, "-m", "simlab", "export", "mitm", "--out", str(out)])
    done = subprocess.run(
        ["bash", "-c", f"ulimit -f 1; exec {command}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert "cannot write" in done.stderr and "File too large" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_a_symlink_and_never_writes_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not simlab's")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "README.txt").symlink_to(outside)
    files.write(folder / "README.txt", "simlab's")
    assert not (folder / "README.txt").is_symlink()
    assert (folder / "README.txt").read_text() == "simlab's"
    assert outside.read_text() == "not simlab's"


# files.plan: checked before any work


def test_plan_refuses_an_existing_file_a_symlink_and_a_dangling_one(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("mine")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "c.csv").symlink_to(tmp_path / "nowhere")
    for name in ("a.csv", "b.csv", "c.csv"):
        with pytest.raises(OutputError) as info:
            files.plan(tmp_path, ["new.csv", name])
        assert str(info.value) == f"{tmp_path / name} already exists; pass --force to replace it"
    with pytest.raises(OutputError, match=r"a\.csv and 2 more .* pass --force to replace them"):
        files.plan(tmp_path, ["a.csv", "b.csv", "c.csv"])
    planned = files.plan(tmp_path, ["a.csv", "b.csv", "c.csv", "d.csv"], force=True)
    assert planned == [tmp_path / n for n in ("a.csv", "b.csv", "c.csv", "d.csv")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.csv"]


def test_plan_refuses_a_folder_in_the_way_and_names_that_are_not_plain(tmp_path: Path) -> None:
    (tmp_path / "x.png").mkdir()
    with pytest.raises(OutputError, match="a folder of that name is in the way"):
        files.plan(tmp_path, ["x.png"], force=True)
    for name in ("../x.csv", "a/b.csv", "..", ".", "", "x\0y"):
        with pytest.raises(OutputError, match="not a plain file name"):
            files.plan(tmp_path, [name], force=True)
    with pytest.raises(OutputError, match="no output folder given"):
        files.plan("", ["x.csv"])
    with pytest.raises(OutputError, match="File name too long"):  # the fuzz test found it
        files.plan(tmp_path / ("1" * 400), ["x.csv"])
    created = tmp_path / "not" / "yet"
    assert files.plan(created, ["x.csv"]) == [created / "x.csv"]
    assert not (tmp_path / "not").exists()  # a plan creates nothing


# Each writing command


def test_export_refuses_a_symlinked_readme_and_force_replaces_the_link_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not simlab's")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "README.txt").symlink_to(outside)
    (folder / "notes.txt").write_text("the user's")
    argv = ["export", "ca-compromise", "--out", str(folder)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"simlab: error: {folder / 'README.txt'} already exists; pass --force to replace it\n"
    )
    assert _listing(folder) == {
        "README.txt": b"->" + str(outside).encode(),
        "notes.txt": b"the user's",
    }
    assert main([*argv, "--force"]) == 0
    assert "simlab export of 'ca-compromise'" in (folder / "README.txt").read_text()
    assert not (folder / "README.txt").is_symlink()
    assert outside.read_text() == "not simlab's"
    assert (folder / "notes.txt").read_text() == "the user's"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_export_files_name_everything_an_export_may_write(tmp_path: Path) -> None:
    scenario = tmp_path / "pinning-hijack.toml"
    scenario.write_text(PINNING_HIJACK)
    written = {p.name for p in export(str(scenario), tmp_path / "a", defence="hpkp")}
    assert written == set(EXPORT_FILES)  # the hijacker's pins and the owner's: every file
    written = {p.name for p in export("key-loss", tmp_path / "b", defence="none")}
    assert set(EXPORT_FILES) - written == {
        "attacker-chain.pem",
        "attacker-public-key-pins.txt",
        "owner-public-key-pins.txt",
    }
    # A file export would write only with an attacker still blocks an export without one.
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "attacker-chain.pem").write_text("mine")
    with pytest.raises(OutputError, match="attacker-chain.pem already exists"):
        export("key-loss", tmp_path / "c", defence="none")


def test_an_export_over_an_earlier_one_says_which_files_are_its_own(tmp_path: Path) -> None:
    """--force replaces the files an export writes and leaves an earlier export's others
    (an attacker's chain, where the new scenario has no attacker): README.txt names the
    files that are this export's, so a stale one can be told apart."""

    def listed(folder: Path) -> set[str]:
        (line,) = [x for x in (folder / "README.txt").read_text().splitlines() if "wrote" in x]
        return set(line.removeprefix("This export wrote: ").removesuffix(".").split(", "))

    export("ca-compromise", tmp_path)
    assert listed(tmp_path) == {p.name for p in tmp_path.iterdir()}
    export("key-loss", tmp_path, defence="none", force=True)
    assert "attacker-chain.pem" in {p.name for p in tmp_path.iterdir()} - listed(tmp_path)
    assert listed(tmp_path) == set(EXPORT_FILES) - {
        "attacker-chain.pem",
        "attacker-public-key-pins.txt",
        "owner-public-key-pins.txt",
    }


def test_run_refuses_to_replace_a_table_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["run", "mitm", "none", "hpkp", "--param", "n_clients=20", "--out", str(tmp_path)]
    (tmp_path / "mitm-hpkp-seed0.csv").write_text("mine")

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started")

    with monkeypatch.context() as patch:
        patch.setattr("simlab.runner.run", no_run)
        assert main(argv) == 1
    assert "mitm-hpkp-seed0.csv already exists; pass --force" in capsys.readouterr().err
    assert _listing(tmp_path) == {"mitm-hpkp-seed0.csv": b"mine"}
    assert main([*argv, "--force"]) == 0
    assert sorted(_listing(tmp_path)) == ["mitm-hpkp-seed0.csv", "mitm-none-seed0.csv"]
    assert (tmp_path / "mitm-hpkp-seed0.csv").read_text().startswith("scenario,")


def test_write_without_replace_never_replaces_a_file_that_is_there(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    assert files.write(target, b"new", replace=False) == target  # a free name is written
    with pytest.raises(OutputError, match=r"table.csv appeared while simlab was working"):
        files.write(target, b"newer", replace=False)
    assert _listing(tmp_path) == {"table.csv": b"new"}  # kept, and no temporary file left


@pytest.mark.parametrize("verb", ["run", "export"])
def test_a_file_that_appears_during_the_run_is_not_replaced(
    verb: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outputs were free when the command started; one is taken while the runs go on
    (another program, or the user). Without --force it is not replaced, and nothing else is
    written either."""
    name = "mitm-none-seed0.csv" if verb == "run" else "ctlogs.cnf"
    target = "simlab.runner.run" if verb == "run" else "simlab.export.run"
    real = runner.run

    def run_then_a_file_appears(*args: object, **kwargs: Any) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        (tmp_path / name).write_text("mine")
        return result

    monkeypatch.setattr(target, run_then_a_file_appears)
    argv = (
        ["run", "mitm", "none", "hpkp", "--param", "n_clients=20"]
        if verb == "run"
        else ["export", "mitm"]
    )
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert f"{tmp_path / name} already exists; pass --force" in capsys.readouterr().err
    assert _listing(tmp_path) == {name: b"mine"}


@pytest.mark.parametrize(
    ("argv", "existing"),
    [
        (["compare", "--seeds", "1"], "timeline-key-loss.svg"),
        (["compare"], "compare-daily.csv"),
        (
            ["sweep", "mitm", "days", "20,30", "--seeds", "1"],
            "sweep-mitm-days-interception_rate.png",
        ),
        (["live", "mitm", "--seconds", "0"], "servers.json"),
        (["export", "mitm"], "ctlogs.cnf"),
    ],
)
def test_every_writing_verb_refuses_before_it_runs(
    argv: list[str],
    existing: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / existing).write_text("mine")

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run started")

    for target in (
        "simlab.runner.run",
        "simlab.export.run",
        "simlab.live.build",
        "simlab.sweep.sweep",
    ):
        monkeypatch.setattr(target, no_run)
    assert main([*argv, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / existing} " in err and "pass --force" in err and err.count("\n") == 1
    assert _listing(tmp_path) == {existing: b"mine"}


def test_live_out_plans_the_files_it_writes(tmp_path: Path) -> None:
    assert main(["live", "mitm", "--seconds", "0", "--out", str(tmp_path)]) == 0
    assert sorted(_listing(tmp_path)) == sorted(LIVE_FILES)
    assert main(["live", "mitm", "--seconds", "0", "--out", str(tmp_path)]) == 1
    assert main(["live", "mitm", "--seconds", "0", "--out", str(tmp_path), "--force"]) == 0


@pytest.mark.parametrize("verb", ["run mitm none", "compare", "sweep mitm days 20", "live mitm",
                                  "export mitm"])  # fmt: skip
def test_an_empty_out_is_a_usage_error(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main([*verb.split(), "--out", ""]) == 2
    assert capsys.readouterr().err.endswith("error: argument --out: must name a folder, got ''\n")
