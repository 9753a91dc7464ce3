"""The RFC 6962 Merkle tree (section 2.1), stored as its complete subtrees.

``_levels[k][i]`` is the hash of the complete, aligned subtree of ``2**k`` leaves that
starts at leaf ``i * 2**k``. Appending a leaf adds one hash at level 0 and one per level
it completes (two hashes amortised). An inclusion proof is then mostly plain list
look-ups, and the hash of any other range is assembled from O(log n) stored subtrees, so
roots of past sizes and proofs never rebuild the tree.

Each hash is its own ``bytes`` object (about 73 bytes per node, two nodes per leaf)
rather than a slice of one packed buffer: a proof hands out those objects as they are,
where slicing a buffer allocates a new one per level, three times slower.

Leaf hash = SHA-256(0x00 || leaf); node hash = SHA-256(0x01 || left || right); the root
of the empty tree is SHA-256 of nothing. A tree of n leaves splits at k, the largest power
of two smaller than n.

Arguments are checked once per call, never per node: a leaf is bytes-like, a leaf hash 32
bytes, a size or an index an int (``operator.index``, so numpy integers too, but not a
bool: ``True`` as a tree size is a slip, not a 1). :class:`CTError` names the argument.
"""

from __future__ import annotations

from hashlib import sha256

from simlab.errors import CTError, shown
from simlab.limits import whole

__all__ = ["MerkleTree", "leaf_hash", "node_hash", "verify_consistency", "verify_inclusion"]

EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _as_int(value: object, name: str) -> int:
    """``value`` as an int for the argument ``name``, or :class:`CTError` naming it."""
    number = whole(value)
    if number is None:
        raise CTError(f"MerkleTree: {name} is an int, not {type(value).__name__} {shown(value)}")
    return number


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 Merkle tree with O(log n) roots and proofs."""

    # Hashes of incomplete ranges kept for reuse; enough for every proof at a few
    # thousand tree sizes, small beside the tree itself.
    _RANGE_CACHE_LIMIT = 1 << 16

    def __init__(self) -> None:
        # Sixty-four levels hold any tree that fits in memory; allocating them up front
        # keeps a bounds check out of every append.
        self._levels: list[list[bytes]] = [[] for _ in range(64)]
        self._size = 0
        # MTH(D[lo:hi]) never changes in an append-only tree, so the right-edge hash that
        # every inclusion proof at one size shares is computed once.
        self._ranges: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> int:
        """Add raw leaf data; return the new leaf's index."""
        try:
            digest = sha256(b"\x00" + leaf).digest()
        except TypeError:  # only the leaf can be wrong here; no cost when it is right
            raise CTError(f"MerkleTree: leaf is bytes, not {type(leaf).__name__}") from None
        return self._add(digest)

    def append_hash(self, digest: bytes) -> int:
        """Add a leaf by its leaf hash; return its index."""
        if type(digest) is not bytes or len(digest) != 32:
            shown = f"{len(digest)} bytes" if type(digest) is bytes else type(digest).__name__
            raise CTError(f"MerkleTree: digest is a 32-byte SHA-256 leaf hash, not {shown}")
        return self._add(digest)

    def _add(self, digest: bytes) -> int:
        index = self._size
        self._size = index + 1
        levels = self._levels
        nodes = levels[0]
        nodes.append(digest)
        position, level = index, 0
        while position & 1:
            # The new node completes its parent; its left sibling was stored just before it.
            digest = sha256(b"\x01" + nodes[-2] + digest).digest()
            level += 1
            nodes = levels[level]
            nodes.append(digest)
            position >>= 1
        return index

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all of them)."""
        size = self._size if size is None else self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._range_hash(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 6962 section 2.1.1, leaf to root.

        Let ``last = size - 1`` and ``inner`` the bit length of ``index ^ last``. Below
        level ``inner - 1`` the leaf's path and the tree's right edge have not met, so each
        sibling is a complete stored subtree. At level ``inner - 1`` the sibling is the
        subtree holding the last leaf, complete or not. Above it the path runs along the
        right edge: a node with a left sibling takes it (complete), and one without is
        promoted unchanged, adding nothing.
        """
        size = self._check_size(size)
        index = self._check_index(index, size)
        levels, last = self._levels, size - 1
        inner = (index ^ last).bit_length()
        proof: list[bytes] = []
        if inner:
            add, node = proof.append, index
            for nodes in levels[: inner - 1]:  # a plain loop: the hot path of a log
                add(nodes[node ^ 1])
                node >>= 1
            edge = inner - 1
            add(self._range_hash((last >> edge) << edge, size))
        for level in range(inner, last.bit_length()):
            if last >> level & 1:
                proof.append(levels[level][(last >> level) ^ 1])
        return proof

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """PROOF(size1, D[0:size2]) of RFC 6962 section 2.1.2."""
        size2 = self._check_size(size2, "size2")
        if type(size1) is not int:
            size1 = _as_int(size1, "size1")
        if not 0 <= size1 <= size2:
            raise CTError(f"consistency proof needs 0 <= size1 <= size2, got {size1}, {size2}")
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
            return self._levels[level][lo >> level]
        ranges = self._ranges
        digest = ranges.get((lo, hi))
        if digest is None:
            k = _split(n)
            left, right = self._range_hash(lo, lo + k), self._range_hash(lo + k, hi)
            digest = sha256(b"\x01" + left + right).digest()
            if len(ranges) >= self._RANGE_CACHE_LIMIT:
                ranges.clear()
            ranges[lo, hi] = digest
        return digest

    def _check_size(self, size: int, name: str = "size") -> int:
        if type(size) is not int:
            size = _as_int(size, name)
        if not 0 <= size <= self._size:
            raise CTError(f"tree size {size} out of range 0..{self._size}")
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> int:
        if type(index) is not int:
            index = _as_int(index, "index")
        if not 0 <= index < size:
            raise CTError(f"leaf index {index} out of range 0..{size - 1}")
        return index


def _is_path(proof: object) -> bool:
    """A proof is a list of SHA-256 hashes; anything else a log sends proves nothing."""
    return isinstance(proof, list | tuple) and all(type(p) is bytes and len(p) == 32 for p in proof)


def _as_sizes(*sizes: object) -> tuple[int, ...] | None:
    """The sizes as ints (:func:`simlab.limits.whole`: numpy's integers count, a bool does
    not), or None if one is not an integer."""
    ints = [whole(n) for n in sizes]
    return None if None in ints else tuple(n for n in ints if n is not None)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """Check an inclusion proof for raw leaf data (RFC 9162 section 2.1.3.2).

    False, never an error, for arguments of the wrong shape (a proof from a log is data).
    """
    sizes = _as_sizes(index, size)
    if not (isinstance(leaf, bytes) and sizes is not None and _is_path(proof)):
        return False
    index, size = sizes
    if not 0 <= index < size:
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
    """Check that the tree of ``size2`` extends the tree of ``size1`` (RFC 9162 2.1.4.2).

    False, never an error, for arguments of the wrong shape (a proof from a log is data).
    """
    sizes = _as_sizes(size1, size2)
    if not (sizes is not None and _is_path(proof) and _is_path([root1, root2])):
        return False
    size1, size2 = sizes
    if not 0 <= size1 <= size2:
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
