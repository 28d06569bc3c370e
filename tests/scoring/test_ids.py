"""Id matching by folded keys gives exactly arrow's answer: random ids of one or mixed
lengths, shuffled, missing, extra and duplicated, and ids built to share a key."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from numerpilot.scoring.ids import _MIX, _index_by_keys, has_duplicates, index_in


def _arrow_index_in(want: pa.Array, have: pa.Array) -> np.ndarray:
    return np.asarray(pc.index_in(want, value_set=have).fill_null(-1).to_numpy(), np.int64)


def _ids(values: list[str]) -> pa.Array:
    return pa.array(values, pa.large_string())


@st.composite
def id_pairs(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(want, have): have unique, overlapping want in any order."""
    width = draw(st.sampled_from([1, 5, 8, 9, 16, 23]))
    mixed = draw(st.booleans())
    text = st.text("0123456789abcdef", min_size=1 if mixed else width, max_size=width)
    pool = draw(st.lists(text, min_size=1, max_size=60, unique=True))
    have = draw(st.permutations(pool))[: draw(st.integers(1, len(pool)))]
    want = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=80, unique=True))
    return want, list(have)


@settings(max_examples=300, deadline=None)
@given(id_pairs())
def test_index_in_equals_arrow(pair: tuple[list[str], list[str]]) -> None:
    want, have = map(_ids, pair)
    np.testing.assert_array_equal(index_in(want, have), _arrow_index_in(want, have))


@st.composite
def id_lists(draw: st.DrawFn) -> list[str]:
    """Ids of one length (or of mixed lengths) over two letters: duplicates are common."""
    width = draw(st.sampled_from([1, 3, 9, 17]))
    low = 1 if draw(st.booleans()) else width
    return draw(st.lists(st.text("ab", min_size=low, max_size=width), min_size=1, max_size=30))


@settings(max_examples=300, deadline=None)
@given(id_lists())
def test_duplicates_found_as_arrow_finds_them(values: list[str]) -> None:
    assert has_duplicates(_ids(values)) == (len(set(values)) != len(values))


def test_numerai_ids_shuffled_and_sliced() -> None:
    rng = np.random.default_rng(0)
    ids = np.array([f"n{v:015x}" for v in rng.integers(0, 2**60, 5000)], dtype=object)
    want, have = _ids(list(ids)), _ids(list(ids[rng.permutation(5000)]))
    assert not has_duplicates(have)
    have = have.slice(1000, 3000)  # an offset into shared buffers
    got = _index_by_keys(want, have)
    assert got is not None  # the fast path answered
    np.testing.assert_array_equal(got, _arrow_index_in(want, have))
    assert (got >= 0).sum() == 3000


def _from_bytes(rows: list[bytes]) -> pa.Array:
    offsets = np.cumsum([0, *map(len, rows)], dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(), len(rows), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(rows))]
    )


def test_ids_that_share_a_key_fall_back_to_arrow() -> None:
    """Two different 16-byte ids with one folded key: w0 * M ^ w1 equal for both."""
    w0, v0, w1 = 1234, 98765, 555
    mask = 2**64 - 1
    v1 = ((w0 * int(_MIX)) & mask) ^ w1 ^ ((v0 * int(_MIX)) & mask)
    one = w0.to_bytes(8, "little") + w1.to_bytes(8, "little")
    two = v0.to_bytes(8, "little") + v1.to_bytes(8, "little")
    have, want = _from_bytes([one, two]), _from_bytes([two, one])
    assert not has_duplicates(have)  # the keys collide, arrow settles it
    assert _index_by_keys(want, have) is None
    np.testing.assert_array_equal(index_in(want, have), [1, 0])
    assert has_duplicates(_from_bytes([one, two, one]))
