"""Benchmark the Parquet export: 1,000,000 one-minute bars exported, then scanned by DuckDB.

Run from the repository root: ``python benchmarks/bench_parquet.py [--bars N] [--repeat R]``.
It stores the bars (the random walk of ``bench_cache.py``: 2-decimal prices, 5-decimal volumes)
in a fresh cache, then times, to a local folder:

- the full export (every year partition written), and its size on disk next to the cache's;
- a second export with nothing changed (the manifest check only);
- an export after one more day of bars (only the last year's partition is written);
- DuckDB scans of the dataset: an aggregate over every bar, one month by time filter, and one
  year by partition filter (Hive partition pruning), best of ``--repeat`` runs each;
- the same whole-dataset aggregate in pandas after ``Cache.read`` (for scale).

The table is printed and written to ``benchmarks/out/bench_parquet.txt``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_cache import make_bars  # noqa: E402

from tradedata.cache import Cache  # noqa: E402
from tradedata.parquet.export import export_parquet  # noqa: E402

SYMBOL, TIMEFRAME, SOURCE = "BTC/USDT", "1m", "binance"


def _best(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _bytes(path: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in path.rglob(pattern) if p.is_file())


def _scans(dest: Path, month: tuple[str, str], year: int) -> dict[str, str]:
    glob = f"read_parquet('{dest}/**/*.parquet', hive_partitioning = true)"
    return {
        "aggregate over every bar": (
            f"SELECT count(*), avg(close), max(high), min(low), sum(volume) FROM {glob}"
        ),
        "one month (time filter)": (
            f"SELECT count(*), avg(close) FROM {glob} WHERE timestamp >= TIMESTAMPTZ '{month[0]}' "
            f"AND timestamp < TIMESTAMPTZ '{month[1]}'"
        ),
        "one year (partition filter)": (
            f"SELECT count(*), avg(close) FROM {glob} WHERE symbol = '{SYMBOL}' AND year = {year}"
        ),
    }


def run(bars: int, repeat: int, work: Path) -> list[tuple[str, str, str]]:
    """Run every step; rows of (step, time, detail)."""
    import duckdb

    rows: list[tuple[str, str, str]] = []
    frame = make_bars(bars)
    with Cache(work / "cache") as cache:
        cache.write(SYMBOL, TIMEFRAME, frame, source=SOURCE)
        dest = work / "dataset"
        t0 = time.perf_counter()
        first = export_parquet(dest, cache=cache)
        full = time.perf_counter() - t0
        size = _bytes(dest, "*.parquet")
        rows.append(
            (
                f"export {bars:,} bars (full)",
                f"{full * 1000:.0f} ms",
                f"{first.written} partitions, {size / 1e6:.1f} MB Parquet-zstd "
                f"(cache: {cache.info()['size_bytes'] / 1e6:.1f} MB), "
                f"{bars / full / 1e6:.2f} M bars/s",
            )
        )
        t_same, same = _best(lambda: export_parquet(dest, cache=cache), repeat)
        rows.append(("export again, nothing changed", f"{t_same * 1000:.1f} ms", _what(same)))
        day = make_bars(bars + 1440)[-1440:]
        cache.write(SYMBOL, TIMEFRAME, day, source=SOURCE)
        t0 = time.perf_counter()
        grown = export_parquet(dest, cache=cache)
        rows.append(
            (
                "export after one more day",
                f"{(time.perf_counter() - t0) * 1000:.0f} ms",
                _what(grown),
            )
        )
        mid = frame.index[len(frame) // 2].normalize().replace(day=1)
        month = (mid.isoformat(), (mid + pd.offsets.MonthBegin(1)).isoformat())
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        for name, sql in _scans(dest, month, mid.year).items():
            elapsed, result = _best(lambda sql=sql: con.sql(sql).fetchall(), repeat)
            rows.append((f"DuckDB: {name}", f"{elapsed * 1000:.1f} ms", f"{result[0][0]:,} bars"))

        def pandas_aggregate() -> int:
            data = cache.read(SYMBOL, TIMEFRAME)
            data.agg({"close": "mean", "high": "max", "low": "min", "volume": "sum"})
            return len(data)

        elapsed, count = _best(pandas_aggregate, repeat)
        rows.append(
            ("pandas: Cache.read + same aggregate", f"{elapsed * 1000:.1f} ms", f"{count:,} bars")
        )
    return rows


def _what(result: Any) -> str:
    return f"{result.written} written, {result.unchanged} unchanged"


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in [*rows, ("step", "time", "detail")]) for i in range(3)]
    line = (
        "| "
        + " | ".join(h.ljust(w) for h, w in zip(("step", "time", "detail"), widths, strict=True))
        + " |"
    )
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join([line, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-parquet-"))
    try:
        rows = run(args.bars, args.repeat, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = _table(rows)
    print(text)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_parquet.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
