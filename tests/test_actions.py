"""Pure adjustment arithmetic: factors, round trips (hypothesis), the stored record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradedata.actions import (
    CorporateActions,
    adjust,
    bar_dates,
    check_mode,
    split_factors,
    to_as_traded,
)
from tradedata.errors import InputError, PriceBasisError
from tradedata.model import parse_timeframe

DAY = parse_timeframe("1d")


def _frame(days: pd.DatetimeIndex, closes: np.ndarray, volumes: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open": closes * 0.99,
            "high": closes * 1.01,
            "low": closes * 0.98,
            "close": closes,
            "volume": volumes,
        },
        index=pd.DatetimeIndex(days, name="timestamp"),
    )


def _utc(*days: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(days)).tz_localize("UTC")


def test_a_split_scales_prices_down_and_volumes_up_before_its_ex_date() -> None:
    days = _utc("2020-08-27", "2020-08-28", "2020-08-31", "2020-09-01")
    raw = _frame(days, np.array([500.0, 499.0, 129.0, 134.0]), np.array([10.0, 11, 40, 44]))
    actions = CorporateActions(splits=pd.Series([4.0], index=_utc("2020-08-31")))

    out, notes = adjust(raw, actions, "splits", days)

    np.testing.assert_allclose(out["close"], [125.0, 124.75, 129.0, 134.0])
    np.testing.assert_allclose(out["volume"], [40.0, 44.0, 40.0, 44.0])
    assert notes == []


def test_raw_mode_returns_the_bars_as_traded() -> None:
    days = _utc("2020-08-28", "2020-08-31")
    raw = _frame(days, np.array([499.0, 129.0]), np.array([11.0, 40.0]))
    actions = CorporateActions(splits=pd.Series([4.0], index=_utc("2020-08-31")))

    out, _ = adjust(raw, actions, "raw", days)

    pd.testing.assert_frame_equal(out, raw)


def test_all_mode_applies_dividends_with_the_close_before_the_ex_date() -> None:
    days = _utc("2024-02-08", "2024-02-09", "2024-02-12")
    raw = _frame(days, np.array([100.0, 100.0, 99.0]), np.array([5.0, 5.0, 5.0]))
    actions = CorporateActions(dividends=pd.Series([1.0], index=_utc("2024-02-12")))

    out, _ = adjust(raw, actions, "all", days)

    np.testing.assert_allclose(out["close"], [99.0, 99.0, 99.0])


def test_a_dividend_whose_prior_close_is_unknown_is_reported_not_guessed() -> None:
    days = _utc("2024-02-08", "2024-02-09")
    raw = _frame(days, np.array([100.0, 100.0]), np.array([5.0, 5.0]))
    later = CorporateActions(dividends=pd.Series([1.0], index=_utc("2024-05-15")))

    out, notes = adjust(raw, later, "all", days, close_before=lambda ex: None)

    np.testing.assert_allclose(out["close"], raw["close"])
    assert notes and "2024-05-15" in notes[0]


def test_intraday_bars_take_their_session_date_in_the_exchange_zone() -> None:
    opens = pd.DatetimeIndex(["2020-08-28 19:55", "2020-08-31 13:30"], tz="UTC")

    dates = bar_dates(opens, parse_timeframe("5m"), "America/New_York")

    assert list(dates) == list(_utc("2020-08-28", "2020-08-31"))
    assert list(split_factors(dates, pd.Series([4.0], index=_utc("2020-08-31")))) == [4.0, 1.0]


def test_a_dividend_adjusted_answer_cannot_be_put_back_as_traded() -> None:
    days = _utc("2024-02-08")
    with pytest.raises(PriceBasisError):
        to_as_traded(
            _frame(days, np.array([1.0]), np.array([1.0])), CorporateActions(), "all", days
        )


def test_unknown_modes_are_input_errors() -> None:
    with pytest.raises(InputError, match="adjust must be one of"):
        check_mode("split")


def test_the_record_survives_json() -> None:
    record = CorporateActions(
        pd.Series([4.0, 10.0], index=_utc("2021-07-20", "2024-06-10")),
        pd.Series([0.04], index=_utc("2024-03-05")),
        checked_at=pd.Timestamp("2024-07-01 12:00", tz="UTC"),
        source="polygon",
        since=pd.Timestamp("2020-01-01", tz="UTC"),
    )

    assert CorporateActions.from_json(record.to_json()) == record


_ratios = st.sampled_from([2.0, 3.0, 4.0, 5.0, 10.0, 0.5, 1.5])


@st.composite
def _case(draw: st.DrawFn) -> tuple[pd.DataFrame, CorporateActions, pd.DatetimeIndex]:
    n = draw(st.integers(1, 40))
    days = pd.bdate_range("2020-01-01", periods=n, tz="UTC")
    closes = np.array(draw(st.lists(st.floats(1.0, 5_000.0), min_size=n, max_size=n)))
    volumes = np.array(draw(st.lists(st.integers(0, 10**9), min_size=n, max_size=n)), float)
    picks = draw(st.lists(st.integers(0, n + 3), max_size=4, unique=True))
    ex = pd.bdate_range("2020-01-01", periods=n + 4, tz="UTC")[sorted(picks)]
    splits = pd.Series([draw(_ratios) for _ in picks], index=ex)
    return _frame(days, closes, volumes), CorporateActions(splits=splits), days


@settings(max_examples=150, deadline=None)
@given(_case())
def test_split_adjusting_then_undoing_it_gives_back_the_bars_as_traded(case) -> None:  # type: ignore[no-untyped-def]
    raw, actions, days = case

    adjusted, _ = adjust(raw, actions, "splits", days)
    back = to_as_traded(adjusted, actions, "splits", days)

    np.testing.assert_allclose(back.to_numpy(), raw.to_numpy(), rtol=1e-12)
    # every split-adjusted bar is the as-traded one over the same factor, volume times it
    k = split_factors(days, actions.splits)
    np.testing.assert_allclose(adjusted["close"] * k, raw["close"], rtol=1e-12)
    np.testing.assert_allclose(adjusted["volume"], raw["volume"] * k, rtol=1e-12)


@settings(max_examples=100, deadline=None)
@given(_case(), st.floats(0.001, 0.05))
def test_all_mode_is_splits_mode_times_a_dividend_factor_in_0_1(case, rate) -> None:  # type: ignore[no-untyped-def]
    raw, actions, days = case
    ex = days[len(days) // 2]
    divs = pd.Series([float(raw["close"].iloc[0]) * rate], index=pd.DatetimeIndex([ex]))
    both = CorporateActions(actions.splits, divs)

    split_only, _ = adjust(raw, both, "splits", days)
    full, _ = adjust(raw, both, "all", days)

    ratio = (full["close"] / split_only["close"]).to_numpy()
    assert ((ratio > 0) & (ratio <= 1.0 + 1e-12)).all()
    np.testing.assert_allclose(ratio[days >= ex], 1.0)
    np.testing.assert_allclose(full["volume"], split_only["volume"])


@settings(max_examples=100, deadline=None)
@given(_case(), st.integers(0, 40), st.sampled_from(["splits", "raw"]))
def test_stitching_two_bases_back_as_traded_reads_as_one_series(case, cut, mode) -> None:  # type: ignore[no-untyped-def]
    raw, actions, days = case
    cut = min(cut, len(raw))
    # the first part arrives split-adjusted (Yahoo, Polygon), the rest as traded (Alpaca)
    served, _ = adjust(raw.iloc[:cut], actions, "splits", days[:cut])
    stored = pd.concat([to_as_traded(served, actions, "splits", days[:cut]), raw.iloc[cut:]])

    ours, _ = adjust(stored, actions, mode, days)
    whole, _ = adjust(raw, actions, mode, days)

    np.testing.assert_allclose(ours.to_numpy(), whole.to_numpy(), rtol=1e-12)
