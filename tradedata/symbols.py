"""Symbol parsing, normalisation and classification.

Crypto pairs are spelled as ccxt unifies them (``BTC/USDT``); ``BTCUSDT``, ``btc-usdt`` and
``BTC_USDT`` are accepted and normalised when the quote currency is known. Equities keep their
provider ticker (``AAPL``, ``VOD.L``, ``7203.T``); the suffix names the exchange, and so its
calendar, currency and timezone.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from tradedata.errors import InvalidSymbolError

__all__ = [
    "EXCHANGE_SUFFIXES",
    "AssetClass",
    "SymbolInfo",
    "classify_symbol",
    "normalize_symbol",
    "symbol_info",
]


class AssetClass(str, enum.Enum):
    """What kind of instrument a symbol names."""

    CRYPTO = "crypto"
    STOCK = "stock"
    INTERNATIONAL_STOCK = "international_stock"
    FOREX = "forex"
    INDEX = "index"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Market:
    """An equity market: its MIC (= exchange-calendars name), currency, timezone, country."""

    mic: str
    currency: str
    timezone: str
    country: str


US_MARKET = Market("XNYS", "USD", "America/New_York", "US")

#: Yahoo-style ticker suffix -> market.
EXCHANGE_SUFFIXES: dict[str, Market] = {
    "L": Market("XLON", "GBP", "Europe/London", "GB"),
    "IL": Market("XLON", "USD", "Europe/London", "GB"),
    "T": Market("XTKS", "JPY", "Asia/Tokyo", "JP"),
    "DE": Market("XETR", "EUR", "Europe/Berlin", "DE"),
    "F": Market("XFRA", "EUR", "Europe/Berlin", "DE"),
    "PA": Market("XPAR", "EUR", "Europe/Paris", "FR"),
    "AS": Market("XAMS", "EUR", "Europe/Amsterdam", "NL"),
    "BR": Market("XBRU", "EUR", "Europe/Brussels", "BE"),
    "MI": Market("XMIL", "EUR", "Europe/Rome", "IT"),
    "MC": Market("XMAD", "EUR", "Europe/Madrid", "ES"),
    "LS": Market("XLIS", "EUR", "Europe/Lisbon", "PT"),
    "IR": Market("XDUB", "EUR", "Europe/Dublin", "IE"),
    "VI": Market("XWBO", "EUR", "Europe/Vienna", "AT"),
    "HE": Market("XHEL", "EUR", "Europe/Helsinki", "FI"),
    "SW": Market("XSWX", "CHF", "Europe/Zurich", "CH"),
    "ST": Market("XSTO", "SEK", "Europe/Stockholm", "SE"),
    "CO": Market("XCSE", "DKK", "Europe/Copenhagen", "DK"),
    "OL": Market("XOSL", "NOK", "Europe/Oslo", "NO"),
    "WA": Market("XWAR", "PLN", "Europe/Warsaw", "PL"),
    "IS": Market("XIST", "TRY", "Europe/Istanbul", "TR"),
    "HK": Market("XHKG", "HKD", "Asia/Hong_Kong", "HK"),
    "SS": Market("XSHG", "CNY", "Asia/Shanghai", "CN"),
    "SZ": Market("XSHG", "CNY", "Asia/Shanghai", "CN"),
    "KS": Market("XKRX", "KRW", "Asia/Seoul", "KR"),
    "TW": Market("XTAI", "TWD", "Asia/Taipei", "TW"),
    "SI": Market("XSES", "SGD", "Asia/Singapore", "SG"),
    "BO": Market("XBOM", "INR", "Asia/Kolkata", "IN"),
    "NS": Market("XBOM", "INR", "Asia/Kolkata", "IN"),
    "AX": Market("XASX", "AUD", "Australia/Sydney", "AU"),
    "NZ": Market("XNZE", "NZD", "Pacific/Auckland", "NZ"),
    "TO": Market("XTSE", "CAD", "America/Toronto", "CA"),
    "V": Market("XTSE", "CAD", "America/Toronto", "CA"),
    "SA": Market("BVMF", "BRL", "America/Sao_Paulo", "BR"),
    "MX": Market("XMEX", "MXN", "America/Mexico_City", "MX"),
    "JO": Market("XJSE", "ZAR", "Africa/Johannesburg", "ZA"),
    "TA": Market("XTAE", "ILS", "Asia/Jerusalem", "IL"),
}

_INDEX_MARKETS = {
    "^FTSE": EXCHANGE_SUFFIXES["L"],
    "^N225": EXCHANGE_SUFFIXES["T"],
    "^GDAXI": EXCHANGE_SUFFIXES["DE"],
    "^FCHI": EXCHANGE_SUFFIXES["PA"],
    "^HSI": EXCHANGE_SUFFIXES["HK"],
    "^STOXX50E": EXCHANGE_SUFFIXES["DE"],
}

#: Quote currencies recognised when splitting ``BTCUSDT``; longest first.
CRYPTO_QUOTES = (
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "DAI", "BTC", "ETH", "BNB", "EUR", "USD",
    "TRY", "BRL", "GBP", "JPY", "AUD",
)  # fmt: skip
_FIAT_TEXT = "USD EUR GBP JPY CHF AUD CAD NZD SEK NOK DKK PLN TRY ZAR MXN HKD SGD CNH CNY KRW INR"
_FIAT_TEXT += " BRL"
FIAT = frozenset(_FIAT_TEXT.split(" "))
_TICKER_RE = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-=&]*$")


@dataclass(frozen=True)
class SymbolInfo:
    """What tradedata knows about a symbol without asking a provider."""

    symbol: str
    asset_class: AssetClass
    base: str
    quote: str | None
    exchange: str | None  # MIC for equities
    calendar: str  # exchange-calendars name: "24/7", "24/5", "XNYS", ...
    currency: str | None
    timezone: str
    country: str | None = None

    @property
    def is_crypto(self) -> bool:
        """True for crypto pairs."""
        return self.asset_class is AssetClass.CRYPTO


def _split_pair(text: str) -> tuple[str, str] | None:
    for sep in ("/", "-", "_"):
        if sep in text:
            base, _, quote = text.partition(sep)
            quote = quote.split(":")[0]
            if sep == "/" or (quote in CRYPTO_QUOTES and len(base) >= 2):
                return (base, quote) if base and quote else None
            return None
    for quote in CRYPTO_QUOTES:
        if text.endswith(quote) and len(text) - len(quote) >= 2:
            return text[: -len(quote)], quote
    return None


def normalize_symbol(symbol: str) -> str:
    """Normalise a symbol: ``btcusdt``/``BTC-USDT`` -> ``BTC/USDT``, ``aapl`` -> ``AAPL``.

    Raises :class:`InvalidSymbolError` for empty or malformed input.
    """
    if not isinstance(symbol, str) or not symbol.strip():
        raise InvalidSymbolError(f"symbol must be a non-empty string, got {symbol!r}")
    text = symbol.strip().upper()
    if text.endswith("=X"):  # Yahoo forex, e.g. EURUSD=X
        body = text[:-2]
        if len(body) == 6 and body[:3] in FIAT and body[3:] in FIAT:
            return f"{body[:3]}/{body[3:]}"
    if "." in text or text.startswith("^"):
        if not _TICKER_RE.match(text):
            raise InvalidSymbolError(f"malformed symbol {symbol!r}")
        return text
    if len(text) == 6 and text[:3] in FIAT and text[3:] in FIAT and "/" not in text:
        return f"{text[:3]}/{text[3:]}"
    pair = _split_pair(text)
    if pair is not None:
        base, quote = pair
        if not base.isalnum() or not quote.isalnum():
            raise InvalidSymbolError(f"malformed symbol {symbol!r}")
        settle = symbol.strip().upper().partition(":")[2]
        return f"{base}/{quote}" + (f":{settle}" if settle else "")
    if not _TICKER_RE.match(text):
        raise InvalidSymbolError(f"malformed symbol {symbol!r}")
    return text


def classify_symbol(symbol: str) -> AssetClass:
    """Classify a symbol as crypto, stock, international stock, forex or index."""
    return symbol_info(symbol).asset_class


def symbol_info(symbol: str) -> SymbolInfo:
    """Parse ``symbol`` into a :class:`SymbolInfo` (asset class, market, calendar, currency)."""
    norm = normalize_symbol(symbol)
    if norm.startswith("^"):
        market = _INDEX_MARKETS.get(norm, US_MARKET)
        return SymbolInfo(
            norm, AssetClass.INDEX, norm, None, market.mic, market.mic, market.currency,
            market.timezone, market.country,
        )  # fmt: skip
    if "/" in norm:
        base, _, quote = norm.partition("/")
        quote = quote.split(":")[0]
        if base in FIAT and quote in FIAT:
            return SymbolInfo(norm, AssetClass.FOREX, base, quote, None, "24/5", quote, "UTC")
        return SymbolInfo(norm, AssetClass.CRYPTO, base, quote, None, "24/7", quote, "UTC")
    if "." in norm:
        root, _, suffix = norm.rpartition(".")
        found = EXCHANGE_SUFFIXES.get(suffix)
        if found is not None and root:
            return SymbolInfo(
                norm, AssetClass.INTERNATIONAL_STOCK, root, None, found.mic, found.mic,
                found.currency, found.timezone, found.country,
            )  # fmt: skip
    m = US_MARKET
    return SymbolInfo(
        norm, AssetClass.STOCK, norm, None, m.mic, m.mic, m.currency, m.timezone, m.country
    )
