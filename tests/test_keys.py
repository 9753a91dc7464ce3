from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from simlab import keys
from simlab.keys import derive_key
from simlab.pki import spki_pin


def test_same_seed_and_label_give_the_same_pin() -> None:
    assert spki_pin(derive_key(7, "server").public_key()) == spki_pin(
        derive_key(7, "server").public_key()
    )


def test_different_seed_or_label_give_different_keys() -> None:
    pins = {
        spki_pin(derive_key(seed, label).public_key()) for seed in (0, 1) for label in ("a", "b")
    }
    assert len(pins) == 4


def test_default_is_p256_and_rsa_2048_is_available_and_deterministic() -> None:
    assert isinstance(derive_key(0, "x"), ec.EllipticCurvePrivateKey)
    assert derive_key(0, "x").curve.name == "secp256r1"  # type: ignore[union-attr]
    first = derive_key(3, "rsa-test", "rsa-2048")
    keys._RSA_CACHE.clear()  # force a second, independent prime search
    assert isinstance(first, rsa.RSAPrivateKey)
    assert first.key_size == 2048
    assert spki_pin(first.public_key()) == spki_pin(
        derive_key(3, "rsa-test", "rsa-2048").public_key()
    )


def test_unknown_algorithm_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="dsa-1024"):
        derive_key(0, "x", "dsa-1024")  # type: ignore[arg-type]
