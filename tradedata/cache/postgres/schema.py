"""The PostgreSQL schema and its versioned migrations (``tradedata.schema_migrations``).

Every store opens by running :func:`migrate`: under a transaction-scoped advisory lock (so
processes opening a new database at once do not race), each migration newer than the
recorded version runs in order and is recorded. A database written by an older version of
the package therefore opens and is brought up to date; one written by a newer version is
refused (its tables may mean something this version does not know).

Bars are one row per bar: ``(series_id, open_time)`` primary key, float8 columns. When the
TimescaleDB extension is available (``pg_available_extensions``) ``bars`` becomes a
hypertable; otherwise it stays a plain table. ``bar_blocks``/``block_years`` hold a compressed
columnar copy of each stored month (:mod:`tradedata.cache.postgres.blocks`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tradedata.errors import CacheError

__all__ = ["MIGRATIONS", "SCHEMA", "migrate", "schema_version"]

log = logging.getLogger("tradedata")

SCHEMA = "tradedata"
_LOCK = "tradedata.schema"

_V1 = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE {SCHEMA}.providers (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
);
CREATE TABLE {SCHEMA}.series (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    symbol text NOT NULL,
    timeframe text NOT NULL,
    has_adj boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, symbol, timeframe)
);
CREATE TABLE {SCHEMA}.bars (
    series_id integer NOT NULL,
    open_time timestamptz NOT NULL,
    open float8 NOT NULL,
    high float8 NOT NULL,
    low float8 NOT NULL,
    close float8 NOT NULL,
    volume float8 NOT NULL,
    adj_close float8 NOT NULL DEFAULT 'NaN',
    provider_id integer NOT NULL,
    PRIMARY KEY (series_id, open_time)
);
CREATE TABLE {SCHEMA}.coverage (
    series_id integer NOT NULL,
    start_ns bigint NOT NULL,
    end_ns bigint NOT NULL,
    provider text NOT NULL,
    fetched_at_ns bigint NOT NULL,
    PRIMARY KEY (series_id, start_ns)
);
CREATE TABLE {SCHEMA}.metadata (
    series_id integer NOT NULL,
    year integer NOT NULL,
    meta jsonb NOT NULL,
    PRIMARY KEY (series_id, year)
);
CREATE TABLE {SCHEMA}.fundamentals (
    key text PRIMARY KEY,
    value text NOT NULL,
    expires_at float8
);
"""

_V2 = f"""
CREATE TABLE {SCHEMA}.actions (
    source text NOT NULL DEFAULT '',
    symbol text NOT NULL,
    record jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, symbol)
);
"""


_V4 = f"""
ALTER TABLE {SCHEMA}.bars ADD COLUMN open_interest float8 NOT NULL DEFAULT 'NaN';
ALTER TABLE {SCHEMA}.series ADD COLUMN has_oi boolean NOT NULL DEFAULT false;
"""

_V5 = f"""
CREATE TABLE {SCHEMA}.bar_blocks (
    series_id integer NOT NULL,
    month_ns bigint NOT NULL,
    rows integer NOT NULL,
    block bytea NOT NULL,
    PRIMARY KEY (series_id, month_ns)
);
ALTER TABLE {SCHEMA}.bar_blocks ALTER COLUMN block SET STORAGE EXTERNAL;
CREATE TABLE {SCHEMA}.block_years (
    series_id integer NOT NULL,
    year integer NOT NULL,
    PRIMARY KEY (series_id, year)
);
"""


def _timescale(cur: Any) -> None:
    """Make ``bars`` a hypertable when TimescaleDB can be had (else leave it plain)."""
    cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    if cur.fetchone() is None:
        log.info("timescaledb not available: bars stay a plain PostgreSQL table")
        return
    try:
        with cur.connection.transaction():  # a savepoint: a refusal leaves the rest intact
            cur.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            cur.execute(
                "SELECT create_hypertable(%s, 'open_time', migrate_data => true,"
                " if_not_exists => true)",
                (f"{SCHEMA}.bars",),
            )
    except Exception as exc:  # no privilege, preload missing: stay plain, say why
        log.warning("timescaledb present but not usable (%s): bars stay a plain table", exc)


def _sql(text: str) -> Callable[[Any], None]:
    def run(cur: Any) -> None:
        cur.execute(text)

    return run


#: (version, name, step) in order; a released step is never edited, only followed.
MIGRATIONS: list[tuple[int, str, Callable[[Any], None]]] = [
    (1, "series, bars, coverage, metadata, fundamentals", _sql(_V1)),
    (2, "corporate actions: one record of splits and dividends per symbol", _sql(_V2)),
    (3, "timescaledb hypertable for bars when available", _timescale),
    (4, "open interest: a bars column and a per-series flag", _sql(_V4)),
    (5, "bar blocks: a compressed columnar copy of each month for fast reads", _sql(_V5)),
]
LATEST = MIGRATIONS[-1][0]


def schema_version(cur: Any) -> int:
    """The version recorded in the database (0 for a database without our tables)."""
    cur.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.schema_migrations",))
    row = cur.fetchone()
    if row is None or row[0] is None:
        return 0
    cur.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_migrations")
    return int(cur.fetchone()[0])


def migrate(conn: Any, upto: int | None = None) -> int:
    """Bring the schema up to ``upto`` (default: the latest); returns the version reached."""
    target = LATEST if upto is None else upto
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_LOCK,))
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (version integer PRIMARY"
            " KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        version = schema_version(cur)
        if version > LATEST:
            raise CacheError(
                f"the store's schema is version {version}, newer than this tradedata knows"
                f" ({LATEST}); upgrade tradedata"
            )
        for number, name, step in MIGRATIONS:
            if version < number <= target:
                step(cur)
                cur.execute(
                    f"INSERT INTO {SCHEMA}.schema_migrations (version, name) VALUES (%s, %s)",
                    (number, name),
                )
                version = number
    return version
