"""The destination of a Parquet export: any fsspec URL, written atomically.

Every file is written under a temporary name that Hive readers skip (it starts with ``_`` and
does not end in ``.parquet``) in the folder it belongs to, then renamed into place: a reader sees
the old file or the new one, never half of one. On a local folder the rename is ``os.rename``;
on S3 it is a server-side copy (one atomic object write) and a delete.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from tradedata.errors import ExportError, MissingExtraError, TradeDataError

__all__ = ["Target", "open_target", "redact", "register_credentials"]

_USERINFO = re.compile(r"(?<=://)[^/@]*@")


def redact(url: str) -> str:
    """``url`` without any ``user:secret@`` part or registered secret (for messages)."""
    from tradedata.redact import redact as redact_text

    return redact_text(_USERINFO.sub("***@", url))


def open_target(dest: str, storage_options: dict[str, Any] | None = None) -> Target:
    """The filesystem and root folder of ``dest`` (a path or an fsspec URL such as ``s3://``)."""
    register_credentials(storage_options)
    if not isinstance(dest, str) or not dest.strip():
        from tradedata.errors import InputError

        raise InputError(f"the export destination must be a path or URL, got {dest!r}")
    from tradedata.extras import require

    require("parquet", "the Parquet export")
    import fsspec.core

    try:
        fs, root = fsspec.core.url_to_fs(dest, **(storage_options or {}))
    except ImportError as exc:  # e.g. s3fs for s3://: fsspec says which package
        raise MissingExtraError(
            f'writing to {redact(dest)} needs the "parquet" extra ({exc}): '
            'pip install "tradedata[parquet]"'
        ) from exc
    except (ValueError, TypeError, OSError) as exc:
        from tradedata.redact import summary, upstream

        raise ExportError(f"cannot open {redact(dest)}: {summary(exc)}") from upstream(exc)
    return Target(fs, str(root).rstrip("/"), redact(dest))


#: storage option names (s3fs, botocore, gcsfs, adlfs) whose values are credentials
_SECRET_OPTIONS = frozenset(
    {"secret", "token", "password", "aws_secret_access_key", "aws_session_token",
     "account_key", "sas_token", "client_secret", "connection_string"}
)  # fmt: skip
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def register_credentials(options: dict[str, Any] | None) -> None:
    """Register the credentials an export may use, so no message or error chain shows them."""
    from tradedata.redact import register_secret

    for name in _SECRET_ENV:
        register_secret(os.environ.get(name))
    todo: list[Any] = [options or {}]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, str) and str(key).lower() in _SECRET_OPTIONS:
                    register_secret(value)
                else:
                    todo.append(value)


class Target:
    """A dataset root on an fsspec filesystem; every failure becomes an :class:`ExportError`."""

    def __init__(self, fs: Any, root: str, label: str) -> None:
        self.fs = fs
        self.root = root
        self.label = label
        self.is_local = "file" in _protocols(fs)

    def __repr__(self) -> str:
        return f"<Target {self.label!r}>"

    def path(self, relative: str) -> str:
        """The full path of a file given relative to the root."""
        return f"{self.root}/{relative}" if relative else self.root

    @contextmanager
    def io(self, what: str) -> Iterator[None]:
        """Translate any failure of the filesystem while doing ``what`` into ExportError."""
        try:
            yield
        except TradeDataError:
            raise
        except Exception as exc:  # s3fs/botocore/OS errors: all "the destination failed"
            from tradedata.redact import summary, upstream

            message = f"{self.label}: cannot {what}: {summary(exc)}"
            raise ExportError(message) from upstream(exc)

    def prepare(self) -> None:
        """Create the root folder (and check that the destination answers)."""
        with self.io("create the dataset folder"):
            self.fs.mkdirs(self.root, exist_ok=True)
            self.fs.invalidate_cache()

    def files(self) -> set[str]:
        """Every file under the root, relative to it."""
        with self.io("list the dataset"):
            self.fs.invalidate_cache(self.root)
            found = self.fs.find(self.root) if self.fs.exists(self.root) else []
        prefix = self.fs._strip_protocol(self.root).rstrip("/") + "/"
        return {str(p)[len(prefix) :] for p in found if str(p).startswith(prefix)}

    def read(self, relative: str) -> bytes | None:
        """A file's bytes, or None when it does not exist."""
        with self.io(f"read {relative}"):
            if not self.fs.exists(self.path(relative)):
                return None
            return bytes(self.fs.cat_file(self.path(relative)))

    def write_atomic(self, relative: str, write: Callable[[IO[bytes]], None]) -> int:
        """Write a file through ``write(handle)`` under a temporary name, then rename it in place.

        Returns the bytes written. Nothing is left behind when writing fails.
        """
        final = self.path(relative)
        folder, _, name = final.rpartition("/")
        temp = f"{folder}/_tmp-{uuid.uuid4().hex}-{name}.partial"
        with self.io(f"write {relative}"):
            try:
                if self.is_local:
                    self.fs.mkdirs(folder, exist_ok=True)
                with self.fs.open(temp, "wb") as handle:
                    write(handle)
                if self.is_local:
                    _fsync(temp)  # the bytes are on disk before the name points at them
                size = int(self.fs.size(temp))
                self.fs.mv(temp, final)
            except BaseException:
                self._discard(temp)
                raise
        return size

    def delete(self, relative: str) -> None:
        """Remove a file (and, on a local folder, the partition folders it leaves empty)."""
        with self.io(f"remove {relative}"):
            full = self.path(relative)
            if self.fs.exists(full):
                self.fs.rm_file(full)
            if self.is_local:
                self._prune(full.rpartition("/")[0])

    def _prune(self, folder: str) -> None:
        while folder.startswith(self.root + "/"):
            if self.fs.ls(folder, detail=False):
                return
            self.fs.rmdir(folder)
            folder = folder.rpartition("/")[0]

    def _discard(self, temp: str) -> None:
        try:
            if self.fs.exists(temp):
                self.fs.rm_file(temp)
        except Exception:  # best effort: the temporary name is invisible to readers anyway
            return


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = getattr(fs, "protocol", ())
    return (proto,) if isinstance(proto, str) else tuple(proto)
