"""Several symbols and timeframes in one backtest, 1m bars resampled to 15m and 1h by backtrader.

Offline on the built-in exchange simulator (see backtest_sma.py).
"""

import tempfile
from datetime import datetime

import backtrader as bt

from tradedata import DataManager
from tradedata.feeds import TradeDataFeed
from tradedata.sim import ExchangeSimulator


class Report(bt.Strategy):
    def stop(self):
        for data in self.datas:
            print(f"{data._name:<14} {len(data):>5} bars, last close {data.close[0]:.2f}")


with ExchangeSimulator(speed=0, start="2024-06-01") as sim, tempfile.TemporaryDirectory() as tmp:
    dm = DataManager(cache_dir=tmp, providers={"binance": {"url": sim.url}})
    cerebro = bt.Cerebro(stdstats=False)
    for symbol in ("BTC/USDT", "ETH/USDT"):
        minutes = TradeDataFeed(
            dataname=symbol,
            interval="1m",
            manager=dm,
            provider="binance",
            fromdate=datetime(2024, 5, 30),
            todate=datetime(2024, 5, 31),
        )
        cerebro.adddata(minutes, name=f"{symbol} 1m")
        cerebro.resampledata(
            minutes, name=f"{symbol} 15m", timeframe=bt.TimeFrame.Minutes, compression=15
        )
        cerebro.resampledata(
            minutes, name=f"{symbol} 1h", timeframe=bt.TimeFrame.Minutes, compression=60
        )
    cerebro.addstrategy(Report)
    cerebro.run()
    # the same resampling in pandas, from the cache
    hourly = dm.get_ohlcv("ETH/USDT", "1m", "2024-05-30", "2024-05-30 23:59", provider="cache")
    hourly = hourly.resample("1h").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    print(f"pandas: {len(hourly)} hourly ETH/USDT bars, last close {hourly['close'].iloc[-1]:.2f}")
    dm.close()
