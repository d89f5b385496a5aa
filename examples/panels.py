"""Many symbols on one index (``DataManager.get_panel``): a close panel for vectorbt-style code
and the whole OHLCV as (field, symbol) columns. Offline on the built-in exchange simulator."""

import tempfile

from tradedata import DataManager
from tradedata.sim import ExchangeSimulator

symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
with ExchangeSimulator(speed=0, start="2024-06-01") as sim, tempfile.TemporaryDirectory() as tmp:
    dm = DataManager(cache_dir=tmp, providers={"binance": {"url": sim.url}})
    close = dm.get_panel(symbols, "1h", "2024-05-01", "2024-05-31 23:00")  # fetched concurrently
    print(close.tail(3))
    print("daily return correlation:")
    print(close.resample("1D").last().pct_change().corr().round(2))
    ohlcv = dm.get_panel(symbols, "1h", "2024-05-01", "2024-05-31 23:00", field=None)
    print("columns:", list(ohlcv.columns[:4]), "...")
    print(
        "high - low of BTC/USDT, last bar:",
        ohlcv["high"]["BTC/USDT"].iloc[-1] - ohlcv["low"]["BTC/USDT"].iloc[-1],
    )
    print(
        "missing bars per symbol:",
        {s: sum(g.missing for g in gaps) for s, gaps in close.attrs["gaps"].items()},
    )
    dm.close()
