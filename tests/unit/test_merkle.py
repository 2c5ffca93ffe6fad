"""RFC 6962 Merkle trees: the transparency-dev/merkle conformance vectors and corruption probes
(proof/verify_test.go @02194e9a), a naive reference implementation, and property tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.domain.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

pytestmark = pytest.mark.security

# --- the vectors of transparency-dev/merkle proof/verify_test.go --------------------------

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = [bytes.fromhex(h) for h in (  # ROOTS[n - 1] is the root of the first n leaves
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
EMPTY_TREE = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


# (leaf number, 1-based as in the Go file; tree size; proof)
INCLUSION = [
    (1, 8, h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (3, 3, h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (2, 5, h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]
CONSISTENCY = [
    (1, 8, h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (6, 7, h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]
LEAF_HASHES = [leaf_hash(x) for x in LEAVES]


# --- an independent, naive RFC 6962 implementation (slices, straight from the RFC text) ----

def naive_mth(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < len(data):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:])).digest()


def naive_path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) == 1:
        return []
    k = 1
    while k * 2 < len(data):
        k *= 2
    if m < k:
        return naive_path(m, data[:k]) + [naive_mth(data[k:])]
    return naive_path(m - k, data[k:]) + [naive_mth(data[:k])]


def naive_subproof(m: int, data: list[bytes], complete: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if complete else [naive_mth(data)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, data[:k], complete) + [naive_mth(data[k:])]
    return naive_subproof(m - k, data[k:], False) + [naive_mth(data[:k])]


# --- corruption probes, as corruptInclusionProof / corruptConsistencyProof build them -------

def flip(value: bytes, byte: int, mask: int) -> bytes:
    changed = bytearray(value)
    changed[byte] ^= mask
    return bytes(changed)


def inclusion_probes(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes) -> list[tuple[str, tuple]]:
    probes: list[tuple[str, tuple]] = [
        ("leafIndex - 1", (index - 1, size, leaf, proof, root)),
        ("leafIndex + 1", (index + 1, size, leaf, proof, root)),
        ("leafIndex ^ 2", (index ^ 2, size, leaf, proof, root)),
        ("treeSize * 2", (index, size * 2, leaf, proof, root)),
        ("treeSize / 2", (index, size // 2, leaf, proof, root)),
        ("wrong leaf", (index, size, b"WrongLeaf", proof, root)),
        ("empty root", (index, size, leaf, proof, EMPTY_TREE)),
        ("random root", (index, size, leaf, proof, SOME_HASH)),
        ("trailing garbage", (index, size, leaf, [*proof, b""], root)),
        ("trailing root", (index, size, leaf, [*proof, root], root)),
        ("preceding garbage", (index, size, leaf, [b"", *proof], root)),
        ("preceding root", (index, size, leaf, [root, *proof], root)),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 8)
        probes.append((f"modified proof[{i}] bit 3", (index, size, leaf, wrong, root)))
    if proof:
        probes.append(("removed component", (index, size, leaf, proof[:-1], root)))
    if len(proof) > 1:
        probes.append(("inserted component", (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)))
    return probes


def consistency_probes(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]) -> list[tuple[str, tuple]]:
    probes: list[tuple[str, tuple]] = [
        ("size1 - 1", (size1 - 1, size2, proof, root1, root2)),
        ("size1 + 1", (size1 + 1, size2, proof, root1, root2)),
        ("size1 ^ 2", (size1 ^ 2, size2, proof, root1, root2)),
        ("size2 * 2", (size1, size2 * 2, proof, root1, root2)),
        ("size2 / 2", (size1, size2 // 2, proof, root1, root2)),
        ("wrong root1", (size1, size2, proof, b"WrongRoot", root2)),
        ("wrong root2", (size1, size2, proof, root1, b"WrongRoot")),
        ("swapped roots", (size1, size2, proof, root2, root1)),
        ("empty proof", (size1, size2, [], root1, root2)),
        ("trailing garbage", (size1, size2, [*proof, b""], root1, root2)),
        ("trailing root1", (size1, size2, [*proof, root1], root1, root2)),
        ("trailing root2", (size1, size2, [*proof, root2], root1, root2)),
        ("preceding garbage", (size1, size2, [b"", *proof], root1, root2)),
        ("preceding root1", (size1, size2, [root1, *proof], root1, root2)),
        ("preceding root2", (size1, size2, [root2, *proof], root1, root2)),
        ("preceding proof[0]", (size1, size2, [proof[0], *proof], root1, root2)),
    ]
    if proof:
        probes.append(("truncated proof", (size1, size2, proof[:-1], root1, root2)))
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 16)
        probes.append((f"modified proof[{i}] bit 4", (size1, size2, wrong, root1, root2)))
    return probes


def accepted(verify: Callable[..., bool], probes: list[tuple[str, tuple]]) -> list[str]:
    return [name for name, args in probes if verify(*args)]


# --- tests ----------------------------------------------------------------------------------

def test_empty_tree_hash_is_sha256_of_nothing() -> None:
    """The empty tree hashes to SHA-256("") = e3b0c442…b855."""
    assert EMPTY_ROOT == EMPTY_TREE == tree_hash([]) == root_from_leaf_hashes([])
    assert CompactRange().root() == EMPTY_TREE


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_conformance_leaves(size: int) -> None:
    """The roots of the first 1..8 vector leaves match transparency-dev byte for byte, built at once and leaf by leaf."""
    assert tree_hash(LEAVES[:size]) == ROOTS[size - 1]
    assert naive_mth(LEAVES[:size]) == ROOTS[size - 1]
    compact = CompactRange()
    for leaf in LEAF_HASHES[:size]:
        compact.append(leaf)
    assert compact.root() == ROOTS[size - 1]


def test_leaf_and_node_hashes_carry_the_domain_prefixes() -> None:
    """Leaves hash as SHA-256(0x00||d) and nodes as SHA-256(0x01||l||r), so a node never passes for a leaf."""
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert leaf_hash(LEAF_HASHES[0] + LEAF_HASHES[1]) != ROOTS[1]


@pytest.mark.parametrize("leaf,size,proof", INCLUSION, ids=lambda v: str(v) if isinstance(v, int) else "")
def test_inclusion_vector_is_generated_and_verifies(leaf: int, size: int, proof: list[bytes]) -> None:
    """The inclusion proof of each vector is generated byte for byte and verifies against its root."""
    index = leaf - 1
    assert inclusion_proof(index, LEAF_HASHES[:size]) == proof
    assert root_from_inclusion_proof(index, size, LEAF_HASHES[index], proof) == ROOTS[size - 1]
    assert verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size - 1])


@pytest.mark.parametrize("leaf,size,proof", INCLUSION, ids=lambda v: str(v) if isinstance(v, int) else "")
def test_every_inclusion_corruption_probe_is_rejected(leaf: int, size: int, proof: list[bytes]) -> None:
    """Wrong index (-1, +1, ^2), size (x2, /2), leaf or root, garbage or a root before/after, a bit flipped in any element, and a removed or inserted element are all rejected."""
    index = leaf - 1
    probes = inclusion_probes(index, size, proof, ROOTS[size - 1], LEAF_HASHES[index])
    assert len(probes) >= 12 + len(proof)
    assert accepted(verify_inclusion, probes) == []


@pytest.mark.parametrize("size1,size2,proof", CONSISTENCY, ids=lambda v: str(v) if isinstance(v, int) else "")
def test_consistency_vector_is_generated_and_verifies(size1: int, size2: int, proof: list[bytes]) -> None:
    """The consistency proof of each vector is generated byte for byte and verifies between the two roots."""
    assert consistency_proof(size1, LEAF_HASHES[:size2]) == proof
    assert verify_consistency(size1, size2, proof, ROOTS[size1 - 1], ROOTS[size2 - 1])


@pytest.mark.parametrize("size1,size2,proof", CONSISTENCY, ids=lambda v: str(v) if isinstance(v, int) else "")
def test_every_consistency_corruption_probe_is_rejected(size1: int, size2: int, proof: list[bytes]) -> None:
    """Wrong sizes, wrong or swapped roots, an empty or truncated proof, garbage or roots added, and a bit flipped in any element are all rejected."""
    probes = consistency_probes(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], proof)
    assert accepted(verify_consistency, probes) == []


def test_every_single_bit_flip_of_the_vectors_is_rejected() -> None:
    """Flipping any one of the 256 bits of any proof element, leaf hash or root of the vectors makes verification fail."""
    for leaf, size, proof in INCLUSION:
        index, root, lh = leaf - 1, ROOTS[size - 1], LEAF_HASHES[leaf - 1]
        for bit in range(256):
            byte, mask = divmod(bit, 8)
            assert not verify_inclusion(index, size, flip(lh, byte, 1 << mask), proof, root)
            assert not verify_inclusion(index, size, lh, proof, flip(root, byte, 1 << mask))
            for i in range(len(proof)):
                wrong = [*proof[:i], flip(proof[i], byte, 1 << mask), *proof[i + 1:]]
                assert not verify_inclusion(index, size, lh, wrong, root)
    for size1, size2, proof in CONSISTENCY:
        r1, r2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
        for bit in range(256):
            byte, mask = divmod(bit, 8)
            assert not verify_consistency(size1, size2, proof, flip(r1, byte, 1 << mask), r2)
            assert not verify_consistency(size1, size2, proof, r1, flip(r2, byte, 1 << mask))
            for i in range(len(proof)):
                wrong = [*proof[:i], flip(proof[i], byte, 1 << mask), *proof[i + 1:]]
                assert not verify_consistency(size1, size2, wrong, r1, r2)


def test_single_entry_tree_needs_the_exact_32_byte_leaf_and_root() -> None:
    """In a one-leaf tree the root is the leaf hash and the proof is empty; empty or mismatched hashes fail (TestVerifyInclusionSingleEntry)."""
    one = leaf_hash(b"data")
    assert verify_inclusion(0, 1, one, [], one)
    assert not verify_inclusion(0, 1, b"", [], one)
    assert not verify_inclusion(0, 1, one, [], b"")
    assert not verify_inclusion(0, 1, b"", [], b"")


@pytest.mark.parametrize("index,size", [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_with_invalid_root_leaf_or_range_fails(index: int, size: int) -> None:
    """Out-of-range indices and empty roots or leaves never verify (TestVerifyInclusion probes)."""
    assert not verify_inclusion(index, size, SOME_HASH, [], b"")
    assert not verify_inclusion(index, size, b"", [], EMPTY_TREE)
    assert not verify_inclusion(index, size, SOME_HASH, [], EMPTY_TREE)
    with pytest.raises(ProofError):
        root_from_inclusion_proof(index, size, b"", [])


def test_trivial_consistency_cases() -> None:
    """Equal sizes need equal roots and no proof, size 0 needs the empty root and no proof, and time never runs backwards (TestVerifyConsistency, with size 0 bound to the empty root)."""
    a, b = ROOTS[0], ROOTS[1]
    assert verify_consistency(1, 1, [], a, a)
    assert not verify_consistency(1, 1, [], a, b)
    assert verify_consistency(0, 0, [], EMPTY_TREE, EMPTY_TREE)
    assert not verify_consistency(0, 0, [], EMPTY_TREE, b)
    assert verify_consistency(0, 5, [], EMPTY_TREE, ROOTS[4])
    assert not verify_consistency(0, 5, [], a, ROOTS[4])
    assert not verify_consistency(0, 0, [EMPTY_TREE], EMPTY_TREE, EMPTY_TREE)
    assert not verify_consistency(0, 1, [EMPTY_TREE], EMPTY_TREE, EMPTY_TREE)
    assert not verify_consistency(1, 1, [EMPTY_TREE], EMPTY_TREE, EMPTY_TREE)
    assert not verify_consistency(1, 0, [], a, b)
    assert not verify_consistency(2, 1, [], a, b)
    assert not verify_consistency(1, 2, [], a, b)


def test_proof_generation_refuses_impossible_requests() -> None:
    """No inclusion proof for a leaf outside the tree, no consistency proof to a larger old size, and a compact range must match its size."""
    with pytest.raises(ProofError):
        inclusion_proof(3, LEAF_HASHES[:3])
    with pytest.raises(ProofError):
        inclusion_proof(-1, LEAF_HASHES[:3])
    with pytest.raises(ProofError):
        consistency_proof(4, LEAF_HASHES[:3])
    with pytest.raises(ValueError):
        CompactRange(3, [ROOTS[0]])


def test_generation_matches_the_naive_rfc_text_for_every_size_up_to_70() -> None:
    """Roots, every inclusion path and every consistency proof equal the slice-based RFC 6962 definitions for trees of 1..70 leaves."""
    data = [i.to_bytes(2, "big") * (i % 5) for i in range(70)]
    hashes = [leaf_hash(d) for d in data]
    compact = CompactRange()
    for n in range(1, 71):
        compact.append(hashes[n - 1])
        root = naive_mth(data[:n])
        assert root_from_leaf_hashes(hashes[:n]) == compact.root() == root
        assert CompactRange(n, compact.hashes).root() == root
        for m in range(n):
            assert inclusion_proof(m, hashes[:n]) == naive_path(m, data[:n])
        for m in range(1, n):
            assert consistency_proof(m, hashes[:n]) == naive_subproof(m, data[:n], True)


leaf_lists = st.lists(st.binary(max_size=40), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_generated_inclusion_proof_verifies_and_any_bit_flip_fails(leaves: list[bytes], data: st.DataObject) -> None:
    """For random leaves, every leaf's generated inclusion proof verifies, and flipping any single bit of a proof element, the leaf hash or the root breaks it."""
    hashes = [leaf_hash(x) for x in leaves]
    n, root = len(hashes), naive_mth(leaves)
    for index in range(n):
        proof = inclusion_proof(index, hashes)
        assert verify_inclusion(index, n, hashes[index], proof, root)
    index = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(index, hashes)
    for bit in data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=8), label="bits"):
        byte, mask = divmod(bit, 8)
        assert not verify_inclusion(index, n, flip(hashes[index], byte, 1 << mask), proof, root)
        assert not verify_inclusion(index, n, hashes[index], proof, flip(root, byte, 1 << mask))
        for i in range(len(proof)):
            wrong = [*proof[:i], flip(proof[i], byte, 1 << mask), *proof[i + 1:]]
            assert not verify_inclusion(index, n, hashes[index], wrong, root)


@settings(max_examples=150, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_generated_consistency_proof_verifies_and_any_bit_flip_fails(leaves: list[bytes], data: st.DataObject) -> None:
    """For random leaves, the consistency proof from every earlier size verifies, and flipping any single bit of a proof element or either root breaks it."""
    hashes = [leaf_hash(x) for x in leaves]
    n = len(hashes)
    roots = [naive_mth(leaves[:m]) for m in range(n + 1)]
    for m in range(n + 1):
        proof = consistency_proof(m, hashes)
        assert verify_consistency(m, n, proof, roots[m], roots[n])
    m = data.draw(st.integers(1, n), label="old size")
    proof = consistency_proof(m, hashes)
    for bit in data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=8), label="bits"):
        byte, mask = divmod(bit, 8)
        assert not verify_consistency(m, n, proof, flip(roots[m], byte, 1 << mask), roots[n])
        assert not verify_consistency(m, n, proof, roots[m], flip(roots[n], byte, 1 << mask))
        for i in range(len(proof)):
            wrong = [*proof[:i], flip(proof[i], byte, 1 << mask), *proof[i + 1:]]
            assert not verify_consistency(m, n, wrong, roots[m], roots[n])
    if m < n:
        # The probes that change no size (a size change can coincide with the same hashing
        # order, as it can in any RFC 6962 verifier: the size is part of the signed head).
        probes = [p for p in consistency_probes(m, n, roots[m], roots[n], proof)
                  if not p[0].startswith(("size1", "size2"))]
        assert accepted(verify_consistency, probes) == []
