"""What one simulated market (exchange, symbol) has traded: candles for any timeframe and time.

Two kinds share one selection logic (:meth:`Market.klines`, :meth:`Market.canonical`):
:class:`SyntheticMarket` computes bars on demand from :class:`SyntheticSeries` (with a cache of
daily aggregates for day-and-longer timeframes), :class:`ReplayMarket` serves a given frame and
its exact aggregates. Bars never open after "now"; the bar containing "now" is returned as seen so
far (its values up to now), as a real exchange does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import pandas as pd

import tradedata.sim.timeframes as tfs
from tradedata.errors import DataValidationError, InvalidSymbolError, InvalidTimeframeError
from tradedata.sim.bars import Bars, aggregate, concat, from_frame, partial
from tradedata.sim.synthetic import SyntheticSeries

_CHUNK_DAYS = 32
_MAX_MINUTES_PER_CALL = 64 * 1440


class Market(ABC):
    """One symbol on one simulated exchange."""

    def __init__(self, exchange: str, symbol: str, decimals: int | None) -> None:
        base, _, quote = symbol.partition("/")
        if not base or not quote:
            raise InvalidSymbolError(f"symbol must look like 'BASE/QUOTE', got {symbol!r}")
        self.exchange = exchange
        self.symbol = symbol
        self.base = base
        self.quote = quote
        self.market_id = base + quote
        self.decimals = decimals

    @property
    @abstractmethod
    def first_open_ms(self) -> int:
        """Open time of the earliest bar (at the finest timeframe served)."""

    @abstractmethod
    def serves(self, timeframe: str) -> bool:
        """True if bars of ``timeframe`` can be produced."""

    @abstractmethod
    def _select(
        self, timeframe: str, lo: int, hi: int, limit: int | None, from_start: bool
    ) -> np.ndarray:
        """Open times in [lo, hi] (lo, hi aligned opens): the first or last ``limit`` of them."""

    @abstractmethod
    def _final(self, timeframe: str, opens: np.ndarray) -> Bars:
        """The completed bars opening at ``opens`` (consecutive existing bars)."""

    @abstractmethod
    def _partial(self, timeframe: str, open_ms: int, now_ms: int) -> Bars:
        """The bar opening at ``open_ms`` as seen at ``now_ms`` (before its close)."""

    def klines(
        self,
        timeframe: str,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        now_ms: int,
        from_start: bool | None = None,
    ) -> Bars:
        """Up to ``limit`` bars, oldest first, opening in [start, end] and not after now.

        An over-full window keeps its first ``limit`` bars when ``from_start`` (default: when a
        start is given), otherwise its last ``limit`` bars up to ``end``/now. The last row may
        be the still-open bar (see :meth:`is_closed`).
        """
        if from_start is None:
            from_start = start_ms is not None
        if not self.serves(timeframe):
            return Bars.empty()
        first = tfs.floor_open(self.first_open_ms, timeframe)
        lo = first if start_ms is None else max(first, tfs.ceil_open(start_ms, timeframe))
        hi = tfs.floor_open(now_ms if end_ms is None else min(end_ms, now_ms), timeframe)
        if tfs.shift(hi, 1, timeframe) > now_ms and not self._has_begun(timeframe, hi, now_ms):
            hi = tfs.shift(hi, -1, timeframe)  # the open bar has not traded yet: no row
        if hi < lo or limit <= 0:
            return Bars.empty()
        opens = self._select(timeframe, lo, hi, limit, from_start)
        return self._materialise(timeframe, opens, now_ms)

    def _has_begun(self, timeframe: str, open_ms: int, now_ms: int) -> bool:
        """False if the still-open bar at ``open_ms`` has no minute to show yet."""
        return True

    def is_closed(self, timeframe: str, open_ms: np.ndarray, now_ms: int) -> np.ndarray:
        """Boolean mask: which bars (by open time) have closed by ``now_ms``."""
        return tfs.close_times(open_ms, timeframe) < now_ms

    def canonical(self, timeframe: str, start_ms: int, end_ms: int, now_ms: int) -> Bars:
        """All closed bars opening in [start_ms, end_ms), oldest first."""
        if not self.serves(timeframe):
            raise InvalidTimeframeError(
                f"{self.exchange} {self.symbol} cannot serve {timeframe} bars"
            )
        first = tfs.floor_open(self.first_open_ms, timeframe)
        lo = max(first, tfs.ceil_open(start_ms, timeframe))
        last_closed = tfs.shift(tfs.floor_open(now_ms, timeframe), -1, timeframe)
        hi = min(last_closed, tfs.floor_open(end_ms - 1, timeframe))
        if hi < lo:
            return Bars.empty()
        return self._final(timeframe, self._select(timeframe, lo, hi, None, True))

    def _materialise(self, timeframe: str, opens: np.ndarray, now_ms: int) -> Bars:
        if not len(opens):
            return Bars.empty()
        last = int(opens[-1])
        if tfs.shift(last, 1, timeframe) <= now_ms:
            return self._final(timeframe, opens)
        return concat([self._final(timeframe, opens[:-1]), self._partial(timeframe, last, now_ms)])


class SyntheticMarket(Market):
    """A market whose 1m bars come from :class:`SyntheticSeries`, from ``listing_ms`` on.

    ``zero_trade_rate`` is the share of minutes in which nothing trades (flat candles with
    volume 0, see :class:`SyntheticSeries`); ``outages`` are ``[start_ms, end_ms)`` windows in
    which the exchange made no candles at all (trading suspended): "when trading is suspended,
    the kline will not be generated until the trading is resumed" (binance/binance-public-data
    issue #169); ccxt issue #8068 shows a whole hour of 1m bars absent from Binance's REST
    answer (2020-11-30 06:00-07:00). A coarser bar that overlaps an outage holds the minutes
    that traded; one wholly inside it does not exist.
    """

    def __init__(
        self,
        exchange: str,
        symbol: str,
        seed: int,
        listing_ms: int,
        zero_trade_rate: float = 0.0,
        outages: Sequence[tuple[int, int]] = (),
    ) -> None:
        self.series = SyntheticSeries(seed, exchange, symbol, zero_trade_rate)
        super().__init__(exchange, symbol, self.series.decimals)
        self._first_minute = -(-listing_ms // tfs.MINUTE_MS)
        self._day_chunks: dict[int, Bars] = {}
        self.outages: tuple[tuple[int, int], ...] = ()
        self.set_outages(outages)

    def set_outages(self, outages: Sequence[tuple[int, int]]) -> None:
        """Replace the outage windows (``[start_ms, end_ms)``, minute-aligned outwards)."""
        spans = sorted(
            (tfs.floor_open(int(a), "1m"), tfs.ceil_open(int(b), "1m")) for a, b in outages
        )
        merged: list[tuple[int, int]] = []
        for a, b in spans:
            if b <= a:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        self.outages = tuple(merged)
        self._day_chunks = {}

    @property
    def first_open_ms(self) -> int:
        return self._first_minute * tfs.MINUTE_MS

    def serves(self, timeframe: str) -> bool:
        return timeframe in tfs.TIMEFRAMES

    def _runs(self, timeframe: str, lo: int, hi: int) -> list[tuple[int, int]]:
        """Runs ``(first, last)`` of the bar opens in [lo, hi] that are not wholly in an outage."""
        runs = [(lo, hi)]
        for a, b in self.outages:
            first_gone = tfs.ceil_open(a, timeframe)
            last_gone = tfs.shift(tfs.floor_open(b, timeframe), -1, timeframe)
            if last_gone < first_gone:
                continue  # no bar lies wholly inside this outage
            out = []
            for r0, r1 in runs:
                if last_gone < r0 or first_gone > r1:
                    out.append((r0, r1))
                    continue
                if first_gone > r0:
                    out.append((r0, tfs.shift(first_gone, -1, timeframe)))
                if last_gone < r1:
                    out.append((tfs.shift(last_gone, 1, timeframe), r1))
            runs = out
        return runs

    def _select(
        self, timeframe: str, lo: int, hi: int, limit: int | None, from_start: bool
    ) -> np.ndarray:
        runs = self._runs(timeframe, lo, hi)
        if not from_start:
            runs = runs[::-1]
        parts: list[np.ndarray] = []
        left = limit
        for r0, r1 in runs:
            count = tfs.bars_between(r0, r1, timeframe)
            if left is not None and count > left:
                if not from_start:
                    r0 = tfs.shift(r1, 1 - left, timeframe)
                count = left
            parts.append(tfs.opens(r0, count, timeframe))
            if left is not None:
                left -= count
                if left <= 0:
                    break
        if not parts:
            return np.empty(0, dtype="int64")
        if not from_start:
            parts = parts[::-1]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def minutes(self, start_ms: int, end_ms: int) -> Bars:
        """Closed 1m bars opening in [start_ms, end_ms), clipped to the listing, none in outages."""
        first = max(self._first_minute, -(-start_ms // tfs.MINUTE_MS))
        stop = -(-end_ms // tfs.MINUTE_MS)
        parts = []
        for m in range(first, stop, _MAX_MINUTES_PER_CALL):
            parts.append(self.series.minutes(m, min(_MAX_MINUTES_PER_CALL, stop - m)))
        bars = concat(parts)
        if self.outages and len(bars):
            keep = np.ones(len(bars), dtype=bool)
            for a, b in self.outages:
                keep &= (bars.open_time < a) | (bars.open_time >= b)
            bars = bars.take(keep)
        return bars

    def _has_begun(self, timeframe: str, open_ms: int, now_ms: int) -> bool:
        minute = tfs.floor_open(now_ms, "1m")
        return not any(a <= open_ms and minute < b for a, b in self.outages)

    def in_outage(self, ms: int) -> bool:
        """True if ``ms`` falls inside an outage window."""
        return any(a <= ms < b for a, b in self.outages)

    def _days(self, start_ms: int, end_ms: int) -> Bars:
        """Daily aggregates for days opening in [start_ms, end_ms) (both day-aligned)."""
        day0, day1 = start_ms // tfs.DAY_MS, end_ms // tfs.DAY_MS
        parts = []
        for chunk in range(day0 // _CHUNK_DAYS, -(-day1 // _CHUNK_DAYS)):
            bars = self._day_chunks.get(chunk)
            if bars is None:
                lo = chunk * _CHUNK_DAYS * tfs.DAY_MS
                bars = aggregate(self.minutes(lo, lo + _CHUNK_DAYS * tfs.DAY_MS), "1d")
                self._day_chunks[chunk] = bars
            parts.append(bars)
        days = concat(parts)
        keep = (days.open_time >= start_ms) & (days.open_time < end_ms)
        return days.take(keep)

    def _span(self, timeframe: str, start_ms: int, end_ms: int) -> Bars:
        """Closed bars at ``timeframe`` covering [start_ms, end_ms) (both bar-aligned)."""
        if tfs.nominal_ms(timeframe) < tfs.DAY_MS:
            return aggregate(self.minutes(start_ms, end_ms), timeframe)
        return aggregate(self._days(start_ms, end_ms), timeframe)

    def _final(self, timeframe: str, opens: np.ndarray) -> Bars:
        if not len(opens):
            return Bars.empty()
        return self._span(timeframe, int(opens[0]), tfs.shift(int(opens[-1]), 1, timeframe))

    def _partial(self, timeframe: str, open_ms: int, now_ms: int) -> Bars:
        minute = tfs.floor_open(now_ms, "1m")
        day = max(open_ms, tfs.floor_open(minute, "1d"))
        parts = [self._span("1d", open_ms, day)] if day > open_ms else []
        parts.append(self.minutes(day, minute))
        if minute >= self.first_open_ms and not self.in_outage(minute):
            current = self.series.minutes(minute // tfs.MINUTE_MS, 1)
            fraction = (now_ms - minute) / tfs.MINUTE_MS
            parts.append(partial(current, fraction, self.decimals))
        return aggregate(concat(parts), timeframe)


class ReplayMarket(Market):
    """A market that serves a given frame (at ``base`` timeframe) and its coarser aggregates."""

    def __init__(self, exchange: str, symbol: str, frame: pd.DataFrame, base: str) -> None:
        self.base_timeframe = tfs.check_timeframe(base)
        self.bars = from_frame(frame)
        if not len(self.bars):
            raise DataValidationError("cannot replay an empty frame")
        aligned = tfs.floor_open(self.bars.open_time, base)
        if np.any(aligned != self.bars.open_time):
            raise DataValidationError(f"frame index is not aligned to {base} bar opens")
        super().__init__(exchange, symbol, _decimals_of(self.bars.close[:1000]))
        self._by_tf: dict[str, Bars] = {base: self.bars}

    @property
    def first_open_ms(self) -> int:
        return int(self.bars.open_time[0])

    def serves(self, timeframe: str) -> bool:
        return timeframe in tfs.TIMEFRAMES and tfs.divides(self.base_timeframe, timeframe)

    def _all(self, timeframe: str) -> Bars:
        bars = self._by_tf.get(timeframe)
        if bars is None:
            bars = aggregate(self.bars, timeframe)
            self._by_tf[timeframe] = bars
        return bars

    def _select(
        self, timeframe: str, lo: int, hi: int, limit: int | None, from_start: bool
    ) -> np.ndarray:
        times = self._all(timeframe).open_time
        a, b = np.searchsorted(times, lo, "left"), np.searchsorted(times, hi, "right")
        if limit is not None and b - a > limit:
            a, b = (a, a + limit) if from_start else (b - limit, b)
        return times[a:b]

    def _final(self, timeframe: str, opens: np.ndarray) -> Bars:
        bars = self._all(timeframe)
        if not len(opens):
            return Bars.empty()
        a = int(np.searchsorted(bars.open_time, opens[0]))
        return bars.take(slice(a, a + len(opens)))

    def _partial(self, timeframe: str, open_ms: int, now_ms: int) -> Bars:
        times = self.bars.open_time
        a, b = np.searchsorted(times, open_ms, "left"), np.searchsorted(times, now_ms, "right")
        rows = self.bars.take(slice(a, b))
        if not len(rows):
            return Bars.empty()
        last_open = int(rows.open_time[-1])
        base_ms = tfs.shift(last_open, 1, self.base_timeframe) - last_open
        fraction = (now_ms - last_open) / base_ms
        tail = partial(rows.take(slice(len(rows) - 1, None)), fraction, self.decimals)
        return aggregate(concat([rows.take(slice(0, len(rows) - 1)), tail]), timeframe)


def _decimals_of(prices: np.ndarray) -> int:
    """The fewest decimals (up to 8) that print every given price exactly."""
    for d in range(9):
        if all(float(f"{p:.{d}f}") == p for p in prices.tolist()):
            return d
    return 8
