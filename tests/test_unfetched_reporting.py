"""What cannot be proven is reported (warning, attrs["unfetched"], download summary), not covered.

The exchange here is the model exchange with a Kraken-like rule: it answers only its newest 20
bars after ``since`` and takes no end, so everything older than its depth cannot be fetched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.support.model_exchange import ModelExchange, ModelProvider, ts
from tradedata.adapters.paging import PagingRules
from tradedata.download import download
from tradedata.errors import AllProvidersFailedError
from tradedata.manager import DataManager

REASON = "model keeps only the latest 20 1m bars"
KRAKEN_LIKE = PagingRules(
    max_candles=20, keeps="newest", history_bars=20, history_reason=REASON,
    short_page_is_end=True,
)  # fmt: skip
UNKNOWN = PagingRules(max_candles=20)


def _dm(tmp_path: Path, model: ModelExchange) -> DataManager:
    dm = DataManager(cache_dir=tmp_path / "cache")
    dm.add_provider(ModelProvider(model))
    return dm


def test_the_part_older_than_the_history_depth_is_reported_and_not_covered(
    tmp_path: Path,
) -> None:
    model = ModelExchange(KRAKEN_LIKE, list(range(100)), now_index=100)
    with _dm(tmp_path, model) as dm:
        with pytest.warns(UserWarning, match=REASON):
            frame = dm.get_ohlcv("BTC/USDT", "1m", ts(0), ts(99), provider="model")

        assert len(frame) == 19 and frame.index[0] == ts(81)  # the open bar 100 is not served
        (gone,) = frame.attrs["unfetched"]
        assert gone == (ts(0), ts(80)) and gone.reason == REASON
        spans = dm.cache.coverage("BTC/USDT", "1m", source="model")  # the model venue's series
        assert [(s.start, s.end) for s in spans] == [(ts(81), ts(99))]

        asked = model.requests
        with pytest.warns(UserWarning, match=REASON):
            dm.get_ohlcv("BTC/USDT", "1m", ts(0), ts(99), provider="model")
        assert model.requests == asked  # the unfetchable part is known without asking


def test_download_summary_names_the_unfetched_range_and_its_reason(tmp_path: Path) -> None:
    model = ModelExchange(KRAKEN_LIKE, list(range(100)), now_index=100)
    with _dm(tmp_path, model) as dm:
        report = download(
            symbols=["BTC/USDT"], timeframes=["1m"], start=ts(0), end=ts(99),
            exchange="model", manager=dm, progress=False,
        )  # fmt: skip

    (series,) = report.series
    assert not report.ok and series.status == "incomplete"
    assert series.unfetched and REASON in series.unfetched[0]
    assert REASON in str(report) and "incomplete" in str(report)
    assert REASON in report.to_json()


def test_a_range_with_no_bar_is_not_recorded_when_nothing_proves_it(tmp_path: Path) -> None:
    model = ModelExchange(UNKNOWN, [i for i in range(100) if not 30 <= i < 60], now_index=100)
    with _dm(tmp_path, model) as dm:
        with pytest.raises(AllProvidersFailedError, match="do not say that means none exist"):
            dm.get_ohlcv("BTC/USDT", "1m", ts(35), ts(50), provider="model")

        assert dm.cache.coverage("BTC/USDT", "1m") == []  # nothing proved 00:35..00:50 empty


def test_a_short_page_is_not_taken_as_the_end_when_not_proven(tmp_path: Path) -> None:
    # the exchange silently serves 7 bars a page while the rules say 20 (untrusted short pages)
    model = ModelExchange(UNKNOWN, list(range(100)), now_index=100, cap=7)
    with _dm(tmp_path, model) as dm:
        frame = dm.get_ohlcv("BTC/USDT", "1m", ts(0), ts(99), provider="model")

    assert list(frame.index) == [ts(i) for i in range(100)]
    assert frame.attrs["unfetched"] == []
    assert isinstance(frame.index, pd.DatetimeIndex)


def test_the_part_too_old_for_one_venue_fails_over_to_the_next_when_asked(tmp_path: Path) -> None:
    """``shallow`` and ``deep`` are two venues: the deep one fills what the shallow one cannot
    serve only with ``fallback="venues"``, into its own series, labelled in the frame."""
    shallow = ModelExchange(KRAKEN_LIKE, list(range(100)), now_index=100)
    deep_rules = PagingRules(max_candles=20, keeps="oldest", sends_end=True, short_page_is_end=True)
    deep = ModelExchange(deep_rules, list(range(100)), now_index=100)
    config = {"rules": {"crypto": {"primary": "shallow", "backup": ["deep"]}}}
    with DataManager(cache_dir=tmp_path / "cache", config=config) as dm:
        dm.add_provider(ModelProvider(shallow, "shallow"))
        dm.add_provider(ModelProvider(deep, "deep"))
        with pytest.warns(UserWarning, match=REASON):  # no opt-in: reported, not filled
            alone = dm.get_ohlcv("BTC/USDT", "1m", ts(0), ts(99))
        assert alone.index[0] == ts(81) and deep.requests == 0
        frame = dm.get_ohlcv("BTC/USDT", "1m", ts(0), ts(99), fallback="venues")

        assert list(frame.index) == [ts(i) for i in range(100)]
        assert frame.attrs["unfetched"] == [] and frame.attrs["provider"] == "deep+shallow"
        assert [(r["source"], r["start"], r["end"]) for r in frame.attrs["sources"]] == [
            ("deep", ts(0), ts(80)),
            ("shallow", ts(81), ts(99)),
        ]
        assert shallow.requests == 1 and deep.requests == 5  # 81 old bars, 20 a page
        own = dm.cache.coverage("BTC/USDT", "1m", source="shallow")
        other = dm.cache.coverage("BTC/USDT", "1m", source="deep")
        assert [(s.start, s.end, s.provider) for s in own] == [(ts(81), ts(99), "shallow")]
        assert [(s.start, s.end, s.provider) for s in other] == [(ts(0), ts(80), "deep")]
