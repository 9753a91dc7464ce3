"""Live mode: the decision on real sockets equals the simulation's, and curl agrees."""

from __future__ import annotations

import subprocess
import threading

import pytest

from simlab.cli import main
from simlab.errors import ScenarioError
from simlab.live import fetch, live_decide, scene, victim
from tests.conftest import require_tool

ATTACKS = ["mitm", "mitm-local-root", "ca-compromise", "domain-hijack", "hpkp-ransom"]


def _live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("simlab-live-")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scenario", ATTACKS)
def test_app_decisions_on_real_sockets_equal_the_simulation_and_curl_agrees(scenario: str) -> None:
    curl = require_tool("curl")
    with scene(scenario, "static") as live:
        app = victim(live.world, "app")
        assert set(live.servers) == {"owner", "attacker"}
        for name, server in live.servers.items():
            simulated = live.world.decide(app, live.endpoint(name).chain, live.at)
            real = live_decide(live.world, app, server.port, live.at)
            assert (real.verdict, real.reason) == (simulated.verdict, simulated.reason)
            command = live.curl(name, app)
            assert command[0] == "curl"
            result = subprocess.run([curl, *command[1:]], capture_output=True, text=True)
            # curl succeeds exactly where a statically pinned client accepts.
            assert (result.returncode == 0) == (simulated.verdict == "accept"), result.stderr
        assert live.world.decide(app, live.endpoint("owner").chain, live.at).verdict == "accept"
    assert _live_threads() == []


@pytest.mark.timeout(60)
def test_curl_without_pins_is_intercepted_where_only_pins_stood_in_the_way() -> None:
    curl = require_tool("curl")
    with scene("ca-compromise", "static") as live:
        app = victim(live.world, "app")
        command = live.curl("attacker", app, pinned=False)
        result = subprocess.run([curl, *command[1:]], capture_output=True, text=True)
        assert result.returncode == 0 and "attacker serving" in result.stdout


@pytest.mark.timeout(60)
def test_hpkp_headers_travel_over_http_and_are_noted_by_the_live_client() -> None:
    with scene("ca-compromise", "hpkp") as live:
        world = live.world
        fresh = next(
            c
            for c in world.clients
            if c.kind == "browser"
            and c.kph is not None
            and c.kph.lookup(world.host, live.at) is None
        )
        chain, headers = fetch(world.host, live.servers["owner"].port)
        assert chain.key == world.owner.chain.key
        assert headers["public-key-pins"] == world.owner.pkp_header
        assert live_decide(world, fresh, live.servers["owner"].port, live.at).verdict == "accept"
        assert fresh.kph.lookup(world.host, live.at) is not None  # noted from the real header
        # Now pinned, the same browser refuses the rogue chain from the other CA.
        attacked = live_decide(world, fresh, live.servers["attacker"].port, live.at)
        simulated = world.decide(fresh, world.attacker.chain, live.at)  # type: ignore[union-attr]
        assert (attacked.verdict, attacked.reason) == (simulated.verdict, simulated.reason)
        assert attacked.reason == "pin_mismatch_hpkp"


def test_live_verb_prints_ready_to_copy_commands_and_stops_cleanly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["live", "mitm", "--seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "--pinnedpubkey 'sha256//" in out and "--resolve example.com:" in out
    assert "openssl s_client -connect 127.0.0.1:" in out
    assert "simlab's verdict for that app: block (unknown_issuer)" in out
    assert out.rstrip().endswith("stopped; servers closed")
    assert _live_threads() == []


def test_live_without_an_attacker_serves_only_the_owner() -> None:
    with scene("key-loss", "hpkp", at_day=5) as live:
        assert set(live.servers) == {"owner"}


@pytest.mark.parametrize("at_day", [-1.0, 61.0])
def test_a_moment_outside_the_scenario_is_refused_before_serving(at_day: float) -> None:
    with (
        pytest.raises(ScenarioError, match="at_day must be between 0 and 60"),
        scene("mitm", "none", at_day=at_day),
    ):
        pass
    assert _live_threads() == []
