"""Every accepted setting is bounded above and below, so nothing accepted overflows or runs
without end; out-of-range, overflowing and giant values are one ScenarioError naming the
parameter, on every path in (files, simlab.run, sweeps, the CLI), at a cost that does not
grow with the value."""

from __future__ import annotations

import re
import time
import typing
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simlab
from simlab.cli import _params, main
from simlab.ct import CTLog
from simlab.errors import ScenarioError, shown
from simlab.runner import DEFENCES, build, settings_for
from simlab.scenario_file import builtin_scenarios, load_scenario, settable
from simlab.sweep import MAX_RUNS, compare, parameter_sweep
from simlab.world import MAX_DOMAIN, RUN_SIZE, SETTING_LIMITS, TEN_YEARS
from tests.bounds import typed_outcome

HEAD = "[scenario]\nname = 'x'\nstory = 'mitm'\ntitle = 't'\n"


def _numeric() -> list[tuple[str, type]]:
    """Every settable number: (name, int or float)."""
    out = []
    for name, hint in settable().items():
        kinds = typing.get_args(hint) or (hint,)
        kind = int if int in kinds else float if float in kinds else None
        if kind is not None and bool not in kinds:
            out.append((name, kind))
    return out


def _check(**params: object) -> None:
    settings_for("mitm", "none", params)


@pytest.mark.parametrize(("name", "kind"), _numeric(), ids=lambda v: str(v))
def test_every_number_has_an_upper_bound_stated_in_its_range(name: str, kind: type) -> None:
    assert name in SETTING_LIMITS, f"{name} has no range"
    text = SETTING_LIMITS[name][1]
    assert "<=" in text or "between" in text, f"{name}: {text!r} states no upper bound"
    huge: object = 10**30 if kind is int else 1e300
    with pytest.raises(ScenarioError, match=f"'{name}' must be"):
        _check(**{name: huge})


def test_show_prints_the_upper_bounds_and_the_run_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["show", "mitm"]) == 0
    out = capsys.readouterr().out
    assert "> 0 and <= 3,650 (ten years" in out  # days
    assert ">= 1 and <= 500,000" in out  # n_clients
    assert "<= 1,000" in out  # access_networks
    for size in RUN_SIZE:
        assert f"- {size.formula} <= {size.cap:,.0f}" in out and size.why in out


GIANT = 10**300_000  # repr() refuses it past 4,300 digits; str() would take seconds


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"days": 10**400}, "'days' must be a finite number, got an integer of about 401 digits"),
        ({"days": GIANT}, "'days' must be a finite number, got an integer of about 300,001"),
        ({"n_clients": GIANT}, "'n_clients' must be >= 1 and <= 500,000 .* about 300,001 digits"),
        ({"n_clients": 10**30}, "'n_clients' must be >= 1 and <= 500,000"),
        ({"n_clients": 10**7}, "'n_clients' must be >= 1 and <= 500,000"),
        ({"max_age_days": 1e308}, "'max_age_days' must be >= 0 and <= 3,650 .*got 1e\\+308"),
        ({"days": 1e308}, "'days' must be > 0 and <= 3,650"),
        ({"access_networks": 10**8}, "'access_networks' must be >= 1 and <= 1,000"),
        ({"access_networks": 10**12}, "'access_networks' must be >= 1 and <= 1,000"),
        ({"attacker_network": "isp-1000"}, "'attacker_network' must be isp-N"),
        ({"attacker_network": "isp-" + "1" * 5000}, "'attacker_network' must be isp-N"),
        ({"domain": "a" * 10**6}, "'domain' must be a lower-case DNS name.*1,000,000 characters"),
        ({"domain": "a." * 200 + "com"}, "'domain' must be a lower-case DNS name"),
        ({"era": "2018-10" * 10**5}, "'era' must be a month"),
        ({"response_hours": 1e300}, "'response_hours' must be >= 0 and <= 87,600"),
        ({"log_distrusted_day": 1e300}, "'log_distrusted_day' must be >= 0 and <= 3,650"),
        ({"browser_release_days": 0.5}, "'browser_release_days' must be >= 1"),
        (
            {"monitor_interval_hours": 1e-300},
            "days \\* 24 / monitor_interval_hours must be at most 500,000 .*got 1.44e\\+303",
        ),
        (
            {"days": 365, "monitor_interval_hours": 0.017521, "n_clients": 1, "mmd_hours": 1e-300},
            "days \\* 24 / max\\(mmd_hours, monitor_interval_hours\\) must be at most 10,000 "
            ".*got 499,971",
        ),
        (
            {"n_clients": 300_000, "visit_prob": 0.0, "days": 200.0},
            "n_clients \\* days must be at most 50,000,000 .*got 60,000,000",
        ),
        (
            {"n_clients": 300_000, "days": 60.0},
            "n_clients \\* days \\* visit_prob must be at most 4,000,000 .*got 5,400,000",
        ),
    ],
)
def test_out_of_range_values_are_refused_quickly_with_the_parameter_named(
    params: dict[str, object], message: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=message) as info:
        _check(**params)
    assert time.perf_counter() - start < 0.5  # validation does not grow with the value
    assert len(str(info.value)) < 500  # nor does the message


def test_the_caps_themselves_are_accepted() -> None:
    _check(n_clients=500_000, days=8.0, visit_prob=1.0, attack_start_day=1.0)  # 4,000,000
    _check(n_clients=100_000, days=500.0, visit_prob=0.0)  # 50,000,000 client-days
    _check(days=TEN_YEARS, monitor_interval_hours=24 * TEN_YEARS / 500_000)
    _check(access_networks=1000, attacker_network="isp-999", max_age_days=TEN_YEARS)
    _check(days=365.0, monitor_interval_hours=0.017521, mmd_hours=0.876)  # 10,000 tree heads


@pytest.mark.parametrize(
    ("mmd_hours", "monitor_interval_hours"), [(1e-300, 0.25), (0.5, 0.05), (24.0, 0.05)]
)
def test_the_tree_heads_a_log_signs_are_what_the_run_size_bounds(
    mmd_hours: float, monitor_interval_hours: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log signs a new tree head when a poll finds its last one an MMD old (or its tree
    grown), so ``days * 24 / max(mmd_hours, monitor_interval_hours)`` bounds the signatures
    and verifications, each about a hundred times a plain poll's cost."""
    signed: dict[str, set[bytes]] = {}
    sth = CTLog.sth

    def counting(log: CTLog, at: float, **kwargs: Any) -> Any:
        head = sth(log, at, **kwargs)
        signed.setdefault(log.name, set()).add(head.signature)
        return head

    monkeypatch.setattr(CTLog, "sth", counting)
    params = {"days": 2.0, "attack_start_day": 1.0, "n_clients": 1, "mmd_hours": mmd_hours}
    result = simlab.run("mitm", "ct", **params, monitor_interval_hours=monitor_interval_hours)
    bound = next(s for s in RUN_SIZE if "mmd_hours" in s.formula).cost(result.world.s)
    grown = 2  # the owner's certificate merged, and at most one more entry per log
    for log, heads in signed.items():
        assert len(heads) <= bound + grown, (log, len(heads), bound)
    assert max(len(heads) for heads in signed.values()) >= bound / 2  # the bound is tight


def test_shown_is_short_and_cheap_whatever_the_value() -> None:
    start = time.perf_counter()
    assert shown(GIANT) == "an integer of about 300,001 digits"
    assert shown("x" * 10**7) == f"{'x' * 40!r}... (10,000,000 characters)"
    assert shown([GIANT]) == "a list"
    assert shown(-5) == "-5" and shown("isp-4") == "'isp-4'" and shown(2.5) == "2.5"
    assert time.perf_counter() - start < 0.5


# -- the domain: everything accepted builds its certificates ---------------------------------

LONGEST_DOMAINS = [
    "a" * 60 + ".com",
    "a" * 61 + ".io",
    "b." * 31 + "co",
    "xn--bcher-kva." + "c" * 50,
]


def test_the_longest_accepted_domains_run_in_every_scenario_under_every_defence() -> None:
    """The domain is each certificate's common name (at most 64 characters, RFC 5280): at
    the bound, every story issues, self-signs and logs its certificates without an error."""
    assert {len(d) for d in LONGEST_DOMAINS} == {MAX_DOMAIN}
    runs = [
        (name, defence, LONGEST_DOMAINS[0]) for name in builtin_scenarios() for defence in DEFENCES
    ]
    runs += [("ca-compromise", "hpkp+ct", domain) for domain in LONGEST_DOMAINS[1:]]
    for name, defence, domain in runs:
        result = simlab.run(name, defence, n_clients=1, domain=domain)
        assert result.world.host == domain


@pytest.mark.parametrize(
    "domain",
    [
        "a" * 61 + ".com",  # one character past the common name's bound
        "a" * 249 + ".com",  # within the 253 characters of a DNS name, not of a common name
        "xn--a.com",  # punycode that decodes to no valid label
        "xn--zz.com",
        "xn--.com",
        "a-.com",
        "ex_ample.com",
    ],
)
def test_a_domain_no_certificate_could_name_is_refused_by_name(domain: str) -> None:
    with pytest.raises(ScenarioError, match=f"'domain' must be .*at most {MAX_DOMAIN} char"):
        simlab.run("mitm", "none", n_clients=1, domain=domain)


# -- seeds and names given to simlab.run ------------------------------------------------------


@pytest.mark.parametrize(
    "seed",
    [-1, 2**32, 2**64, GIANT, None, "1", 1.5, 1.0, True, np.float64(3), [1]],
    ids=lambda seed: f"{type(seed).__name__}-{shown(seed)}",
)
def test_a_seed_outside_what_the_cli_takes_is_refused_by_simlab_run(seed: object) -> None:
    with pytest.raises(ScenarioError, match="seed must be a whole number from 0 to 4,294,967,295"):
        simlab.run("mitm", "none", seed, n_clients=1)
    with pytest.raises(ScenarioError, match="seed must be a whole number"):
        build("mitm", "none", seed)  # simlab.live's way in


@pytest.mark.parametrize("seed", [0, 2**32 - 1, np.int64(3), np.uint32(7)])
def test_any_integer_seed_in_range_runs_and_is_kept_as_an_int(seed: object) -> None:
    result = simlab.run("mitm", "none", seed, n_clients=1, days=11.0)
    assert type(result.seed) is int and result.seed == seed
    assert result.world.seed == seed


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simlab.run("mitm", ["none"]), r"unknown defence \['none'\]; valid: none"),
        (lambda: simlab.run("mitm", None), "unknown defence None; valid: none"),
        (lambda: simlab.run("mitm", "none", engine=["batched"]), r"unknown engine \['batched'\]"),
    ],
)
def test_a_defence_or_engine_of_the_wrong_type_is_named(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        call()


# -- every path in applies the same bounds -------------------------------------------------


class _NoRuns(Executor):
    """An executor that fails the test if a sweep submits a run: bad input must fail first."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        raise AssertionError("a run was submitted")

    def map(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        raise AssertionError("a run was submitted")


BAD = {"days": 10**400}
BAD_MESSAGE = "'days' must be a finite number, got an integer of about 401 digits"


def test_bounds_apply_in_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text(HEAD + "[params]\ndays = 1" + "0" * 400 + "\n")
    with pytest.raises(ScenarioError, match=BAD_MESSAGE):
        load_scenario(path)
    path.write_text(HEAD + "[params]\nmax_age_days = 1e308\n")
    with pytest.raises(ScenarioError, match=f"{path}: \\[params\\]: parameter 'max_age_days'"):
        load_scenario(path)


def test_bounds_apply_in_simlab_run() -> None:
    with pytest.raises(ScenarioError, match=BAD_MESSAGE):
        simlab.run("mitm", "none", **BAD)
    with pytest.raises(ScenarioError, match="monitor_interval_hours must be at most"):
        simlab.run("mitm", "ct", engine="reference", monitor_interval_hours=1e-300)


def test_bounds_apply_in_sweeps_before_any_run() -> None:
    with pytest.raises(ScenarioError, match=BAD_MESSAGE):
        parameter_sweep("mitm", "days", [30.0, 10**400], executor=_NoRuns(), progress=False)
    with pytest.raises(ScenarioError, match=BAD_MESSAGE):
        compare(scenarios=["mitm"], seeds=1, params=BAD, executor=_NoRuns(), progress=False)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: compare(seeds=10**30, executor=_NoRuns()), "seeds must be at most 1,000"),
        (lambda: compare(seeds=2.5, executor=_NoRuns()), "seeds must be a whole number"),
        (lambda: compare(workers=10**6), "workers must be at most 32"),
        (
            lambda: parameter_sweep("mitm", "days", iter(lambda: 30.0, None), seeds=1),
            f"a sweep may hold at most {MAX_RUNS:,} runs",
        ),
        (
            lambda: compare(seeds=1000, executor=_NoRuns()),
            f"a sweep may hold at most {MAX_RUNS:,} runs, got 35,000",
        ),
    ],
)
def test_a_sweep_is_bounded_before_its_list_of_runs_is_made(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        call()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "mitm", "none", "--param", "days=1" + "0" * 400], BAD_MESSAGE),
        # More than Python's 4,300 digits: int() refuses it (float() would read inf).
        (
            ["run", "mitm", "none", "--param", "days=" + "1" * 5000],
            "'days': 111111111111\\.\\.\\. is",
        ),
        (
            ["run", "mitm", "none", "--param", "n_clients=" + "1" * 5000],
            "of 5,000 digits: too large",
        ),
        (["run", "mitm", "none", "--param", "max_age_days=1e308"], "'max_age_days' must be"),
        (["sweep", "mitm", "days", "30,1e400", "--seeds", "1"], "'days' must be a finite"),
        # checked for the whole comparison, not per scenario group (as --quiet runs them)
        (["compare", "--seeds", "1000", "--quiet"], "at most 10,000 runs, got 35,000"),
    ],
)
def test_bounds_apply_in_the_cli(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = ["--out", str(tmp_path / "out")] if argv[0] != "run" else []
    assert main([*argv, *out]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("simlab: error: ")
    assert re.search(message, err), err


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (
            "era=\u0662\u0660\u0661\u0668-\u0661\u0660",
            "'era' must be a month 'YYYY-MM'",
        ),  # Arabic-Indic
        ("n_clients=\uff11\uff10\uff10", "'n_clients' must be int, got str .*ASCII digits 0-9"),
        ("days=\u0663", "'days' must be float, got str .*ASCII digits 0-9"),
        ("max_age_days=\u0968\u0966", "'max_age_days' must be float"),  # Devanagari
        ("domain=xn--a.com", "'domain' must be .*xn-- labels valid punycode, got 'xn--a.com'"),
    ],
)
def test_numbers_and_months_take_only_ascii_digits(
    pair: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python's int() and float() read any script's digits; simlab's documented forms do not."""
    assert main(["run", "mitm", "none", "--param", pair]) == 1
    assert re.search(message, capsys.readouterr().err)


def test_a_month_from_a_file_or_python_is_ascii_and_whole(tmp_path: Path) -> None:
    path = tmp_path / "era.toml"
    path.write_text(HEAD + "[params]\nera = '\u0662\u0660\u0661\u0668-\u0661\u0660'\n")
    with pytest.raises(ScenarioError, match=f"{path}: \\[params\\]: parameter 'era' must be"):
        load_scenario(path)
    for era in ["2018-10\n", "\uff12\uff10\uff11\uff18-10", "2018-1\u0660"]:
        with pytest.raises(ScenarioError, match="'era' must be a month"):
            _check(era=era)


# -- fuzz: any parameters are a ScenarioError or valid settings, quickly ----------------------

EDGES = [0, 1, -1, 3, 4, 1000, 1001, 500_000, 500_001, 3650, 87_600, 10**5000, -(10**5000)]
VALUES = st.one_of(
    st.sampled_from(EDGES),
    st.sampled_from([float(v) for v in EDGES[:-2]] + [1e308, 5e-324, -0.0, 3650.0000001]),
    st.floats(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
    st.none(),
    st.text(max_size=40),
    st.sampled_from(["ix", "isp-0", "isp-999", "isp-1000", "isp-01", "2018-10", "example.com"]),
    st.integers(0, 100_000).map(lambda n: "a" * n),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
    st.binary(max_size=8),
)
KEYS = st.sampled_from(list(settable())) | st.text(max_size=30)


MITM = builtin_scenarios()["mitm"]


def _valid_or_refused(params: dict[str, Any]) -> None:
    outcome = typed_outcome(lambda: settings_for(MITM, "none", params), seconds=1.0)
    if isinstance(outcome, ScenarioError):
        assert len(str(outcome)) < 1000
    else:
        for size in RUN_SIZE:  # valid: in every range, and a run of bounded size
            assert size.cost(outcome[2]) <= size.cap


@pytest.mark.fuzz
@settings(deadline=None)
@given(params=st.dictionaries(KEYS, VALUES, max_size=4))
def test_fuzz_any_parameters(params: dict[str, Any]) -> None:
    _valid_or_refused(params)


@pytest.mark.fuzz
@settings(deadline=None)
@given(
    key=st.sampled_from(list(settable())),
    value=st.text(max_size=60) | st.integers(1, 6000).map(lambda n: "9" * n),
)
def test_fuzz_cli_parameter_text(key: str, value: str) -> None:
    """What ``--param KEY=VALUE`` makes of any text, as ``simlab run`` checks it (a whole
    number past int()'s 4,300 digits is refused as it is read)."""
    params = typed_outcome(lambda: _params([f"{key}={value}"]))
    assert isinstance(params, dict) or len(value) > 4300
    if isinstance(params, dict):
        _valid_or_refused(params)


# -- the README's Limits section states the bounds the code enforces ----------------------


def _readme_limits() -> str:
    text = (Path(__file__).parents[1] / "README.md").read_text()
    return " ".join(text[text.index("## Limits") : text.index("## Module map")].split())


def test_readme_limits_state_the_bounds_the_code_enforces() -> None:
    from simlab import hpkp, limits, scenario_file, world

    section = _readme_limits()
    phrases = [  # each bound in the words that state it, so a changed constant is noticed
        f"| `n_clients` | 1 to {world.MAX_CLIENTS:,} |",
        f"| `access_networks`, `attacker_network` | 1 to {world.MAX_ACCESS_NETWORKS:,};",
        f"a lower-case DNS name of at most {world.MAX_DOMAIN} characters",
        f"| `max_age_days` | 0 to {world.TEN_YEARS:,.0f} |",
        f"or from 0, at most {world.TEN_YEARS:,.0f} |",
        f"at most {world.TEN_YEARS * 24:,.0f}; the monitor interval",
        f"at most {limits.MAX_RUNS:,} runs, with 1 to {limits.MAX_SEEDS:,} seeds and 1 to "
        f"{limits.MAX_WORKERS} worker processes",
        f"`--seeds` 1 to {limits.MAX_SEEDS:,}; `--workers` 1 to {limits.MAX_WORKERS};",
        f"At most {scenario_file.MAX_NESTING} brackets open at once and "
        f"{scenario_file.MAX_DOTS_PER_LINE} dots outside strings",
        f"headers of at most {hpkp._CACHED_HEADER_CHARS:,} characters",
    ]
    for phrase in phrases:
        assert phrase in section, f"README Limits does not say: {phrase}"
    assert f"at most {scenario_file.MAX_FILE_BYTES // 1024} KiB" in section
    from simlab import cli, scripts

    assert f"`pin FILE...` reads at most {cli.PIN_FILE_MAX >> 20} MiB" in section
    assert f"script of at most {scripts.MAX_SCRIPT_BYTES >> 20} MiB" in section
    for size in world.RUN_SIZE:
        assert f"`{size.formula}` at most {int(size.cap):,}" in section


def test_counts_take_any_integer_type_but_a_bool() -> None:
    import numpy as np

    from simlab.sweep import check_count

    check_count("seeds", np.int64(3))
    with pytest.raises(ScenarioError, match="seeds must be a whole number, got True"):
        check_count("seeds", True)
    with pytest.raises(ScenarioError, match="workers must be a whole number"):
        check_count("workers", 2.0)
