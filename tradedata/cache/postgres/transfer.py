"""Plain-file trees and checks for :class:`~tradedata.cache.postgres.PostgresStore`.

A tree is the embedded cache's export format (:mod:`tradedata.cache.tree`), so a tree
exported from either store imports into either. The PostgreSQL store goes through a scratch
embedded cache: export syncs the database into it and writes its tree; import reads the tree
into it (every check of the tree format applies, before anything is written) and syncs it into
the database.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pandas as pd

from tradedata.cache.layout import Damage, year_bounds
from tradedata.cache.sync import sync_stores

__all__ = ["export_tree", "import_tree", "verify"]


def export_tree(store: Any, directory: str | os.PathLike[str], progress: Any = None) -> int:
    """Write ``store`` as a plain-file tree into ``directory``; returns partitions written."""
    from tradedata.cache.store import Cache

    with tempfile.TemporaryDirectory(prefix="tradedata-export-") as tmp, Cache(tmp) as scratch:
        sync_stores(store, scratch)
        return scratch.export_tree(directory, progress)


def import_tree(store: Any, directory: str | os.PathLike[str], progress: Any = None) -> int:
    """Read a plain-file tree into ``store``; returns the partitions imported."""
    from tradedata.cache.store import Cache

    with tempfile.TemporaryDirectory(prefix="tradedata-import-") as tmp, Cache(tmp) as scratch:
        count = scratch.import_tree(directory, progress)
        sync_stores(scratch, store)
        return count


def verify(store: Any, progress: Any = None) -> list[Damage]:
    """Each year's metadata and read blocks against its bars; a year whose count or range
    disagrees is summarised again from its bars (its blocks rebuilt) and reported."""
    found: list[Damage] = []
    items = [(s.symbol, s.timeframe, y, s.source or None) for s in store.series() for y in s.years]
    for symbol, tf, year, src in progress(items) if progress else items:
        now = pd.Timestamp.now(tz="UTC")
        # the blocks first: the metadata check below reads through them
        if (reason := store.check_blocks(symbol, tf, year, source=src)) is not None:
            found.append(Damage(symbol, tf, year, f"read blocks: {reason}", None, now))
        meta = store.metadata(symbol, tf, year, source=src) or {}
        first, after = year_bounds(year)
        frame = store.read(
            symbol, tf, pd.Timestamp(first, tz="UTC"), pd.Timestamp(after - 1, tz="UTC"), source=src
        )
        stored = (len(frame), frame.index[0].isoformat() if len(frame) else None)
        if stored != (meta.get("bars"), meta.get("first")):
            reason = f"metadata says {meta.get('bars')} bars, the table holds {len(frame)}"
            if len(frame):
                source = (meta.get("source_runs") or [["unknown"]])[-1][0]
                store.write(symbol, tf, frame, source=src, provider=str(source))
            found.append(Damage(symbol, tf, year, reason, None, now))
    return found
