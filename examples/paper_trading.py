"""Paper-trade a strategy on live closed candles with ``TradeDataStore`` (backtrader).

Offline: the simulator streams Binance klines over websockets on 127.0.0.1, its clock running
60x from 2024-06-01 (a 1m candle closes every second; a sim clock ahead of this machine's
would make the exchange's clock untrusted, see "The open candle" in the README). Runs for
SECONDS (default 10), or until Ctrl-C.
"""

import sys
import tempfile
import threading

import backtrader as bt

from tradedata.feeds import TradeDataStore
from tradedata.sim import ExchangeSimulator

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0


class Momentum(bt.Strategy):
    def notify_data(self, data, status, *args, **kwargs):
        print("data", data._getstatusname(status))

    def notify_order(self, order):
        if order.status == order.Completed:
            side = "buy" if order.isbuy() else "sell"
            print(f"{side} {order.executed.size:g} at {order.executed.price:.2f}")

    def next(self):
        if self.data._laststatus != self.data.LIVE:
            return  # history: warm up only
        print(f"closed bar {bt.num2date(self.data.datetime[0])} close {self.data.close[0]:.2f}")
        if not self.position and self.data.close[0] > self.data.close[-1]:
            self.buy(size=0.01)
        elif self.position and self.data.close[0] < self.data.close[-1]:
            self.close()


with ExchangeSimulator(speed=60, start="2024-06-01") as sim, tempfile.TemporaryDirectory() as tmp:
    config = {"providers": {"binance": {"url": sim.url, "ws_url": sim.ws_base}}}
    store = TradeDataStore("binance", config=config, cache_dir=tmp)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(
        store.getdata(
            dataname="BTC/USDT", timeframe=bt.TimeFrame.Minutes, compression=1, backfill_bars=20
        )
    )
    cerebro.setbroker(store.getbroker(cash=10_000))
    cerebro.addstrategy(Momentum)
    timer = threading.Timer(SECONDS, cerebro.runstop)
    timer.daemon = True  # never keeps the process alive
    timer.start()
    try:
        cerebro.run()
    finally:
        store.close()
    print(f"final value {cerebro.broker.getvalue():,.2f}")
