"""The provider contract.

A provider declares what it can do as data (:class:`Capabilities`) and implements one raw page
fetch (:meth:`Provider.fetch_page`). The base class does everything else once, for all
providers: argument checks, pagination by ``since`` until the requested end, normalisation to
the OHLCV schema, dropping the still-open candle, retries with backoff, the shared rate limit and
the circuit breaker.

Subclasses translate their client's errors into the tree in :mod:`tradedata.errors`
(temporary / rate-limited with ``retry_after`` / symbol not found / unsupported / auth / invalid
response), so the retry decision here never needs to know a provider's quirks.
"""

from __future__ import annotations

import contextlib
import random
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from tradedata.actions import CorporateActions
from tradedata.adapters.paging import PagingRules, Span, Unfetched, decide, plan, request_for
from tradedata.adapters.resilience import (
    CallStats,
    LoopbackRetryPolicy,
    RetryPolicy,
    call_with_resilience,
    is_loopback_url,
    shared_breaker,
    shared_bucket,
)
from tradedata.errors import (
    InvalidResponseError,
    InvalidTimeframeError,
    MissingAPIKeyError,
    TradeDataError,
    UnsupportedError,
)
from tradedata.logs import log_context, new_request_id
from tradedata.model import OHLCV_COLUMNS, Timeframe, normalize_frame, parse_timeframe, to_utc
from tradedata.redact import Secret, redact, register_pair, register_secret, scrub_chain
from tradedata.symbols import AssetClass, SymbolInfo, symbol_info

__all__ = [
    "Capabilities",
    "Page",
    "Provider",
    "ProviderSettings",
    "RateLimit",
    "Secret",
]


@dataclass(frozen=True)
class RateLimit:
    """``capacity`` weight units per ``period`` seconds (plus an optional daily cap)."""

    capacity: float
    period: float = 60.0
    daily: int | None = None

    @property
    def rate(self) -> float:
        """Tokens refilled per second."""
        return self.capacity / self.period


@dataclass(frozen=True)
class Capabilities:
    """What a provider can serve, declared as data."""

    timeframes: tuple[str, ...]
    max_candles: int
    asset_classes: frozenset[AssetClass]
    rate_limit: RateLimit
    #: days of history per timeframe; a missing timeframe or None means unlimited
    history_days: Mapping[str, int | None] = field(default_factory=dict)
    needs_api_key: bool = False
    needs_secret: bool = False
    key_env: str | None = None
    secret_env: str | None = None
    #: MICs of equity markets served; None means any
    markets: frozenset[str] | None = None
    #: the answer carries an ``adj_close`` column (the provider's dividend-adjusted close)
    adjusted: bool = False
    #: price basis of the OHLCV it serves by default: "raw" (as traded), "splits"
    #: (split-adjusted) or "all" (split- and dividend-adjusted); see tradedata.actions
    basis: str = "raw"
    #: publishes splits and dividends (``Provider.fetch_actions``)
    actions: bool = False
    fundamentals: bool = False
    #: request weight of one page fetch (Binance counts klines as 2)
    page_weight: float = 1.0


@dataclass(frozen=True)
class ProviderSettings:
    """How to reach a provider: endpoint overrides, credentials, sandbox, timeout."""

    url: str | None = None
    ws_url: str | None = None
    api_key: Secret | None = None
    secret: Secret | None = None
    sandbox: bool = False
    timeout: float = 30.0
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("api_key", "secret"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value) if value else None)
        if self.api_key and self.secret:
            register_pair(self.api_key.get(), self.secret.get())
        for url in (self.url, self.ws_url):  # a proxy's password in https://user:pass@host
            if isinstance(url, str) and "@" in url:
                with contextlib.suppress(ValueError):
                    register_secret(urlsplit(url).password)


@dataclass
class Page:
    """One page of bars. ``complete`` means no more bars exist up to the requested end."""

    frame: pd.DataFrame
    complete: bool | None = None


@dataclass
class Chunk:
    """Bars fetched with the range ``[start, end]`` (inclusive bar opens) an answer proved.

    Only a chunk with ``proven`` may be recorded as covered. ``unfetched`` lists what the
    answer showed cannot be proven, with the reason; a chunk that proves nothing has
    ``proven=False``, no bars, and ``[start, end]`` is the first range given up.
    """

    frame: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    provider: str
    #: requests this chunk took (empty pages asked again included; retries not)
    requests: int = 1
    unfetched: tuple[Unfetched, ...] = ()
    proven: bool = True


def _in_schema(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` normalised; a page already in the OHLCV schema is passed as is (cheaply)."""
    index = frame.index
    if (
        isinstance(index, pd.DatetimeIndex)
        and index.tz is timezone.utc
        and index.unit == "ns"
        and index.name == "timestamp"
        and tuple(frame.columns) == OHLCV_COLUMNS
        and all(dtype == np.float64 for dtype in frame.dtypes)
        and index.is_monotonic_increasing
    ):
        return frame
    return normalize_frame(frame)


class Provider(ABC):
    """Base class of every OHLCV provider. Subclasses set ``name`` and ``capabilities``."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities]
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()
    #: consecutive empty pages tolerated before believing there is no data
    empty_page_retries: ClassVar[int] = 3

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        self.settings = settings or ProviderSettings()
        caps = self.capabilities
        if caps.needs_api_key and not self.settings.api_key:
            raise MissingAPIKeyError(
                f"{self.name} needs an API key: set {caps.key_env or 'it'} or add it to the config"
            )
        if caps.needs_secret and not self.settings.secret:
            raise MissingAPIKeyError(
                f"{self.name} needs an API secret: set {caps.secret_env or 'it'} "
                "or add it to the config"
            )
        self.stats = CallStats()
        self._rng = random.Random()

    def __repr__(self) -> str:
        return redact(f"<{type(self).__name__} {self.name} url={self.settings.url!r}>")

    # -- what subclasses implement -------------------------------------------------------
    @abstractmethod
    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> pd.DataFrame | Page:
        """Fetch bars opening in ``[since, until]``, at most ``limit`` of them, oldest first.

        Return a frame (any column case; normalised here) or a :class:`Page`. Raise errors from
        :mod:`tradedata.errors`. A bare frame shorter than ``limit`` counts as complete.
        """

    def paging_rules(self, timeframe: Timeframe) -> PagingRules:
        """How this provider's bar endpoint pages ``timeframe`` bars.

        The default is conservative: ``since`` + ``limit`` only, nothing trusted beyond the bars
        an answer holds. Providers that mark their pages with ``Page(complete=...)`` (next-page
        tokens, one-shot ranges) need nothing more; exchanges declare what they document.
        """
        bars, reason = self.history_depth(timeframe)
        return PagingRules(
            max_candles=self.capabilities.max_candles, history_bars=bars, history_reason=reason
        )

    def history_depth(self, timeframe: Timeframe) -> tuple[int | None, str]:
        """Bars back from now served for ``timeframe`` (None: unlimited), and the reason."""
        days = self.capabilities.history_days.get(timeframe.name)
        if days is None:
            return None, ""
        bars = max(1, int(pd.Timedelta(days=days) // timeframe.delta))
        return bars, f"{self.name} serves {timeframe.name} bars only for the last {days} days"

    def price_basis(self, timeframe: Timeframe) -> str:
        """The price basis of this provider's ``timeframe`` bars as configured (see
        :data:`tradedata.actions.BASES`); the declared ``capabilities.basis`` by default."""
        return self.capabilities.basis

    def fetch_actions(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> CorporateActions:
        """Splits and cash dividends of ``symbol`` with ex-dates in ``[start, end]`` as a
        :class:`~tradedata.actions.CorporateActions` (dividends as-traded amounts).

        Providers that publish corporate actions (``capabilities.actions``) implement this.
        """
        raise UnsupportedError(f"{self.name} publishes no corporate actions", provider=self.name)

    def now(self) -> pd.Timestamp:
        """The provider's clock (exchanges override this with their server time)."""
        return pd.Timestamp.now(tz="UTC")

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release connections; the default has none."""

    # -- shared behaviour -----------------------------------------------------------------
    def _key(self) -> str:
        return f"{self.name}@{self.settings.url or 'default'}"

    def supports(self, symbol: str, timeframe: str | Timeframe) -> bool:
        """True when this provider can serve the symbol's market and the timeframe."""
        try:
            self.check_supported(symbol_info(symbol), parse_timeframe(timeframe))
        except (UnsupportedError, InvalidTimeframeError):
            return False
        return True

    def check_supported(self, info: SymbolInfo, timeframe: Timeframe) -> None:
        """Raise :class:`UnsupportedError` if the symbol's market or the timeframe is not served."""
        caps = self.capabilities
        if info.asset_class not in caps.asset_classes:
            raise UnsupportedError(
                f"{self.name} does not serve {info.asset_class.value} symbols like {info.symbol}",
                provider=self.name,
            )
        if caps.markets is not None and info.exchange and info.exchange not in caps.markets:
            raise UnsupportedError(
                f"{self.name} does not serve market {info.exchange} ({info.symbol})",
                provider=self.name,
            )
        if timeframe.name not in caps.timeframes:
            raise UnsupportedError(
                f"{self.name} does not serve timeframe {timeframe.name}", provider=self.name
            )

    def history_start(self, timeframe: Timeframe, now: pd.Timestamp) -> pd.Timestamp | None:
        """The oldest bar open this provider can serve for ``timeframe`` (None: unlimited)."""
        days = self.capabilities.history_days.get(timeframe.name)
        return None if days is None else now - pd.Timedelta(days=days)

    def call(self, fn: Any, weight: float | None = None) -> Any:
        """Run one request through the shared rate limit, retries and circuit breaker."""
        rl = self.capabilities.rate_limit
        policy = self.retry_policy
        if is_loopback_url(self.settings.url):  # fail fast when nothing listens locally
            policy = LoopbackRetryPolicy(policy.max_attempts, policy.base_delay, policy.max_delay)
        with log_context(provider=self.name, request_id=new_request_id()):
            try:
                return call_with_resilience(
                    fn,
                    name=self.name,
                    policy=policy,
                    breaker=shared_breaker(self._key()),
                    bucket=shared_bucket(self._key(), rl.capacity, rl.rate),
                    weight=self.capabilities.page_weight if weight is None else weight,
                    stats=self.stats,
                    rng=self._rng,
                )
            except TradeDataError as exc:
                failure = exc
        # raised outside the handler, after the chain is scrubbed: no key leaves through it
        raise scrub_chain(failure)

    def last_closed_open(
        self, timeframe: Timeframe, now: pd.Timestamp | None = None
    ) -> pd.Timestamp:
        """Open time of the newest bar that has closed at ``now`` (the provider's clock)."""
        current = timeframe.floor(to_utc(self.now() if now is None else now))
        prev = timeframe.floor(current - pd.Timedelta(nanoseconds=1))
        return prev

    def iter_chunks(
        self, symbol: str, timeframe: str | Timeframe, start: Any, end: Any
    ) -> Iterator[Chunk]:
        """Yield closed bars in ``[start, end]`` page by page, each with the span it proves.

        Pages are asked and judged by the page contract (:mod:`tradedata.adapters.paging`)
        under :meth:`paging_rules`. A chunk's ``[start, end]`` is safe to record as fetched
        (the answer proves every bar there is in the chunk's frame) when ``chunk.proven``;
        what cannot be proven comes in ``chunk.unfetched`` with its reason. The still-open
        candle is never yielded: ``end`` is clipped to the last closed bar by the provider's
        clock. Errors propagate after retries; chunks already yielded stay valid, so a caller
        can store them and fail over for the rest.
        """
        tf = parse_timeframe(timeframe)
        info = symbol_info(symbol)
        self.check_supported(info, tf)
        first = to_utc(start)
        since = tf.floor(first)
        if since < first:
            since = tf.next_open(first)
        until = min(tf.floor(to_utc(end)), self.last_closed_open(tf))
        if since > until:
            return
        rules = self.paging_rules(tf)
        planned = plan(Span(since, until), rules, tf, self.now())
        for gone in planned.unfetched:
            yield self._unproven(gone, 0)
        yield from self._pages(info.symbol, tf, rules, list(planned.todo))

    def _pages(
        self, symbol: str, tf: Timeframe, rules: PagingRules, todo: list[Span]
    ) -> Iterator[Chunk]:
        """Drive the page contract over the ranges ``todo`` (see :meth:`iter_chunks`)."""
        empties = requests = 0
        while todo:
            want = todo[0]
            req = request_for(want, rules, tf)
            requests += 1
            edge = req.end if req.end is not None else req.until
            with log_context(symbol=symbol, timeframe=tf.name):
                raw = self.call(
                    lambda r=req, e=edge: self.fetch_page(symbol, tf, r.since, e, r.limit)
                )
            page = raw if isinstance(raw, Page) else Page(raw)
            frame = _in_schema(page.frame)
            if frame.empty and page.complete is None and empties < self.empty_page_retries:
                empties += 1  # an empty page may be a glitch: ask again before judging it
                continue
            empties = 0
            got = decide(want, req, frame, rules, tf, complete=page.complete, source=self.name)
            if got.todo and got.todo[0] == want:
                raise InvalidResponseError(
                    f"{self.name} returned no progress after {req.since}", provider=self.name
                )
            todo[:1] = got.todo
            if got.proven is not None:
                yield Chunk(
                    got.keep, got.proven.start, got.proven.end, self.name, requests, got.unfetched
                )
            else:
                yield self._unproven(got.unfetched[0], requests, got.unfetched[1:])
            requests = 0

    def _unproven(self, gone: Unfetched, requests: int, more: tuple[Unfetched, ...] = ()) -> Chunk:
        """A chunk that proves nothing: ``[start, end]`` is the first range given up."""
        frame = normalize_frame(pd.DataFrame(columns=list(OHLCV_COLUMNS)))
        return Chunk(frame, gone.start, gone.end, self.name, requests, (gone, *more), False)

    def fetch_ohlcv(
        self, symbol: str, timeframe: str | Timeframe, start: Any, end: Any
    ) -> pd.DataFrame:
        """All closed bars in ``[start, end]`` as one frame (see :meth:`iter_chunks`).

        A range reaching back past the provider's history depth raises
        :class:`UnsupportedError` before any request. Other parts no answer could prove are
        listed in ``attrs["unfetched"]`` (with their reasons) and warned about.
        """
        frames: list[pd.DataFrame] = []
        unfetched: list[Unfetched] = []
        for chunk in self.iter_chunks(symbol, timeframe, start, end):
            if not chunk.proven and chunk.requests == 0:  # refused up front: too deep
                reasons = "; ".join(u.reason for u in chunk.unfetched)
                raise UnsupportedError(reasons, provider=self.name)
            frames.append(chunk.frame)
            unfetched.extend(chunk.unfetched)
        if not frames:
            out = normalize_frame(pd.DataFrame(columns=list(OHLCV_COLUMNS)))
        else:
            out = pd.concat(frames)
            out = out[~out.index.duplicated(keep="last")].sort_index()
        if unfetched:
            warnings.warn(
                f"{self.name}: could not fetch " + "; ".join(str(u) for u in unfetched),
                stacklevel=2,
            )
        out.attrs["unfetched"] = unfetched
        return out
