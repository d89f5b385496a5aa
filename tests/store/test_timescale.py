"""The PostgreSQL store on a real TimescaleDB: ``bars`` becomes a hypertable (a new store and
one migrated from an older version), and writes, reads, coverage, sizes, delete/clear and store
sync work on its chunks.

The server is PGlite with the TimescaleDB extension (see tests/support/timescale.py); it runs
one session at a time, so each test closes the store before it inspects the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import timescale
from tradedata.cache import Cache
from tradedata.cache.postgres import PostgresStore
from tradedata.cache.postgres.schema import LATEST, SCHEMA, migrate
from tradedata.cli import main

psycopg = pytest.importorskip(
    "psycopg", reason="psycopg not installed: pip install 'tradedata[postgresql]'"
)


@pytest.fixture
def timescale_url() -> Iterator[str]:
    """A fresh TimescaleDB database (its own server process) for one test."""
    yield from timescale.serve()


def _bars(start: str, n: int, value: float = 100.0) -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="timestamp")
    close = value + np.arange(n) % 97 / 100
    data = {"open": close, "high": close + 1, "low": close - 1, "close": close}
    return pd.DataFrame({**data, "volume": np.full(n, value)}, index=index)


def _hypertables(url: str) -> list[tuple[str, str, str, int]]:
    with psycopg.connect(url) as conn:
        views = conn.execute("SELECT to_regclass('timescaledb_information.hypertables')")
        if views.fetchone()[0] is None:
            return []  # the extension is not installed: no hypertables
        return [
            tuple(row)
            for row in conn.execute(
                "SELECT h.hypertable_schema, h.hypertable_name, d.column_name, h.num_chunks"
                " FROM timescaledb_information.hypertables h"
                " JOIN timescaledb_information.dimensions d USING"
                " (hypertable_schema, hypertable_name)"
            )
        ]


def test_bars_become_a_hypertable_on_open(timescale_url: str) -> None:
    PostgresStore(timescale_url).close()

    with psycopg.connect(timescale_url) as conn:
        versions = [r[0] for r in conn.execute(f"SELECT version FROM {SCHEMA}.schema_migrations")]
        extension = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    assert versions == list(range(1, LATEST + 1))
    assert extension is not None
    assert _hypertables(timescale_url) == [(SCHEMA, "bars", "open_time", 0)]


def test_write_read_and_coverage_round_trip_on_the_hypertable(timescale_url: str) -> None:
    first = _bars("2023-01-01", 60_000)  # about six weeks: bars spread over several chunks
    later = _bars("2023-02-10", 20_000, value=200.0)  # overlaps the end of the first batch
    with PostgresStore(timescale_url) as store:
        assert store.write(
            "BTC/USDT", "1m", first, source="binance", coverage=(first.index[0], first.index[-1])
        ) == [2023]
        store.write(
            "BTC/USDT", "1m", later, source="binance", coverage=(later.index[0], later.index[-1])
        )
        whole = store.read("BTC/USDT", "1m", source="binance")
        part = store.read("BTC/USDT", "1m", "2023-01-20", "2023-01-20 00:09", source="binance")
        spans = store.coverage("BTC/USDT", "1m", source="binance")
        holes = store.missing_ranges(
            "BTC/USDT", "1m", "2022-12-31 23:58", "2023-02-25", source="binance"
        )
        meta = store.metadata("BTC/USDT", "1m", 2023, source="binance")
        info = store.info()

    expected = pd.concat([first[first.index < later.index[0]], later])
    assert len(whole) == len(expected) == 60_000 + 20_000 - (60_000 - 57_600)
    assert whole.index.equals(expected.index)
    assert np.array_equal(whole[expected.columns].to_numpy(), expected.to_numpy())
    assert part.index.equals(first.index[27_360:27_370]) and part["volume"].eq(100.0).all()
    assert [(s.start, s.end, s.provider) for s in spans] == [
        (first.index[0], later.index[-1], "binance")
    ]
    assert holes == [
        (pd.Timestamp("2022-12-31 23:58", tz="UTC"), pd.Timestamp("2022-12-31 23:59", tz="UTC")),
        (later.index[-1] + pd.Timedelta("1min"), pd.Timestamp("2023-02-25", tz="UTC")),
    ]
    assert meta is not None and meta["bars"] == len(expected)
    ((schema, table, column, chunks),) = _hypertables(timescale_url)
    assert (schema, table, column) == (SCHEMA, "bars", "open_time") and chunks >= 6
    # the bars live in the hypertable's chunks: the store's size counts them
    assert info["size_bytes"] >= len(expected) * 80


def test_a_store_of_an_older_version_is_migrated_into_a_hypertable(timescale_url: str) -> None:
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        assert migrate(conn, upto=2) == 2  # a store written before the hypertable migration
        conn.execute(f"INSERT INTO {SCHEMA}.providers (name) VALUES ('binance')")
        conn.execute(
            f"INSERT INTO {SCHEMA}.series (source, symbol, timeframe)"
            " VALUES ('binance', 'BTC/USDT', '1h')"
        )
        conn.execute(
            f"INSERT INTO {SCHEMA}.bars SELECT 1, t, 1, 2, 0.5, 1.5, 10, 'NaN', 1 FROM"
            " generate_series('2023-01-01'::timestamptz, '2023-03-31 23:00', '1 hour') t"
        )
    assert _hypertables(timescale_url) == []

    with PostgresStore(timescale_url) as store:
        frame = store.read("BTC/USDT", "1h")
    ((schema, table, _, chunks),) = _hypertables(timescale_url)
    with psycopg.connect(timescale_url) as conn:
        only_parent = conn.execute(f"SELECT count(*) FROM ONLY {SCHEMA}.bars").fetchone()[0]

    assert len(frame) == 90 * 24 and frame["close"].eq(1.5).all()
    assert (schema, table) == (SCHEMA, "bars") and chunks >= 12
    assert only_parent == 0  # migrate_data moved the old rows into chunks


def test_delete_and_clear_on_the_hypertable(timescale_url: str) -> None:
    with PostgresStore(timescale_url) as store:
        store.write("BTC/USDT", "1m", _bars("2023-01-01", 30_000), source="binance")
        store.write("ETH/USDT", "1m", _bars("2023-01-01", 30_000), source="binance")
        assert store.delete("BTC/USDT", "1m", source="binance") == 1
        assert store.read("BTC/USDT", "1m", source="binance").empty
        assert len(store.read("ETH/USDT", "1m", source="binance")) == 30_000
        store.clear()
        assert store.read("ETH/USDT", "1m", source="binance").empty
        assert store.info()["series"] == 0
    assert _hypertables(timescale_url)[0][:2] == (SCHEMA, "bars")


def test_store_sync_both_ways_and_verify_on_the_hypertable(
    timescale_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    with Cache(tmp_path / "a") as local:
        local.write("BTC/USDT", "1m", _bars("2023-12-25", 20_000), provider="binance")
        local.add_coverage("BTC/USDT", "1m", "2023-12-25", "2024-01-07 21:19", "binance")
        expected = local.read("BTC/USDT", "1m")
        spans = local.coverage("BTC/USDT", "1m")

    sync = ["store", "sync", "--from", str(tmp_path / "a"), "--to", timescale_url, "--json"]
    assert main(sync) == 0
    copied = json.loads(capsys.readouterr().out)
    assert main(["store", "sync", "--from", timescale_url, "--to", str(tmp_path / "b")]) == 0

    assert copied["partitions_copied"] == 2  # 2023 and 2024
    with PostgresStore(timescale_url) as shared:
        pd.testing.assert_frame_equal(shared.read("BTC/USDT", "1m"), expected)
        assert shared.coverage("BTC/USDT", "1m") == spans
        assert shared.quick_check() == [] and shared.verify() == []
        (info,) = shared.series()
    with Cache(tmp_path / "b") as back:
        pd.testing.assert_frame_equal(back.read("BTC/USDT", "1m"), expected)
    assert (info.symbol, info.bars) == ("BTC/USDT", 20_000)
    assert _hypertables(timescale_url)[0][3] >= 2
