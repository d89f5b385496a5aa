"""Bulk download against the simulator: many series at once, resumable, reported, from the CLI."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

import _thread
import json
import math
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adapters.ccxt_conftest_fixtures import (
    klines_requests,
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.cli import main as cli_main
from tradedata.download import _count_bars, download
from tradedata.errors import InputError
from tradedata.manager import DataManager
from tradedata.model import parse_timeframe
from tradedata.sim.faults import Faults
from tradedata.sim.simulator import ExchangeSimulator

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


@pytest.fixture
def dm(sim: ExchangeSimulator, tmp_path: Path):
    manager = DataManager(cache_dir=tmp_path / "cache", providers={"binance": {"url": sim.url}})
    yield manager
    manager.close()


def _range(sim: ExchangeSimulator, days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    end = sim.now().floor("h") - pd.Timedelta(hours=1)
    return end - pd.Timedelta(days=days), end


def test_download_fetches_every_series_equal_to_canonical(sim, dm, capsys):
    start, end = _range(sim, 5)

    report = download(SYMBOLS, ["1m", "5m", "1h"], start=start, end=end, manager=dm)

    assert report.ok and len(report.series) == 9
    for s in report.series:
        truth = sim.canonical(
            "binance", s.symbol, s.timeframe, start, end + pd.Timedelta(seconds=1)
        )
        stored = dm.cache.read(s.symbol, s.timeframe, start, end)
        pd.testing.assert_frame_equal(stored, truth, check_freq=False)
        assert s.bars == s.stored == len(truth) and s.score == 1.0 and s.providers == ["binance"]
    assert report.bars == sum(s.stored for s in report.series)
    assert "bar/s" in capsys.readouterr().err  # the progress bar
    assert str(report).splitlines()[0].split()[:4] == ["symbol", "tf", "fetched", "stored"]


def test_a_second_run_fetches_nothing(sim, dm):
    start, end = _range(sim, 2)
    download(SYMBOLS, ["1m", "1h"], start=start, end=end, manager=dm, progress=False)
    sim.reset_stats()

    again = download(SYMBOLS, ["1m", "1h"], start=start, end=end, manager=dm, progress=False)

    assert klines_requests(sim) == 0 and again.bars == 0 and again.requests == 0
    assert {s.status for s in again.series} == {"up to date"}
    assert all(s.stored > 0 and s.score == 1.0 for s in again.series)


def test_all_symbols_takes_the_active_spot_markets_of_a_quote(sim, dm):
    start, end = _range(sim, 3)

    report = download(timeframes=["1d"], start=start, end=end, all_symbols=True, quote="USDT",
                      manager=dm, progress=False)  # fmt: skip

    names = {s.symbol for s in report.series}
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"} <= names
    assert "ADA/BTC" not in names and report.ok


def test_concurrent_series_stay_within_the_rate_limit(sim, tmp_path):
    start, end = _range(sim, 6)
    sim.set_faults(Faults(rate_limit=60, rate_window=1.0, ban_seconds=30))
    settings = {"url": sim.url, "options": {"rate_limit": 60, "rate_period": 1}}

    with DataManager(cache_dir=tmp_path / "c", providers={"binance": settings}) as manager:
        report = download(SYMBOLS, ["1m", "5m"], start=start, end=end, manager=manager,
                          concurrency=6, progress=False)  # fmt: skip

    assert report.ok and report.rate_limited == 0
    assert report.requests * 2 > 60  # more weight than one window allows: pacing was needed
    assert sim.stats.http_429 == 0 and sim.stats.http_418 == 0


def test_an_interrupted_download_resumes_without_refetching(sim, dm):
    start, end = _range(sim, 6)
    sim.set_faults(Faults(latency=0.03, paths=("/klines",)))
    pages_needed = len(SYMBOLS) * math.ceil((6 * 1440 + 1) / 1000)

    def interrupt_after_some_pages() -> None:
        deadline = time.monotonic() + 30
        while klines_requests(sim) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_after_some_pages)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        download(SYMBOLS, ["1m"], start=start, end=end, manager=dm, concurrency=2, progress=False)
    watcher.join()
    first_run = klines_requests(sim)
    stored_before = sum(len(dm.cache.read(s, "1m", start, end)) for s in SYMBOLS)

    report = download(SYMBOLS, ["1m"], start=start, end=end, manager=dm, progress=False)

    assert 0 < stored_before < len(SYMBOLS) * (6 * 1440 + 1)
    assert report.ok and all(s.stored == 6 * 1440 + 1 for s in report.series)
    assert klines_requests(sim) <= pages_needed + len(SYMBOLS)  # each resume re-reads one page
    assert first_run < pages_needed


def test_a_failing_series_is_reported_and_the_rest_completes(sim, dm):
    start, end = _range(sim, 2)

    report = download(["BTC/USDT", "NOPE/USDT"], ["1h"], start=start, end=end, manager=dm,
                      progress=False)  # fmt: skip

    by_symbol = {s.symbol: s for s in report.series}
    assert not report.ok
    assert by_symbol["BTC/USDT"].status == "ok"
    assert by_symbol["NOPE/USDT"].status == "failed" and by_symbol["NOPE/USDT"].error
    assert "failed" in report.table()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"symbols": ["BTC/USDT"]},  # neither days nor start
        {"symbols": None, "days": 1},  # neither symbols nor all_symbols
        {"symbols": ["BTC/USDT"], "days": -1},
        {"symbols": ["BTC/USDT"], "days": 1, "concurrency": 0},
        {"symbols": ["BTC/USDT"], "days": 1, "timeframes": []},
    ],
)
def test_bad_arguments_are_input_errors(dm, kwargs):
    with pytest.raises(InputError):
        download(manager=dm, progress=False, **{"timeframes": ["1h"], **kwargs})


def test_cli_download(sim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRADEDATA_BINANCE_URL", sim.url)
    argv = ["--cache-dir", str(tmp_path / "c"), "download", "--exchange", "binance",
            "--symbols", "BTC/USDT,ETH/USDT", "--timeframes", "1h,1d", "--days", "30",
            "--no-progress"]  # fmt: skip

    code = cli_main(argv)
    table = capsys.readouterr().out
    again = cli_main([*argv, "--json"])
    data = json.loads(capsys.readouterr().out)

    assert code == 0 and again == 0
    assert "BTC/USDT" in table and "ETH/USDT" in table and "1d" in table
    assert data["bars"] == 0 and {s["status"] for s in data["series"]} <= {"up to date", "ok"}


def test_cli_download_exit_code_2_when_a_series_fails(sim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRADEDATA_BINANCE_URL", sim.url)
    argv = ["--cache-dir", str(tmp_path / "c"), "download", "--symbols", "NOPE/USDT",
            "--timeframes", "1h", "--days", "1", "--no-progress"]  # fmt: skip

    assert cli_main(argv) == 2
    assert "failed" in capsys.readouterr().out


@settings(max_examples=200, deadline=None)
@given(
    timeframe=st.sampled_from(["1m", "3m", "5m", "1h", "4h", "1d", "3d", "1w", "1M"]),
    start_s=st.integers(min_value=0, max_value=4 * 10**8),
    span_s=st.integers(min_value=-(10**6), max_value=10**8),
)
def test_bars_are_counted_as_bar_opens_lists_them(timeframe, start_s, span_s):
    tf = parse_timeframe(timeframe)
    start = pd.Timestamp("2015-01-01", tz="UTC") + pd.Timedelta(seconds=start_s)
    end = start + pd.Timedelta(seconds=span_s)

    assert _count_bars(tf, start, end) == len(tf.bar_opens(start, end))


def test_the_summary_judges_an_equity_across_a_split_as_a_read_does(tmp_path):
    from tradedata.actions import CorporateActions
    from tradedata.download.report import SeriesResult
    from tradedata.download.workers import _score

    days = pd.bdate_range("2020-08-17", "2020-09-11", tz="UTC", name="timestamp")
    days = days[days != "2020-09-07"]  # Labor Day
    close = pd.Series(500.0, index=days).where(days < "2020-08-31", 125.0)  # AAPL's 4:1
    bars = pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1e6}
    )
    with DataManager(cache_dir=tmp_path / "cache") as manager:
        manager.cache.write("AAPL", "1d", bars, provider="fmp", coverage=(days[0], days[-1]))
        manager.cache.set_actions(
            "AAPL",
            CorporateActions(
                pd.Series([4.0], index=pd.DatetimeIndex([pd.Timestamp("2020-08-31", tz="UTC")])),
                pd.Series(dtype="float64"),
                checked_at=pd.Timestamp.now(tz="UTC"),
                source="test",
            ),
        )
        res = SeriesResult("AAPL", "1d")
        _score(manager, res, days[0], days[-1])
        read = manager.get_ohlcv("AAPL", "1d", days[0], days[-1], provider="cache")
    assert res.stored == len(days)
    assert res.score == read.attrs["quality"].score == 1.0  # the split is not an outlier
