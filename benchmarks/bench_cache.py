"""Benchmark the cache format against csv.gz (pandas) and Parquet-zstd (pyarrow).

Run from the repository root: ``python benchmarks/bench_cache.py [--bars N] [--repeat R]
[--quick]``.
It writes 1,000,000 one-minute bars (a random walk with 2-decimal prices and 5-decimal
volumes), then times a write, a read of the whole series into a frame and a read of one month,
and measures the bytes on disk, for each format in the same run; the row ``get_ohlcv (warm)``
is the everyday call, ``DataManager.get_ohlcv`` on the same cached bars (read + quality
report). Reads are timed round by round with the formats interleaved (fair on a busy machine)
and the best of ``--repeat`` rounds is reported (csv.gz: of two); files are warm in the page
cache for every format alike.
The table is printed and written to ``benchmarks/out/bench_cache.txt``.

Targets: whole read >= 4x faster than csv.gz and within 1.5x of Parquet-zstd, one-month read
< 30 ms, <= 20 MB on disk per million bars, warm get_ohlcv <= 1.2x the store's read.
"""

from __future__ import annotations

import abc
import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tradedata.cache import Cache  # noqa: E402

SYMBOL, TIMEFRAME = "BTC/USDT", "1m"
MONTH = ["2023-06-01", "2023-06-30 23:59"]  # set by main() to a full month mid-series


def make_bars(n: int, seed: int = 7) -> pd.DataFrame:
    """A realistic 1-minute random walk: 2-decimal prices, open = previous close, volumes."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2022-03-01", periods=n, freq="1min", tz="UTC", name="timestamp")
    close = np.round(30_000 * np.exp(np.cumsum(rng.normal(0, 0.0006, n))), 2)
    open_ = np.concatenate(([30_000.0], close[:-1]))
    wick = np.abs(rng.normal(0, 0.0004, (2, n)))
    high = np.round(np.maximum(open_, close) * (1 + wick[0]), 2)
    low = np.round(np.minimum(open_, close) * (1 - wick[1]), 2)
    volume = np.round(rng.lognormal(2.0, 1.0, n), 5)
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    return pd.DataFrame(data, index=index)


MONTH_BARS = [30 * 1440]


def pick_month(frame: pd.DataFrame) -> None:
    """Use a whole calendar month from the middle of ``frame`` for the one-month read."""
    first = frame.index[len(frame) // 2].normalize().replace(day=1)
    after = first + pd.offsets.MonthBegin(1)
    if first < frame.index[0] or after > frame.index[-1]:
        raise SystemExit("--bars is too small to hold a whole month")
    last = after - pd.Timedelta(minutes=1)
    MONTH[:] = [first.isoformat(), last.isoformat()]
    MONTH_BARS[0] = int(((frame.index >= first) & (frame.index <= last)).sum())


def timed(func: Callable[[], object]) -> tuple[float, object]:
    """Wall time of one call, and its result."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def tree_size(path: Path) -> int:
    """Total bytes of the files under ``path``."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Format(abc.ABC):
    """One storage format: how to write it, read it whole, and read one month."""

    def __init__(self, name: str, work: Path) -> None:
        self.name = name
        self.work = work
        self.figures: dict[str, float] = {}
        self.reads: list[float] = []
        self.months: list[float] = []

    @abc.abstractmethod
    def write(self, frame: pd.DataFrame) -> None:
        """See the class docstring."""

    @abc.abstractmethod
    def read_all(self) -> pd.DataFrame:
        """See the class docstring."""

    @abc.abstractmethod
    def read_month(self) -> pd.DataFrame:
        """See the class docstring."""

    def close(self) -> None:  # noqa: B027 - most formats hold nothing open
        """Release resources."""


class CacheFormat(Format):
    def write(self, frame: pd.DataFrame) -> None:
        self.cache = Cache(self.work / "cache")
        self.figures["write"], _ = timed(
            lambda: self.cache.write(SYMBOL, TIMEFRAME, frame, source="bench")
        )
        self.figures["size"] = tree_size(self.work / "cache" / "store")

    def read_all(self) -> pd.DataFrame:
        return self.cache.read(SYMBOL, TIMEFRAME)

    def read_month(self) -> pd.DataFrame:
        return self.cache.read(SYMBOL, TIMEFRAME, *MONTH)

    def close(self) -> None:
        self.cache.close()


class ManagerFormat(Format):
    """``DataManager.get_ohlcv`` on the cached bars: the read plus the quality report.

    The bars are stored through the manager (``import_frame``), so each year partition keeps
    its quality report from the write; a warm call joins those instead of validating again.
    """

    def write(self, frame: pd.DataFrame) -> None:
        from tradedata.manager import DataManager

        self.dm = DataManager(cache_dir=self.work / "manager")
        self.figures["write"], _ = timed(lambda: self.dm.import_frame(frame, SYMBOL, TIMEFRAME))
        self.figures["size"] = tree_size(self.work / "manager" / "store")
        self.dm.get_ohlcv(SYMBOL, TIMEFRAME, provider="cache")  # warm

    def read_all(self) -> pd.DataFrame:
        return self.dm.get_ohlcv(SYMBOL, TIMEFRAME, provider="cache")

    def read_month(self) -> pd.DataFrame:
        return self.dm.get_ohlcv(SYMBOL, TIMEFRAME, *MONTH, provider="cache")

    def close(self) -> None:
        self.dm.close()


class CsvFormat(Format):
    def write(self, frame: pd.DataFrame) -> None:
        self.path = self.work / "bars.csv.gz"
        options = {"method": "gzip", "compresslevel": 6}
        self.figures["write"], _ = timed(lambda: frame.to_csv(self.path, compression=options))
        self.figures["size"] = self.path.stat().st_size

    def read_all(self) -> pd.DataFrame:
        frame = pd.read_csv(self.path, index_col="timestamp")
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True, format="ISO8601"))
        return frame

    def read_month(self) -> pd.DataFrame:
        return self.read_all().loc[MONTH[0] : MONTH[1]]


class ParquetFormat(Format):
    def write(self, frame: pd.DataFrame) -> None:
        self.path = self.work / "bars.parquet"
        self.figures["write"], _ = timed(lambda: frame.to_parquet(self.path, compression="zstd"))
        self.figures["size"] = self.path.stat().st_size
        lo, hi = pd.Timestamp(MONTH[0], tz="UTC"), pd.Timestamp(MONTH[1], tz="UTC")
        self.filters = [("timestamp", ">=", lo), ("timestamp", "<=", hi)]

    def read_all(self) -> pd.DataFrame:
        return pd.read_parquet(self.path)

    def read_month(self) -> pd.DataFrame:
        return pd.read_parquet(self.path, filters=self.filters)


def run(frame: pd.DataFrame, work: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Write every format, then time reads round by round (formats interleaved, best kept)."""
    formats: list[Format] = [
        CacheFormat("tradedata cache", work),
        ManagerFormat("get_ohlcv (warm)", work),
        CsvFormat("csv.gz", work),
    ]
    try:
        import pyarrow  # noqa: F401

        formats.append(ParquetFormat("parquet-zstd", work))
    except ImportError:
        pass
    for fmt in formats:
        fmt.write(frame)
    for round_ in range(repeat):
        for fmt in formats:
            if isinstance(fmt, CsvFormat) and round_ >= 2:
                continue  # seconds per read: two rounds are enough
            elapsed, got = timed(fmt.read_all)
            assert isinstance(got, pd.DataFrame) and len(got) == len(frame)
            fmt.reads.append(elapsed)
            elapsed, part = timed(fmt.read_month)
            assert isinstance(part, pd.DataFrame) and len(part) == MONTH_BARS[0]
            fmt.months.append(elapsed)
    exact = formats[0].read_all()
    pd.testing.assert_frame_equal(exact, frame, check_freq=False)
    out = {}
    for fmt in formats:
        out[fmt.name] = {**fmt.figures, "read": min(fmt.reads), "month": min(fmt.months)}
        fmt.close()
    return out


def report(rows: dict[str, dict[str, float]], bars: int) -> str:
    lines = [
        f"tradedata cache benchmark: {bars:,} one-minute bars "
        f"(python {sys.version.split()[0]}, pandas {pd.__version__}, {os.cpu_count()} cpu)",
        "",
        f"{'format':<16}{'write s':>10}{'read all ms':>13}{'one month ms':>14}{'MB on disk':>12}",
    ]
    for name, r in rows.items():
        lines.append(
            f"{name:<16}{r['write']:>10.2f}{r['read'] * 1e3:>13.1f}"
            f"{r['month'] * 1e3:>14.1f}{r['size'] / 1e6:>12.2f}"
        )
    cache, csv = rows["tradedata cache"], rows["csv.gz"]
    per_million = cache["size"] / 1e6 * 1_000_000 / bars
    lines += ["", f"whole read vs csv.gz: {csv['read'] / cache['read']:.1f}x faster (target >= 4x)"]
    if "parquet-zstd" in rows:
        ratio = cache["read"] / rows["parquet-zstd"]["read"]
        lines.append(f"whole read vs parquet-zstd: {ratio:.2f}x its time (target <= 1.5x)")
    lines.append(f"one-month read ({MONTH[0][:7]}): {cache['month'] * 1e3:.1f} ms (target < 30 ms)")
    if "get_ohlcv (warm)" in rows:
        warm = rows["get_ohlcv (warm)"]["read"] / cache["read"]
        lines.append(f"warm get_ohlcv vs the store's read: {warm:.2f}x its time (target <= 1.2x)")
    lines.append(f"size: {per_million:.2f} MB per million bars (target <= 20 MB)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of --repeat")
    args = parser.parse_args(argv)
    frame = make_bars(args.bars)
    pick_month(frame)
    work = Path(tempfile.mkdtemp(prefix="tradedata-bench-"))
    try:
        rows = run(frame, work, 3 if args.quick else args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(rows, args.bars)
    print(text)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_cache.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
