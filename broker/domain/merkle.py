"""RFC 6962 Merkle tree hashes, inclusion and consistency proofs (SHA-256).

* leaf hash  = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right)
* the hash of the empty tree is SHA-256("")
* a tree of n > 1 leaves splits at k, the largest power of two smaller than n.

Proofs are generated as RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF/SUBPROOF) define them and
verified with the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2. The functions work on leaf
hashes (32-byte values), so a log that stores its leaf hashes never rehashes its entries to
prove something. Pure: hashlib only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof cannot be generated or does not verify; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree_root(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH over the leaf hashes hashes[lo:hi] (hi > lo)."""
    n = hi - lo
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(_subtree_root(hashes, lo, lo + k), _subtree_root(hashes, lo + k, hi))


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a tree whose leaves have these hashes."""
    if not hashes:
        return EMPTY_ROOT
    return _subtree_root(hashes, 0, len(hashes))


def tree_hash(entries: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of the entries themselves (RFC 6962 §2.1)."""
    return root_from_leaf_hashes([leaf_hash(e) for e in entries])


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]): the audit path of leaf `index` in the tree of these leaf hashes."""
    n = len(hashes)
    if not 0 <= index < n:
        raise ProofError(f"leaf index {index} is outside a tree of size {n}")
    proof: list[bytes] = []
    lo, hi = 0, n
    # Walk down from the root, collecting the sibling subtree at each level, then
    # reverse so the path runs leaf to root as RFC 6962 orders it.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            proof.append(_subtree_root(hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_subtree_root(hashes, lo, lo + k))
            lo = lo + k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `old_size` leaves is a prefix of this one."""
    n = len(hashes)
    if not 0 <= old_size <= n:
        raise ProofError(f"old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, m, complete = 0, n, old_size, True
    # SUBPROOF(m, D[lo:hi], complete), iteratively; nodes are gathered root-first.
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(_subtree_root(hashes, lo + k, hi))
            hi = lo + k
        else:
            proof.append(_subtree_root(hashes, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(_subtree_root(hashes, lo, hi))
    proof.reverse()
    return proof


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a correct inclusion proof leads to (RFC 9162 §2.1.3.2, steps 1-4).

    Raises ProofError when the index is out of range, a hash has the wrong length or the proof
    has the wrong number of elements for this index and size.
    """
    if not isinstance(index, int) or not isinstance(size, int) or not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if not _is_hash(leaf):
        raise ProofError("the leaf hash is not 32 bytes")
    if not all(_is_hash(p) for p in proof):
        raise ProofError("a proof element is not 32 bytes")
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the path")
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
    if sn != 0:
        raise ProofError("the proof is shorter than the path")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when `proof` shows the leaf hash is leaf `index` of the tree of `size` with `root`."""
    try:
        return _is_hash(root) and root_from_inclusion_proof(index, size, leaf, proof) == root
    except ProofError:
        return False


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> bool:
    """True when `proof` shows the tree (size1, root1) is a prefix of the tree (size2, root2).

    RFC 9162 §2.1.4.2 for 0 < size1 < size2. Equal sizes need an empty proof and equal roots;
    size1 = 0 needs an empty proof and root1 = the empty-tree hash (every tree extends it).
    """
    if not isinstance(size1, int) or not isinstance(size2, int) or not 0 <= size1 <= size2:
        return False
    if not (_is_hash(root1) and _is_hash(root2)) or not all(_is_hash(p) for p in proof):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof and root1 == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is a node of the path
        path.insert(0, bytes(root1))
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


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size), largest first.

    Enough to append a leaf and to compute the root in O(log n), so a log never rereads its
    leaves to extend itself (the "frontier" of an RFC 6962 tree).
    """

    __slots__ = ("_size", "_hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        hashes = [bytes(h) for h in hashes]
        if size < 0 or len(hashes) != size.bit_count() or not all(_is_hash(h) for h in hashes):
            raise ValueError(f"a range of {size} leaves has {size.bit_count()} subtree hashes of 32 bytes")
        self._size = size
        self._hashes = hashes

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash."""
        h, s = leaf, self._size
        while s & 1:
            h = node_hash(self._hashes.pop(), h)
            s >>= 1
        self._hashes.append(h)
        self._size += 1

    def root(self) -> bytes:
        """The RFC 6962 root of the leaves so far."""
        if not self._hashes:
            return EMPTY_ROOT
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._hashes)

    def appended(self, leaf: bytes) -> CompactRange:
        """A copy with one more leaf; this one is unchanged."""
        other = self.copy()
        other.append(leaf)
        return other
