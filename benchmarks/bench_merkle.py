"""simlab's Merkle tree beside pymerkle's InmemoryTree and raw hashlib, on the same leaves.

Both trees are RFC 6962-compatible, so their roots must be equal (asserted). Memory per
leaf is measured with tracemalloc while each tree is built.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
import tracemalloc
from collections.abc import Callable

from benchmarks.common import report
from simlab.ct import MerkleTree


def _timed(fn: Callable[[], object], repeats: int = 3) -> float:
    """Best of ``repeats`` wall times with the cyclic GC off, as timeit does: the GC would
    otherwise walk whichever large tree is alive while the other one is being timed."""
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


def _paired(
    a: Callable[[], object], b: Callable[[], object], rounds: int = 5
) -> tuple[float, float]:
    """Best times of ``a`` and ``b``, measured alternately so machine noise hits both."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        best_a = min(best_a, _timed(a, repeats=1))
        best_b = min(best_b, _timed(b, repeats=1))
    return best_a, best_b


def _build(
    factory: Callable[[], object], append: Callable[[object, bytes], object], leaves: list[bytes]
) -> tuple[object, float, float]:
    """Build fresh trees for speed (best of 2), then once more under tracemalloc for memory
    (tracemalloc slows allocation, so it is never on while timing)."""

    def build_one() -> None:
        tree = factory()
        for leaf in leaves:
            append(tree, leaf)

    seconds = _timed(build_one, repeats=2)
    tracemalloc.start()
    measured = factory()
    for leaf in leaves:
        append(measured, leaf)
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return measured, len(leaves) / seconds, memory / len(leaves)


def run(n: int, *, proofs: int = 20_000) -> None:
    import pymerkle

    print(f"merkle: {n:,} leaves")
    leaves = [i.to_bytes(8, "big") * 4 for i in range(n)]
    sha = hashlib.sha256
    floor = n / _timed(lambda: [sha(b"\x00" + leaf).digest() for leaf in leaves])
    report("hashlib SHA-256 of each leaf (floor)", floor, "hashes/s")

    # tracemalloc counts only allocations made after it starts, so each tree is seen alone.
    ref, ref_rate, ref_mem = _build(
        lambda: pymerkle.InmemoryTree(algorithm="sha256"),
        lambda t, leaf: t.append_entry(leaf),
        leaves,
    )
    ref_root = ref.get_root(n)  # type: ignore[attr-defined]
    ours, our_rate, our_mem = _build(MerkleTree, lambda t, leaf: t.append(leaf), leaves)  # type: ignore[attr-defined]
    assert isinstance(ours, MerkleTree)
    assert ours.root(n) == ref_root, "simlab and pymerkle disagree on the root"

    rng = random.Random(1)
    queries = [(rng.randrange(1, n), n) for _ in range(proofs)]
    cons = [(rng.randrange(1, n), n) for _ in range(proofs // 4)]
    ref_t, our_t = _paired(
        lambda: [ref.prove_inclusion(i + 1, s) for i, s in queries],  # type: ignore[attr-defined]
        lambda: [ours.inclusion_proof(i, s) for i, s in queries],
    )
    ref_incl, our_incl = proofs / ref_t, proofs / our_t
    ref_t, our_t = _paired(
        lambda: [ref.prove_consistency(a, b) for a, b in cons],  # type: ignore[attr-defined]
        lambda: [ours.consistency_proof(a, b) for a, b in cons],
    )
    ref_cons, our_cons = len(cons) / ref_t, len(cons) / our_t

    report("pymerkle InmemoryTree appends", ref_rate, "leaves/s", floor, "floor")
    report("simlab MerkleTree appends", our_rate, "leaves/s", ref_rate, "pymerkle")
    report("  (simlab vs the hashlib floor)", our_rate, "leaves/s", floor, "floor")
    report("pymerkle inclusion proofs", ref_incl, "proofs/s")
    report("simlab inclusion proofs", our_incl, "proofs/s", ref_incl, "pymerkle")
    report("pymerkle consistency proofs", ref_cons, "proofs/s")
    report("simlab consistency proofs", our_cons, "proofs/s", ref_cons, "pymerkle")
    report("pymerkle memory", ref_mem, "bytes/leaf")
    report("simlab memory", our_mem, "bytes/leaf", ref_mem, "pymerkle")
    print("  roots equal: yes")


def main() -> None:
    for n in (100_000, 1_000_000):
        run(n)
