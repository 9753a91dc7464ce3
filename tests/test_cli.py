from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import simlab
from simlab.cli import main
from simlab.keys import derive_key
from simlab.pki import spki_pin
from tests.bounds import ODD_INPUTS, odd_input
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
        ("detection_time", 136.0, "0.038 h"),  # a real 2-minute detection is not 0.0 h
        ("detection_time", 0.5, "0.00014 h"),
        ("detection_time", 1e-9, "0.000000 h"),  # six decimals at most
        ("detection_time", 0.0, "0 h"),  # only exactly 0 reads 0
        ("detection_time", 7.05 * 86400, "169.2 h"),  # hours, as its CSV column
        ("detection_time", None, "never"),
        ("detection_time", float("nan"), "never"),
        ("exposure_window", 2.5 * 86400, "2.50 d"),
        ("exposure_window", 7200.0, "0.083 d"),  # days, as its CSV column
        ("lockout_duration", 58.57 * 86400, "58.57 d"),
        ("lockout_duration", 3600.0, "0.042 d"),
        ("lockout_duration", 0.0, "0 d"),
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
    # One unit per metric, whatever the value: a column compares at a glance.
    assert list(table["lockout duration"].str.split().str[-1]) == ["d", "d"]
    assert table.loc["none", "lockout duration"] == "0 d"


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit:  # argparse's own errors, --help and --version
        return int(exit.code or 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["live", "mitm", "--seconds", "-1"], "argument --seconds: must be a number of seconds"),
        (["live", "mitm", "--seconds", "nan"], "argument --seconds: must be a number of seconds"),
        (["live", "mitm", "--seconds", "1e999"], "from 0 to 2,592,000, got '1e999'"),
        (["live", "mitm", "--seconds", "9e9"], "argument --seconds: must be a number of seconds"),
        (["live", "mitm", "--at-day", "inf"], "argument --at-day: must be a number of days, 0 or"),
        (["live", "mitm", "--at-day", "-0.5"], "argument --at-day: must be a number of days, 0 or"),
        (["run", "mitm", "--seed", "-1"], "argument --seed: must be a whole number from 0 to 4,2"),
        (["run", "mitm", "--seed", str(2**63)], "argument --seed: must be a whole number from 0"),
        (["replay", "diginotar-2011", "--seed", "1.5"], "argument --seed: must be a whole number"),
        (["run", "mitm", "--seed", "١٢"], "argument --seed: must be a whole number"),  # not ASCII
        (["run", "mitm", "--seed", "1_0"], "argument --seed: must be a whole number"),
        (["run", "mitm", "--seed", " 12"], "argument --seed: must be a whole number"),
        (
            ["run", "mitm", "--seed", "9" * 10_000],
            "got '9999999999999999999999999999999999999999'... (10,000 characters)",
        ),  # quoted within bounds
        (["compare", "--seeds", "0"], "argument --seeds: must be a whole number from 1 to 1,000"),
        (["sweep", "mitm", "days", "5", "--seeds", "1001"], "argument --seeds: must be a whole"),
        (["compare", "--workers", "33"], "argument --workers: must be a whole number from 1 to 32"),
        (["sweep", "mitm", "days", "5", "--workers", "-2"], "argument --workers: must be a whole"),
        (["run", "mitm", "--out", ""], "argument --out: must name a folder, got ''"),
        (["export", "mitm", "--out", ""], "argument --out: must name a folder, got ''"),
        (["run", "mitm\0"], "simlab: error: an argument contains a NUL character"),
    ],
)
def test_bad_argument_values_are_usage_errors_before_anything_runs(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err.splitlines()[-1]
    assert "Traceback" not in captured.err


def test_live_for_zero_seconds_sets_up_prints_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["live", "mitm", "--seconds", "-0", "--param", "n_clients=20"]) == 0
    out = capsys.readouterr().out
    assert "Serving for 0 s." in out and out.rstrip().endswith("stopped; servers closed")


def test_pin_checks_every_file_before_printing_a_pin(
    small_pki: SmallPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.pem"
    good.write_text(small_pki.chain.pem())
    (tmp_path / "bad.pem").write_text("garbage")
    for other in ("missing.pem", "bad.pem"):
        assert main(["pin", str(good), str(tmp_path / other)]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and other in captured.err and captured.err.count("\n") == 1


def _self_signed_der(common_name: str) -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    from simlab.clock import DEFAULT_EPOCH

    key = derive_key(0, "odd subject")
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)])
    until = DEFAULT_EPOCH + dt.timedelta(days=1)
    builder = x509.CertificateBuilder(name, name, key.public_key(), 1, DEFAULT_EPOCH, until)
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


def test_pin_prints_a_subject_on_one_escaped_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A subject is the issuer's text: a newline in it must not forge a second pin line,
    nor an escape sequence reach the terminal; bytes that do not decode are said to."""
    forged = 'x\npin-sha256="FORGED"  CN=\x1b[31mred\u202e'
    (tmp_path / "forged.der").write_bytes(_self_signed_der(forged))
    # The CN's UTF8String, its two bytes replaced by ones that are not UTF-8 (the signature
    # no longer verifies, which a pin does not read).
    (tmp_path / "bad.der").write_bytes(
        _self_signed_der("ab").replace(b"\x0c\x02ab", b"\x0c\x02\xff\xfe")
    )
    assert main(["pin", str(tmp_path / "forged.der"), str(tmp_path / "bad.der")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "FORGED" in lines[0]
    assert "\x1b" not in lines[0] and "\u202e" not in lines[0]
    assert r"\npin-sha256" in lines[0] and r"\x1b[31m" in lines[0]
    assert lines[1].endswith("(a subject whose text does not decode)")


@pytest.mark.parametrize("kind", ODD_INPUTS)
def test_pin_reads_only_a_regular_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = odd_input(tmp_path, "odd.pem", kind)
    assert main(["pin", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == f"simlab: error: cannot read certificate file {path}: not a regular file\n"


def test_pin_reads_at_most_its_cap(
    small_pki: SmallPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from simlab.cli import PIN_FILE_MAX

    pem = small_pki.chain.pem()
    path = tmp_path / "big.pem"
    path.write_text(pem + "#" * (PIN_FILE_MAX - len(pem)))  # text around blocks is skipped
    assert main(["pin", str(path)]) == 0
    with path.open("a") as f:
        f.write("#")
    assert main(["pin", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"error: {path}: larger than 1 MiB, the most a certificate file may hold\n")


def test_pin_takes_der_and_says_what_a_file_holds_instead(
    small_pki: SmallPKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives import serialization

    leaf = small_pki.chain.leaf
    der = tmp_path / "c.der"
    der.write_bytes(leaf.public_bytes(serialization.Encoding.DER))
    assert main(["pin", str(der)]) == 0
    assert capsys.readouterr().out.startswith(f'pin-sha256="{spki_pin(leaf)}"')
    key = derive_key(0, "server:example.com").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cases = {
        "key.pem": (key, "key.pem holds a private key, not a certificate"),
        "both.pem": (key + small_pki.chain.pem().encode(), None),  # the key is skipped
        "junk.der": (b"\x30\x03\x02\x01\x00", "junk.der: not a certificate: neither PEM"),
        "empty.pem": (b" \n", "empty.pem: empty, not a certificate"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert main(["pin", str(tmp_path / name)]) == (0 if message is None else 1)
        err = capsys.readouterr().err
        if message is not None:
            assert err.startswith(f"simlab: error: {tmp_path / message}")
            assert err.count("\n") == 1 and "cryptography.io" not in err


# Fuzzing the command line. A generated line is a verb, then chunks: a word that verb takes
# (a scenario, a defence, a file...), a flag with a value from that flag's list of good and
# bad ones, a switch, or junk (huge and non-finite numbers, unicode, undecodable bytes as
# the OS passes them, empty strings), alone or as a flag's value. The oracle: exit 0, or
# 1 with one "simlab: error:" line, or 2 with argparse's usage and one error line (with no
# verb, the help); never a traceback, never an exception out of main(), and quickly.
# Runs stay tiny: run, replay and live get n_clients=10 first and parameter values come
# from a fixed list of small or invalid ones; compare and sweep always end with an --out
# under a plain file (refused before any run); live always ends with --seconds <= 0.01.

_TINY = '[scenario]\nname = "tiny"\nstory = "mitm"\ntitle = "t"\n[params]\nn_clients = 10\n'
_SCENARIOS = ["mitm", "key-loss", "hpkp-ransom", "tiny.toml", "missing.toml", "x.py", "nope"]
_PARAMS = ["n_clients=20", "days=12", "era=2016-10", "era=1999-01", "click_through=0.5"]
_PARAMS += ["days=0", "days=nan", "n_clients=abc", "colour=red", "oops", "=1", "hsts=true"]
_DEFENCES = ["none", "static", "hpkp", "ct", "hpkp+ct", "nope"]
_POSITIONALS: dict[str, list[list[str]]] = {  # each verb's words, one list per position
    "pin": [["good.pem", "taken", "tiny.toml", "missing.pem"]] * 2,
    "show": [_SCENARIOS],
    "run": [_SCENARIOS, _DEFENCES, _DEFENCES],
    "sweep": [_SCENARIOS, ["days", "n_clients", "click_through", "colour"], ["7,30", "0.5", ","]],
    "replay": [["diginotar-2011", "ransompkp-2016", "titanic"]],
    "live": [_SCENARIOS],
    "export": [_SCENARIOS],
}
_VALUES = {  # for each flag, good values and each class of bad one
    "--seed": ["0", "7", "-1", "4294967295", "4294967296", "9" * 30, "1.5", "nan"],
    "--seeds": ["1", "2", "0", "1000", "1001", "9" * 30, "1e3"],
    "--workers": ["1", "2", "0", "32", "33", "9" * 30],
    "--out": ["out", "out/sub", "taken", "taken/sub", "é", "1" * 300],
    "--param": _PARAMS,
    "--set": _PARAMS,
    "--defence": _DEFENCES,
    "--metric": ["interception_rate", "detection_time", "detected_by", "nope"],
    "--at-day": ["0", "1", "10.5", "59", "61", "-1", "1e308", "1e999", "nan", "inf"],
    "--seconds": ["0", "0.01", "-1", "2592001", "1e999", "nan"],
}
_SWITCHES = ["--force", "--quiet", "--toml", "--version", "-h", "--"]
_JUNK = st.one_of(
    st.sampled_from(["", " ", "-", "-1", "-0", "nan", "inf", "-inf", "1e999", "1" * 400, "☃"]),
    st.text(max_size=6),
    st.binary(max_size=6).map(os.fsdecode),  # what Python makes of non-UTF-8 argv bytes
    st.integers().map(str),
    st.floats().map(str),
)


_FLAGS = {
    "show": ["--toml"],
    "run": ["--seed", "--param", "--defence", "--out", "--force"],
    "compare": ["--seeds", "--workers", "--out", "--force", "--param", "--quiet"],
    "sweep": ["--metric", "--defence", "--seeds", "--param", "--set", "--workers", "--out"],
    "replay": ["--seed", "--param"],
    "live": ["--defence", "--seed", "--at-day", "--seconds", "--param", "--out", "--force"],
    "export": ["--out", "--defence", "--seed", "--force"],
}


def _options(verb: str) -> st.SearchStrategy[list[str]]:
    """Mostly the verb's own flags with a value from its list, else any flag with a listed
    or junk value, a switch, or junk alone."""
    own = [f for f in _FLAGS.get(verb, []) if f in _VALUES]
    switches = [f for f in _FLAGS.get(verb, []) if f not in _VALUES]

    def listed(flags: list[str]) -> st.SearchStrategy[list[str]]:
        flag = st.sampled_from(flags)
        return flag.flatmap(lambda f: st.sampled_from(_VALUES[f]).map(lambda value: [f, value]))

    return st.one_of(
        *([listed(own)] * 6 if own else []),
        *([st.sampled_from(switches).map(lambda switch: [switch])] if switches else []),
        listed(sorted(_VALUES)),
        st.tuples(st.sampled_from(sorted(_VALUES)), _JUNK).map(list),
        st.sampled_from(_SWITCHES).map(lambda switch: [switch]),
        _JUNK.map(lambda junk: [junk]),
    )


@st.composite
def _command_lines(draw: st.DrawFn) -> list[str]:
    verb = draw(st.sampled_from(["pin", "list", "show", "run", "compare", "sweep", "replay",
                                 "live", "export", "nope", ""]))  # fmt: skip
    chunks = [[draw(st.sampled_from(words))] for words in _POSITIONALS.get(verb, [])]
    chunks = chunks[: draw(st.integers(0, len(chunks)))] if draw(st.booleans()) else chunks
    chunks += draw(st.lists(_options(verb), max_size=3))
    line = [word for chunk in draw(st.permutations(chunks)) for word in chunk]
    if verb in ("compare", "sweep", "live"):
        line = [word for word in line if word != "--"]  # so the options below stay options
    head = ["--param", "n_clients=10"] if verb in ("run", "replay", "live") else []
    tail = ["--out", "taken/sub"] if verb in ("compare", "sweep") else []
    if verb == "live":
        tail = ["--seconds", draw(st.sampled_from(["0", "0.01", "-1", "nan", "x"]))]
    return [verb, *head, *line, *tail]


@functools.cache
def _a_chain_pem() -> str:
    return simlab.run("mitm", "none", n_clients=10).world.owner.chain.pem()


def _one_error(err: str, argv: list[str], *, usage: bool) -> bool:
    """``err`` is one "simlab: error:" line (after argparse's usage, if ``usage``); it
    spans more lines only where it quotes an argument that holds a newline."""
    lines = err.split("\n")
    start = 0
    while usage and start < len(lines) and lines[start].startswith(("usage: ", " ")):
        start += 1
    message = "\n".join(lines[start:])
    newlines = 1 + sum(word.count("\n") for word in argv)
    return (
        re.match(r"simlab( \w+)?: error: ", message) is not None
        and message.endswith("\n")
        and (message.count("\n") == 1 or message.count("\n") <= newlines)
    )


def _check_command_line(argv: list[str]) -> None:
    """Run ``argv`` in a fresh folder holding tiny.toml, good.pem and a file named taken,
    and apply the oracle above."""
    # A UTF-8 terminal: stdout strict (as under en_US.UTF-8), stderr backslashreplace.
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        Path("tiny.toml").write_text(_TINY)
        Path("good.pem").write_text(_a_chain_pem())
        Path("taken").write_text("a file, not a folder")
        started = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exit:
                code = int(exit.code or 0) if not isinstance(exit.code, str) else 1
            sys.stdout.flush()
            sys.stderr.flush()
        elapsed = time.monotonic() - started
    assert isinstance(out.buffer, io.BytesIO) and isinstance(err.buffer, io.BytesIO)
    stdout = out.buffer.getvalue().decode(errors="replace")  # a name's own bytes, maybe
    stderr = err.buffer.getvalue().decode()
    event(f"{argv[0] or '(no verb)'}: exit {code}")  # pytest --hypothesis-show-statistics
    assert "Traceback" not in stderr, argv
    assert elapsed < 30, (argv, elapsed)
    if code == 1:
        assert _one_error(stderr, argv, usage=False), (argv, stderr)
    elif code == 2:
        no_verb = stderr == "" and stdout.startswith("usage: ")  # the help
        assert no_verb or _one_error(stderr, argv, usage=True), (argv, stderr)
    else:
        assert code == 0, (argv, code, stderr)


@pytest.mark.fuzz
@settings(deadline=None)
@given(argv=_command_lines())
def test_any_command_line_gives_a_result_or_one_clear_error(argv: list[str]) -> None:
    _check_command_line(argv)


# One good, cheap line per verb, with one of its flags set to a generated value: the
# listed classes of bad value, or junk. The last two words of compare, sweep and live
# (--out under a file; --seconds 0) stay last, so that they hold.
_GOOD_LINES = {
    "run": ["run", "tiny.toml", "none"],
    "replay": ["replay", "diginotar-2011", "--param", "n_clients=10"],
    "export": ["export", "tiny.toml", "--out", "out"],
    "live": ["live", "tiny.toml", "--seconds", "0"],
    "sweep": ["sweep", "tiny.toml", "days", "12", "--seeds", "1", "--out", "taken/sub"],
    "compare": ["compare", "--seeds", "1", "--out", "taken/sub"],
}


def _short(value: str) -> bool:
    """Whether ``value`` as --seconds would stop live at once (or be refused)."""
    try:
        return not float(value) > 0.01
    except ValueError:
        return True


@st.composite
def _one_flag_lines(draw: st.DrawFn) -> list[str]:
    verb = draw(st.sampled_from(sorted(_GOOD_LINES)))
    flag = draw(st.sampled_from([f for f in _FLAGS[verb] if f in _VALUES]))
    junk = _JUNK.filter(_short) if flag == "--seconds" else _JUNK
    value = draw(st.one_of(st.sampled_from(_VALUES[flag]), junk))
    line = _GOOD_LINES[verb]
    keep = 2 if verb in ("compare", "sweep", "live") and flag != "--seconds" else 0
    if flag == "--seconds":
        line = line[:-2]
    return [*line[: len(line) - keep], flag, value, *line[len(line) - keep :]]


@pytest.mark.fuzz
@settings(deadline=None)
@given(argv=_one_flag_lines())
def test_every_flag_value_gives_a_result_or_one_clear_error(argv: list[str]) -> None:
    _check_command_line(argv)


def test_param_values_are_read_as_bools_numbers_or_text() -> None:
    from simlab.cli import _parse_value

    read = {t: _parse_value(t) for t in ["TRUE", "-5", "1_000", "5e3", "--5", "١٠٠", "none"]}
    assert read == {
        "TRUE": True,
        "-5": -5,
        "1_000": 1000,
        "5e3": 5000.0,
        "--5": "--5",  # not a number, and not one too large either
        "١٠٠": "١٠٠",  # numbers are ASCII digits
        "none": "none",
    }
    with pytest.raises(simlab.SimlabError, match="a whole number of 4,301 digits: too large"):
        _parse_value("-" + "9" * 4301)


def test_duration_picks_a_unit_when_none_is_given_and_refuses_an_unknown_one() -> None:
    from simlab.errors import SimlabError
    from simlab.units import duration

    assert duration(5400) == "1.5 h" and duration(2 * 86400) == "2.00 d"
    assert duration(120, "h") == "0.033 h"
    with pytest.raises(SimlabError, match="unknown time unit 'm'"):
        duration(60, "m")
    with pytest.raises(SimlabError, match="unknown time unit"):
        duration(60, ["h"])  # type: ignore[arg-type]
