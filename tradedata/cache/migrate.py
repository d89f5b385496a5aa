"""Opening a cache written before series had a source (tradedata up to issue 13).

Such a cache keys every series by ``(symbol, timeframe)`` alone, and any provider may have
filled any part of it: Binance's bars continued by Bybit's after a failover, Yahoo's
split-adjusted AAPL continued by Alpaca's as-traded bars. Those keys are exactly the keys of
the symbol's default source (:func:`tradedata.identity.default_source`), so the cache opens as
it is. :func:`migrate` then runs once per cache directory (a marker key records it) and gives
every bar the series it belongs to, using the provider each row was stored with:

- each row goes to the series of its provider's source
  (:func:`tradedata.identity.source_of_provider`: ``kraken`` rows to ``kraken``, Alpaca's IEX
  rows to ``iex``), with the coverage spans that provider recorded;
- equity rows from a provider that delivered split-adjusted prices
  (:data:`tradedata.identity.PROVIDER_BASIS`: Yahoo, Polygon) were stored as delivered, while
  the store now keeps as-traded prices: they become a source of their own,
  ``SCOPE_splits`` (``consolidated_splits``), never mixed with as-traded bars;
- every partition's metadata names its ``source`` and, for migrated bars, the basis its
  providers delivered (``delivered_basis``).

No bar is dropped or changed. A partition whose data cannot be read is left to the usual
damage handling (it is quarantined).
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from typing import Any

import diskcache
import numpy as np

import tradedata.cache.partitions as parts
from tradedata.cache.backend import Backend
from tradedata.cache.catalog import Catalog
from tradedata.cache.layout import identity_fields, iso, store_name
from tradedata.cache.partitions import Rows
from tradedata.identity import is_crypto, provider_basis, source_of_provider

__all__ = [
    "MARKER",
    "SPLITS_SUFFIX",
    "delivered_basis",
    "migrate",
    "old_source",
    "split_old",
    "subset_rows",
]

log = logging.getLogger("tradedata.cache")

#: Key recording that the cache's series carry their source.
MARKER = "v|series-identity"
#: Appended to an equity source for bars stored split-adjusted by an older version.
SPLITS_SUFFIX = "_splits"

LoadRows = Callable[[str, str, int, dict], "Rows | None"]


def old_source(provider: str, symbol: str, timeframe: str) -> str:
    """The source of bars an older version stored from ``provider`` (see the module text)."""
    source = source_of_provider(provider, symbol, timeframe)
    if not is_crypto(symbol) and provider_basis(provider) == "splits":
        return source + SPLITS_SUFFIX
    return source


def migrate(db: Backend, catalog: Catalog, load_rows: LoadRows) -> int:
    """Give every pre-identity series' bars their source (see the module text); returns the
    series written under another source. Runs once per cache (a no-op when :data:`MARKER`
    is set, or later again when the store is read-only or busy now)."""
    if db.read_only is not None:  # opened for reading only: migrated when opened for writing
        return 0
    try:
        if db.dc.get(MARKER) is not None:
            return 0
        if not len(db.dc):  # a new store: nothing an older version wrote
            db.dc.set(MARKER, 1, retry=True)
            return 0
        with db.transact():
            if db.dc.get(MARKER) is not None:
                return 0
            moved = 0
            for key in list(db.keys("s|")):
                _, name, tf = key.split("|", 2)
                if "@" not in name:
                    moved += _migrate_series(db, catalog, load_rows, name, tf)
            for key in list(db.keys("c|")):  # ranges fetched with no bars at all
                _, name, tf = key.split("|", 2)
                if "@" not in name and db.dc.get(db.series_key(name, tf)) is None:
                    _split_coverage(db, name, tf)
            db.dc.set(MARKER, 1, retry=True)
    except (sqlite3.OperationalError, diskcache.Timeout, OSError) as exc:  # read-only, busy
        log.warning("cache: could not record the series' sources yet (%s)", exc)
        return 0
    if moved:
        log.info("cache: %d series given the source their bars came from", moved)
    return moved


def _migrate_series(
    db: Backend, catalog: Catalog, load_rows: LoadRows, symbol: str, tf: str
) -> int:
    """Inside the transaction: split one old series by its rows' sources."""
    targets: set[str] = set()
    old = 0  # partitions written by an older version (no "source" in their metadata)
    for year in catalog.years(symbol, tf):
        try:
            meta = db.get_json(db.meta_key(symbol, tf, year))
        except ValueError:
            continue
        if not isinstance(meta, dict) or "source" in meta:  # not written by an older version
            continue
        old += 1
        rows = load_rows(symbol, tf, year, meta)
        if rows is None:
            continue  # damaged: quarantined by load_rows
        of = [old_source(p, symbol, tf) for p in rows.sources]
        groups = {src: np.isin(rows.codes, [i for i, s in enumerate(of) if s == src]) for src in of}
        groups = {src: mask for src, mask in groups.items() if mask.any()}
        names = {store_name(symbol, src) for src in groups}
        targets.update(groups)
        if names <= {symbol}:  # every row is the default source's: the metadata says so
            meta.update(identity_fields(symbol))
            meta["delivered_basis"] = delivered_basis(rows.sources)
            db.set_json(db.meta_key(symbol, tf, year), meta)
            continue
        for source, mask in groups.items():
            _write(db, catalog, store_name(symbol, source), tf, year, subset_rows(rows, mask), meta)
        if symbol not in names:
            catalog.index_years(symbol, tf, remove=[year])
            db.delete(db.meta_key(symbol, tf, year), db.atime_key(symbol, tf, year))
        if isinstance(meta.get("generation"), str):
            db.delete(db.data_key(symbol, tf, year, meta["generation"]))
    if old:
        _split_coverage(db, symbol, tf)
    return sum(1 for s in targets if store_name(symbol, s) != symbol)


def subset_rows(rows: Rows, mask: np.ndarray) -> Rows:
    """The rows where ``mask`` is set, with their own provider list."""
    used = sorted({int(c) for c in rows.codes[mask]})
    remap = np.zeros(len(rows.sources), dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    return Rows(
        rows.timestamps[mask],
        np.ascontiguousarray(rows.values[:, mask]),
        rows.columns,
        [rows.sources[i] for i in used],
        remap[rows.codes[mask]],
    )


def _write(
    db: Backend, catalog: Catalog, name: str, tf: str, year: int, rows: Rows, old: dict
) -> None:
    """Store ``rows`` as the partition ``name``/``tf``/``year`` (a new generation)."""
    blob, members = parts.encode(rows, year)
    gen = uuid.uuid4().hex
    db.put_data(db.data_key(name, tf, year, gen), blob)
    whole = rows.size == int(old.get("bars", -1))
    quality = old.get("data_quality") if whole else parts.default_quality(rows, 0)
    meta = parts.build_metadata(
        symbol=name, timeframe=tf, year=year, rows=rows, blob=blob, members=members, gen=gen,
        previous=old, quality=quality or parts.default_quality(rows, 0),
        provider_info=dict(old.get("provider_info") or {}),
    )  # fmt: skip
    meta.update(identity_fields(name))
    meta["delivered_basis"] = delivered_basis(rows.sources)
    db.set_json(db.meta_key(name, tf, year), meta)
    db.dc.set(db.atime_key(name, tf, year), time.time(), retry=True)
    catalog.index_years(name, tf, add=[year])


def delivered_basis(providers: list[str]) -> dict[str, str]:
    """The basis each equity provider in ``providers`` delivered (those with a known one)."""
    return {p: basis for p in providers if (basis := provider_basis(p)) is not None}


def _split_coverage(db: Backend, symbol: str, tf: str) -> None:
    """Inside the transaction: hand each coverage span to its provider's source's series."""
    try:
        items = db.get_json(db.coverage_key(symbol, tf)) or []
    except ValueError:
        return
    groups: dict[str, list[list]] = {}
    for item in items:
        if isinstance(item, list) and len(item) == 4 and isinstance(item[2], str):
            name = store_name(symbol, old_source(item[2], symbol, tf))
            groups.setdefault(name, []).append(item)
    db.delete(db.coverage_key(symbol, tf))
    for name, spans in groups.items():
        db.set_json(db.coverage_key(name, tf), spans)


def split_old(
    symbol: str, tf: str, rows: Rows | None, meta: dict[str, Any], coverage: list[Any]
) -> list[tuple[str, Rows | None, dict[str, Any], list[Any]]]:
    """One partition written before sources existed (``rows`` with their providers, its
    ``meta``, its ``coverage`` spans ``(start, end, provider, fetched_at)``) as
    ``(stored name, rows, metadata, spans)`` per source, the way :func:`migrate` splits an old
    cache's series (used for trees exported by an older version)."""
    rows = rows if rows is not None and rows.size else None
    of = [old_source(p, symbol, tf) for p in rows.sources] if rows is not None else []
    spans: dict[str, list[Any]] = {}
    for span in coverage:
        spans.setdefault(old_source(span[2], symbol, tf), []).append(span)
    out: list[tuple[str, Rows | None, dict[str, Any], list[Any]]] = []
    for source in dict.fromkeys([*of, *spans]):
        name = store_name(symbol, source)
        part, record = None, dict(meta)
        if rows is not None and source in of:
            part = subset_rows(
                rows, np.isin(rows.codes, [i for i, s in enumerate(of) if s == source])
            )
            record = _old_meta(meta, part, name, whole=part.size == rows.size)
        out.append((name, part, record, spans.get(source, [])))
    return out


def _old_meta(meta: dict[str, Any], rows: Rows, name: str, whole: bool) -> dict[str, Any]:
    """``meta`` restated for the ``rows`` of one source."""
    runs = parts.runs_of(rows)
    counts: dict[str, int] = {}
    for provider, n in runs:
        counts[provider] = counts.get(provider, 0) + n
    return {
        **meta,
        **identity_fields(name),
        "delivered_basis": delivered_basis(rows.sources),
        "bars": rows.size,
        "first": iso(int(rows.timestamps[0])),
        "last": iso(int(rows.timestamps[-1])),
        "source_runs": runs,
        "providers": [{"provider": k, "bars": v} for k, v in counts.items()],
        "data_source": next(iter(counts)) if len(counts) == 1 else "mixed",
        "data_quality": meta.get("data_quality") if whole else parts.default_quality(rows, 0),
    }
