"""REST and cache I/O of the live feeds: closed bars through the DataManager, streamed bars back
into the cache.

:class:`RestSource` fetches the closed bars of one series through
:meth:`DataManager.fetch_missing <tradedata.manager.DataManager.fetch_missing>` (cache first,
coverage-aware, never the still-open candle) and says whether the asked range is now fully
covered. :class:`LiveCacheWriter` appends streamed bars to the cache in batches, with their
coverage, so the next backfill or historical run finds them there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradedata.errors import TemporaryProviderError
from tradedata.feeds.live.model import LiveBar
from tradedata.identity import source_of_provider
from tradedata.model import Timeframe, frame_from_arrays

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["LiveCacheWriter", "RestSource", "bars_from_frame", "frame_from_bars", "runs"]

log = logging.getLogger("tradedata.live")


def _ts(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms", tz="UTC")


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def bars_from_frame(frame: pd.DataFrame, *, live: bool = False) -> list[LiveBar]:
    """The rows of an OHLCV frame as :class:`LiveBar` values (no event time)."""
    if frame.empty:
        return []
    opens = (frame.index.asi8 // 1_000_000).tolist()
    cols = [frame[c].to_numpy(dtype=np.float64).tolist() for c in ("open", "high", "low")]
    cols += [frame[c].to_numpy(dtype=np.float64).tolist() for c in ("close", "volume")]
    return [
        LiveBar(t, o, h, lo, c, v, None, None, live)
        for t, o, h, lo, c, v in zip(opens, *cols, strict=True)
    ]


def frame_from_bars(bars: Sequence[LiveBar]) -> pd.DataFrame:
    """An OHLCV frame (tradedata schema) of ``bars``."""
    return frame_from_arrays(
        [b.open_ms for b in bars],
        [b.open for b in bars],
        [b.high for b in bars],
        [b.low for b in bars],
        [b.close for b in bars],
        [b.volume for b in bars],
    )


def runs(opens: Iterable[int], next_open: Callable[[int], int]) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of consecutive bar opens in sorted ``opens``."""
    out: list[tuple[int, int]] = []
    for t in sorted(set(opens)):
        if out and next_open(out[-1][1]) == t:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out


class RestSource:
    """Closed bars of one series from the exchange ``provider`` through ``manager``.

    The series is the exchange's own (``source`` is its venue id, :mod:`tradedata.identity`):
    its cache reads, coverage and writes never touch another venue's bars of the symbol.
    """

    def __init__(
        self, manager: DataManager, provider: str, symbol: str, timeframe: Timeframe
    ) -> None:
        self.manager = manager
        self.provider = provider
        self.symbol = symbol
        self.timeframe = timeframe

    @property
    def source(self) -> str:
        """The series this exchange fills: its venue (the fetch engine's rule)."""
        return str(self.manager.engine.resolve_source(self.symbol, self.timeframe, self.provider))

    def last_closed_ms(self) -> int:
        """Open time of the newest closed bar by the exchange's clock."""
        prov = self.manager.provider(self.provider)
        return _ms(prov.last_closed_open(self.timeframe))

    def closed_bars(self, start_ms: int, end_ms: int | None) -> tuple[list[LiveBar], bool]:
        """Bars opening in ``[start, end]`` (``end`` None: up to the newest closed bar).

        Missing parts are fetched (and cached) first, through the fetch engine and its page
        contract. Returns the bars and whether the whole range is now covered (False while the
        exchange's clock has not yet passed ``end``). Raises
        :class:`~tradedata.errors.TemporaryProviderError` naming the cause when a part of the
        range could not be fetched or proven (the exchange failed, or its answers leave a range
        unproven), and the manager's own errors.
        """
        tf = self.timeframe
        newest = self.last_closed_ms()
        want = newest if end_ms is None else end_ms
        if want < start_ms:
            return [], True
        reachable = min(want, newest)
        why = ""
        if reachable >= start_ms:
            # the fetch engine pages by the exchange's page contract and records only what an
            # answer proved; what it could not prove comes back in `unfetched` with its reason
            result = self.manager.fetch_missing(
                self.symbol, tf.name, _ts(start_ms), _ts(reachable), provider=self.provider
            )
            if result.unfetched:
                why = "; ".join(result.errors.values()) or result.reasons() or "fetch failed"
        cache = self.manager.cache
        span = (_ts(start_ms), _ts(want))
        holes = cache.missing_ranges(self.symbol, tf.name, *span, source=self.source)
        if holes and why:
            raise TemporaryProviderError(why, provider=self.provider)
        frame = cache.read(self.symbol, tf.name, *span, source=self.source)
        return bars_from_frame(frame), not holes


#: Seconds a due write waits for the rest of a candle close's burst of bars: writing (and
#: validating) holds the interpreter for a while, so it runs in the quiet after a close.
FLUSH_SETTLE = 0.2


class LiveCacheWriter:
    """Buffers streamed bars and writes them to ``manager``'s cache, with coverage.

    ``source`` is the exchange that streamed them: they go to its series of each symbol
    (:func:`tradedata.identity.source_of_provider`), labelled as provided by it.

    A write happens at most every ``interval`` seconds (0: after each bar), ``FLUSH_SETTLE``
    seconds after the bar that made it due, on the thread ``submit`` runs it on; and on
    :meth:`flush`. Coverage is recorded for each run of consecutive bars only, so a hole the
    stream left stays "never fetched".
    """

    def __init__(
        self,
        manager: DataManager,
        source: str,
        interval: float,
        submit: Callable[[Callable[[], None]], None],
    ) -> None:
        self.manager = manager
        self.source = source
        self.interval = interval
        self._submit = submit
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one write at a time: flush() waits for it
        self._buffer: dict[tuple[str, Timeframe], list[LiveBar]] = {}
        self._last = time.monotonic()
        self._scheduled = False
        self._closing = threading.Event()
        self.written = 0

    def add(self, symbol: str, timeframe: Timeframe, bar: LiveBar) -> None:
        """Queue one closed bar for the cache."""
        with self._lock:
            self._buffer.setdefault((symbol, timeframe), []).append(bar)
            due = time.monotonic() - self._last >= self.interval
            schedule = due and not self._scheduled
            self._scheduled = self._scheduled or schedule
        if schedule:
            self._submit(self._settle_and_flush)

    def _settle_and_flush(self) -> None:
        self._closing.wait(FLUSH_SETTLE)
        self.flush()

    def close(self) -> None:
        """Write everything buffered now; a write waiting to settle goes at once."""
        self._closing.set()
        self.flush()

    def flush(self) -> None:
        """Write everything buffered now (after any write in progress)."""
        with self._write_lock:
            with self._lock:
                taken, self._buffer = self._buffer, {}
                self._scheduled = False
                self._last = time.monotonic()
            for (symbol, timeframe), bars in taken.items():
                try:
                    self._write(symbol, timeframe, bars)
                except Exception as exc:  # a cache problem must not stop live trading
                    log.warning("could not cache live %s %s bars: %s", symbol, timeframe, exc)
                time.sleep(0.0005)  # let the live threads in between series

    def _write(self, symbol: str, timeframe: Timeframe, bars: list[LiveBar]) -> None:
        from tradedata.range_quality import quality_summary
        from tradedata.symbols import symbol_info
        from tradedata.validation import validate

        calendar = symbol_info(symbol).calendar
        frame = frame_from_bars(bars)

        def quality(part: pd.DataFrame) -> dict[str, Any]:
            return quality_summary(validate(part, timeframe.name, calendar=calendar))

        cache = self.manager.cache
        step = timeframe.next_open
        spans = runs((b.open_ms for b in bars), lambda ms: _ms(step(_ts(ms))))
        first = (_ts(spans[0][0]), _ts(spans[0][1]))  # recorded in the write's transaction
        series = source_of_provider(self.source, symbol, timeframe.name)
        cache.write(
            symbol, timeframe.name, frame, source=series, provider=self.source,
            quality=quality, coverage=first,
        )  # fmt: skip
        for lo, hi in spans[1:]:
            span = (_ts(lo), _ts(hi))
            cache.add_coverage(symbol, timeframe.name, *span, self.source, source=series)
        self.written += len(bars)
