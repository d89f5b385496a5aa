"""Opening a store from what names it: a cache folder or a ``postgresql://`` URL."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["is_url", "open_store"]


def is_url(spec: Any) -> bool:
    """True for a ``postgresql://`` / ``postgres://`` store URL."""
    return isinstance(spec, str) and spec.split("://", 1)[0].lower() in ("postgresql", "postgres")


def open_store(
    spec: str | os.PathLike[str] | None = None,
    *,
    max_size_gb: float | None = None,
    local_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """The store named by ``spec``: a ``postgresql://`` URL, else a cache folder (None: default).

    ``local_dir`` is the folder a PostgreSQL store keeps machine-local side files in (zipline
    asset ids); it defaults to the embedded cache folder.
    """
    if is_url(spec):
        from tradedata.cache.postgres.store import PostgresStore

        return PostgresStore(str(spec), local_dir=local_dir)
    from tradedata.cache.store import Cache

    return Cache(spec, max_size_gb=max_size_gb)
