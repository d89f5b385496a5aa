"""PostgreSQL's binary COPY format, read and written whole with numpy (never row by row).

A binary COPY stream is the 11-byte signature, two int32 (flags, header extension length),
then per row an int16 field count and per field an int32 length and its big-endian bytes,
then an int16 -1 trailer (PostgreSQL docs, "COPY", section "Binary Format"). Our rows have no
NULLs and fixed-width fields, so a whole buffer is one numpy structured array.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decode_fields", "decode_rows", "encode_rows", "ns_to_pg", "pg_to_ns"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
#: microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01
PG_EPOCH_US = 946_684_800_000_000


def _row_dtype(fields: list[tuple[str, str]]) -> np.dtype:
    spec: list[tuple[str, str]] = [("_n", ">i2")]
    for name, kind in fields:
        spec += [(f"_len_{name}", ">i4"), (name, kind)]
    return np.dtype(spec)


def _body(buffer: bytes | memoryview) -> memoryview:
    """The stream after its signature, flags and header extension (ValueError when it is not
    a binary COPY stream)."""
    data = memoryview(buffer)
    if len(data) < 19 or bytes(data[:11]) != SIGNATURE:
        raise ValueError("not a binary COPY stream")
    return data[19 + int.from_bytes(data[15:19], "big") :]


def decode_rows(buffer: bytes | memoryview, fields: list[tuple[str, str]]) -> np.ndarray:
    """The rows of a binary COPY ``buffer`` as a structured array of ``fields`` (big-endian).

    ``fields`` are ``(name, dtype)`` such as ``("open_time", ">i8")``; raises ValueError when
    the stream does not have that shape (a NULL, another column count, a cut stream).
    """
    body = _body(buffer)
    if len(body) < 2 or bytes(body[-2:]) != TRAILER:
        raise ValueError("binary COPY stream without its trailer")
    dtype = _row_dtype(fields)
    size = len(body) - 2
    if size % dtype.itemsize:
        raise ValueError("binary COPY rows are not of the expected width")
    rows = np.frombuffer(body[:size], dtype=dtype)
    widths = {name: np.dtype(kind).itemsize for name, kind in fields}
    if rows.size and (
        (rows["_n"] != len(fields)).any()
        or any((rows[f"_len_{name}"] != w).any() for name, w in widths.items())
    ):
        raise ValueError("binary COPY rows do not match the expected columns")
    return rows


def decode_fields(buffer: bytes | memoryview) -> list[list[memoryview]]:
    """The rows of a binary COPY ``buffer`` of few rows with variable-width fields (such as
    ``bytea``), each a list of its fields' raw bytes; raises ValueError on a NULL or a cut
    stream. For many fixed-width rows use :func:`decode_rows`."""
    data = _body(buffer)
    pos = 0
    rows: list[list[memoryview]] = []
    while pos + 2 <= len(data):
        count = int.from_bytes(data[pos : pos + 2], "big", signed=True)
        pos += 2
        if count == -1:
            if pos != len(data):
                raise ValueError("binary COPY stream has bytes after its trailer")
            return rows
        fields = []
        for _ in range(count):
            size = int.from_bytes(data[pos : pos + 4], "big", signed=True)
            if size < 0 or pos + 4 + size > len(data):
                raise ValueError("binary COPY field is NULL or cut")
            fields.append(data[pos + 4 : pos + 4 + size])
            pos += 4 + size
        rows.append(fields)
    raise ValueError("binary COPY stream without its trailer")


def encode_rows(columns: dict[str, np.ndarray], fields: list[tuple[str, str]]) -> bytes:
    """A whole binary COPY stream of the given columns (same length, no NULLs)."""
    dtype = _row_dtype(fields)
    n = len(next(iter(columns.values())))
    rows = np.empty(n, dtype=dtype)
    rows["_n"] = len(fields)
    for name, kind in fields:
        rows[f"_len_{name}"] = np.dtype(kind).itemsize
        rows[name] = columns[name]
    return HEADER + rows.tobytes() + TRAILER


def ns_to_pg(ns: np.ndarray) -> np.ndarray:
    """int64 ns since 1970 -> PostgreSQL timestamptz (int64 us since 2000)."""
    return ns // 1000 - PG_EPOCH_US


def pg_to_ns(us: np.ndarray) -> np.ndarray:
    """PostgreSQL timestamptz (int64 us since 2000) -> int64 ns since 1970."""
    return (us.astype(np.int64) + PG_EPOCH_US) * 1000
