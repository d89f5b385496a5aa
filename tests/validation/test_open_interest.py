"""Open interest goes through validation and repair untouched (and is never invented)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import tradedata
from tradedata.csvio import read_csv


def _oi_file(data_dir: Path) -> pd.DataFrame:
    return read_csv(data_dir / "2006-volume-day-001.txt", "1d")  # non-zero open interest


def test_repair_keeps_open_interest_and_leaves_filled_bars_unknown(data_dir: Path) -> None:
    frame = _oi_file(data_dir)

    kept = tradedata.repair(frame.iloc[::-1])  # unsorted: repair sorts it back
    assert kept["open_interest"].tolist() == frame["open_interest"].tolist()

    holed = frame.drop(frame.index[10:12])
    filled = tradedata.repair(holed, "1d", fill_gaps=True, calendar="XEUR")
    new = filled[filled["filled"]]
    assert list(new.index) == list(frame.index[10:12])
    assert np.isnan(new["open_interest"]).all()  # unknown, never carried or made up
    assert filled.loc[holed.index, "open_interest"].tolist() == holed["open_interest"].tolist()


def test_bars_differing_only_in_open_interest_conflict(data_dir: Path) -> None:
    frame = _oi_file(data_dir).iloc[:5]
    twin = frame.iloc[[2]].copy()
    twin["open_interest"] += 1

    checks = tradedata.validate(pd.concat([frame, twin]), "1d").to_dict()["checks"]

    assert (checks["duplicates_exact"], checks["duplicates_conflicting"]) == (0, 1)
