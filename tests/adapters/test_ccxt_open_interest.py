"""Open interest of Binance USDⓈ-M and Bybit linear perpetuals through real ccxt, the ccxt
adapter, the manager and the embedded store, against loopback fakes of the venues' documented
endpoints (tests/fakes/exchanges/derivatives.py cites each rule): every bar gets the record
stamped at its open, what the venue does not serve is NaN and reported, never invented."""

from __future__ import annotations

import json
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.fakes.exchanges.derivatives import (
    DerivativesFake,
    binance_usdm,
    bybit_linear,
    oi_value,
)
from tradedata.adapters import resilience
from tradedata.adapters.ccxt_ import CcxtProvider, cooldown
from tradedata.adapters.ccxt_.open_interest import plan_windows
from tradedata.adapters.resilience import RetryPolicy
from tradedata.errors import OpenInterestUnavailableError
from tradedata.manager import DataManager
from tradedata.model import OPEN_INTEREST, parse_timeframe

SYMBOL = "BTC/USDT:USDT"
FAST_RETRY = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.004)
DIALECTS = {"binance": binance_usdm, "bybit": bybit_linear}


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CcxtProvider, "retry_policy", FAST_RETRY)
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})
    monkeypatch.setattr(cooldown, "_cooldowns", {})


@pytest.fixture(params=list(DIALECTS))
def fake(request: pytest.FixtureRequest) -> Iterator[DerivativesFake]:
    with DerivativesFake(DIALECTS[request.param](), listing_bars=60 * 24) as server:
        yield server


@pytest.fixture
def binance() -> Iterator[DerivativesFake]:
    with DerivativesFake(binance_usdm(), listing_bars=60 * 24) as server:
        yield server


@pytest.fixture
def bybit() -> Iterator[DerivativesFake]:
    with DerivativesFake(bybit_linear(), listing_bars=60 * 24) as server:
        yield server


def _manager(fake: DerivativesFake, tmp_path: Path) -> DataManager:
    exchange = fake.dialect.exchange_id
    return DataManager(cache_dir=tmp_path / "cache", providers={exchange: {"url": fake.url}})


def _last_closed(hours: int = 1) -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=hours)


def _get(dm: DataManager, fake: DerivativesFake, start, end, tf: str = "1h", **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = dm.get_ohlcv(SYMBOL, tf, start, end, exchange=fake.dialect.exchange_id, **kw)
    return frame, [str(w.message) for w in caught]


def _truth(index: pd.DatetimeIndex) -> list[float]:
    return [oi_value(int(t.value // 1_000_000)) for t in index]


def _oi_queries(fake: DerivativesFake) -> list[dict[str, str]]:
    paths = ("/futures/data/openInterestHist", "/v5/market/open-interest")
    return [r.query for r in fake.requests if r.path in paths]


def test_each_bar_gets_the_record_stamped_at_its_open_and_it_is_stored(
    fake: DerivativesFake, tmp_path: Path
) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(days=10)
    with _manager(fake, tmp_path) as dm:
        frame, said = _get(dm, fake, start, end, open_interest=True)

        assert len(frame) == 241 and frame.index[0] == start and frame.index[-1] == end
        assert frame[OPEN_INTEREST].tolist() == _truth(frame.index)
        assert frame.attrs["open_interest_unfetched"] == [] and said == []
        assert fake.undocumented == [] and fake.unrouted == []
        per_request = 500 if fake.dialect.exchange_id == "binance" else 200
        assert fake.oi_requests() == -(-241 // per_request)  # full windows, no overlap

        stored = dm.get_ohlcv(SYMBOL, "1h", start, end, exchange=fake.dialect.exchange_id,
                              provider="cache")  # fmt: skip
        assert stored[OPEN_INTEREST].tolist() == _truth(stored.index)
        fake.reset()
        again, _ = _get(dm, fake, start, end, open_interest=True)
        assert fake.requests == []  # bars and open interest both served from the store
        assert again[OPEN_INTEREST].equals(frame[OPEN_INTEREST])


def test_binance_keeps_30_days_older_bars_stay_unknown_and_are_reported(
    binance: DerivativesFake, tmp_path: Path
) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(days=40)
    with _manager(binance, tmp_path) as dm:
        frame, said = _get(dm, binance, start, end, open_interest=True)

    known = frame[OPEN_INTEREST].notna()
    oldest = frame.index[known.to_numpy()][0]
    assert pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=30) < oldest
    assert oldest - pd.Timedelta(days=30) < pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=1)
    assert known[oldest:].all() and not known[: oldest - pd.Timedelta(hours=1)].any()
    assert frame.loc[known, OPEN_INTEREST].tolist() == _truth(frame.index[known.to_numpy()])
    (gone,) = frame.attrs["open_interest_unfetched"]
    assert (gone.start, gone.end) == (start, oldest - pd.Timedelta(hours=1))
    assert "last 30 days" in gone.reason and any("last 30 days" in s for s in said)
    limit = binance.now_ms() - 30 * 86_400_000
    assert all(int(q["startTime"]) >= limit for q in _oi_queries(binance))  # never asked
    assert binance.undocumented == []


def test_bars_the_venue_sent_no_record_for_stay_unknown_and_are_asked_again(
    fake: DerivativesFake, tmp_path: Path
) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(days=5)
    holes = [start + pd.Timedelta(hours=h) for h in (7, 8, 9, 50)]
    fake.oi_gaps = {int(t.value // 1_000_000) for t in holes}
    with _manager(fake, tmp_path) as dm:
        frame, said = _get(dm, fake, start, end, open_interest=True)

        nan = frame.index[frame[OPEN_INTEREST].isna().to_numpy()]
        assert list(nan) == holes
        rest = frame.drop(index=holes)
        assert rest[OPEN_INTEREST].tolist() == _truth(rest.index)
        runs = frame.attrs["open_interest_unfetched"]
        assert [(r.start, r.end) for r in runs] == [(holes[0], holes[2]), (holes[3], holes[3])]
        assert all("no open-interest record" in r.reason for r in runs) and said

        fake.reset()
        fake.oi_gaps = set()  # the venue has them now
        again, said = _get(dm, fake, start, end, open_interest=True)
        assert again[OPEN_INTEREST].tolist() == _truth(again.index) and said == []
        asked = [int(q["startTime"]) for q in _oi_queries(fake)]
        limit = 500 if fake.dialect.exchange_id == "binance" else 200
        expect = plan_windows(holes, parse_timeframe("1h"), limit)  # only the missing bars
        assert asked == [w.since for w in expect] and expect[0].opens[0] == holes[0]


def test_a_page_failing_in_the_middle_reports_its_bars_and_keeps_the_others(
    bybit: DerivativesFake, tmp_path: Path
) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(hours=719)  # 720 bars: four windows of 200
    opens = list(pd.date_range(start, end, freq="1h"))
    windows = plan_windows(opens, parse_timeframe("1h"), 200)
    assert len(windows) == 4
    bybit.oi_failing = {windows[1].since}
    with _manager(bybit, tmp_path) as dm:
        frame, said = _get(dm, bybit, start, end, open_interest=True)

        bad = pd.DatetimeIndex(windows[1].opens)
        assert frame.loc[bad, OPEN_INTEREST].isna().all()
        good = frame.drop(index=bad)
        assert good[OPEN_INTEREST].tolist() == _truth(good.index)
        (gone,) = frame.attrs["open_interest_unfetched"]
        assert (gone.start, gone.end) == (bad[0], bad[-1]) and "bybit" in gone.reason
        assert said

        bybit.oi_failing = set()
        bybit.reset()
        again, said = _get(dm, bybit, start, end, open_interest=True)
        assert again[OPEN_INTEREST].tolist() == _truth(again.index) and said == []
        assert len(_oi_queries(bybit)) == 1


def test_binance_windows_give_the_same_records_with_exclusive_ends(
    binance: DerivativesFake, tmp_path: Path
) -> None:
    binance.binance_inclusive_ends = False
    end = _last_closed()
    start = end - pd.Timedelta(days=25)
    with _manager(binance, tmp_path) as dm:
        frame, said = _get(dm, binance, start, end, open_interest=True)
    assert frame[OPEN_INTEREST].tolist() == _truth(frame.index) and said == []
    assert binance.undocumented == []


def test_bybit_two_hour_bars_take_the_hourly_records_at_their_opens(
    bybit: DerivativesFake, tmp_path: Path
) -> None:
    end = _last_closed(hours=4).floor("2h")
    start = end - pd.Timedelta(days=3)
    with _manager(bybit, tmp_path) as dm:
        frame, said = _get(dm, bybit, start, end, tf="2h", open_interest=True)
    assert len(frame) == 37 and frame[OPEN_INTEREST].tolist() == _truth(frame.index)
    assert {q["intervalTime"] for q in _oi_queries(bybit)} == {"1h"}
    assert said == [] and bybit.undocumented == []


@pytest.mark.parametrize(("symbol", "tf"), [("BTC/USDT", "1h"), (SYMBOL, "1m"), ("AAPL", "1d")])
def test_no_open_interest_to_be_had_is_refused_before_any_request(
    fake: DerivativesFake, tmp_path: Path, symbol: str, tf: str
) -> None:
    end = _last_closed()
    with _manager(fake, tmp_path) as dm:
        with pytest.raises(OpenInterestUnavailableError):
            dm.get_ohlcv(symbol, tf, end - pd.Timedelta(hours=5), end,
                         exchange=fake.dialect.exchange_id, open_interest=True)  # fmt: skip
        assert fake.requests == [] and not dm.cache.series()


def test_bars_fetched_again_keep_their_open_interest(fake: DerivativesFake, tmp_path: Path) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(days=2)
    with _manager(fake, tmp_path) as dm:
        _get(dm, fake, start, end, open_interest=True)
        fake.reset()
        again, _ = _get(dm, fake, start, end, refresh=True)  # no open_interest asked
        assert fake.candle_requests() >= 1 and fake.oi_requests() == 0
        assert again[OPEN_INTEREST].tolist() == _truth(again.index)


def test_the_bybit_fake_answers_an_over_full_window_as_the_live_endpoint_did(
    bybit: DerivativesFake,
) -> None:
    # ccxt PR 30016's live check: start 00:00, end 05:00, limit 5 -> rows 05:00 .. 01:00,
    # newest first; the cursor then pages on to the remaining older row inside the window
    day = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=2)).floor("D")
    ms = int(day.value // 1_000_000)
    query = (f"/v5/market/open-interest?category=linear&symbol=BTCUSDT&intervalTime=1h"
             f"&startTime={ms}&endTime={ms + 5 * 3_600_000}&limit=5")  # fmt: skip
    with urllib.request.urlopen(bybit.url + query) as answer:
        first = json.load(answer)["result"]
    stamps = [int(r["timestamp"]) for r in first["list"]]
    assert stamps == [ms + h * 3_600_000 for h in (5, 4, 3, 2, 1)]
    assert all(isinstance(r["openInterest"], str) for r in first["list"])
    with urllib.request.urlopen(bybit.url + query + "&cursor=" + first["nextPageCursor"]) as a:
        second = json.load(a)["result"]
    assert [int(r["timestamp"]) for r in second["list"]] == [ms]
    assert second["nextPageCursor"] == ""


def test_cli_fetch_open_interest_reports_counts_and_reasons(
    binance: DerivativesFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from tradedata.cli import main

    monkeypatch.setenv("TRADEDATA_BINANCE_URL", binance.url)
    end = _last_closed()
    start = end - pd.Timedelta(days=31)
    base = ["--cache-dir", str(tmp_path / "cache"), "fetch", SYMBOL, "1h"]
    span = ["--start", start.isoformat(), "--end", end.isoformat(), "--json"]

    assert main([*base, *span, "--open-interest"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bars"] == 31 * 24 + 1
    (gone,) = summary["open_interest_unfetched"]
    assert "last 30 days" in gone["reason"] and pd.Timestamp(gone["start"]) == start
    missing = pd.Timestamp(gone["end"]) - start
    assert summary["open_interest_bars"] == summary["bars"] - missing // pd.Timedelta(hours=1) - 1

    assert main(["--cache-dir", str(tmp_path / "cache"), "fetch", "BTC/USDT", "1h", *span,
                 "--open-interest"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert "BTC/USDT:USDT" in err and len(err.splitlines()) == 1


def test_cache_only_reads_report_the_bars_without_open_interest(
    bybit: DerivativesFake, tmp_path: Path
) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(hours=47)
    with _manager(bybit, tmp_path) as dm:
        _get(dm, bybit, start, end)  # bars only
        bybit.reset()
        frame, said = _get(dm, bybit, start, end, provider="cache", open_interest=True)
        assert bybit.requests == [] and frame[OPEN_INTEREST].isna().all()
        (gone,) = frame.attrs["open_interest_unfetched"]
        assert (gone.start, gone.end) == (start, end) and "provider='cache'" in gone.reason
        assert said

        _get(dm, bybit, start + pd.Timedelta(hours=24), end, open_interest=True)  # half of it
        frame, _ = _get(dm, bybit, start, end, provider="cache", open_interest=True)
        (gone,) = frame.attrs["open_interest_unfetched"]
        assert (gone.start, gone.end) == (start, start + pd.Timedelta(hours=23))
        known = frame[OPEN_INTEREST].dropna()
        assert len(known) == 24 and known.tolist() == _truth(known.index)


def test_download_open_interest_fills_each_series_and_lists_what_it_could_not(
    binance: DerivativesFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from tradedata.cli import main

    monkeypatch.setenv("TRADEDATA_BINANCE_URL", binance.url)
    end = _last_closed(hours=4).floor("4h")  # a closed 4h bar
    start = end - pd.Timedelta(days=32)
    base = ["--cache-dir", str(tmp_path / "cache"), "download", "--exchange", "binance",
            "--timeframes", "1h,4h", "--start", start.isoformat(), "--end", end.isoformat(),
            "--no-progress", "--json"]  # fmt: skip

    assert main([*base, "--symbols", SYMBOL, "--open-interest"]) == 0  # OI gaps: not failures
    report = json.loads(capsys.readouterr().out)
    for series in report["series"]:
        (gone,) = series["open_interest_unfetched"]
        assert "last 30 days" in gone and series["status"] == "ok"
    with DataManager(cache_dir=tmp_path / "cache") as dm:
        for tf in ("1h", "4h"):
            frame = dm.get_ohlcv(SYMBOL, tf, start, end, provider="cache")
            known = frame[OPEN_INTEREST].dropna()
            assert len(known) > 0.9 * 30 * 24 / (1 if tf == "1h" else 4)
            assert known.tolist() == _truth(known.index)
    assert binance.undocumented == []

    binance.reset()
    assert main([*base, "--symbols", "BTC/USDT", "--open-interest"]) == 2
    assert "BTC/USDT:USDT" in capsys.readouterr().err and binance.candle_requests() == 0


def test_a_contract_the_venue_does_not_list_is_a_typed_error(
    bybit: DerivativesFake, tmp_path: Path
) -> None:
    from tradedata.errors import SymbolNotFoundError

    end = _last_closed()
    with _manager(bybit, tmp_path) as dm:
        nothing = dm.fetch_open_interest("ETH/USDT:USDT", "1h", end - pd.Timedelta(hours=3),
                                         end, exchange="bybit")  # fmt: skip
        assert nothing == [] and bybit.requests == []  # no stored bars: nothing to fill
        dm.cache.write("ETH/USDT:USDT", "1h", _bars_frame(end), source="bybit", provider="x")
        with pytest.raises(SymbolNotFoundError):
            dm.fetch_open_interest("ETH/USDT:USDT", "1h", end - pd.Timedelta(hours=3), end,
                                   exchange="bybit")  # fmt: skip


def _bars_frame(end: pd.Timestamp) -> pd.DataFrame:
    index = pd.date_range(end - pd.Timedelta(hours=3), end, freq="1h", name="timestamp")
    return pd.DataFrame({c: 1.0 for c in ("open", "high", "low", "close", "volume")}, index=index)


@pytest.mark.parametrize("single_side_sent", [True, False])
def test_bybit_open_interest_is_stored_for_one_side_like_binances(
    bybit: DerivativesFake, tmp_path: Path, single_side_sent: bool
) -> None:
    # Bybit's openInterest is "the sum of both sides", singleOpenInterest "the single side";
    # Binance's sumOpenInterest counts one side: the stored figure is one side on both venues
    bybit.bybit_single_side = single_side_sent
    end = _last_closed()
    start = end - pd.Timedelta(hours=30)
    with _manager(bybit, tmp_path) as dm:
        frame, said = _get(dm, bybit, start, end, open_interest=True)
    assert frame[OPEN_INTEREST].tolist() == _truth(frame.index) and said == []


def test_refresh_asks_the_venue_again_for_every_bar(bybit: DerivativesFake, tmp_path: Path) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(hours=30)
    with _manager(bybit, tmp_path) as dm:
        _get(dm, bybit, start, end, open_interest=True)
        bybit.reset()
        frame, said = _get(dm, bybit, start, end, open_interest=True, refresh=True)
        assert bybit.oi_requests() == 1 and bybit.candle_requests() >= 1
        assert frame[OPEN_INTEREST].tolist() == _truth(frame.index) and said == []


def test_open_interest_is_stored_in_either_store(bybit: DerivativesFake, store) -> None:
    end = _last_closed()
    start = end - pd.Timedelta(hours=30)
    with DataManager(store=store, providers={"bybit": {"url": bybit.url}}) as dm:
        frame, said = _get(dm, bybit, start, end, open_interest=True)
        assert frame[OPEN_INTEREST].tolist() == _truth(frame.index) and said == []
        stored = dm.get_ohlcv(SYMBOL, "1h", start, end, exchange="bybit", provider="cache")
        assert stored[OPEN_INTEREST].tolist() == _truth(stored.index)
        assert stored.attrs["provider"] == "bybit"  # each row's provider kept
        bybit.reset()
        again, _ = _get(dm, bybit, start, end, open_interest=True, refresh=True)
        assert again[OPEN_INTEREST].tolist() == _truth(again.index)
