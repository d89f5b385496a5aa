"""Crypto bundles through real zipline-reloaded: 24/7 calendar, daily and minute mode, sids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from zipline_fixtures import (  # noqa: F401
    Recorder,
    Workspace,
    daily_frame,
    minute_frame,
    module_workspace,
    transactions,
    workspace_fixture,
)

pytest.importorskip("zipline")

DAILY, MINUTE = "td-crypto-1d", "td-crypto-1m"
BTC_DAILY = daily_frame("2024-01-01", "2024-01-20")
ETH_DAILY = daily_frame("2024-01-01", "2024-01-20", first_close=2250.5, step=3.125).drop(
    pd.Timestamp("2024-01-06", tz="UTC")
)
# Session D of the crypto calendar holds the klines opening D-1 23:59 .. D 23:58.
BTC_MINUTE = minute_frame("2023-12-31 23:59", "2024-01-03 23:58").drop(
    pd.Timestamp("2024-01-02 10:00", tz="UTC")
)


def _fill(ws: Workspace) -> None:
    ws.manager.import_frame(BTC_DAILY, "BTC/USDT", "1d")
    ws.manager.import_frame(ETH_DAILY, "ETH/USDT", "1d")
    ws.manager.import_frame(BTC_MINUTE, "BTC/USDT", "1m")
    ws.register(DAILY, ["BTC/USDT", "ETH/USDT"], "1d", "2024-01-01", "2024-01-20")
    ws.register(MINUTE, ["BTC/USDT"], "1m", "2024-01-01", "2024-01-03", exchange="BINANCE")
    ws.ingest(DAILY)
    ws.ingest(MINUTE)


@pytest.fixture(scope="module")
def crypto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from module_workspace(tmp_path_factory, _fill)


@pytest.fixture(scope="module")
def daily_run(crypto: Workspace) -> tuple[Recorder, pd.DataFrame]:
    """Fri 2024-01-05 to Tue 01-09 in daily mode, through zipline's own run_algorithm."""
    import zipline

    from tradedata.feeds.zipline import bundle_calendar

    rec = Recorder(["BTC/USDT", "ETH/USDT"], order_on_first={"BTC/USDT": 3})
    perf = zipline.run_algorithm(
        start=pd.Timestamp("2024-01-05"),
        end=pd.Timestamp("2024-01-09"),
        initialize=rec.initialize,
        handle_data=rec.handle_data,
        capital_base=10_000_000.0,
        data_frequency="daily",
        bundle=DAILY,
        trading_calendar=bundle_calendar(DAILY),
        environ=crypto.environ,
    )
    return rec, perf


@pytest.fixture(scope="module")
def minute_run(crypto: Workspace) -> tuple[Recorder, pd.DataFrame]:
    """Session 2024-01-02 in minute mode, with daily history."""
    rec = Recorder(["BTC/USDT"], order_on_first={"BTC/USDT": 2}, history=("BTC/USDT", 2))
    perf = crypto.run(MINUTE, "2024-01-02", "2024-01-02", rec, frequency="minute")
    return rec, perf


def _close_on(frame: pd.DataFrame, day: str) -> float:
    return float(frame.loc[pd.Timestamp(day, tz="UTC"), "close"])


def test_crypto_calendar_keeps_midnight_in_its_own_session() -> None:
    from exchange_calendars import get_calendar

    from tradedata.feeds.zipline import CRYPTO_CALENDAR
    from tradedata.feeds.zipline.calendar import get_zipline_calendar

    ours = get_zipline_calendar(CRYPTO_CALENDAR)
    theirs = get_calendar("24/7", side="right")
    midnight = pd.Timestamp("2024-01-06 00:00", tz="UTC")

    assert ours.minute_to_session(midnight) == pd.Timestamp("2024-01-06")
    assert theirs.minute_to_session(midnight) == pd.Timestamp("2024-01-05")  # the trap
    assert len(ours.session_minutes(pd.Timestamp("2024-01-06"))) == 1440


def test_daily_mode_reads_each_sessions_close_weekends_included(
    daily_run: tuple[Recorder, pd.DataFrame],
) -> None:
    rec, _ = daily_run

    seen = rec.closes_series("BTC/USDT")

    days = ["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09"]
    assert [t.strftime("%Y-%m-%d") for t in seen.index] == days
    expected = [_close_on(BTC_DAILY, d) for d in days]
    np.testing.assert_allclose(seen.to_numpy(), expected, rtol=1e-12)


def test_daily_mode_orders_fill_next_session_at_its_close(
    daily_run: tuple[Recorder, pd.DataFrame],
) -> None:
    _, perf = daily_run

    fills = transactions(perf)

    assert len(fills) == 1
    assert fills[0]["amount"] == 3
    assert fills[0]["dt"].strftime("%Y-%m-%d") == "2024-01-06"  # a Saturday
    assert fills[0]["price"] == pytest.approx(_close_on(BTC_DAILY, "2024-01-06"), rel=1e-12)


def test_daily_missing_session_reads_nan_and_is_reported(
    daily_run: tuple[Recorder, pd.DataFrame],
) -> None:
    from tradedata.feeds.zipline import last_ingest_report

    rec, _ = daily_run
    report = last_ingest_report(DAILY).asset("ETH/USDT")

    eth = rec.closes_series("ETH/USDT")
    assert np.isnan(eth.iloc[1])  # 2024-01-06 has no bar
    assert eth.iloc[2] == pytest.approx(_close_on(ETH_DAILY, "2024-01-07"), rel=1e-12)
    assert report.missing_sessions == 1
    assert [g[0][:10] for g in report.gaps] == ["2024-01-06"]


def test_minute_mode_labels_bars_by_their_end(minute_run: tuple[Recorder, pd.DataFrame]) -> None:
    rec, _ = minute_run

    seen = rec.closes_series("BTC/USDT")

    assert seen.index[0] == pd.Timestamp("2024-01-02 00:00", tz="UTC")
    assert seen.index[-1] == pd.Timestamp("2024-01-02 23:59", tz="UTC")
    expected = BTC_MINUTE["close"].reindex(seen.index - pd.Timedelta(minutes=1))
    np.testing.assert_allclose(seen.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert np.isnan(seen[pd.Timestamp("2024-01-02 10:01", tz="UTC")])  # the missing kline


def test_minute_mode_orders_fill_on_the_next_minute(
    minute_run: tuple[Recorder, pd.DataFrame],
) -> None:
    _, perf = minute_run

    fills = transactions(perf)

    assert [f["amount"] for f in fills] == [2]
    assert fills[0]["dt"] == pd.Timestamp("2024-01-02 00:01", tz="UTC")
    kline = BTC_MINUTE.loc[pd.Timestamp("2024-01-02 00:00", tz="UTC"), "close"]
    assert fills[0]["price"] == pytest.approx(kline, rel=1e-12)


def test_minute_bundle_daily_history_aggregates_each_session(
    minute_run: tuple[Recorder, pd.DataFrame],
) -> None:
    rec, _ = minute_run

    at, history = rec.histories[-1]  # the last minute of 2024-01-02

    assert at == pd.Timestamp("2024-01-02 23:59", tz="UTC")
    session_01 = BTC_MINUTE.loc["2023-12-31 23:59":"2024-01-01 23:58", "close"]
    session_02 = BTC_MINUTE.loc["2024-01-01 23:59":"2024-01-02 23:58", "close"]
    np.testing.assert_allclose(
        history.to_numpy(), [session_01.iloc[-1], session_02.iloc[-1]], rtol=1e-12
    )


def test_minute_bundle_daily_bars_written_per_session(crypto: Workspace) -> None:
    data = crypto.load(MINUTE)
    reader, sid = data.equity_daily_bar_reader, 1
    session = BTC_MINUTE.loc["2024-01-02 23:59":"2024-01-03 23:58"]

    values = {f: reader.get_value(sid, pd.Timestamp("2024-01-03"), f) for f in session.columns}

    assert values["open"] == pytest.approx(session["open"].iloc[0], rel=1e-12)
    assert values["high"] == pytest.approx(session["high"].max(), rel=1e-12)
    assert values["low"] == pytest.approx(session["low"].min(), rel=1e-12)
    assert values["close"] == pytest.approx(session["close"].iloc[-1], rel=1e-12)
    assert values["volume"] == session["volume"].sum()
    data.close()


def test_asset_metadata_exchange_country_and_auto_close(crypto: Workspace) -> None:
    data = crypto.load(DAILY)
    minute_data = crypto.load(MINUTE)

    btc = data.asset_finder.lookup_symbol("BTC/USDT", as_of_date=None)
    minute_btc = minute_data.asset_finder.retrieve_asset(btc.sid)

    assert btc.exchange == "CRYPTO" and btc.exchange_info.country_code == "XX"
    assert minute_btc.exchange == "BINANCE"
    assert btc.start_date == pd.Timestamp("2024-01-01")
    assert btc.end_date == pd.Timestamp("2024-01-20")
    assert btc.auto_close_date == pd.Timestamp("2024-01-21")
    data.close()
    minute_data.close()


def test_sids_are_stable_across_reingests_and_bundles(workspace: Workspace) -> None:
    from tradedata.feeds.zipline import sid_registry

    for sym in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
        workspace.manager.import_frame(daily_frame("2024-02-01", "2024-02-05"), sym, "1d")
    workspace.register("td-sids", ["BTC/USDT", "ETH/USDT"], "1d", "2024-02-01", "2024-02-05")
    workspace.ingest("td-sids")
    first = _sids(workspace.load("td-sids"))

    workspace.register(
        "td-sids", ["SOL/USDT", "ETH/USDT", "BTC/USDT"], "1d", "2024-02-01", "2024-02-05"
    )
    workspace.ingest("td-sids")
    second = _sids(workspace.load("td-sids"))

    assert second["BTC/USDT"] == first["BTC/USDT"]
    assert second["ETH/USDT"] == first["ETH/USDT"]
    assert second["SOL/USDT"] not in first.values()
    assert sid_registry(workspace.manager.cache_dir).known() == second


def _sids(data: Any) -> dict[str, int]:
    finder = data.asset_finder
    out = {a.symbol: a.sid for a in finder.retrieve_all(finder.sids)}
    data.close()
    return out


def test_report_is_saved_next_to_the_bundle(crypto: Workspace) -> None:
    import json

    files = list((crypto.root / "data" / DAILY).glob("*/tradedata_ingest.json"))

    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert [a["symbol"] for a in saved["assets"]] == ["BTC/USDT", "ETH/USDT"]
    assert saved["calendar"] == "TRADEDATA-24/7"


def test_forex_bundle_uses_a_weekday_calendar(workspace: Workspace) -> None:
    from tradedata.feeds.zipline import FOREX_CALENDAR

    eurusd = daily_frame("2024-01-01", "2024-01-14", first_close=1.095, step=0.001)
    eurusd = eurusd.assign(
        open=eurusd.close - 0.001, high=eurusd.close + 0.002, low=eurusd.close - 0.002
    )
    workspace.manager.import_frame(eurusd, "EUR/USD", "1d")
    spec = workspace.register("td-fx", ["EURUSD"], "1d", "2024-01-01", "2024-01-14")

    report = workspace.ingest("td-fx")

    data = workspace.load("td-fx")
    sessions = data.equity_daily_bar_reader.sessions
    friday = data.equity_daily_bar_reader.get_value(1, pd.Timestamp("2024-01-12"), "close")
    data.close()
    assert spec.calendar == FOREX_CALENDAR
    assert list(sessions.weekday.unique()) == [0, 1, 2, 3, 4]
    assert spec.end == pd.Timestamp("2024-01-12")  # Sunday the 14th is no session
    assert report.asset("EUR/USD").bars == 12
    assert report.asset("EUR/USD").off_calendar == 2  # the weekend in between
    assert report.asset("EUR/USD").written == 10
    assert friday == pytest.approx(_close_on(eurusd, "2024-01-12"), rel=1e-12)
