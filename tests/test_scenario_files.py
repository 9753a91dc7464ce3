from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simlab
from simlab.cli import main
from simlab.errors import ScenarioError
from simlab.runner import settings_for
from simlab.scenario_file import (
    MAX_FILE_BYTES,
    ScenarioSpec,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from tests.bounds import ODD_INPUTS, odd_input, typed_outcome

EXAMPLES = Path(__file__).parents[1] / "examples"
BUILTIN = Path(simlab.__file__).parent / "scenarios"


def test_every_builtin_is_a_valid_toml_file_that_round_trips() -> None:
    specs = builtin_scenarios()
    assert list(specs) == [
        "mitm",
        "mitm-local-root",
        "ca-compromise",
        "key-loss",
        "key-theft",
        "domain-hijack",
        "hpkp-ransom",
    ]
    for spec in specs.values():
        again = parse_scenario(spec.to_toml(), source=spec.name)
        assert (again.name, again.story, again.title, again.params) == (
            spec.name,
            spec.story,
            spec.title,
            spec.params,
        )


@pytest.mark.fuzz
@settings(deadline=None)
@given(title=st.text(min_size=1), description=st.text(), sources=st.lists(st.text(), max_size=3))
def test_fuzz_any_text_round_trips_through_to_toml(
    title: str, description: str, sources: list[str]
) -> None:
    spec = ScenarioSpec("x", "mitm", title, description, tuple(sources))
    again = parse_scenario(spec.to_toml())
    assert (again.title, again.description, again.sources) == (title, description, spec.sources)
    # and nothing a terminal would act on, as ``show --toml`` prints it
    assert all(c.isprintable() or c == "\n" for c in spec.to_toml())


HOSTILE_TITLE = "A\rB\u0007C\u007f\u001b[2J\u202eD"


def test_show_toml_writes_what_it_reads_back_and_show_escapes_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.toml"
    first.write_text(
        ScenarioSpec("x", "mitm", HOSTILE_TITLE, "one\ntwo\u001b]0;t\u0007", ("s\r",)).to_toml()
    )
    assert main(["show", str(first), "--toml"]) == 0
    again = tmp_path / "again.toml"
    again.write_text(capsys.readouterr().out)
    spec = load_scenario(again)
    assert (spec.title, spec.description, spec.sources) == (
        HOSTILE_TITLE,
        "one\ntwo\u001b]0;t\u0007",
        ("s\r",),
    )
    assert main(["show", str(again)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("x: A\\rB\\x07C\\x7f\\x1b[2J\\u202eD\n")
    assert "one\ntwo\\x1b]0;t\\x07" in out and "source: s\\r" in out
    assert not set(out) & {"\r", "\x07", "\x1b", "\x7f", "\u202e"}


def test_example_file_runs_with_its_parameters() -> None:
    result = simlab.run(EXAMPLES / "cafe-wifi.toml", "none", seed=0)
    assert result.scenario == "cafe-wifi"
    assert result.params["attack_days"] == 3.0 and result.params["n_clients"] == 200
    assert result.table["client"].max() < 200
    attack = result.table[result.table["responder"] == "attacker"]
    assert attack["day"].min() >= 5 and attack["day"].max() < 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scenario\nname='x'", r"bad\.toml: not valid TOML: .*line 1"),
        ("[params]\ndays = 3\n", "missing \\[scenario\\] table"),
        (
            "[[scenario]]\nname='x'\nstory='mitm'\ntitle='t'\n",
            "bad.toml: \\[\\[scenario\\]\\] is an array of tables; write \\[scenario\\]",
        ),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[[params]]\ndays = 3\n",
            "\\[\\[params\\]\\] is an array of tables; write \\[params\\]",
        ),
        ("[scenario]\nname='x'\nstory='mitm'\n", "\\[scenario\\] title must be a non-empty string"),
        ("[scenario]\nname='x'\nstory='phishing'\ntitle='t'\n", "story 'phishing' is not one of"),
        ("[scenario]\nname='X Y'\nstory='mitm'\ntitle='t'\n", "name 'X Y' must be lower-case"),
        ("[scenario]\nname='x'\nstory='mitm'\ntitle='t'\ncolour='red'\n", "unknown key 'colour'"),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\nattack_dayz=3\n",
            "\\[params\\]: unknown parameter 'attack_dayz'; valid: .*attack_days",
        ),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\nn_clients=2.5\n",
            "parameter 'n_clients' must be int, got float 2.5",
        ),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\nhpkp=true\n",
            "parameter 'hpkp' is the defence's to set, not a scenario's",
        ),
        ("[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[extra]\n", "unknown table \\[extra\\]"),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\nclick_through=1.5\n",
            "\\[params\\]: parameter 'click_through' must be between 0 and 1, got 1.5",
        ),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\ndays=inf\n",
            "parameter 'days' must be a finite number, got inf",
        ),
        (
            "[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[params]\napp_share=0.7\n",
            "browser_share \\+ app_share must be at most 1 .* got 0.6 \\+ 0.7",
        ),
    ],
)
def test_bad_files_name_the_file_the_key_and_the_expectation(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"days": -5}, "parameter 'days' must be > 0 and <= 3,650 .*, got -5.0"),
        ({"n_clients": 0}, "parameter 'n_clients' must be >= 1 and <= 500,000 .*, got 0"),
        ({"days": float("nan")}, "parameter 'days' must be a finite number"),
        ({"monitor_interval_hours": 0}, "parameter 'monitor_interval_hours' must be > 0"),
        ({"era": "2009-05"}, "parameter 'era' must be a month 'YYYY-MM' from 2011-01 to 2025-12"),
        ({"era": "2018-13"}, "parameter 'era' must be a month"),
        ({"owner_scts": 4}, "parameter 'owner_scts' must be between 0 and 3"),
        ({"owner_scts": True}, "parameter 'owner_scts' must be int, or none to unset, got bool"),
        ({"owner_scts": ""}, "parameter 'owner_scts' must be int, or none to unset, got str ''"),
        ({"rogue_logged": "yes"}, "parameter 'rogue_logged' must be bool, or none to unset, got"),
        ({"owner_scts": 4}, "'owner_scts' must be between 0 and 3 .*, or none for the default"),
        ({"log_distrusted_day": -1}, "'log_distrusted_day' must be >= 0 .*, or none: never"),
        ({"domain": "Example"}, "parameter 'domain' must be a lower-case DNS name"),
        ({"browser_share": 0.9}, "browser_share \\+ app_share must be at most 1"),
        (
            {"attacker_network": "isp-4"},
            "'attacker_network' must be ix or one of isp-0 to isp-3 \\(access_networks = 4\\), "
            "got 'isp-4'",
        ),
    ],
)
def test_out_of_range_parameters_are_refused_before_a_world_is_built(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        simlab.run("mitm", "none", **params)


OPTIONAL = {"owner_scts": 1, "rekey_scts": 0, "rogue_logged": True, "log_distrusted_day": 5.0}


@pytest.mark.parametrize("spelling", ["none", "None", "NONE"])
def test_none_unsets_an_optional_setting_a_file_sets(
    tmp_path: Path, spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """TOML has no null: a file leaves a setting out to unset it, and --param NAME=none
    undoes a file's value, as ``simlab show`` says."""
    path = tmp_path / "set.toml"
    spec = ScenarioSpec("set", "mitm", "t", params=dict(OPTIONAL))
    path.write_text(spec.to_toml())
    assert load_scenario(path).params == OPTIONAL
    for key in OPTIONAL:
        _, merged, settings = settings_for(path, "none", {key: spelling})
        assert merged[key] is None and getattr(settings, key) is None
    argv = [arg for key in OPTIONAL for arg in ("--param", f"{key}={spelling}")]
    assert main(["run", str(path), "none", *argv, "--param", "n_clients=20"]) == 0
    unset = ScenarioSpec("unset", "mitm", "t", params=dict.fromkeys(OPTIONAL))
    again = parse_scenario(unset.to_toml())  # None is written as "none", and read back
    assert again.params == dict.fromkeys(OPTIONAL)
    assert main(["show", "mitm"]) == 0
    shown_rows = [line for line in capsys.readouterr().out.splitlines() if "owner_scts" in line]
    assert "none" in shown_rows[0] and "None" not in shown_rows[0]


def test_the_attacker_may_sit_at_the_exchange_on_every_route() -> None:
    result = simlab.run("mitm", "none", attacker_network="ix", n_clients=60)
    attacked = result.table[result.table["responder"] == "attacker"]
    assert set(attacked["access"]) == {f"isp-{i}" for i in range(4)}


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario("/nonexistent/x.toml")


# -- hostile files: refused before tomllib or anything else runs ----------------------------

HEAD = "[scenario]\nname = 'x'\nstory = 'mitm'\ntitle = 't'\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HEAD.encode() + b"description = 'caf\xe9'\n", "line 5: not UTF-8 \\(byte 0xe9\\)"),
        (HEAD.encode() + b"sources = " + b"[" * 2000 + b"]" * 2000, "line 5: brackets nested"),
        (HEAD.encode() + b"[params]\nx = " + b"{a=" * 500 + b"1" + b"}" * 500, "line 6: brackets"),
        (HEAD.encode() + b"a" + b".a" * 20_000 + b" = 1\n", "line 5: more than 32 dots"),
        (HEAD.encode() + b"#" * MAX_FILE_BYTES, "larger than 64 KiB"),
        (HEAD.encode() + b"[params]\ndays = " + b"1" * 5000, "not valid TOML: Exceeds the limit"),
        (HEAD.encode() + b"[params]\ndays = " + b"1" * 4000, "'days' must be a finite number"),
        (HEAD.encode() + b"[params\n", "not valid TOML: .*\\(at line 5, column 8\\)"),
        (HEAD.encode() + b"[params]\ndays = nan\n", "'days' must be a finite number, got nan"),
        # A multi-line string may end in up to two extra quotes; what follows is not a string.
        (HEAD.encode() + b'sources = ["""a"""", ' + b"[" * 17 + b"]" * 18, "line 5: brackets"),
    ],
)
def test_hostile_files_are_one_quick_scenario_error_naming_the_file(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "hostile.toml"
    path.write_bytes(data)
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert time.perf_counter() - start < 1.0  # tomllib took 10 s on the dotted key
    assert str(info.value).startswith(str(path))
    assert len(str(info.value)) < 300


def test_what_looks_hostile_inside_strings_and_comments_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "fine.toml"
    dots = "." * 200 + "[" * 40 + "{" * 40
    path.write_bytes(
        b"\xef\xbb\xbf"  # a byte-order mark, as some editors write
        + (
            f"[scenario]  # {dots}\nname = 'x'\nstory = 'mitm'\ntitle = '{dots}'\n"
            f'description = """{dots}\n{dots}\\\n"{dots}""""\n'
            f"sources = ['{dots}', \"{dots}\\\"\", '''{dots}''']\n"
            "[params]\ndays = 30.5\n"
        ).encode()
    )
    spec = load_scenario(path)
    assert spec.title == dots and spec.description.endswith(f'"{dots}"')
    assert spec.sources == (dots, dots + '"', dots) and spec.params == {"days": 30.5}


def test_the_size_cap_is_on_bytes_and_a_file_at_the_cap_loads(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(HEAD + "#" * (MAX_FILE_BYTES - len(HEAD) - 1) + "\n")
    assert load_scenario(path).name == "x"
    assert max(len(f.read_bytes()) for f in BUILTIN.glob("*.toml")) * 64 < MAX_FILE_BYTES


@pytest.mark.parametrize("kind", ODD_INPUTS)
def test_only_a_regular_file_is_read_so_nothing_hangs_or_fills_memory(
    tmp_path: Path, kind: str
) -> None:
    path = odd_input(tmp_path, "odd.toml", kind)
    with pytest.raises(ScenarioError, match=f"cannot read scenario file {path}: not a regular"):
        load_scenario(path)


def test_nothing_runs_on_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simlab.cli import main

    path = tmp_path / "bad.toml"
    path.write_bytes(HEAD.encode() + b"[params]\nclick_through = 0.5\n\xff\n")
    out = tmp_path / "out"
    assert main(["run", str(path), "none"]) == 1
    assert main(["sweep", str(path), "click_through", "0.1,0.2", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and not out.exists()
    assert captured.err.count(f"simlab: error: {path}: line 7: not UTF-8") == 2


# -- fuzz: any bytes are a ScenarioError or a valid spec, quickly and in bounded memory -------

BUILTIN_BYTES = [f.read_bytes() for f in sorted(BUILTIN.glob("*.toml"))]
FRAGMENTS = [
    *(s.encode() for s in "[]{}.=,#\"'\\\n"),
    b'"""',
    b"'''",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"\xef\xbb\xbf",
    b"inf",
    b"nan",
    b"1e400",
    b"0x7fffffff",
    b"1979-05-27T07:32:00Z",
    b"1" * 5000,
    b"[" * 2000,
    b"{a=" * 300,
    b".a" * 3000,
    b"[params]\n",
    b"[scenario]\n",
    b"[[params]]\n",
    b"\ndays = ",
    b"\nn_clients = 10000000\n",
    b"\nmonitor_interval_hours = 1e-300\n",
    b"\naccess_networks = 1000000000000\n",
]


@st.composite
def mutated_builtin(draw: st.DrawFn) -> bytes:
    """A built-in scenario file with a few bytes inserted, deleted, replaced or repeated."""
    data = bytearray(draw(st.sampled_from(BUILTIN_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 80)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        piece = draw(st.sampled_from(FRAGMENTS) | st.binary(max_size=12))
        if op == "insert":
            data[i:i] = piece
        elif op == "delete":
            del data[i:j]
        elif op == "replace":
            data[i:j] = piece
        else:
            data[i:i] = bytes(data[i:j]) * draw(st.integers(2, 1000))
    return bytes(data)


TOKENS = [*FRAGMENTS[:18], " ", "a", "1", "1.5", "true", "name", "days", "x = ", "\n[params]\n"]
token_soup = st.lists(
    st.sampled_from([t if isinstance(t, str) else t.decode("latin-1") for t in TOKENS]),
    max_size=300,
).map("".join)


def _load_bytes(folder: Path, data: bytes) -> ScenarioSpec | ScenarioError:
    path = folder / "fuzz.toml"
    path.write_bytes(data)
    outcome = typed_outcome(lambda: load_scenario(path))
    if isinstance(outcome, ScenarioSpec):  # valid: it can run (a world is not built here)
        settings_for(outcome, "none", {})
    else:
        assert isinstance(outcome, ScenarioError) and str(outcome).startswith(str(path))
    return outcome


@pytest.mark.fuzz
@settings(deadline=None)
@given(data=mutated_builtin())
def test_fuzz_mutated_builtin_files(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    _load_bytes(tmp_path_factory.getbasetemp(), data)


@pytest.mark.fuzz
@settings(deadline=None)
@given(data=st.binary(max_size=4096) | token_soup.map(lambda t: (HEAD + t).encode()))
def test_fuzz_arbitrary_bytes_and_toml_like_text(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _load_bytes(tmp_path_factory.getbasetemp(), data)


def test_builtin_scenarios_give_each_caller_its_own_params() -> None:
    """The parsed files are cached; a caller editing a spec's params changes no other call."""
    from simlab.scenario_file import builtin_scenarios

    first = builtin_scenarios()["ca-compromise"]
    original = dict(first.params)
    first.params["n_clients"] = 7
    again = builtin_scenarios()["ca-compromise"]
    assert again.params == original
    assert again.params is not first.params


def test_settable_gives_each_caller_its_own_dict() -> None:
    """The settings' types are worked out once; a caller editing the dict it got (the CLI's
    help lists them) changes what no parameter check reads."""
    from simlab.scenario_file import check_params, settable

    mine = settable()
    assert mine["n_clients"] is int
    del mine["n_clients"]
    mine["bogus"] = str
    assert "n_clients" in settable() and "bogus" not in settable()
    assert check_params({"n_clients": 5}, "test") == {"n_clients": 5}
    with pytest.raises(ScenarioError, match="unknown parameter 'bogus'"):
        check_params({"bogus": "x"}, "test")
