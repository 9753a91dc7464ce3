"""A population run: simulated connections per second, beside bare chain verification.

Every distinct (chain, store, host, time bucket) is still validated for real by
``cryptography``; the memo only avoids repeating identical validations.
"""

from __future__ import annotations

import time

from benchmarks.common import rate, report
from simlab.clock import DAY
from simlab.pki import Validator
from simlab.runner import run


def main() -> None:
    print("engine: population run (10,000 clients x 60 days, ca-compromise under hpkp+ct)")
    start = time.perf_counter()
    result = run("ca-compromise", "hpkp+ct", seed=0, n_clients=10_000, days=60.0)
    seconds = time.perf_counter() - start
    world = result.world
    connections = len(result.table)
    chain = world.owner.chain
    bare = Validator(memoise=False)
    bare_rate = rate(lambda: bare.validate(chain, world.public_store, world.host, DAY), n=2000)
    report("bare cryptography chain verifications", bare_rate, "verifications/s")
    report(
        f"simlab connections ({connections:,} in {seconds:.1f} s)",
        connections / seconds,
        "connections/s",
        bare_rate,
        "bare",
    )
    v = world.validator
    print(f"  real validations (memo misses): {v.misses:,}; memo hits: {v.hits:,}")
