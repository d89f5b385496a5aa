"""tradedata: market data done right for backtesting and paper trading.

Importing the package is cheap: names below load their module on first use, and nothing here
imports ccxt, backtrader, zipline, yfinance or ipywidgets.

>>> import tradedata
>>> dm = tradedata.DataManager()                             # doctest: +SKIP
>>> frame = dm.get_ohlcv("BTC/USDT", "1h", start="2024-01-01")  # doctest: +SKIP
>>> frame.attrs["quality"].score                             # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradedata._lazy import lazy_module
from tradedata.errors import TradeDataError

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "DataManager": "tradedata.manager",
    "FetchResult": "tradedata.manager",
    "get_data_manager": "tradedata.manager",
    "validate": "tradedata.validation",
    "repair": "tradedata.validation",
    "QualityReport": "tradedata.validation",
    "Gap": "tradedata.validation",
    "Timeframe": "tradedata.model",
    "parse_timeframe": "tradedata.model",
    "normalize_frame": "tradedata.model",
    "AssetClass": "tradedata.symbols",
    "SymbolInfo": "tradedata.symbols",
    "classify_symbol": "tradedata.symbols",
    "normalize_symbol": "tradedata.symbols",
    "symbol_info": "tradedata.symbols",
    "ProviderSelector": "tradedata.selection",
    "Cache": "tradedata.cache",
    "PostgresStore": "tradedata.cache.postgres",
    "Store": "tradedata.cache.interface",
    "open_store": "tradedata.cache.opening",
    "sync_stores": "tradedata.cache.sync",
    "read_csv": "tradedata.csvio",
    "load_config": "tradedata.config",
    "download": "tradedata.download",
    "export_parquet": "tradedata.parquet.export",
    "Fundamentals": "tradedata.fundamentals",
    "CorporateActions": "tradedata.actions",
    "SeriesId": "tradedata.identity",
    "split_source": "tradedata.identity",
}

__all__ = [
    "AssetClass",
    "Cache",
    "CorporateActions",
    "DataManager",
    "FetchResult",
    "Fundamentals",
    "Gap",
    "PostgresStore",
    "ProviderSelector",
    "QualityReport",
    "SeriesId",
    "Store",
    "SymbolInfo",
    "Timeframe",
    "TradeDataError",
    "__version__",
    "classify_symbol",
    "download",
    "export_parquet",
    "get_data_manager",
    "load_config",
    "normalize_frame",
    "normalize_symbol",
    "open_store",
    "parse_timeframe",
    "read_csv",
    "repair",
    "split_source",
    "symbol_info",
    "sync_stores",
    "validate",
]

if TYPE_CHECKING:
    from tradedata.actions import CorporateActions
    from tradedata.cache import Cache
    from tradedata.cache.interface import Store
    from tradedata.cache.opening import open_store
    from tradedata.cache.postgres import PostgresStore
    from tradedata.cache.sync import sync_stores
    from tradedata.config import load_config
    from tradedata.csvio import read_csv
    from tradedata.download import download
    from tradedata.fundamentals import Fundamentals
    from tradedata.identity import SeriesId, split_source
    from tradedata.manager import DataManager, FetchResult, get_data_manager
    from tradedata.model import Timeframe, normalize_frame, parse_timeframe
    from tradedata.parquet.export import export_parquet
    from tradedata.selection import ProviderSelector
    from tradedata.symbols import (
        AssetClass,
        SymbolInfo,
        classify_symbol,
        normalize_symbol,
        symbol_info,
    )
    from tradedata.validation import Gap, QualityReport, repair, validate


__getattr__, __dir__ = lazy_module(__name__, _LAZY)
