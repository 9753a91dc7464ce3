from __future__ import annotations

from pathlib import Path

import pytest

import simlab
from simlab.errors import ScenarioError
from simlab.scenario_file import builtin_scenarios, load_scenario, parse_scenario

EXAMPLES = Path(__file__).parents[1] / "examples"


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
            "unknown parameter 'hpkp'",
        ),
        ("[scenario]\nname='x'\nstory='mitm'\ntitle='t'\n[extra]\n", "unknown table \\[extra\\]"),
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


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario file"):
        load_scenario("/nonexistent/x.toml")
