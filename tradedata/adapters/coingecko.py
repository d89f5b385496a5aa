"""CoinGecko (crypto backup): ``GET /api/v3/coins/{id}/ohlc?vs_currency&days``.

What the public OHLC endpoint can honestly serve, and so all this adapter declares:

* ``days`` must be one of 1, 7, 14, 30, 90, 180, 365 and the candle size follows from it:
  1-2 days -> 30 minutes, 3-30 days -> 4 hours, 31+ days -> 4 days (not a standard timeframe).
  So ``30m`` bars cover the last day and ``4h`` bars the last 30 days (``history_days``).
* Each row is ``[close time ms, open, high, low, close]``: the bar open is the close time minus
  the candle size.
* **No volume.** The OHLC endpoint has none, and ``market_chart``'s ``total_volumes`` is a
  rolling 24-hour figure, not the volume of a bar, so nothing can be derived from it. The
  schema does not allow NaN, so ``volume`` is 0.0 and every frame carries
  ``attrs["volume_available"] = False`` (also :attr:`CoinGeckoProvider.provides_volume`).
  Use CoinGecko as a price backup, not for volume.
* Quotes: ``vs_currency`` is the quote currency; USD stablecoins (USDT, USDC, ...) are priced
  in ``usd``, which differs from the stablecoin price by its de-peg (usually well under 0.5%).

Coin ids come from a small table for the common coins and from ``/coins/list`` otherwise (an
ambiguous ticker is refused rather than guessed). A key in ``COINGECKO_API_KEY`` is sent as
``x-cg-demo-api-key`` (or ``x-cg-pro-api-key`` with ``options={"plan": "pro"}``).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import quote

import numpy as np
import pandas as pd

from tradedata.adapters.base import Capabilities, Page, ProviderSettings, RateLimit
from tradedata.adapters.http import HttpResponse, RestProvider
from tradedata.adapters.rest_common import bars_frame
from tradedata.errors import (
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    UnsupportedError,
)
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass, symbol_info

__all__ = ["COIN_IDS", "CoinGeckoProvider"]

#: ticker -> CoinGecko coin id for the common coins (others are looked up in /coins/list)
COIN_IDS = {
    "BTC": "bitcoin", "ETH": "ethereum", "SOL": "solana", "BNB": "binancecoin",
    "XRP": "ripple", "ADA": "cardano", "DOGE": "dogecoin", "DOT": "polkadot",
    "AVAX": "avalanche-2", "MATIC": "matic-network", "LTC": "litecoin", "LINK": "chainlink",
    "TRX": "tron", "BCH": "bitcoin-cash", "XLM": "stellar", "ATOM": "cosmos",
    "UNI": "uniswap", "USDT": "tether", "USDC": "usd-coin",
}  # fmt: skip
_USD_STABLES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "USDE", "USD"})
#: timeframe -> the ``days`` values that yield it, smallest first
_DAYS = {"30m": (1,), "4h": (7, 14, 30)}


class CoinGeckoProvider(RestProvider):
    """Crypto OHLC (no volume) from CoinGecko's public API."""

    name = "coingecko"
    default_url = "https://api.coingecko.com"
    reports_unknown_symbols: ClassVar[bool] = True
    #: CoinGecko's OHLC endpoint has no volume: frames carry 0.0 and say so in their attrs
    provides_volume: ClassVar[bool] = False
    capabilities = Capabilities(
        timeframes=tuple(_DAYS),
        max_candles=1_000,
        asset_classes=frozenset({AssetClass.CRYPTO}),
        rate_limit=RateLimit(10, 60.0),
        history_days={"30m": 1, "4h": 30},
        key_env="COINGECKO_API_KEY",
    )

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        settings = settings or ProviderSettings()
        if not settings.url and settings.options.get("plan") == "pro":
            settings = replace(settings, url="https://pro-api.coingecko.com")
        super().__init__(settings)
        self._coin_list: list[dict[str, Any]] | None = None
        self._list_lock = threading.Lock()

    def auth_headers(self) -> dict[str, str]:
        """The demo (or pro) key header, when a key is configured."""
        key = self.api_key()
        if not key:
            return {}
        plan = str(self.settings.options.get("plan", "demo"))
        return {f"x-cg-{plan}-api-key": key}

    def classify_response(self, response: HttpResponse) -> ProviderError | None:
        """CoinGecko's ``{"status": {"error_code": 429, ...}}`` and ``{"error": ...}`` bodies."""
        data = response.body
        raw_status = data.get("status")
        status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
        code = status.get("error_code")
        message = self.http.redact(str(status.get("error_message") or data.get("error") or ""))
        if response.status == 429 or code == 429:
            return RateLimitError(
                f"coingecko: {message or 'rate limited'}",
                provider=self.name,
                retry_after=response.retry_after,
            )
        if response.status == 404 and "not found" in message.lower():
            return SymbolNotFoundError(f"coingecko: {message}", provider=self.name)
        return None

    def coin_id(self, base: str) -> str:
        """CoinGecko's id for a ticker (``BTC`` -> ``bitcoin``)."""
        if base in COIN_IDS:
            return COIN_IDS[base]
        with self._list_lock:
            if self._coin_list is None:
                data = self.call(lambda: self.http.get_json("/api/v3/coins/list"))
                if not isinstance(data, list):
                    raise InvalidResponseError(
                        "coingecko: /coins/list is not a list", provider=self.name
                    )
                self._coin_list = data
        matches = [c for c in self._coin_list if str(c.get("symbol", "")).upper() == base]
        exact = [c for c in matches if c.get("id") == base.lower()]
        chosen = exact or matches
        if len(chosen) != 1:
            reason = "unknown" if not chosen else f"ambiguous ({len(chosen)} coins)"
            raise SymbolNotFoundError(f"coingecko: ticker {base} is {reason}", provider=self.name)
        return str(chosen[0]["id"])

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """The smallest ``days`` window that reaches back to ``since``, in one request."""
        info = symbol_info(symbol)
        quote_ccy = "usd" if info.quote in _USD_STABLES else str(info.quote).lower()
        age_days = (self.now() - since) / pd.Timedelta(days=1)
        days = next((d for d in _DAYS[timeframe.name] if d >= age_days), None)
        if days is None:
            raise UnsupportedError(
                f"coingecko keeps {timeframe.name} candles for "
                f"{_DAYS[timeframe.name][-1]} days only",
                provider=self.name,
            )
        coin = self.coin_id(info.base)
        params = {"vs_currency": quote_ccy, "days": days}
        rows = self.http.get_json(f"/api/v3/coins/{quote(coin)}/ohlc", params)
        if not isinstance(rows, list):
            raise InvalidResponseError("coingecko: OHLC answer is not a list", provider=self.name)
        return Page(parse_ohlc(rows, timeframe), complete=True)


def parse_ohlc(rows: list[list[Any]], timeframe: Timeframe) -> pd.DataFrame:
    """``[[close ms, o, h, l, c], ...]`` as an OHLCV frame labelled by bar open, volume 0.0."""
    arr = np.array([r[:5] for r in rows], dtype="float64").reshape(-1, 5)
    opens = pd.to_datetime(arr[:, 0].astype("int64"), unit="ms", utc=True) - timeframe.delta
    frame = bars_frame(
        pd.DatetimeIndex(opens),
        {
            "open": arr[:, 1],
            "high": arr[:, 2],
            "low": arr[:, 3],
            "close": arr[:, 4],
            "volume": np.zeros(len(arr)),
        },
    )
    frame.attrs["volume_available"] = False
    return frame
