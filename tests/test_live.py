"""Live mode: real sockets decide like the simulation, every printed command does what simlab
says it will, and the servers hold up against idle clients and signals."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from simlab.cli import main
from simlab.errors import ScenarioError
from simlab.live import Command, Scene, enforces_pins, fetch, live_decide, scene, victim_apps
from simlab.runner import DEFENCES
from simlab.scenario_file import builtin_scenarios
from tests.conftest import require_tool

ATTACKS = ["mitm", "mitm-local-root", "ca-compromise", "domain-hijack", "hpkp-ransom"]
ROOT = Path(__file__).parents[1]


def _live_threads() -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("simlab-live", "simlab-ctlog")) or "process_request" in t.name
    ]


def _run(command: Command) -> subprocess.CompletedProcess[str]:
    tool = require_tool(command.argv[0])
    return subprocess.run(
        [tool, *command.argv[1:]],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )


def _check(command: Command) -> None:
    """Run one printed command; it must do exactly what simlab said it would."""
    result = _run(command)
    what = f"{command.line}\nsimlab said: {command.verdict}\n{result.stderr[-500:]}"
    if command.argv[0] == "curl":
        assert (result.returncode == 0) == command.expect_ok, what
    else:
        assert ("Verify return code: 0 (ok)" in result.stdout) == command.expect_ok, what
        if command.valid_scts is not None:
            assert result.stdout.count("SCT validation status: valid") == command.valid_scts, what


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scenario", list(builtin_scenarios()))
def test_every_printed_command_does_what_simlab_says_under_every_defence(scenario: str) -> None:
    require_tool("curl")
    require_tool("openssl")
    for defence in DEFENCES:
        with scene(scenario, defence) as live:
            commands = live.commands()
            kinds = {(c.server, c.argv[0]) for c in commands}
            assert kinds == {(name, tool) for name in live.servers for tool in ("curl", "openssl")}
            for command in commands:
                _check(command)
    assert _live_threads() == []


@pytest.mark.timeout(60)
def test_a_logged_rogue_certificate_shows_three_valid_scts_to_openssl() -> None:
    with scene("ca-compromise", "ct", rogue_logged=True) as live:
        s_clients = [c for c in live.commands() if c.argv[0] == "openssl"]
        assert all("-ct" in c.argv and "-CAfile" in c.argv for c in s_clients)
        assert [c.valid_scts for c in s_clients] == [3, 3]
        for command in s_clients:
            _check(command)


@pytest.mark.timeout(60)
def test_a_revoked_rogue_certificate_still_reaches_apps_and_curl() -> None:
    # CT's monitor sees the logged rogue certificate and the CA revokes it two days later,
    # but an app (like curl without --crlfile) checks no revocation: both still connect.
    with scene("ca-compromise", "ct", rogue_logged=True, at_day=13) as live:
        assert live.world.other_ca.is_revoked(live.world.attacker.chain.leaf.serial_number, live.at)
        (attacker,) = [c for c in live.commands() if c.server == "attacker" and c.argv[0] == "curl"]
        assert attacker.verdict == "accept" and attacker.expect_ok
        _check(attacker)


def test_curl_carries_pins_exactly_for_apps_that_enforce_them() -> None:
    for defence, pinning in (("static", True), ("none", False), ("hpkp", False)):
        with scene("key-loss", defence) as live:
            for label, app in victim_apps(live.world):
                assert enforces_pins(live.world, app) == pinning == (label == "an app that pins")
                assert ("--pinnedpubkey" in live.curl("owner", app)) == pinning


@pytest.mark.timeout(60)
@pytest.mark.parametrize("scenario", ATTACKS)
def test_app_decisions_on_real_sockets_equal_the_simulation(scenario: str) -> None:
    with scene(scenario, "static") as live:
        for _, app in victim_apps(live.world):
            for name, server in live.servers.items():
                simulated = live.world.decide(app, live.endpoint(name).chain, live.at)
                real = live_decide(live.world, app, server.port, live.at)
                assert (real.verdict, real.reason) == (simulated.verdict, simulated.reason)
    assert _live_threads() == []


@pytest.mark.timeout(60)
def test_curl_without_pins_is_intercepted_where_only_pins_stood_in_the_way() -> None:
    curl = require_tool("curl")
    with scene("ca-compromise", "static") as live:
        _, app = victim_apps(live.world)[0]
        command = live.curl("attacker", app, pinned=False)
        result = subprocess.run([curl, *command[1:]], capture_output=True, text=True, timeout=30)
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
        attacked = live_decide(world, fresh, live.servers["attacker"].port, live.at)
        simulated = world.decide(fresh, world.attacker.chain, live.at)  # type: ignore[union-attr]
        assert (attacked.verdict, attacked.reason) == (simulated.verdict, simulated.reason)
        assert attacked.reason == "pin_mismatch_hpkp"


def test_live_verb_prints_each_command_with_its_verdict_and_stops_cleanly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["live", "mitm", "--seconds", "0.2", "--param", "era=2016-10"]) == 0
    assert "-ctlogfile" not in capsys.readouterr().out  # before 2018 nothing was logged

    assert main(["live", "mitm", "--seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    commands = [i for i, line in enumerate(lines) if line.lstrip().startswith(("curl", "openssl"))]
    assert len(commands) == 4  # curl and s_client, for the owner and the attacker
    for i in commands:
        assert lines[i + 1].lstrip().startswith("simlab")
    assert "--pinnedpubkey 'sha256//" in out and "--resolve example.com:" in out
    # In 2018-10 every public CA logged every certificate, whatever the site deployed.
    assert "-CAfile" in out and "-ctlogfile" in out
    assert "simlab's verdict for an app that pins: block (unknown_issuer)" in out
    assert out.rstrip().endswith("stopped; servers closed")
    assert _live_threads() == []


def test_live_out_writes_the_public_contract(tmp_path: Path) -> None:
    out = tmp_path / "live"
    args = ["live", "ca-compromise", "--defence", "ct", "--param", "rogue_logged=true"]
    assert main([*args, "--seconds", "0.1", "--out", str(out)]) == 0
    servers = json.loads((out / "servers.json").read_text())
    assert set(servers) == {"owner", "attacker", "logs", "cafile"}
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", servers["owner"])
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", servers["attacker"])
    assert sorted(servers["logs"]) == ["argon", "nimbus", "yeti"]
    for name, url in servers["logs"].items():
        assert re.fullmatch(rf"http://127\.0\.0\.1:\d+/{name}/", url)
    assert Path(servers["cafile"]).read_text().count("BEGIN CERTIFICATE") == 2
    listed = json.loads((out / "loglist.json").read_text())
    logs = [log for op in listed["operators"] for log in op["logs"]]
    assert {op["name"] for op in listed["operators"]} == {"Google", "Cloudflare", "DigiCert"}
    for log in logs:
        key = base64.b64decode(log["key"])
        assert base64.b64decode(log["log_id"]) == hashlib.sha256(key).digest()
        assert log["url"] in servers["logs"].values() and log["mmd"] == 86400
    cnf = (out / "ctlogs.cnf").read_text()
    assert cnf.startswith("enabled_logs = argon,nimbus,yeti\n")
    assert {log["key"] for log in logs} == set(re.findall(r"^key = (\S+)$", cnf, re.M))


def test_export_writes_the_same_logs_with_their_keys(tmp_path: Path) -> None:
    assert main(["export", "ca-compromise", "--out", str(tmp_path / "x")]) == 0
    assert main(["live", "ca-compromise", "--seconds", "0", "--out", str(tmp_path / "y")]) == 0
    exported, served = (json.loads((tmp_path / d / "loglist.json").read_text()) for d in "xy")

    def keys(listed: dict[str, Any]) -> list[tuple[str, str, str, int]]:
        return [
            (op["name"], log["key"], log["log_id"], log["mmd"])
            for op in listed["operators"]
            for log in op["logs"]
        ]

    assert keys(exported) == keys(served) and len(keys(served)) == 3
    assert (tmp_path / "x" / "ctlogs.cnf").read_text() == (
        tmp_path / "y" / "ctlogs.cnf"
    ).read_text()


def test_a_bad_param_is_one_line_and_serves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["live", "mitm", "--param", "attack_days=-1", "--seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("simlab: error:") and "attack_days" in err and err.count("\n") == 1
    assert _live_threads() == []


def test_a_temporary_folder_that_refuses_the_certificate_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ssl module loads a chain from files only: where they cannot be written (here
    the temporary folder is a file), live says so on one line and serves nothing."""
    import tempfile

    not_a_folder = tmp_path / "tmp"
    not_a_folder.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    assert main(["live", "mitm", "--seconds", "0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"the temporary folder {not_a_folder} refused live's files" in err and "TMPDIR" in err
    assert _live_threads() == []


def test_no_usable_temporary_folder_at_all_is_one_line() -> None:
    """Under ``ulimit -f 0`` no temporary folder takes a file, so even asking which folder
    is the temporary one fails: still one line, no traceback."""
    import shlex

    command = shlex.join([sys.executable, "-m", "simlab", "live", "mitm", "--seconds", "0"])
    done = subprocess.run(
        ["bash", "-c", f"ulimit -f 0; exec {command}"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("simlab: error: every temporary folder refused live's files")


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


def test_the_default_moment_stays_within_a_run_whose_attack_starts_in_its_last_hour() -> None:
    params = {"days": 2, "attack_start_day": 1.99, "n_clients": 10}
    with scene("mitm", "none", **params) as live:  # an hour in would be past the end
        assert "attacker" in live.servers
    assert _live_threads() == []


# -- a sturdy server ------------------------------------------------------------------------


def _timed_fetch(live: Scene) -> float:
    start = time.monotonic()
    fetch(live.world.host, live.servers["owner"].port)
    return time.monotonic() - start


@pytest.mark.timeout(30)
def test_an_idle_or_trickling_tls_client_delays_no_other_client() -> None:
    with scene("mitm", "none") as live:
        port = live.servers["owner"].port
        _timed_fetch(live)
        idle = socket.create_connection(("127.0.0.1", port))
        slow = socket.create_connection(("127.0.0.1", port))
        slow.send(b"\x16\x03")  # the first bytes of a ClientHello, then nothing more
        try:
            time.sleep(0.2)
            assert max(_timed_fetch(live) for _ in range(3)) < 0.5
        finally:
            idle.close()
            slow.close()
        for server in live.servers.values():
            assert server._server.server_address[0] == "127.0.0.1"
        assert live.logs is not None and live.logs.server.server_address[0] == "127.0.0.1"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_live_and_removes_its_temporary_folder(
    tmp_path: Path, signum: signal.Signals
) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "simlab", "live", "mitm"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Serving until interrupted"):
                break
        assert list(tmp_path.glob("simlab-live-*")), "the live folder should exist while serving"
        process.send_signal(signum)
        rest, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert rest.rstrip().endswith("stopped; servers closed")
    assert list(tmp_path.glob("simlab-live-*")) == []
