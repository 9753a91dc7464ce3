"""simlab's Merkle tree beside pymerkle's two trees and raw hashlib, on the same leaves.

pymerkle is measured in both of its configurations, and every simlab ratio is taken
against the faster one for that operation:

- ``InmemoryTree``, which keeps a node object per hash; its own docstring calls it a
  memory-inefficient tree for debugging and testing
  (``pymerkle/backends/inmemory.py``, pymerkle 7.0.0). Its ``append_entries`` is the base
  class's loop over ``append_entry``, so one-by-one is its only append path.
- ``SqliteTree(":memory:")`` with one bulk ``append_entries`` call: leaves hashed in
  Python, inserted with ``executemany`` in one transaction. This is pymerkle's fastest
  append path. Its proofs hash every subtree narrower than 128 leaves from rows on each
  call (wider ones go through an LRU cache), so they are timed on a smaller sample.

Every tree is RFC 6962-compatible, so the root of every timed build must be the same
(asserted). Every proof that is timed, in every round, is checked outside the timed
region: the first round's proofs one by one against the reference root of their tree size
(pymerkle's ``InmemoryTree.get_root``, which simlab's ``root`` must equal at that size
too), each with its own library's verifier; simlab's inclusion proofs must also equal
pymerkle's audit paths, which RFC 6962 section 2.1.1 defines uniquely; later rounds must
return exactly the proofs of the first. Memory per leaf is measured with tracemalloc while
each tree is built; SQLite allocates outside Python's allocator, so the SQLite tree is
measured by its database size (``PRAGMA page_count`` x ``page_size``).

Builds and proofs are timed in alternation, best of several, so machine noise falls on
every tree alike. Inclusion proofs are asked first at the full tree size, as a log serves
them for its latest signed tree head, then at random past sizes.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pymerkle

from benchmarks.common import report, require
from simlab.ct import MerkleTree, verify_consistency, verify_inclusion

T = TypeVar("T")

INMEMORY = "InmemoryTree"
SQLITE = "SqliteTree"  # always SqliteTree(":memory:"), filled by one append_entries call


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall time and result of one call with the cyclic GC off, as timeit does: the GC
    would otherwise walk whichever large tree is alive while another one is timed."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        return time.perf_counter() - start, result
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Task(Generic[T]):
    """Something to time, and what to do with each round's result outside the timing."""

    run: Callable[[], T]
    after: Callable[[T], None] = field(default=lambda _: None)
    count: int = 1  # operations per call, for a rate


def _best_rates(tasks: dict[str, _Task[Any]], rounds: int) -> dict[str, float]:
    """Best operations per second of each task over ``rounds``, measured in alternation so
    that machine noise hits every tree alike."""
    best = dict.fromkeys(tasks, float("inf"))
    for _ in range(rounds):
        for name, task in tasks.items():
            seconds, result = _timed(task.run)
            task.after(result)
            del result
            best[name] = min(best[name], seconds)
    return {name: tasks[name].count / seconds for name, seconds in best.items()}


class _Checked(Generic[T]):
    """Checks a list of proofs from each round: the first round's one by one with
    ``verify``, each later round's by equality with the first (``key`` makes a proof
    comparable), so that every proof timed in every round has been checked."""

    def __init__(self, verify: Callable[[int, T], None], key: Callable[[T], object]) -> None:
        self._verify = verify
        self._key = key
        self._first_keys: list[object] | None = None
        self.first: list[T] = []  # the first round's proofs, for comparing libraries

    def __call__(self, proofs: list[T]) -> None:
        keys = [self._key(p) for p in proofs]
        if self._first_keys is None:
            for k, proof in enumerate(proofs):
                self._verify(k, proof)
            self._first_keys, self.first = keys, proofs
        else:
            require(keys == self._first_keys, "a later round returned different proofs")


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


def _sqlite_bytes(tree: pymerkle.SqliteTree) -> int:
    pages = tree.con.execute("PRAGMA page_count").fetchone()
    page_size = tree.con.execute("PRAGMA page_size").fetchone()
    return int(pages) * int(page_size)


class _ReferenceRoots:
    """The root of each tree size, from pymerkle's ``InmemoryTree``; simlab's root at the
    same size must be equal, so two independent implementations agree on every root a
    proof is checked against."""

    def __init__(self, ref: pymerkle.InmemoryTree, ours: MerkleTree) -> None:
        self._ref, self._ours = ref, ours
        self._roots: dict[int, bytes] = {}

    def __call__(self, size: int) -> bytes:
        root = self._roots.get(size)
        if root is None:
            root = self._roots[size] = self._ref.get_root(size)
            require(self._ours.root(size) == root, f"roots disagree at tree size {size}")
        return root


def _inclusion_checks(
    queries: Sequence[tuple[int, int]], leaves: list[bytes], roots: _ReferenceRoots
) -> tuple[_Checked[Any], _Checked[list[bytes]]]:
    """Checkers for pymerkle's and simlab's proofs of ``queries`` (0-based index, size)."""

    def check_theirs(k: int, proof: pymerkle.InclusionProof) -> None:
        i, size = queries[k]
        base = hashlib.sha256(b"\x00" + leaves[i]).digest()
        try:
            pymerkle.verify_inclusion(base, roots(size), proof, index=i + 1, size=size)
        except pymerkle.InvalidProof as exc:
            require(False, f"pymerkle inclusion proof ({i}, {size}) invalid: {exc}")

    def check_ours(k: int, proof: list[bytes]) -> None:
        i, size = queries[k]
        require(
            verify_inclusion(leaves[i], i, size, proof, roots(size)),
            f"simlab inclusion proof ({i}, {size}) invalid",
        )

    theirs = _Checked(check_theirs, lambda p: (p.index, p.size, p.rule, p.path))
    return theirs, _Checked(check_ours, lambda p: p)


def _consistency_checks(
    queries: Sequence[tuple[int, int]], roots: _ReferenceRoots
) -> tuple[_Checked[Any], _Checked[list[bytes]]]:
    """Checkers for pymerkle's and simlab's proofs of ``queries`` (old size, new size)."""

    def check_theirs(k: int, proof: pymerkle.ConsistencyProof) -> None:
        old, new = queries[k]
        try:
            pymerkle.verify_consistency(
                roots(old), roots(new), proof, prior_size=old, later_size=new
            )
        except pymerkle.InvalidProof as exc:
            require(False, f"pymerkle consistency proof ({old}, {new}) invalid: {exc}")

    def check_ours(k: int, proof: list[bytes]) -> None:
        old, new = queries[k]
        require(
            verify_consistency(old, new, roots(old), roots(new), proof),
            f"simlab consistency proof ({old}, {new}) invalid",
        )

    theirs = _Checked(check_theirs, lambda p: (p.prior_size, p.size, p.rule, p.subset, p.path))
    return theirs, _Checked(check_ours, lambda p: p)


def _versus(
    what: str, unit: str, theirs: dict[str, float], ours: float, *, lower_is_better: bool = False
) -> None:
    """pymerkle's configurations, then simlab against the strongest of them (and the rest)."""
    for config, value in theirs.items():
        report(f"pymerkle {config} {what}", value, unit)
    pick = min if lower_is_better else max
    strongest = pick(theirs, key=lambda config: theirs[config])
    report(f"simlab {what}", ours, unit, theirs[strongest], f"pymerkle {strongest}")
    for config, value in theirs.items():
        if config != strongest:
            print(f"    (simlab vs pymerkle {config}: {ours / value:.2f}x)")


def run(n: int, *, proofs: int = 20_000, sqlite_share: int = 20) -> None:
    """``proofs`` inclusion proofs at the full size, a quarter as many at past sizes and as
    consistency proofs; the SQLite tree gets one ``sqlite_share``-th of each."""
    print(f"merkle: {n:,} leaves (pymerkle {SQLITE} is in memory, filled in bulk)")
    leaves = [i.to_bytes(8, "big") * 4 for i in range(n)]
    sha = hashlib.sha256

    def build_inmemory() -> pymerkle.InmemoryTree:
        tree = pymerkle.InmemoryTree(algorithm="sha256")
        for leaf in leaves:
            tree.append_entry(leaf)
        return tree

    def build_sqlite() -> pymerkle.SqliteTree:
        tree = pymerkle.SqliteTree(":memory:", algorithm="sha256")
        tree.append_entries(leaves)
        return tree

    def build_ours() -> MerkleTree:
        tree = MerkleTree()
        for leaf in leaves:
            tree.append(leaf)
        return tree

    # Each timed build's root is kept and checked against the reference root below.
    built: set[bytes] = set()

    def keep_root(tree: MerkleTree | pymerkle.InmemoryTree) -> None:
        built.add(tree.root(n) if isinstance(tree, MerkleTree) else tree.get_root(n))

    def keep_root_and_close(tree: pymerkle.SqliteTree) -> None:
        built.add(tree.get_root(n))
        tree.close()

    appends = _best_rates(
        {
            INMEMORY: _Task(build_inmemory, keep_root, count=n),
            SQLITE: _Task(build_sqlite, keep_root_and_close, count=n),
            "simlab": _Task(build_ours, keep_root, count=n),
        },
        rounds=3,
    )
    # The floor is timed after the builds: timed first, a cold start once halved it.
    floor = n / min(
        _timed(lambda: [sha(b"\x00" + leaf).digest() for leaf in leaves])[0] for _ in range(5)
    )
    ref, ref_mem = _built_under_tracemalloc(build_inmemory, n)
    ours, our_mem = _built_under_tracemalloc(build_ours, n)
    lite, lite_py_mem = _built_under_tracemalloc(build_sqlite, n)
    lite_mem = _sqlite_bytes(lite) / n + lite_py_mem
    roots = _ReferenceRoots(ref, ours)
    require(built | {lite.get_root(n)} == {roots(n)}, "a timed build disagrees on the root")

    rng = random.Random(1)
    latest = [(rng.randrange(1, n), n) for _ in range(proofs)]
    # Proofs against past tree sizes: each needs its own right-edge hash, none cached.
    past = [(i, rng.randrange(i + 1, n + 1)) for i, _ in latest[: proofs // 4]]
    cons = [(rng.randrange(1, n), n) for _ in range(proofs // 4)]

    def inclusion(queries: list[tuple[int, int]]) -> dict[str, float]:
        sample = queries[: len(queries) // sqlite_share]
        check_ref, check_ours = _inclusion_checks(queries, leaves, roots)
        check_lite, _ = _inclusion_checks(sample, leaves, roots)
        rates = _best_rates(
            {
                INMEMORY: _Task(
                    lambda: [ref.prove_inclusion(i + 1, s) for i, s in queries],
                    check_ref,
                    len(queries),
                ),
                SQLITE: _Task(
                    lambda: [lite.prove_inclusion(i + 1, s) for i, s in sample],
                    check_lite,
                    len(sample),
                ),
                "simlab": _Task(
                    lambda: [ours.inclusion_proof(i, s) for i, s in queries],
                    check_ours,
                    len(queries),
                ),
            },
            rounds=5,
        )
        # RFC 6962 audit paths are unique: simlab's must be pymerkle's, hash for hash.
        for (i, s), theirs, mine in zip(queries, check_ref.first, check_ours.first, strict=True):
            require(theirs.path[1:] == mine, f"inclusion proofs ({i}, {s}) differ")
        return rates

    def consistency(queries: list[tuple[int, int]]) -> dict[str, float]:
        sample = queries[: len(queries) // sqlite_share]
        check_ref, check_ours = _consistency_checks(queries, roots)
        check_lite, _ = _consistency_checks(sample, roots)
        return _best_rates(
            {
                INMEMORY: _Task(
                    lambda: [ref.prove_consistency(a, b) for a, b in queries],
                    check_ref,
                    len(queries),
                ),
                SQLITE: _Task(
                    lambda: [lite.prove_consistency(a, b) for a, b in sample],
                    check_lite,
                    len(sample),
                ),
                "simlab": _Task(
                    lambda: [ours.consistency_proof(a, b) for a, b in queries],
                    check_ours,
                    len(queries),
                ),
            },
            rounds=5,
        )

    incl, incl_past, cons_rates = inclusion(latest), inclusion(past), consistency(cons)
    lite.close()

    def split(rates: dict[str, float]) -> tuple[dict[str, float], float]:
        return {k: v for k, v in rates.items() if k != "simlab"}, rates["simlab"]

    report("hashlib SHA-256 of each leaf (floor)", floor, "hashes/s")
    _versus("appends", "leaves/s", *split(appends))
    report("  (simlab appends vs the hashlib floor)", appends["simlab"], "leaves/s", floor, "floor")
    _versus("inclusion proofs", "proofs/s", *split(incl))
    _versus("inclusion proofs, past sizes", "proofs/s", *split(incl_past))
    _versus("consistency proofs", "proofs/s", *split(cons_rates))
    _versus(
        "memory",
        "bytes/leaf",
        {INMEMORY: ref_mem, f"{SQLITE} (database)": lite_mem},
        our_mem,
        lower_is_better=True,
    )
    print("  (the SQLite database also stores each 32-byte entry; the other trees keep hashes)")
    checked = len(latest) + len(past) + len(cons)
    print(
        f"  roots equal: yes; every timed proof checked, every round: {checked:,} per tree"
        f" ({checked // sqlite_share:,} for {SQLITE})"
    )


def main() -> None:
    for n in (100_000, 1_000_000):
        run(n)
