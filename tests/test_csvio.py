"""CSV import formats: backtrader, Yahoo, generic; errors on malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradedata.csvio import detect_format, read_csv
from tradedata.errors import CSVFormatError, InputError, LocalTimeError


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


# -- local-time files (tz=) ------------------------------------------------------------------

BERLIN = "Europe/Berlin"


def _local_file(tmp_path: Path, opens_utc: pd.DatetimeIndex, bar: str, name: str) -> Path:
    """A backtrader intraday file of bars opening at ``opens_utc``, stamped at their ends in
    Berlin wall time (as an exchange-local export writes them); close = the bar's number."""
    ends = (opens_utc + pd.Timedelta(bar)).tz_convert(BERLIN).tz_localize(None)
    lines = ["Date,Time,Open,High,Low,Close,Volume,OpenInterest"]
    for i, end in enumerate(ends):
        lines.append(f"{end:%Y-%m-%d},{end:%H:%M:%S},{i},{i},{i},{i},1,{100 + i}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("first", "bar"),
    [
        ("2024-03-30 22:00", "1h"),  # spring forward: 02:00 CET -> 03:00 CEST on 03-31
        ("2024-03-31 00:00", "15min"),
        ("2024-10-26 22:00", "1h"),  # fall back: 03:00 CEST -> 02:00 CET on 10-27
        ("2024-10-26 23:00", "15min"),
    ],
)
def test_local_time_file_reads_back_the_utc_bars_across_dst(
    tmp_path: Path, first: str, bar: str
) -> None:
    truth = pd.date_range(first, periods=16, freq=bar, tz="UTC", name="timestamp")
    path = _local_file(tmp_path, truth, bar, "local.txt")

    frame = read_csv(path, bar.replace("min", "m"), tz=BERLIN)

    assert frame.index.equals(truth)
    assert frame["close"].tolist() == list(range(16))
    assert frame["open_interest"].tolist() == [100.0 + i for i in range(16)]
    # without tz the same file is read as UTC: every bar lands an hour or two late
    assert not read_csv(path, bar.replace("min", "m")).index.equals(truth)


def test_a_time_in_the_spring_forward_gap_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "gap.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-03-31 01:30,1,1,1,1,1\n2024-03-31 02:30,1,1,1,1,1\n2024-03-31 03:30,1,1,1,1,1\n"
    )
    with pytest.raises(LocalTimeError, match=r"line 3: '2024-03-31 02:30' does not exist") as err:
        read_csv(path, "1h", tz=BERLIN)
    assert err.value.line == 3
    assert isinstance(err.value, CSVFormatError)


def test_a_repeated_hour_seen_once_is_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "once.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-10-27 01:30,1,1,1,1,1\n2024-10-27 02:30,1,1,1,1,1\n2024-10-27 03:30,1,1,1,1,1\n"
    )
    with pytest.raises(LocalTimeError, match=r"line 3: '2024-10-27 02:30' is ambiguous"):
        read_csv(path, "1h", tz=BERLIN)


def test_tz_leaves_absolute_stamps_and_dates_alone(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "aware.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-07-01T10:00:00+02:00,1,1,1,1,1\n")
    assert read_csv(path, "1h", tz="America/New_York").index[0] == pd.Timestamp(
        "2024-07-01 08:00", tz="UTC"
    )
    daily = read_csv(data_dir / "2006-day-001.txt", "1d", tz=BERLIN)
    assert daily.index.equals(read_csv(data_dir / "2006-day-001.txt", "1d").index)


def test_unknown_zone_is_an_input_error(data_dir: Path) -> None:
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        read_csv(data_dir / "2006-min-005.txt", "5m", tz="Mars/Olympus")


def test_cli_import_tz_stores_utc_bars(tmp_path: Path, cache_dir: Path, capsys) -> None:
    from tradedata.cli import main
    from tradedata.manager import DataManager

    truth = pd.date_range("2024-10-26 23:00", periods=16, freq="15min", tz="UTC")
    path = _local_file(tmp_path, truth, "15min", "dax.txt")
    base = ["--cache-dir", str(cache_dir), "import", str(path), "DAX", "15m"]
    assert main([*base, "--tz", BERLIN]) == 0
    with DataManager(cache_dir=cache_dir) as dm:
        stored = dm.cache.read("DAX", "15m")
    assert stored.index.equals(pd.DatetimeIndex(truth, name="timestamp"))
    assert stored["open_interest"].iloc[-1] == 115.0
    capsys.readouterr()
    assert main([*base, "--tz", "Nowhere/Land"]) == 2
    assert "unknown time zone" in capsys.readouterr().err
    gap = tmp_path / "gap.csv"
    gap.write_text("timestamp,open,high,low,close,volume\n2024-03-31 02:30,1,1,1,1,1\n")
    assert main(["--cache-dir", str(cache_dir), "import", str(gap), "G", "1h", "--tz", BERLIN]) == 2
    err = capsys.readouterr().err
    assert "does not exist in Europe/Berlin" in err and len(err.strip().splitlines()) == 1


def test_tz_with_stamps_partly_carrying_an_offset_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2024-07-01 10:00,1,1,1,1,1\n2024-07-01T11:00:00+02:00,1,1,1,1,1\n"
    )
    with pytest.raises(CSVFormatError, match=r"line 3: .* mixes stamps with and without"):
        read_csv(path, "1h", tz=BERLIN)


def _transitions(zone: str) -> list[pd.Timestamp]:
    """The instants in 2024 when ``zone``'s UTC offset changes."""
    idx = pd.date_range("2024-01-01", "2025-01-01", freq="15min", tz="UTC")
    offsets = np.array([t.utcoffset() for t in idx.tz_convert(zone)])
    return list(idx[1:][offsets[1:] != offsets[:-1]])


_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago")
_TRANSITIONS = {zone: _transitions(zone) for zone in _ZONES}


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(_ZONES),
    which=st.integers(0, 1),
    shift=st.integers(-12, 12),
    n=st.integers(1, 16),
    bar=st.sampled_from(["15min", "30min", "1h"]),
)
def test_property_local_stamps_read_back_the_utc_bars_or_refuse(
    tmp_path_factory: pytest.TempPathFactory, zone: str, which: int, shift: int, n: int, bar: str
) -> None:
    """Bars around either DST change of four zones, stamped at their ends in local wall time:
    the reader gives back their UTC open times exactly, or raises LocalTimeError, and only
    when some stamp is ambiguous (never a silently wrong bar)."""
    start = (_TRANSITIONS[zone][which] + pd.Timedelta(minutes=15 * shift)).floor(bar)
    truth = pd.date_range(start, periods=n, freq=bar, tz="UTC", name="timestamp")
    ends = (truth + pd.Timedelta(bar)).tz_convert(zone).tz_localize(None)
    lines = ["Date,Time,Open,High,Low,Close,Volume,OpenInterest"]
    lines += [f"{e:%Y-%m-%d},{e:%H:%M:%S},1,1,1,1,1,0" for e in ends]
    path = tmp_path_factory.mktemp("dst") / "local.txt"
    path.write_text("\n".join(lines) + "\n")
    try:
        got = read_csv(path, bar.replace("min", "m"), tz=zone).index
    except LocalTimeError:
        unsure = pd.DatetimeIndex(ends).tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        assert unsure.isna().any()
        return
    assert got.equals(truth)
