"""The Merkle tree against RFC 6962's published vectors and an independent recomputation."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlab.ct import MerkleTree, verify_consistency, verify_inclusion

# transparency-dev/merkle testonly/constants.go: the RFC 6962 example leaves and roots.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Node hashes of the same tree (level, index) from the same file, for the RFC's example proofs.
NODE = {
    (0, 1): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (0, 2): "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    (0, 3): "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    (1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
}


def _tree(leaves: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    for i, leaf in enumerate(leaves):
        assert tree.append(leaf) == i
    return tree


# An independent, deliberately naive recomputation straight from RFC 6962 section 2.1.
def _mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(d[:k]) + _mth(d[k:])).digest()


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return _path(m, d[:k]) + [_mth(d[k:])] if m < k else _path(m - k, d[k:]) + [_mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return _subproof(m, d[:k], b) + [_mth(d[k:])]
    return _subproof(m - k, d[k:], False) + [_mth(d[:k])]


def test_roots_match_the_published_rfc6962_vectors() -> None:
    tree = _tree(LEAVES)
    assert [tree.root(n).hex() for n in range(9)] == ROOTS
    assert MerkleTree().root().hex() == ROOTS[0]


def test_the_rfc_example_proofs() -> None:
    tree = _tree(LEAVES)
    # RFC 6962 2.1.3: the audit path for d0 in the 7-leaf tree is [b, h, l]; for 8 leaves
    # it is [b, h, (2,1)]. The consistency proof between 3 and 7 leaves is [c, d, g, l].
    assert [p.hex() for p in tree.inclusion_proof(0, 8)] == [NODE[0, 1], NODE[1, 1], NODE[2, 1]]
    proof = tree.consistency_proof(3, 7)
    assert [p.hex() for p in proof[:3]] == [NODE[0, 2], NODE[0, 3], NODE[1, 0]]
    assert len(proof) == 4
    assert tree.consistency_proof(4, 8) == [bytes.fromhex(NODE[2, 1])]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70))
def test_everything_matches_a_naive_recomputation(leaves: list[bytes]) -> None:
    tree = _tree(leaves)
    for n in range(1, len(leaves) + 1):
        assert tree.root(n) == _mth(leaves[:n])
        for m in range(n):
            assert tree.inclusion_proof(m, n) == _path(m, leaves[:n])
        for m in range(1, n + 1):
            assert tree.consistency_proof(m, n) == (_subproof(m, leaves[:n], True) if m < n else [])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=2, max_size=40), st.data())
def test_verifiers_accept_genuine_proofs_and_reject_every_tampering(
    leaves: list[bytes], data: st.DataObject
) -> None:
    tree = _tree(leaves)
    n = data.draw(st.integers(1, len(leaves)))
    m = data.draw(st.integers(0, n - 1))
    root = tree.root(n)
    proof = tree.inclusion_proof(m, n)
    assert verify_inclusion(leaves[m], m, n, proof, root)
    assert not verify_inclusion(leaves[m] + b"x", m, n, proof, root)
    assert not verify_inclusion(leaves[m], m, n, proof, hashlib.sha256(root).digest())
    assert not verify_inclusion(leaves[m], n, n, proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof]
        bad[i] = bytes(32)
        assert not verify_inclusion(leaves[m], m, n, bad, root)
        assert not verify_inclusion(leaves[m], m, n, proof[:-1], root)
        assert not verify_inclusion(leaves[m], m, n, [*proof, bytes(32)], root)

    size1 = data.draw(st.integers(1, n))
    cproof = tree.consistency_proof(size1, n)
    root1 = tree.root(size1)
    assert verify_consistency(size1, n, root1, root, cproof)
    if size1 < n:
        assert not verify_consistency(size1, n, hashlib.sha256(root1).digest(), root, cproof)
        assert not verify_consistency(size1, n, root1, hashlib.sha256(root).digest(), cproof)
        assert not verify_consistency(size1, n, root1, root, cproof[:-1])
        j = data.draw(st.integers(0, len(cproof) - 1))
        bad = [*cproof]
        bad[j] = bytes(32)
        assert not verify_consistency(size1, n, root1, root, bad)
    assert not verify_consistency(n, size1 - 1, root, root1, cproof)  # sizes swapped


def test_a_wrong_tree_size_is_rejected_where_the_path_shape_differs() -> None:
    # For index 0, sizes 3 and 4 share a path shape, so RFC 9162's verifier cannot (and
    # need not) tell them apart; where the shapes differ, a wrong size must fail.
    tree = _tree(LEAVES)
    proof = tree.inclusion_proof(5, 8)
    assert verify_inclusion(LEAVES[5], 5, 8, proof, tree.root(8))
    assert not verify_inclusion(LEAVES[5], 5, 6, proof, tree.root(8))
    cproof = tree.consistency_proof(3, 7)
    assert not verify_consistency(3, 4, tree.root(3), tree.root(7), cproof)
    assert not verify_consistency(2, 7, tree.root(3), tree.root(7), cproof)


def test_sizes_read_from_numpy_arrays_verify_and_bools_do_not() -> None:
    """A student who takes an index or a tree size from a table or an array gets numpy
    integers; a proof is still checked. A bool is not a size (JSON tells true from 1)."""
    tree = _tree(LEAVES)
    proof, cproof = tree.inclusion_proof(1, 8), tree.consistency_proof(1, 8)
    assert verify_inclusion(LEAVES[1], np.int64(1), np.uint32(8), proof, tree.root(8))
    assert not verify_inclusion(LEAVES[1], np.int64(2), np.int64(8), proof, tree.root(8))
    assert verify_consistency(np.int32(1), np.int64(8), tree.root(1), tree.root(8), cproof)
    for one in (True, np.True_):
        assert not verify_inclusion(LEAVES[1], one, 8, proof, tree.root(8))  # type: ignore[arg-type]
        assert not verify_consistency(one, 8, tree.root(1), tree.root(8), cproof)  # type: ignore[arg-type]


def test_proofs_stay_right_when_the_range_cache_overflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(MerkleTree, "_RANGE_CACHE_LIMIT", 3)
    leaves = [bytes([i]) for i in range(45)]
    tree = _tree(leaves)
    for n in range(1, len(leaves) + 1):
        assert tree.root(n) == _mth(leaves[:n])
        for m in range(0, n, 4):
            assert tree.inclusion_proof(m, n) == _path(m, leaves[:n])
    assert len(tree._ranges) <= 3


def test_bad_arguments_are_refused() -> None:
    tree = _tree(LEAVES)
    with pytest.raises(ValueError, match="out of range"):
        tree.inclusion_proof(8, 8)
    with pytest.raises(ValueError, match="size 9 out of range"):
        tree.root(9)
    with pytest.raises(ValueError, match="size1 <= size2"):
        tree.consistency_proof(5, 4)
    assert not verify_inclusion(b"", 0, 0, [], tree.root(0))


def test_simlab_and_pymerkle_agree_on_roots() -> None:
    pymerkle = pytest.importorskip("pymerkle", reason="pymerkle is a dev extra for benchmarks")
    reference = pymerkle.InmemoryTree(algorithm="sha256")
    ours = MerkleTree()
    for i in range(300):
        leaf = i.to_bytes(4, "big")
        reference.append_entry(leaf)
        ours.append(leaf)
        if i % 37 == 0:
            assert reference.get_root(i + 1) == ours.root(i + 1)
