"""The bulk download itself: :func:`download`, from its arguments to its report.

Inputs are checked and the plan made (:mod:`tradedata.download.plan`) under the overall
deadline, since the exchange's clock and market list count toward it; the workers
(:mod:`tradedata.download.workers`) then fetch every series, and the
:class:`~tradedata.download.report.DownloadReport` gathers what each did.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tradedata.deadline import Deadline, deadline_scope, resolve_seconds
from tradedata.download.plan import (
    check_open_interest,
    plan_series,
    resolve_range,
    resolve_symbols,
)
from tradedata.download.report import DownloadReport
from tradedata.download.workers import DeadlineWatch, Progress, execute
from tradedata.errors import DeadlineExceededError, InputError
from tradedata.model import parse_timeframe

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["download"]


def download(
    symbols: Sequence[str] | None = None,
    timeframes: Sequence[str] = ("1h",),
    days: float | None = None,
    start: Any = None,
    end: Any = None,
    exchange: str = "binance",
    all_symbols: bool = False,
    manager: DataManager | None = None,
    concurrency: int = 8,
    progress: bool = True,
    quote: str | None = None,
    deadline: float | None = None,
    open_interest: bool = False,
) -> DownloadReport:
    """Download ``symbols`` x ``timeframes`` from ``exchange`` into the cache; return a report.

    The range is ``[start, end]``, or the last ``days`` up to ``end`` (default: the exchange's
    now). ``all_symbols`` takes every active spot market (only those quoted in ``quote`` when
    given). Only what the cache's coverage record lacks is fetched, so a second run fetches
    nothing already stored and an interrupted run resumes. ``concurrency`` workers share the
    exchange's rate limit. Ctrl-C stops the workers after their current page (everything
    stored so far is kept) and re-raises ``KeyboardInterrupt``.

    ``deadline`` is the most seconds the whole download may take (default:
    ``TRADEDATA_DEADLINE``, else the config's ``deadline``, else none). When it passes, every
    worker stops and :class:`~tradedata.errors.DeadlineExceededError` is raised: its
    ``unfetched`` lists the ranges not fetched (each ``reason`` names the series), its
    ``report`` is the :class:`DownloadReport` of what was done (all of it stored).

    ``open_interest`` (contracts, e.g. ``BTC/USDT:USDT``) also fetches each series' open
    interest (:meth:`DataManager.fetch_open_interest`); bars left without it are listed per
    series in ``open_interest_unfetched`` and do not make a series incomplete. A spot symbol
    or a timeframe without open interest raises
    :class:`~tradedata.errors.OpenInterestUnavailableError` before anything is fetched.
    """
    if concurrency < 1:
        raise InputError(f"concurrency must be >= 1, got {concurrency}")
    tfs = [parse_timeframe(t).name for t in timeframes]
    if not tfs:
        raise InputError("give at least one timeframe")
    own = manager is None
    if manager is None:
        from tradedata.manager import DataManager

        manager = DataManager()
    try:
        seconds = resolve_seconds(deadline, manager.config.deadline)
        limit = Deadline(seconds) if seconds is not None else None
        try:
            with deadline_scope(limit):  # the exchange's clock and markets count too
                provider = manager.provider(exchange)
                s, e = resolve_range(provider, days, start, end)
                names = resolve_symbols(provider, symbols, all_symbols, quote)
                if open_interest:
                    check_open_interest(provider, names, tfs)
                plans = plan_series(manager, provider, names, tfs, s, e)
        except DeadlineExceededError as exc:
            raise DeadlineExceededError(
                f"download from {exchange} stopped by its overall deadline of {exc.seconds:g}s "
                "before fetching began (while asking for its clock or markets): nothing fetched",
                seconds=exc.seconds,
            ) from None
        calls, limited = provider.stats.calls, provider.stats.rate_limited
        began = time.monotonic()
        bar = Progress(sum(p.expected for p in plans), exchange, progress)
        try:
            watch = DeadlineWatch(limit) if limit is not None else None
            execute(manager, exchange, plans, (s, e), bar, concurrency, watch, open_interest)
        finally:
            bar.close()
        report = DownloadReport(
            exchange=exchange,
            start=s,
            end=e,
            series=plans,
            seconds=time.monotonic() - began,
            requests=provider.stats.calls - calls,
            rate_limited=provider.stats.rate_limited - limited,
        )
        if watch is not None and watch.unfetched:
            raise watch.error(report)
        return report
    finally:
        if own:
            manager.close()
