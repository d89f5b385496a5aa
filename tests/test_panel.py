"""``DataManager.get_panel``: many symbols on one index, NaN where a symbol has no bar."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.errors import InputError, SymbolNotFoundError
from tradedata.manager import DataManager
from tradedata.model import Timeframe

RULES = {"rules": {"crypto": {"primary": "memA"}}}
NOW = "2024-01-02"


class PerSymbol(MemoryProvider):
    """Serves a different frame per symbol; counts the symbols fetched at the same time."""

    def __init__(self, frames: dict[str, pd.DataFrame], delay: float = 0.0) -> None:
        super().__init__(next(iter(frames.values())), now=NOW, name="memA")
        self.frames = frames
        self.delay = delay
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def fetch_page(
        self, symbol: str, timeframe: Timeframe, since: pd.Timestamp, until: pd.Timestamp,
        limit: int,
    ) -> pd.DataFrame:  # fmt: skip
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.delay)
            if symbol not in self.frames:
                raise SymbolNotFoundError(f"no market {symbol}", provider=self.name)
            data = self.frames[symbol]
            visible = data[data.index <= self._now]  # like MemoryProvider.fetch_page
            return visible[(visible.index >= since) & (visible.index <= until)].iloc[:limit]
        finally:
            with self._lock:
                self.running -= 1


def _frames() -> dict[str, pd.DataFrame]:
    btc = synthetic("2024-01-01", 300, seed=1)
    eth = synthetic("2024-01-01", 300, seed=2) * 0.05
    eth = eth.drop(eth.index[100:110])  # ten bars ETH never had
    return {"BTC/USDT": btc, "ETH/USDT": eth}


def _dm(cache_dir: Path, prov: MemoryProvider) -> DataManager:
    dm = DataManager(cache_dir=cache_dir, config=RULES)
    dm.add_provider(prov)
    return dm


def test_close_panel_is_aligned_with_gaps_left_as_nan_and_reported(cache_dir: Path) -> None:
    frames = _frames()
    prov = PerSymbol(frames, delay=0.05)
    with _dm(cache_dir, prov) as dm:
        panel = dm.get_panel(["BTC/USDT", "eth/usdt"], "1m", "2024-01-01", "2024-01-01 04:59")

    assert list(panel.columns) == ["BTC/USDT", "ETH/USDT"]
    assert panel.columns.name == "symbol"
    assert len(panel) == 300 and panel.index.is_monotonic_increasing
    np.testing.assert_array_equal(panel["BTC/USDT"].to_numpy(), frames["BTC/USDT"]["close"])
    eth = panel["ETH/USDT"]
    assert eth.isna().sum() == 10 and eth.iloc[100:110].isna().all()
    assert eth.dropna().equals(frames["ETH/USDT"]["close"].rename("ETH/USDT"))
    gaps = panel.attrs["gaps"]
    assert gaps["BTC/USDT"] == []
    assert [(g.start, g.missing) for g in gaps["ETH/USDT"]] == [(frames["BTC/USDT"].index[100], 10)]
    assert panel.attrs["unfetched"] == {"BTC/USDT": [], "ETH/USDT": []}
    assert panel.attrs["quality"]["ETH/USDT"].score < 1.0
    assert prov.most_at_once == 2  # both symbols were fetched at the same time


def test_whole_ohlcv_panel_is_field_then_symbol(cache_dir: Path) -> None:
    frames = _frames()
    with _dm(cache_dir, PerSymbol(frames)) as dm:
        panel = dm.get_panel("BTC/USDT,ETH/USDT", "1m", "2024-01-01", "2024-01-01 04:59", None)
        again = dm.get_panel(["BTC/USDT", "ETH/USDT"], "1m", "2024-01-01", "2024-01-01 04:59")
        same = dm.get_panel(["BTC/USDT"], "1m", "2024-01-01", "2024-01-01 04:59", "ohlcv")

    assert panel.columns.names == ["field", "symbol"]
    assert list(panel.columns.get_level_values(0).unique()) == [
        "open", "high", "low", "close", "volume",
    ]  # fmt: skip
    pd.testing.assert_frame_equal(panel["close"], again, check_names=False)
    pd.testing.assert_series_equal(
        panel[("volume", "BTC/USDT")], frames["BTC/USDT"]["volume"], check_names=False
    )
    assert same.shape == (300, 5)


def test_a_symbol_nobody_serves_is_a_nan_column_and_an_error(cache_dir: Path) -> None:
    frames = _frames()
    with _dm(cache_dir, PerSymbol(frames)) as dm, pytest.warns(UserWarning, match="SOL/USDT"):
        panel = dm.get_panel(["BTC/USDT", "SOL/USDT"], "1m", "2024-01-01", "2024-01-01 04:59")

    assert panel["SOL/USDT"].isna().all() and panel["BTC/USDT"].notna().all()
    assert "SOL/USDT" in panel.attrs["errors"]


@pytest.mark.parametrize("field", ["price", ["close", "bid"], []])
def test_unknown_fields_are_refused(cache_dir: Path, field: object) -> None:
    with _dm(cache_dir, PerSymbol(_frames())) as dm, pytest.raises(InputError, match="field"):
        dm.get_panel(["BTC/USDT"], "1m", "2024-01-01", "2024-01-01 04:59", field)  # type: ignore[arg-type]


def test_no_symbols_is_refused(cache_dir: Path) -> None:
    with _dm(cache_dir, PerSymbol(_frames())) as dm, pytest.raises(InputError, match="symbol"):
        dm.get_panel([], "1m", "2024-01-01", "2024-01-01 04:59")
