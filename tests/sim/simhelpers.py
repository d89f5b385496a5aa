"""Helpers shared by the simulator tests (importable: tests/sim is on sys.path)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tradedata.adapters.ccxt_.urls import ccxt_url_overrides
from tradedata.sim import ExchangeSimulator, StreamSettings

#: Sim time of the frozen simulator: mid-bar for every timeframe from 1m up.
FROZEN_NOW = pd.Timestamp("2024-03-06 12:34:56.789", tz="UTC")
HISTORY_START = "2024-01-01"
FAST_STREAMS = StreamSettings(update_interval=2.0, min_interval=0.05, ping_interval=None)


def ccxt_config(exchange_id: str, sim: ExchangeSimulator, **extra: Any) -> dict[str, Any]:
    """ccxt constructor config aiming ``exchange_id`` at ``sim`` (no client-side throttling)."""
    return {
        "urls": ccxt_url_overrides(exchange_id, sim.url, sim.ws_base),
        "enableRateLimit": False,
        **extra,
    }


def ms(ts: pd.Timestamp | str) -> int:
    """Epoch milliseconds of a timestamp."""
    return int(pd.Timestamp(ts).value // 1_000_000)


def rows_to_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """ccxt OHLCV rows as a tradedata frame, for comparison with ``sim.canonical``."""
    index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], unit="ms", utc=True))
    frame = pd.DataFrame(
        [r[1:6] for r in rows],
        index=index.rename("timestamp"),
        columns=["open", "high", "low", "close", "volume"],
        dtype="float64",
    )
    return frame
