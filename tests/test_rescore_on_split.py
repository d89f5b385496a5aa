"""A split stored after a series was cached rescores the stored quality, with no candle asked.

The series is cached while no split is known, so its stored quality flags the as-traded 4:1
step of AAPL's 2020-08-31 split as an outlier; once the split is stored, the stored reports
(``cache.metadata``, ``cache info``, the widgets' rows) and ``get_ohlcv(...).attrs["quality"]``
judge the bars split-adjusted, as if the split had been known all along.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.adapters.conftest import KEY, SECRET
from tests.fakes import FakeMarket, FakeProviderServer
from tradedata.actions import CorporateActions
from tradedata.cli import main
from tradedata.manager import DataManager

SPLIT = pd.Timestamp("2020-08-31", tz="UTC")
START, END = pd.Timestamp("2020-08-03", tz="UTC"), pd.Timestamp("2020-09-30", tz="UTC")
COLS = ["open", "high", "low", "close", "volume"]


def _flags_outliers(meta: dict | None) -> bool:
    assert meta is not None
    return any("outlier" in e for e in meta["data_quality"]["validation_errors"])


def _as_traded() -> pd.DataFrame:
    """AAPL's as-traded daily bars around the split (the fake market's, see tests/fakes)."""
    return FakeMarket().daily("AAPL", START, END + pd.Timedelta(hours=23))[COLS]


def _split() -> CorporateActions:
    return CorporateActions(
        splits=pd.Series([4.0], index=pd.DatetimeIndex([SPLIT])),
        checked_at=pd.Timestamp.now(tz="UTC"),
        source="test",
    )


def test_rescore_recomputes_stale_reports_from_the_stored_bars(store_spec: str) -> None:
    with DataManager(store=store_spec) as dm:
        dm.import_frame(_as_traded(), "AAPL", "1d")  # no actions known: the step is an outlier
        flagged = dm.cache.metadata("AAPL", "1d", 2020)
        before = dm.cache.read("AAPL", "1d")
        dm.cache.set_actions("AAPL", _split())  # stored another way than the manager's
        stale = dm.cache.metadata("AAPL", "1d", 2020)
        rescored = dm.rescore("AAPL")
        again = dm.rescore()  # every symbol with a record: nothing left to do
        meta = dm.cache.metadata("AAPL", "1d", 2020)
        (info,) = dm.series()
        after = dm.cache.read("AAPL", "1d")
        read = dm.get_ohlcv("AAPL", "1d", START, END, provider="cache")

    assert _flags_outliers(flagged) and _flags_outliers(stale)
    assert (rescored, again) == (1, 0)
    assert not _flags_outliers(meta)
    assert meta is not None and meta["data_quality"]["splits"] == [["2020-08-31", 4.0]]
    assert info.score == meta["data_quality"]["score"] == read.attrs["quality"].score
    assert flagged is not None  # the rest of the metadata and the bars are untouched
    assert {**meta, "data_quality": None} == {**flagged, "data_quality": None}
    pd.testing.assert_frame_equal(after, before)


def test_a_read_never_uses_a_stale_report_and_stores_it_anew(store_spec: str) -> None:
    with DataManager(store=store_spec) as dm:
        dm.import_frame(_as_traded(), "AAPL", "1d")
        dm.cache.set_actions("AAPL", _split())
        read = dm.get_ohlcv("AAPL", "1d", START, END, provider="cache", adjust="raw")
        meta = dm.cache.metadata("AAPL", "1d", 2020)
        left = dm.rescore("AAPL")

    assert read.attrs["quality"].checks.get("outliers", 0) == 0
    assert not _flags_outliers(meta) and left == 0
    assert meta is not None and meta["data_quality"]["score"] == read.attrs["quality"].score


# -- the manager stores the split itself: rescored at once, zero candle requests ------------
@pytest.fixture
def servers() -> Iterator[dict[str, FakeProviderServer]]:
    now = pd.Timestamp("2020-10-15", tz="UTC")
    started = {n: FakeProviderServer(n, api_key=KEY, secret=SECRET, now=now).start()
               for n in ("alpaca", "polygon")}  # fmt: skip
    yield started
    for server in started.values():
        server.stop()


def test_refreshed_actions_with_a_new_split_rescore_the_stored_quality(
    servers: dict[str, FakeProviderServer], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    settings = {n: {"url": s.url, "api_key": KEY, "secret": SECRET, "options": {"feed": "sip"}}
                for n, s in servers.items()}  # fmt: skip
    rules = {"stock_daily": {"primary": "alpaca", "backup": [], "timeframes": ["1d"]}}
    cache = tmp_path / "cache"
    servers["alpaca"].fail("server_error", times=None, path="/v1/corporate-actions")

    with DataManager(cache_dir=cache, providers=settings, config={"rules": rules}) as dm:
        with pytest.warns(UserWarning, match="no corporate actions known"):
            dm.get_ohlcv("AAPL", "1d", START, END)
        flagged = dm.cache.metadata("AAPL", "1d", 2020)
        candles = servers["alpaca"].count("/bars")
        servers["alpaca"].clear_faults()  # the actions endpoint answers again
        record = dm.corporate_actions("AAPL", refresh=True)
        meta = dm.cache.metadata("AAPL", "1d", 2020)
        read = dm.get_ohlcv("AAPL", "1d", START, END, provider="cache", adjust="raw")

    assert _flags_outliers(flagged)
    assert record is not None and SPLIT in record.splits.index
    assert servers["alpaca"].count("/bars") == candles  # no candle asked again
    assert not _flags_outliers(meta)
    assert meta is not None and read.attrs["quality"].score == meta["data_quality"]["score"]
    np.testing.assert_allclose(read["close"], _as_traded()["close"])  # still as traded
    assert main(["--cache-dir", str(cache), "cache", "info", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["series"]
    assert row["score"] == meta["data_quality"]["score"]


# -- records arriving with a tree or a sync: the target's stored quality follows -------------
def _source_store(path: Path) -> None:
    """A store whose AAPL actions know the split (its own series judged with it)."""
    with DataManager(cache_dir=path) as dm:
        dm.cache.set_actions("AAPL", _split())
        dm.import_frame(_as_traded(), "AAPL", "1d")


def _judged_without_split(spec: str) -> None:
    """The target: AAPL's IEX-scope series cached while no split was known."""
    with DataManager(store=spec) as dm:
        dm.import_frame(_as_traded(), "AAPL", "1d", exchange="iex")
        assert _flags_outliers(dm.cache.metadata("AAPL", "1d", 2020, source="iex"))


def _iex_meta(spec: str) -> dict | None:
    with DataManager(store=spec) as dm:
        return dm.cache.metadata("AAPL", "1d", 2020, source="iex")


def test_cache_import_of_a_split_rescores_the_stored_quality(
    store_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _source_store(tmp_path / "other")
    assert (
        main(["--cache-dir", str(tmp_path / "other"), "cache", "export", str(tmp_path / "t")]) == 0
    )
    _judged_without_split(store_spec)
    capsys.readouterr()

    assert main(["--store", store_spec, "cache", "import", str(tmp_path / "t")]) == 0

    assert capsys.readouterr().out.strip().endswith("1 quality report(s) rescored for new splits")
    assert not _flags_outliers(_iex_meta(store_spec))


def test_store_sync_of_a_split_rescores_the_targets_stored_quality(
    store_spec: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _source_store(tmp_path / "other")
    _judged_without_split(store_spec)

    args = ["store", "sync", "--from", str(tmp_path / "other"), "--to", store_spec, "--json"]
    assert main(args) == 0

    assert json.loads(capsys.readouterr().out)["quality_rescored"] == 1
    assert not _flags_outliers(_iex_meta(store_spec))


def test_a_split_adjusted_view_is_judged_as_it_is_and_never_rescored(store_spec: str) -> None:
    """Bars an older version stored split-adjusted (``consolidated_splits``) are continuous
    across the split: adjusting them again would invent a step."""
    raw = _as_traded()
    view = raw.copy()
    before = view.index < SPLIT
    for col in COLS[:4]:
        view.loc[before, col] = raw.loc[before, col] / 4
    view.loc[before, "volume"] = raw.loc[before, "volume"] * 4
    with DataManager(store=store_spec) as dm:
        dm.cache.set_actions("AAPL", _split())
        dm.import_frame(view, "AAPL", "1d", exchange="consolidated_splits")
        meta = dm.cache.metadata("AAPL", "1d", 2020, source="consolidated_splits")
        read = dm.get_ohlcv(
            "AAPL", "1d", START, END, exchange="consolidated_splits", provider="cache",
            adjust="raw",
        )  # fmt: skip
        rescored = dm.rescore()

    assert not _flags_outliers(meta) and rescored == 0
    assert read.attrs["quality"].checks.get("outliers", 0) == 0
