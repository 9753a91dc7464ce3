from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import simlab
import simlab.sweep
from simlab.cli import main
from simlab.errors import ScenarioError
from simlab.scenario_file import parse_scenario
from simlab.sweep import Job, sweep
from simlab.units import duration
from tests.bounds import ODD_INPUTS, odd_input
from tests.conftest import openssl_text, openssl_verify

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_list_names_every_scenario_defence_and_replay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("mitm-local-root", "hpkp-ransom", "hpkp+ct", "diginotar-2011", "ransompkp-2016"):
        assert name in out
    # Defences are what the site deploys; the clients are the era's releases.
    assert "defences (what the site deploys" in out
    assert "sends Public-Key-Pins with a backup pin" in out
    assert "clients: the web of 2018-10" in out and "Chrome 68-71 42%" in out


def test_show_gives_each_parameter_its_meaning_default_and_range(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from simlab.parameter_help import MEANINGS
    from simlab.scenario_file import settable

    assert main(["show", "key-loss"]) == 0
    out = capsys.readouterr().out
    assert "The server's key is lost" in out
    lines = out.splitlines()
    rows = {line.split()[0]: line for line in lines if line.startswith("  ") and line[2] != " "}
    # days: this scenario's value (starred), the default, the range; then the meaning.
    assert rows["days"].split()[:9] == ["days", "90", "*", "60", ">", "0", "and", "<=", "3,650"]
    assert rows["click_through"].split()[1:4] == ["0.4", "0.4", "between"]
    assert rows["backup_key_survives"].split()[1:] == ["false", "false", "true", "or", "false"]
    for key in settable():
        meaning = lines[lines.index(rows[key]) + 1]
        assert meaning.strip() == MEANINGS[key], key
    assert main(["show", "key-loss", "--toml"]) == 0
    assert capsys.readouterr().out.startswith('[scenario]\nname = "key-loss"')


def test_run_a_toml_file_prints_a_metrics_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        main(
            [
                "run",
                str(EXAMPLES / "cafe-wifi.toml"),
                "--defence",
                "none",
                "--defence",
                "static",
                "--param",
                "n_clients=60",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "interception_rate" in out and "static" in out
    table = pd.read_csv(tmp_path / "cafe-wifi-none-seed0.csv")
    assert table["client"].max() < 60
    assert "time_h" in table and "time" not in table  # hours, and the header says so
    assert (table["time_h"] // 24 == table["day"]).all()


def test_run_takes_defences_as_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "mitm", "none", "hpkp", "--param", "n_clients=40"]) == 0
    header = capsys.readouterr().out.splitlines()[1].split()
    assert header == ["metric", "none", "hpkp"]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "CAFE", "--param", "click_through=0.9", "none", "--param", "n_clients=40", "ct"],
        ["run", "--param", "click_through=0.9", "CAFE", "none", "ct", "--param=n_clients=40"],
        ["run", "CAFE", "none", "--seed", "0", "ct", "--param", "click_through=0.9",
         "--param", "n_clients=40"],
    ],
)  # fmt: skip
def test_param_is_accepted_anywhere_on_the_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(EXAMPLES / "cafe-wifi.toml") if a == "CAFE" else a for a in argv]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["metric", "none", "ct"]
    expected = simlab.run(EXAMPLES / "cafe-wifi.toml", "ct", click_through=0.9, n_clients=40)
    rate = next(line for line in out if line.startswith("interception_rate")).split()[2]
    assert rate == f"{expected.metrics['interception_rate']:.1%}"


def test_columns_never_run_together(capsys: pytest.CaptureFixture[str]) -> None:
    # Long labels and long values side by side: every cell stays two spaces from the next.
    from simlab.cli import _columns

    lines = _columns(
        ["metric", "hpkp+ct (historical)", "none"],
        [["detected_by", "hpkp_report", "never"], ["exposure_window", "2.61 d", "12.61 d"]],
    )
    assert [re.split(r"\s{2,}", line) for line in lines] == [
        ["metric", "hpkp+ct (historical)", "none"],
        ["detected_by", "hpkp_report", "never"],
        ["exposure_window", "2.61 d", "12.61 d"],
    ]
    assert main(["replay", "diginotar-2011"]) == 0
    table = capsys.readouterr().out.split("\n\n")[-1].splitlines()
    cells = [re.split(r"\s{2,}", line.strip()) for line in table]
    assert cells[0] == [
        "metric",
        "none",
        "static (historical)",
        "hpkp",
        "ct",
        "hpkp+ct",
    ]
    assert {len(row) for row in cells} == {6}


def test_times_have_units_and_counts_are_whole(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "domain-hijack", "ct", "none", "--param", "n_clients=60"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[2:]}
    result = simlab.run("domain-hijack", "ct", n_clients=60)
    hours = result.metrics["detection_time"] / 3600
    assert rows["detection_time"][:2] == [f"{hours:.1f}", "h"] and hours >= 1
    # One unit per metric, as in the CSV files: no "0.0 h" next to "58.57 d".
    assert rows["exposure_window"][1::2] == ["d", "d"]
    assert rows["lockout_duration"] == ["0", "d", "0", "d"]
    assert rows["clients_affected"] == [
        str(result.metrics["clients_affected"]),
        str(simlab.run("domain-hijack", "none", n_clients=60).metrics["clients_affected"]),
    ]


def test_a_detection_within_minutes_is_shown_not_rounded_to_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Key loss under HPKP: the first report arrives about 2 minutes in (it read 0.0 h)."""
    assert main(["run", "key-loss", "hpkp", "static"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    seconds = simlab.run("key-loss", "hpkp").metrics["detection_time"]
    assert 0 < seconds < 600
    value, unit = rows["detection_time"][:2]
    assert unit == "h" and float(value) > 0 and abs(float(value) * 3600 - seconds) < 0.05 * seconds
    assert rows["lockout_duration"][1::2] == ["d", "d"]


def test_a_run_without_an_attacker_says_n_a_for_attack_metrics(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "key-loss", "hpkp", "--param", "n_clients=40"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    for metric in ("interception_rate", "exposure_window"):
        assert rows[metric] == ["n/a"], metric
    assert rows["detected_by"] == ["hpkp_report"]  # the owner learns of its own outage
    assert rows["legit_failure_rate"][0].endswith("%")


def test_an_attack_that_starts_after_the_run_ends_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for start in ("60", "70"):
        assert main(["run", "mitm", "none", "--param", f"attack_start_day={start}"]) == 1
        err = capsys.readouterr().err
        assert f"attack_start_day ({start}) must be before the run ends (days = 60)" in err
        assert err.count("\n") == 1
    assert main(["run", "mitm", "none", "--param", "attack_start_day=59", "--param",
                 "n_clients=20"]) == 0  # fmt: skip
    toml = "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\ndays=5\n"
    with pytest.raises(ScenarioError, match=r"attack_start_day \(10\) .* \(days = 5\)"):
        parse_scenario(toml, source="late.toml")


def test_a_bad_defence_stops_the_run_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["run", "mitm", "none", "hpkp-ct", "--param", "n_clients=40", "--out", str(tmp_path)]
    assert main(argv) == 1
    assert "unknown defence 'hpkp-ct'; valid: none, static, hpkp, ct, hpkp+ct" in (
        capsys.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["compare", "--seeds", "0"], 2, "argument --seeds: must be a whole number from 1 to"),
        (["compare", "--workers", "0"], 2, "argument --workers: must be a whole number from 1"),
        (["sweep", "mitm", "click_through", "0.2,1.5"], 1, "'click_through' must be between 0"),
        (["sweep", "mitm", "colour", "1"], 1, "unknown parameter 'colour'"),
        (["compare", "--param", "days=0"], 1, "parameter 'days' must be > 0"),
        (["run", "mitm", "none", "--param", "days=0"], 1, "parameter 'days' must be > 0"),
    ],
)
def test_bad_arguments_leave_no_output_folder(
    argv: list[str],
    status: int,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    try:
        code = main([*argv, "--out", str(out)])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    assert code == status
    err = capsys.readouterr().err
    assert message in err and [line for line in err.splitlines() if "error:" in line] == [
        err.splitlines()[-1]
    ]
    assert not out.exists()


def test_an_output_path_that_is_a_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    for argv in (["export", "mitm"], ["compare", "--seeds", "1"]):
        assert main([*argv, "--out", str(taken / "sub")]) == 1
        err = capsys.readouterr().err
        assert f"cannot write into {taken / 'sub'}: {taken} exists and is not a folder" in err
    assert taken.read_text() == "not a folder"


def test_a_reader_that_goes_away_is_no_traceback() -> None:
    # As in `simlab show key-loss | head -1`: the pipe closes before simlab writes.
    with subprocess.Popen(
        [sys.executable, "-m", "simlab", "show", "key-loss"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141
    assert err == ""


def test_a_missing_scenario_names_only_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["run"], ["run", "--seed", "1"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.rstrip().endswith("required: SCENARIO|FILE.toml|FILE.py")  # not DEFENCE


def test_run_a_python_scenario_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(EXAMPLES / "slow_response.py")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all("attacker serves the site" in line for line in lines)
    windows = [float(line.split("for")[1].split("days")[0]) for line in lines]
    assert windows == sorted(windows)  # a slower response means a longer window


@pytest.mark.parametrize("kind", ODD_INPUTS)
def test_run_reads_only_a_regular_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = odd_input(tmp_path, "odd.py", kind)
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == f"simlab: error: cannot read scenario script {path}: not a regular file\n"


SCRIPT_FAILURES = {
    "import simlab\n\nprint(1 / 0)\n": "failed: ZeroDivisionError: division by zero (line 3)",
    'open("/nonexistent/x")\n': "failed: FileNotFoundError: [Errno 2] No such file or "
    "directory: '/nonexistent/x' (line 1)",
    'def f():\n    raise ValueError("two\\nlines")\n\nf()\n': (
        "failed: ValueError: two ... (line 2)"  # the line inside the script's function
    ),
    'import simlab\nsimlab.run("nope", "none")\n': "failed: unknown scenario 'nope'; valid: ",
    "class E(Exception):\n    def __str__(self):\n        raise E\n\nraise E\n": (
        "failed: E (line 5)"  # an exception that cannot print itself
    ),
    "x = (\n": "line 1: '(' was never closed",
    "if x:\nprint(1)\n": "line 2: expected an indented block",
    "x = " + "1+" * 200_000 + "1\n": "cannot compile: RecursionError: maximum recursion depth",
    "x = " + "-" * 100_000 + "1\n": "cannot compile: MemoryError",  # raised with no message
    "class E(BaseException):\n    pass\n\nraise E('x')\n": "failed: E: x (line 4)",
    "raise GeneratorExit\n": "failed: GeneratorExit (line 1)",
    "import sys\nsys.exit('bye')\n": "stopped: sys.exit('bye')",
}


@pytest.mark.parametrize(("source", "message"), SCRIPT_FAILURES.items())
def test_a_scripts_own_failure_is_one_line_naming_it_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, message: str
) -> None:
    path = tmp_path / "s.py"
    path.write_text(source)
    main_module, argv0 = sys.modules["__main__"], sys.argv[0]
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"simlab: error: scenario script {path}")
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sys.modules["__main__"] is main_module and sys.argv[0] == argv0  # put back


def test_a_script_is_utf8_within_its_cap_and_chooses_its_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simlab.scripts import MAX_SCRIPT_BYTES

    path = tmp_path / "s.py"
    path.write_bytes(b"# caf\xe9\n")
    assert main(["run", str(path)]) == 1
    assert "s.py: line 1: not UTF-8 (byte 0xe9)" in capsys.readouterr().err
    head = "import sys\nprint(__name__, sys.argv[0] == __file__)\n"
    path.write_text(head + "#" * (MAX_SCRIPT_BYTES - len(head)))
    assert main(["run", str(path)]) == 0
    assert capsys.readouterr().out == "__main__ True\n"  # as `python s.py` would say
    with path.open("a") as f:
        f.write("#")
    assert main(["run", str(path)]) == 1
    assert "larger than 1 MiB, the most a scenario script may hold" in capsys.readouterr().err
    for code, status in (("", 0), ("0", 0), ("None", 0), ("3", 3)):
        path.write_text(f"import sys\nsys.exit({code})\nprint('not reached')\n")
        assert main(["run", str(path)]) == status
        assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope"], "unknown scenario 'nope'"),
        (["run", "mitm", "--param", "oops"], "--param expects key=value"),
        (["run", "mitm", "--param", "colour=red"], "scenario 'mitm': unknown parameter 'colour'"),
        (["sweep", "mitm", "days", "5", "--set", "colour=red"], "unknown parameter 'colour'"),
        (["run", "examples/slow_response.py", "hpkp"], "slow_response.py is a script"),
        (["run", "examples/slow_response.py", "--seed", "0"], "--seed, --param and --out"),
        (["live", "mitm", "--param", "colour=red", "--seconds", "0"], "unknown parameter"),
        (["replay", "titanic"], "unknown incident 'titanic'"),
        (["show", "/no/such.toml"], "cannot read scenario file"),
        # A terminal escape in a name the user gave is printed escaped.
        (["show", "/no/\x1b[31mred.toml"], "cannot read scenario file /no/\\x1b[31mred.toml"),
        (["run", "mitm", "--param", "hpkp=true"], "'hpkp' is the defence's to set"),
        (["show", "x" * 100_000], "unknown scenario 'xxxxxxxxxx"),
        (["replay", "x" * 100_000], "unknown incident 'xxxxxxxxxx"),
        (["run", "mitm", "--param", "p" * 100_000], "--param expects key=value, got 'pppp"),
        (["sweep", "mitm", "days", "1", "--metric", "m" * 100_000], "is not a numeric metric"),
        (["sweep", "mitm", "days", "9" * 5000], "a value of 'days': 999999999999... is a whole"),
    ],
)
def test_errors_are_one_line_on_stderr(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert "()" not in err  # the user's words, not the names of simlab's functions
    assert "\x1b" not in err and len(err) < 1000  # escaped, and quoted within bounds


def test_export_writes_artefacts_openssl_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "ca-compromise", "--out", str(tmp_path), "--defence", "hpkp+ct"]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "owner-chain.pem",
        "attacker-chain.pem",
        "owner-public-key-pins.txt",
        "scts.json",
        "sths.json",
        "public-root.pem",
    } <= names
    text = openssl_text((tmp_path / "owner-chain.pem").read_bytes())
    assert "CT Precertificate SCTs" in text
    readme = (tmp_path / "README.txt").read_text()
    assert "clients of 2018-10" in readme and "starts 2018-10-01" in readme
    attime = readme.split("-attime ")[1].split()[0]
    ok = openssl_verify(
        attime,
        tmp_path / "public-root.pem",
        tmp_path / "owner-chain.pem",
        tmp_path / "owner-chain.pem",
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_replay_marks_the_historical_defences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "smashing-magazine-2016"]) == 0
    out = capsys.readouterr().out
    assert "hpkp (historical)" in out and "smashingmagazine.com" in out


def test_compare_writes_tables_and_figures_and_says_each_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "--seeds", "1", "--workers", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out  # not a terminal: one line per stage, no progress bar
    assert "7 scenarios x 5 defences x 1 seed(s) = 35 runs" in out
    assert "runs: mitm done (5/35, 14%)" in out and "(35/35, 100%)" in out
    assert "charts: heatmaps" in out and f"to {tmp_path.resolve()}/" in out
    summary = {line.split()[0]: line.split()[1:] for line in out.splitlines()[-7:]}
    assert summary["key-loss"] == ["n/a"] * 5  # no attacker: not a perfect 0%
    assert summary["key-theft"] == ["100%"] * 5
    metrics = pd.read_csv(tmp_path / "compare-metrics.csv")
    assert len(metrics) == 7 * 5
    assert {"detection_time_h", "exposure_window_d", "lockout_duration_d"} <= set(metrics)
    assert "detection_time" not in metrics and metrics["clients_affected"].dtype.kind == "i"
    hijack = metrics.query("scenario == 'domain-hijack' and defence == 'ct'").iloc[0]
    expected = simlab.run("domain-hijack", "ct", seed=0).metrics
    assert hijack["detection_time_h"] == pytest.approx(expected["detection_time"] / 3600)
    assert hijack["exposure_window_d"] == pytest.approx(expected["exposure_window"] / 86400)
    for name in (
        "heatmap-interception_rate",
        "heatmap-legit_failure_rate",
        "timeline-key-loss",
        "network-graph",
        "trust-graph",
        "ct-detection-timeline",
    ):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
        assert (tmp_path / f"{name}.svg").exists()
    # What compare planned before its runs is exactly what it wrote, so a second compare
    # into the same folder is refused up front.
    from simlab.charts.output import figure_files
    from simlab.cli import _compare_figures
    from simlab.scenario_file import builtin_scenarios

    planned = [f for figure in _compare_figures(builtin_scenarios()) for f in figure_files(figure)]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(["compare-metrics.csv", "compare-daily.csv", *planned])
    assert main(["compare", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"and {len(written) - 1} more of the files this command writes already exist" in err


_REAL_EXECUTE = simlab.sweep._execute


def _failing_execute(job: Job) -> object:
    """A run that breaks: at module level, so the worker processes can find it."""
    if job.scenario == "key-theft":
        raise RuntimeError(f"run {job} broke")
    return _REAL_EXECUTE(job)


def test_a_failing_run_stops_compare_with_nothing_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Workers draw while runs go on, but only into memory: no figure, no table on disk."""
    monkeypatch.setattr(simlab.sweep, "_execute", _failing_execute)
    out = tmp_path / "out"
    argv = ["compare", "--seeds", "1", "--workers", "2", "--param", "n_clients=20"]
    with pytest.raises(RuntimeError, match="key-theft"):
        main([*argv, "--quiet", "--out", str(out)])
    assert not out.exists()


def test_sweeps_are_identical_under_any_executor() -> None:
    jobs = [Job("mitm", d, seed, (("n_clients", 60),)) for d in ("none", "hpkp") for seed in (0, 1)]
    serial, _ = sweep(jobs, executor=ThreadPoolExecutor(max_workers=1), progress=False)
    pooled, _ = sweep(jobs, workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, pooled)


@pytest.mark.timeout(120)
def test_sweeps_run_on_a_dask_local_cluster() -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    jobs = [Job("key-loss", "hpkp", seed, (("n_clients", 50),)) for seed in (0, 1)]
    serial, _ = sweep(jobs, executor=ThreadPoolExecutor(max_workers=1), progress=False)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask, _ = sweep(jobs, executor=client.get_executor(), progress=False)
    pd.testing.assert_frame_equal(serial, on_dask)


def test_parameter_sweep_shows_lockout_growing_with_max_age() -> None:
    from simlab.sweep import parameter_sweep

    metrics = parameter_sweep(
        "hpkp-ransom",
        "max_age_days",
        [7, 60],
        defences=["hpkp", "none"],
        seeds=1,
        params={"n_clients": 150},
        executor=ThreadPoolExecutor(max_workers=1),
        progress=False,
    )
    assert list(metrics["max_age_days"]) == [7.0, 7.0, 60.0, 60.0]
    # The ransomer's own header sets the lock-out, whether or not the site pinned.
    for defence in ("hpkp", "none"):
        lockout = metrics[metrics["defence"] == defence].set_index("max_age_days")
        assert 0 < lockout["lockout_duration"][7.0] <= 7 * 86400
        assert 7 * 86400 < lockout["lockout_duration"][60.0] <= 60 * 86400


def test_sweep_verb_writes_a_table_and_a_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "sweep",
        "key-loss",
        "max_age_days",
        "7,30",
        "--metric",
        "lockout_duration",
        "--defence",
        "hpkp",
        "--seeds",
        "1",
        "--param",
        "n_clients=80",
        "--workers",
        "1",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    name = "sweep-key-loss-max_age_days-lockout_duration"
    table = pd.read_csv(tmp_path / f"{name}.csv")
    assert len(table) == 2 and "lockout_duration_d" in table
    days = table.set_index("max_age_days")["lockout_duration_d"]
    assert out[1].split() == ["max_age_days", "hpkp"]
    assert out[2].split() == ["7", *duration(days[7] * 86400, "d").split()]
    assert out[3].split() == ["30", *duration(days[30] * 86400, "d").split()]
    assert (tmp_path / f"{name}.png").stat().st_size > 5000
    assert main(["sweep", "key-loss", "max_age_days", "7", "--metric", "detected_by"]) == 1
    assert "not a numeric metric" in capsys.readouterr().err


def test_a_sweep_of_true_false_and_none_prints_a_row_for_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Booleans and none as the swept values: pandas reads an index of them as a mask, so
    the summary is read by position (it raised KeyError after the files were written)."""
    argv = ["sweep", "ca-compromise", "rogue_logged", "true,false,none", "--defence", "none"]
    extra = ["--seeds", "1", "--param", "n_clients=20", "--workers", "1", "--quiet"]
    assert main([*argv, *extra, "--out", str(tmp_path)]) == 0
    rows = capsys.readouterr().out.splitlines()[2:5]
    assert [row.split()[0] for row in rows] == ["true", "false", "none"]


def test_a_sweep_whose_chart_fails_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart is drawn before the table is written: a failure leaves no lone CSV."""
    from simlab import charts

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("chart broke")

    monkeypatch.setattr(charts, "parameter_chart", broken)
    out = tmp_path / "out"
    argv = ["sweep", "mitm", "days", "20,30", "--defence", "none", "--seeds", "1"]
    with pytest.raises(RuntimeError, match="chart broke"):
        main([*argv, "--param", "n_clients=20", "--workers", "1", "--quiet", "--out", str(out)])
    assert not out.exists() or list(out.iterdir()) == []


def test_sweep_checks_its_size_and_its_files_before_each_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every value is out of range, so an error about the count or the files proves that
    # they were checked first (checking 10,000 values one by one took 40 s).
    bad = "0," * 3334
    head = ["sweep", "mitm", "days", "--defence", "none", "--out", str(tmp_path)]
    assert main([*head, bad, "--seeds", "3"]) == 1
    err = capsys.readouterr().err
    assert err == "simlab: error: a sweep may hold at most 10,000 runs, got 10,002\n"
    (tmp_path / "sweep-mitm-days-interception_rate.csv").touch()
    assert main([*head, bad, "--seeds", "2"]) == 1
    assert "interception_rate.csv already exists; pass --force" in capsys.readouterr().err
    assert main([*head, bad, "--seeds", "2", "--force"]) == 1
    assert "'days' must be" in capsys.readouterr().err


def test_run_says_which_eras_clients_ran_and_refuses_a_month_outside_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "mitm", "none", "--param", "era=2016-10", "--param", "n_clients=40"]) == 0
    assert "clients: the web of 2016-10" in capsys.readouterr().out
    assert main(["run", "mitm", "none", "--param", "era=2009-01"]) != 0
    err = capsys.readouterr().err
    assert "era='2009-01'" in err and "from 2011-01 to 2025-12" in err and "{" not in err


def test_replay_takes_params_such_as_the_real_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "symantec-thawte-2015", "--param", "n_clients=60"]) == 0
    out = capsys.readouterr().out
    assert "ct (historical)" in out and "ct_monitor" in out
    assert main(["replay", "symantec-thawte-2015", "--param", "n_clients=0"]) != 0
    assert "n_clients" in capsys.readouterr().err  # refused before any run


def test_a_replay_error_names_the_replay_and_what_the_user_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["replay", "diginotar-2011", "--param", "days=1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "simlab: error: replay 'diginotar-2011' with days=1: attack_start_day (3) must be "
        "before the run ends (days = 1)"
    )
    assert "ca-compromise" not in err and "era=" not in err  # not the replay's own settings
    assert main(["replay", "diginotar-2011", "--param", "colour=red"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("simlab: error: replay 'diginotar-2011' with colour='red': unknown")
