"""Reading OHLCV CSV files: backtrader's, Yahoo's and a generic layout.

Recognised by their header (case-insensitive):

* backtrader (``BacktraderCSVData``): ``Date,Open,High,Low,Close,Volume,OpenInterest``, with a
  ``Time`` column after ``Date`` for intraday bars (some files leave ``Time`` out of the header
  but have it in the rows: the row width decides).
* Yahoo Finance: ``Date,Open,High,Low,Close,Adj Close,Volume`` (``null`` rows are dropped: Yahoo
  writes them for days without a price).
* generic: ``timestamp,open,high,low,close,volume`` (optional ``adj_close``,
  ``open_interest``); the timestamp is ISO 8601 or epoch seconds/milliseconds.

Time labels: a stored bar is stamped with its *open* time. Daily and longer files label a bar by
a date inside its period (backtrader's weekly files use the Friday, monthly ones the last day),
so the bar opens at the start of that period. backtrader's intraday files stamp a bar at its
*end* (09:05 is the 09:00-09:05 bar), as backtrader itself does; generic files are taken as
open times unless ``label="end"`` is given.

Local time (``tz="Europe/Berlin"``): intraday stamps without a UTC offset are read as wall
clock times in that zone and converted to UTC (before a bar-end label is turned into an open
time). Across daylight saving time the rule is: a stamp inside the spring-forward gap never
happened and raises :class:`~tradedata.errors.LocalTimeError`; a stamp in the repeated hour
after clocks go back is placed by the file's order (the first run of the hour is summer time,
the second winter time, as a chronological file writes them), and raises
:class:`~tradedata.errors.LocalTimeError` when the order cannot tell (the hour appears once).
Stamps carrying an offset and epoch numbers are absolute and ignore ``tz``; daily and longer
bars keep their date (a session's date is the same in every zone).
"""

from __future__ import annotations

import csv
import io
import os
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd

from tradedata.errors import CSVFormatError, InputError, LocalTimeError
from tradedata.model import Timeframe, normalize_frame, parse_timeframe

__all__ = ["check_zone", "detect_format", "read_csv"]

_BT = ["date", "open", "high", "low", "close", "volume", "openinterest"]
_BT_TIME = ["date", "time", "open", "high", "low", "close", "volume", "openinterest"]
_YAHOO = ["date", "open", "high", "low", "close", "adj close", "volume"]
_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"  # a stamp carrying its UTC offset is absolute

#: Sanity limits of a CSV import: the longest line (bytes) and the most rows read. A file
#: beyond them is not an OHLCV file (``/dev/zero``, a binary file); 50 million rows are 95
#: years of one-minute bars.
MAX_LINE_BYTES = 1 << 20
MAX_ROWS = 50_000_000


def _first_lines(path: Path) -> list[str]:
    """The first two lines, read with a bounded buffer (never the whole of an endless file)."""
    lines: list[str] = []
    try:
        with path.open("rb") as fh:
            for _ in range(2):
                raw = fh.readline(MAX_LINE_BYTES + 1)
                if len(raw) > MAX_LINE_BYTES:
                    raise CSVFormatError(
                        f"{path}: a line longer than {MAX_LINE_BYTES // 1024} KB: not a CSV file"
                    )
                if raw:
                    lines.append(raw.decode("utf-8-sig" if not lines else "utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CSVFormatError(f"cannot read {path}: {reason}") from exc
    return lines


def _header(path: Path) -> tuple[list[str], int]:
    try:
        rows = list(csv.reader(_first_lines(path)))
    except csv.Error as exc:  # e.g. a field larger than csv's 128 KB limit
        raise CSVFormatError(f"{path}: not a CSV file tradedata can read ({exc})") from exc
    header = rows[0] if rows else None
    first = rows[1] if len(rows) > 1 else None
    if not header:
        raise CSVFormatError(f"{path} is empty")
    width = len(first) if first else len(header)
    return [h.strip().lower() for h in header], width


def detect_format(path: str | os.PathLike[str]) -> str:
    """``"backtrader"``, ``"yahoo"`` or ``"generic"``; raises :class:`CSVFormatError` otherwise."""
    header, _ = _header(Path(path))
    if header[: len(_BT)] == _BT or header[: len(_BT_TIME)] == _BT_TIME:
        return "backtrader"
    if header == _YAHOO:
        return "yahoo"
    cols = set(header)
    if {"open", "high", "low", "close", "volume"} <= cols and (
        cols & {"timestamp", "datetime", "date", "time"}
    ):
        return "generic"
    raise CSVFormatError(
        f"{path}: unrecognised CSV header {','.join(header)!r} "
        "(expected backtrader, Yahoo or timestamp,open,high,low,close,volume)"
    )


def _parse_rows(path: Path, names: list[str], skip_header: bool = True) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path,
            header=None,
            names=names,
            skiprows=1 if skip_header else 0,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
            nrows=MAX_ROWS + 1,
        )
    except (pd.errors.ParserError, ValueError, OSError, csv.Error, MemoryError) as exc:
        raise CSVFormatError(f"{path}: {exc}".splitlines()[0]) from exc
    if len(frame) > MAX_ROWS:
        raise CSVFormatError(f"{path}: more than {MAX_ROWS:,} rows; split the file")
    return frame


def _numbers(frame: pd.DataFrame, cols: list[str], path: Path) -> dict[str, np.ndarray]:
    out = {}
    for col in cols:
        values = pd.to_numeric(frame[col].str.strip(), errors="coerce")
        bad = values.isna() & ~frame[col].str.strip().str.lower().isin(["null", "nan", ""])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise CSVFormatError(
                f"{path}, line {row + 2}: {col} {frame[col].iloc[row]!r} is not a number"
            )
        out[col] = values.to_numpy(dtype="float64")
    return out


def _times(texts: pd.Series, path: Path, tz: str | None = None) -> pd.DatetimeIndex:
    """Parse stamps; naive ones are UTC, or wall time in ``tz`` when given."""
    stripped = texts.str.strip()
    if tz is not None:
        absolute = stripped.str.contains(_OFFSET, regex=True).to_numpy()
        if absolute.any() and not absolute.all():
            row = int(np.flatnonzero(absolute != absolute[0])[0])
            raise CSVFormatError(
                f"{path}, line {row + 2}: {texts.iloc[row].strip()!r} mixes stamps with and "
                "without a UTC offset: with tz= every stamp must be local (no offset)"
            )
        if not absolute.any():
            local = pd.to_datetime(stripped, errors="coerce", format="mixed")
            if local.isna().any():
                _bad_time(texts, local.isna().to_numpy(), path)
            return _localize(pd.DatetimeIndex(local), tz, texts, path)
    parsed = pd.to_datetime(stripped, errors="coerce", format="mixed", utc=True)
    if parsed.isna().any():
        _bad_time(texts, parsed.isna().to_numpy(), path)
    return pd.DatetimeIndex(parsed)


def _bad_time(texts: pd.Series, bad: np.ndarray, path: Path) -> None:
    row = int(np.flatnonzero(bad)[0])
    raise CSVFormatError(f"{path}, line {row + 2}: bad date/time {texts.iloc[row]!r}")


def check_zone(tz: str) -> str:
    """``tz`` if it names an IANA time zone; raises :class:`InputError` otherwise."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InputError(f"unknown time zone {tz!r} (use an IANA name like Europe/Berlin)") from exc
    return tz


def _localize(naive: pd.DatetimeIndex, tz: str, texts: pd.Series, path: Path) -> pd.DatetimeIndex:
    """Wall times in ``tz`` as UTC instants, by the DST rule in the module docstring."""
    standard = np.zeros(len(naive), dtype=bool)
    gap = naive.tz_localize(tz, ambiguous=standard, nonexistent="NaT").isna()
    if gap.any():
        row = int(np.flatnonzero(gap)[0])
        raise LocalTimeError(
            f"{path}, line {row + 2}: {texts.iloc[row].strip()!r} does not exist in {tz} "
            "(clocks jump forward over it)",
            line=row + 2,
        )
    try:
        local = naive.tz_localize(tz, ambiguous="infer")
    except Exception as exc:  # pytz.AmbiguousTimeError: the repeated hour cannot be placed
        unsure = naive.tz_localize(tz, ambiguous="NaT").isna()
        rows = np.flatnonzero(unsure)
        row = int(rows[0]) if len(rows) else 0
        raise LocalTimeError(
            f"{path}, line {row + 2}: {texts.iloc[row].strip()!r} is ambiguous in {tz} "
            "(clocks go back and the file's order does not tell which of the two it is)",
            line=row + 2,
        ) from exc
    return pd.DatetimeIndex(local.tz_convert("UTC"))


def _epoch_or_text(texts: pd.Series, path: Path, tz: str | None = None) -> pd.DatetimeIndex:
    stripped = texts.str.strip()
    if len(stripped) and stripped.str.fullmatch(r"\d{9,13}(\.\d+)?").all():
        nums = stripped.astype("float64")
        unit = "ms" if nums.iloc[0] > 1e11 else "s"
        try:
            return pd.DatetimeIndex(pd.to_datetime(nums, unit=unit, utc=True))
        except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
            big = int(np.argmax(nums.to_numpy()))
            raise CSVFormatError(
                f"{path}, line {big + 2}: epoch {texts.iloc[big]!r} ({unit}) is beyond the "
                "dates tradedata can hold (1678..2261)"
            ) from exc
    return _times(stripped, path, tz)


def _opens(index: pd.DatetimeIndex, tf: Timeframe, label_end: bool) -> pd.DatetimeIndex:
    if tf.unit in ("d", "w", "M"):
        days = index.normalize()
        if tf.unit == "d" and tf.amount == 1:
            return days
        return pd.DatetimeIndex([tf.floor(t) for t in days])
    if label_end:
        index = index - pd.Timedelta(tf.seconds, "s")
    return index


def read_csv(
    path: str | os.PathLike[str],
    timeframe: str | Timeframe,
    *,
    label: str | None = None,
    tz: str | None = None,
) -> pd.DataFrame:
    """Read a backtrader, Yahoo or generic OHLCV CSV into a tradedata frame (bar open times).

    ``label`` (``"open"`` or ``"end"``) overrides how intraday timestamps are read. ``tz``
    (an IANA zone such as ``"Europe/Berlin"``) reads intraday stamps as that zone's wall time
    (DST rule in the module docstring). Raises :class:`CSVFormatError` for an unreadable file,
    an unknown layout or a bad row, :class:`LocalTimeError` for a stamp DST makes impossible
    or ambiguous, :class:`InputError` for an unknown zone.
    """
    p = Path(path)
    tf = parse_timeframe(timeframe)
    if label not in (None, "open", "end"):
        raise CSVFormatError(f"label must be 'open' or 'end', not {label!r}")
    if tz is not None:
        check_zone(tz)
    local = tz if tf.unit not in ("d", "w", "M") else None  # a session date is zone-free
    kind = detect_format(p)
    header, width = _header(p)
    if kind == "backtrader":
        names = _BT_TIME if width == len(_BT_TIME) else _BT
        raw = _parse_rows(p, names)
        stamps = raw["date"] + (" " + raw["time"] if "time" in raw else "")
        index = _times(stamps, p, local)
        cols = ["open", "high", "low", "close", "volume", "openinterest"]
        label_end = label != "open"
    elif kind == "yahoo":
        raw = _parse_rows(p, _YAHOO)
        index = _times(raw["date"], p, local)
        cols = ["open", "high", "low", "close", "adj close", "volume"]
        label_end = label == "end"
    else:
        raw = _parse_rows(p, header)
        time_col = next(c for c in ("timestamp", "datetime", "date", "time") if c in header)
        index = _epoch_or_text(raw[time_col], p, local)
        cols = [c for c in header if c in {"open", "high", "low", "close", "volume"}]
        cols += [c for c in header if c in {"adj_close", "adj close", "open_interest"}]
        label_end = label == "end"
    data = _numbers(raw, cols, p)
    frame = pd.DataFrame(data, index=_opens(index, tf, label_end))
    prices = frame[["open", "high", "low", "close"]]
    none = prices.isna().all(axis=1).to_numpy()
    partial = prices.isna().any(axis=1).to_numpy() & ~none
    if partial.any():  # a short row, or an empty price: never stored as a half bar
        row = int(np.flatnonzero(partial)[0])
        gone = [c for c in prices.columns if np.isnan(prices.iloc[row][c])]
        raise CSVFormatError(
            f"{path}, line {row + 2}: {', '.join(gone)} missing (a row with fewer fields?)"
        )
    frame = frame[~none]  # Yahoo's "null" days
    return normalize_frame(frame)


def frame_to_csv(frame: pd.DataFrame) -> str:
    """The generic CSV text of ``frame`` (floats written so they read back exactly)."""
    buf = io.StringIO()
    out = frame.copy()
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    out.to_csv(buf, index_label="timestamp", float_format=None)
    return buf.getvalue()
