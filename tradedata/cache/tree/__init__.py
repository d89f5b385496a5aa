"""Export to and import from the plain-file tree::

    ohlcv/SYMBOL/TIMEFRAME/YEAR.csv.gz         timestamp,open,high,low,close,volume[,adj_close]
                                               [,open_interest]
    ohlcv/SYMBOL/TIMEFRAME/YEAR.metadata.json  the partition metadata, its coverage, a sha256
    ohlcv/@SOURCE/SYMBOL/TIMEFRAME/YEAR.*      the same, for a series of another source
    fundamentals/KEY.json                      {"key", "expires_at", "data"}
    actions/SYMBOL.json                        splits and dividends (tradedata.cache.actions)

A series of the symbol's default source (:func:`tradedata.identity.default_source`: ``binance``
for crypto, ``consolidated`` for equities) keeps the layout trees had before sources existed;
another source's series lives under ``ohlcv/@SOURCE/`` (``ohlcv/@bybit/BTC_USDT/1h/2024.*``).
The metadata's ``source`` names the series' source either way (a tree written before sources
existed has none: its series are the default source's), and must agree with the folder.

The metadata's ``checksum`` is ``sha256:`` of the csv.gz file. SYMBOL and KEY are made
file-safe (``BTC/USDT`` -> ``BTC_USDT``) and the real names are kept in the JSON; month
timeframes use ``1mo`` folders so ``1m`` and ``1M`` never clash. Floats are written in shortest
round-trip form and read back exactly, so export + import is lossless (bars, metadata and
coverage). Import checks the whole tree first and writes nothing if any part is malformed
(:class:`~tradedata.errors.CacheError` or, for bad CSV,
:class:`~tradedata.errors.CSVFormatError`).
"""

from tradedata.cache.tree.files import Entry, check_fundamentals, check_partition
from tradedata.cache.tree.transfer import Progress, Tree

__all__ = ["Entry", "Progress", "Tree", "check_fundamentals", "check_partition"]
