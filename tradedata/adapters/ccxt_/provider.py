"""``CcxtProvider``: OHLCV from any ccxt exchange, behind the provider contract.

The class-level :attr:`CcxtProvider.capabilities` is what provider selection needs to know
before any exchange is chosen (crypto, the usual timeframes); an instance carries its exchange's
exact capabilities: the timeframes ccxt lists for it, the candles per request and request
weights from :data:`~tradedata.adapters.ccxt_.traits.TRAITS`, and the published rate limit
(Binance's is read live from its exchangeInfo). The base class paginates, clips the still-open
candle by :meth:`CcxtProvider.now` (the exchange's clock) and runs every request through the
shared token bucket, retries and circuit breaker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import ccxt
import pandas as pd

from tradedata.adapters.base import Capabilities, Chunk, Page, Provider, ProviderSettings
from tradedata.adapters.ccxt_.client import (
    ClientPool,
    check_options,
    derivative_types,
    has_derivatives,
)
from tradedata.adapters.ccxt_.clock import DEFAULT_MAX_SKEW, ServerClock
from tradedata.adapters.ccxt_.klines import RAW_KLINES, KlineRequest
from tradedata.adapters.ccxt_.open_interest import (
    OI_TRAITS,
    OpenInterestAnswer,
    Window,
    parse_records,
    period_for,
    plan_windows,
)
from tradedata.adapters.ccxt_.pacing import (
    LIMIT_PARSERS,
    capabilities_from,
    fixed_window_rate,
    heaviest,
)
from tradedata.adapters.ccxt_.traits import paging_rules_for, traits_for
from tradedata.adapters.paging import PagingRules
from tradedata.errors import (
    ConfigurationError,
    DataValidationError,
    InvalidResponseError,
    OpenInterestUnavailableError,
    ProviderError,
)
from tradedata.model import STANDARD_TIMEFRAMES, Timeframe, frame_from_rows, parse_timeframe
from tradedata.symbols import AssetClass

__all__ = ["CcxtProvider"]

#: What selection sees before an exchange is chosen: crypto at the usual timeframes.
GENERIC_CAPABILITIES = Capabilities(
    timeframes=tuple(t for t in STANDARD_TIMEFRAMES if t != "1s"),
    max_candles=500,
    asset_classes=frozenset({AssetClass.CRYPTO}),
    rate_limit=fixed_window_rate(1200, 60.0),
)


#: How far inside an open-interest endpoint's history depth the oldest record asked lies.
_DEPTH_MARGIN = pd.Timedelta(minutes=5)


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


class CcxtProvider(Provider):
    """OHLCV bars from the ccxt exchange ``exchange_id`` (``binance``, ``bybit``, ``kraken`` ...).

    ``settings.url``/``ws_url`` redirect the exchange (e.g. to the simulator), ``sandbox`` turns
    on ccxt's sandbox mode, ``api_key``/``secret`` are handed to ccxt only. ``settings.options``
    may hold ``market_types`` (default ``["spot"]``; a contract such as ``BTC/USDT:USDT`` then
    loads the exchange's derivatives markets on first use), ``max_candles``, ``rate_limit`` with
    ``rate_period`` (weight per seconds to pace by, overriding the published limit),
    ``time_ttl`` (seconds a server-time reading is trusted), ``max_clock_skew`` (seconds the
    exchange's clock may lead ours and still close a candle, default 5; null trusts the
    exchange alone, e.g. for an accelerated simulator) and ``ccxt`` (extra ccxt config).
    """

    name: ClassVar[str] = "ccxt"
    capabilities: ClassVar[Capabilities] = GENERIC_CAPABILITIES
    #: empty pages re-asked before an empty answer is believed (an injected or glitched empty
    #: page must not end a fetch early)
    empty_page_retries: ClassVar[int] = 10

    def __init__(self, exchange_id: str, settings: ProviderSettings | None = None) -> None:
        if exchange_id not in ccxt.exchanges:
            raise ConfigurationError(f"{exchange_id!r} is not a ccxt exchange id")
        settings = settings or ProviderSettings()
        self.exchange_id = exchange_id
        self._options = check_options(exchange_id, settings.options)
        self._learned: tuple[float, float] | None = None
        self._pool = ClientPool(exchange_id, settings, self._options, on_body=self._on_body)
        self.traits = traits_for(exchange_id, self._pool.prototype)
        # Per-instance view over the class-level (selection) attributes.
        self.__dict__["name"] = exchange_id
        self.__dict__["capabilities"] = capabilities_from(
            self.traits, self._pool.prototype, self._options
        )
        super().__init__(settings)
        ttl = float(self._options.get("time_ttl", 10.0))
        skew = self._options.get("max_clock_skew", DEFAULT_MAX_SKEW)
        self._clock = ServerClock(
            self._server_ms,
            ttl=ttl,
            max_skew=None if skew is None else float(skew),
            name=exchange_id,
        )
        self._has_time = bool(self._pool.prototype.has.get("fetchTime"))
        self._markets_lock = threading.Lock()
        self._raw_klines = RAW_KLINES.get(self.traits.raw_klines or "")
        self._derivatives: ClientPool | None = None

    @classmethod
    def capabilities_for(
        cls, exchange_id: str, settings: ProviderSettings | None = None
    ) -> Capabilities:
        """The exact capabilities of ``exchange_id`` without any network request."""
        settings = settings or ProviderSettings()
        options = check_options(exchange_id, settings.options)
        pool = ClientPool(exchange_id, settings, options)
        return capabilities_from(traits_for(exchange_id, pool.prototype), pool.prototype, options)

    # -- rate limits learned from the exchange ----------------------------------------------
    def _on_body(self, url: str, body: str) -> None:
        parser = LIMIT_PARSERS.get(self.traits.learn_limits or "")
        if parser is None or "rate_limit" in self._options:
            return
        suffix, parse = parser
        if url.split("?", 1)[0].endswith(suffix):
            learned = parse(body)
            if learned is not None and learned != self._learned:
                self._learned = learned
                rate = fixed_window_rate(*learned, heaviest(self.traits))
                caps = replace(self.capabilities, rate_limit=rate)
                self.__dict__["capabilities"] = caps

    def ccxt_client(self) -> Any:
        """This thread's ccxt client, configured as the provider's (markets shared once loaded).

        Calls made on it bypass the shared rate limit, retries and error translation.
        """
        return self._pool.client()

    # -- markets ---------------------------------------------------------------------------
    def load_markets(self) -> Mapping[str, Any]:
        """The exchange's markets (loaded once, through the rate limit and retries)."""
        if not self._pool.markets_loaded:
            with self._markets_lock:
                if not self._pool.markets_loaded:
                    self.call(self._pool.load_markets, weight=self.traits.markets_weight)
        return self._pool.load_markets()

    def _pool_for(self, symbol: str) -> ClientPool:
        """The client pool whose markets hold ``symbol``: the configured one, or for a contract
        (``BTC/USDT:USDT``) when only spot markets are configured, a second pool loading the
        exchange's derivatives markets (built once, on first use)."""
        if ":" not in symbol or has_derivatives(self._options["market_types"]):
            return self._pool
        with self._markets_lock:
            if self._derivatives is None:
                options = dict(self._options, market_types=derivative_types(self.exchange_id))
                self._derivatives = ClientPool(self.exchange_id, self.settings, options)
            return self._derivatives

    def _markets_for(self, symbol: str) -> ClientPool:
        """:meth:`_pool_for` with its markets loaded (through the rate limit and retries)."""
        pool = self._pool_for(symbol)
        if pool is self._pool:
            self.load_markets()
        elif not pool.markets_loaded:
            with self._markets_lock:
                if not pool.markets_loaded:
                    self.call(pool.load_markets, weight=self.traits.markets_weight)
        return pool

    def spot_symbols(self, quote: str | None = None, active_only: bool = True) -> list[str]:
        """Unified symbols of the spot markets (only those quoted in ``quote`` when given)."""
        out = []
        for symbol, market in self.load_markets().items():
            if not market.get("spot"):
                continue
            if active_only and market.get("active") is False:
                continue
            if quote is not None and str(market.get("quote", "")).upper() != quote.upper():
                continue
            out.append(symbol)
        return sorted(out)

    # -- clock -----------------------------------------------------------------------------
    def _server_ms(self) -> int:
        weight = self.traits.time_weight
        result = self.call(lambda: self._pool.run(lambda c: c.fetch_time()), weight=weight)
        if not isinstance(result, (int, float)) or result <= 0:
            raise InvalidResponseError(
                f"{self.name} sent no usable server time", provider=self.name
            )
        return int(result)

    def now(self) -> pd.Timestamp:
        """When candles count as closed: the exchange's clock (``fetch_time`` sampled every
        ``time_ttl`` seconds), never more than ``max_clock_skew`` seconds ahead of ours."""
        if not self._has_time:
            return super().now()
        return self._clock.now()

    # -- pages -----------------------------------------------------------------------------
    def paging_rules(self, timeframe: Timeframe) -> PagingRules:
        """How this exchange pages ``timeframe`` bars: its row in
        :data:`~tradedata.adapters.ccxt_.traits.TRAITS` (see
        :func:`~tradedata.adapters.ccxt_.traits.paging_rules_for`), or the conservative default
        for an exchange without one: ``since`` + ``limit`` only, every page verified, a short
        page never taken as the end.
        """
        rules = paging_rules_for(
            self.exchange_id, self.traits, timeframe, self.capabilities.max_candles
        )
        if rules.history_bars is None:  # a depth given as capabilities.history_days
            bars, reason = self.history_depth(timeframe)
            if bars is not None:
                rules = replace(rules, history_bars=bars, history_reason=reason)
        return rules

    def iter_chunks(
        self, symbol: str, timeframe: str | Timeframe, start: Any, end: Any
    ) -> Iterator[Chunk]:
        """See :meth:`Provider.iter_chunks`; loads the markets first (a contract's
        derivatives markets, see :meth:`_pool_for`)."""
        self._markets_for(symbol)
        yield from super().iter_chunks(symbol, timeframe, start, end)

    def fetch_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> Page:
        """Up to ``limit`` bars opening in ``[since, until]``, oldest first, via ccxt.

        ``until`` is sent (as ccxt's ``until``) only where :meth:`paging_rules` says the
        exchange takes a window end.

        Spot pages of exchanges with a raw reader (:mod:`~tradedata.adapters.ccxt_.klines`)
        come through ccxt's implicit API once the markets are loaded; everything else through
        ccxt's ``fetch_ohlcv`` (which loads the markets itself when they are not).
        """
        pool = self._pool_for(symbol)
        if self._raw_klines is not None and pool is self._pool and pool.markets_loaded:
            req = KlineRequest(
                symbol,
                timeframe.name,
                _ms(since),
                _ms(until) if self.paging_rules(timeframe).sends_end else None,
                limit,
            )
            reader = self._raw_klines
            frame = self._pool.run(lambda c: reader(c, req))
            if frame is not None:
                return Page(frame)
        return Page(self._unified_page(symbol, timeframe, since, until, limit))

    def _unified_page(
        self,
        symbol: str,
        timeframe: Timeframe,
        since: pd.Timestamp,
        until: pd.Timestamp,
        limit: int,
    ) -> pd.DataFrame:
        params = {"until": _ms(until)} if self.paging_rules(timeframe).sends_end else {}
        rows = self._pool_for(symbol).run(
            lambda c: c.fetch_ohlcv(
                symbol, timeframe.name, since=_ms(since), limit=limit, params=params
            )
        )
        if not isinstance(rows, list):
            raise InvalidResponseError(
                f"{self.name} sent {type(rows).__name__} instead of candles", provider=self.name
            )
        try:
            return frame_from_rows(rows)
        except DataValidationError as exc:
            raise InvalidResponseError(
                f"{self.name} sent bad candles: {exc}", provider=self.name
            ) from exc

    # -- open interest ---------------------------------------------------------------------
    def open_interest_period(self, symbol: str, timeframe: Timeframe) -> str:
        """The period of the exchange's open-interest history read for ``timeframe`` bars
        (see :func:`~tradedata.adapters.ccxt_.open_interest.period_for`); raises
        :class:`OpenInterestUnavailableError` where there is none (no network request)."""
        if ":" not in symbol:
            raise OpenInterestUnavailableError(
                f"{symbol} is a spot market: only contracts have open interest "
                f"(e.g. {symbol}:{symbol.rpartition('/')[2] or 'USDT'})"
            )
        if not self._pool.prototype.has.get("fetchOpenInterestHistory"):
            raise OpenInterestUnavailableError(
                f"ccxt reads no open-interest history from {self.exchange_id}"
            )
        return period_for(self.exchange_id, timeframe)[0]

    def fetch_open_interest(
        self, symbol: str, timeframe: Timeframe, opens: Sequence[pd.Timestamp]
    ) -> OpenInterestAnswer:
        """The exchange's open interest at the bar ``opens`` (ascending, closed bars).

        Opens older than the endpoint's history depth are not asked for; each request window
        holds at most the endpoint's records per request (:func:`plan_windows`). Every open is
        either in ``values`` (the record stamped exactly at it) or in ``missing`` with the
        reason: out of the venue's depth, no record in the answer, or the request's error.
        """
        period = parse_timeframe(self.open_interest_period(symbol, timeframe))
        traits = OI_TRAITS[self.exchange_id]
        answer = OpenInterestAnswer()
        asked = list(opens)
        if traits.history_days is not None and asked:
            # a little inside the depth: the exchange's clock decides, and it moves on
            oldest = self.now() - pd.Timedelta(days=traits.history_days) + _DEPTH_MARGIN
            why = f"{self.name} serves open interest for the last {traits.history_days} days only"
            answer.missing += [(t, why) for t in asked if t < oldest]
            asked = [t for t in asked if t >= oldest]
        if not asked:
            return answer
        pool = self._markets_for(symbol)
        market = pool.run(lambda c: c.market(symbol), expect_json=False)  # BadSymbol: ours
        if not market.get("contract"):
            raise OpenInterestUnavailableError(f"{symbol} on {self.name} is not a contract")
        for window in plan_windows(asked, period, traits.max_records):
            answer.requests += 1
            try:
                got = self._open_interest_page(pool, symbol, period.name, window)
            except ProviderError as exc:
                answer.missing += [(t, f"{self.name}: {exc}") for t in window.opens]
                continue
            found = got.reindex(pd.DatetimeIndex(window.opens, name="timestamp"))
            answer.values.append(found.dropna())
            why = f"{self.name} sent no open-interest record for these bars"
            answer.missing += [(t, why) for t, v in found.items() if pd.isna(v)]
        return answer

    def _open_interest_page(
        self, pool: ClientPool, symbol: str, period: str, window: Window
    ) -> pd.Series:
        """One ``fetch_open_interest_history`` request for ``window``, through the shared rate
        limit, retries and circuit breaker."""
        limit = OI_TRAITS[self.exchange_id].max_records

        def request(client: Any) -> Any:
            params = {"until": window.until}
            return client.fetch_open_interest_history(
                symbol, period, since=window.since, limit=limit, params=params
            )

        records = self.call(lambda: pool.run(request), weight=self.traits.page_weight)
        return parse_records(records, self.name, OI_TRAITS[self.exchange_id])

    def close(self) -> None:
        """Close the HTTP sessions of this provider's ccxt clients."""
        self._pool.close()
        if self._derivatives is not None:
            self._derivatives.close()
