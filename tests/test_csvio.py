"""CSV import formats: backtrader, Yahoo, generic; errors on malformed files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tradedata.csvio import detect_format, read_csv
from tradedata.errors import CSVFormatError


def test_backtrader_daily(data_dir: Path) -> None:
    frame = read_csv(data_dir / "2006-day-001.txt", "1d")
    assert detect_format(data_dir / "2006-day-001.txt") == "backtrader"
    assert len(frame) == 255
    assert frame.index[0] == pd.Timestamp("2006-01-02", tz="UTC")
    assert frame.iloc[0][["open", "high", "low", "close"]].tolist() == [
        3578.73, 3605.95, 3578.73, 3604.33
    ]  # fmt: skip
    assert "open_interest" in frame


def test_backtrader_intraday_stamps_are_bar_ends(data_dir: Path) -> None:
    frame = read_csv(data_dir / "2006-min-005.txt", "5m")
    assert frame.index[0] == pd.Timestamp("2006-01-02 09:00", tz="UTC")  # file says 09:05
    one_minute = read_csv(data_dir / "2006-01-02-volume-min-001.txt", "1m")  # header lacks Time
    assert one_minute.index[0] == pd.Timestamp("2006-01-02 09:00", tz="UTC")
    assert one_minute["volume"].iloc[0] == 5699


def test_weekly_and_monthly_bars_open_at_period_start(data_dir: Path) -> None:
    weekly = read_csv(data_dir / "2006-week-001.txt", "1w")
    assert weekly.index[0] == pd.Timestamp("2006-01-02", tz="UTC")  # file says Friday 01-06
    monthly = read_csv(data_dir / "2006-month-001.txt", "1M")
    assert monthly.index[1] == pd.Timestamp("2006-02-01", tz="UTC")  # file says 02-28


def test_yahoo(data_dir: Path) -> None:
    frame = read_csv(data_dir / "nvda-2014.txt", "1d")
    assert detect_format(data_dir / "nvda-2014.txt") == "yahoo"
    assert frame["adj_close"].iloc[0] == 15.096152


def test_generic_epoch_and_iso(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("timestamp,open,high,low,close,volume\n1704067200000,1,2,0.5,1.5,10\n")
    assert read_csv(path, "1m").index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-01T00:01:00Z,1,2,0.5,1.5,10\n")
    assert read_csv(path, "1m").index[0] == pd.Timestamp("2024-01-01 00:01", tz="UTC")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,b,c\n1,2,3\n", "unrecognised"),
        ("", "empty"),
        ("timestamp,open,high,low,close,volume\n2024-01-01,1,x,1,1,1\n", "line 2"),
        ("timestamp,open,high,low,close,volume\nnot-a-date,1,1,1,1,1\n", "bad date"),
    ],
)
def test_malformed_csv_is_a_typed_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CSVFormatError, match=match):
        read_csv(path, "1d")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CSVFormatError):
        read_csv(tmp_path / "nope.csv", "1d")
