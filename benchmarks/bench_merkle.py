"""simlab's Merkle tree beside pymerkle's InmemoryTree and raw hashlib, on the same leaves.

Both trees are RFC 6962-compatible, so their roots must be equal (asserted). Memory per
leaf is measured with tracemalloc while each tree is built. Builds and proofs are timed in
alternation, best of several, so machine noise falls on both trees alike. Inclusion proofs
are asked first at the full tree size, as a log serves them for its latest signed tree
head, then at random past sizes.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import pymerkle

from benchmarks.common import report
from simlab.ct import MerkleTree, verify_inclusion

T = TypeVar("T")


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


def _filled(
    factory: Callable[[], T], append: Callable[[T, bytes], object], leaves: list[bytes]
) -> T:
    tree = factory()
    for leaf in leaves:
        append(tree, leaf)
    return tree


def _built_under_tracemalloc(build: Callable[[], T], n: int) -> tuple[T, float]:
    """A tree and the bytes it holds per leaf. tracemalloc counts only what is allocated
    after it starts (so each tree is seen alone) and slows allocation (so it is never on
    while timing)."""
    tracemalloc.start()
    try:
        tree = build()
        memory = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return tree, memory / n


def _append_entry(tree: pymerkle.InmemoryTree, leaf: bytes) -> object:
    return tree.append_entry(leaf)


def run(n: int, *, proofs: int = 20_000) -> None:
    print(f"merkle: {n:,} leaves")
    leaves = [i.to_bytes(8, "big") * 4 for i in range(n)]
    sha = hashlib.sha256

    def build_ref() -> pymerkle.InmemoryTree:
        return _filled(lambda: pymerkle.InmemoryTree(algorithm="sha256"), _append_entry, leaves)

    def build_ours() -> MerkleTree:
        return _filled(MerkleTree, MerkleTree.append, leaves)

    ref_t, our_t = _paired(build_ref, build_ours, rounds=3)
    ref_rate, our_rate = n / ref_t, n / our_t
    # The floor is timed after the builds: timed first, a cold start once halved it.
    floor = n / _timed(lambda: [sha(b"\x00" + leaf).digest() for leaf in leaves], repeats=5)
    ref, ref_mem = _built_under_tracemalloc(build_ref, n)
    ours, our_mem = _built_under_tracemalloc(build_ours, n)
    root = ref.get_root(n)
    assert ours.root(n) == root, "simlab and pymerkle disagree on the root"

    rng = random.Random(1)
    queries = [(rng.randrange(1, n), n) for _ in range(proofs)]
    for i, s in queries[:100]:
        assert verify_inclusion(leaves[i], i, s, ours.inclusion_proof(i, s), root)
    # Proofs against past tree sizes: each needs its own right-edge hash, none cached.
    past = [(i, rng.randrange(i + 1, n + 1)) for i, _ in queries[: proofs // 4]]
    cons = [(rng.randrange(1, n), n) for _ in range(proofs // 4)]
    ref_t, our_t = _paired(
        lambda: [ref.prove_inclusion(i + 1, s) for i, s in queries],
        lambda: [ours.inclusion_proof(i, s) for i, s in queries],
    )
    ref_incl, our_incl = proofs / ref_t, proofs / our_t
    ref_t, our_t = _paired(
        lambda: [ref.prove_inclusion(i + 1, s) for i, s in past],
        lambda: [ours.inclusion_proof(i, s) for i, s in past],
    )
    ref_past, our_past = len(past) / ref_t, len(past) / our_t
    ref_t, our_t = _paired(
        lambda: [ref.prove_consistency(a, b) for a, b in cons],
        lambda: [ours.consistency_proof(a, b) for a, b in cons],
    )
    ref_cons, our_cons = len(cons) / ref_t, len(cons) / our_t

    report("hashlib SHA-256 of each leaf (floor)", floor, "hashes/s")
    report("pymerkle InmemoryTree appends", ref_rate, "leaves/s", floor, "floor")
    report("simlab MerkleTree appends", our_rate, "leaves/s", ref_rate, "pymerkle")
    report("  (simlab vs the hashlib floor)", our_rate, "leaves/s", floor, "floor")
    report("pymerkle inclusion proofs", ref_incl, "proofs/s")
    report("simlab inclusion proofs", our_incl, "proofs/s", ref_incl, "pymerkle")
    report("pymerkle inclusion proofs, past sizes", ref_past, "proofs/s")
    report("simlab inclusion proofs, past sizes", our_past, "proofs/s", ref_past, "pymerkle")
    report("pymerkle consistency proofs", ref_cons, "proofs/s")
    report("simlab consistency proofs", our_cons, "proofs/s", ref_cons, "pymerkle")
    report("pymerkle memory", ref_mem, "bytes/leaf")
    report("simlab memory", our_mem, "bytes/leaf", ref_mem, "pymerkle")
    print("  roots equal: yes")


def main() -> None:
    for n in (100_000, 1_000_000):
        run(n)
