"""Export a scenario's artefacts for inspection with openssl and curl."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from simlab.clock import DAY, to_datetime
from simlab.files import check_output_dir, output_dir
from simlab.runner import run

__all__ = ["export"]


def export(scenario: str, out: Path, *, seed: int = 0, defence: str = "hpkp+ct") -> list[Path]:
    """Run ``scenario`` and write its chains, roots, headers, SCTs and STHs to ``out``."""
    check_output_dir(out)
    result = run(scenario, defence, seed=seed)
    world = result.world
    output_dir(out)
    pem = serialization.Encoding.PEM
    written: list[Path] = []

    def write(name: str, data: str | bytes) -> None:
        path = out / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        written.append(path)

    write("public-root.pem", world.root.certificate.public_bytes(pem))
    write("other-root.pem", world.other_root.certificate.public_bytes(pem))
    write("owner-chain.pem", world.owner.chain.pem())
    if world.attacker is not None:
        write("attacker-chain.pem", world.attacker.chain.pem())
        if world.attacker.pkp_header:
            write("attacker-public-key-pins.txt", f"Public-Key-Pins: {world.attacker.pkp_header}\n")
    if world.owner.pkp_header:
        write("owner-public-key-pins.txt", f"Public-Key-Pins: {world.owner.pkp_header}\n")
    scts = [e.sct.to_json() | {"log": log.name} for log in world.logs for e in log.submissions]
    write("scts.json", json.dumps(scts, indent=2))
    sths = [log.sth(world.s.days * DAY).to_json() | {"log": log.name} for log in world.logs]
    write("sths.json", json.dumps(sths, indent=2))
    attime = int(to_datetime(world.attack_start, world.epoch).timestamp())
    write(
        "README.txt",
        (
            f"simlab export of {scenario!r} under {defence!r}, seed {seed}.\n"
            "Simulated time starts 2016-01-04, so tell openssl when to verify:\n"
            f"  openssl verify -attime {attime} -CAfile public-root.pem \\\n"
            "      -untrusted owner-chain.pem owner-chain.pem\n"
            "  openssl x509 -in owner-chain.pem -noout -text   # shows 'CT Precertificate SCTs'\n"
            "  simlab pin owner-chain.pem                       # RFC 7469 pins\n"
        ),
    )
    return written
