from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import HealthCheck, settings

from simlab.clock import SimTime
from simlab.keys import derive_key
from simlab.pki import CertificateAuthority, Chain, TrustStore

# Hypothesis profiles. "ci" (the default) draws the same examples on every run, so the
# suite is deterministic; a test that fixes max_examples itself keeps that number. The
# fuzz tests leave max_examples to the profile, so the longer exploration documented in
# the README is:  SIMLAB_FUZZ=1 python -m pytest -m fuzz  (random draws, many more).
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=60, print_blob=True
)
settings.register_profile(
    "fuzz",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("fuzz" if os.environ.get("SIMLAB_FUZZ") else "ci")


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


def with_sct_list(pki: SmallPKI, sct_list: bytes, label: str = "embedded") -> x509.Certificate:
    """A leaf for example.com whose precertificate step embeds ``sct_list`` as it is, valid
    or not (the issuing CA signs whatever SCT list it is given)."""
    key = derive_key(0, label).public_key()
    return pki.inter.issue(
        "owner", ["example.com"], key, at=0, precert_hook=lambda precert, issuer: sct_list
    ).leaf


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
