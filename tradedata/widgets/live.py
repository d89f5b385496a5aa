"""Connecting a live source of closed candles to a chart.

A source is one of:

* a queue (anything with ``get(timeout=...)``, e.g. :class:`queue.Queue`): drained in a
  background thread, in batches; putting ``None`` ends the stream;
* an iterable of bars (a generator, a list): iterated in a background thread;
* a subscribe function: called once with the chart's ``on_bar(ts, o, h, l, c, v)`` callback;
  if it returns a callable, :meth:`LiveLink.stop` calls it to unsubscribe;
* a :class:`~tradedata.feeds.live.plain.LiveFeed` (``dm.get_live_feed(...)``), or anything with
  its ``subscribe(on_bar=..., on_history=...)`` method: the bars it delivered so far are drawn
  in one batch, then each closed bar as it comes.

A bar is ``(ts, open, high, low, close, volume)`` (ccxt's ``[ms, o, h, l, c, v]`` fits), a
mapping with those keys (``timestamp``/``ts``/``time`` for the time), or an object with those
attributes. Times are anything :func:`tradedata.model.to_utc` accepts.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from tradedata.errors import InputError, TradeDataError
from tradedata.model import to_utc

__all__ = ["Bar", "LiveLink", "bar_tuple"]

log = logging.getLogger("tradedata.widgets")

#: ``(open time, open, high, low, close, volume)`` of one closed candle.
Bar = tuple[pd.Timestamp, float, float, float, float, float]
Sink = Callable[[list[Bar]], Any]

_TIME_KEYS = ("timestamp", "ts", "time", "datetime", "open_time")
_PRICE_KEYS = ("open", "high", "low", "close")
#: Most bars taken from a queue before one redraw.
BATCH = 10_000


def _field(item: Any, key: str) -> Any:
    if isinstance(item, Mapping):
        return item[key]
    return getattr(item, key)


def _time_of(item: Any) -> Any:
    for key in _TIME_KEYS:
        if isinstance(item, Mapping) and key in item:
            return item[key]
        if not isinstance(item, Mapping) and hasattr(item, key):
            return getattr(item, key)
    raise KeyError("timestamp")


def bar_tuple(item: Any) -> Bar:
    """Read one closed candle from a tuple, mapping or object (see the module docstring)."""
    try:
        if isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
            if len(item) < 5:
                raise InputError(f"a bar needs (ts, open, high, low, close[, volume]): {item!r}")
            ts, o, h, low, c = item[:5]
            v = item[5] if len(item) > 5 and item[5] is not None else 0.0
        else:
            ts = _time_of(item)
            o, h, low, c = (_field(item, k) for k in _PRICE_KEYS)
            try:
                v = _field(item, "volume")
            except (KeyError, AttributeError):
                v = 0.0
        return (to_utc(ts), float(o), float(h), float(low), float(c), float(v or 0.0))
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read a bar from {item!r}: {exc}") from exc


class LiveLink:
    """A running connection from a live source to a chart; :meth:`stop` detaches it."""

    def __init__(self, source: Any, sink: Sink, *, poll: float = 0.1) -> None:
        self.source = source
        self.bars = 0
        self.errors: list[str] = []
        self._sink = sink
        self._poll = poll
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], Any] | None = None
        self._start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveLink {state} bars={self.bars}>"

    @property
    def running(self) -> bool:
        """True while bars are still being taken from the source."""
        if self._thread is not None:
            return self._thread.is_alive()
        return not self._stop.is_set()

    def _start(self) -> None:
        src = self.source
        if callable(getattr(src, "subscribe", None)) and not callable(src):
            self._unsubscribe = src.subscribe(
                on_bar=lambda bar: self._deliver([bar]), on_history=self._deliver
            )
            return
        if hasattr(src, "get") and callable(src.get) and not isinstance(src, Mapping):
            target: Callable[[], None] = self._drain_queue
        elif isinstance(src, Iterable) and not isinstance(src, (str, bytes, Mapping)):
            target = self._drain_iterable
        elif callable(src):
            result = src(self.on_bar)
            self._unsubscribe = result if callable(result) else None
            return
        else:
            raise InputError(
                f"a live source must be a queue, an iterable of bars or a subscribe function, "
                f"not {type(src).__name__}"
            )
        self._thread = threading.Thread(target=target, name="tradedata-live", daemon=True)
        self._thread.start()

    def on_bar(
        self, ts: Any, open: float, high: float, low: float, close: float, volume: float = 0.0
    ) -> None:
        """Deliver one closed candle (the callback handed to subscribe functions)."""
        if not self._stop.is_set():
            self._deliver([(ts, open, high, low, close, volume)])

    def _deliver(self, items: list[Any]) -> None:
        bars: list[Bar] = []
        for item in items:
            try:
                bars.append(bar_tuple(item))
            except InputError as exc:
                self._note(str(exc))
        if not bars:
            return
        try:
            self._sink(bars)
        except TradeDataError as exc:
            self._note(str(exc))
            return
        with self._lock:
            self.bars += len(bars)

    def _note(self, message: str) -> None:
        log.warning("live bar skipped: %s", message)
        with self._lock:
            self.errors.append(message)

    def _drain_queue(self) -> None:
        src = self.source
        while not self._stop.is_set():
            try:
                first = src.get(timeout=self._poll)
            except queue.Empty:
                continue
            batch = [first]
            while first is not None and len(batch) < BATCH:
                try:
                    batch.append(src.get_nowait())
                except (queue.Empty, AttributeError):
                    break
                if batch[-1] is None:
                    break
            ended = batch[-1] is None
            self._deliver([b for b in batch if b is not None])
            if ended:
                return

    def _drain_iterable(self) -> None:
        for item in self.source:
            if self._stop.is_set():
                return
            self._deliver([item])

    def stop(self, timeout: float = 2.0) -> None:
        """Stop taking bars (unsubscribes, or ends the thread once its wait returns)."""
        self._stop.set()
        if self._unsubscribe is not None:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            unsubscribe()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait until a queue or iterable source is exhausted (or ``timeout`` passes)."""
        if self._thread is not None:
            self._thread.join(timeout)
