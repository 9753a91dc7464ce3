"""The RFC 6962 Merkle tree (section 2.1), stored as its complete subtrees.

Level ``k`` holds, packed 32 bytes apiece, the hash of every complete, aligned subtree of
``2**k`` leaves. Appending a leaf adds one hash at level 0 and one per level it completes
(two hashes amortised); the hash of any range is assembled from O(log n) stored subtrees,
so roots of past sizes, inclusion proofs and consistency proofs never rebuild the tree.

Leaf hash = SHA-256(0x00 || leaf); node hash = SHA-256(0x01 || left || right); the root
of the empty tree is SHA-256 of nothing. A tree of n leaves splits at k, the largest power
of two smaller than n.
"""

from __future__ import annotations

from hashlib import sha256

__all__ = ["MerkleTree", "leaf_hash", "node_hash", "verify_consistency", "verify_inclusion"]

EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 Merkle tree with O(log n) roots and proofs."""

    _CACHE_LIMIT = 1 << 16

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        # The hash at each level still waiting for its right sibling (the tree's frontier).
        self._pending: list[bytes] = [b""]
        self._size = 0
        # MTH(D[lo:hi]) of an incomplete range never changes in an append-only tree, so
        # the right-edge hashes shared by every proof at one size are computed once.
        self._ranges: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> int:
        """Add raw leaf data; return the new leaf's index."""
        return self.append_hash(sha256(b"\x00" + leaf).digest())

    def append_hash(self, digest: bytes) -> int:
        """Add a leaf by its leaf hash; return its index."""
        index = self._size
        levels, pending = self._levels, self._pending
        levels[0] += digest
        self._size = index + 1
        level, position, h = 0, index, digest
        while position & 1:
            h = sha256(b"\x01" + pending[level] + h).digest()
            level += 1
            if level == len(levels):
                levels.append(bytearray())
                pending.append(b"")
            levels[level] += h
            position >>= 1
        pending[level] = h
        return index

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them)."""
        size = self._size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 6962 section 2.1.1, leaf to root.

        Walked bottom-up: at level k the node is ``index >> k`` and its sibling is a stored
        complete subtree, except on the right edge of an unbalanced tree, where the
        sibling is the (cached) hash of the incomplete range, and where a node with no
        sibling is promoted unchanged.
        """
        self._check_size(size)
        self._check_index(index, size)
        proof: list[bytes] = []
        levels = self._levels
        node, last, level = index, size - 1, 0
        while last:
            sibling = node ^ 1
            if sibling <= last:
                if sibling < last or (sibling + 1) << level <= size:
                    offset = sibling * 32
                    proof.append(bytes(levels[level][offset : offset + 32]))
                else:
                    proof.append(self._range_hash(sibling << level, size))
            node >>= 1
            last >>= 1
            level += 1
        return proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """PROOF(size1, D[0:size2]) of RFC 6962 section 2.1.2."""
        self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise ValueError(f"consistency proof needs 0 <= size1 <= size2, got {size1}, {size2}")
        if size1 == 0 or size1 == size2:
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, size2, size1, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo += k
                m -= k
                complete = False
        if not complete:
            proof.append(self._range_hash(lo, hi))
        proof.reverse()
        return proof

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a range on the tree's split boundaries."""
        n = hi - lo
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            offset = (lo >> level) * 32
            return bytes(self._levels[level][offset : offset + 32])
        k = _split(n)
        return sha256(
            b"\x01" + self._range_hash(lo, lo + k) + self._range_hash(lo + k, hi)
        ).digest()

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self._size:
            raise ValueError(f"tree size {size} out of range 0..{self._size}")

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} out of range 0..{size - 1}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """Check an inclusion proof for raw leaf data (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> bool:
    """Check that the tree of ``size2`` extends the tree of ``size1`` (RFC 9162 2.1.4.2)."""
    if not 0 <= size1 <= size2 or any(len(p) != 32 for p in proof):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2
