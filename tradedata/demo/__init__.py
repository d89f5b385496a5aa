"""``tradedata demo``: the whole pipeline offline, on the built-in exchange simulator.

It starts the Binance/Bybit simulator on 127.0.0.1, points the real ccxt client at it, fetches a
few days of candles into the cache (only what is missing, so a second run fetches nothing new),
and prints each series' quality report. Then it backtests an SMA crossover on the first symbol
with backtrader and ``TradeDataFeed`` (final value, trades, Sharpe) and writes an interactive
plotly chart of the trades to an HTML file (``--chart``; needs the ``widgets`` extra). With
``--live SECONDS`` it paper-trades the same strategy on the simulator's websocket stream with
``TradeDataStore``, printing each closed bar and order. Ctrl-C stops it cleanly (exit code 130);
everything runs in this one process, so nothing is left behind.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["add_cli_arguments", "run"]


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``demo`` verb."""
    parser.add_argument("--symbols", default="BTC/USDT,ETH/USDT")
    parser.add_argument("--timeframe", default="1m")
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--chart",
        default=None,
        help="HTML file for the backtest chart (default: demo/backtest.html in the cache folder)",
    )
    parser.add_argument("--no-backtest", action="store_true", help="stop after the quality reports")
    parser.add_argument(
        "--live",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="then paper-trade the strategy live on the simulator for SECONDS (e.g. 60)",
    )
    parser.add_argument(
        "--live-speed",
        type=float,
        default=60.0,
        help="simulator seconds per wall second while paper trading (default 60: a 1m bar "
        "closes every second)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    import pandas as pd

    from tradedata.manager import DataManager
    from tradedata.sim import ExchangeSimulator

    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    # A fixed sim clock (speed 0) makes the demo's data the same on every machine and run.
    start = pd.Timestamp("2024-06-01", tz="UTC")
    with ExchangeSimulator(symbols=symbols, seed=args.seed, speed=0.0, start=start) as sim:
        print(f"exchange simulator listening on {sim.url}")
        dm = DataManager(
            cache_dir=args.cache_dir,
            config=args.config,
            providers={"binance": {"url": sim.url, "ws_url": sim.ws_base}},
        )
        end = sim.now()
        begin = end - pd.Timedelta(days=args.days)
        for symbol in symbols:
            t0 = time.perf_counter()
            frame = dm.get_ohlcv(symbol, args.timeframe, begin, end, provider="binance")
            took = time.perf_counter() - t0
            print(
                f"\n{symbol} {args.timeframe}: {len(frame)} bars "
                f"{frame.index[0]} .. {frame.index[-1]} from {frame.attrs['provider']} "
                f"in {took:.2f}s"
            )
            print(frame.attrs["quality"])
        print(f"\ncache: {dm.cache_dir}")
        cache_dir = dm.cache_dir
        try:
            if not args.no_backtest:
                _backtest(dm, symbols[0], args, begin, end)
        finally:
            dm.close()
    if args.live > 0:
        _live(symbols, args, end, cache_dir)
    return 0


def _backtest(dm: Any, symbol: str, args: argparse.Namespace, begin: Any, end: Any) -> None:
    from pathlib import Path

    from tradedata.demo.trading import backtest, write_chart

    print(f"\nbacktest: SMA(10)/SMA(30) crossover on {symbol} {args.timeframe} (backtrader)")
    result = backtest(dm, symbol, args.timeframe, begin, end)
    for line in result.lines():
        print(f"  {line}")
    chart = Path(args.chart) if args.chart else Path(dm.cache_dir) / "demo" / "backtest.html"
    written = write_chart(result, chart, args.timeframe)
    if written is None:
        print('  chart: skipped (plotly is missing: pip install "tradedata[widgets]")')
    else:
        print(f"  chart: {written.resolve()}")


def _live(symbols: list[str], args: argparse.Namespace, start: Any, cache_dir: Any) -> None:
    from tradedata.demo.trading import paper_trade
    from tradedata.sim import ExchangeSimulator

    with ExchangeSimulator(
        symbols=symbols, seed=args.seed, speed=args.live_speed, start=start
    ) as sim:
        print(
            f"\npaper trading {symbols[0]} 1m for {args.live:g} s on {sim.ws_base} "
            f"(sim time x{args.live_speed:g}; Ctrl-C stops)",
            flush=True,
        )
        config = {"providers": {"binance": {"url": sim.url, "ws_url": sim.ws_base}}}

        def say(text: str) -> None:
            print(f"  {text}", flush=True)

        value = paper_trade(config, cache_dir, symbols[0], args.live, say)
        print(f"paper trading done: final value {value:,.2f} USDT")
