"""DataExplorer: control changes drive the right DataManager calls and figure updates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tests.widgets.widget_helpers import BTC, ORCL, RecordingManager, x_of
from tradedata.errors import SymbolNotFoundError
from tradedata.widgets import DataExplorer


def _status(explorer: DataExplorer) -> str:
    return explorer.browse.status.value


def test_opening_the_panel_lists_the_cache_and_loads_nothing(sample_manager):
    explorer = DataExplorer(sample_manager)

    assert sample_manager.named("get_ohlcv") == []
    assert sample_manager.named("fetch_missing") == []
    assert explorer.browse.provider.value == "cache"
    assert explorer.browse.symbol.options == ("BTC/USDT", "ES", "ORCL")
    assert len(explorer.cache_table.rows) == 3
    assert len(explorer.chart.figure.data[0].x) == 0


def test_the_load_button_reads_the_cache_and_redraws(sample_manager):
    explorer = DataExplorer(sample_manager)
    explorer.browse.timeframe.value = "1d"
    explorer.browse.symbol.value = "ORCL"
    sample_manager.calls.clear()

    explorer.browse.load_button.click()

    calls = sample_manager.named("get_ohlcv")
    assert calls[-1] == (("ORCL", "1d", None, None), {"provider": "cache"})
    assert len(explorer.chart.figure.data[0].x) == 252
    assert "quality 1.0000" in explorer.quality.badge.value
    assert "252 bars of ORCL 1d" in _status(explorer)
    assert "tradedata-ok" in _status(explorer)


def test_choosing_a_cached_symbol_loads_it_at_a_cached_timeframe(sample_manager):
    explorer = DataExplorer(sample_manager, timeframe="1d")

    explorer.browse.symbol.value = "BTC/USDT"

    assert sample_manager.named("get_ohlcv") == [
        (("BTC/USDT", "1h", None, None), {"provider": "cache"})
    ]
    assert explorer.browse.timeframe.value == "1h"
    report = explorer.frame.attrs["quality"]
    assert len(explorer.chart.figure.data[0].x) == len(explorer.frame) == 713
    assert f"quality {report.score:.4f}" in explorer.quality.badge.value
    assert len(explorer.quality.gap_list.options) == 2
    assert len(explorer.chart.figure.layout.shapes) == 2


def test_a_symbol_typed_in_another_spelling_is_found_in_the_cache(sample_manager):
    explorer = DataExplorer(sample_manager)

    explorer.browse.symbol.value = "btcusdt"

    assert sample_manager.named("get_ohlcv")[-1][0][:2] == ("btcusdt", "1h")
    assert explorer.frame.attrs["symbol"] == "BTC/USDT"


def test_with_an_empty_cache_the_source_defaults_to_the_provider_rules(tmp_path):
    with RecordingManager(cache_dir=tmp_path / "empty") as dm:
        explorer = DataExplorer(dm)

        assert explorer.browse.provider.value == "auto"
        assert explorer.browse.symbol.options == ()
        assert dm.named("get_ohlcv") == []


def test_the_date_range_includes_the_last_day(sample_manager):
    explorer = DataExplorer(sample_manager)
    explorer.browse.start.value = dt.date(2014, 3, 3)
    explorer.browse.end.value = dt.date(2014, 3, 7)

    frame = explorer.load("ORCL", "1d")

    args, kwargs = sample_manager.named("get_ohlcv")[-1]
    assert kwargs == {"provider": "cache"}
    assert args[2] == pd.Timestamp("2014-03-03", tz="UTC")
    assert args[3] == pd.Timestamp("2014-03-08", tz="UTC") - pd.Timedelta(1, "ns")
    assert len(frame) == 5
    assert "tradedata-ok" in _status(explorer)  # the cache was read: nothing "could not fetch"


def test_a_range_beyond_the_cache_says_what_is_not_cached(sample_manager):
    explorer = DataExplorer(sample_manager)
    explorer.browse.start.value = dt.date(2014, 12, 29)
    explorer.browse.end.value = dt.date(2015, 1, 9)

    frame = explorer.load("ORCL", "1d")

    assert len(frame) == 3
    assert "tradedata-warning" in _status(explorer)
    assert "not in the cache: 2015-01-01 00:00 .. 2015-01-09" in _status(explorer)
    assert sample_manager.named("fetch_missing")[-1][1]["provider"] == "cache"  # nothing fetched


def test_choosing_a_gap_zooms_the_chart_to_it(sample_manager):
    explorer = DataExplorer(sample_manager)
    explorer.load(*BTC)
    gap = explorer.frame.attrs["quality"].gaps[0]

    explorer.quality.gap_list.value = 0

    start, end = explorer.chart.view_range
    assert start < gap.start <= gap.end < end
    shown = [pd.Timestamp(v, tz="UTC") for v in explorer.chart.figure.layout.xaxis.range]
    assert shown == [start, end]
    assert x_of(explorer.chart.figure)[0] <= start


def test_an_unknown_symbol_is_a_message_not_a_traceback(sample_manager):
    explorer = DataExplorer(sample_manager)

    assert explorer.load("NOPE", "1d") is None

    assert "tradedata-error" in _status(explorer)
    assert "no data for NOPE 1d" in _status(explorer)
    assert "Traceback" not in _status(explorer)


def test_an_empty_symbol_asks_for_one(sample_manager):
    explorer = DataExplorer(sample_manager)

    explorer.browse.load_button.click()

    assert "enter a symbol" in _status(explorer)
    assert sample_manager.named("get_ohlcv") == []


def test_an_unexpected_failure_is_a_message_too(sample_manager, monkeypatch):
    explorer = DataExplorer(sample_manager)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sample_manager, "get_ohlcv", broken)

    assert explorer.load(*ORCL) is None
    assert "unexpected error (RuntimeError): disk on fire" in _status(explorer)
    assert explorer.browse.progress.bar_style == "danger"
    assert not explorer.browse.load_button.disabled


def _memory_explorer(manager: RecordingManager, **fail) -> DataExplorer:
    data = synthetic("2024-05-01", 20 * 24, freq="1h", seed=5)
    manager.add_provider(MemoryProvider(data, now="2024-06-01", **fail))
    explorer = DataExplorer(manager, providers=["memory"])
    explorer.browse.provider.value = "memory"
    explorer.browse.start.value = dt.date(2024, 5, 1)
    explorer.browse.end.value = dt.date(2024, 5, 20)
    return explorer


def test_fetching_from_a_provider_moves_the_progress_bar(sample_manager):
    explorer = _memory_explorer(sample_manager)
    progress: list[float] = []
    explorer.browse.progress.observe(lambda c: progress.append(c["new"]), names="value")

    frame = explorer.load("ETH/USDT", "1h")

    fetches = [c for c in sample_manager.named("fetch_missing") if c[1]["provider"] != "cache"]
    ((args, kwargs),) = fetches  # (get_ohlcv's own cache-only call is not a fetch)
    assert args[:2] == ("ETH/USDT", "1h") and kwargs["provider"] == "memory"
    assert callable(kwargs["on_chunk"])
    assert len(frame) == 20 * 24
    assert len(progress) >= 5  # 480 bars at 100 per page: one step per chunk
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert explorer.browse.progress.bar_style == "success"
    assert ("ETH/USDT", "1h") in [(r.symbol, r.timeframe) for r in explorer.cache_table.rows]
    assert len(explorer.chart.figure.data[0].x) == 480


def test_a_failing_provider_is_reported_in_the_panel(sample_manager):
    explorer = _memory_explorer(
        sample_manager, fail=lambda n: SymbolNotFoundError("memory does not list ETH/USDT")
    )

    assert explorer.load("ETH/USDT", "1h") is None

    assert "memory: memory does not list ETH/USDT" in _status(explorer)
    assert "tradedata-error" in _status(explorer)


def test_open_in_the_cache_table_loads_the_series(sample_manager):
    explorer = DataExplorer(sample_manager)
    explorer.browse.start.value = dt.date(2014, 6, 1)

    explorer.cache_table.open_series(*ORCL)

    assert sample_manager.named("get_ohlcv")[-1] == (
        ("ORCL", "1d", None, None),
        {"provider": "cache"},
    )
    assert len(explorer.chart.figure.data[0].x) == 252


def test_deleting_from_the_cache_table_refreshes_the_symbols(sample_manager):
    explorer = DataExplorer(sample_manager)

    explorer.cache_table.request_delete(*ORCL)
    explorer.cache_table.request_delete(*ORCL)
    explorer.refresh_symbols()

    assert sample_manager.named("delete") == [(ORCL, {})]
    assert "ORCL" not in explorer.browse.symbol.options


def test_live_bars_are_appended_to_the_chart(sample_manager):
    explorer = DataExplorer(sample_manager)
    explorer.load(*BTC)
    last = explorer.frame.index[-1]
    bars = [(last + pd.Timedelta(hours=i), 100, 101, 99, 100.5, 3) for i in (1, 2)]

    link = explorer.attach_live(iter(bars))
    link.join(timeout=5)

    assert list(explorer.chart.frame.index[-2:]) == [b[0] for b in bars]
    assert x_of(explorer.chart.figure)[-1] == bars[-1][0]
    explorer.on_bar(last + pd.Timedelta(hours=3), 1, 2, 0.5, 1.5, 1)
    assert explorer.chart.frame.index[-1] == last + pd.Timedelta(hours=3)


def test_a_symbol_given_to_the_constructor_is_loaded(sample_manager):
    explorer = DataExplorer(sample_manager, symbol="ORCL", timeframe="1d")

    assert len(explorer.frame) == 252
    assert len(explorer.chart.figure.data[0].x) == 252


@pytest.mark.slow
def test_an_exchange_lists_its_markets_and_fetches_through_ccxt(tmp_path):
    from tradedata.sim import ExchangeSimulator

    with ExchangeSimulator(exchanges=["binance"], seed=3, symbols=["DOGE/USDT"]) as sim:
        settings = {"binance": {"url": sim.url, "ws_url": sim.ws_base}}
        with RecordingManager(cache_dir=tmp_path / "cache", providers=settings) as dm:
            explorer = DataExplorer(dm, providers=["binance"])
            explorer.browse.provider.value = "binance"
            today = sim.now().date()
            explorer.browse.start.value = today - dt.timedelta(days=2)
            explorer.browse.end.value = today

            frame = explorer.load("DOGE/USDT", "1m")

            assert "DOGE/USDT" in explorer.browse.symbol.options
            assert "BTC/USDT" in explorer.browse.symbol.options
            assert frame is not None and len(frame) > 2 * 1440
            assert frame.index[-1] < sim.now().floor("min")  # the open candle is never shown
            assert explorer.frame.attrs["provider"] == "binance"
            drawn = explorer.chart.figure.data
            assert len(drawn[0].x) <= 2500  # downsampled for display
            assert drawn[1].y.sum() == pytest.approx(frame["volume"].sum())
            assert explorer.browse.progress.value == 1.0


def test_without_a_manager_the_process_wide_one_reads_data_cache_dir(sample_cache, monkeypatch):
    monkeypatch.setenv("DATA_CACHE_DIR", str(sample_cache))

    explorer = DataExplorer()

    try:
        assert str(explorer.manager.cache_dir) == str(sample_cache)
        assert [r.symbol for r in explorer.cache_table.rows] == ["BTC/USDT", "ES", "ORCL"]
    finally:
        explorer.manager.close()


def test_cache_dir_gives_the_explorer_its_own_manager_closed_with_it(sample_cache, monkeypatch):
    explorer = DataExplorer(cache_dir=sample_cache)
    closed: list = []
    real_close = explorer.manager.close
    monkeypatch.setattr(explorer.manager, "close", lambda: (closed.append(True), real_close()))

    frame = explorer.load(*ORCL)
    explorer.close()

    assert str(explorer.manager.cache_dir) == str(sample_cache)
    assert len(frame) == 252
    assert closed == [True]


def test_closing_the_explorer_stops_live_sources_but_not_a_given_manager(sample_manager):
    explorer = DataExplorer(sample_manager)
    subscribers: list = []
    explorer.attach_live(lambda cb: (subscribers.append(cb), lambda: subscribers.remove(cb))[1])

    explorer.close()

    assert subscribers == []
    assert sample_manager.series()  # still open


def test_the_panel_works_unchanged_on_a_shared_postgresql_store(sample_cache, pg_url, tmp_path):
    import shutil

    from tradedata.cache import Cache
    from tradedata.cache.postgres import PostgresStore
    from tradedata.cache.sync import sync_stores

    shutil.copytree(sample_cache, tmp_path / "cache")
    with Cache(tmp_path / "cache") as embedded, PostgresStore(pg_url) as shared:
        sync_stores(embedded, shared)
    with RecordingManager(store=pg_url) as dm:
        explorer = DataExplorer(dm)
        assert explorer.browse.symbol.options == ("BTC/USDT", "ES", "ORCL")
        assert len(explorer.cache_table.rows) == 3
        explorer.browse.timeframe.value = "1d"
        explorer.browse.symbol.value = "ORCL"
        explorer.browse.load_button.click()
        assert len(explorer.chart.figure.data[0].x) == 252
        assert "quality 1.0000" in explorer.quality.badge.value
