"""A run with no connections (``visit_prob=0``, a run shorter than a day) is a valid result:
its rates are None, shown as n/a, on every path (both engines, run, sweep from a worker
process, compare's charts), never 0% and never a traceback."""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure

import simlab
from simlab import charts
from simlab.charts.claims import Summary, better
from simlab.cli import _sweep_cell, main
from simlab.clock import DAY
from simlab.runner import ENGINES, METRICS
from simlab.scenario_file import builtin_scenarios
from simlab.sweep import compare, parameter_sweep
from simlab.units import format_metric

NONE = {
    "interception_rate": None,
    "legit_failure_rate": None,
    "detection_time": None,
    "detected_by": None,
    "exposure_window": 0.0,
    "lockout_duration": 0.0,
    "clients_affected": 0,
}


def _texts(fig: Figure) -> list[str]:
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    plt.close(fig)
    return texts


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scenario", list(builtin_scenarios()))
def test_no_visits_gives_undefined_rates_in_either_engine(engine: str, scenario: str) -> None:
    r = simlab.run(scenario, "hpkp", engine=engine, visit_prob=0.0, n_clients=20)
    assert r.table.empty and list(r.daily().columns)[:2] == ["connected", "intercepted"]
    expected = NONE  # hpkp has no monitor: no visit, no report, nothing is detected ...
    if scenario == "key-theft":  # ... but the owner who notices the theft, visits or not
        noticed = r.world.s.theft_noticed_days * DAY
        expected = NONE | {"detection_time": noticed, "detected_by": "owner_notices"}
    assert r.metrics == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_a_run_shorter_than_a_day_has_no_connections(engine: str) -> None:
    r = simlab.run("mitm", "ct", engine=engine, days=0.5, attack_start_day=0.0, n_clients=20)
    assert r.table.empty and r.metrics == NONE


def test_each_rate_is_none_exactly_when_it_has_nothing_to_count() -> None:
    # key-loss has no attacker: the interception rate is undefined, the failure rate is not.
    loss = simlab.run("key-loss", "hpkp", n_clients=60).metrics
    assert loss["interception_rate"] is None and loss["legit_failure_rate"] > 0
    # An attacker at the exchange for the whole run answers every connection.
    taken = simlab.run(
        "mitm", "none", n_clients=60, attacker_network="ix", attack_start_day=0, attack_days=60
    ).metrics
    assert taken["legit_failure_rate"] is None and taken["interception_rate"] > 0


def test_run_prints_n_a_for_the_rates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "mitm", "none", "ct", "--param", "visit_prob=0"]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert rows["interception_rate"] == rows["legit_failure_rate"] == ["n/a", "n/a"]
    assert rows["detection_time"] == ["never", "never"]
    assert rows["clients_affected"] == ["0", "0"]


def test_a_sweep_through_zero_in_a_worker_process() -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        table = parameter_sweep(
            "mitm", "visit_prob", [0.0, 0.3], defences=["none"], seeds=2, executor=pool
        )
    zero, some = table[table["visit_prob"] == 0], table[table["visit_prob"] == 0.3]
    assert table["interception_rate"].dtype == float
    assert zero["interception_rate"].isna().all() and zero["legit_failure_rate"].isna().all()
    assert (some["interception_rate"] > 0).all() and (some["legit_failure_rate"] == 0).all()
    assert (zero["attacker_connections"] == 0).all()
    # n/a at 0 is not "lower" than a rate at 0.3: the chart's title claims no change.
    fig = charts.parameter_chart(table, "visit_prob", "interception_rate")
    assert fig.get_suptitle().startswith(
        "interception rate against visit_prob: no effect beyond seed noise under any defence"
    )
    plt.close(fig)


def test_the_sweep_verb_says_n_a_where_no_run_had_connections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", "key-loss", "visit_prob", "0,0.3", "--defence", "hpkp", "--seeds", "1"]
    assert main([*argv, "--workers", "1", "--out", str(tmp_path), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["visit_prob", "hpkp"]
    assert lines[2].split() == ["0", "n/a"] and lines[3].split() == ["0.3", "n/a"]
    csv = pd.read_csv(tmp_path / "sweep-key-loss-visit_prob-interception_rate.csv")
    assert csv["interception_rate"].isna().all()


def test_sweep_cells_count_the_runs_a_mean_is_over() -> None:
    nan = math.nan
    assert _sweep_cell("interception_rate", [nan, nan]) == "n/a"
    assert _sweep_cell("interception_rate", [0.5, nan]) == "50.0% (1/2 with attacker connections)"
    assert _sweep_cell("legit_failure_rate", [0.5, nan]) == "50.0% (1/2 with connections)"
    assert _sweep_cell("detection_time", [nan, nan]) == "never"
    assert _sweep_cell("detection_time", [3600.0, nan]) == "1.0 h (1/2 detected)"
    assert format_metric("legit_failure_rate", None) == "n/a"
    assert format_metric("detection_time", None) == format_metric("detected_by", None) == "never"


def test_compare_charts_of_runs_without_connections_say_n_a() -> None:
    metrics, daily = compare(
        scenarios=["mitm", "key-loss"],
        defences=["none", "hpkp"],
        seeds=1,
        params={"visit_prob": 0.0, "n_clients": 20},
        executor=None,
        workers=1,
        progress=False,
    )
    assert daily.empty and {"scenario", "defence", "day", "connected"} <= set(daily.columns)
    for metric in ("interception_rate", "legit_failure_rate"):
        assert metrics[metric].isna().all()
        cells = [t for t in _texts(charts.heatmap(metrics, metric)) if t]
        assert cells == ["n/a"] * 4, (metric, cells)
    assert _texts(charts.timeline(daily, "mitm")) == ["mitm: no connections in these runs"]
    assert set(METRICS) <= set(metrics.columns)


def test_a_rate_without_connections_beats_nothing_and_nothing_beats_it() -> None:
    empty = Summary(2, 0, math.nan, math.nan, math.nan)
    some = Summary(2, 2, 0.5, 0.5, 0.5)
    for metric in ("interception_rate", "legit_failure_rate"):
        assert not better(empty, some, metric) and not better(some, empty, metric)
    # Detection keeps its rule: detecting in more runs is better than never.
    assert better(Summary(2, 2, 3.0, 3.0, 3.0), empty, "detection_time")
