"""Export a scenario's artefacts for inspection with openssl, curl and CT monitors.

A log's public key is what makes its SCTs and tree heads checkable outside simlab, so the
scenario's logs are written in the two formats real tools read: the v3 log list of Chrome
and certspotter (``loglist.json``, schema
https://www.gstatic.com/ct/log_list/v3/log_list_schema.json) and OpenSSL's ``CTLOG_FILE``
(``ctlogs.cnf``, read by ``openssl s_client -ct -ctlogfile``; see the CTLOG_STORE_new(3)
man page: an ``enabled_logs`` list of sections, each with a ``description`` and a
``key``, the base64 DER SubjectPublicKeyInfo).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, to_datetime
from simlab.ct import CTLog
from simlab.files import plan, write_all
from simlab.runner import run

__all__ = ["FILES", "ctlog_file", "export", "log_list"]

FILES = (
    "public-root.pem",
    "other-root.pem",
    "owner-chain.pem",
    "attacker-chain.pem",
    "attacker-public-key-pins.txt",
    "owner-public-key-pins.txt",
    "scts.json",
    "sths.json",
    "loglist.json",
    "ctlogs.cnf",
    "README.txt",
)
"""Every file :func:`export` may write (the attacker's and the pins only when there are
some). All of them are checked before the run, so an export never mixes with old files
unless ``force`` is given; then the files this export writes are replaced and any others
of the list (say, an earlier scenario's attacker chain) are left as they were."""

PLACEHOLDER_URL = "https://ct.simlab.invalid/{name}/"
"""Where an exported log "lives" when no live server serves it (``simlab live`` does)."""


def _spki(log: CTLog) -> bytes:
    return log.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_list(
    logs: Sequence[CTLog],
    urls: Mapping[str, str] | None = None,
    *,
    timestamp: dt.datetime,
) -> dict[str, object]:
    """The logs as a v3 log list: operators, each with its logs' ``key``, ``log_id`` (SHA-256
    of the key, RFC 6962 section 3.2), ``url`` and ``mmd`` (whole seconds)."""
    operators: dict[str, list[dict[str, object]]] = {}
    for log in logs:
        url = (urls or {}).get(log.name, PLACEHOLDER_URL.format(name=log.name))
        operators.setdefault(log.operator, []).append(
            {
                "description": f"simlab '{log.name}' log ({log.operator})",
                "log_id": base64.b64encode(log.log_id).decode(),
                "key": base64.b64encode(_spki(log)).decode(),
                "url": url,
                "mmd": round(log.mmd),
                "state": {"usable": {"timestamp": _rfc3339(timestamp)}},
            }
        )
    return {
        "version": "simlab-1",
        "log_list_timestamp": _rfc3339(timestamp),
        "operators": [
            {"name": name, "email": [f"ct@{name.lower()}.invalid"], "logs": entries}
            for name, entries in operators.items()
        ],
    }


def ctlog_file(logs: Sequence[CTLog]) -> str:
    """The logs in OpenSSL's CTLOG_FILE format (one section per log)."""
    lines = ["enabled_logs = " + ",".join(log.name for log in logs), ""]
    for log in logs:
        lines += [
            f"[{log.name}]",
            f"description = simlab {log.name} ({log.operator})",
            f"key = {base64.b64encode(_spki(log)).decode()}",
            "",
        ]
    return "\n".join(lines)


def export(
    scenario: str,
    out: Path,
    *,
    seed: int = 0,
    defence: str = "hpkp+ct",
    force: bool = False,
) -> list[Path]:
    """Run ``scenario`` and write its chains, roots, headers, SCTs and STHs to ``out``.

    Before the run: if any of :data:`FILES` is already in ``out``, refuse unless ``force``."""
    paths = dict(zip(FILES, plan(out, FILES, force=force), strict=True))
    result = run(scenario, defence, seed=seed)
    plan(out, FILES, force=force)  # again: none written if one appeared during the run
    world = result.world
    pem = serialization.Encoding.PEM
    files: dict[Path, str | bytes] = {}  # written together once all are made

    def put(name: str, data: str | bytes) -> None:
        files[paths[name]] = data

    put("public-root.pem", world.root.certificate.public_bytes(pem))
    put("other-root.pem", world.other_root.certificate.public_bytes(pem))
    put("owner-chain.pem", world.owner.chain.pem())
    if world.attacker is not None:
        put("attacker-chain.pem", world.attacker.chain.pem())
        if world.attacker.pkp_header:
            put("attacker-public-key-pins.txt", f"Public-Key-Pins: {world.attacker.pkp_header}\n")
    if world.owner.pkp_header:
        put("owner-public-key-pins.txt", f"Public-Key-Pins: {world.owner.pkp_header}\n")
    scts = [e.sct.to_json() | {"log": log.name} for log in world.logs for e in log.submissions]
    put("scts.json", json.dumps(scts, indent=2))
    sths = [log.sth(world.s.days * DAY).to_json() | {"log": log.name} for log in world.logs]
    put("sths.json", json.dumps(sths, indent=2))
    listed_at = to_datetime(0.0, world.epoch)
    put("loglist.json", json.dumps(log_list(world.logs, timestamp=listed_at), indent=2))
    put("ctlogs.cnf", ctlog_file(world.logs))
    attime = int(to_datetime(world.attack_start, world.epoch).timestamp())
    put(
        "README.txt",
        (
            f"simlab export of {scenario!r} under {defence!r}, seed {seed}; clients of "
            f"{world.s.era}.\n"
            f"Simulated time starts {world.epoch:%Y-%m-%d}, so tell openssl when to verify "
            "(the attack's start):\n"
            f"  openssl verify -attime {attime} -CAfile public-root.pem \\\n"
            "      -untrusted owner-chain.pem owner-chain.pem\n"
            "  openssl x509 -in owner-chain.pem -noout -text   # shows 'CT Precertificate SCTs'\n"
            "  simlab pin owner-chain.pem                       # RFC 7469 pins\n"
            "loglist.json (Chrome's v3 log list) and ctlogs.cnf (OpenSSL's CTLOG_FILE) hold\n"
            "the logs' public keys; `simlab live` serves the logs themselves.\n"
            # --force leaves an earlier export's other files: say which files are this one's.
            f"This export wrote: {', '.join(p.name for p in files)}, README.txt.\n"
        ),
    )
    return write_all(files, replace=force)
