"""The trading half of ``tradedata demo``: an SMA crossover backtested on ``TradeDataFeed``, a
plotly chart of its trades, and the same strategy paper-traded live with ``TradeDataStore``.

Importing this module imports backtrader (the demo's verb loads it only when it runs).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from tradedata.feeds.backtrader import TradeDataFeed
from tradedata.feeds.live import TradeDataStore
from tradedata.manager import DataManager
from tradedata.model import parse_timeframe

__all__ = ["BacktestResult", "SmaCross", "backtest", "paper_trade", "write_chart"]

#: The slow moving average's period (the live run backfills a few bars more).
SLOW = 30
#: Hourly returns per year, to annualise the Sharpe ratio of crypto (trading all year round).
HOURS_PER_YEAR = 24 * 365


@dataclass
class Fill:
    """One executed order: when, buy or sell, at what price, how much."""

    time: pd.Timestamp
    side: str
    price: float
    size: float


@dataclass
class BacktestResult:
    """What a backtest ended with."""

    symbol: str
    start_value: float
    final_value: float
    trades: int
    won: int
    sharpe: float | None
    fills: list[Fill] = field(default_factory=list)
    frame: pd.DataFrame | None = None

    def lines(self) -> list[str]:
        """The result as printed by the demo."""
        sharpe = "n/a" if self.sharpe is None else f"{self.sharpe:.2f}"
        change = self.final_value / self.start_value - 1.0
        return [
            f"final value {self.final_value:,.2f} USDT ({change:+.2%} from "
            f"{self.start_value:,.0f})",
            f"trades      {self.trades} closed, {self.won} won",
            f"sharpe      {sharpe} (annualised from hourly returns)",
        ]


class SmaCross(bt.Strategy):
    """Long when the fast SMA crosses above the slow one, flat when it crosses back below.

    ``log`` (a callable taking a line of text) hears every order and, with ``bars``, every
    closed bar once the data is live.
    """

    params = (("fast", 10), ("slow", SLOW), ("share", 0.95), ("log", None), ("bars", False))

    def __init__(self) -> None:
        fast = bt.ind.SMA(self.data.close, period=self.p.fast)
        slow = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)
        self.fills: list[Fill] = []
        self.live = False

    def _say(self, text: str) -> None:
        if self.p.log is not None:
            self.p.log(text)

    def notify_data(self, data: Any, status: int, *args: Any, **kwargs: Any) -> None:
        self.live = status == data.LIVE
        self._say(f"data {data._getstatusname(status)}")

    def next(self) -> None:
        if self.live and self.p.bars:
            d = self.data
            opened = bt.num2date(d.datetime[0]) - pd.Timedelta(minutes=1)
            self._say(
                f"bar {opened:%Y-%m-%d %H:%M} o {d.open[0]:.2f} h {d.high[0]:.2f} "
                f"l {d.low[0]:.2f} c {d.close[0]:.2f} v {d.volume[0]:.3f}"
            )
        if not self.position and self.cross[0] > 0:
            size = self.broker.getcash() * self.p.share / self.data.close[0]
            self.buy(size=size)
        elif self.position and self.cross[0] < 0:
            self.close()

    def notify_order(self, order: Any) -> None:
        if order.status != order.Completed:
            if order.status in (order.Canceled, order.Margin, order.Rejected):
                self._say(f"order {order.getstatusname().lower()}")
            return
        ex = order.executed
        when = pd.Timestamp(bt.num2date(ex.dt), tz="UTC")
        side = "buy" if order.isbuy() else "sell"
        self.fills.append(Fill(when, side, float(ex.price), abs(float(ex.size))))
        self._say(f"order {side} {abs(ex.size):.5f} at {ex.price:.2f} (fee {ex.comm:.2f})")


def _sharpe(returns: dict[Any, float]) -> float | None:
    values = pd.Series(list(returns.values()), dtype="float64")
    if len(values) < 3 or not values.std() > 0:
        return None
    return float(values.mean() / values.std() * math.sqrt(HOURS_PER_YEAR))


def backtest(
    dm: DataManager,
    symbol: str,
    timeframe: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    cash: float = 10_000.0,
) -> BacktestResult:
    """Run :class:`SmaCross` over the cached bars of ``symbol`` from ``start`` to ``end``
    (exclusive: the bar opening at ``end``, the sim's now, has not closed)."""
    cerebro = bt.Cerebro(stdstats=False)
    last = end - parse_timeframe(timeframe).delta  # the bar opening at ``end`` is still open
    bars = dm.get_ohlcv(symbol, timeframe, start, last, provider="cache")
    feed: Any = TradeDataFeed
    data = feed(dataname=bars, interval=timeframe, name=symbol)
    cerebro.adddata(data)
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=0.001)  # Binance's spot taker fee
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    hourly = {"timeframe": bt.TimeFrame.Minutes, "compression": 60}
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="returns", **hourly)
    strategy = cerebro.run()[0]
    trades = strategy.analyzers.trades.get_analysis()
    closed = int(trades.get("total", {}).get("closed", 0) or 0)
    won = int(trades.get("won", {}).get("total", 0) or 0)
    return BacktestResult(
        symbol=symbol,
        start_value=cash,
        final_value=float(cerebro.broker.getvalue()),
        trades=closed,
        won=won,
        sharpe=_sharpe(strategy.analyzers.returns.get_analysis()),
        fills=strategy.fills,
        frame=data.frame,
    )


def write_chart(result: BacktestResult, path: Path, timeframe: str) -> Path | None:
    """An interactive plotly candle chart with the fills, as a self-contained HTML file.

    Returns the path, or None when plotly is not installed (the ``widgets`` extra).
    """
    try:
        import plotly.graph_objects as go
    except ImportError:
        return None
    frame = result.frame
    assert frame is not None
    index = frame.index.tz_convert(None)
    fig = go.Figure(
        go.Candlestick(
            x=index, open=frame["open"], high=frame["high"], low=frame["low"],
            close=frame["close"], name=result.symbol,
        )
    )  # fmt: skip
    tf = parse_timeframe(timeframe).delta
    for side, colour, symbol in (("buy", "#1a7f37", "triangle-up"), ("sell", "#cf222e", "x")):
        fills = [f for f in result.fills if f.side == side]
        fig.add_trace(
            go.Scatter(
                x=[(f.time - tf).tz_convert(None) for f in fills],  # the bar the order filled in
                y=[f.price for f in fills], mode="markers", name=side,
                marker={"color": colour, "size": 11, "symbol": symbol},
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"{result.symbol} {timeframe}: SMA crossover, {result.trades} trades, "
        f"final value {result.final_value:,.2f}",
        xaxis_rangeslider_visible=False,
        template="plotly_white",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def paper_trade(
    config: dict[str, Any],
    cache_dir: Any,
    symbol: str,
    seconds: float,
    log: Callable[[str], None],
    cash: float = 10_000.0,
) -> float:
    """Paper-trade :class:`SmaCross` live for ``seconds``; returns the final value.

    ``config`` points ``binance`` at the simulator. Ctrl-C (KeyboardInterrupt) stops the run
    and still closes the store's connection and threads before it propagates.
    """
    store = TradeDataStore("binance", config=config, cache_dir=cache_dir, cache_interval=5.0)
    try:
        cerebro = bt.Cerebro(stdstats=False)
        data = store.getdata(
            dataname=symbol, timeframe=bt.TimeFrame.Minutes, compression=1,
            backfill_bars=SLOW + 5,
        )  # fmt: skip
        cerebro.adddata(data)
        cerebro.setbroker(store.getbroker(cash=cash))
        cerebro.addstrategy(SmaCross, log=log, bars=True)
        timer = threading.Timer(seconds, cerebro.runstop)
        timer.daemon = True
        timer.start()
        try:
            cerebro.run()
        finally:
            timer.cancel()
        return float(cerebro.broker.getvalue())
    finally:
        store.close()
