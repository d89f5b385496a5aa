"""The PostgreSQL store on a real server: schema migrations, secrets, binary COPY, atomic
batches, the fleet-wide fetch lock, store sync, and selection by env, config and CLI."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.pgserver import PASSWORD, Server
from tradedata.cache import Cache
from tradedata.cache.postgres import PostgresStore
from tradedata.cache.postgres.binary import decode_rows, encode_rows
from tradedata.cache.postgres.schema import LATEST, SCHEMA, migrate
from tradedata.cli import main
from tradedata.errors import CacheError, DataValidationError
from tradedata.manager import DataManager

psycopg = pytest.importorskip(
    "psycopg", reason="psycopg not installed: pip install 'tradedata[postgresql]'"
)
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _bars(start: str, n: int, freq: str = "1min", value: float = 100.0) -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    close = value + np.arange(n) % 97 / 100
    data = {"open": close, "high": close + 1, "low": close - 1, "close": close}
    return pd.DataFrame({**data, "volume": np.full(n, value)}, index=index)


def _no_password(pg_url: str) -> str:
    return pg_url.replace(f":{PASSWORD}@", "@")


# -- schema ------------------------------------------------------------------------------------


def test_a_store_written_by_an_older_version_opens_and_is_migrated(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate(conn, upto=1) == 1  # what the first release created
        conn.execute(f"INSERT INTO {SCHEMA}.providers (name) VALUES ('binance')")
        conn.execute(
            f"INSERT INTO {SCHEMA}.series (source, symbol, timeframe)"
            " VALUES ('binance', 'BTC/USDT', '1h')"
        )
        conn.execute(
            f"INSERT INTO {SCHEMA}.bars SELECT 1, t, 1, 2, 0.5, 1.5, 10, 'NaN', 1 FROM"
            " generate_series('2023-01-01'::timestamptz, '2023-01-01 23:00', '1 hour') t"
        )

    with PostgresStore(pg_url) as store:
        frame = store.read("BTC/USDT", "1h")
        with psycopg.connect(pg_url) as conn:
            versions = [
                r[0] for r in conn.execute(f"SELECT version FROM {SCHEMA}.schema_migrations")
            ]
            actions = conn.execute("SELECT to_regclass('tradedata.actions')").fetchone()

    assert len(frame) == 24 and frame["close"].eq(1.5).all()
    assert versions == list(range(1, LATEST + 1)) and actions[0] is not None


def test_a_store_of_a_newer_version_is_refused(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {SCHEMA}.schema_migrations (version, name) VALUES (99, 'x')")

    with pytest.raises(CacheError, match="newer than this tradedata knows"):
        PostgresStore(pg_url)


def test_bars_are_a_plain_table_without_timescaledb(pg_url: str) -> None:
    PostgresStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = 'tradedata.bars'::regclass")
        relkind = kind.fetchone()[0]
    if available is None:
        assert relkind == "r"


# -- secrets -----------------------------------------------------------------------------------


def test_the_password_appears_in_no_repr_error_or_log(
    pg_url: str, pg_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with DataManager(store=pg_url) as dm:
        dm.import_frame(_bars("2024-01-01", 10), "BTC/USDT", "1m")
        shown = [repr(dm), repr(dm.store), json.dumps(dm.cache_info()), str(dm.series())]
    wrong = pg_url.replace(PASSWORD, "wrong-secret-123")
    with pytest.raises(CacheError) as caught:
        PostgresStore(wrong)
    chain = "".join(traceback.format_exception(caught.value))

    for text in [*shown, chain, caplog.text]:
        assert PASSWORD not in text and "wrong-secret-123" not in text
    assert "postgresql://tradedata:***@" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_password_comes_from_the_environment_or_the_config(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = _no_password(pg_url)
    with pytest.raises(CacheError, match="password"):
        PostgresStore(bare)
    config = {"store": {"url": bare, "password": PASSWORD}}
    with DataManager(config=config) as dm:
        assert isinstance(dm.store, PostgresStore) and PASSWORD not in repr(dm.config)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with PostgresStore(bare) as store:
        assert store.series() == []


def test_the_cli_says_one_line_without_the_password(
    pg_url: str, capsys: pytest.CaptureFixture
) -> None:
    wrong = pg_url.replace(PASSWORD, "wrong-secret-123")

    assert main(["--store", wrong, "cache", "info"]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: PostgreSQL store")
    assert "wrong-secret-123" not in err


# -- reading and writing -----------------------------------------------------------------------


def test_binary_copy_streams_are_parsed_whole_and_checked() -> None:
    fields = [("t", ">i8"), ("x", ">f8")]
    stream = encode_rows({"t": np.arange(5), "x": np.linspace(0, 1, 5)}, fields)

    rows = decode_rows(stream, fields)

    assert rows["t"].tolist() == list(range(5)) and rows["x"][-1] == 1.0
    with pytest.raises(ValueError):
        decode_rows(stream, [("t", ">i8"), ("x", ">f4")])  # another width
    with pytest.raises(ValueError):
        decode_rows(stream[:-2], fields)  # no trailer
    null = bytearray(stream)
    null[19 + 2 + 4 + 8 : 19 + 2 + 4 + 8 + 4] = b"\xff\xff\xff\xff"  # a NULL field
    with pytest.raises(ValueError):
        decode_rows(bytes(null), fields)


def test_bar_times_finer_than_a_microsecond_are_refused(pg_url: str) -> None:
    frame = _bars("2024-01-01", 3)
    frame.index = frame.index + pd.Timedelta(nanoseconds=1)
    with PostgresStore(pg_url) as store:
        with pytest.raises(DataValidationError):
            store.write("BTC/USDT", "1m", frame, provider="a")
        assert not store.has("BTC/USDT", "1m")


def test_readers_never_see_half_a_batch(pg_url: str) -> None:
    rows = 60_000
    with PostgresStore(pg_url) as store:
        store.write("BTC/USDT", "1m", _bars("2024-01-01", rows, value=0), provider="w")
    stop = threading.Event()
    seen: list[set[float]] = []

    def writer() -> None:
        with PostgresStore(pg_url) as store:
            version = 0
            while not stop.is_set():
                version += 1
                store.write(
                    "BTC/USDT", "1m", _bars("2024-01-01", rows, value=version), provider="w"
                )

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with PostgresStore(pg_url) as store:
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                frame = store.read("BTC/USDT", "1m")
                assert len(frame) == rows
                seen.append(set(np.unique(frame["volume"].to_numpy())))
    finally:
        stop.set()
        thread.join()

    assert all(len(s) == 1 for s in seen)  # one whole version per read
    assert len(set().union(*seen)) > 1  # and the versions did change under the reader


@pytest.mark.slow
def test_a_writer_killed_mid_write_leaves_a_whole_version(pg_url: str) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "cache"))
    from cacheworkers import BIG_ROWS, SYMBOL, TF, version_frame

    with PostgresStore(pg_url) as store:
        store.write(SYMBOL, TF, version_frame(0), provider="p", provider_info={"version": 0})
    for pause in (0.05, 0.3, 0.7, 1.2):
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/cache/cacheworkers.py"), "rewrite", pg_url],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(pause)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        with PostgresStore(pg_url) as store:
            frame = store.read(SYMBOL, TF)
            meta = store.metadata(SYMBOL, TF, 2023)
            assert meta is not None
            version = meta["provider_info"]["p"]["version"]
            pd.testing.assert_frame_equal(frame, version_frame(version), check_freq=False)
            assert meta["bars"] == len(frame) == BIG_ROWS


# -- the fleet ---------------------------------------------------------------------------------


def _fleet(store: str, sim_url: str, n: int, start: str, end: str) -> list[str]:
    worker = str(HERE / "fleetworker.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, worker, store, sim_url, "BTC/USDT", start, end],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", line or proc.communicate("", timeout=60)[1]
    outs = [proc.communicate("go\n", timeout=240) for proc in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
    return [out.strip() for out, _ in outs]


def _klines(sim: object) -> int:
    return sum(v for k, v in sim.stats.by_path.items() if k.endswith("/klines"))  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["postgresql", "diskcache"])
def test_a_fleet_fetches_a_missing_range_once(kind: str, pg_server: Server, tmp_path: Path) -> None:
    from tradedata.sim.simulator import ExchangeSimulator

    def fresh(name: str) -> tuple[str, str | None]:
        if kind == "diskcache":
            return str(tmp_path / name), None
        db = pg_server.new_database()
        return pg_server.url(db), db

    start, end = "2024-02-01", "2024-02-03 23:59"
    with ExchangeSimulator(exchanges=("binance",), seed=5) as sim:
        alone, db = fresh("alone")
        single = _fleet(alone, sim.url, 1, start, end)
        one_fetch = _klines(sim)
        shared, db2 = fresh("shared")
        answers = _fleet(shared, sim.url, 6, start, end)
        fleet_requests = _klines(sim) - one_fetch
        for name in (db, db2):
            if name:
                pg_server.drop_database(name)

    assert one_fetch > 1 and fleet_requests == one_fetch  # one set of requests in total
    assert set(answers) == set(single) and answers[0].split()[0] == str(3 * 1440)


# -- sync and selection ------------------------------------------------------------------------


def test_store_sync_copies_only_what_the_target_lacks(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with Cache(tmp_path / "a") as local:
        local.write("BTC/USDT", "1h", _bars("2023-12-31", 100, "1h"), provider="binance")
        local.write("BTC/USDT", "1h", _bars("2024-01-02", 5, "1h", 7.0), provider="kraken")
        local.add_coverage("BTC/USDT", "1h", "2023-12-31", "2024-01-04 23:00", "binance")
        local.add_coverage("AAPL", "1d", "2021-06-01", "2021-06-30", "yahoo")  # no bars
        local.set_fundamentals("AAPL", {"pe": 30.5}, ttl=3600)
        expected = local.read("BTC/USDT", "1h")
        spans = local.coverage("BTC/USDT", "1h")

    sync = ["store", "sync", "--from", str(tmp_path / "a"), "--to", pg_url, "--json"]
    assert main(sync) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(sync) == 0
    second = json.loads(capsys.readouterr().out)
    assert main(["store", "sync", "--from", pg_url, "--to", str(tmp_path / "b")]) == 0

    assert first["partitions_copied"] == 2 and first["fundamentals_copied"] == 1
    assert second["partitions_copied"] == 0 and second["partitions_skipped"] == 2
    assert second["spans_added"] == 0 and second["fundamentals_copied"] == 0
    assert PASSWORD not in json.dumps(first)
    with PostgresStore(pg_url) as shared, Cache(tmp_path / "b") as back:
        for store in (shared, back):
            pd.testing.assert_frame_equal(store.read("BTC/USDT", "1h"), expected)
            assert store.coverage("BTC/USDT", "1h") == spans
            assert store.missing_ranges("AAPL", "1d", "2021-06-01", "2021-06-30") == []
            assert store.provider_at("BTC/USDT", "1h", "2024-01-02 02:00") == "binance"
            assert store.get_fundamentals("AAPL") == {"pe": 30.5}
        meta = shared.metadata("BTC/USDT", "1h", 2024)
        assert meta is not None and meta["source_runs"][1] == ["kraken", 5]


def test_tradedata_store_env_and_config_select_the_shared_store(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path,
    capsys: pytest.CaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setenv("TRADEDATA_STORE", pg_url)
    assert main(["import", str(data_dir / "orcl-2014.txt"), "ORCL", "1d"]) == 0
    capsys.readouterr()
    assert main(["cache", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    monkeypatch.delenv("TRADEDATA_STORE")
    config = tmp_path / "config.yaml"
    config.write_text(f"store: {pg_url}\n")
    with DataManager(config=str(config)) as dm:
        frame = dm.get_ohlcv("ORCL", "1d", provider="cache")

    assert info["backend"] == "postgresql" and info["series"][0]["symbol"] == "ORCL"
    assert PASSWORD not in info["location"] and len(frame) == 252


def test_a_backtrader_feed_reads_the_shared_store_unchanged(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    import backtrader as bt

    from tradedata.feeds import TradeDataFeed

    monkeypatch.setenv("TRADEDATA_STORE", pg_url)
    assert main(["import", str(data_dir / "2006-day-001.txt"), "^STOXX50E", "1d"]) == 0
    closes: dict[str, list[float]] = {}

    class Record(bt.Strategy):  # type: ignore[misc]
        def next(self) -> None:
            closes.setdefault(self.data._name, []).append(self.data.close[0])

    for name, feed in (
        ("ours", TradeDataFeed(dataname="^STOXX50E", interval="1d", provider="cache")),
        ("csv", bt.feeds.BacktraderCSVData(dataname=str(data_dir / "2006-day-001.txt"))),
    ):
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(feed, name=name)
        cerebro.addstrategy(Record)
        cerebro.run()

    assert len(closes["ours"]) == 255 and closes["ours"] == closes["csv"]


@pytest.mark.parametrize(
    ("url", "shown", "bare"),
    [
        ("postgresql://me:p%40ss@db:5432/x", "postgresql://me:***@db:5432/x", "postgresql://me@db:5432/x"),
        ("postgresql://me@db/x?password=p@ss&sslmode=require",
         "postgresql://me@db/x?password=***&sslmode=require",
         "postgresql://me@db/x?sslmode=require"),
        ("postgres://db/x", "postgres://db/x", "postgres://db/x"),
    ],
)  # fmt: skip
def test_urls_lose_their_password_for_people_and_for_libpq(url: str, shown: str, bare: str) -> None:
    from tradedata.cache.postgres.dsn import redact, scrub, secrets_of, strip_password

    clean, password = strip_password(url)

    assert redact(url) == shown and clean == bare
    assert password in (None, "p@ss")
    said = f"connect to {url} failed: password=p@ss rejected"
    assert "p@ss" not in scrub(said, secrets_of(url)) and "p%40ss" not in scrub(
        said, secrets_of(url)
    )


def test_corporate_actions_are_kept_per_symbol_and_synced(pg_url: str, tmp_path: Path) -> None:
    actions = pytest.importorskip(
        "tradedata.actions", reason="corporate actions not merged yet", exc_type=ImportError
    )
    utc = pd.DatetimeIndex(["2021-07-20", "2024-06-10"]).tz_localize("UTC")
    nvda = actions.CorporateActions(
        pd.Series([4.0, 10.0], index=utc),
        pd.Series([0.04, 0.01], index=utc),
        checked_at=pd.Timestamp("2024-07-01", tz="UTC"),
        source="polygon",
    )
    with PostgresStore(pg_url) as store, Cache(tmp_path / "c") as local:
        store.set_actions("NVDA", nvda)
        assert store.get_actions("NVDA") == nvda and store.actions_symbols() == ["NVDA"]
        from tradedata.cache.sync import sync_stores

        assert sync_stores(store, local).actions_copied == 1
        assert local.get_actions("NVDA") == nvda
        assert store.delete_actions("NVDA") and store.get_actions("NVDA") is None


def test_health_checks_the_shared_store(pg_url: str, capsys: pytest.CaptureFixture) -> None:
    with DataManager(store=pg_url) as dm:
        dm.import_frame(_bars("2024-01-01", 100), "BTC/USDT", "1m")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert main(["--store", pg_url, "health", "--offline", "--json"]) in (0, 1)
        healthy = json.loads(capsys.readouterr().out)
        conn.execute(f"DELETE FROM {SCHEMA}.bars WHERE open_time < '2024-01-01 00:10+00'")
        assert main(["--store", pg_url, "health", "--offline", "--json"]) == 1
        damaged = json.loads(capsys.readouterr().out)

    def check(report: dict, name: str) -> dict:
        return next(c for c in report["checks"] if c["name"] == name)

    assert check(healthy, "cache:integrity")["status"] == "ok"
    assert check(healthy, "cache:disk")["status"] == "ok"
    assert PASSWORD not in json.dumps(healthy)
    assert "metadata says 100 bars, the table holds 90" in json.dumps(damaged)


def test_pinning_is_a_no_op_without_eviction(pg_url: str) -> None:
    with PostgresStore(pg_url) as store:
        with store.pinned("BTC/USDT", "1m", "2024-01-01", "2024-01-02"):
            store.write("BTC/USDT", "1m", _bars("2024-01-01", 5), provider="a")
        assert store.info()["max_size_bytes"] is None and len(store.read("BTC/USDT", "1m")) == 5
