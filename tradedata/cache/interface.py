"""The store interface :class:`~tradedata.manager.DataManager` and the fetch engine talk to.

Two stores implement it: the embedded :class:`~tradedata.cache.Cache` (diskcache, one
machine, the default) and :class:`~tradedata.cache.postgres.PostgresStore` (a PostgreSQL
database shared by many processes on many machines).
:func:`~tradedata.cache.opening.open_store` turns a spec (a folder or a ``postgresql://`` URL)
into one of them.

A series is keyed by ``(symbol, timeframe)`` today; the PostgreSQL schema already carries the
series' ``source`` (its venue) in the key, so that the series identity (source, symbol,
timeframe) slots in without a migration.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from tradedata.cache.coverage import CoverageSpan
from tradedata.cache.layout import Damage, SeriesInfo

__all__ = ["Progress", "QualityFn", "Store"]

QualityFn = Callable[[pd.DataFrame], dict]
Progress = Callable[[Iterable[Any]], Iterable[Any]]


@runtime_checkable
class Store(Protocol):
    """What every store offers: bars with their coverage, metadata, fundamentals, transfer.

    Bars and the coverage they prove are written in one transaction (``write(...,
    coverage=)``); a reader never sees half a write. :meth:`hole_lock` serialises fetching of
    one missing range of a series among every process sharing the store.
    """

    @property
    def location(self) -> str:
        """Where the store lives, for people: a folder, or a URL without its password."""
        ...

    @property
    def directory(self) -> Path:
        """The local folder of the store's machine-local side files (for a folder store, the
        store itself)."""
        ...

    def write(
        self,
        symbol: str,
        timeframe: str,
        frame: pd.DataFrame,
        *,
        source: str | None = None,
        provider: str | None = None,
        provider_info: dict | None = None,
        quality: QualityFn | None = None,
        coverage: tuple[Any, Any] | None = None,
    ) -> list[int]:
        """Merge ``frame`` into the ``source`` series (None: the symbol's default source) as
        delivered by ``provider``; rows at stored times replace them. Returns the years
        touched."""
        ...

    def rescore(
        self,
        symbol: str,
        timeframe: str,
        year: int,
        quality: QualityFn,
        *,
        source: str | None = None,
    ) -> bool:
        """Recompute one stored year's ``data_quality`` as ``quality(its stored bars)``
        atomically (bars, generation and coverage unchanged; no provider is asked); False
        when the year holds no bars. The manager calls it when a symbol's corporate actions
        change the way its bars are judged."""
        ...

    def read(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Bars with ``start <= open time <= end`` as a schema frame."""
        ...

    def has(self, symbol: str, timeframe: str, *, source: str | None = None) -> bool:
        """True when bars of the series are stored."""
        ...

    def years(self, symbol: str, timeframe: str, *, source: str | None = None) -> list[int]:
        """The years holding bars of the series, ascending."""
        ...

    def metadata(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> dict | None:
        """Quality and provenance of one year of a series (None when nothing is stored)."""
        ...

    def sources(self, symbol: str, timeframe: str | None = None) -> list[str]:
        """The sources with a series (or coverage) of ``symbol`` stored."""
        ...

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its range, bars, size, score, providers and years."""
        ...

    def covered_series(self) -> list[tuple[str, str, str]]:
        """``(source, symbol, timeframe)`` of every series with a coverage record."""
        ...

    def coverage(
        self, symbol: str, timeframe: str, *, source: str | None = None
    ) -> list[CoverageSpan]:
        """The fetched spans of a series, sorted and disjoint."""
        ...

    def add_coverage(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str,
        fetched_at: Any = None,
        *,
        source: str | None = None,
    ) -> None:
        """Record that ``[start, end]`` was fetched from ``provider``."""
        ...

    def remove_coverage(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> None:
        """Forget that ``[start, end]`` was fetched."""
        ...

    def missing_ranges(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The parts of ``[start, end]`` never fetched, as ``(first, last)`` bar opens."""
        ...

    def provider_at(
        self, symbol: str, timeframe: str, ts: Any, *, source: str | None = None
    ) -> str | None:
        """The provider that supplied the bar at ``ts``."""
        ...

    def hole_lock(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> AbstractContextManager[None]:
        """Hold the lock of one missing range: one fetcher at a time, the others wait."""
        ...

    def pinned(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        source: str | None = None,
    ) -> AbstractContextManager[None]:
        """Inside the block, size-limit eviction never removes bars of the ``source`` series'
        range."""
        ...

    def delete(
        self, symbol: str, timeframe: str | None = None, *, source: str | None = None
    ) -> int:
        """Remove a series (every timeframe when None) and its coverage."""
        ...

    def clear(self) -> None:
        """Remove everything."""
        ...

    def info(self) -> dict[str, Any]:
        """Location, size and counts."""
        ...

    def partition_file(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> Path | None:
        """The data file of a stored year (None when it has none, as in a database)."""
        ...

    def quarantined(self) -> list[Damage]:
        """Everything set aside as damaged so far."""
        ...

    def clear_quarantine(self) -> int:
        """Delete what was set aside; returns the records removed."""
        ...

    def verify(self, progress: Progress | None = None) -> list[Damage]:
        """Check everything; returns the damage found."""
        ...

    def get_fundamentals(self, key: str) -> dict | None:
        """The stored dict for ``key`` (None when missing or expired)."""
        ...

    def set_fundamentals(self, key: str, value: dict, ttl: float | None) -> None:
        """Store ``value`` for ``ttl`` seconds (None: until deleted)."""
        ...

    def fundamentals_expiry(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires."""
        ...

    def delete_fundamentals(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        ...

    def fundamentals_keys(self) -> list[str]:
        """Keys of every valid fundamentals entry, sorted."""
        ...

    def get_actions(self, symbol: str) -> Any:
        """The stored splits and dividends of ``symbol`` (None when never recorded)."""
        ...

    def set_actions(self, symbol: str, actions: Any) -> None:
        """Store the splits and dividends of ``symbol``."""
        ...

    def delete_actions(self, symbol: str) -> bool:
        """Remove the record of ``symbol``; True if there was one."""
        ...

    def actions_symbols(self) -> list[str]:
        """Every symbol with a corporate-actions record, sorted."""
        ...

    def export_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Write the plain-file tree; returns partitions written."""
        ...

    def import_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Read a plain-file tree; returns partitions imported."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
