"""Equity bundles: exchange calendars, splits and dividends through zipline's adjustments.

The bars are backtrader's real Yahoo files (split-adjusted OHLCV, as Yahoo delivers them); the
corporate actions are injected with ``corporate_actions=`` the way YahooProvider returns them
(Series indexed by ex-date at UTC midnight). ORCL's 2014 dividends ($0.12 on four ex-dates)
are the ones implied by the file's own Adj Close column.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from zipline_fixtures import (  # noqa: F401
    Recorder,
    Workspace,
    minute_frame,
    module_workspace,
    transactions,
    workspace_fixture,
    yahoo_file,
)

from tradedata.errors import InputError

pytest.importorskip("zipline")

NVDA = yahoo_file("nvda-1999-2014.txt", "2007-08-01", "2007-10-31")
ORCL = yahoo_file("orcl-2014.txt", "2014-01-01", "2014-12-31")
SPLIT_DAY = "2007-09-11"  # NVDA's 3-for-2
YAHOO_DAYS = ["2007-09-05", "2007-09-06", "2007-09-07", "2007-09-10"]
ORCL_EX_DATES = ["2014-01-03", "2014-04-04", "2014-07-07", "2014-10-06"]


def _utc(days: list[str]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(days).tz_localize("UTC")


def corporate_actions(
    symbol: str, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.Series, pd.Series]:
    """What YahooProvider.corporate_actions answers for the two sample tickers."""
    empty = pd.Series(dtype="float64", index=_utc([]))
    if symbol == "NVDA":
        return pd.Series([1.5], index=_utc([SPLIT_DAY])), empty
    if symbol == "ORCL":
        return empty, pd.Series([0.12] * 4, index=_utc(ORCL_EX_DATES))
    return empty, empty


def _fill(ws: Workspace) -> None:
    ws.manager.import_frame(NVDA, "NVDA", "1d", source="yahoo")
    ws.manager.import_frame(ORCL, "ORCL", "1d", source="yahoo")
    ws.register(
        "td-nvda", ["NVDA"], "1d", "2007-08-01", "2007-10-31", corporate_actions=corporate_actions
    )
    ws.register(
        "td-orcl", ["ORCL"], "1d", "2014-01-01", "2014-12-31", corporate_actions=corporate_actions
    )
    ws.ingest("td-nvda")
    ws.ingest("td-orcl")


@pytest.fixture(scope="module")
def equities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from module_workspace(tmp_path_factory, _fill)


def _close(frame: pd.DataFrame, day: str, column: str = "close") -> float:
    return float(frame.loc[pd.Timestamp(day, tz="UTC"), column])


def test_us_equities_use_the_nyse_calendar(equities: Workspace) -> None:
    from tradedata.feeds.zipline import bundle_spec, last_ingest_report

    data = equities.load("td-nvda")
    sessions = data.equity_daily_bar_reader.sessions
    data.close()

    assert bundle_spec("td-nvda").calendar == "XNYS"
    assert bundle_spec("td-nvda").start == pd.Timestamp("2007-08-01")
    assert pd.Timestamp("2007-09-03") not in sessions  # Labor Day
    assert pd.Timestamp("2007-09-08") not in sessions  # a Saturday
    assert last_ingest_report("td-nvda").asset("NVDA").missing_sessions == 0


def test_split_history_is_as_traded_before_and_adjusted_after(equities: Workspace) -> None:
    rec = Recorder(["NVDA"], history=("NVDA", 4))

    equities.run("td-nvda", "2007-09-10", "2007-09-12", rec)

    (before_at, before), _, (after_at, after) = rec.histories
    # Stored: Yahoo's split-adjusted close x 1.5 before the split, at 3 decimals; zipline
    # rounds the history it hands out to 3 decimals too.
    as_traded = np.round(np.array([_close(NVDA, d) for d in YAHOO_DAYS]) * 1.5, 3)
    assert before_at.strftime("%Y-%m-%d") == "2007-09-10"
    np.testing.assert_allclose(before.to_numpy(), as_traded, rtol=1e-12)
    assert rec.closes_series("NVDA").iloc[0] == pytest.approx(as_traded[-1], rel=1e-12)
    assert after_at.strftime("%Y-%m-%d") == "2007-09-12"
    adjusted = np.round(as_traded[2:] / 1.5, 3)
    later = np.round([_close(NVDA, "2007-09-11"), _close(NVDA, "2007-09-12")], 3)
    np.testing.assert_allclose(after.to_numpy(), [*adjusted, *later], rtol=1e-12)
    yahoo = [_close(NVDA, d) for d in ["2007-09-07", "2007-09-10", "2007-09-11", "2007-09-12"]]
    np.testing.assert_allclose(after.to_numpy(), yahoo, atol=5e-4)  # Yahoo's own adjustment


def test_split_is_recorded_in_the_adjustment_database(equities: Workspace) -> None:
    data = equities.load("td-nvda")
    splits = data.adjustment_reader.get_adjustments_for_sid("splits", 1)
    data.close()

    assert len(splits) == 1
    assert pd.Timestamp(splits[0][0], unit="s") == pd.Timestamp(SPLIT_DAY)
    assert splits[0][1] == pytest.approx(1 / 1.5)


def test_dividend_adjusted_history_matches_yahoo_adj_close(equities: Workspace) -> None:
    rec = Recorder(["ORCL"], history=("ORCL", 252))

    equities.run("td-orcl", "2014-12-31", "2014-12-31", rec)

    ((_, history),) = rec.histories
    ours = history.to_numpy() / history.iloc[-1]
    yahoo = ORCL["adj_close"].to_numpy() / ORCL["adj_close"].iloc[-1]
    assert len(history) == len(ORCL) == 252
    np.testing.assert_allclose(ours, yahoo, rtol=3e-5)
    assert not np.allclose(ORCL["close"].to_numpy() / ORCL["close"].iloc[-1], yahoo, rtol=3e-5)


def test_dividend_cash_is_paid_on_the_ex_date(equities: Workspace) -> None:
    rec = Recorder(["ORCL"], order_on_first={"ORCL": 100})

    perf = equities.run("td-orcl", "2014-10-02", "2014-10-07", rec)

    cash = perf["ending_cash"]
    cash.index = cash.index.strftime("%Y-%m-%d")
    assert transactions(perf)[0]["dt"].strftime("%Y-%m-%d") == "2014-10-03"
    assert cash["2014-10-06"] - cash["2014-10-03"] == pytest.approx(12.0)


def test_symbols_on_different_calendars_need_one_bundle_each(workspace: Workspace) -> None:
    with pytest.raises(InputError, match=r"AAPL: XNYS, VOD\.L: XLON"):
        workspace.register("td-mixed", ["AAPL", "VOD.L"], "1d", "2024-01-02", "2024-01-31")

    spec = workspace.register(
        "td-mixed", ["AAPL", "VOD.L"], "1d", "2024-01-02", "2024-01-31", calendar="XNYS"
    )
    assert spec.calendar == "XNYS"


def test_equity_minute_bars_follow_the_exchange_session(workspace: Workspace) -> None:
    bars = minute_frame("2024-01-02 14:00", "2024-01-03 20:59", first_close=185.0, step=0.01)
    workspace.manager.import_frame(bars, "AAPL", "1m")  # with after-hours and pre-market bars
    spec = workspace.register("td-aapl-1m", ["AAPL"], "1m", "2024-01-02", "2024-01-03")

    report = workspace.ingest("td-aapl-1m")
    rec = Recorder(["AAPL"])
    workspace.run("td-aapl-1m", "2024-01-02", "2024-01-02", rec, frequency="minute")

    seen = rec.closes_series("AAPL")
    assert spec.minutes_per_day == 390
    assert report.asset("AAPL").bars == 1830  # read from the 9:30 open to the last 15:59 bar
    assert report.asset("AAPL").off_calendar == 1830 - 2 * 390  # the night between
    assert report.asset("AAPL").written == 2 * 390
    assert seen.index[0] == pd.Timestamp("2024-01-02 14:31", tz="UTC")
    assert len(seen) == 390
    expected = bars["close"].reindex(seen.index - pd.Timedelta(minutes=1))
    np.testing.assert_allclose(seen.to_numpy(), expected.to_numpy(), rtol=1e-12)
