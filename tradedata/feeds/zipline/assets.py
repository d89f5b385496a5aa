"""Zipline asset metadata: stable sids, the equities and exchanges frames.

Sids are assigned once per symbol and remembered in ``<cache_dir>/zipline`` (a small diskcache
store, safe across processes), so re-ingesting a bundle, or ingesting the symbol into another
bundle, gives it the same sid: pickled positions, pipeline outputs and ``sid(...)`` lookups keep
pointing at the same asset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import diskcache
import pandas as pd

from tradedata.errors import CacheError

__all__ = ["AssetRow", "SidRegistry", "asset_frames"]

_SIDS_KEY = "sids"
#: Country code written for markets without one (crypto): ISO 3166 "user-assigned" code.
NO_COUNTRY = "XX"


class SidRegistry:
    """Symbol -> sid, persisted in ``directory`` (created on first use).

    New symbols get the next free sid (starting at 1); known symbols keep theirs forever.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def assign(self, symbols: Iterable[str]) -> dict[str, int]:
        """The sid of each symbol, assigning new ones in the order given."""
        wanted = list(dict.fromkeys(symbols))
        try:
            with diskcache.Cache(str(self.directory)) as store, store.transact():
                known: dict[str, int] = dict(store.get(_SIDS_KEY, {}))
                next_sid = max(known.values(), default=0) + 1
                for sym in wanted:
                    if sym not in known:
                        known[sym] = next_sid
                        next_sid += 1
                store.set(_SIDS_KEY, known)
        except OSError as exc:
            raise CacheError(f"cannot record zipline sids in {self.directory}: {exc}") from exc
        return {sym: known[sym] for sym in wanted}

    def known(self) -> dict[str, int]:
        """Every symbol -> sid recorded so far."""
        if not self.directory.exists():
            return {}
        with diskcache.Cache(str(self.directory)) as store:
            return dict(store.get(_SIDS_KEY, {}))


@dataclass(frozen=True)
class AssetRow:
    """What the asset database records about one ingested symbol."""

    sid: int
    symbol: str
    exchange: str
    country: str
    start: pd.Timestamp  # first session with data (naive)
    end: pd.Timestamp  # last session with data (naive)
    auto_close: pd.Timestamp  # the session after ``end``: zipline closes positions then


def asset_frames(rows: Sequence[AssetRow]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``equities`` and ``exchanges`` frames for ``AssetDBWriter.write``."""
    equities = pd.DataFrame(
        {
            "symbol": [r.symbol for r in rows],
            "asset_name": [r.symbol for r in rows],
            "start_date": pd.DatetimeIndex([r.start for r in rows]),
            "end_date": pd.DatetimeIndex([r.end for r in rows]),
            "first_traded": pd.DatetimeIndex([r.start for r in rows]),
            "auto_close_date": pd.DatetimeIndex([r.auto_close for r in rows]),
            "exchange": [r.exchange for r in rows],
        },
        index=pd.Index([r.sid for r in rows], dtype="int64", name="sid"),
    )
    seen: dict[str, str] = {}
    for r in rows:
        seen.setdefault(r.exchange, r.country)
    exchanges = pd.DataFrame(
        {
            "exchange": list(seen),
            "canonical_name": list(seen),
            "country_code": list(seen.values()),
        }
    )
    return equities, exchanges
