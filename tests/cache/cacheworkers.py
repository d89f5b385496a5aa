"""Worker processes for the multi-process cache tests (run as scripts, never imported by tests).

STORE is a cache folder or a ``postgresql://`` URL (either store).

python cacheworkers.py rewrite STORE          rewrite a big partition forever (to be killed)
python cacheworkers.py chunks STORE ID COUNT  write COUNT one-day chunks owned by writer ID
python cacheworkers.py reader STORE SECONDS    read and check the series until time runs out
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tradedata.cache.opening import open_store as Cache  # a folder or a postgresql:// URL

SYMBOL, TF = "BTC/USDT", "1m"
BIG_ROWS = 150_000
START = pd.Timestamp("2023-01-01", tz="UTC")
WRITERS = 3


def version_frame(version: int, rows: int = BIG_ROWS) -> pd.DataFrame:
    """A big partition whose every value tells which version wrote it."""
    index = pd.date_range(START, periods=rows, freq="1min", tz="UTC", name="timestamp")
    rng = np.random.default_rng(version)
    close = np.round(100 + rng.random(rows) * 10, 2)
    data = {"open": close, "high": close + 1, "low": close - 1, "close": close}
    data["volume"] = np.full(rows, float(version))
    return pd.DataFrame(data, index=index)


def rewrite(directory: str) -> None:
    """Replace the partition with version 1, 2, 3, ... until killed."""
    with Cache(directory) as cache:
        version = int(cache.metadata(SYMBOL, TF, 2023)["provider_info"]["p"]["version"])  # type: ignore[index]
        print("ready", flush=True)
        while True:
            version += 1
            frame = version_frame(version)
            cache.write(
                SYMBOL, TF, frame, provider="p", provider_info={"version": version},
                coverage=(frame.index[0], frame.index[-1] + pd.Timedelta(minutes=30)),
            )  # fmt: skip
            cache.add_coverage(SYMBOL, TF, START, START + pd.Timedelta(days=400), f"v{version}")


def chunk_value(ts: pd.DatetimeIndex) -> np.ndarray:
    """The close every writer stores for a timestamp (so any read can be checked)."""
    return np.asarray((ts.asi8 // 60_000_000_000) % 100_000, dtype=np.float64) / 100 + 1


def chunk(writer: int, n: int) -> pd.DataFrame:
    """Writer ``writer``'s ``n``-th day of bars (writers own interleaved days)."""
    day = START + pd.Timedelta(days=n * WRITERS + writer)
    index = pd.date_range(day, periods=1440, freq="1min", tz="UTC", name="timestamp")
    close = chunk_value(index)
    data = {"open": close, "high": close + 0.5, "low": close - 0.5, "close": close}
    data["volume"] = np.full(1440, float(writer))
    return pd.DataFrame(data, index=index)


def chunks(directory: str, writer: int, count: int) -> None:
    with Cache(directory) as cache:
        for n in range(count):
            frame = chunk(writer, n)
            cache.write(SYMBOL, TF, frame, provider=f"w{writer}")
            cache.add_coverage(SYMBOL, TF, frame.index[0], frame.index[-1], f"w{writer}")
    print("done", flush=True)


def reader(directory: str, seconds: float) -> None:
    reads = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a corruption warning would fail the test
        with Cache(directory) as cache:
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                frame = cache.read(SYMBOL, TF)
                assert frame.index.is_monotonic_increasing and frame.index.is_unique
                assert np.array_equal(frame["close"].to_numpy(), chunk_value(frame.index))
                owners = ((frame.index - START).days % WRITERS).to_numpy()
                assert np.array_equal(frame["volume"].to_numpy(), owners.astype(float))
                reads += 1
    print(f"reads {reads}", flush=True)


if __name__ == "__main__":
    mode, folder, *rest = sys.argv[1:]
    if mode == "rewrite":
        rewrite(folder)
    elif mode == "chunks":
        chunks(folder, int(rest[0]), int(rest[1]))
    elif mode == "reader":
        reader(folder, float(rest[0]))
    else:
        raise SystemExit(f"unknown mode {mode}")
