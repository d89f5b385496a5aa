"""What zipline's uint32 columns can hold: refusals, per-asset minute ratios, price_scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from zipline_fixtures import Workspace, daily_frame, minute_frame, workspace_fixture  # noqa: F401

from tradedata.feeds.zipline.prepare import (
    PrecisionError,
    choose_ratio,
    price_problem,
    split_factors,
    suggest_scale,
    volume_problem,
)

pytest.importorskip("zipline")


def _bars(close: float, volume: float = 100.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"open": [close], "high": [close], "low": [close], "close": [close], "volume": [volume]}
    )


def _tiny(frame: pd.DataFrame, price: float = 0.00001234) -> pd.DataFrame:
    """``frame`` with every price at ``price`` (a meme coin)."""
    out = frame.copy()
    out[["open", "high", "low", "close"]] = price
    return out


# -- the checks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("price", [42123.45, 37.779999, 150.27999877929688, 0.5, 4_294_967.0])
def test_prices_zipline_holds_at_three_decimals(price: float) -> None:
    assert price_problem(_bars(price), 1000) is None


@pytest.mark.parametrize(
    ("price", "words"),
    [
        (0.00001234, "stored as 0"),
        (0.05123, "relative error"),
        (5_000_000.0, "overflows"),
        (-1.0, "negative"),
    ],
)
def test_prices_zipline_would_change_are_named(price: float, words: str) -> None:
    problem = price_problem(_bars(price), 1000)

    assert problem is not None and words in problem


@pytest.mark.parametrize(
    ("price", "ratio"), [(42123.45, 1000), (0.05123, 10**5), (0.00001234, 10**8), (1.23e-9, 10**11)]
)
def test_minute_ratio_is_the_smallest_that_holds_the_prices(price: float, ratio: int) -> None:
    assert choose_ratio(_bars(price)) == ratio


def test_volumes_beyond_uint32_are_named() -> None:
    assert volume_problem(_bars(1.0, volume=4.0e9)) is None
    assert "overflows" in (volume_problem(_bars(1.0, volume=5.0e9)) or "")


def test_suggested_scale_makes_tiny_prices_and_huge_volumes_fit() -> None:
    bars = _bars(0.00001234, volume=8.0e12)

    k = suggest_scale(bars, 1000)

    scaled = bars.assign(
        **{c: bars[c] * k for c in ("open", "high", "low", "close")}, volume=bars.volume / k
    )
    assert k == 1e5
    assert price_problem(scaled, 1000) is None and volume_problem(scaled) is None


def test_split_factors_multiply_the_splits_after_each_date() -> None:
    splits = pd.Series([2.0, 1.5], index=pd.DatetimeIndex(["2006-04-07", "2007-09-11"]))
    dates = pd.DatetimeIndex(["2006-01-03", "2006-04-06", "2006-04-07", "2007-09-11", "2008-01-02"])

    np.testing.assert_allclose(split_factors(dates, splits), [3.0, 3.0, 1.5, 1.0, 1.0])


# -- through zipline -------------------------------------------------------------------------------
def test_daily_bundle_refuses_a_price_it_would_store_as_zero(workspace: Workspace) -> None:
    workspace.manager.import_frame(
        _tiny(daily_frame("2024-01-01", "2024-01-05")), "PEPE/USDT", "1d"
    )
    workspace.register("td-pepe-1d", ["PEPE/USDT"], "1d", "2024-01-01", "2024-01-05")

    with pytest.raises(PrecisionError) as info:
        workspace.ingest("td-pepe-1d")

    message = str(info.value)
    assert "PEPE/USDT" in message and "stored as 0" in message
    assert "price_scale={'PEPE/USDT': 100000}" in message and "timeframe='1m'" in message
    assert list((workspace.root / "data" / "td-pepe-1d").rglob("*.bcolz")) == []


def test_price_scale_quotes_the_asset_in_larger_units(workspace: Workspace) -> None:
    workspace.manager.import_frame(
        _tiny(daily_frame("2024-01-01", "2024-01-05")), "PEPE/USDT", "1d"
    )
    workspace.register(
        "td-pepe-1d",
        ["PEPE/USDT"],
        "1d",
        "2024-01-01",
        "2024-01-05",
        price_scale={"PEPE/USDT": 1e5},
    )
    workspace.ingest("td-pepe-1d")

    data = workspace.load("td-pepe-1d")
    close = data.equity_daily_bar_reader.get_value(1, pd.Timestamp("2024-01-03"), "close")
    volume = data.equity_daily_bar_reader.get_value(1, pd.Timestamp("2024-01-03"), "volume")
    data.close()

    assert close == pytest.approx(1.234, rel=1e-12)
    assert volume == round((25_000.0 + 2) / 1e5)


def test_minute_bundle_stores_tiny_prices_with_a_per_asset_ratio(workspace: Workspace) -> None:
    pepe = _tiny(minute_frame("2023-12-31 23:59", "2024-01-01 23:58"))
    pepe["close"] = 0.00001234 + np.arange(len(pepe)) % 5 * 1e-8
    pepe["high"] = pepe["close"]
    workspace.manager.import_frame(pepe, "PEPE/USDT", "1m")
    workspace.manager.import_frame(
        minute_frame("2023-12-31 23:59", "2024-01-01 23:58"), "BTC/USDT", "1m"
    )
    workspace.register("td-pepe-1m", ["PEPE/USDT", "BTC/USDT"], "1m", "2024-01-01", "2024-01-01")

    report = workspace.ingest("td-pepe-1m")

    data = workspace.load("td-pepe-1m")
    minute = pd.Timestamp("2024-01-01 12:00", tz="UTC")
    kline = minute - pd.Timedelta(minutes=1)
    pepe_close = data.equity_minute_bar_reader.get_value(1, minute, "close")
    daily_close = data.equity_daily_bar_reader.get_value(1, pd.Timestamp("2024-01-01"), "close")
    data.close()
    assert report.asset("PEPE/USDT").price_ratio == 10**8
    assert report.asset("BTC/USDT").price_ratio == 1000
    assert pepe_close == pytest.approx(pepe.loc[kline, "close"], rel=1e-12)
    assert np.isnan(daily_close)  # the daily writer's fixed ratio cannot hold it: empty, not wrong
    assert "price_scale" in (report.asset("PEPE/USDT").daily_omitted or "")
    assert any("rounds data.history" in note for note in report.asset("PEPE/USDT").notes)


def test_volume_beyond_uint32_is_refused(workspace: Workspace) -> None:
    frame = daily_frame("2024-01-01", "2024-01-05")
    frame.loc[frame.index[2], "volume"] = 6.5e9
    workspace.manager.import_frame(frame, "SHIB/USDT", "1d")
    workspace.register("td-shib-1d", ["SHIB/USDT"], "1d", "2024-01-01", "2024-01-05")

    with pytest.raises(PrecisionError, match=r"SHIB/USDT: volume 6\.5e\+09 overflows uint32"):
        workspace.ingest("td-shib-1d")


def test_volumes_below_half_a_unit_are_counted(workspace: Workspace) -> None:
    frame = daily_frame("2024-01-01", "2024-01-05")
    frame.loc[frame.index[1], "volume"] = 0.3
    workspace.manager.import_frame(frame, "BTC/USDT", "1d")
    workspace.register("td-small-vol", ["BTC/USDT"], "1d", "2024-01-01", "2024-01-05")

    report = workspace.ingest("td-small-vol")

    assert report.asset("BTC/USDT").volume_rounded_to_zero == 1


def test_negative_prices_are_refused_as_invalid_data(workspace: Workspace) -> None:
    from tradedata.errors import DataValidationError

    frame = daily_frame("2024-01-01", "2024-01-05")
    frame.loc[frame.index[3], "low"] = -1.0
    workspace.manager.import_frame(frame, "BTC/USDT", "1d")
    workspace.register("td-negative", ["BTC/USDT"], "1d", "2024-01-01", "2024-01-05")

    with pytest.raises(DataValidationError, match=r"BTC/USDT: negative low values") as info:
        workspace.ingest("td-negative")

    assert not isinstance(info.value, PrecisionError)
