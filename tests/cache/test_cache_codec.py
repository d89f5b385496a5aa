"""The partition byte format: exact round trips, plain gzip, month members."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tradedata.cache import codec
from tradedata.cache.layout import month_edges


def _roundtrip(ts: np.ndarray, cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    payload = codec.inflate(codec.deflate(codec.encode_block(ts, cols)))
    ts_out = np.empty(ts.size, dtype=np.int64)
    values = np.empty((len(cols), ts.size))
    names = codec.decode_block(payload, ts_out, values)
    assert names == tuple(cols)
    return ts_out, values


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(np.asarray(a, np.float64).view(np.int64), b.view(np.int64))


_FLOATS = hnp.arrays(
    np.float64,
    st.integers(1, 60),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64)
    | st.decimals(-1e6, 1e6, places=2, allow_nan=False).map(float),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), column=_FLOATS)
def test_any_floats_and_timestamps_roundtrip_exactly(
    data: st.DataObject, column: np.ndarray
) -> None:
    steps = data.draw(hnp.arrays(np.int64, column.size, elements=st.integers(1, 10**15)))
    ts = np.cumsum(steps) + data.draw(st.integers(-(10**17), 10**17))
    cols = {"open": column, "high": column[::-1].copy(), "low": column, "close": column}
    cols["volume"] = np.abs(column)

    ts_out, values = _roundtrip(ts, cols)

    assert np.array_equal(ts_out, ts)
    for i, col in enumerate(cols.values()):
        assert _same_bits(values[i], col)


def test_prices_use_the_ohlc_predictors_and_stay_small() -> None:
    rng = np.random.default_rng(0)
    n = 44_640  # a month of minutes
    close = np.round(30_000 + np.cumsum(rng.normal(0, 15, n)), 2)
    open_ = np.concatenate(([30_000.0], close[:-1]))
    high = np.round(np.maximum(open_, close) + np.abs(rng.normal(0, 5, n)), 2)
    low = np.round(np.minimum(open_, close) - np.abs(rng.normal(0, 5, n)), 2)
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9 + 1_700_000_000 * 10**9
    cols = {"open": open_, "high": high, "low": low, "close": close, "volume": np.ones(n)}

    member = codec.deflate(codec.encode_block(ts, cols))
    ts_out, values = _roundtrip(ts, cols)

    assert len(member) / n < 6  # bytes per bar
    assert np.array_equal(ts_out, ts)
    for i, col in enumerate(cols.values()):
        assert _same_bits(values[i], col)


def test_a_partition_is_a_plain_multi_member_gzip_file() -> None:
    ts = np.arange(0, 365 * 24, dtype=np.int64) * 3600 * 10**9
    ts += month_edges(1970)[0]
    col = np.round(np.linspace(1, 2, ts.size), 4)
    cols = {"open": col, "high": col, "low": col, "close": col, "volume": col}

    blob, members = codec.encode_partition(ts, cols, month_edges(1970))

    assert [m.month for m in members] == list(range(1, 13))
    assert sum(m.rows for m in members) == ts.size
    whole = gzip.decompress(blob)  # any gzip reader takes it
    parts = [codec.inflate(blob[m.offset : m.offset + m.length]) for m in members]
    assert whole == b"".join(parts)
    assert all(codec.member_crc_ok(blob[m.offset : m.offset + m.length], m) for m in members)


def test_stdlib_zlib_fallback_reads_and_writes_the_same_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = b"tradedata" * 1000
    fast = codec.deflate(payload)
    monkeypatch.setattr(codec, "_zlib_impl", None)
    monkeypatch.setattr(codec, "_LEVEL", 6)

    slow = codec.deflate(payload)

    assert codec.inflate(fast) == payload and gzip.decompress(slow) == payload
    assert codec.checksum(b"abc") == "crc32:352441c2"


def test_malformed_blocks_raise_value_error() -> None:
    ts = np.arange(5, dtype=np.int64)
    cols = {"open": np.ones(5), "high": np.ones(5), "low": np.ones(5), "close": np.ones(5)}
    block = codec.encode_block(ts, cols)
    out = np.empty(5, dtype=np.int64), np.empty((4, 5))

    with pytest.raises(ValueError):
        codec.decode_block(b"XXXX" + block[4:], *out)
    with pytest.raises(ValueError):
        codec.decode_block(block + b"\0", *out)
    with pytest.raises(ValueError):
        codec.decode_block(block, np.empty(4, dtype=np.int64), np.empty((4, 4)))
