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


def lock_name(*parts: object) -> str:
    """A short stable file name for a lock key."""
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


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
