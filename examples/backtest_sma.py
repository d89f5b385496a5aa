"""Backtest an SMA crossover with backtrader on ``TradeDataFeed``.

Runs offline: the built-in exchange simulator plays Binance on 127.0.0.1 and a temporary cache
holds the bars. For real data drop the simulator and the ``providers`` argument.
"""

import tempfile
from datetime import datetime

import backtrader as bt

from tradedata import DataManager
from tradedata.feeds import TradeDataFeed
from tradedata.sim import ExchangeSimulator


class SmaCross(bt.Strategy):
    def __init__(self):
        self.cross = bt.ind.CrossOver(bt.ind.SMA(period=10), bt.ind.SMA(period=30))

    def next(self):
        if not self.position and self.cross[0] > 0:
            self.buy(size=0.1)
        elif self.position and self.cross[0] < 0:
            self.close()


with ExchangeSimulator(speed=0, start="2024-06-01") as sim, tempfile.TemporaryDirectory() as tmp:
    dm = DataManager(cache_dir=tmp, providers={"binance": {"url": sim.url}})
    cerebro = bt.Cerebro()
    cerebro.adddata(
        TradeDataFeed(
            dataname="BTC/USDT",
            interval="15m",
            manager=dm,
            provider="binance",
            fromdate=datetime(2024, 5, 20),
            todate=datetime(2024, 5, 31),
        )
    )
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(10_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    strategy = cerebro.run()[0]
    closed = strategy.analyzers.trades.get_analysis().total.closed
    print(
        f"data quality {strategy.data.quality.score:.4f}, {closed} trades, "
        f"final value {cerebro.broker.getvalue():,.2f}"
    )
    dm.close()
