"""The partition byte format: columnar, delta/scale encoded, byte-shuffled, gzip members.

A partition (one series, one UTC year) is stored as a multi-member gzip file with one member per
calendar month, so a one-month read inflates only that month; the offset table lives in the
partition's metadata. Each member inflates to a *block*::

    header   "TDB1" version:u8 ncols:u8 rows:u32 ts0:i64 tick:i64 ts_width:u8
    columns  ncols x (name_len:u8 name kind:u8 decimals:u8 width:u8 base:i64)
    streams  timestamps, then each column, each byte-shuffled (byte k of every value together)

Timestamps (int64 ns) are stored as ``ts0`` plus deltas counted in ``tick`` (their gcd), in the
narrowest unsigned width that fits. A float column whose values are all decimals with at most
9 places (prices such as ``123.45``) is stored as integer deltas of ``value * 10**decimals``
(zig-zag encoded, narrowest width), checked to round-trip bit for bit; ``open`` is predicted from
the previous ``close`` and ``high``/``low`` from ``max``/``min(open, close)`` when they share the
close's scale. Any other column keeps its raw float64 bytes, shuffled. Decoding is exact.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

_zlib_impl: ModuleType | None
try:  # isal is the same gzip format, several times faster
    from isal import isal_zlib as _zlib_impl

    _LEVEL = 2
except ImportError:  # pragma: no cover - exercised only without isal
    _zlib_impl = None
    _LEVEL = 6

__all__ = [
    "MemberInfo",
    "block_columns",
    "checksum",
    "decode_block",
    "deflate",
    "encode_block",
    "encode_partition",
    "inflate",
]

_MAGIC = b"TDB1"
_VERSION = 1
_HEAD = struct.Struct("<4sBBIqqB")
_COL = struct.Struct("<BBBq")
_RAW, _SCALED, _PRED_PREV, _PRED_MAX, _PRED_MIN = 0, 1, 2, 3, 4  # decode in this order
_MAX_DECIMALS = 9
_EXACT_LIMIT = 2.0**52
_WIDTHS = (1, 2, 4, 8)
_KINDS = (_RAW, _SCALED, _PRED_PREV, _PRED_MAX, _PRED_MIN)
_UNSIGNED = 0x80  # kind flag: residuals stored as is (all >= 0), not zig-zag encoded
_GZIP_WBITS = 31


@dataclass(frozen=True)
class MemberInfo:
    """Where one month's gzip member sits inside a partition blob."""

    month: int
    offset: int
    length: int
    rows: int
    first: int  # ns
    last: int  # ns
    crc: int  # crc32 of the compressed member bytes

    def to_list(self) -> list[int]:
        """Compact JSON form."""
        return [self.month, self.offset, self.length, self.rows, self.first, self.last, self.crc]

    @classmethod
    def from_list(cls, item: Sequence[int]) -> MemberInfo:
        """Inverse of :meth:`to_list`."""
        return cls(*(int(v) for v in item))


def checksum(data: bytes | memoryview) -> str:
    """The ``crc32:xxxxxxxx`` checksum of a blob."""
    crc = _zlib_impl.crc32(data) if _zlib_impl is not None else zlib.crc32(data)
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def _crc(data: bytes | memoryview) -> int:
    return (_zlib_impl.crc32(data) if _zlib_impl is not None else zlib.crc32(data)) & 0xFFFFFFFF


def deflate(payload: bytes) -> bytes:
    """Compress ``payload`` into one gzip member."""
    if _zlib_impl is not None:
        return _zlib_impl.compress(payload, _LEVEL, wbits=_GZIP_WBITS)
    comp = zlib.compressobj(_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    return comp.compress(payload) + comp.flush()


def inflate(member: bytes | memoryview) -> bytes:
    """Decompress one gzip member (raises ``zlib.error``/``isal_zlib.error`` when damaged)."""
    if _zlib_impl is not None:
        return _zlib_impl.decompress(member, wbits=_GZIP_WBITS)
    return zlib.decompress(member, wbits=_GZIP_WBITS)


# -- integer streams ---------------------------------------------------------------------------


def _width(max_value: int) -> int:
    for w in _WIDTHS:
        if max_value < 1 << (8 * w):
            return w
    return 8


def _shuffle(values: np.ndarray, width: int) -> bytes:
    """Unsigned values -> byte-shuffled little-endian bytes of ``width``."""
    narrow = values.astype(f"<u{width}", copy=False)
    if width == 1:
        return narrow.tobytes()
    return narrow.view(np.uint8).reshape(-1, width).T.tobytes()


def _unshuffle(buf: memoryview, pos: int, count: int, width: int) -> np.ndarray:
    raw = np.frombuffer(buf, dtype=np.uint8, count=count * width, offset=pos)
    if width == 1:
        return raw
    planes = raw.reshape(width, count)
    out = np.empty((count, width), dtype=np.uint8)
    for k in range(width):  # one strided copy per byte plane: far faster than a transpose
        out[:, k] = planes[k]
    return out.view(f"<u{width}").reshape(count)


def _zigzag(values: np.ndarray) -> np.ndarray:
    return ((values << 1) ^ (values >> 63)).view(np.uint64)


def _ints(values: np.ndarray, flag: int) -> np.ndarray:
    return values.astype(np.int64) if flag else _unzigzag(values)


def _unzigzag(values: np.ndarray) -> np.ndarray:
    out = values.astype(np.int64)  # values < 2**63: the cast is exact
    sign = out & 1
    out >>= 1
    np.negative(sign, out=sign)
    out ^= sign
    return out


# -- float columns -----------------------------------------------------------------------------


def _scale_column(col: np.ndarray) -> tuple[int, np.ndarray] | None:
    """``(decimals, ints)`` with ``ints / 10**decimals == col`` bit for bit, or None."""
    if col.size == 0:
        return 0, np.zeros(0, dtype=np.int64)
    if not np.isfinite(col).all():
        return None
    sample = col[:: max(1, col.size // 512)]
    for d in range(_MAX_DECIMALS + 1):
        if _scaled(sample, d) is None:
            continue
        ints = _scaled(col, d)
        if ints is not None:
            return d, ints
    return None


def _scaled(col: np.ndarray, decimals: int) -> np.ndarray | None:
    scale = 10.0**decimals
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.rint(col * scale)
    if np.abs(scaled).max(initial=0.0) >= _EXACT_LIMIT:
        return None
    ints = scaled.astype(np.int64)
    back = np.divide(ints, scale)
    if not np.array_equal(back.view(np.int64), col.view(np.int64)):
        return None
    return ints


def _encode_ints(residual: np.ndarray) -> tuple[int, int, bytes]:
    """``(flag, width, stream)``: zig-zag only when some residual is negative."""
    if residual.size == 0 or residual.min() >= 0:
        width = _width(int(residual.max(initial=0)))
        return _UNSIGNED, width, _shuffle(residual.view(np.uint64), width)
    z = _zigzag(residual)
    width = _width(int(z.max(initial=0)))
    return 0, width, _shuffle(z, width)


def _residuals(
    cols: dict[str, np.ndarray], scaled: dict[str, tuple[int, np.ndarray]]
) -> dict[str, tuple[int, np.ndarray, int]]:
    """Per scaled column: (kind, residual array, base) using OHLC predictors when possible."""
    out: dict[str, tuple[int, np.ndarray, int]] = {}
    close = scaled.get("close")
    ohlc = close is not None and all(
        c in scaled and scaled[c][0] == close[0] for c in ("open", "high", "low")
    )
    for name, (_, ints) in scaled.items():
        base = int(ints[0])
        if ohlc and close is not None and name in ("open", "high", "low"):
            c = close[1]
            if name == "open":
                pred = np.concatenate((ints[:1], c[:-1]))
                out[name] = (_PRED_PREV, ints - pred, base)
                continue
            o = scaled["open"][1]
            if name == "high":
                out[name] = (_PRED_MAX, ints - np.maximum(o, c), base)
            else:
                out[name] = (_PRED_MIN, np.minimum(o, c) - ints, base)
            continue
        out[name] = (_SCALED, np.diff(ints), base)
    return out


def encode_block(timestamps: np.ndarray, cols: dict[str, np.ndarray]) -> bytes:
    """Encode one month of rows (sorted unique int64 ns, float64 columns) into a block."""
    n = int(timestamps.size)
    ts0 = int(timestamps[0]) if n else 0
    steps = np.diff(timestamps)
    tick = int(np.gcd.reduce(steps)) if steps.size else 1
    tick = max(tick, 1)
    ticks = (steps // tick).astype(np.uint64)
    ts_width = _width(int(ticks.max(initial=0)))
    parts = [_HEAD.pack(_MAGIC, _VERSION, len(cols), n, ts0, tick, ts_width)]
    streams = [_shuffle(ticks, ts_width)]
    scaled: dict[str, tuple[int, np.ndarray]] = {}
    for name, col in cols.items():
        found = _scale_column(col)
        if found is not None:
            scaled[name] = found
    residuals = _residuals(cols, scaled)
    for name, col in cols.items():
        label = name.encode()
        if name in residuals:
            kind, res, base = residuals[name]
            flag, width, stream = _encode_ints(res)
            spec = _COL.pack(kind | flag, scaled[name][0], width, base)
            parts.append(bytes([len(label)]) + label + spec)
        else:
            stream = _shuffle(np.ascontiguousarray(col, dtype="<f8").view(np.uint64), 8)
            parts.append(bytes([len(label)]) + label + _COL.pack(_RAW, 0, 8, 0))
        streams.append(stream)
    return b"".join(parts + streams)


def _read_header(buf: memoryview) -> tuple[int, int, int, int, int, list[tuple], int]:
    magic, version, ncols, n, ts0, tick, ts_width = _HEAD.unpack_from(buf, 0)
    if magic != _MAGIC or version != _VERSION:
        raise ValueError("not a tradedata block")
    pos = _HEAD.size
    specs = []
    for _ in range(ncols):
        length = buf[pos]
        name = bytes(buf[pos + 1 : pos + 1 + length]).decode()
        pos += 1 + length
        kind, decimals, width, base = _COL.unpack_from(buf, pos)
        pos += _COL.size
        specs.append((name, kind, decimals, width, base))
    return ncols, n, ts0, tick, ts_width, specs, pos


def block_columns(payload: bytes | memoryview) -> tuple[str, ...]:
    """The column names an (inflated) block holds, in its order."""
    return tuple(spec[0] for spec in _read_header(memoryview(payload))[5])


def decode_block(payload: bytes, ts_out: np.ndarray, val_out: np.ndarray) -> tuple[str, ...]:
    """Decode ``payload`` into ``ts_out`` (rows) and ``val_out`` (ncols, rows); return names.

    Raises ``ValueError`` when the block is malformed.
    """
    buf = memoryview(payload)
    ncols, n, ts0, tick, ts_width, specs, pos = _read_header(buf)
    if ts_out.shape[0] != n or val_out.shape != (ncols, n):
        raise ValueError("block size does not match its metadata")
    if n == 0:
        return tuple(s[0] for s in specs)
    m = n - 1
    ts_out[0] = 0
    ts_out[1:] = _unshuffle(buf, pos, m, ts_width)
    pos += m * ts_width
    np.cumsum(ts_out, out=ts_out)
    ts_out *= tick
    ts_out += ts0
    ints: dict[str, np.ndarray] = {}
    later: list[tuple[int, int, int, int, int, int, str, int]] = []
    for row, (name, spec, decimals, width, base) in enumerate(specs):
        kind, flag = spec & ~_UNSIGNED, spec & _UNSIGNED
        if kind not in _KINDS or width not in _WIDTHS or decimals > _MAX_DECIMALS:
            raise ValueError(f"bad column spec for {name!r}")
        if kind == _RAW:
            val_out[row] = _unshuffle(buf, pos, n, 8).view(np.float64)
            pos += n * 8
            continue
        count = m if kind == _SCALED else n
        if kind == _SCALED:
            ints[name] = _rebuild(kind, base, _ints(_unshuffle(buf, pos, m, width), flag), ints)
            np.divide(ints[name], 10.0**decimals, out=val_out[row])
        else:  # predicted from close/open: decoded after them
            later.append((kind, flag, row, pos, width, decimals, name, base))
        pos += count * width
    for kind, flag, row, start, width, decimals, name, base in sorted(later):
        res = _ints(_unshuffle(buf, start, n, width), flag)
        ints[name] = _rebuild(kind, base, res, ints)
        np.divide(ints[name], 10.0**decimals, out=val_out[row])
    if pos != len(buf):
        raise ValueError("block has trailing or missing bytes")
    return tuple(s[0] for s in specs)


def _rebuild(kind: int, base: int, res: np.ndarray, ints: dict[str, np.ndarray]) -> np.ndarray:
    if kind == _SCALED:
        out = np.empty(res.size + 1, dtype=np.int64)
        out[0] = base
        out[1:] = res
        return np.cumsum(out, out=out)
    close = ints["close"]
    if kind == _PRED_PREV:
        out = res.copy()
        out[0] = base
        out[1:] += close[:-1]
        return out
    if kind == _PRED_MAX:
        return res + np.maximum(ints["open"], close)
    if kind == _PRED_MIN:
        return np.minimum(ints["open"], close) - res
    raise ValueError(f"unknown column kind {kind}")


def encode_partition(
    timestamps: np.ndarray,
    cols: dict[str, np.ndarray],
    month_edges: np.ndarray,
    reuse: Mapping[int, bytes | memoryview] | None = None,
) -> tuple[bytes, list[MemberInfo]]:
    """Encode a year of rows as one gzip member per month.

    ``month_edges`` holds the 13 ns instants starting each month and the next year.
    ``reuse`` maps months (1-12) whose rows are unchanged to their existing member bytes.
    """
    cuts = np.searchsorted(timestamps, month_edges)
    members: list[bytes] = []
    infos: list[MemberInfo] = []
    offset = 0
    for month in range(12):
        lo, hi = int(cuts[month]), int(cuts[month + 1])
        if lo == hi:
            continue
        if reuse and month + 1 in reuse:
            member = bytes(reuse[month + 1])
        else:
            part = {k: v[lo:hi] for k, v in cols.items()}
            member = deflate(encode_block(timestamps[lo:hi], part))
        infos.append(
            MemberInfo(
                month + 1,
                offset,
                len(member),
                hi - lo,
                int(timestamps[lo]),
                int(timestamps[hi - 1]),
                _crc(member),
            )
        )
        members.append(member)
        offset += len(member)
    return b"".join(members), infos


def member_crc_ok(member: bytes | memoryview, info: MemberInfo) -> bool:
    """True when ``member`` has the recorded length and crc32."""
    return len(member) == info.length and _crc(member) == info.crc
