"""A ccxt exchange that does not list a symbol: SymbolNotFoundError, the store unchanged."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.ccxt_conftest_fixtures import (
    FAST_RETRY,
    klines_requests,
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.errors import SymbolNotFoundError
from tradedata.manager import DataManager
from tradedata.sim.simulator import ExchangeSimulator


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_a_pinned_exchange_without_the_symbol_raises_symbol_not_found(
    sim: ExchangeSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: str
) -> None:
    monkeypatch.setattr(CcxtProvider, "retry_policy", FAST_RETRY)
    urls = {"url": sim.url, "ws_url": sim.ws_base}
    with DataManager(cache_dir=tmp_path / "c", providers={exchange: urls}) as dm:
        end = sim.now().floor("h")
        with pytest.raises(SymbolNotFoundError, match=exchange):
            dm.get_ohlcv("NOPE/USDT", "1h", end - pd.Timedelta(days=1), end, provider=exchange)
        assert dm.cache.series() == []
    assert klines_requests(sim) == 0
