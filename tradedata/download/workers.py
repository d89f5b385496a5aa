"""The workers of a download: every series fetched concurrently, each into its report row.

:func:`execute` runs one worker per :class:`~tradedata.download.report.SeriesResult` of the
plan in a thread pool. A worker asks :meth:`~tradedata.manager.DataManager.fetch_missing` for
its series (pinned against eviction while it runs), then its open interest when asked, then
scores what is stored; it fills its row in place. All workers share the exchange's provider and
so its token bucket: concurrency buys overlap of network waits, never more than the exchange's
published rate limit. Ctrl-C (or any error in the main thread) stops every worker after its
current page; an overall deadline (:class:`DeadlineWatch`) stops them all and notes what each
left unfetched. :class:`Progress` is the one progress bar over every series.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.adapters.paging import Unfetched
from tradedata.deadline import Deadline, deadline_scope
from tradedata.download.plan import count_bars
from tradedata.download.report import DownloadReport, SeriesResult
from tradedata.errors import DeadlineExceededError, TradeDataError
from tradedata.model import parse_timeframe

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk
    from tradedata.manager import DataManager

__all__ = ["DeadlineWatch", "Progress", "execute"]


class _Stopped(Exception):
    """Raised inside a worker's chunk callback once the run is being interrupted."""


class Progress:
    """One tqdm bar over all series, counting the planned bars covered so far."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self._lock = threading.Lock()
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, desc=label, unit="bar", unit_scale=True, file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1, mininterval=0.25,
            )  # fmt: skip

    def advance(self, bars: int) -> None:
        """Count ``bars`` more planned bars as covered."""
        if self._bar is not None and bars > 0:
            with self._lock:
                self._bar.update(bars)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()


def _score(manager: DataManager, res: SeriesResult, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Fill the stored-bars figures and quality score of ``res`` (one series in memory),
    judged as a read judges it: an as-traded equity split-adjusted with its stored actions."""
    source = res.source or None
    frame = manager.cache.read(res.symbol, res.timeframe, start, end, source=source)
    res.stored = len(frame)
    if len(frame):
        res.first, res.last = frame.index[0], frame.index[-1]
        tf = parse_timeframe(res.timeframe)
        res.score = manager.judge.validate(frame, res.symbol, tf, source).score


@dataclass
class DeadlineWatch:
    """A download's overall deadline, shared by its workers, and the ranges it left."""

    limit: Deadline
    unfetched: list[Unfetched] = field(default_factory=list)

    def stopped(self, res: SeriesResult, exc: DeadlineExceededError) -> None:
        """Note the ranges of ``res`` that ``exc`` left unfetched (each reason names it)."""
        for u in exc.unfetched:
            reason = getattr(u, "reason", "") or str(exc)
            self.unfetched.append(Unfetched(u[0], u[1], f"{res.symbol} {res.timeframe}: {reason}"))

    def error(self, report: DownloadReport) -> DeadlineExceededError:
        """The error for the download, with its ``report``."""
        stopped = sum(1 for p in report.series if not p.complete)
        return DeadlineExceededError(
            f"download stopped by its overall deadline of {self.limit.seconds:g}s: {stopped} of "
            f"{len(report.series)} series incomplete, {len(self.unfetched)} range(s) not fetched "
            "(what arrived is stored; run again to resume)",
            seconds=self.limit.seconds,
            unfetched=self.unfetched,
            report=report,
        )


def _run_one(
    manager: DataManager,
    exchange: str,
    res: SeriesResult,
    span: tuple[pd.Timestamp, pd.Timestamp],
    progress: Progress,
    stop: threading.Event,
    deadline: DeadlineWatch | None = None,
    open_interest: bool = False,
) -> SeriesResult:
    """Fetch one planned series (then its open interest), fill ``res`` in place, return it."""
    tf, began = parse_timeframe(res.timeframe), time.monotonic()
    budget = [res.expected]  # planned bars not yet counted on the progress bar

    def on_chunk(chunk: Chunk) -> None:
        res.pages += 1
        covered = min(budget[0], count_bars(tf, chunk.start, chunk.end))
        budget[0] -= covered
        progress.advance(covered)
        if stop.is_set():
            raise _Stopped

    try:
        if res.expected:
            src = res.source or None
            with (
                manager.cache.pinned(res.symbol, tf.name, *span, source=src),  # no eviction
                deadline_scope(deadline.limit if deadline else None),
            ):
                got = manager.fetch_missing(
                    res.symbol, tf.name, *span, exchange, on_chunk=on_chunk, exchange=src
                )
            res.bars, res.providers, res.complete = got.bars, list(got.providers), got.complete
            res.error = "; ".join(f"{k}: {v}" for k, v in got.errors.items()) or None
            res.unfetched = [str(u) for u in got.unfetched]
        if open_interest and not stop.is_set():
            _open_interest(manager, exchange, res, span, deadline)
    except _Stopped:
        res.complete, res.error = False, "interrupted"
    except DeadlineExceededError as exc:
        res.complete, res.error = False, str(exc)
        res.unfetched = [str(u) for u in exc.unfetched]
        if deadline is not None:
            deadline.stopped(res, exc)
    except TradeDataError as exc:
        res.complete, res.error = False, str(exc)
    if res.complete:
        progress.advance(budget[0])  # planned bars that turned out not to exist
    if not stop.is_set():
        _score(manager, res, *span)
    res.seconds = time.monotonic() - began
    return res


def _open_interest(
    manager: DataManager,
    exchange: str,
    res: SeriesResult,
    span: tuple[pd.Timestamp, pd.Timestamp],
    deadline: DeadlineWatch | None,
) -> None:
    """Fill the open interest of ``res``'s stored bars; what is left (or the error that
    stopped it) goes to ``res.open_interest_unfetched``, never to the bars' status."""
    try:
        with deadline_scope(deadline.limit if deadline else None):
            gone = manager.fetch_open_interest(
                res.symbol, res.timeframe, *span, exchange=res.source or None, provider=exchange
            )
        res.open_interest_unfetched = [str(u) for u in gone]
    except TradeDataError as exc:
        res.open_interest_unfetched = [
            f"{span[0]:%Y-%m-%d %H:%M}..{span[1]:%Y-%m-%d %H:%M} ({exc})"
        ]


def execute(
    manager: DataManager,
    exchange: str,
    plans: list[SeriesResult],
    span: tuple[pd.Timestamp, pd.Timestamp],
    progress: Progress,
    concurrency: int,
    deadline: DeadlineWatch | None = None,
    open_interest: bool = False,
) -> None:
    """Run one worker per planned series, ``concurrency`` at a time; each fills its row of
    ``plans``. On any exception in this thread (``KeyboardInterrupt`` too) the workers stop
    after their current page and it is re-raised once they have."""
    stop = threading.Event()
    pool = cf.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tradedata-dl")
    futures = [
        pool.submit(_run_one, manager, exchange, p, span, progress, stop, deadline, open_interest)
        for p in plans
    ]
    try:
        pending = set(futures)
        while pending:  # a short wait keeps the main thread responsive to Ctrl-C
            _, pending = cf.wait(pending, timeout=0.5)
    except BaseException:
        stop.set()
        for f in futures:
            f.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for f in futures:
        f.result()  # surface unexpected bugs in workers
