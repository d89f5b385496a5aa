"""A zipline-reloaded bundle from tradedata, ingested and backtested (buy and hold BTC).

Offline: the simulator plays Binance; ZIPLINE_ROOT is a temporary folder, so ~/.zipline is
left alone. Needs the ``zipline`` extra.
"""

import os
import tempfile

import pandas as pd

with tempfile.TemporaryDirectory() as tmp:
    os.environ["ZIPLINE_ROOT"] = os.path.join(tmp, "zipline")
    from zipline.api import order_target_percent, symbol
    from zipline.data import bundles

    from tradedata import DataManager
    from tradedata.feeds.zipline import register_bundle, run_algorithm
    from tradedata.sim import ExchangeSimulator

    with ExchangeSimulator(speed=0, start="2024-03-01") as sim:
        dm = DataManager(
            cache_dir=os.path.join(tmp, "cache"), providers={"binance": {"url": sim.url}}
        )
        register_bundle(
            "sim-daily",
            symbols=["BTC/USDT", "ETH/USDT"],
            timeframe="1d",
            provider="binance",
            start="2024-01-01",
            end="2024-02-28",
            manager=dm,
        )
        bundles.ingest("sim-daily")

    def initialize(context):
        context.btc = symbol("BTC/USDT")

    def handle_data(context, data):
        order_target_percent(context.btc, 0.9)

    perf = run_algorithm(
        start=pd.Timestamp("2024-01-02"),
        end=pd.Timestamp("2024-02-28"),
        initialize=initialize,
        handle_data=handle_data,
        capital_base=100_000,
        data_frequency="daily",
        bundle="sim-daily",
    )
    print(f"{len(perf)} sessions, final portfolio value {perf['portfolio_value'].iloc[-1]:,.2f}")
    dm.close()
