"""Open interest merged onto bars (tradedata.open_interest) and the request windows it is asked
in (tradedata.adapters.ccxt_.open_interest): properties, and the typed refusals."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradedata.adapters.ccxt_.open_interest import (
    OI_TRAITS,
    parse_records,
    period_for,
    plan_windows,
)
from tradedata.errors import InvalidResponseError, OpenInterestUnavailableError
from tradedata.model import OPEN_INTEREST, parse_timeframe
from tradedata.open_interest import (
    check_contract,
    lacking_open_interest,
    merge_open_interest,
    missing_runs,
)

T0 = pd.Timestamp("2024-03-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)


def _bars(opens: list[int], oi: list[float | None] | None = None) -> pd.DataFrame:
    index = pd.DatetimeIndex([T0 + k * HOUR for k in opens], name="timestamp")
    frame = pd.DataFrame(
        {c: np.arange(len(opens), dtype="float64") + 1 for c in ("open", "high", "low", "close")}
        | {"volume": np.ones(len(opens))},
        index=index,
    )
    if oi is not None:
        frame[OPEN_INTEREST] = [np.nan if v is None else v for v in oi]
    return frame


bar_hours = st.lists(st.integers(0, 200), min_size=0, max_size=60, unique=True).map(sorted)
# records at whole hours (bar opens or not) and at odd minutes (never a bar open)
record_times = st.lists(
    st.tuples(st.integers(-5, 210), st.sampled_from([0, 0, 0, 7, 30])), max_size=80
)


@settings(max_examples=200, deadline=None)
@given(hours=bar_hours, records=record_times, data=st.data())
def test_merge_puts_each_record_on_the_bar_opening_at_its_stamp_and_nowhere_else(
    hours: list[int], records: list[tuple[int, int]], data: st.DataObject
) -> None:
    stored = data.draw(st.lists(st.none() | st.floats(0, 1e6), min_size=len(hours),
                                max_size=len(hours)))  # fmt: skip
    frame = _bars(hours, stored)
    stamps = [T0 + h * HOUR + pd.Timedelta(minutes=m) for h, m in records]
    values = pd.Series(
        [float(i) + 0.5 for i in range(len(stamps))],
        index=pd.DatetimeIndex(stamps, name="timestamp"),
        dtype="float64",
    )
    last = values[~values.index.duplicated(keep="last")]

    out = merge_open_interest(frame, values)

    assert out.index.equals(frame.index)  # no bar added, dropped or moved
    assert out[["open", "high", "low", "close", "volume"]].equals(frame[list(out.columns[:5])])
    for ts, got in out[OPEN_INTEREST].items():
        before = frame.at[ts, OPEN_INTEREST]
        if ts in last.index:  # the record stamped exactly at the bar's open
            assert got == last[ts]
        elif math.isnan(before):  # nothing at its open: stays unknown, never borrowed
            assert math.isnan(got)
        else:
            assert got == before
    assert frame[OPEN_INTEREST].equals(
        pd.Series(
            [np.nan if v is None else v for v in stored],
            index=frame.index,
            name=OPEN_INTEREST,
            dtype="float64",
        )
    )  # fmt: skip - the input is not changed


@settings(max_examples=200, deadline=None)
@given(hours=bar_hours, found=st.data())
def test_missing_bars_are_reported_in_runs_covering_exactly_them(
    hours: list[int], found: st.DataObject
) -> None:
    tf = parse_timeframe("1h")
    frame = _bars(hours)
    got = found.draw(st.lists(st.booleans(), min_size=len(hours), max_size=len(hours)))
    reasons = found.draw(st.lists(st.sampled_from(["depth", "error"]), min_size=len(hours),
                                  max_size=len(hours)))  # fmt: skip
    values = pd.Series(
        [1.0] * sum(got), index=frame.index[np.array(got, dtype=bool)], dtype="float64"
    )
    missing = [(ts, r) for ts, g, r in zip(frame.index, got, reasons, strict=True) if not g]

    merged = merge_open_interest(frame, values)
    runs = missing_runs(missing, tf)

    nan_bars = set(lacking_open_interest(merged))
    covered = {ts for run in runs for ts in pd.date_range(run.start, run.end, freq="1h")}
    assert nan_bars == {ts for ts, _ in missing} == covered
    for run in runs:  # one reason per run, the reason of each of its bars
        for ts in pd.date_range(run.start, run.end, freq="1h"):
            assert dict(missing)[ts] == run.reason
    assert all(a.end < b.start for a, b in pairwise(runs))


@settings(max_examples=200, deadline=None)
@given(
    hours=st.lists(st.integers(0, 5000), min_size=1, max_size=300, unique=True).map(sorted),
    limit=st.integers(1, 500),
    period=st.sampled_from(["5m", "15m", "1h"]),
)
def test_windows_cover_every_open_once_and_never_hold_more_than_limit_stamps(
    hours: list[int], limit: int, period: str
) -> None:
    p = parse_timeframe(period)
    opens = [T0 + h * HOUR for h in hours]

    windows = plan_windows(opens, p, limit)

    assert [t for w in windows for t in w.opens] == opens
    step = p.milliseconds
    for w in windows:
        first = w.opens[0].value // 1_000_000
        assert w.since == first - 1
        inclusive = range(-(-w.since // step) * step, w.until + 1, step)
        assert len(inclusive) == limit  # inclusive or exclusive ends: the same limit stamps
        assert all(w.since < t.value // 1_000_000 <= w.until for t in w.opens)


@pytest.mark.parametrize(
    ("exchange", "timeframe", "period"),
    [
        ("binance", "5m", "5m"),
        ("binance", "1h", "1h"),
        ("binance", "8h", "4h"),  # no 8h series: the 4h records fall on every 8h open
        ("binance", "1d", "1d"),
        ("binance", "1w", "1d"),
        ("bybit", "2h", "1h"),
        ("bybit", "12h", "4h"),
        ("bybit", "1M", "1d"),
    ],
)
def test_period_is_the_coarsest_whose_records_fall_on_every_bar_open(
    exchange: str, timeframe: str, period: str
) -> None:
    assert period_for(exchange, parse_timeframe(timeframe))[0] == period


@pytest.mark.parametrize("timeframe", ["1m", "3m"])
def test_a_timeframe_finer_than_the_venues_periods_is_refused(timeframe: str) -> None:
    for exchange in ("binance", "bybit"):
        with pytest.raises(OpenInterestUnavailableError, match="5m"):
            period_for(exchange, parse_timeframe(timeframe))


def test_a_venue_without_an_open_interest_row_is_refused() -> None:
    with pytest.raises(OpenInterestUnavailableError, match="kraken"):
        period_for("kraken", parse_timeframe("1h"))
    assert OI_TRAITS["binance"].history_days == 30 and OI_TRAITS["bybit"].history_days is None


@pytest.mark.parametrize(
    ("symbol", "says"),
    [("BTC/USDT", "BTC/USDT:USDT"), ("AAPL", "not a derivatives contract")],
)
def test_spot_and_equities_have_no_open_interest(symbol: str, says: str) -> None:
    with pytest.raises(OpenInterestUnavailableError, match=says):
        check_contract(symbol)
    check_contract("BTC/USDT:USDT")  # a contract passes


def test_records_with_bad_values_are_an_invalid_response() -> None:
    ok = parse_records([{"timestamp": 2, "openInterestAmount": 1.5},
                        {"timestamp": 1, "openInterestAmount": None, "openInterestValue": 7}],
                       "x")  # fmt: skip
    assert ok.tolist() == [7.0, 1.5] and [t.value for t in ok.index] == [1_000_000, 2_000_000]
    for bad in ([{"timestamp": 1, "openInterestAmount": -1}], [{"openInterestAmount": 1}],
                [{"timestamp": 1, "openInterestAmount": float("nan")}], {"x": 1}):  # fmt: skip
        with pytest.raises(InvalidResponseError):
            parse_records(bad, "x")


class _Venue:
    """A provider of open interest for the filler (tradedata's own protocol, not a library's):
    records at the given stamps; every other asked open is reported with a reason."""

    name = "venue"

    def __init__(self, records: pd.Series) -> None:
        self.records = records
        self.asked: list[pd.Timestamp] = []

    def open_interest_period(self, symbol: str, timeframe: object) -> str:
        return "1h"

    def fetch_open_interest(self, symbol: str, timeframe: object, opens: list[pd.Timestamp]):
        from tradedata.adapters.ccxt_.open_interest import OpenInterestAnswer

        self.asked += opens
        found = self.records[self.records.index.isin(opens)]
        gone = [(t, "none") for t in opens if t not in found.index]
        return OpenInterestAnswer(values=[found], missing=gone, requests=1)


@settings(max_examples=25, deadline=None)
@given(
    hours=st.lists(st.integers(0, 120), min_size=1, max_size=40, unique=True).map(sorted),
    data=st.data(),
)
def test_filling_a_stored_series_keeps_bars_and_provenance_and_names_every_gap(
    tmp_path_factory: pytest.TempPathFactory, hours: list[int], data: st.DataObject
) -> None:
    from tradedata.cache.store import Cache
    from tradedata.open_interest import OpenInterestFiller

    tf = parse_timeframe("1h")
    stored = data.draw(st.lists(st.none() | st.floats(0, 1e6), min_size=len(hours),
                                max_size=len(hours)))  # fmt: skip
    bars = _bars(hours, stored)
    on = data.draw(st.lists(st.integers(-3, 125), max_size=60, unique=True))
    odd = data.draw(st.lists(st.integers(0, 120), max_size=10))  # stamps between bar opens
    stamps = [T0 + h * HOUR for h in on] + [T0 + h * HOUR + pd.Timedelta(minutes=30) for h in odd]
    records = pd.Series(np.arange(len(stamps), dtype="float64") + 0.25,
                        index=pd.DatetimeIndex(stamps, name="timestamp")).sort_index()  # fmt: skip
    records = records[~records.index.duplicated()]
    cache = Cache(tmp_path_factory.mktemp("oi"))
    try:
        cache.write("BTC/USDT:USDT", "1h", bars, source="venue", provider="csv:a",
                    coverage=(bars.index[0], bars.index[-1]))  # fmt: skip
        venue = _Venue(records)
        filler = OpenInterestFiller(cache, lambda name: venue, lambda s, t: lambda f: {})
        own = cache.read("BTC/USDT:USDT", "1h", source="venue")

        frame, reasons = filler.fill(own, "BTC/USDT:USDT", tf, "venue", venue)
        report = filler.report(frame, tf, reasons, "other")

        again = cache.read("BTC/USDT:USDT", "1h", source="venue")
        assert again[OPEN_INTEREST].equals(frame[OPEN_INTEREST])  # what is shown is stored
        cols = ["open", "high", "low", "close", "volume"]
        assert again[cols].equals(bars[cols])  # prices and volumes untouched
        assert {cache.provider_at("BTC/USDT:USDT", "1h", t, source="venue") for t in again.index} \
            == {"csv:a"}  # fmt: skip
        had = bars[OPEN_INTEREST].notna()
        assert set(venue.asked) == set(bars.index[~had.to_numpy()])  # only the unknown bars
        for ts, value in frame[OPEN_INTEREST].items():
            if had[ts]:
                assert value == bars.at[ts, OPEN_INTEREST]
            elif ts in records.index:
                assert value == records[ts]
            else:
                assert math.isnan(value)
        named = {t for u in report for t in pd.date_range(u.start, u.end, freq="1h")}
        assert named == set(frame.index[frame[OPEN_INTEREST].isna().to_numpy()])
    finally:
        cache.close()


def test_one_side_is_read_where_the_venue_says_it_is() -> None:
    bybit = OI_TRAITS["bybit"]
    both = {"timestamp": 1, "openInterestAmount": 10.0, "info": {"openInterest": "10"}}
    single = {**both, "info": {"openInterest": "10", "singleOpenInterest": "5.5"}}
    assert parse_records([single], "bybit", bybit).tolist() == [5.5]  # the venue's own figure
    assert parse_records([both], "bybit", bybit).tolist() == [5.0]  # "the sum of both sides"
    assert parse_records([both], "binance", OI_TRAITS["binance"]).tolist() == [10.0]
