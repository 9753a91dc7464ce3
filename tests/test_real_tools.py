"""Tools nobody here wrote, pointed at simlab's live servers and logs, agree with simlab.

- SSLMate's certspotter (a CT monitor) reads the logs over RFC 6962, finds the rogue
  certificate of ca-compromise, and catches logs that lie in their signed tree heads;
- ``openssl s_client -ct`` checks every embedded SCT against the exported log keys;
- testssl.sh reads the owner's HPKP header, computes its pins and sees the SCT extension.

Each tool runs with a timeout; a missing tool skips its test with the reason (``.ci/run``
installs them, so nothing skips in CI).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.certificate_transparency import LogEntryType

from simlab.ct import Lie, LogFront, Mount, decode_sct_list, encode_sct_list, precert_hook
from simlab.export import log_list
from simlab.keys import derive_key
from simlab.live import LiveServer, Scene, scene, victim_apps
from simlab.pki import spki_pin
from tests.conftest import require_tool


def _pubkey_hex(pin: str) -> str:
    """certspotter names keys by hex SHA-256 of the SPKI; RFC 7469 pins are its base64."""
    return base64.b64decode(pin).hex()


class Watcher:
    """certspotter in a temporary state folder, its output collected line by line."""

    def __init__(self, tmp: Path, loglist: dict[str, object], domain: str) -> None:
        certspotter = require_tool("certspotter")
        (tmp / "loglist.json").write_text(json.dumps(loglist))
        (tmp / "watchlist").write_text(f".{domain}\n")
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                certspotter,
                "-logs",
                str(tmp / "loglist.json"),
                "-watchlist",
                str(tmp / "watchlist"),
                "-state_dir",
                str(tmp / "state"),
                "-stdout",
                "-verbose",
                "-no_save",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, done: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = "\n".join(self.lines)
            if done(text):
                return text
            time.sleep(0.1)
        raise AssertionError("certspotter did not report in time:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def watcher_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, object], str], Watcher]]:
    started: list[Watcher] = []

    def start(loglist: dict[str, object], domain: str) -> Watcher:
        folder = tmp_path / f"certspotter-{len(started)}"
        folder.mkdir()
        started.append(Watcher(folder, loglist, domain))
        return started[-1]

    yield start
    for watcher in started:
        watcher.stop()


def _reported(text: str) -> list[tuple[str, str]]:
    """(SPKI hex, log URL) of every certificate certspotter reported."""
    keys = re.findall(r"Pubkey = ([0-9a-f]{64})", text)
    logs = re.findall(r"Log Entry = \d+ @ (\S+)", text)
    return list(zip(keys, logs, strict=True))


@pytest.mark.timeout(90)
def test_certspotter_finds_the_logged_rogue_certificate_and_nothing_else_unexpected(
    tmp_path: Path, watcher_factory: Callable[[dict[str, object], str], Watcher]
) -> None:
    with scene("ca-compromise", "ct", rogue_logged=True) as live:
        world = live.world
        live.write(tmp_path / "live")
        loglist = json.loads((tmp_path / "live" / "loglist.json").read_text())
        watcher = watcher_factory(loglist, world.host)
        assert world.attacker is not None and world.monitor is not None
        rogue = _pubkey_hex(spki_pin(world.attacker.chain.leaf))
        urls = set(live.log_urls().values())
        text = watcher.wait_for(lambda t: {u for k, u in _reported(t) if k == rogue} == urls)
        reported = _reported(text)
        expected = {_pubkey_hex(pin) for pin in world.monitor.expected_pins}
        unexpected = {key for key, _ in reported if key not in expected}
        assert unexpected == {rogue}  # the rogue certificate, found in every log
        assert {key for key, _ in reported} - unexpected  # and the owner's own, as expected
        assert "error" not in text.lower()


@pytest.mark.timeout(90)
def test_certspotter_catches_a_log_whose_root_or_key_is_wrong(
    watcher_factory: Callable[[dict[str, object], str], Watcher],
) -> None:
    with scene("ca-compromise", "ct", rogue_logged=True) as live:
        argon, nimbus, yeti = live.world.logs
        mounts = {
            "argon": Mount(argon),
            "nimbus": Mount(nimbus, lie=Lie.ROOT),
            "yeti": Mount(yeti, lie=Lie.KEY),
        }
        roots = live.world.public_store.certificates
        with LogFront(mounts, roots=roots, clock=lambda: live.at) as front:
            urls = {name: front.url(name) for name in mounts}
            listed = log_list(live.world.logs, urls, timestamp=live.world.epoch)
            watcher = watcher_factory(listed, live.world.host)
            bad_root = re.escape(urls["nimbus"]) + r" at tree size \d+: the STH root hash .* "
            bad_root += "does not match the entries returned by the log"
            bad_key = re.escape(urls["yeti"]) + ": STH returned by server has invalid signature"
            watcher.wait_for(lambda t: bool(re.search(bad_root, t) and re.search(bad_key, t)))
            text = watcher.wait_for(lambda t: any(u == urls["argon"] for _, u in _reported(t)))
            # Only the two liars are accused; the honest log is read without complaint.
            assert not re.search(re.escape(urls["argon"]) + ".*(error|invalid)", text)


def _s_client(live: Scene, port: int) -> str:
    openssl = require_tool("openssl")
    _, app = victim_apps(live.world)[0]
    command = [openssl, "s_client", "-connect", f"127.0.0.1:{port}"]
    command += ["-servername", live.world.host, "-CAfile", str(live.roots_file(app))]
    command += ["-ct", "-ctlogfile", str(live.ctlog_file())]
    result = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30
    )
    assert "Verify return code: 0 (ok)" in result.stdout, result.stdout + result.stderr
    return result.stdout


@pytest.mark.timeout(60)
def test_openssl_counts_each_embedded_sct_valid_and_a_tampered_one_invalid() -> None:
    with scene("ca-compromise", "ct") as live:
        world = live.world
        out = _s_client(live, live.servers["owner"].port)
        assert out.count("SCT validation status: valid") == len(world.logs) == 3
        names = set(re.findall(r"Log\s+: simlab (\w+)", out))
        assert names == {log.name for log in world.logs}

        honest = precert_hook(world.logs, live.at)

        def tampering(precert: x509.Certificate, issuer: x509.Certificate) -> bytes:
            first, *rest = decode_sct_list(honest(precert, issuer), LogEntryType.PRE_CERTIFICATE)
            moved = dataclasses.replace(first, timestamp_ms=first.timestamp_ms - 1000)
            return encode_sct_list([moved, *rest])

        key = derive_key(0, "tampered-sct-server")
        chain = world.issuing.issue(
            "owner", [world.host], key.public_key(), at=live.at - 3600, precert_hook=tampering
        )
        with LiveServer(chain, key) as server:
            out = _s_client(live, server.port)
        assert out.count("SCT validation status: valid") == 2
        assert out.count("SCT validation status: invalid") == 1


@pytest.mark.timeout(150)
def test_testssl_reads_the_owners_public_key_pins_and_its_ct_extension(tmp_path: Path) -> None:
    # One run of testssl's header (-h) and server-defaults (-S) checks: about 30 s.
    testssl = require_tool("testssl")
    with scene("ca-compromise", "hpkp+ct") as live:
        world = live.world
        port = live.servers["owner"].port
        _, app = victim_apps(world)[0]
        report = tmp_path / "testssl.json"
        subprocess.run(
            [
                testssl,
                "--quiet",
                "--color",
                "0",
                "--warnings",
                "off",
                "--ip",
                "127.0.0.1",
                "--nodns",
                "none",
                "--connect-timeout",
                "5",
                "--openssl-timeout",
                "5",
                "--add-ca",
                str(live.roots_file(app)),
                "--jsonfile",
                str(report),
                "--headers",
                "--server-defaults",
                f"https://{world.host}:{port}/",
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=130,
        )
        findings = {f["id"]: f["finding"] for f in json.loads(report.read_text())}
    assert findings["HPKP_SPKIs"] == "2 keys pinned in header"
    assert "60 days" in findings["HPKP_age"]
    assert world.owner.pkp_header is not None
    pins = re.findall(r'pin-sha256="([^"]+)"', world.owner.pkp_header)
    assert len(pins) == 2
    host_pin = spki_pin(world.owner.chain.leaf)
    # testssl names each pin without its base64 padding.
    assert "matches the host certificate" in findings[f"HPKP_{host_pin.rstrip('=')}"]
    (backup,) = set(pins) - {host_pin}
    assert "backup" in findings[f"HPKP_{backup.rstrip('=')}"]
    spki = world.owner.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert host_pin == base64.b64encode(hashlib.sha256(spki).digest()).decode()
    assert findings["certificate_transparency"] == "yes (certificate extension)"
    assert findings["cert_chain_of_trust"] == "passed."  # with the scenario's roots added


@pytest.mark.timeout(120)
def test_notebook_08_runs_as_a_script_and_shows_the_rogue_key(tmp_path: Path) -> None:
    require_tool("certspotter")
    require_tool("openssl")
    root = Path(__file__).parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "notebooks" / "08-ct-with-real-tools.py")],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("NOT THE OWNER'S") == 3  # the rogue certificate, in every log
    assert "SCT validation statuses: ['valid', 'valid', 'valid']" in result.stdout
    assert result.stdout.rstrip().endswith("servers stopped")
