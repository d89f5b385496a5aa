"""The PostgreSQL store's read blocks (a compressed columnar copy of each month) on a real
server: reads from blocks equal reads of the rows for any history of writes, a store from
before blocks reads its rows until a year is written again, a damaged block is found and
rebuilt, and open interest is kept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradedata.cache.codec import block_columns, decode_block, deflate, encode_block, inflate
from tradedata.cache.postgres import PostgresStore
from tradedata.cache.postgres.io import read_rows
from tradedata.cache.postgres.schema import SCHEMA, migrate
from tradedata.model import OHLCV_COLUMNS

psycopg = pytest.importorskip(
    "psycopg", reason="psycopg not installed: pip install 'tradedata[postgresql]'"
)


def _bars(start: str, n: int, freq: str, seed: int, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    close = np.round(100 + np.cumsum(rng.normal(0, 1, n)), 2)
    data = {"open": close, "high": close + 1, "low": close - 1, "close": close}
    data["volume"] = rng.random(n) * 1000  # arbitrary float64: stored raw, bit for bit
    for name in extra:
        data[name] = np.round(rng.random(n) * 5000, 3)
    return pd.DataFrame(data, index=index)


def _table(store: PostgresStore, symbol: str, tf: str, lo: int | None, hi: int | None) -> Any:
    """The bars as the rows say, bypassing the blocks."""

    def fetch(cur: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        cur.execute(
            f"SELECT id, has_adj, has_oi FROM {SCHEMA}.series WHERE symbol = %s AND timeframe = %s",
            (symbol, tf),
        )
        sid, has_adj, has_oi = cur.fetchone()
        optional = [*(["adj_close"] if has_adj else []), *(["open_interest"] if has_oi else [])]
        columns = (*OHLCV_COLUMNS, *optional)
        ts, values, _ = read_rows(cur, sid, columns, lo, hi)
        return ts, values, columns

    ts, values, columns = store._run(fetch)
    index = pd.DatetimeIndex(ts.view("M8[ns]"), name="timestamp").tz_localize("UTC")
    return pd.DataFrame(values.T, index=index, columns=list(columns))


def _blocks(url: str) -> tuple[int, int, list[int]]:
    with psycopg.connect(url) as conn:
        count, rows = conn.execute(
            f"SELECT count(*), coalesce(sum(rows), 0) FROM {SCHEMA}.bar_blocks"
        ).fetchone()
        years = [r[0] for r in conn.execute(f"SELECT year FROM {SCHEMA}.block_years ORDER BY 1")]
    return int(count), int(rows), years


def _tamper_last_block(url: str) -> None:
    """Re-encode the newest block with every close 1.0 higher (same rows, a valid block)."""
    with psycopg.connect(url, autocommit=True) as conn:
        month, n, block = conn.execute(
            f"SELECT month_ns, rows, block FROM {SCHEMA}.bar_blocks ORDER BY month_ns DESC LIMIT 1"
        ).fetchone()
        raw = inflate(bytes(block))
        names = block_columns(raw)
        ts, values = np.empty(n, np.int64), np.empty((len(names), n))
        decode_block(raw, ts, values)
        values[names.index("close")] += 1.0
        forged = deflate(encode_block(ts, dict(zip(names, values, strict=True))))
        conn.execute(
            f"UPDATE {SCHEMA}.bar_blocks SET block = %s WHERE month_ns = %s", (forged, month)
        )


def test_every_month_written_has_its_block_and_reads_come_from_them(pg_url: str) -> None:
    frame = _bars("2021-11-20", 60 * 24 * 50, "1min", 1)  # two years, three months
    with PostgresStore(pg_url) as store:
        store.write("BTC/USDT", "1m", frame, provider="binance")
        assert _blocks(pg_url) == (3, len(frame), [2021, 2022])
        assert store.read("BTC/USDT", "1m").equals(frame)
        # a block that says something else is what a read returns: reads use the blocks
        _tamper_last_block(pg_url)
        assert not store.read("BTC/USDT", "1m").equals(frame)
        damage = store.verify()
        assert [(d.year, "blocks" in d.reason) for d in damage] == [(2022, True)]
        assert store.read("BTC/USDT", "1m").equals(frame)
        assert store.verify() == []


def test_a_store_from_before_blocks_reads_its_rows_until_a_year_is_written(
    pg_url: str,
) -> None:
    old = _bars("2020-12-31 22:00", 24 * 40, "1h", 2)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrate(conn, upto=3)  # the schema before open interest and blocks
    with PostgresStore(pg_url) as store, psycopg.connect(pg_url, autocommit=True) as conn:
        store.write("ETH/USDT", "1h", old, provider="binance")
        conn.execute(f"DELETE FROM {SCHEMA}.bar_blocks")  # as if written before version 5
        conn.execute(f"DELETE FROM {SCHEMA}.block_years")
        assert store.read("ETH/USDT", "1h").equals(old)
        newer = _bars("2021-01-20", 24, "1h", 3)
        store.write("ETH/USDT", "1h", newer, provider="bybit")
        assert _blocks(pg_url)[2] == [2021]  # 2021 whole again; 2020 still from its rows
        expected = pd.concat(
            [old[old.index < newer.index[0]], newer, old[old.index > newer.index[-1]]]
        )
        assert store.read("ETH/USDT", "1h").equals(expected)
        assert store.read("ETH/USDT", "1h", "2020-12-31 23:00", "2021-01-01 01:00").equals(
            expected.loc["2020-12-31 23:00":"2021-01-01 01:00"]
        )


def test_open_interest_and_adjusted_closes_are_kept_per_year(pg_url: str) -> None:
    plain = _bars("2022-12-30", 48, "1h", 4)
    with_oi = _bars("2023-01-02", 48, "1h", 5, ("open_interest",))
    with PostgresStore(pg_url) as store:
        store.write("BTC/USDT:USDT", "1h", plain, provider="binance")
        store.write("BTC/USDT:USDT", "1h", with_oi, provider="binance")
        got = store.read("BTC/USDT:USDT", "1h")
    assert list(got.columns) == [*OHLCV_COLUMNS, "open_interest"]
    assert got["open_interest"].loc[: plain.index[-1]].isna().all()
    assert got.loc[with_oi.index].equals(with_oi)


def test_deleting_and_clearing_remove_the_blocks(pg_url: str) -> None:
    with PostgresStore(pg_url) as store:
        store.write("A/B", "1h", _bars("2023-01-01", 100, "1h", 6), provider="x")
        store.write("C/D", "1h", _bars("2023-01-01", 100, "1h", 7), provider="x")
        store.delete("A/B")
        assert _blocks(pg_url)[:2] == (1, 100)
        store.clear()
        assert _blocks(pg_url) == (0, 0, [])


_write = st.tuples(
    st.integers(0, 24 * 400),  # start hour after 2021-11-01
    st.integers(1, 24 * 60),  # bars
    st.integers(0, 2**16),  # seed
    st.sampled_from([(), ("adj_close",), ("open_interest",), ("adj_close", "open_interest")]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    writes=st.lists(_write, min_size=1, max_size=4),
    bounds=st.tuples(st.integers(-100, 24 * 500), st.integers(-100, 24 * 500)),
)
def test_reads_equal_the_rows_after_any_writes(
    pg_url: str, writes: list[Any], bounds: tuple[int, int]
) -> None:
    base = pd.Timestamp("2021-11-01", tz="UTC")
    with PostgresStore(pg_url) as store:
        store.clear()
        for i, (start, n, seed, extra) in enumerate(writes):
            when = (base + pd.Timedelta(hours=start)).isoformat()
            store.write("X/Y", "1h", _bars(when, n, "1h", seed, extra), provider=f"p{i % 2}")
        whole = store.read("X/Y", "1h")
        assert whole.equals(_table(store, "X/Y", "1h", None, None))
        lo, hi = sorted(base + pd.Timedelta(hours=h) for h in bounds)
        part = store.read("X/Y", "1h", lo, hi)
        assert part.equals(_table(store, "X/Y", "1h", lo.value, hi.value))
        # the metadata written through the blocks counts each provider's rows as the table does
        with psycopg.connect(pg_url) as conn:
            counted = conn.execute(
                "SELECT extract(year FROM b.open_time AT TIME ZONE 'UTC')::int, p.name, count(*)"
                f" FROM {SCHEMA}.bars b JOIN {SCHEMA}.providers p ON p.id = b.provider_id"
                " GROUP BY 1, 2"
            ).fetchall()
        for year in store.years("X/Y", "1h"):
            runs = store.metadata("X/Y", "1h", year)["providers"]
            said = {r["provider"]: r["bars"] for r in runs}
            assert said == {name: n for y, name, n in counted if y == year}
        assert store.quick_check() == [] and store.verify() == []


def test_health_reports_read_blocks_that_disagree_with_the_metadata(pg_url: str) -> None:
    with PostgresStore(pg_url) as store:
        store.write("BTC/USDT", "1h", _bars("2024-01-30", 100, "1h", 8), provider="binance")
        assert store.quick_check() == []
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DELETE FROM {SCHEMA}.bar_blocks WHERE rows < 50")  # February's
        said = store.quick_check()
    assert said == ["BTC/USDT 1h 2024 (binance): metadata says 100 bars, its read blocks 52"]


def test_a_year_whose_blocks_lost_a_month_is_read_from_its_rows(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    frame = _bars("2024-01-30", 100, "1h", 9)
    with PostgresStore(pg_url) as store:
        store.write("BTC/USDT", "1h", frame, provider="binance")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DELETE FROM {SCHEMA}.bar_blocks WHERE rows < 50")
        with caplog.at_level("WARNING", logger="tradedata"):
            got = store.read("BTC/USDT", "1h")
    assert got.equals(frame)
    assert "hold 52 bars, its metadata says 100" in caplog.text


def test_variable_width_copy_rows_are_parsed_and_cut_streams_refused() -> None:
    from tradedata.cache.postgres.binary import HEADER, TRAILER, decode_fields

    row = b"\x00\x02" + b"\x00\x00\x00\x04" + (7).to_bytes(4, "big") + b"\x00\x00\x00\x03abc"
    rows = decode_fields(HEADER + row + row + TRAILER)
    assert [[bytes(f) for f in r] for r in rows] == [[(7).to_bytes(4, "big"), b"abc"]] * 2
    for broken in (HEADER + row, HEADER + row[:-1] + TRAILER, HEADER + row + TRAILER + b"x"):
        with pytest.raises(ValueError):
            decode_fields(broken)
    null = b"\x00\x01\xff\xff\xff\xff"
    with pytest.raises(ValueError, match="NULL"):
        decode_fields(HEADER + null + TRAILER)


def test_a_block_that_does_not_decode_is_read_around_and_rebuilt_by_the_next_write(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    frame = _bars("2024-01-01", 24 * 60, "1h", 10)  # January and February
    with PostgresStore(pg_url) as store:
        store.write("BTC/USDT", "1h", frame.iloc[:-1], provider="binance")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                f"UPDATE {SCHEMA}.bar_blocks SET block = 'not a gzip member'::bytea"
                f" WHERE month_ns = (SELECT min(month_ns) FROM {SCHEMA}.bar_blocks)"
            )
        with caplog.at_level("WARNING", logger="tradedata"):
            assert store.read("BTC/USDT", "1h").equals(frame.iloc[:-1])
            assert "does not decode" in caplog.text
            store.write("BTC/USDT", "1h", frame.iloc[-1:], provider="bybit")  # February
        assert store.read("BTC/USDT", "1h").equals(frame)
        assert store.verify() == [] and store.quick_check() == []
        runs = store.metadata("BTC/USDT", "1h", 2024)["providers"]
    assert runs == [
        {"provider": "binance", "bars": len(frame) - 1},
        {"provider": "bybit", "bars": 1},
    ]
