"""Dividend adjustment per source: the reference close is the frame's own market's close.

Two sources of one symbol (the consolidated tape and IEX's) close at different prices; the
factor ``1 - dividend / close before the ex-date`` of each series must use that series' own
as-traded close, never the default source's (stores: embedded and PostgreSQL).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradedata.actions import CorporateActions
from tradedata.manager import DataManager

EX_DATE = pd.Timestamp("2024-02-09", tz="UTC")  # a Friday
AMOUNT = 2.0


def _bars(close: float) -> pd.DataFrame:
    days = pd.bdate_range("2024-02-01", "2024-02-16", tz="UTC", name="timestamp")
    closes = close + np.arange(len(days)) * 0.5
    return pd.DataFrame(
        {"open": closes, "high": closes + 1, "low": closes - 1, "close": closes,
         "volume": np.full(len(days), 1000.0)},
        index=days,
    )  # fmt: skip


def _record() -> CorporateActions:
    return CorporateActions(
        pd.Series(dtype="float64"),
        pd.Series([AMOUNT], index=pd.DatetimeIndex([EX_DATE])),
        checked_at=pd.Timestamp.now(tz="UTC"),
        source="test",
    )


def _store(dm: DataManager, frame: pd.DataFrame, source: str, provider: str) -> None:
    span = (frame.index[0], frame.index[-1])
    dm.cache.write("AAPL", "1d", frame, source=source, provider=provider, coverage=span)


@pytest.fixture
def dm(store_spec: str) -> DataManager:
    manager = DataManager(store=store_spec)
    yield manager  # type: ignore[misc]
    manager.close()


def _factor(frame: pd.DataFrame) -> float:
    before = frame[frame.index < EX_DATE]
    return 1.0 - AMOUNT / float(before["close"].iloc[-1])


@pytest.mark.parametrize(("named", "close"), [("IEX:AAPL", 80.0), ("AAPL", 100.0)])
def test_a_window_before_the_ex_date_is_adjusted_with_its_own_sources_close(
    dm: DataManager, named: str, close: float
) -> None:
    consolidated, iex = _bars(100.0), _bars(80.0)
    _store(dm, consolidated, "consolidated", "fmp")
    _store(dm, iex, "iex", "alpaca")
    dm.cache.set_actions("AAPL", _record())
    own = _bars(close)

    # the window ends before the ex-date: the close before it is read from the store
    head = dm.get_ohlcv(named, "1d", "2024-02-01", "2024-02-07", provider="cache", adjust="all")
    whole = dm.get_ohlcv(named, "1d", "2024-02-01", "2024-02-16", provider="cache", adjust="all")

    expected = own.loc[:"2024-02-07", "close"] * _factor(own)
    np.testing.assert_allclose(head["close"], expected, rtol=1e-12)
    # the same bars cut from a longer read (the frame's own close before the ex-date)
    np.testing.assert_allclose(head["close"], whole.loc[:"2024-02-07", "close"], rtol=1e-12)
    assert not head.attrs["adjust_notes"]


def test_a_split_adjusted_view_takes_its_reference_from_the_as_traded_series(
    dm: DataManager,
) -> None:
    as_traded, view = _bars(100.0), _bars(25.0)  # the view: an older version's adjusted bars
    _store(dm, as_traded, "consolidated", "fmp")
    _store(dm, view, "consolidated_splits", "yahoo")
    dm.cache.set_actions("AAPL", _record())

    frame = dm.get_ohlcv(
        "AAPL", "1d", "2024-02-01", "2024-02-16", exchange="consolidated_splits",
        provider="cache", adjust="all",
    )  # fmt: skip

    before = frame.index < EX_DATE
    np.testing.assert_allclose(
        frame.loc[before, "close"], view.loc[before, "close"] * _factor(as_traded), rtol=1e-12
    )
    np.testing.assert_allclose(frame.loc[~before, "close"], view.loc[~before, "close"])


def test_a_source_without_a_close_before_the_ex_date_says_so(dm: DataManager) -> None:
    late = pd.Timestamp("2024-02-28", tz="UTC")  # IEX's last bar is three weeks before it
    days = pd.bdate_range("2024-02-01", "2024-02-29", tz="UTC", name="timestamp")
    tape = pd.DataFrame({c: 100.0 for c in ("open", "high", "low", "close")}, index=days)
    _store(dm, tape.assign(volume=1000.0), "consolidated", "fmp")
    iex = _bars(80.0).loc[:"2024-02-07"]
    _store(dm, iex, "iex", "alpaca")
    record = CorporateActions(
        dividends=pd.Series([AMOUNT], index=pd.DatetimeIndex([late])),
        checked_at=pd.Timestamp.now(tz="UTC"),
    )
    dm.cache.set_actions("AAPL", record)

    with pytest.warns(UserWarning, match="dividends not applied"):
        frame = dm.get_ohlcv(
            "IEX:AAPL", "1d", "2024-02-01", "2024-02-07", provider="cache", adjust="all"
        )

    np.testing.assert_allclose(frame["close"], iex["close"])  # no other market's close used


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    window=st.tuples(st.integers(0, 11), st.integers(0, 11)).map(sorted),
    dividends=st.lists(st.tuples(st.integers(1, 11), st.floats(0.1, 5.0)), min_size=1, max_size=3),
    named=st.sampled_from(["IEX:AAPL", "AAPL"]),
)
def test_any_window_reads_as_the_same_bars_cut_from_the_whole_series(
    tmp_path_factory: pytest.TempPathFactory,
    window: list[int],
    dividends: list[tuple[int, float]],
    named: str,
) -> None:
    """Whatever the window, each source's adjusted bars equal those of a read of the whole
    series: the reference close before an ex-date is always that source's own."""
    days = _bars(100.0).index
    with DataManager(cache_dir=tmp_path_factory.mktemp("prop")) as dm:
        _store(dm, _bars(100.0), "consolidated", "fmp")
        _store(dm, _bars(80.0).assign(close=lambda f: f["close"] * 0.97), "iex", "alpaca")
        paid = pd.Series({days[i]: amount for i, amount in dividends})
        dm.cache.set_actions(
            "AAPL", CorporateActions(dividends=paid, checked_at=pd.Timestamp.now(tz="UTC"))
        )
        first, last = days[window[0]], days[window[1]]
        part = dm.get_ohlcv(named, "1d", first, last, provider="cache", adjust="all")
        whole = dm.get_ohlcv(named, "1d", days[0], days[-1], provider="cache", adjust="all")

    np.testing.assert_allclose(part["close"], whole.loc[first:last, "close"], rtol=1e-12)


@pytest.mark.parametrize(("mode", "said"), [("splits", "splits"), ("raw", "splits")])
def test_a_split_adjusted_view_is_never_split_adjusted_again(
    dm: DataManager, mode: str, said: str
) -> None:
    split_day = pd.Timestamp("2024-02-09", tz="UTC")
    as_traded = _bars(100.0)
    as_traded.loc[as_traded.index < split_day, ["open", "high", "low", "close"]] *= 4
    view = _bars(100.0)  # what an older version stored: the 4:1 split already applied
    _store(dm, as_traded, "consolidated", "fmp")
    _store(dm, view, "consolidated_splits", "yahoo")
    dm.cache.set_actions(
        "AAPL",
        CorporateActions(
            pd.Series([4.0], index=pd.DatetimeIndex([split_day])),
            pd.Series(dtype="float64"),
            checked_at=pd.Timestamp.now(tz="UTC"),
            source="test",
        ),
    )

    frame = dm.get_ohlcv(
        "AAPL", "1d", "2024-02-01", "2024-02-16", exchange="consolidated_splits",
        provider="cache", adjust=mode,
    )  # fmt: skip
    plain = dm.get_ohlcv("AAPL", "1d", "2024-02-01", "2024-02-16", provider="cache")

    np.testing.assert_allclose(frame["close"], view["close"])  # not divided by 4 once more
    np.testing.assert_allclose(frame["volume"], view["volume"])
    np.testing.assert_allclose(plain["close"], view["close"])  # the as-traded series, adjusted
    assert frame.attrs["adjust"] == said
    assert any("split-adjusted" in n for n in frame.attrs["adjust_notes"]) == (mode == "raw")


def test_a_frame_mixing_sources_adjusts_each_run_with_its_own_markets_close(
    dm: DataManager,
) -> None:
    from tradedata.adapters.paging import Span
    from tradedata.model import parse_timeframe
    from tradedata.venues import labelled_frame

    consolidated, iex = _bars(100.0), _bars(80.0)
    hole = consolidated.index[(consolidated.index >= "2024-02-07") & (consolidated.index < EX_DATE)]
    _store(dm, consolidated.drop(hole), "consolidated", "fmp")  # the tape lacks Feb 7 and 8
    _store(dm, iex, "iex", "alpaca")
    dm.cache.set_actions("AAPL", _record())
    tf = parse_timeframe("1d")
    own = dm.cache.read("AAPL", "1d", source="consolidated")
    filled = [(Span(hole[0], hole[-1]), "iex")]  # the venue fallback's fill
    mixed, runs = labelled_frame(dm.cache, "AAPL", tf, own, "consolidated", filled)
    assert [r["source"] for r in runs] == ["consolidated", "iex", "consolidated"]

    out = dm.adjuster.apply_runs(mixed, "AAPL", tf, "all", runs, fetch=False)

    # the IEX bars right before the ex-date use IEX's close; the tape's bars the tape's own
    # last close before the ex-date (Feb 6), never the IEX bar sitting next to them
    tape_factor = 1.0 - AMOUNT / float(consolidated.loc["2024-02-06", "close"])
    np.testing.assert_allclose(
        out.loc[:"2024-02-06", "close"], consolidated.loc[:"2024-02-06", "close"] * tape_factor
    )
    np.testing.assert_allclose(out.loc[hole, "close"], iex.loc[hole, "close"] * _factor(iex))
    np.testing.assert_allclose(out.loc[EX_DATE:, "close"], consolidated.loc[EX_DATE:, "close"])
    assert out.attrs["adjust"] == "all" and list(out.index) == list(mixed.index)
