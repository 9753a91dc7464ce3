"""Key pairs, derived deterministically from a seed so that pins are stable.

A notebook that prints a pin must print the same pin on every run, so keys are not drawn
from the OS RNG: an ECDSA P-256 key is ``ec.derive_private_key`` of a SHA-256 of
(seed, label); an RSA-2048 key is built from two primes found by a search seeded the same way.
"""

from __future__ import annotations

import hashlib
import random
from typing import Literal, TypeAlias

from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
KeyAlgorithm: TypeAlias = Literal["ec-p256", "rsa-2048"]

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]
_RSA_CACHE: dict[tuple[str, str], rsa.RSAPrivateKey] = {}


def _digest(seed: int | str, label: str) -> bytes:
    return hashlib.sha256(f"simlab-key|{seed}|{label}".encode()).digest()


def derive_key(seed: int | str, label: str, algorithm: KeyAlgorithm = "ec-p256") -> PrivateKey:
    """The private key named ``label`` in the world seeded by ``seed``.

    The same (seed, label, algorithm) always gives the same key, hence the same SPKI pin.
    """
    if algorithm == "ec-p256":
        scalar = int.from_bytes(_digest(seed, label), "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())
    if algorithm == "rsa-2048":
        cache_key = (str(seed), label)
        if cache_key not in _RSA_CACHE:
            _RSA_CACHE[cache_key] = _derive_rsa(random.Random(_digest(seed, label)), 2048)
        return _RSA_CACHE[cache_key]
    raise ValueError(f"unknown key algorithm {algorithm!r}; expected 'ec-p256' or 'rsa-2048'")


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _random_prime(rng: random.Random, bits: int, e: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % e and _is_probable_prime(candidate, rng):
            return candidate


def _derive_rsa(rng: random.Random, bits: int) -> rsa.RSAPrivateKey:
    """RSA key from a seeded prime search (Miller-Rabin, 40 rounds); e = 65537."""
    e = 65537
    p = _random_prime(rng, bits // 2, e)
    q = _random_prime(rng, bits // 2, e)
    while q == p:
        q = _random_prime(rng, bits // 2, e)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=d % (p - 1),
        dmq1=d % (q - 1),
        iqmp=pow(q, -1, p),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()
