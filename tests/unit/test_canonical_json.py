"""canonical_json's fast path (the C json encoder) writes exactly the bytes of the reference
RFC 8785 serialiser (rfc8785) for any JSON value, and refuses what it refuses."""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sdk.signing import canonical_json

ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=8)
any_keys = st.text(max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
        max_leaves=30,
    )


@settings(max_examples=400, deadline=None)
@given(json_values(ascii_keys))
def test_fast_path_matches_rfc8785_on_ascii_keys(value: object) -> None:
    """With ASCII keys (the fast path): byte for byte what rfc8785 writes, floats included."""
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(json_values(any_keys))
def test_any_keys_and_strings_match_rfc8785(value: object) -> None:
    """With any Unicode keys and strings (NULs, astral characters: the general path): the same bytes."""
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [
    {"confidence": 0.1, "n": 1.0, "big": 1e21, "small": 5e-324, "neg": -0.0, "list": [1.5, 2.5e-7]},
    {"a\u0000b": "x", "z": "\u0000\u00001\u0000"},  # NULs that look like the fast path's placeholders
    {"\u00e9": 1, "e": 2, "\U0001f600": 3, "\uffff": 4},  # non-ASCII keys: UTF-16 order
    ["\n\t\b\f\r\"\\\u001f\u007f\u2028", ("tuple", 1)],
])
def test_tricky_values_match_rfc8785(value: object) -> None:
    """Floats in ECMAScript form, NULs, non-ASCII keys, escapes and tuples: the same bytes as rfc8785."""
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [2**53, {"x": -(2**53)}, math.nan, [math.inf], {1: "x"}, {"s": "\ud800"}])
def test_values_rfc8785_refuses_are_refused(value: object) -> None:
    """Integers beyond 2**53 - 1, NaN, infinities, non-string keys and lone surrogates raise as rfc8785 does."""
    with pytest.raises(ValueError):
        rfc8785.dumps(value)
    with pytest.raises(ValueError):
        canonical_json(value)


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_is_written_as_rfc8785_writes_it(value: float) -> None:
    """Any finite float, alone and inside an object: ECMAScript's form, as rfc8785 writes it."""
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json({"confidence": value}) == rfc8785.dumps({"confidence": value})
