"""Equities across real splits: stored as traded, adjusted on read, one series across bases.

The fakes serve what each provider really serves (tests/fakes/market.py): Yahoo and Polygon
split-adjusted as of their clock, Alpaca (``adjustment=raw``), Tiingo and FMP as traded, around
AAPL's 4:1 of 2020-08-31, NVDA's 4:1 of 2021-07-20 and 10:1 of 2024-06-10 and TSLA's 5:1 of
2020-08-31 and 3:1 of 2022-08-25, with quarterly dividends.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.adapters.conftest import KEY, SECRET
from tests.fakes import FakeMarket, FakeProviderServer
from tradedata.errors import PriceBasisError
from tradedata.manager import DataManager

NAMES = ("yahoo", "alpaca", "polygon", "tiingo", "fmp", "alpha_vantage")
SPLITS = [
    ("AAPL", "2020-08-31"),
    ("NVDA", "2021-07-20"),
    ("NVDA", "2024-06-10"),
    ("TSLA", "2020-08-31"),
    ("TSLA", "2022-08-25"),
]
#: (first provider, the one failed over to): every pair mixes two price bases
PAIRS = [("yahoo", "alpaca"), ("alpaca", "polygon"), ("polygon", "tiingo"), ("fmp", "yahoo")]
COLS = ["open", "high", "low", "close", "volume"]


@pytest.fixture
def servers(request: pytest.FixtureRequest) -> Iterator[dict[str, FakeProviderServer]]:
    now = getattr(request, "param", "2024-12-02")
    started = {n: FakeProviderServer(n, api_key=KEY, secret=SECRET, now=now).start() for n in NAMES}
    yield started
    for server in started.values():
        server.stop()


def _manager(servers: dict[str, FakeProviderServer], path: Path, **rules: object) -> DataManager:
    settings = {n: {"url": s.url, "api_key": KEY, "secret": SECRET} for n, s in servers.items()}
    settings["alpaca"]["options"] = {"feed": "sip"}  # consolidated volume, as the others
    config = {"rules": rules} if rules else None
    return DataManager(cache_dir=path, providers=settings, config=config)


def _truth(symbol: str, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp) -> dict:
    """The one continuous series in every mode, from the market's as-traded bars."""
    market = FakeMarket()
    raw = market.daily(symbol, start, end + pd.Timedelta(hours=23))[COLS]
    raw = raw[raw.index <= end]
    k = market.split_factor(symbol, raw.index, upto=now)
    splits = raw.copy()
    for col in COLS[:4]:
        splits[col] = raw[col] / k
    splits["volume"] = raw["volume"] * k
    divs = market.adjustment(symbol, raw.index, now)
    full = splits.copy()
    for col in COLS[:4]:
        full[col] = splits[col] * divs
    return {"raw": raw, "splits": splits, "all": full}


def _setup_clock(servers: dict[str, FakeProviderServer], now: pd.Timestamp) -> None:
    for server in servers.values():
        server._now = now


@pytest.mark.parametrize(("symbol", "day"), SPLITS)
@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_failover_across_a_split_gives_one_continuous_series_in_every_mode(
    servers: dict[str, FakeProviderServer],
    tmp_path: Path,
    symbol: str,
    day: str,
    first: str,
    second: str,
) -> None:
    ex = pd.Timestamp(day, tz="UTC")
    start, end = ex - pd.Timedelta(days=15), ex + pd.Timedelta(days=20)
    now = end + pd.Timedelta(days=1, hours=12)  # the providers' clock: just after the window
    _setup_clock(servers, now)

    with _manager(servers, tmp_path / "cache") as dm:
        dm.provider(first).now = lambda: now  # type: ignore[method-assign]
        dm.provider(second).now = lambda: now  # type: ignore[method-assign]
        dm.get_ohlcv(symbol, "1d", start, ex - pd.Timedelta(days=1), provider=first)
        frames = {m: dm.get_ohlcv(symbol, "1d", start, end, provider=second, adjust=m)
                  for m in ("splits", "all", "raw")}  # fmt: skip
        spans = {s.provider for s in dm.cache.coverage(symbol, "1d")}

    truth = _truth(symbol, start, end, now)
    assert spans == {first, second}  # the series really mixes both providers
    for mode, frame in frames.items():
        assert frame.attrs["adjust"] == mode
        np.testing.assert_allclose(frame[COLS].to_numpy(), truth[mode].to_numpy(), rtol=1e-9)
    jump = frames["splits"]["close"].pct_change().abs().max()
    assert jump < 0.2  # no split-sized step in the adjusted series


def test_split_announced_after_caching_re_adjusts_with_zero_candle_requests(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    start, end = pd.Timestamp("2020-08-03", tz="UTC"), pd.Timestamp("2020-08-19", tz="UTC")
    before, after = pd.Timestamp("2020-08-20 12:00", tz="UTC"), pd.Timestamp("2020-09-15", tz="UTC")
    _setup_clock(servers, before)
    rules = {"stock_daily": {"primary": "alpaca", "backup": ["polygon"], "timeframes": ["1d"]}}

    with _manager(servers, tmp_path / "cache", **rules) as dm:
        dm.provider("alpaca").now = lambda: before  # type: ignore[method-assign]
        first = dm.get_ohlcv("AAPL", "1d", start, end)
        bars_asked = servers["alpaca"].count("/bars") + servers["polygon"].count("/v2/aggs")
        _setup_clock(servers, after)  # the 4:1 split of 2020-08-31 is now public
        dm.provider("alpaca").now = lambda: after  # type: ignore[method-assign]
        dm.corporate_actions("AAPL", refresh=True)
        again = dm.get_ohlcv("AAPL", "1d", start, end, provider="cache")
        raw = dm.get_ohlcv("AAPL", "1d", start, end, provider="cache", adjust="raw")

    assert servers["alpaca"].count("/bars") + servers["polygon"].count("/v2/aggs") == bars_asked
    assert servers["alpaca"].count("/v1/corporate-actions") == 2  # asked: the actions only
    np.testing.assert_allclose(again["close"], first["close"] / 4, rtol=1e-12)
    np.testing.assert_allclose(again["volume"], first["volume"] * 4, rtol=1e-12)
    pd.testing.assert_frame_equal(raw[COLS], first[COLS], check_freq=False)


def test_a_split_adjusted_answer_is_stored_as_traded_with_its_basis_recorded(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    start, end = pd.Timestamp("2020-08-24", tz="UTC"), pd.Timestamp("2020-09-04", tz="UTC")

    with _manager(servers, tmp_path / "cache") as dm:
        raw = dm.get_ohlcv("TSLA", "1d", start, end, provider="polygon", adjust="raw")
        meta = dm.cache.metadata("TSLA", "1d", 2020)

    truth = FakeMarket().daily("TSLA", start, end + pd.Timedelta(hours=23))[COLS]
    np.testing.assert_allclose(raw[COLS].to_numpy(), truth.to_numpy(), rtol=1e-9)
    assert meta is not None and meta["provider_info"]["polygon"]["basis"] == "splits"


def test_a_dividend_adjusted_basis_is_refused_with_a_typed_error_and_nothing_stored(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    settings = {"url": servers["alpaca"].url, "api_key": KEY, "secret": SECRET,
                "options": {"adjustment": "all"}}  # fmt: skip
    start, end = pd.Timestamp("2024-02-01", tz="UTC"), pd.Timestamp("2024-02-29", tz="UTC")

    with DataManager(cache_dir=tmp_path / "cache", providers={"alpaca": settings}) as dm:
        result = dm.fetch_missing("AAPL", "1d", start, end, provider="alpaca")
        stored = dm.cache.has("AAPL", "1d")

    assert isinstance(result.failures["alpaca"], PriceBasisError)
    assert not stored and result.unfetched


def test_iex_feeds_serve_a_few_percent_of_consolidated_volume(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    start, end = pd.Timestamp("2024-03-04", tz="UTC"), pd.Timestamp("2024-03-08", tz="UTC")
    _setup_clock(servers, pd.Timestamp("2024-03-20", tz="UTC"))
    iex = {"url": servers["alpaca"].url, "api_key": KEY, "secret": SECRET}

    with (
        DataManager(cache_dir=tmp_path / "a", providers={"alpaca": iex}) as dm,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # no actions source configured here
        free = dm.get_ohlcv("AAPL", "1d", start, end, provider="alpaca", adjust="raw")
    truth = FakeMarket().daily("AAPL", start, end + pd.Timedelta(hours=23))

    share = (free["volume"] / truth["volume"]).to_numpy()
    assert ((share > 0.01) & (share < 0.05)).all()
    np.testing.assert_allclose(free["close"], truth["close"])


@pytest.mark.parametrize(("symbol", "day"), [SPLITS[0], SPLITS[4]])
@pytest.mark.parametrize(("first", "second"), [("polygon", "alpaca"), ("alpaca", "polygon")])
def test_intraday_failover_across_a_split_is_continuous_in_every_mode(
    servers: dict[str, FakeProviderServer],
    tmp_path: Path,
    symbol: str,
    day: str,
    first: str,
    second: str,
) -> None:
    ex = pd.Timestamp(day, tz="UTC")
    start, end = ex - pd.Timedelta(days=4), ex + pd.Timedelta(days=3, hours=23)
    now = end + pd.Timedelta(days=2)
    _setup_clock(servers, now)

    with _manager(servers, tmp_path / "cache") as dm:
        for name in (first, second):
            dm.provider(name).now = lambda: now  # type: ignore[method-assign]
        dm.get_ohlcv(symbol, "1h", start, ex - pd.Timedelta(hours=1), provider=first)
        frames = {m: dm.get_ohlcv(symbol, "1h", start, end, provider=second, adjust=m)
                  for m in ("splits", "raw")}  # fmt: skip

    market = FakeMarket()
    raw = market.intraday(symbol, 60, start, end, align="clock")[COLS]
    k = market.split_factor(symbol, market.session_dates(symbol, raw.index), upto=now)
    np.testing.assert_allclose(frames["raw"][COLS].to_numpy(), raw.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(frames["splits"]["close"], raw["close"] / k, rtol=1e-9)
    np.testing.assert_allclose(frames["splits"]["volume"], raw["volume"] * k, rtol=1e-9)


@pytest.mark.parametrize("name", ["yahoo", "polygon", "tiingo", "fmp", "alpaca", "alpha_vantage"])
def test_every_actions_endpoint_gives_the_same_splits_and_as_paid_dividends(
    servers: dict[str, FakeProviderServer], tmp_path: Path, name: str
) -> None:
    start, end = pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2024-11-29", tz="UTC")

    with _manager(servers, tmp_path / "cache") as dm:
        prov = dm.provider(name)
        prov.now = lambda: pd.Timestamp("2024-12-02", tz="UTC")  # type: ignore[method-assign]
        found = prov.fetch_actions("NVDA", start, end)

    market = FakeMarket()
    assert prov.capabilities.actions
    assert found.splits.to_dict() == market.splits("NVDA", start, end).to_dict()
    expected = market.dividends("NVDA", start, end)
    assert list(found.dividends.index) == list(expected.index)
    np.testing.assert_allclose(found.dividends.to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_a_split_is_not_scored_as_an_outlier_in_any_mode(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    start, end = pd.Timestamp("2020-08-03", tz="UTC"), pd.Timestamp("2020-09-30", tz="UTC")

    with _manager(servers, tmp_path / "cache") as dm:
        frames = [dm.get_ohlcv("AAPL", "1d", start, end, provider="alpaca", adjust=m)
                  for m in ("raw", "splits")]  # fmt: skip
        stored = dm.cache.metadata("AAPL", "1d", 2020)

    raw, adjusted = frames
    assert raw["close"].pct_change().min() < -0.7  # the as-traded 4:1 step is there
    assert raw.attrs["quality"].checks.get("outliers", 0) == 0
    assert raw.attrs["quality"].score == adjusted.attrs["quality"].score
    assert stored is not None
    assert not any("outlier" in e for e in stored["data_quality"]["validation_errors"])


def test_unknown_actions_are_reported_and_not_asked_for_on_every_read(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    start, end = pd.Timestamp("2020-08-24", tz="UTC"), pd.Timestamp("2020-09-04", tz="UTC")
    servers["alpaca"].fail("server_error", times=None, path="/v1/corporate-actions")
    rules = {"stock_daily": {"primary": "alpaca", "backup": [], "timeframes": ["1d"]}}

    with _manager(servers, tmp_path / "cache", **rules) as dm:
        with pytest.warns(UserWarning, match="no corporate actions known"):
            first = dm.get_ohlcv("AAPL", "1d", start, end)
        asked = servers["alpaca"].count("/v1/corporate-actions")
        with pytest.warns(UserWarning, match="no corporate actions known"):
            dm.get_ohlcv("AAPL", "1d", start, end)

    assert asked >= 1 and servers["alpaca"].count("/v1/corporate-actions") == asked
    assert first.attrs["actions"] is None and first.attrs["adjust_notes"]
    truth = FakeMarket().daily("AAPL", start, end + pd.Timedelta(hours=23))
    np.testing.assert_allclose(first["close"], truth["close"])  # as traded, and says so


RECORDED = Path(__file__).resolve().parents[1] / "resources"
REPLAYS = [
    ("polygon", {"/v3/reference/splits": "polygon/splits_NVDA.json",
                 "/v3/reference/dividends": "polygon/dividends_AAPL.json"}),
    ("fmp", {"/stock_split/": "fmp/stock_split_NVDA.json",
             "/stock_dividend/": "fmp/stock_dividend_AAPL.json"}),
    ("alpaca", {"/v1/corporate-actions": "alpaca/corporate_actions_NVDA.json"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "bodies"), REPLAYS, ids=[r[0] for r in REPLAYS])
def test_recorded_actions_bodies_parse_to_ex_dates_ratios_and_as_paid_cash(
    servers: dict[str, FakeProviderServer], tmp_path: Path, name: str, bodies: dict[str, str]
) -> None:
    import json

    for path, resource in bodies.items():
        body = json.loads((RECORDED / resource).read_text(encoding="utf-8"))
        servers[name].fail("custom", times=None, path=path, body=body)
    start, end = pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2024-12-01", tz="UTC")

    with _manager(servers, tmp_path / "cache") as dm:
        found = dm.provider(name).fetch_actions("NVDA", start, end)

    utc = lambda d: pd.Timestamp(d, tz="UTC")  # noqa: E731
    assert found.splits.to_dict() == {utc("2024-06-10"): 10.0} | (
        {} if name == "alpaca" else {utc("2021-07-20"): 4.0}
    )
    cash = found.dividends.to_dict()
    if name == "alpaca":
        assert cash == {utc("2024-06-11"): 0.01}
    else:  # the recorded dividend bodies are AAPL's (the fake answers whatever is asked)
        assert cash[utc("2024-05-10")] == 0.25
        assert name != "fmp" or cash[utc("2020-08-07")] == 0.82  # as paid, not 0.205


def test_a_failover_in_the_middle_of_one_request_stitches_both_bases(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    ex = pd.Timestamp("2020-08-31", tz="UTC")
    start, end = ex - pd.Timedelta(days=20), ex + pd.Timedelta(days=20)
    now = end + pd.Timedelta(days=1, hours=12)
    _setup_clock(servers, now)
    servers["polygon"].page_limit = 5  # Polygon pages with next_url ...
    rules = {"stock_daily": {"primary": "polygon", "backup": ["alpaca"], "timeframes": ["1d"]}}

    def break_polygon(chunk: object) -> None:  # ... and fails after its first page
        servers["polygon"].fail("server_error", times=None)

    with _manager(servers, tmp_path / "cache", **rules) as dm:
        for name in ("polygon", "alpaca"):
            dm.provider(name).now = lambda: now  # type: ignore[method-assign]
        first = dm.get_ohlcv("AAPL", "1d", start, end, on_chunk=break_polygon, adjust="raw")
        frames = {m: dm.get_ohlcv("AAPL", "1d", start, end, provider="cache", adjust=m)
                  for m in ("splits", "all")}  # fmt: skip
        spans = [(s.provider, s.start) for s in dm.cache.coverage("AAPL", "1d")]

    truth = _truth("AAPL", start, end, now)
    assert [p for p, _ in spans] == ["polygon", "alpaca"] and spans[1][1] < ex
    np.testing.assert_allclose(first[COLS].to_numpy(), truth["raw"].to_numpy(), rtol=1e-9)
    for mode, frame in frames.items():
        np.testing.assert_allclose(frame[COLS].to_numpy(), truth[mode].to_numpy(), rtol=1e-9)
