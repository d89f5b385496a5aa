"""The tradedata exception tree.

Every error tradedata raises on purpose derives from :class:`TradeDataError`; code raises the
narrowest class that fits and translates library errors (ccxt's, yfinance's, requests')
with ``raise ... from exc``. Messages are one line, written for the user, and never contain
API keys or other secrets.

::

    TradeDataError
    ├── ConfigurationError            bad config file, unknown provider, missing API key
    │   ├── MissingAPIKeyError        the provider needs a key that is not configured
    │   └── MissingExtraError         an optional extra is not installed (also ImportError)
    ├── InputError (also ValueError)  bad arguments from the caller
    │   ├── InvalidTimeframeError     "7x", or a timeframe a provider cannot serve
    │   ├── InvalidSymbolError        an empty or malformed symbol
    │   ├── InvalidDateRangeError     start after end, unparseable, outside 1678..2261, future
    │   └── OpenInterestUnavailableError  open interest asked of a market that has none
    │                                 (spot, equities) or a venue/timeframe that publishes none
    ├── ProviderError                 anything that went wrong talking to a data source
    │   ├── TemporaryProviderError    5xx, timeouts, dropped connections: retry later
    │   │   ├── RateLimitError        429 / provider's "slow down" answer (``retry_after`` seconds)
    │   │   └── InvalidResponseError  garbage: malformed JSON, truncated body, wrong shape
    │   ├── SymbolNotFoundError       the provider does not know the symbol
    │   ├── UnsupportedError          timeframe, market or range the provider cannot serve
    │   │   └── PriceBasisError       an answer's price basis cannot be put back on as traded
    │   ├── AuthenticationError       401/403, bad or expired key
    │   ├── ProviderUnavailableError  the circuit breaker is open for this provider
    │   └── AllProvidersFailedError   failover ran out of providers (``errors`` lists each)
    │       └── SymbolNotListedError  ... and every one said it does not list the symbol
    │                                 (also a SymbolNotFoundError)
    ├── DeadlineExceededError         the overall deadline of a call passed (``unfetched`` ranges)
    ├── DataValidationError           data that cannot be used as bars
    │   ├── CSVFormatError            a CSV file tradedata cannot recognise or parse
    │   │   └── LocalTimeError        a local time stamp that does not exist or is ambiguous (DST)
    │   └── InsufficientQualityError  a series scored below the required minimum
    ├── CacheError                    the store cannot do it: disk full, read-only cache
    │   └── CacheCorruptionError      a partition failed its checksum or gzip check
    └── ExportError                   an export destination (folder, S3) cannot be written
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AllProvidersFailedError",
    "AuthenticationError",
    "CSVFormatError",
    "CacheCorruptionError",
    "CacheError",
    "ConfigurationError",
    "DataValidationError",
    "DeadlineExceededError",
    "ExportError",
    "InputError",
    "InsufficientQualityError",
    "InvalidDateRangeError",
    "InvalidResponseError",
    "InvalidSymbolError",
    "InvalidTimeframeError",
    "LocalTimeError",
    "MissingAPIKeyError",
    "MissingExtraError",
    "OpenInterestUnavailableError",
    "PriceBasisError",
    "ProviderError",
    "ProviderUnavailableError",
    "RateLimitError",
    "SymbolNotFoundError",
    "SymbolNotListedError",
    "TemporaryProviderError",
    "TradeDataError",
    "UnsupportedError",
]


class TradeDataError(Exception):
    """Base class of every error tradedata raises on purpose."""


class ConfigurationError(TradeDataError):
    """The configuration (file, arguments or environment) is invalid or incomplete."""


class MissingAPIKeyError(ConfigurationError):
    """A provider needs an API key (or secret) that is not configured."""


class MissingExtraError(ConfigurationError, ImportError):
    """An optional extra is not installed; the message says ``pip install "tradedata[...]"``."""


class InputError(TradeDataError, ValueError):
    """An argument from the caller is invalid. Nothing was fetched or written."""


class InvalidTimeframeError(InputError):
    """The timeframe string is unknown, or not served for this request."""


class InvalidSymbolError(InputError):
    """The symbol string is empty or malformed."""


class InvalidDateRangeError(InputError):
    """A date cannot be parsed, or the range is empty (start after end)."""


class OpenInterestUnavailableError(InputError):
    """Open interest was asked for where none is published: a spot market or an equity (only
    derivatives have open interest: ask for the contract, e.g. ``BTC/USDT:USDT``), a venue
    tradedata reads no open-interest history from, or a timeframe no period of the venue's
    open-interest history lines up with (Binance and Bybit publish none finer than 5m).
    Nothing was fetched or written."""


class ProviderError(TradeDataError):
    """A data provider failed. ``provider`` names it when known."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class TemporaryProviderError(ProviderError):
    """A transient failure (5xx, timeout, dropped connection); retrying may succeed."""


class RateLimitError(TemporaryProviderError):
    """The provider asked us to slow down; ``retry_after`` is seconds to wait, when known."""

    def __init__(
        self, message: str, *, provider: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class SymbolNotFoundError(ProviderError):
    """The provider does not know this symbol."""


class UnsupportedError(ProviderError):
    """The provider cannot serve this timeframe, market or date range."""


class PriceBasisError(UnsupportedError):
    """A provider's prices are on a basis (e.g. dividend-adjusted, or split-adjusted with the
    splits unknown) that cannot be turned back into as-traded prices; nothing was stored."""


class AuthenticationError(ProviderError):
    """The provider rejected our credentials (401/403)."""


class InvalidResponseError(TemporaryProviderError):
    """The provider answered with something that is not valid data (retried: often transient)."""


class ProviderUnavailableError(ProviderError):
    """The provider is switched off for now (circuit breaker open, or not configured)."""


class AllProvidersFailedError(ProviderError):
    """Every candidate provider failed; ``errors`` maps provider name to its error."""

    def __init__(self, message: str, *, errors: dict[str, BaseException] | None = None) -> None:
        errors = dict(errors or {})
        if message.rstrip().endswith(":") or not message.strip():  # never an empty reason
            said = "; ".join(f"{k}: {v or type(v).__name__}" for k, v in errors.items())
            message = f"{message.rstrip()} {said or 'no provider gave a reason'}".strip()
        super().__init__(message)
        self.errors: dict[str, BaseException] = errors


class SymbolNotListedError(AllProvidersFailedError, SymbolNotFoundError):
    """Failover ran out of providers and every one said it does not list the symbol."""


class DeadlineExceededError(TradeDataError):
    """The overall deadline of a ``get_ohlcv``/``download`` call passed before it finished.

    ``seconds`` is the deadline that was set; ``unfetched`` lists the ``(start, end)`` ranges
    (UTC bar opens, inclusive, each with a ``reason``) still missing when it stopped; for
    ``download``, ``report`` is the report of what was done. Bars fetched before are stored.
    Not a :class:`ProviderError`: it is neither retried nor answered by failing over.
    """

    def __init__(
        self,
        message: str,
        *,
        seconds: float | None = None,
        unfetched: Sequence[tuple[Any, Any]] | None = None,
        report: Any = None,
    ) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.unfetched: list[tuple[Any, Any]] = list(unfetched or [])
        self.report = report


class DataValidationError(TradeDataError):
    """Data that cannot be used as OHLCV bars."""


class CSVFormatError(DataValidationError):
    """A CSV file is not in a format tradedata recognises, or a row cannot be parsed."""


class LocalTimeError(CSVFormatError):
    """A file's local time stamp cannot be placed on the UTC time line.

    Raised by ``import_csv(..., tz=...)`` for a time inside a daylight-saving gap (it never
    happened: clocks jumped over it) and for a time in the repeated hour after clocks go back
    when the file's order does not tell which of the two it is. ``line`` is the file line.
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class InsufficientQualityError(DataValidationError):
    """A series' quality score is below the required minimum."""

    def __init__(self, message: str, *, score: float | None = None) -> None:
        super().__init__(message)
        self.score = score


class CacheError(TradeDataError):
    """The on-disk store cannot complete the operation."""


class CacheCorruptionError(CacheError):
    """A stored partition is damaged (bad checksum or gzip stream)."""


class ExportError(TradeDataError):
    """An export destination (a folder, an S3 bucket) cannot be listed, read or written.

    What was already committed there stays readable; running the export again resumes.
    """
