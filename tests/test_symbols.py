"""Symbol normalisation and classification."""

from __future__ import annotations

import pytest

from tradedata.errors import InvalidSymbolError
from tradedata.symbols import AssetClass, classify_symbol, normalize_symbol, symbol_info


@pytest.mark.parametrize(
    ("raw", "norm", "asset"),
    [
        ("BTCUSDT", "BTC/USDT", AssetClass.CRYPTO),
        ("btc/usdt", "BTC/USDT", AssetClass.CRYPTO),
        ("BTC-USDT", "BTC/USDT", AssetClass.CRYPTO),
        ("ETHBTC", "ETH/BTC", AssetClass.CRYPTO),
        ("SOLUSDC", "SOL/USDC", AssetClass.CRYPTO),
        ("BTC/USDT:USDT", "BTC/USDT:USDT", AssetClass.CRYPTO),
        ("EURUSD", "EUR/USD", AssetClass.FOREX),
        ("EURUSD=X", "EUR/USD", AssetClass.FOREX),
        ("AAPL", "AAPL", AssetClass.STOCK),
        ("brk-b", "BRK-B", AssetClass.STOCK),
        ("VOD.L", "VOD.L", AssetClass.INTERNATIONAL_STOCK),
        ("7203.T", "7203.T", AssetClass.INTERNATIONAL_STOCK),
        ("SAP.DE", "SAP.DE", AssetClass.INTERNATIONAL_STOCK),
        ("0700.HK", "0700.HK", AssetClass.INTERNATIONAL_STOCK),
        ("^GSPC", "^GSPC", AssetClass.INDEX),
    ],
)
def test_normalize_and_classify(raw: str, norm: str, asset: AssetClass) -> None:
    assert normalize_symbol(raw) == norm
    assert classify_symbol(raw) is asset


def test_international_market_details() -> None:
    vod = symbol_info("VOD.L")
    assert (vod.exchange, vod.calendar, vod.currency, vod.timezone) == (
        "XLON", "XLON", "GBP", "Europe/London"
    )  # fmt: skip
    toyota = symbol_info("7203.T")
    assert (toyota.calendar, toyota.currency, toyota.timezone) == ("XTKS", "JPY", "Asia/Tokyo")
    assert symbol_info("AAPL").calendar == "XNYS"
    assert symbol_info("BTC/USDT").calendar == "24/7"
    assert symbol_info("EUR/USD").calendar == "24/5"


@pytest.mark.parametrize("bad", ["", "   ", "BTC/", "AA PL", None, "A$B"])
def test_bad_symbols_raise(bad: object) -> None:
    with pytest.raises(InvalidSymbolError):
        normalize_symbol(bad)  # type: ignore[arg-type]
