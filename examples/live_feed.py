"""A live feed in plain Python (no backtrader): history first, then each closed candle.

Offline: the simulator streams Binance klines over websockets on 127.0.0.1, its clock running
60x from 2024-06-01 (a 1m candle closes every second; a sim clock ahead of this machine's
would make the exchange's clock untrusted, see "The open candle" in the README). Stops after
BARS live bars (default 5).
"""

import sys
import tempfile

from tradedata import DataManager
from tradedata.sim import ExchangeSimulator

BARS = int(sys.argv[1]) if len(sys.argv) > 1 else 5

with ExchangeSimulator(speed=60, start="2024-06-01") as sim, tempfile.TemporaryDirectory() as tmp:
    dm = DataManager(cache_dir=tmp, providers={"binance": {"url": sim.url, "ws_url": sim.ws_base}})
    statuses = []
    with dm.get_live_feed(
        "BTC/USDT",
        "1m",
        lookback_bars=100,
        exchange="binance",
        on_status=lambda status, detail: statuses.append(status),
    ) as feed:
        live = 0
        for bar in feed:  # or: async for bar in feed / feed.subscribe(on_bar=...)
            if bar.live:
                live += 1
                print(
                    f"{bar.timestamp:%Y-%m-%d %H:%M} close {bar.close:.2f} volume {bar.volume:.3f}"
                )
                if live == BARS:
                    break
        history = feed.frame()
    print(f"{len(history)} bars in all ({len(history) - live} of history); statuses {statuses}")
    dm.close()
