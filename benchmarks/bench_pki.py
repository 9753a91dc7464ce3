"""Certificate issuance and path validation, beside bare ``cryptography`` doing the same."""

from __future__ import annotations

import datetime as dt
import itertools

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification

from benchmarks.common import rate, report
from simlab.clock import DAY, to_datetime
from simlab.keys import derive_key
from simlab.pki import CertificateAuthority, TrustStore, Validator


class _Everyone:
    def controls(self, requester: str, name: str, at: float) -> bool:
        return True


def main() -> None:
    print("pki: issuance and validation")
    root = CertificateAuthority.root("Bench Root", domain_control=_Everyone())
    inter = root.create_intermediate("Bench Inter")
    key = derive_key(0, "bench").public_key()
    times = itertools.count()

    def simlab_issue() -> None:
        inter.issue("o", ["example.com"], key, at=float(next(times) % 1000))

    def bare_issue() -> None:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "example.com")]))
            .issuer_name(inter.certificate.subject)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2016, 1, 1, tzinfo=dt.UTC))
            .not_valid_after(dt.datetime(2016, 4, 1, tzinfo=dt.UTC))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("example.com")]), False)
        )
        builder.sign(inter.key, hashes.SHA256())  # type: ignore[arg-type]

    bare = rate(bare_issue, n=2000)
    report("bare cryptography CertificateBuilder.sign", bare, "certs/s")
    report(
        "simlab CA.issue (DV, full extension set)",
        rate(simlab_issue, n=2000),
        "certs/s",
        bare,
        "bare",
    )

    chain = inter.issue("o", ["example.com"], key, at=0)
    store = TrustStore([root.certificate])
    when = to_datetime(DAY)

    def bare_verify() -> None:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store([root.certificate]))
            .time(when)
            .build_server_verifier(x509.DNSName("example.com"))
        )
        verifier.verify(chain.leaf, list(chain.intermediates))

    raw, memo = Validator(memoise=False), Validator()
    bare_v = rate(bare_verify, n=3000)
    report("bare cryptography ServerVerifier.verify", bare_v, "validations/s")
    report(
        "simlab Validator (raw)",
        rate(lambda: raw.validate(chain, store, "example.com", DAY), n=3000),
        "validations/s",
        bare_v,
        "bare",
    )
    seconds = itertools.count()
    report(
        "simlab Validator (memoised, varying time)",
        rate(lambda: memo.validate(chain, store, "example.com", float(next(seconds))), n=200_000),
        "validations/s",
        bare_v,
        "bare",
    )
