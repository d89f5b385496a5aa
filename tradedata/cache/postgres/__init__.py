"""The PostgreSQL store: bars as rows, binary COPY in and out, fleet-wide fetch locks.

>>> from tradedata.cache.postgres import PostgresStore
>>> store = PostgresStore("postgresql://me@db.example/market")     # doctest: +SKIP

Needs ``psycopg`` (``pip install 'tradedata[postgresql]'``). See
:mod:`tradedata.cache.postgres.store`.
"""

from __future__ import annotations

from tradedata.cache.postgres.dsn import redact
from tradedata.cache.postgres.store import PostgresStore

__all__ = ["PostgresStore", "redact"]
