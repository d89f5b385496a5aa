"""Copy what one store lacks from another: ``tradedata store sync --from A --to B``.

Works between any two stores of the interface (embedded folder or PostgreSQL URL, either
way). For each series and year of the source, the target's year is left alone when it holds
the same bars already (compared by metadata, then value for value); otherwise the source's
bars are written, run by run so that every bar keeps its provider, with their provenance and
quality block. Coverage spans the target lacks are added with their provider and fetch time;
fundamentals entries with their remaining time to live; corporate-actions records as they are.
Every write is one transaction, so an interrupted sync resumes: a second run copies only what
is still missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SyncReport", "sync_stores"]


@dataclass
class SyncReport:
    """What :func:`sync_stores` did."""

    series: int = 0
    partitions_copied: int = 0
    partitions_skipped: int = 0
    spans_added: int = 0
    fundamentals_copied: int = 0
    actions_copied: int = 0

    def __str__(self) -> str:
        return (
            f"{self.series} series: {self.partitions_copied} partitions copied,"
            f" {self.partitions_skipped} already there; {self.spans_added} coverage spans,"
            f" {self.fundamentals_copied} fundamentals entries, {self.actions_copied} actions"
        )


_SAME = ("bars", "first", "last", "source_runs", "columns")

#: a series: ``(source, symbol, timeframe)``
Key = tuple[str, str, str]


def _same_year(src: Any, dst: Any, key: Key, year: int, frame: pd.DataFrame) -> bool:
    source, symbol, tf = key
    theirs = dst.metadata(symbol, tf, year, source=source)
    ours = src.metadata(symbol, tf, year, source=source)
    if theirs is None or ours is None or any(theirs.get(k) != ours.get(k) for k in _SAME):
        return False
    there = dst.read(symbol, tf, frame.index[0], frame.index[-1], source=source)
    if not there.index.equals(frame.index) or list(there.columns) != list(frame.columns):
        return False
    a = frame.to_numpy(np.float64).view(np.int64)
    b = there.to_numpy(np.float64).view(np.int64)
    return bool(np.array_equal(a, b))


def _copy_year(src: Any, dst: Any, key: Key, year: int, frame: pd.DataFrame) -> None:
    source, symbol, tf = key
    meta = src.metadata(symbol, tf, year, source=source) or {}
    runs = meta.get("source_runs") or [[meta.get("data_source", "import"), len(frame)]]
    infos = meta.get("provider_info") or {}
    report = meta.get("data_quality")
    pos = 0
    for provider, count in runs:
        part = frame.iloc[pos : pos + int(count)]
        pos += int(count)
        dst.write(
            symbol,
            tf,
            part,
            source=source,
            provider=str(provider),
            provider_info=infos.get(provider),
            quality=(lambda _f: dict(report)) if isinstance(report, dict) else None,
        )


def _year_frame(src: Any, key: Key, year: int) -> pd.DataFrame:
    source, symbol, tf = key
    first = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    last = pd.Timestamp(year=year + 1, month=1, day=1, tz="UTC") - pd.Timedelta(1)
    return src.read(symbol, tf, first, last, source=source)


def _sync_coverage(src: Any, dst: Any, key: Key) -> int:
    source, symbol, tf = key
    have = {(s.start, s.end, s.provider) for s in dst.coverage(symbol, tf, source=source)}
    added = 0
    for span in src.coverage(symbol, tf, source=source):
        if (span.start, span.end, span.provider) not in have:
            dst.add_coverage(
                symbol, tf, span.start, span.end, span.provider, span.fetched_at, source=source
            )
            added += 1
    return added


def _sync_fundamentals(src: Any, dst: Any) -> int:
    copied = 0
    for key in src.fundamentals_keys():
        value = src.get_fundamentals(key)
        expires = src.fundamentals_expiry(key)
        if value is None or (expires is not None and expires <= time.time()):
            continue
        theirs = dst.fundamentals_expiry(key)
        same_expiry = theirs == expires or (
            theirs is not None and expires is not None and abs(theirs - expires) < 1.0
        )
        if same_expiry and dst.get_fundamentals(key) == value:
            continue
        ttl = None if expires is None else max(expires - time.time(), 1e-3)
        dst.set_fundamentals(key, value, ttl)
        copied += 1
    return copied


def sync_stores(
    src: Any,
    dst: Any,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> SyncReport:
    """Copy into store ``dst`` everything of store ``src`` it lacks; returns a report.

    ``progress`` wraps the iteration over series (e.g. ``tqdm``).
    """
    report = SyncReport()
    names: dict[Key, list[int]] = {
        (s.source, s.symbol, s.timeframe): list(s.years) for s in src.series()
    }
    for key in src.covered_series():
        names.setdefault(tuple(key), [])  # type: ignore[arg-type]
    items = list(names.items())
    for key, years in progress(items) if progress else items:
        report.series += 1
        for year in years:
            frame = _year_frame(src, key, year)
            if frame.empty:
                continue
            if _same_year(src, dst, key, year, frame):
                report.partitions_skipped += 1
                continue
            _copy_year(src, dst, key, year, frame)
            report.partitions_copied += 1
        report.spans_added += _sync_coverage(src, dst, key)
    report.fundamentals_copied = _sync_fundamentals(src, dst)
    report.actions_copied = _sync_actions(src, dst)
    return report


def _sync_actions(src: Any, dst: Any) -> int:
    """Corporate-actions records the target lacks or holds differently (stores with them)."""
    if not (hasattr(src, "actions_symbols") and hasattr(dst, "set_actions")):
        return 0
    copied = 0
    for symbol in src.actions_symbols():
        record = src.get_actions(symbol)
        if record is not None and dst.get_actions(symbol) != record:
            dst.set_actions(symbol, record)
            copied += 1
    return copied
