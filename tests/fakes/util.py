"""Small helpers shared by the fake providers' routes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pandas as pd

from tradedata.model import to_utc

__all__ = ["decode_cursor", "encode_cursor", "parse_time", "session_label_times", "tf_minutes"]


def parse_time(
    value: str | None, default: pd.Timestamp, *, end_of_day: bool = False
) -> pd.Timestamp:
    """Epoch ms, RFC 3339 or ``YYYY-MM-DD`` (a date as ``end`` means the whole day)."""
    if value is None or value == "":
        return default
    if value.isdigit():
        return pd.Timestamp(int(value), unit="ms", tz="UTC")
    ts = to_utc(value)
    if end_of_day and len(value) <= 10:
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    return ts


def encode_cursor(state: dict[str, Any]) -> str:
    """An opaque page token."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> dict[str, Any]:
    """The state inside a page token."""
    padded = token + "=" * (-len(token) % 4)
    return dict(json.loads(base64.urlsafe_b64decode(padded.encode())))


def tf_minutes(amount: int, unit: str) -> int:
    """Minutes in an intraday bar of ``amount`` ``unit`` (``min``/``hour``)."""
    return amount * (60 if unit.startswith("h") else 1)


def session_label_times(dates: pd.DatetimeIndex, tz: str) -> pd.DatetimeIndex:
    """Midnight of each date in ``tz``, as UTC (how Alpaca and Polygon stamp daily bars)."""
    return dates.tz_localize(None).tz_localize(tz).tz_convert("UTC")
