"""Open interest and exchange-local intraday files, end to end through real backtrader.

backtrader's own ``2006-volume-day-001.txt`` carries non-zero open interest: imported with
``DataManager.import_csv`` and fed by symbol, every bar's ``openinterest`` (and all other lines)
must equal what ``BacktraderCSVData`` and ``GenericCSVData`` read from the file. Local-time
files are imported with ``tz=`` and fed with ``tzinput=``: the stamps must equal backtrader's
reading of the same file with the same ``tzinput``, including across a DST change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from tradedata.feeds import TradeDataFeed

SYMBOL = "^STOXX50E"
OI_FILE = "2006-volume-day-001.txt"
MIN5 = {"timeframe": bt.TimeFrame.Minutes, "compression": 5}
pytestmark = pytest.mark.filterwarnings("ignore:.*could not fetch:UserWarning")


def test_open_interest_reaches_the_line_like_backtraders_csv_feed(
    manager: Any, cache_dir: Path, data_dir: Path, bt_run, same_bars, combo
) -> None:
    manager.import_csv(data_dir / OI_FILE, SYMBOL, "1d")
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / OI_FILE))
    ours = TradeDataFeed(dataname=SYMBOL, interval="1d", cache_dir=cache_dir, provider="cache")

    expected = bt_run([csv], **combo).rows
    actual = bt_run([ours], **combo).rows

    assert len(expected) == 255
    assert sum(row[-1] > 0 for row in expected) == 254  # 2006-01-13 has 0 in the file
    same_bars(expected, actual)


def test_open_interest_matches_generic_csv_data(
    manager: Any, cache_dir: Path, data_dir: Path, bt_run
) -> None:
    manager.import_csv(data_dir / OI_FILE, SYMBOL, "1d")
    generic = bt.feeds.GenericCSVData(
        dataname=str(data_dir / OI_FILE), dtformat="%Y-%m-%d", datetime=0, time=-1,
        open=1, high=2, low=3, close=4, volume=5, openinterest=6,
    )  # fmt: skip
    ours = TradeDataFeed(dataname=SYMBOL, interval="1d", cache_dir=cache_dir, provider="cache")

    expected = [row[-1] for row in bt_run([generic]).rows]
    actual = [row[-1] for row in bt_run([ours]).rows]

    assert actual == expected
    assert expected[0] == 1511674.0


def test_open_interest_of_a_frame_with_the_schema_column(data_dir: Path, bt_run) -> None:
    from tradedata.csvio import read_csv

    frame = read_csv(data_dir / OI_FILE, "1d")  # column "open_interest", as the cache stores it
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / OI_FILE))

    assert [r[-1] for r in bt_run([TradeDataFeed(dataname=frame)]).rows] == [
        r[-1] for r in bt_run([csv]).rows
    ]


@pytest.mark.parametrize("tz", [None, "US/Eastern"])
def test_intraday_file_in_local_time_imported_with_tz_matches_tzinput(
    manager: Any, cache_dir: Path, data_dir: Path, bt_run, same_bars, tz
) -> None:
    name = "2006-min-005.txt"  # Euro Stoxx 50 5-minute bars, stamped in Frankfurt time
    manager.import_csv(data_dir / name, SYMBOL, "5m", tz="Europe/Berlin")
    kwargs = {"tzinput": "Europe/Berlin", "tz": tz, **MIN5}
    csv = bt.feeds.BacktraderCSVData(dataname=str(data_dir / name), **kwargs)
    ours = TradeDataFeed(dataname=SYMBOL, cache_dir=cache_dir, provider="cache", **kwargs)

    expected = bt_run([csv]).rows
    same_bars(expected, bt_run([ours]).rows)
    assert len(expected) == 2142
    first = bt.num2date(expected[0][1])
    assert first == dt.datetime(2006, 1, 2, 8, 5)  # 09:05 Frankfurt is 08:05 UTC in winter


def test_intraday_tzinput_across_the_spring_dst_change(
    manager: Any, cache_dir: Path, tmp_path: Path, bt_run, same_bars
) -> None:
    # a 24/7 market's hourly bars, stamped at their ends in Berlin wall time: the file jumps
    # from 01:00 to 03:00 on 2024-03-31 (no 02:00 exists that night)
    opens = pd.date_range("2024-03-30 20:00", periods=12, freq="1h", tz="UTC")
    ends = (opens + pd.Timedelta("1h")).tz_convert("Europe/Berlin").tz_localize(None)
    lines = ["Date,Time,Open,High,Low,Close,Volume,OpenInterest"]
    for i, e in enumerate(ends):
        lines.append(f"{e:%Y-%m-%d},{e:%H:%M:%S},{i},{i + 1},{i},{i},1,{7 * i}")
    path = tmp_path / "berlin-1h.txt"
    path.write_text("\n".join(lines) + "\n")
    manager.import_csv(path, "FDAX", "1h", tz="Europe/Berlin")
    kwargs = {"tzinput": "Europe/Berlin", "timeframe": bt.TimeFrame.Minutes, "compression": 60}
    csv = bt.feeds.BacktraderCSVData(dataname=str(path), **kwargs)
    ours = TradeDataFeed(dataname="FDAX", cache_dir=cache_dir, provider="cache", **kwargs)

    expected = bt_run([csv]).rows
    same_bars(expected, bt_run([ours]).rows)
    stamps = [bt.num2date(row[1]) for row in expected]
    assert stamps == [t.to_pydatetime().replace(tzinfo=None) for t in opens + pd.Timedelta("1h")]
