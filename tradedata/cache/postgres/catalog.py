"""What the PostgreSQL store holds: series rows, providers, per-year metadata, counts.

Plain functions of an open cursor (the caller owns the transaction), so that
:class:`~tradedata.cache.postgres.store.PostgresStore` stays the one place that decides what
runs together.
"""

from __future__ import annotations

from typing import Any

from tradedata.cache.partitions import column_order
from tradedata.cache.postgres.schema import SCHEMA
from tradedata.model import ADJ_CLOSE, OHLCV_COLUMNS, OPEN_INTEREST

__all__ = [
    "COLUMN_FLAGS",
    "block_rows_sql",
    "columns_of",
    "count_mismatches",
    "covered",
    "drop",
    "listing",
    "provider_id",
    "series_row",
    "sizes",
    "sources",
    "truncate",
    "year_meta_of",
    "years_of_series",
]

_KEY = "s.source = %s AND s.symbol = %s AND s.timeframe = %s"

#: the optional bar columns and the ``series`` flag saying a series holds them
COLUMN_FLAGS = ((ADJ_CLOSE, "has_adj"), (OPEN_INTEREST, "has_oi"))

#: a series: ``(source, symbol, timeframe)`` (see :mod:`tradedata.identity`)
Key = tuple[str, str, str]


def series_row(cur: Any, key: Key, *, create: bool = False) -> Any:
    """``(id, has_adj, has_oi)`` of a series, or None; ``create`` adds it and locks its row."""
    if create:
        cur.execute(
            f"INSERT INTO {SCHEMA}.series (source, symbol, timeframe) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            key,
        )
    lock = " FOR UPDATE" if create else ""
    cur.execute(f"SELECT id, has_adj, has_oi FROM {SCHEMA}.series s WHERE {_KEY}{lock}", key)
    return cur.fetchone()


def columns_of(found: Any) -> tuple[str, ...]:
    """The columns a series holds, from its row ``(id, has_adj, has_oi)`` (None: OHLCV)."""
    if found is None:
        return OHLCV_COLUMNS
    flags = zip(COLUMN_FLAGS, found[1:3], strict=True)
    return column_order([*OHLCV_COLUMNS, *(name for (name, _), flag in flags if flag)])


def provider_id(cur: Any, name: str) -> int:
    """The id of a provider name (added on first use)."""
    cur.execute(
        f"INSERT INTO {SCHEMA}.providers (name) VALUES (%s) ON CONFLICT (name) DO NOTHING",
        (name,),
    )
    cur.execute(f"SELECT id FROM {SCHEMA}.providers WHERE name = %s", (name,))
    return int(cur.fetchone()[0])


def years_of_series(cur: Any, key: Key) -> list[int]:
    """The years holding bars of a series, ascending."""
    cur.execute(
        f"SELECT m.year FROM {SCHEMA}.metadata m JOIN {SCHEMA}.series s ON s.id = m.series_id"
        f" WHERE {_KEY} ORDER BY m.year",
        key,
    )
    return [int(r[0]) for r in cur.fetchall()]


def year_meta_of(cur: Any, key: Key, year: int) -> dict | None:
    """The metadata of one year of a series."""
    cur.execute(
        f"SELECT m.meta FROM {SCHEMA}.metadata m JOIN {SCHEMA}.series s ON s.id = m.series_id"
        f" WHERE {_KEY} AND m.year = %s",
        (*key, int(year)),
    )
    row = cur.fetchone()
    return dict(row[0]) if row else None


def listing(cur: Any) -> dict[Key, list[dict]]:
    """Every series with bars: its metadata records, oldest year first."""
    cur.execute(
        f"SELECT s.source, s.symbol, s.timeframe, m.meta FROM {SCHEMA}.series s JOIN"
        f" {SCHEMA}.metadata m ON m.series_id = s.id ORDER BY s.id, m.year"
    )
    grouped: dict[Key, list[dict]] = {}
    for source, symbol, tf, meta in cur.fetchall():
        grouped.setdefault((source, symbol, tf), []).append(meta)
    return grouped


def covered(cur: Any) -> list[Key]:
    """``(source, symbol, timeframe)`` of every series with coverage recorded."""
    cur.execute(
        f"SELECT source, symbol, timeframe FROM {SCHEMA}.series s WHERE EXISTS (SELECT 1 FROM"
        f" {SCHEMA}.coverage c WHERE c.series_id = s.id) ORDER BY source, symbol, timeframe"
    )
    return [(str(a), str(b), str(c)) for a, b, c in cur.fetchall()]


def sources(cur: Any, symbol: str, tf: str | None) -> list[str]:
    """The sources with bars or coverage of ``symbol`` (at ``tf``) stored, sorted."""
    cur.execute(
        f"SELECT DISTINCT source FROM {SCHEMA}.series s WHERE symbol = %s"
        " AND (%s::text IS NULL OR timeframe = %s) AND (EXISTS (SELECT 1 FROM"
        f" {SCHEMA}.metadata m WHERE m.series_id = s.id) OR EXISTS (SELECT 1 FROM"
        f" {SCHEMA}.coverage c WHERE c.series_id = s.id)) ORDER BY source",
        (symbol, tf, tf),
    )
    return [str(r[0]) for r in cur.fetchall()]


def sizes(cur: Any) -> tuple[int, int, int]:
    """``(series with bars, years stored, bytes of our tables)``.

    The bytes include every table inheriting from ours: a TimescaleDB hypertable keeps its
    rows in chunk tables of another schema, which inherit from it.
    """
    cur.execute(
        "WITH RECURSIVE rel(oid) AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'"
        " UNION SELECT i.inhrelid FROM pg_inherits i JOIN rel ON i.inhparent = rel.oid)"
        f" SELECT (SELECT count(DISTINCT series_id) FROM {SCHEMA}.metadata),"
        f" (SELECT count(*) FROM {SCHEMA}.metadata),"
        " (SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM rel)",
        (SCHEMA,),
    )
    a, b, c = cur.fetchone()
    return int(a), int(b), int(c)


def drop(cur: Any, source: str, symbol: str, tf: str | None) -> int:
    """Remove a series' bars, metadata and coverage (every timeframe when ``tf`` is None);
    returns the years removed."""
    cur.execute(
        f"SELECT id FROM {SCHEMA}.series WHERE source = %s AND symbol = %s"
        " AND (%s::text IS NULL OR timeframe = %s) FOR UPDATE",
        (source, symbol, tf, tf),
    )
    ids = [int(r[0]) for r in cur.fetchall()]
    cur.execute(f"DELETE FROM {SCHEMA}.metadata WHERE series_id = ANY(%s)", (ids,))
    removed = int(cur.rowcount)
    for table in ("bars", "coverage", "bar_blocks", "block_years"):
        cur.execute(f"DELETE FROM {SCHEMA}.{table} WHERE series_id = ANY(%s)", (ids,))
    return removed


def truncate(cur: Any) -> None:
    """Remove every bar, metadata record, span, action and fundamentals entry."""
    tables = (
        "bars",
        "bar_blocks",
        "block_years",
        "coverage",
        "metadata",
        "actions",
        "fundamentals",
    )
    cur.execute("TRUNCATE " + ", ".join(f"{SCHEMA}.{t}" for t in tables))


def block_rows_sql(table: str) -> str:
    """SQL of the rows the read blocks of one year hold, for the row ``table`` (an alias of a
    table with ``series_id`` and ``year`` columns)."""
    start = f"(extract(epoch FROM make_timestamptz({table}.year, 1, 1, 0, 0, 0, 'UTC')) * 1e9)"
    after = start.replace(f"{table}.year,", f"{table}.year + 1,")
    return (
        f"(SELECT coalesce(sum(k.rows), 0) FROM {SCHEMA}.bar_blocks k WHERE k.series_id ="
        f" {table}.series_id AND k.month_ns >= {start}::bigint AND k.month_ns < {after}::bigint)"
    )


def count_mismatches(cur: Any) -> list[str]:
    """Years whose metadata's bar count differs from the rows stored or from their read
    blocks, as readable lines."""
    cur.execute(
        f"SELECT s.source, s.symbol, s.timeframe, m.year, (m.meta->>'bars')::bigint,"
        f" (SELECT count(*) FROM {SCHEMA}.bars b WHERE b.series_id = m.series_id"
        " AND b.open_time >= make_timestamptz(m.year, 1, 1, 0, 0, 0, 'UTC')"
        " AND b.open_time < make_timestamptz(m.year + 1, 1, 1, 0, 0, 0, 'UTC'))"
        f" FROM {SCHEMA}.metadata m JOIN {SCHEMA}.series s ON s.id = m.series_id"
    )
    found = [
        f"{symbol} {tf} {year} ({source}): metadata says {said} bars, the table holds {held}"
        for source, symbol, tf, year, said, held in cur.fetchall()
        if said != held
    ]
    cur.execute(  # whole years' read blocks against the metadata (tradedata.cache.postgres.blocks)
        f"SELECT s.source, s.symbol, s.timeframe, y.year, (m.meta->>'bars')::bigint,"
        f" {block_rows_sql('y')} FROM {SCHEMA}.block_years y"
        f" JOIN {SCHEMA}.series s ON s.id = y.series_id"
        f" LEFT JOIN {SCHEMA}.metadata m ON m.series_id = y.series_id AND m.year = y.year"
    )
    found += [
        f"{symbol} {tf} {year} ({source}): metadata says {said} bars, its read blocks {held}"
        for source, symbol, tf, year, said, held in cur.fetchall()
        if said != held
    ]
    return found
