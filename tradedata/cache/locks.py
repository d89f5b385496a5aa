"""Machine-wide locks of the embedded store: one fetcher per missing range of a series.

:meth:`Cache.hole_lock <tradedata.cache.Cache.hole_lock>` takes an exclusive ``flock`` on a
small file named by the hash of (series, range) in the cache folder's ``locks/``: every process
on the machine that asks for the same hole waits for the first one, then finds it filled. The
lock is released by the kernel when its holder dies. Where ``fcntl`` is missing (Windows)
the lock is process-local.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["file_lock", "lock_name"]

_local = threading.Lock()


#: lock files are buckets of keys: the folder never holds more than this many files (two
#: unrelated holes sharing a bucket only take turns)
BUCKETS = 4096


def lock_name(*parts: object) -> str:
    """A short stable file name for a lock key (one of :data:`BUCKETS`)."""
    digest = hashlib.sha1("|".join(str(p) for p in parts).encode()).digest()
    return f"{int.from_bytes(digest[:4], 'big') % BUCKETS:03x}"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with _local:
            yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
