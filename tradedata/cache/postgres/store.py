""":class:`PostgresStore`: the store interface on a PostgreSQL database shared by a fleet.

Bars are rows (``tradedata.bars``), written with binary ``COPY`` and read with binary ``COPY``
parsed whole by numpy (:mod:`tradedata.cache.postgres.io`). A write (bars, the metadata of the
years it touches, and the coverage it proves) is one transaction under the series row's lock:
writers of one series queue, readers see the state before or after, never half a batch.
:meth:`PostgresStore.hole_lock` is a session advisory lock per (series, missing range) on its
own connection: the fleet fetches each hole once. The password never leaves the process: the
URL is kept without it, and errors are scrubbed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from tradedata.cache.catalog import _summary
from tradedata.cache.coverage import CoverageSpan, Grid, missing, provider_at, to_public
from tradedata.cache.interface import Progress, QualityFn
from tradedata.cache.layout import (
    Damage,
    SeriesInfo,
    check_name,
    split_store_name,
    store_name,
)
from tradedata.cache.partitions import Rows
from tradedata.cache.postgres import blocks, catalog
from tradedata.cache.postgres.meta import rescore_year
from tradedata.cache.postgres.records import Actions, Fundamentals, load_spans, update_spans
from tradedata.cache.postgres.schema import SCHEMA, migrate
from tradedata.cache.postgres.session import Session
from tradedata.cache.postgres.transfer import export_tree, import_tree
from tradedata.cache.postgres.writes import Batch, write_batch
from tradedata.model import parse_range, parse_timeframe
from tradedata.redact import Secret

__all__ = ["PostgresStore"]

_FIRST_YEAR, _LAST_YEAR = 1678, 2261


class PostgresStore:
    """OHLCV bars, coverage, metadata and fundamentals in a PostgreSQL database.

    ``url`` is a libpq URL (``postgresql://user@host:5432/db``); the password may be in it, in
    ``password``, in ``PGPASSWORD`` or ``~/.pgpass``. The schema ``tradedata`` is created and
    migrated on open. ``local_dir`` keeps machine-local side files (default: the embedded
    cache folder). Safe to share between threads, processes and machines.
    """

    def __init__(
        self,
        url: str,
        *,
        password: str | Secret | None = None,
        local_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        from pathlib import Path

        from tradedata.cache.store import default_cache_dir

        self._session = Session(url, password)
        self._run = self._session.run
        self.location: str = self._session.location
        self.directory: Path = Path(local_dir).expanduser() if local_dir else default_cache_dir()
        self._fundamentals = Fundamentals(self._run)
        self._actions = Actions(self._run)
        with self._session.guard("opening"):
            migrate(self._session.connection())

    def __repr__(self) -> str:
        return f"<PostgresStore {self.location!r}>"

    # -- writing ----------------------------------------------------------------------------
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
        """Merge ``frame`` into the ``source`` series; returns the years touched.

        ``source`` is the series' venue (None: the symbol's default source); ``provider`` who
        delivered the rows (default: the source's name). Bars, the touched years' metadata and
        ``coverage=(start, end)`` (from ``provider``) commit together. Bar times must be whole
        microseconds.
        """
        tf = parse_timeframe(timeframe)
        key = _key(symbol, source, tf.name)
        batch = Batch.of(
            frame,
            provider=check_name(provider if provider is not None else key[0], "provider"),
            provider_info=provider_info,
            quality=quality,
            span=_span(coverage) if coverage is not None else None,
        )
        self._run(lambda cur: write_batch(cur, key, tf, batch), "writing bars")
        return batch.touched

    def rescore(
        self,
        symbol: str,
        timeframe: str,
        year: int,
        quality: QualityFn,
        *,
        source: str | None = None,
    ) -> bool:
        """Recompute one stored year's ``data_quality`` from its bars (nothing else changes)."""
        key = _key(symbol, source, parse_timeframe(timeframe).name)
        return bool(self._run(lambda cur: rescore_year(cur, key, int(year), quality), "rescoring"))

    # -- reading ----------------------------------------------------------------------------
    def read(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Bars with ``start <= open time <= end`` (either may be None) as a schema frame."""
        key = _key(symbol, source, parse_timeframe(timeframe).name)
        s, e = parse_range(start, end)
        lo = None if s is None else int(s.value)
        hi = None if e is None else int(e.value)

        def fetch(cur: Any) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
            cur.execute(  # one snapshot for the series row and its bars
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
            found = catalog.series_row(cur, key)
            columns = catalog.columns_of(found)
            if found is None:
                return np.zeros(0, np.int64), np.zeros((len(columns), 0)), columns
            ts, values = blocks.read_series(cur, int(found[0]), columns, lo, hi)
            return ts, values, columns

        ts, values, columns = self._run(fetch, "reading bars")
        return Rows(ts, values, columns).frame()

    def has(self, symbol: str, timeframe: str, *, source: str | None = None) -> bool:
        """True when bars of the series are stored."""
        return bool(self.years(symbol, timeframe, source=source))

    def years(self, symbol: str, timeframe: str, *, source: str | None = None) -> list[int]:
        """The years holding bars of the series, ascending."""
        key = _key(symbol, source, parse_timeframe(timeframe).name)
        return list(self._run(lambda cur: catalog.years_of_series(cur, key)))

    def metadata(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> dict | None:
        """The metadata of one year of a series (None when it holds no bars)."""
        key = _key(symbol, source, parse_timeframe(timeframe).name)
        return self._run(lambda cur: catalog.year_meta_of(cur, key, year))  # type: ignore[no-any-return]

    def sources(self, symbol: str, timeframe: str | None = None) -> list[str]:
        """The sources with a series (or coverage) of ``symbol`` stored, sorted."""
        tf = parse_timeframe(timeframe).name if timeframe else None
        return list(self._run(lambda cur: catalog.sources(cur, symbol, tf)))

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its source, range, bars, size, score, providers and years."""
        grouped = self._run(catalog.listing)
        named = {(store_name(sym, src), tf): metas for (src, sym, tf), metas in grouped.items()}
        # in the embedded store's order: that of its keys, ``name|timeframe``
        order = sorted(named, key="|".join)
        return [_summary(name, tf, named[name, tf]) for name, tf in order]

    def covered_series(self) -> list[tuple[str, str, str]]:
        """``(source, symbol, timeframe)`` of every series with coverage recorded."""
        return list(self._run(catalog.covered))

    def partition_file(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> None:
        """Always None: the PostgreSQL store keeps no partition files."""
        return None

    # -- coverage ---------------------------------------------------------------------------
    def _spans(self, key: catalog.Key) -> list[Any]:
        def fetch(cur: Any) -> list[Any]:
            found = catalog.series_row(cur, key)
            return load_spans(cur, int(found[0])) if found else []

        return list(self._run(fetch))

    def coverage(
        self, symbol: str, timeframe: str, *, source: str | None = None
    ) -> list[CoverageSpan]:
        """The fetched spans of a series, sorted and disjoint (inclusive bounds, UTC)."""
        return to_public(self._spans(_key(symbol, source, parse_timeframe(timeframe).name)))

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
        """Record that ``[start, end]`` was fetched from ``provider`` (even if it had no bars)."""
        check_name(provider, "provider")
        tf = parse_timeframe(timeframe)
        key = _key(symbol, source, tf.name)
        lo, hi = _span((start, end))
        when = None if fetched_at is None else int(pd.Timestamp(fetched_at).value)

        def work(cur: Any) -> None:
            series_id = catalog.series_row(cur, key, create=True)[0]
            update_spans(cur, series_id, tf, lo, hi, provider, when)

        self._run(work, "recording coverage")

    def remove_coverage(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> None:
        """Forget that ``[start, end]`` was fetched, so it is fetched again."""
        tf = parse_timeframe(timeframe)
        key = _key(symbol, source, tf.name)
        lo, hi = _span((start, end))

        def work(cur: Any) -> None:
            found = catalog.series_row(cur, key)
            if found:
                cur.execute(f"SELECT 1 FROM {SCHEMA}.series WHERE id = %s FOR UPDATE", found[:1])
                update_spans(cur, int(found[0]), tf, lo, hi, None)

        self._run(work, "removing coverage")

    def missing_ranges(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The parts of ``[start, end]`` never fetched, as ``(first, last)`` bar open times."""
        tf = parse_timeframe(timeframe)
        lo, hi = _span((start, end))
        holes = missing(self._spans(_key(symbol, source, tf.name)), lo, hi, Grid(tf))
        return [(pd.Timestamp(a, tz="UTC"), pd.Timestamp(b, tz="UTC")) for a, b in holes]

    def provider_at(
        self, symbol: str, timeframe: str, ts: Any, *, source: str | None = None
    ) -> str | None:
        """The provider that supplied the bar at ``ts`` (None if never fetched)."""
        key = _key(symbol, source, parse_timeframe(timeframe).name)
        return provider_at(self._spans(key), int(_span((ts, ts))[0]))

    @contextmanager
    def hole_lock(
        self, symbol: str, timeframe: str, start: Any, end: Any, *, source: str | None = None
    ) -> Iterator[None]:
        """Fleet-wide lock for fetching ``[start, end]`` of a series (an advisory lock).

        Held on a connection of its own, so the holder's writes commit while it fetches; the
        server releases it if the holder dies.
        """
        src, sym, tf = _key(symbol, source, parse_timeframe(timeframe).name)
        span = f"{pd.Timestamp(start).value}|{pd.Timestamp(end).value}"
        with self._session.advisory_lock(f"tradedata|{src}|{sym}|{tf}", span):
            yield

    @contextmanager
    def pinned(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        source: str | None = None,
    ) -> Iterator[None]:
        """Nothing to pin: the PostgreSQL store never evicts (it has no size limit)."""
        _key(symbol, source, parse_timeframe(timeframe).name)  # bad names fail as they would
        yield

    # -- removing ---------------------------------------------------------------------------
    def delete(
        self, symbol: str, timeframe: str | None = None, *, source: str | None = None
    ) -> int:
        """Remove a series (every timeframe when None) and its coverage; returns years removed.

        Only the ``source`` series go (None: the default source's).
        """
        tf = parse_timeframe(timeframe).name if timeframe else None
        src, sym, _ = _key(symbol, source, "")
        return int(self._run(lambda cur: catalog.drop(cur, src, sym, tf), "deleting a series"))

    def clear(self) -> None:
        """Remove everything: bars, coverage, metadata, actions and fundamentals."""
        self._run(catalog.truncate, "clearing")

    # -- the rest ---------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Location, bytes used, and counts of series, partitions (years) and fundamentals."""
        series, partitions, size = self._run(catalog.sizes)
        return {
            "location": self.location,
            "directory": self.location,
            "backend": "postgresql",
            "size_bytes": size,
            "max_size_bytes": None,
            "series": series,
            "partitions": partitions,
            "quarantined": 0,
            "fundamentals": len(self.fundamentals_keys()),
        }

    def quarantined(self) -> list[Damage]:
        """Always empty: PostgreSQL checks its own pages; nothing is quarantined."""
        return []

    def clear_quarantine(self) -> int:
        """Nothing to clear (see :meth:`quarantined`)."""
        return 0

    def quick_check(self) -> list[str]:
        """Fast check (``tradedata health``): each year's metadata against its row count."""
        return list(self._run(catalog.count_mismatches, "checking"))

    def verify(self, progress: Progress | None = None) -> list[Damage]:
        """Check each year's metadata against its bars; mismatched years are re-summarised."""
        from tradedata.cache.postgres.transfer import verify

        return verify(self, progress)

    def check_blocks(
        self, symbol: str, timeframe: str, year: int, *, source: str | None = None
    ) -> str | None:
        """Compare one year's read blocks with its rows; rebuild them from the rows when they
        differ and say how (None: they agree, or the year has none)."""
        key = _key(symbol, source, parse_timeframe(timeframe).name)

        def work(cur: Any) -> str | None:
            found = catalog.series_row(cur, key, create=False)
            if found is None:
                return None
            cur.execute(f"SELECT 1 FROM {SCHEMA}.series WHERE id = %s FOR UPDATE", found[:1])
            return blocks.check_year(cur, int(found[0]), int(year), catalog.columns_of(found))

        return self._run(work, "checking blocks")  # type: ignore[no-any-return]

    # -- fundamentals -----------------------------------------------------------------------
    def get_fundamentals(self, key: str) -> dict | None:
        """The stored dict for ``key``, or None when missing or expired."""
        return self._fundamentals.get(key)

    def set_fundamentals(self, key: str, value: dict, ttl: float | None) -> None:
        """Store ``value`` (JSON-able) for ``ttl`` seconds (None: until deleted)."""
        self._fundamentals.set(key, value, ttl)

    def fundamentals_expiry(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None: never, or not stored)."""
        return self._fundamentals.expiry(key)

    def delete_fundamentals(self, key: str) -> bool:
        """Remove ``key``; True if it was stored."""
        return self._fundamentals.delete(key)

    def fundamentals_keys(self) -> list[str]:
        """The keys of every fundamentals entry still valid, sorted."""
        return self._fundamentals.keys()

    # -- corporate actions ------------------------------------------------------------------
    def get_actions(self, symbol: str) -> Any:
        """The stored splits and dividends of ``symbol`` (None when never recorded)."""
        return self._actions.get(symbol)

    def set_actions(self, symbol: str, actions: Any) -> None:
        """Store the splits and dividends of ``symbol`` (a ``CorporateActions``)."""
        self._actions.set(symbol, actions)

    def delete_actions(self, symbol: str) -> bool:
        """Remove the record of ``symbol``; True if there was one."""
        return self._actions.delete(symbol)

    def actions_symbols(self) -> list[str]:
        """Every symbol with a corporate-actions record, sorted."""
        return self._actions.symbols()

    # -- plain-file tree --------------------------------------------------------------------
    def export_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Write the plain-file tree (the embedded cache's format); returns partitions."""
        return export_tree(self, directory, progress)

    def import_tree(
        self, directory: str | os.PathLike[str], progress: Progress | None = None
    ) -> int:
        """Read a plain-file tree written by either store; returns partitions imported."""
        return import_tree(self, directory, progress)

    def close(self) -> None:
        """Close the connection (the object must not be used afterwards)."""
        self._session.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _key(symbol: str, source: str | None, tf: str) -> catalog.Key:
    """``(source, symbol, timeframe)``: the source resolved as the embedded store does."""
    src, sym = split_store_name(store_name(symbol, source))
    return src, sym, tf


def _span(pair: tuple[Any, Any]) -> tuple[int, int]:
    from tradedata.errors import InvalidDateRangeError

    start, end = pair
    if start is None or end is None:
        raise InvalidDateRangeError("a coverage range needs both start and end")
    s, e = parse_range(start, end)
    assert s is not None and e is not None
    return int(s.value), int(e.value)
