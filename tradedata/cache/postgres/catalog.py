"""What the PostgreSQL store holds: series rows, providers, per-year metadata, counts.

Plain functions of an open cursor (the caller owns the transaction), so that
:class:`~tradedata.cache.postgres.store.PostgresStore` stays the one place that decides what
runs together.
"""

from __future__ import annotations

from typing import Any

from tradedata.cache.postgres.schema import SCHEMA

__all__ = [
    "covered",
    "drop",
    "listing",
    "provider_id",
    "series_row",
    "sizes",
    "truncate",
    "year_meta_of",
    "years_of_series",
]

_KEY = "s.source = '' AND s.symbol = %s AND s.timeframe = %s"


def series_row(cur: Any, symbol: str, tf: str, *, create: bool = False) -> Any:
    """``(id, has_adj)`` of a series, or None; ``create`` adds it and locks its row."""
    if create:
        cur.execute(
            f"INSERT INTO {SCHEMA}.series (symbol, timeframe) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (symbol, tf),
        )
    lock = " FOR UPDATE" if create else ""
    cur.execute(f"SELECT id, has_adj FROM {SCHEMA}.series s WHERE {_KEY}{lock}", (symbol, tf))
    return cur.fetchone()


def provider_id(cur: Any, name: str) -> int:
    """The id of a provider name (added on first use)."""
    cur.execute(
        f"INSERT INTO {SCHEMA}.providers (name) VALUES (%s) ON CONFLICT (name) DO NOTHING",
        (name,),
    )
    cur.execute(f"SELECT id FROM {SCHEMA}.providers WHERE name = %s", (name,))
    return int(cur.fetchone()[0])


def years_of_series(cur: Any, symbol: str, tf: str) -> list[int]:
    """The years holding bars of a series, ascending."""
    cur.execute(
        f"SELECT m.year FROM {SCHEMA}.metadata m JOIN {SCHEMA}.series s ON s.id = m.series_id"
        f" WHERE {_KEY} ORDER BY m.year",
        (symbol, tf),
    )
    return [int(r[0]) for r in cur.fetchall()]


def year_meta_of(cur: Any, symbol: str, tf: str, year: int) -> dict | None:
    """The metadata of one year of a series."""
    cur.execute(
        f"SELECT m.meta FROM {SCHEMA}.metadata m JOIN {SCHEMA}.series s ON s.id = m.series_id"
        f" WHERE {_KEY} AND m.year = %s",
        (symbol, tf, int(year)),
    )
    row = cur.fetchone()
    return dict(row[0]) if row else None


def listing(cur: Any) -> dict[tuple[str, str], list[dict]]:
    """Every series with bars: its metadata records, oldest year first."""
    cur.execute(
        f"SELECT s.symbol, s.timeframe, m.meta FROM {SCHEMA}.series s JOIN {SCHEMA}.metadata m"
        " ON m.series_id = s.id ORDER BY s.id, m.year"
    )
    grouped: dict[tuple[str, str], list[dict]] = {}
    for symbol, tf, meta in cur.fetchall():
        grouped.setdefault((symbol, tf), []).append(meta)
    return grouped


def covered(cur: Any) -> list[tuple[str, str]]:
    """``(symbol, timeframe)`` of every series with coverage recorded."""
    cur.execute(
        f"SELECT symbol, timeframe FROM {SCHEMA}.series s WHERE EXISTS (SELECT 1 FROM"
        f" {SCHEMA}.coverage c WHERE c.series_id = s.id) ORDER BY symbol, timeframe"
    )
    return [(str(a), str(b)) for a, b in cur.fetchall()]


def sizes(cur: Any) -> tuple[int, int, int]:
    """``(series with bars, years stored, bytes of our tables)``."""
    cur.execute(
        f"SELECT (SELECT count(DISTINCT series_id) FROM {SCHEMA}.metadata),"
        f" (SELECT count(*) FROM {SCHEMA}.metadata),"
        " (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
        " AND c.relkind = 'r')",
        (SCHEMA,),
    )
    a, b, c = cur.fetchone()
    return int(a), int(b), int(c)


def drop(cur: Any, symbol: str, tf: str | None) -> int:
    """Remove a series' bars, metadata and coverage; returns the years removed."""
    cur.execute(
        f"SELECT id FROM {SCHEMA}.series WHERE source = '' AND symbol = %s"
        " AND (%s::text IS NULL OR timeframe = %s) FOR UPDATE",
        (symbol, tf, tf),
    )
    ids = [int(r[0]) for r in cur.fetchall()]
    cur.execute(f"DELETE FROM {SCHEMA}.metadata WHERE series_id = ANY(%s)", (ids,))
    removed = int(cur.rowcount)
    for table in ("bars", "coverage"):
        cur.execute(f"DELETE FROM {SCHEMA}.{table} WHERE series_id = ANY(%s)", (ids,))
    return removed


def truncate(cur: Any) -> None:
    """Remove every bar, metadata record, span, action and fundamentals entry."""
    tables = ("bars", "coverage", "metadata", "actions", "fundamentals")
    cur.execute("TRUNCATE " + ", ".join(f"{SCHEMA}.{t}" for t in tables))
