"""Certificate issuance and path validation, beside bare ``cryptography`` doing the same.

Baselines and simlab are timed in alternation, best of several rounds. The validation
baseline is bare ``cryptography`` at its fastest: ``Store`` and ``ServerVerifier`` built
once, then only ``verify`` in the loop; every validation ratio is against it. A second bare
line builds the verifier per call, as simlab's raw path has to.
"""

from __future__ import annotations

import datetime as dt
import itertools

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification

from benchmarks.common import bare_verifier, best_rates, rate, report, require
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
        builder.sign(inter.key, hashes.SHA256())

    issue = best_rates({"bare": bare_issue, "simlab": simlab_issue}, n=1000)
    report("bare cryptography CertificateBuilder.sign", issue["bare"], "certs/s")
    report(
        "simlab CA.issue (DV, full extension set)",
        issue["simlab"],
        "certs/s",
        issue["bare"],
        "bare",
    )

    chain = inter.issue("o", ["example.com"], key, at=0)
    store = TrustStore([root.certificate])
    when = to_datetime(DAY)
    bare_store = verification.Store([root.certificate])
    verify_once_built = bare_verifier(bare_store, "example.com", when)

    def bare_verify_per_call() -> None:
        # What simlab's raw path must do: host and time change per call, so a fresh
        # ServerVerifier (the Store is reused, as simlab's TrustStore keeps its own).
        verifier = (
            verification.PolicyBuilder()
            .store(bare_store)
            .time(when)
            .build_server_verifier(x509.DNSName("example.com"))
        )
        verifier.verify(chain.leaf, list(chain.intermediates))

    raw, memo = Validator(memoise=False), Validator()
    expected = [chain.leaf, *chain.intermediates, root.certificate]
    require(
        verify_once_built(chain.leaf, chain.intermediates) == expected,
        "bare verifier did not build leaf -> intermediate -> root",
    )
    for validator in (raw, memo):
        result = validator.validate(chain, store, "example.com", DAY)
        require(
            result.ok and list(result.chain) == expected,
            f"simlab Validator(memoise={validator.memoise}) disagrees with bare: {result}",
        )

    seconds = itertools.count()
    rates = best_rates(
        {
            "bare": lambda: verify_once_built(chain.leaf, chain.intermediates),
            "bare per call": bare_verify_per_call,
            "raw": lambda: raw.validate(chain, store, "example.com", DAY),
        },
        n=1000,
        rounds=5,
    )
    bare_v = rates["bare"]
    report("bare ServerVerifier.verify, built once", bare_v, "validations/s")
    report("bare, verifier built per call", rates["bare per call"], "validations/s", bare_v, "bare")
    report("simlab Validator (raw)", rates["raw"], "validations/s", bare_v, "bare")
    report(
        "simlab Validator (memoised, varying time)",
        rate(lambda: memo.validate(chain, store, "example.com", float(next(seconds))), n=200_000),
        "validations/s",
        bare_v,
        "bare",
    )
