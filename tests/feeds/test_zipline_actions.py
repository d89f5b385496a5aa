"""A bundle written from an as-traded cache plus its corporate-actions record.

The cache holds AAPL as traded around its 4:1 split of 2020-08-31 (with the 2020-08-17
dividend), whichever provider filled it; the bundle writes those bars plus zipline's split and
dividend rows, so ``data.history`` equals ``get_ohlcv(..., adjust="all")``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from zipline_fixtures import Recorder, Workspace, module_workspace

from tests.fakes import FakeMarket, FakeProviderServer
from tradedata.actions import CorporateActions
from tradedata.manager import DataManager

pytest.importorskip("zipline")

START, END = pd.Timestamp("2020-08-03", tz="UTC"), pd.Timestamp("2020-09-30", tz="UTC")


def _fill(ws: Workspace) -> None:
    market = FakeMarket()
    raw = market.daily("AAPL", START, END + pd.Timedelta(hours=23))[
        ["open", "high", "low", "close", "volume"]
    ].round(3)  # zipline keeps daily prices at 1/1000
    ws.manager.import_frame(raw, "AAPL", "1d", source="alpaca")
    ws.manager.cache.set_actions(
        "AAPL",
        CorporateActions(
            market.splits("AAPL", START, END),
            market.dividends("AAPL", START, END),
            checked_at=pd.Timestamp.now(tz="UTC"),
            source="polygon",
        ),
    )
    ws.register("td-aapl-split", ["AAPL"], "1d", "2020-08-03", "2020-09-30")
    ws.ingest("td-aapl-split")


@pytest.fixture(scope="module")
def equity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from module_workspace(tmp_path_factory, _fill)


def test_history_across_the_split_matches_the_adjusted_series(equity: Workspace) -> None:
    rec = Recorder(["AAPL"], history=("AAPL", 30))

    equity.run("td-aapl-split", "2020-09-14", "2020-09-14", rec)

    ((_, history),) = rec.histories
    adjusted = equity.manager.get_ohlcv("AAPL", "1d", START, END, provider="cache", adjust="all")
    days = pd.DatetimeIndex(history.index)
    days = (days.tz_localize("UTC") if days.tz is None else days.tz_convert("UTC")).normalize()
    expected = adjusted["close"].reindex(days).to_numpy()
    np.testing.assert_allclose(history.to_numpy(), expected, atol=1.5e-3)
    raw = equity.manager.get_ohlcv("AAPL", "1d", START, END, provider="cache", adjust="raw")
    assert raw["close"].reindex(days).iloc[0] > 3 * history.iloc[0]  # written as traded


def test_split_and_dividend_rows_come_from_the_cache_record(equity: Workspace) -> None:
    data = equity.load("td-aapl-split")
    splits = data.adjustment_reader.get_adjustments_for_sid("splits", 1)
    dividends = data.adjustment_reader.get_adjustments_for_sid("dividends", 1)
    data.close()

    assert [(pd.Timestamp(d, unit="s"), r) for d, r in splits] == [
        (pd.Timestamp("2020-08-31"), pytest.approx(0.25))
    ]
    assert [pd.Timestamp(d, unit="s") for d, _ in dividends] == [pd.Timestamp("2020-08-17")]


def _fill_from_yahoo(ws: Workspace) -> None:
    """The cache filled through the fake Yahoo, which serves split-adjusted prices."""
    import yfinance as yf

    yf.set_tz_cache_location(str(ws.root / "yfinance"))
    with FakeProviderServer("yahoo", now="2020-10-15") as server:
        settings = {"yahoo": {"url": server.url}}
        with DataManager(cache_dir=ws.manager.cache.directory, providers=settings) as dm:
            dm.get_ohlcv("AAPL", "1d", START, END, provider="yahoo")
    ws.register("td-aapl-yahoo", ["AAPL"], "1d", "2020-08-03", "2020-09-30", price_tolerance=1e-5)
    ws.ingest("td-aapl-yahoo")


@pytest.fixture(scope="module")
def from_yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from module_workspace(tmp_path_factory, _fill_from_yahoo)


def test_a_bundle_over_split_adjusted_yahoo_bars_still_adjusts_once(from_yahoo: Workspace) -> None:
    rec = Recorder(["AAPL"], history=("AAPL", 30))

    from_yahoo.run("td-aapl-yahoo", "2020-09-14", "2020-09-14", rec)

    ((_, history),) = rec.histories
    market = FakeMarket()
    truth = market.daily("AAPL", START, END + pd.Timedelta(hours=23))
    now = pd.Timestamp("2020-10-15", tz="UTC")
    k = market.split_factor("AAPL", truth.index, upto=now)
    expected = truth["close"] / k * market.adjustment("AAPL", truth.index, now)
    days = pd.DatetimeIndex(history.index)
    days = (days.tz_localize("UTC") if days.tz is None else days.tz_convert("UTC")).normalize()
    np.testing.assert_allclose(history.to_numpy(), expected.reindex(days).to_numpy(), atol=2e-3)
