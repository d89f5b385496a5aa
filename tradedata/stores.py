"""Which store a manager opens, from its arguments, the environment and the config.

In order: a store object handed in (its owner closes it); a ``store`` URL or folder; with
neither ``store`` nor ``cache_dir``, ``TRADEDATA_STORE`` or the config's ``store:``; else the
embedded cache in ``cache_dir`` (default: the config's, ``DATA_CACHE_DIR``, or the platform's
user cache directory). A PostgreSQL store takes the config's password and keeps its
machine-local side files in the cache folder.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradedata.cache.interface import Store
    from tradedata.config import Config

__all__ = ["describe", "open_configured", "owns"]


def owns(store: Any) -> bool:
    """True when the manager opens the store ``store`` names (and so closes it): not for a
    store object handed in."""
    return store is None or isinstance(store, (str, os.PathLike))


def open_configured(store: Any, cache_dir: Any, max_size_gb: float | None, config: Config) -> Any:
    """The store the manager reads and writes, a :class:`~tradedata.cache.interface.Store`
    (see the module docs for the order)."""
    from tradedata.cache.opening import is_url, open_store

    if not owns(store):
        return store  # a store object
    spec = store
    if spec is None and cache_dir is None:
        spec = os.environ.get("TRADEDATA_STORE") or config.store
    local = cache_dir or config.cache_dir
    if is_url(spec):
        from tradedata.cache.postgres.store import PostgresStore

        return PostgresStore(str(spec), password=config.store_password, local_dir=local)
    return open_store(spec or local, max_size_gb=max_size_gb or config.cache_max_size_gb)


def describe(store: Store) -> str:
    """``store=<url>`` for a PostgreSQL store, else ``cache_dir=<folder>`` (for reprs)."""
    from tradedata.cache.opening import is_url

    if is_url(getattr(store, "location", None)):
        return f"store={store.location!r}"
    return f"cache_dir={str(store.directory)!r}"
