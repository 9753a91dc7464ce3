from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simlab.clock import SimTime
from simlab.keys import derive_key
from simlab.pki import CertificateAuthority, Chain, TrustStore


@dataclass
class Owners:
    """A minimal domain-control oracle: a dict of name -> controller (subdomains inherit)."""

    controllers: dict[str, str] = field(default_factory=dict)

    def controls(self, requester: str, name: str, at: SimTime) -> bool:
        labels = name.split(".")
        for i in range(len(labels) - 1):
            owner = self.controllers.get(".".join(labels[i:]))
            if owner is not None:
                return owner == requester
        return False


@dataclass
class SmallPKI:
    owners: Owners
    root: CertificateAuthority
    inter: CertificateAuthority
    store: TrustStore
    chain: Chain


@pytest.fixture
def small_pki() -> SmallPKI:
    owners = Owners({"example.com": "owner"})
    root = CertificateAuthority.root("Sim Root CA", domain_control=owners)
    inter = root.create_intermediate("Sim Issuing CA")
    key = derive_key(0, "server:example.com")
    chain = inter.issue("owner", ["example.com", "*.example.com"], key.public_key(), at=0.0)
    return SmallPKI(owners, root, inter, TrustStore([root.certificate]), chain)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed; .ci/run installs it")
    return path


def openssl_text(pem: bytes) -> str:
    """What ``openssl x509 -noout -text`` prints for the first certificate in ``pem``."""
    openssl = require_tool("openssl")
    return subprocess.run(
        [openssl, "x509", "-noout", "-text"], input=pem, capture_output=True, check=True
    ).stdout.decode()


def openssl_verify(
    attime: str | int, ca_file: Path, untrusted: Path, leaf: Path
) -> subprocess.CompletedProcess[str]:
    """``openssl verify`` at a given moment: simulated time starts in 2016, so openssl must be
    told when to verify (``-attime``, Unix seconds)."""
    openssl = require_tool("openssl")
    return subprocess.run(
        [
            openssl,
            "verify",
            "-attime",
            str(attime),
            "-CAfile",
            ca_file,
            "-untrusted",
            untrusted,
            leaf,
        ],
        capture_output=True,
        text=True,
    )
