"""Benchmark the stores side by side: the PostgreSQL store, the embedded store, pandas' SQL.

Run from the repository root: ``python benchmarks/bench_store.py [--url postgresql://...]``.
Without ``--url`` a throwaway PostgreSQL cluster is started (``initdb``/``pg_ctl``, as the tests
do; fsync off, so writes measure the store, not the disk). One run measures:

- read 1,000,000 one-minute bars: the PostgreSQL store (its read blocks, see
  ``tradedata.cache.postgres.blocks``), the same bars from the one-row-per-bar table alone
  (binary COPY parsed whole by numpy: a store written before read blocks), the embedded store,
  and ``pandas.read_sql`` of the same rows from the same table (SQLAlchemy + psycopg).
  Targets: within 5x of the embedded store, >= 5x faster than read_sql;
- write the same bars: the store's ``write`` (binary COPY + metadata), raw binary COPY, and
  ``DataFrame.to_sql`` (SQLAlchemy, psycopg ``executemany``) into a table of the same shape;
- fleet: 16 processes ask at once for the same missing month of 1m bars from the simulator
  (Binance dialect) through one PostgreSQL store: kline requests in total vs one process alone,
  and whether every process got identical bars;
- 16 concurrent readers, each reading its own series (100,000 1m bars) 10 times, on each store:
  bars/s in total and the p95 read latency.

The table is printed and written to ``benchmarks/out/bench_store.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tradedata.cache import Cache  # noqa: E402
from tradedata.cache.postgres import PostgresStore  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "bench_store.txt"
ROWS = 1_000_000
FLEET = 16
READERS = 16
READER_ROWS = 100_000
READS = 10
MONTH = ("2024-01-01", "2024-01-31 23:59")


def bars(n: int, start: str = "2021-01-01", seed: int = 1) -> pd.DataFrame:
    """A random-walk 1m OHLCV frame (2-decimal prices, 5-decimal volumes)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="timestamp")
    close = np.round(30_000 * np.exp(np.cumsum(rng.normal(0, 0.001, n))), 2)
    open_ = np.concatenate(([30_000.0], close[:-1]))
    wick = np.abs(rng.normal(0, 0.0005, (2, n)))
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.round(np.maximum(open_, close) * (1 + wick[0]), 2),
            "low": np.round(np.minimum(open_, close) * (1 - wick[1]), 2),
            "close": close,
            "volume": np.round(rng.lognormal(2.0, 1.0, n), 5),
        },
        index=index,
    )


def best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - began)
    return min(times), out


# -- read and write ------------------------------------------------------------------------------


def read_write(url: str, folder: Path) -> dict[str, float]:
    """Figures for reading and writing ``ROWS`` bars on each store and through pandas."""
    import sqlalchemy

    frame = bars(ROWS)
    out: dict[str, float] = {}
    with PostgresStore(url) as pg, Cache(folder / "embedded") as cache:
        out["write_store_pg"], _ = best(
            lambda: pg.write("BTC/USDT", "1m", frame, provider="bench"), repeat=1
        )
        out["write_store_embedded"], _ = best(
            lambda: cache.write("BTC/USDT", "1m", frame, provider="bench"), repeat=1
        )
        out["read_pg"], got = best(lambda: pg.read("BTC/USDT", "1m"))
        assert got.equals(frame)
        out["read_pg_rows"], got = best(lambda: _rows_only(pg))
        assert got.equals(frame)
        out["read_embedded"], got = best(lambda: cache.read("BTC/USDT", "1m"))
        assert got.equals(frame)
        out["write_copy"] = _raw_copy(pg, frame)
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    query = (
        "SELECT open_time, open, high, low, close, volume FROM tradedata.bars b JOIN"
        " tradedata.series s ON s.id = b.series_id WHERE s.symbol = 'BTC/USDT'"
        " AND s.timeframe = '1m' ORDER BY open_time"
    )
    out["read_sql"], got = best(lambda: pd.read_sql(query, engine, index_col="open_time"), repeat=2)
    assert len(got) == ROWS
    plain = frame.reset_index()
    began = time.perf_counter()
    plain.to_sql("bench_to_sql", engine, schema="public", if_exists="replace", index=False,
                 chunksize=50_000)  # fmt: skip
    out["write_to_sql"] = time.perf_counter() - began
    engine.dispose()
    return out


def _rows_only(pg: PostgresStore) -> pd.DataFrame:
    """The same bars from the one-row-per-bar table alone (binary COPY parsed by numpy): the
    path a year takes when it has no read blocks (a store written before schema 5)."""
    from tradedata.cache.partitions import Rows
    from tradedata.cache.postgres.io import read_rows
    from tradedata.model import OHLCV_COLUMNS

    def fetch(cur: Any) -> pd.DataFrame:
        cur.execute("SELECT id FROM tradedata.series WHERE symbol = 'BTC/USDT'")
        ts, values, _ = read_rows(cur, cur.fetchone()[0], OHLCV_COLUMNS, None, None)
        return Rows(ts, values, OHLCV_COLUMNS).frame()

    return pg._run(fetch)  # type: ignore[no-any-return]


def _raw_copy(pg: PostgresStore, frame: pd.DataFrame) -> float:
    """Binary COPY of the bars into an empty series, without the metadata work."""
    from tradedata.cache.postgres.io import put_bars

    ts = frame.index.asi8
    values = {c: frame[c].to_numpy() for c in frame.columns}

    def work(cur: Any) -> None:
        cur.execute(
            "INSERT INTO tradedata.series (source, symbol, timeframe)"
            " VALUES ('binance', 'COPY/RAW', '1m')"
            " RETURNING id"
        )
        series_id = cur.fetchone()[0]
        cur.execute("INSERT INTO tradedata.providers (name) VALUES ('raw') RETURNING id")
        put_bars(cur, series_id, ts, values, cur.fetchone()[0])

    began = time.perf_counter()
    pg._run(work)
    return time.perf_counter() - began


# -- the fleet -----------------------------------------------------------------------------------


def serve(commands: Any, answers: Any) -> None:
    """Child process: run the simulator until told to stop; answer stats requests."""
    from tradedata.sim.simulator import ExchangeSimulator

    with ExchangeSimulator(exchanges=("binance",), seed=3) as sim:
        answers.put(sim.url)
        while commands.get() == "stats":
            answers.put(sum(v for k, v in sim.stats.by_path.items() if k.endswith("/klines")))


def fleet_worker(store: str, sim_url: str, go: Any, answers: Any) -> None:
    """Child process: wait for the start signal, fetch the month, report bars and digest."""
    from tradedata.manager import DataManager

    with DataManager(store=store, providers={"binance": {"url": sim_url}}) as dm:
        dm.provider("binance").load_markets()
        answers.put("ready")
        go.wait()
        began = time.perf_counter()
        frame = dm.get_ohlcv("BTC/USDT", "1m", *MONTH, provider="binance")
        seconds = time.perf_counter() - began
    digest = hashlib.sha256(frame.index.asi8.tobytes() + frame.to_numpy().tobytes()).hexdigest()
    answers.put((len(frame), digest, seconds))


def fleet(url_for: Callable[[], str]) -> dict[str, Any]:
    """One process alone, then ``FLEET`` at once on a fresh store: requests and answers."""
    ctx = mp.get_context("spawn")
    commands, answers = ctx.Queue(), ctx.Queue()
    sim = ctx.Process(target=serve, args=(commands, answers), daemon=True)
    sim.start()
    try:
        sim_url = answers.get(timeout=60)
        out: dict[str, Any] = {}
        for label, n in (("alone", 1), ("fleet", FLEET)):
            commands.put("stats")
            before = answers.get(timeout=60)
            go, results = ctx.Event(), ctx.Queue()
            store = url_for()
            procs = [
                ctx.Process(target=fleet_worker, args=(store, sim_url, go, results))
                for _ in range(n)
            ]
            for p in procs:
                p.start()
            for _ in procs:
                assert results.get(timeout=300) == "ready"
            began = time.perf_counter()
            go.set()
            got = [results.get(timeout=600) for _ in procs]
            wall = time.perf_counter() - began
            for p in procs:
                p.join(timeout=60)
            commands.put("stats")
            requests = answers.get(timeout=60) - before
            out[label] = {
                "requests": requests,
                "bars": got[0][0],
                "identical": len({g[1] for g in got}) == 1,
                "seconds": wall,
                "digest": got[0][1],
            }
        out["same_as_alone"] = out["fleet"]["digest"] == out["alone"]["digest"]
        return out
    finally:
        commands.put("stop")
        sim.join(timeout=30)


# -- concurrent readers --------------------------------------------------------------------------


def reader(spec: str, symbol: str, go: Any, answers: Any) -> None:
    """Child process: read one series ``READS`` times; report each latency."""
    from tradedata.cache.opening import open_store

    with open_store(spec) as store:
        store.read(symbol, "1m")  # warm: connection, imports
        answers.put("ready")
        go.wait()
        latencies = []
        for _ in range(READS):
            began = time.perf_counter()
            frame = store.read(symbol, "1m")
            latencies.append(time.perf_counter() - began)
            assert len(frame) == READER_ROWS
    answers.put(latencies)


def readers(spec: str) -> dict[str, float]:
    """``READERS`` processes read their own series at once: bars/s in total and p95."""
    from tradedata.cache.opening import open_store

    symbols = [f"S{i:02d}/USDT" for i in range(READERS)]
    with open_store(spec) as store:
        for i, symbol in enumerate(symbols):
            store.write(symbol, "1m", bars(READER_ROWS, "2023-01-01", seed=i), provider="bench")
    ctx = mp.get_context("spawn")
    go, answers = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=reader, args=(spec, s, go, answers)) for s in symbols]
    for p in procs:
        p.start()
    for _ in procs:
        assert answers.get(timeout=300) == "ready"
    began = time.perf_counter()
    go.set()
    latencies = [x for _ in procs for x in answers.get(timeout=600)]
    wall = time.perf_counter() - began
    for p in procs:
        p.join(timeout=60)
    return {
        "bars_per_s": READERS * READS * READER_ROWS / wall,
        "p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000,
        "median_ms": statistics.median(latencies) * 1000,
    }


# -- the report ----------------------------------------------------------------------------------


def report(rw: dict[str, float], fl: dict[str, Any], rd: dict[str, dict[str, float]]) -> str:
    """The printed tables."""
    cpus = os.cpu_count()
    lines = [
        f"bench_store: {ROWS:,} 1m bars, PostgreSQL 15 on loopback, {cpus} cores, load "
        f"{os.getloadavg()[0]:.1f}",
        "",
        "read 1,000,000 bars                 seconds   vs embedded   vs read_sql",
    ]
    for label, key in (
        ("PostgreSQL store (read blocks)", "read_pg"),
        ("PostgreSQL rows (binary COPY)", "read_pg_rows"),
        ("embedded store (diskcache)", "read_embedded"),
        ("pandas.read_sql (same table)", "read_sql"),
    ):
        lines.append(
            f"  {label:<32} {rw[key]:8.3f}   {rw[key] / rw['read_embedded']:10.1f}x"
            f"   {rw['read_sql'] / rw[key]:10.1f}x faster"
        )
    ok_embedded = rw["read_pg"] <= 5 * rw["read_embedded"]
    ok_sql = rw["read_sql"] >= 5 * rw["read_pg"]
    lines += [
        f"  targets: within 5x of embedded: {'met' if ok_embedded else 'MISSED'}; "
        f">= 5x faster than read_sql: {'met' if ok_sql else 'MISSED'}",
        "",
        "write 1,000,000 bars                seconds   bars/s",
    ]
    for label, key in (
        ("binary COPY (rows only)", "write_copy"),
        ("PostgreSQL store write()", "write_store_pg"),
        ("embedded store write()", "write_store_embedded"),
        ("DataFrame.to_sql", "write_to_sql"),
    ):
        lines.append(f"  {label:<32} {rw[key]:8.2f}   {ROWS / rw[key]:>10,.0f}")
    lines += [
        f"  COPY is {rw['write_to_sql'] / rw['write_copy']:.0f}x faster than to_sql",
        "",
        f"fleet: {FLEET} processes, one missing month of 1m bars ({MONTH[0]} .. {MONTH[1]}),"
        " simulator (Binance)",
        "                       processes   kline requests   bars each   identical   seconds",
    ]
    for label, n in (("alone", 1), ("fleet", FLEET)):
        f = fl[label]
        lines.append(
            f"  {label:<20} {n:>9}   {f['requests']:>14}   {f['bars']:>9}   "
            f"{'yes' if f['identical'] else 'NO':>9}   {f['seconds']:7.2f}"
        )
    lines += [
        f"  fleet bars identical to the lone process's: {'yes' if fl['same_as_alone'] else 'NO'}",
        "",
        f"{READERS} concurrent readers, each its own series of {READER_ROWS:,} 1m bars,"
        f" {READS} reads each",
        "                       bars/s total     median ms     p95 ms",
    ]
    for label in ("postgresql", "embedded"):
        r = rd[label]
        lines.append(
            f"  {label:<20} {r['bars_per_s']:>12,.0f}   {r['median_ms']:>11.1f}"
            f"   {r['p95_ms']:>8.1f}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run every measurement once and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an existing PostgreSQL server's URL (a database we own)")
    args = parser.parse_args()
    server = None
    if args.url is None:
        from tests.support.pgserver import start_server

        server = start_server()
    try:

        def fresh() -> str:
            if server is None:
                raise SystemExit("--url runs need an empty database per part: not supported")
            return server.url(server.new_database())

        with tempfile.TemporaryDirectory() as tmp:
            rw = read_write(fresh(), Path(tmp))
            fl = fleet(fresh)
            rd = {"postgresql": readers(fresh()), "embedded": readers(str(Path(tmp) / "r"))}
        text = report(rw, fl, rd)
    finally:
        if server is not None:
            from tests.support.pgserver import stop_server

            stop_server(server)
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)


if __name__ == "__main__":
    main()
