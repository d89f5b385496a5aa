"""The on-disk store: OHLCV partitions by (symbol, timeframe, year), coverage, fundamentals.

>>> from tradedata.cache import Cache
>>> with Cache("/tmp/tradedata-cache") as cache:                      # doctest: +SKIP
...     cache.write("BTC/USDT", "1h", frame, source="binance")
...     cache.add_coverage("BTC/USDT", "1h", "2024-01-01", "2024-02-01", "binance")
...     cache.missing_ranges("BTC/USDT", "1h", "2023-12-01", "2024-02-01")
...     cache.read("BTC/USDT", "1h", "2024-01-10", "2024-01-20")

Data lives in a diskcache (SQLite) index plus one gzip file per partition (one gzip member per
month, binary columnar inside; see :mod:`tradedata.cache.codec`). Several processes may read
and write one cache at once; damaged partitions are quarantined and fetched again.
"""

from __future__ import annotations

from tradedata.cache.coverage import CoverageSpan
from tradedata.cache.layout import CacheCorruptionWarning, CacheLimitWarning, Damage, SeriesInfo
from tradedata.cache.store import DEFAULT_MAX_SIZE_GB, Cache, default_cache_dir

__all__ = [
    "DEFAULT_MAX_SIZE_GB",
    "Cache",
    "CacheCorruptionWarning",
    "CacheLimitWarning",
    "CoverageSpan",
    "Damage",
    "SeriesInfo",
    "default_cache_dir",
]
