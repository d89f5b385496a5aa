"""Bulk download: many symbols and timeframes of one exchange into the cache, concurrently.

::

    from tradedata.download import download
    report = download(["BTC/USDT", "ETH/USDT"], ["1m", "1h"], days=30, exchange="binance")
    print(report)          # one row per series: bars fetched, stored, source, quality score

or ``tradedata download --exchange binance --symbols BTC/USDT,ETH/USDT --timeframes 1m,1h
--days 30`` (``--all-symbols [--quote USDT]`` takes every active spot market).

Each series is fetched by :meth:`~tradedata.manager.DataManager.fetch_missing`, which asks only
for what the coverage record lacks and writes the pages in batches as they arrive (at most
:data:`~tradedata.fetching.FLUSH_BARS` bars held per worker), so memory stays bounded and a run
that is interrupted (Ctrl-C, a crash) resumes from the last batch stored.
All workers share the exchange's provider and so its token bucket: concurrency buys overlap of
network waits, never more than the exchange's published rate limit. The report types
(:class:`SeriesResult`, :class:`DownloadReport`) live in :mod:`tradedata.download_report`.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.adapters.paging import Unfetched
from tradedata.deadline import Deadline, deadline_scope, resolve_seconds
from tradedata.download_report import DownloadReport, SeriesResult
from tradedata.errors import (
    DeadlineExceededError,
    InputError,
    OpenInterestUnavailableError,
    TradeDataError,
)
from tradedata.identity import identify, source_of_provider
from tradedata.model import Timeframe, parse_range, parse_timeframe
from tradedata.symbols import normalize_symbol, symbol_info

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk, Provider
    from tradedata.manager import DataManager

__all__ = [
    "DownloadReport",
    "SeriesResult",
    "add_cli_arguments",
    "download",
    "download_cli_main",
    "plan_series",
]


#: The most history ``days`` may ask for (back to the first storable year, 1678).
_MAX_DAYS = 200_000
_FIRST_BAR = pd.Timestamp("1678-01-01", tz="UTC")


class _Stopped(Exception):
    """Raised inside a worker's chunk callback once the run is being interrupted."""


def _count_bars(tf: Timeframe, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """``len(tf.bar_opens(start, end))``, by arithmetic where bars have a fixed length."""
    if tf.is_calendar:
        return len(tf.bar_opens(start, end))
    first = tf.floor(start)
    if first < start:
        first = tf.next_open(first)
    return max(0, (end - first) // tf.delta + 1)


def plan_series(
    manager: DataManager,
    provider: Provider,
    symbols: Sequence[str],
    timeframes: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> list[SeriesResult]:
    """Every (symbol, timeframe), with ``expected`` = bars in its coverage holes up to the
    provider's last closed bar (what this run has to fetch)."""
    plans = []
    now = provider.now()
    for tf in (parse_timeframe(t) for t in timeframes):
        stop = min(end, provider.last_closed_open(tf, now))
        for symbol in symbols:
            src = manager.selector.source_of(provider.name, symbol, tf.name)
            holes = manager.cache.missing_ranges(symbol, tf.name, start, stop, source=src)
            expected = sum(_count_bars(tf, a, b) for a, b in holes) if start <= stop else 0
            plans.append(SeriesResult(symbol, tf.name, expected=expected, source=src))
    return plans


class _Progress:
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
    """Fill the stored-bars figures and quality score of ``res`` (one series in memory)."""
    from tradedata.validation import validate

    frame = manager.cache.read(res.symbol, res.timeframe, start, end, source=res.source or None)
    res.stored = len(frame)
    if len(frame):
        res.first, res.last = frame.index[0], frame.index[-1]
        calendar = symbol_info(res.symbol).calendar
        res.score = validate(frame, res.timeframe, calendar=calendar).score


@dataclass
class _DeadlineWatch:
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
    progress: _Progress,
    stop: threading.Event,
    deadline: _DeadlineWatch | None = None,
    open_interest: bool = False,
) -> SeriesResult:
    tf, began = parse_timeframe(res.timeframe), time.monotonic()
    budget = [res.expected]  # planned bars not yet counted on the progress bar

    def on_chunk(chunk: Chunk) -> None:
        res.pages += 1
        covered = min(budget[0], _count_bars(tf, chunk.start, chunk.end))
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


def _check_open_interest(provider: Provider, names: Sequence[str], tfs: Sequence[str]) -> None:
    """Raise OpenInterestUnavailableError unless ``provider`` has open interest of every
    symbol at every timeframe (no network request)."""
    from tradedata.open_interest import check_contract

    for name in names:
        check_contract(name)
        period = getattr(provider, "open_interest_period", None)
        if period is None:
            raise OpenInterestUnavailableError(f"{provider.name} publishes no open interest")
        for tf in tfs:
            period(name, parse_timeframe(tf))


def _open_interest(
    manager: DataManager,
    exchange: str,
    res: SeriesResult,
    span: tuple[pd.Timestamp, pd.Timestamp],
    deadline: _DeadlineWatch | None,
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


def _resolve_range(
    provider: Provider, days: float | None, start: Any, end: Any
) -> tuple[pd.Timestamp, pd.Timestamp]:
    s, e = parse_range(start, end)
    if s is None:  # checked before asking the exchange anything
        if days is None:
            raise InputError("say how much history to download: days=... or start=...")
        if isinstance(days, bool) or not isinstance(days, (int, float)):
            raise InputError(f"days must be a number, got {days!r}")
        if not 0 < days <= _MAX_DAYS:
            raise InputError(f"days must be more than 0 and at most {_MAX_DAYS:,}, got {days:g}")
    now = provider.now()
    e = e if e is not None else now
    if s is None:
        try:
            s = e - pd.Timedelta(days=float(days))  # type: ignore[arg-type]
        except (OverflowError, ValueError) as exc:  # before the first storable year
            raise InputError(f"{days:g} days before {e:%Y-%m-%d} is before 1678") from exc
        s = max(s, _FIRST_BAR)
    if s > e:
        raise InputError(f"start {s} is after end {e}")
    if s > now:
        raise InputError(f"the range starts in the future ({s:%Y-%m-%d %H:%M} UTC): no bars yet")
    return s, e


def _resolve_symbols(
    provider: Provider, symbols: Iterable[str] | None, all_symbols: bool, quote: str | None
) -> list[str]:
    if all_symbols:
        lister = getattr(provider, "spot_symbols", None)
        if lister is None:
            raise InputError(f"{provider.name} cannot list its markets (all_symbols needs ccxt)")
        names = []
        for name in lister(quote=quote):
            try:
                names.append(normalize_symbol(name))
            except InputError:  # a market name tradedata cannot store; skipped
                continue
        return list(dict.fromkeys(names))
    if not symbols:
        raise InputError("give symbols=[...] or all_symbols=True")
    names = []
    for text in symbols:  # a venue-prefixed spelling must name this exchange
        source, name = identify(text)
        if source and source not in (provider.name, source_of_provider(provider.name, name)):
            raise InputError(f"{text!r} names source {source!r}, not {provider.name}")
        names.append(name)
    return list(dict.fromkeys(names))


def _execute(
    manager: DataManager,
    exchange: str,
    plans: list[SeriesResult],
    span: tuple[pd.Timestamp, pd.Timestamp],
    progress: _Progress,
    concurrency: int,
    deadline: _DeadlineWatch | None = None,
    open_interest: bool = False,
) -> None:
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
                s, e = _resolve_range(provider, days, start, end)
                names = _resolve_symbols(provider, symbols, all_symbols, quote)
                if open_interest:
                    _check_open_interest(provider, names, tfs)
                plans = plan_series(manager, provider, names, tfs, s, e)
        except DeadlineExceededError as exc:
            raise DeadlineExceededError(
                f"download from {exchange} stopped by its overall deadline of {exc.seconds:g}s "
                "before fetching began (while asking for its clock or markets): nothing fetched",
                seconds=exc.seconds,
            ) from None
        calls, limited = provider.stats.calls, provider.stats.rate_limited
        began = time.monotonic()
        bar = _Progress(sum(p.expected for p in plans), exchange, progress)
        try:
            watch = _DeadlineWatch(limit) if limit is not None else None
            _execute(manager, exchange, plans, (s, e), bar, concurrency, watch, open_interest)
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


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``tradedata download`` options to ``parser``."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--symbols", help="comma-separated, e.g. BTC/USDT,ETH/USDT")
    which.add_argument("--all-symbols", action="store_true", help="every active spot market")
    parser.add_argument(
        "--quote", help="with --all-symbols: only markets quoted in this, e.g. USDT"
    )
    parser.add_argument("--exchange", default="binance", help="ccxt exchange id (default binance)")
    parser.add_argument("--timeframes", default="1h", help="comma-separated, e.g. 1m,5m,1h")
    parser.add_argument("--days", type=float, help="history to fetch, in days up to --end/now")
    parser.add_argument("--start", help="first bar (date or ISO time), instead of --days")
    parser.add_argument("--end", help="last bar (default: now)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel series (default 8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--open-interest",
        action="store_true",
        help="contracts (BTC/USDT:USDT): also fetch and store their open interest",
    )
    parser.add_argument(
        "--deadline", metavar="SECONDS", help="most seconds the download may take "
        "(default: TRADEDATA_DEADLINE, else the config's deadline, else none)",
    )  # fmt: skip


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def download_cli_main(args: argparse.Namespace) -> int:
    """Run ``tradedata download``: 0 when every series is complete, 2 otherwise, 130 on Ctrl-C."""
    from tradedata.manager import DataManager

    dm = DataManager(
        cache_dir=getattr(args, "cache_dir", None),
        config=getattr(args, "config", None),
        store=getattr(args, "store", None),
    )
    try:
        report = download(
            symbols=_split(args.symbols) or None,
            timeframes=_split(args.timeframes),
            days=args.days,
            start=args.start,
            end=args.end,
            exchange=args.exchange,
            all_symbols=args.all_symbols,
            manager=dm,
            concurrency=args.concurrency,
            # a bar of \r updates only on a terminal, never into redirected logs
            progress=not args.no_progress
            and not getattr(args, "quiet", False)
            and sys.stderr.isatty(),
            quote=args.quote,
            deadline=args.deadline,
            open_interest=args.open_interest,
        )
    except DeadlineExceededError as exc:
        if exc.report is not None:  # what was done, then the one-line error (main prints it)
            print(exc.report.to_json() if args.json else exc.report)
        raise
    except KeyboardInterrupt:
        print("interrupted: what was fetched is stored; run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    finally:
        dm.close()
    print(report.to_json() if args.json else report)
    return 0 if report.ok else 2
