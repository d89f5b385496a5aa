"""A zipline bundle holding one pair from two venues: each asset reads its own venue's series."""

from __future__ import annotations

import pandas as pd
import pytest
from zipline_fixtures import Recorder, Workspace, daily_frame, workspace_fixture  # noqa: F401

from tradedata.errors import InputError

pytest.importorskip("zipline")

BINANCE_BTC = daily_frame("2024-01-01", "2024-01-10")
BYBIT_BTC = daily_frame("2024-01-01", "2024-01-10", first_close=41000.0, step=7.5)


def _fill(ws: Workspace) -> None:
    ws.manager.import_frame(BINANCE_BTC, "BTC/USDT", "1d")  # the default venue: binance
    ws.manager.import_frame(BYBIT_BTC, "BYBIT:BTC/USDT", "1d")


def test_one_pair_from_two_venues_is_two_assets_with_their_own_bars(workspace: Workspace):
    _fill(workspace)
    name = "td-venues"
    workspace.register(
        name, ["binance:btcusdt", "BYBIT:BTC/USDT"], "1d", "2024-01-01", "2024-01-10"
    )
    workspace.ingest(name)
    data = workspace.load(name)
    finder = data.asset_finder
    binance = finder.lookup_symbol("BINANCE:BTC/USDT", as_of_date=None)
    bybit = finder.lookup_symbol("BYBIT:BTC/USDT", as_of_date=None)
    assert (binance.exchange, bybit.exchange) == ("BINANCE", "BYBIT")
    assert binance.sid != bybit.sid
    data.close()

    rec = Recorder(["BINANCE:BTC/USDT", "BYBIT:BTC/USDT"])
    workspace.run(name, "2024-01-03", "2024-01-05", rec)

    for sym, frame in (("BINANCE:BTC/USDT", BINANCE_BTC), ("BYBIT:BTC/USDT", BYBIT_BTC)):
        seen = rec.closes_series(sym)
        days = [pd.Timestamp(t.date(), tz="UTC") for t in seen.index]
        assert seen.tolist() == frame.loc[days, "close"].tolist()


def test_exchange_reads_that_venues_series(workspace: Workspace):
    _fill(workspace)
    workspace.register("td-bybit", ["BTC/USDT"], "1d", "2024-01-01", "2024-01-10", exchange="bybit")
    workspace.ingest("td-bybit")
    rec = Recorder(["BTC/USDT"])
    workspace.run("td-bybit", "2024-01-04", "2024-01-04", rec)

    assert rec.closes_series("BTC/USDT").tolist() == [
        BYBIT_BTC.loc[pd.Timestamp("2024-01-04", tz="UTC"), "close"]
    ]


def test_a_prefix_contradicting_exchange_is_refused(workspace: Workspace):
    with pytest.raises(InputError, match="names venue 'bybit' but exchange='kraken'"):
        workspace.register(
            "td-bad", ["BYBIT:BTC/USDT"], "1d", "2024-01-01", "2024-01-10", exchange="kraken"
        )
