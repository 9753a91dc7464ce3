"""The results table and its metrics, checked against plain pandas on the same rows.

:func:`simlab.table.build` and :func:`simlab.runner.metrics` work on codes and masks for
speed; here the table is rebuilt from one tuple per row with ordinary pandas, and the
metrics recomputed by filtering it, so a shortcut that changed a value, a dtype or a
category order fails."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab import batch
from simlab.clock import DAY
from simlab.runner import COLUMNS, build, metrics, run
from simlab.table import Rows
from simlab.table import build as build_table
from simlab.world import World

END = 10 * DAY  # the hand-made tables' run: 10 days

RUNS: list[tuple[str, str, dict[str, Any]]] = [
    ("ca-compromise", "hpkp+ct", {"n_clients": 300, "days": 30.0}),  # interceptions
    ("key-loss", "hpkp", {"n_clients": 200}),  # lockouts spanning weeks
    ("mitm", "static", {"n_clients": 200, "click_through": 0.9}),  # clicked through
    ("ca-compromise", "none", {"visit_prob": 0.0}),  # no connection at all
]


def _labels(values: list[object]) -> pd.Index:
    """Categories as the table keeps them: sorted by text, strings in an object index."""
    used = sorted(set(values), key=str)
    return pd.Index(used, dtype=object) if any(isinstance(v, str) for v in used) else pd.Index(used)


def _plain_table(
    rows: Rows, scenario: str, defence: str, seed: int, params: dict[str, Any]
) -> pd.DataFrame:
    """The table from one tuple per row: (time, client, kind, release, access, responder,
    legit, outcome, reason), each run-wide value a one-category column."""
    columns = (rows.times.tolist(), rows.clients.tolist(), rows.codes.tolist())
    records = [
        (t, c, *rows.client_fields[c], *rows.results[k]) for t, c, k in zip(*columns, strict=True)
    ]
    raw = {name: [r[i] for r in records] for i, name in enumerate(COLUMNS)}
    n = len(records)
    times = np.array(raw["time"], dtype=np.float64)

    def run_wide(value: object) -> object:
        if isinstance(value, (str, bool, int, float)):
            return pd.Categorical([value] * n, categories=_labels([value]))
        return [value] * n

    columns: dict[str, object] = {
        "scenario": run_wide(scenario),
        "defence": run_wide(defence),
        "seed": np.full(n, seed, dtype=np.int64),
        "time": times,
        "day": (times // DAY).astype(np.int32),
        "client": np.array(raw["client"], dtype=np.int32),
    }
    for name in ("kind", "release", "access", "responder"):
        columns[name] = pd.Categorical(raw[name], categories=_labels(raw[name]))
    columns["legit"] = np.array(raw["legit"], dtype=bool)
    for name in ("outcome", "reason"):
        columns[name] = pd.Categorical(raw[name], categories=_labels(raw[name]))
    for key, value in sorted(params.items()):
        columns[key] = run_wide(value)
    return pd.DataFrame(columns)


def _plain_metrics(world: World, table: pd.DataFrame) -> dict[str, Any]:
    """The metrics by filtering the table, as :func:`simlab.runner.metrics` defines them."""
    attacker = table[~table["legit"] & (table["responder"] == "attacker")]
    accepted = attacker[attacker["outcome"].isin(["intercepted", "clicked_through"])]
    legit = table[table["legit"]]
    failures = legit[legit["outcome"] == "blocked"]
    first = world.detections[0] if world.detections else None
    return {
        "interception_rate": len(accepted) / len(attacker) if len(attacker) else None,
        "legit_failure_rate": len(failures) / len(legit) if len(legit) else None,
        "detection_time": max(0.0, first[0] - world.attack_start) if first else None,
        "detected_by": first[1] if first else None,
        "exposure_window": float(accepted["time"].max() - world.attack_start)
        if len(accepted)
        else 0.0,
        "lockout_duration": _plain_lockout(legit),
        "clients_affected": len(set(accepted["client"]) | set(failures["client"])),
    }


def _plain_lockout(legit: pd.DataFrame) -> float:
    """The longest lock-out, one client and one visit to the legitimate server at a time:
    from a failure after a success (or a first failure) to the last failure before the next
    success."""
    longest = 0.0
    for _, visits in legit.sort_values("time", kind="stable").groupby("client"):
        since = None  # when the client's current lock-out began
        for time, outcome in zip(visits["time"], visits["outcome"], strict=True):
            if outcome == "blocked":
                since = time if since is None else since
                longest = max(longest, time - since)
            else:
                since = None
    return float(longest)


def _same_table(built: pd.DataFrame, plain: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(built, plain, check_exact=True)
    assert built.equals(plain)
    for name in built.columns:
        if isinstance(built[name].dtype, pd.CategoricalDtype):
            assert list(built[name].cat.categories) == list(plain[name].cat.categories), name


@pytest.mark.parametrize(("scenario", "defence", "params"), RUNS, ids=[r[0] for r in RUNS])
def test_the_table_of_each_engines_rows_is_the_one_plain_pandas_builds(
    scenario: str, defence: str, params: dict[str, Any]
) -> None:
    spec, merged, world = build(scenario, defence, 3, **params)
    batched = batch.run(world)
    spec, merged, world = build(scenario, defence, 3, **params)
    world.run()
    for rows in (batched, Rows.from_tuples(world.rows)):
        built = build_table(rows, spec.name, defence, 3, merged)
        _same_table(built, _plain_table(rows, spec.name, defence, 3, merged))


def test_a_table_keeps_only_the_values_its_rows_use_and_any_parameter_value() -> None:
    """A client that never connected, a result no row has, and a parameter that is not a
    plain value (a list: an object column) leave no trace but their own."""
    rows = Rows(
        np.array([5.0, DAY + 1.0, 3 * DAY], dtype=np.float64),
        np.array([7, 2, 7], dtype=np.int64),
        np.array([2, 0, 2], dtype=np.int64),
        [
            ("owner", True, "connected", ""),
            ("attacker", False, "blocked", "unused"),
            ("attacker", False, "intercepted", ""),
        ],
        {2: ("app", "B", "isp-1"), 5: ("legacy", "C", "isp-0"), 7: ("browser", "A", "isp-1")},
    )
    params = {"hosts": ["a", "b"], "days": 5.0, "hsts": True, "n_clients": 8}
    built = build_table(rows, "s", "none", 1, params)
    _same_table(built, _plain_table(rows, "s", "none", 1, params))
    assert list(built["kind"].cat.categories) == ["app", "browser"]
    assert list(built["reason"].cat.categories) == [""]


@pytest.mark.parametrize(("scenario", "defence", "params"), RUNS, ids=[r[0] for r in RUNS])
def test_the_metrics_are_those_of_the_filtered_table(
    scenario: str, defence: str, params: dict[str, Any]
) -> None:
    result = run(scenario, defence, seed=3, **params)
    world, table = result.world, result.table
    plain = _plain_metrics(world, table)
    assert result.metrics == plain
    assert metrics(world, table.astype({"outcome": str, "responder": str})) == plain
    if len(table):  # a missing outcome or responder (code -1) is in no category
        table = table.copy()
        table.loc[table.index[::3], "outcome"] = np.nan
        table.loc[table.index[1::3], "responder"] = np.nan
        assert metrics(world, table) == _plain_metrics(world, table)
    if scenario == "key-loss":
        assert plain["lockout_duration"] > 30 * DAY  # the runs do exercise every metric
    if scenario == "mitm":
        assert (result.table["outcome"] == "clicked_through").any()


def test_the_day_column_is_floor_division_at_every_day_boundary() -> None:
    """Each day's first instant and the floats just before and after it, over ten years
    (where a rounded quotient by DAY would first go wrong), and random times."""
    edges = np.arange(3651) * DAY
    below = np.nextafter(edges, -np.inf)
    times = np.concatenate(
        [
            edges,
            below[below >= 0],
            np.nextafter(edges, np.inf),
            np.random.default_rng(0).random(9999) * 3650 * DAY,
        ]
    )
    rows = Rows(
        times,
        np.zeros(len(times), dtype=np.int64),
        np.zeros(len(times), dtype=np.int64),
        [("owner", True, "connected", "")],
        {0: ("browser", "A", "isp-0")},
    )
    day = build_table(rows, "s", "none", 0, {})["day"].to_numpy()
    assert (day == (times // DAY).astype(np.int32)).all()


def test_a_column_of_many_values_is_the_one_plain_pandas_builds() -> None:
    """Over 127 categories pandas keeps wider codes than int8."""
    n = 300
    rows = Rows(
        np.arange(n, dtype=np.float64) * 1000.0,
        np.arange(n, dtype=np.int64) % 7,
        np.arange(n, dtype=np.int64)[::-1] % 200,
        [("attacker", False, "blocked", f"reason {i}") for i in range(250)],
        {c: ("browser", f"release {c}", "isp-0") for c in range(7)},
    )
    built = build_table(rows, "s", "none", 0, {})
    _same_table(built, _plain_table(rows, "s", "none", 0, {}))
    assert len(built["reason"].cat.categories) == 200


@cache
def _ten_day_world() -> World:
    return build("mitm", "none", n_clients=2, days=END / DAY, attack_start_day=1.0)[2]


def _lockout(rows: list[tuple[float, int, str, str]]) -> float:
    """The lock-out metric of hand-made visits (time in days, client, responder, outcome)
    in a 10-day run; a visit the owner answered is a visit to the legitimate server."""
    table = pd.DataFrame(
        {
            "time": np.array([r[0] * DAY for r in rows], dtype=np.float64),
            "client": np.array([r[1] for r in rows], dtype=np.int64),
            "legit": np.array([r[2] == "owner" for r in rows], dtype=bool),
            "responder": [r[2] for r in rows],
            "outcome": [r[3] for r in rows],
        }
    )
    value = metrics(_ten_day_world(), table)["lockout_duration"]
    legit = table[table["legit"]]
    assert value == _plain_lockout(legit)
    return float(value) / DAY


def test_a_lockout_is_seen_from_the_first_to_the_last_failure_in_a_row() -> None:
    # A lower bound: the client's absence until day 9 says nothing of when the lock-out
    # ended, and one failed visit alone shows none.
    visits = [(1.0, 0, "owner", "connected"), (2.0, 0, "owner", "blocked")]
    assert _lockout([*visits, (3.0, 0, "owner", "connected")]) == 0.0
    visits += [(3.5, 0, "owner", "blocked"), (9.0, 0, "owner", "connected")]
    assert _lockout(visits) == 1.5
    assert _lockout(visits[:-1]) == 1.5  # the same if the run ends with the client still out


def test_each_lockout_of_a_client_is_measured_on_its_own() -> None:
    """Failing on days 1, then 5 to 7.5: the longest is 2.5 days, not the 6.5 from its first
    failure to its last; a visit the attacker answered neither ends nor starts one, and a
    click-through warning on the real site let the user in."""
    visits = [
        (1.0, 0, "owner", "blocked"),
        (2.0, 0, "owner", "clicked_through"),
        (5.0, 0, "owner", "blocked"),
        (6.0, 0, "attacker", "intercepted"),
        (7.0, 0, "attacker", "blocked"),
        (7.5, 0, "owner", "blocked"),
        (9.0, 0, "owner", "connected"),
        (3.0, 1, "owner", "blocked"),  # another client, failing from day 3 to 4.5
        (4.5, 1, "owner", "blocked"),
        (5.5, 1, "owner", "connected"),
    ]
    assert _lockout(visits) == 2.5
    assert _lockout(visits[::-1]) == 2.5  # rows in any order: by time within each client
    assert _lockout([]) == 0.0 and _lockout(visits[1:2]) == 0.0  # nobody failed


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 40).map(lambda quarter: quarter / 4),  # equal times happen
            st.integers(0, 3),
            st.sampled_from(["owner", "attacker"]),
            st.sampled_from(["connected", "blocked", "clicked_through"]),
        ),
        max_size=30,
    )
)
def test_the_lockout_is_the_one_a_visit_by_visit_walk_finds(
    rows: list[tuple[float, int, str, str]],
) -> None:
    _lockout(rows)  # asserts the metric equals _plain_lockout


def test_the_lockout_seen_stays_within_max_age() -> None:
    """The ransomer's pins: what the visits show of a lock-out never exceeds their max-age (a
    lower bound), and with a longer max-age a longer one is seen."""
    short, long = (
        run("hpkp-ransom", "none", seed=0, max_age_days=days, visit_prob=1.0, n_clients=120)
        for days in (7.0, 30.0)
    )
    assert short.metrics["legit_failure_rate"] > 0
    assert 4 * DAY < short.metrics["lockout_duration"] <= 7 * DAY
    assert 25 * DAY < long.metrics["lockout_duration"] <= 30 * DAY
