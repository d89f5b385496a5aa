"""What a stored series is: ``(source, symbol, timeframe)``.

The *source* names the market the bars come from, because two sources' bars are not the same
data and are never stitched into one series:

- **Crypto**: the venue, as its ccxt exchange id (``binance``, ``bybit``, ``kraken``, ...);
  ``coingecko`` (a cross-venue aggregate with no volume) is its own source. A crypto
  provider's source is its name.
- **Equities, forex, indices**: the volume scope (and so the market) a provider delivers:
  ``consolidated`` (all US venues / the home exchange: Yahoo, Polygon, FMP, Alpha Vantage,
  Tiingo daily, Alpaca's paid ``sip`` feed) or ``iex`` (IEX-only volume, a few percent of the
  consolidated volume: Alpaca's free feed, Tiingo intraday). Prices are stored as traded
  (:mod:`tradedata.adjusting` converts split-adjusted answers); bars an older version stored
  split-adjusted keep a source of their own (:mod:`tradedata.cache.migrate`).

Users name a source with ``exchange="bybit"`` or the venue-prefixed spelling
``"BYBIT:BTC/USDT"`` (TradingView's; the venue is case-insensitive). Equity tickers never
contain ``:``; a crypto symbol's own ``:`` (``BTC/USDT:USDT``, the settle currency of a
perpetual) is told apart from a venue prefix by :func:`split_source`.

**The default source** of a symbol (:func:`default_source`) is :data:`DEFAULT_VENUE`
(``binance``, the built-in crypto rule's primary) for crypto and ``consolidated`` for the
rest. Its series keep the key and export layout older versions used (``ohlcv/SYMBOL/TF/YEAR``),
so a cache written before sources existed opens as the default source's series. A request
that names no source is served from the source of the first provider the selection rules pick
(:meth:`tradedata.manager.DataManager.get_ohlcv`), which is the default source unless the
rules were changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tradedata.errors import InputError, InvalidSymbolError
from tradedata.symbols import CRYPTO_QUOTES, AssetClass, normalize_symbol, symbol_info

__all__ = [
    "CONSOLIDATED",
    "DEFAULT_VENUE",
    "IEX",
    "PROVIDER_BASIS",
    "SeriesId",
    "default_source",
    "identify",
    "is_crypto",
    "normalize_source",
    "provider_basis",
    "source_of_provider",
    "split_source",
]

#: The default crypto venue (the built-in ``crypto`` rule's primary).
DEFAULT_VENUE = "binance"
#: Equities with consolidated volume (every US venue, or the home exchange abroad).
CONSOLIDATED = "consolidated"
#: Equities with IEX-only volume.
IEX = "iex"

#: The price basis each equity provider's OHLC come in with its default settings, in the
#: vocabulary of :data:`tradedata.actions.BASES` (``raw`` = as traded, ``splits`` =
#: split-adjusted): Yahoo's chart OHLC are split-adjusted; Polygon's aggregates are by default
#: (``adjusted=true``); Alpaca returns ``adjustment=raw`` by default; Alpha Vantage
#: ``TIME_SERIES_DAILY``, Tiingo and FMP give as-traded OHLC. The providers' own
#: ``capabilities.basis`` says the same (a test keeps the two equal); this copy lets the cache
#: tell, without the providers, how bars an older version stored were adjusted.
PROVIDER_BASIS: dict[str, str] = {
    "yahoo": "splits",
    "polygon": "splits",
    "alpaca": "raw",
    "alpha_vantage": "raw",
    "tiingo": "raw",
    "fmp": "raw",
}
#: Provider labels that name no venue (imports): their bars belong to the default source.
IMPORT_LABELS = frozenset({"import", "unknown", "memory"})
_STOCK_PROVIDERS = frozenset(PROVIDER_BASIS)
_SOURCE_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SeriesId:
    """One stored series: where the bars come from, what instrument, at what timeframe."""

    source: str
    symbol: str
    timeframe: str

    def __str__(self) -> str:
        return f"{self.source.upper()}:{self.symbol} {self.timeframe}"


def normalize_source(source: str) -> str:
    """``"BYBIT"`` -> ``"bybit"``; raises :class:`InvalidSymbolError` for a malformed name."""
    if not isinstance(source, str):
        raise InvalidSymbolError(f"a source must be a string, got {source!r}")
    text = source.strip().lower()
    if not _SOURCE_RE.match(text):
        raise InvalidSymbolError(
            f"malformed source {source!r} (a venue id such as 'bybit', or 'consolidated'/'iex')"
        )
    return text


def split_source(symbol: str) -> tuple[str | None, str]:
    """``"BYBIT:BTC/USDT"`` -> ``("bybit", "BTC/USDT")``; ``"BTC/USDT"`` -> ``(None, ...)``.

    The text before the first ``:`` is a source when it looks like a venue id (letters, digits,
    ``_``; starting with a letter) and is not the pair of a settle-currency spelling such as
    ``BTCUSDT:USDT`` or ``BTC/USDT:USDT`` (those stay whole; ``HITBTC:BTCUSDT`` is a venue).
    The symbol part is returned as given (normalise it with
    :func:`tradedata.symbols.normalize_symbol`).
    """
    if not isinstance(symbol, str):
        raise InvalidSymbolError(f"symbol must be a string, got {symbol!r}")
    text = symbol.strip()
    head, sep, tail = text.partition(":")
    if not sep or not _PREFIX_RE.match(head) or not tail.strip():
        return None, text
    if tail.strip().upper() in CRYPTO_QUOTES and _looks_like_pair(head.upper()):
        return None, text  # BTCUSDT:USDT: a perpetual's settle currency, not a venue
    return normalize_source(head), tail.strip()


def identify(symbol: str, exchange: str | None = None) -> tuple[str | None, str]:
    """``(source or None, normalised symbol)`` from a maybe venue-prefixed ``symbol`` and an
    ``exchange`` keyword; raises :class:`InputError` when the two name different sources."""
    prefix, bare = split_source(symbol)
    named = normalize_source(exchange) if exchange else None
    if prefix and named and prefix != named:
        raise InputError(f"{symbol!r} names source {prefix!r} but exchange={exchange!r}")
    return prefix or named, normalize_symbol(bare)


def _looks_like_pair(text: str) -> bool:
    return any(text.endswith(q) and len(text) - len(q) >= 2 for q in CRYPTO_QUOTES)


def is_crypto(symbol: str) -> bool:
    """True when ``symbol`` is a crypto pair (its sources are venues)."""
    try:
        return symbol_info(symbol).asset_class is AssetClass.CRYPTO
    except InvalidSymbolError:
        return False


def default_source(symbol: str) -> str:
    """The source a symbol's series belong to when none is named (see the module text)."""
    return DEFAULT_VENUE if is_crypto(symbol) else CONSOLIDATED


def source_of_provider(
    provider: str, symbol: str, timeframe: str | None = None, feed: str | None = None
) -> str:
    """The source of the bars ``provider`` delivers for ``symbol`` at ``timeframe``.

    A crypto provider's source is its own name (the ccxt exchange id, or ``coingecko``).
    Equity providers deliver ``consolidated`` volume, except Alpaca's free feed
    (``feed="iex"``, its default; ``"sip"`` is consolidated) and Tiingo's intraday endpoint
    (IEX), which deliver ``iex``. Import labels (``import``, ``csv:FILE``, ...) and equity
    providers the table does not know deliver the symbol's default source.
    """
    name = provider.strip().lower()
    if name not in _STOCK_PROVIDERS:
        if is_crypto(symbol) and _SOURCE_RE.match(name) and name not in IMPORT_LABELS:
            return name
        return default_source(symbol)
    if name == "alpaca":
        return CONSOLIDATED if (feed or IEX).lower() == "sip" else IEX
    if name == "tiingo" and timeframe is not None and timeframe not in ("1d", "1w", "1M"):
        return IEX
    return CONSOLIDATED


def provider_basis(provider: str) -> str | None:
    """The price basis of an equity provider's OHLC (None for crypto and unknown providers)."""
    return PROVIDER_BASIS.get(provider.strip().lower())
