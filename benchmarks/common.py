"""Timing, reporting and checking helpers shared by the benchmarks."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.x509 import verification


class CheckFailed(AssertionError):
    """A benchmark found a wrong result, so none of its figures may be printed.

    Raised by :func:`require` rather than ``assert``, which ``python -O`` strips.
    """


def require(condition: bool, message: str) -> None:
    """Stop the benchmark with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def rate(fn: Callable[[], object], *, n: int) -> float:
    """Calls of ``fn`` per second over ``n`` calls (one warm-up call first)."""
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def best_rates(
    fns: dict[str, Callable[[], object]], *, n: int, rounds: int = 3
) -> dict[str, float]:
    """Best :func:`rate` of each function over ``rounds``, measured in alternation so that
    this shared machine's drifts fall on baseline and simlab alike."""
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = max(best[name], rate(fn, n=n))
    return best


def report(
    label: str, value: float, unit: str, baseline: float | None = None, base_label: str = ""
) -> None:
    line = f"  {label:<50} {value:>12,.0f} {unit}"
    if baseline:
        line += f"   ({value / baseline:5.2f}x {base_label})"
    print(line, flush=True)


def bare_verifier(
    store: verification.Store, host: str, when: dt.datetime
) -> Callable[[x509.Certificate, Sequence[x509.Certificate]], list[x509.Certificate]]:
    """The strongest bare ``cryptography`` baseline for path validation: the ``Store`` and
    the ``ServerVerifier`` are built once, so a call is nothing but ``verify``.

    A ``ServerVerifier`` is fixed to one host and one validation time
    (https://cryptography.io/en/latest/x509/verification/), which is why simlab's raw
    path, whose host and time change per call, builds one per call.
    """
    verifier = (
        verification.PolicyBuilder()
        .store(store)
        .time(when)
        .build_server_verifier(x509.DNSName(host))
    )

    def verify(
        leaf: x509.Certificate, intermediates: Sequence[x509.Certificate]
    ) -> list[x509.Certificate]:
        return verifier.verify(leaf, list(intermediates))

    return verify
