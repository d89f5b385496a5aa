"""``tradedata demo``: the whole pipeline offline, on the built-in exchange simulator.

It starts the Binance/Bybit simulator on 127.0.0.1, points the real ccxt client at it, fetches a
few days of candles into the cache (only what is missing, so a second run fetches nothing new),
and prints each series' quality report.
"""

from __future__ import annotations

import argparse
import time

__all__ = ["add_cli_arguments", "run"]


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``demo`` verb."""
    parser.add_argument("--symbols", default="BTC/USDT,ETH/USDT")
    parser.add_argument("--timeframe", default="1m")
    parser.add_argument("--days", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)


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
        dm.close()
    return 0
