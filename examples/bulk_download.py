"""Bulk download many symbols and timeframes into the cache, resumably (``tradedata.download``).

Offline on the built-in exchange simulator; a second run fetches nothing already stored.
"""

import tempfile

import tradedata
from tradedata import DataManager
from tradedata.sim import ExchangeSimulator

with ExchangeSimulator(speed=0, start="2024-06-01") as sim, tempfile.TemporaryDirectory() as tmp:
    dm = DataManager(cache_dir=tmp, providers={"binance": {"url": sim.url}})
    for run in ("first", "second"):
        report = tradedata.download(
            symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
            timeframes=["5m", "1h"],
            days=7,
            exchange="binance",
            manager=dm,
            progress=False,
        )
        print(f"{run} run:")
        print(report)
    for series in dm.series():
        print(
            f"{series.symbol:<9} {series.timeframe:>3} {series.bars:>5} bars, score {series.score}"
        )
    dm.close()
