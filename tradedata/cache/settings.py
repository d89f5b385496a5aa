"""Where the embedded :class:`~tradedata.cache.store.Cache` lives and how large it may grow.

``cache_dir`` defaults to ``DATA_CACHE_DIR`` or the platform's user cache folder
(``platformdirs.user_cache_dir("tradedata")``); ``max_size_gb`` to ``CACHE_MAX_SIZE_GB`` or
:data:`DEFAULT_MAX_SIZE_GB`. A value that cannot be used is a :class:`ConfigurationError`
when it came from the environment, an :class:`InputError` when it was passed in. The folder
is created when a ``Cache`` opens it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from tradedata.errors import CacheError, ConfigurationError, InputError

__all__ = [
    "DEFAULT_MAX_SIZE_GB",
    "default_cache_dir",
    "expand",
    "make_directory",
    "size_limit",
]

DEFAULT_MAX_SIZE_GB = 20.0


def expand(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` with ``~``/``~user`` expanded; a :class:`ConfigurationError` if it cannot be."""
    try:
        return Path(path).expanduser()
    except (RuntimeError, KeyError) as exc:  # "~nosuchuser/x": no such home directory
        raise ConfigurationError(f"{what} {os.fspath(path)!r}: cannot expand '~' ({exc})") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{what} must be a path, got {path!r}") from exc


def default_cache_dir() -> Path:
    """``DATA_CACHE_DIR`` if set, else the platform's user cache folder for tradedata."""
    env = os.environ.get("DATA_CACHE_DIR")
    if env:
        return expand(env, "DATA_CACHE_DIR")
    import platformdirs

    return Path(platformdirs.user_cache_dir("tradedata"))


def make_directory(directory: Path, given: object) -> None:
    """Create the cache folder ``directory`` (from ``given``, the ``cache_dir`` passed in);
    a :class:`CacheError` when it cannot be created, a :class:`ConfigurationError` when it
    is not a valid path."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"cannot create the cache directory {directory}: {exc.strerror or exc}"
        ) from exc
    except ValueError as exc:  # an embedded NUL byte
        raise ConfigurationError(f"cache_dir {str(given)!r} is not a valid path") from exc


def size_limit(max_size_gb: float | None) -> int:
    """The limit in bytes: a finite positive number of GB (beyond 1e9 GB means none)."""
    env = os.environ.get("CACHE_MAX_SIZE_GB", "").strip() if max_size_gb is None else None
    if max_size_gb is None and not env:
        return int(DEFAULT_MAX_SIZE_GB * 1e9)
    error = ConfigurationError if env else InputError
    shown = f"CACHE_MAX_SIZE_GB {env!r}" if env else f"max_size_gb {max_size_gb!r}"
    raw = env if env else max_size_gb
    try:
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)) or raw == "":
            raise TypeError(type(raw).__name__)
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise error(f"{shown} is not a number") from exc
    if not (math.isfinite(value) and value > 0):
        raise error(f"{shown} must be a positive number")
    return int(min(value, 1e9) * 1e9)
