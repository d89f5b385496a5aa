"""The exchange simulator the ops tests share (a frozen clock: the same bars on every run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opshelpers import SIM_START

from tradedata.sim import ExchangeSimulator


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    """Binance and Bybit on 127.0.0.1 at a fixed sim time (speed 0)."""
    with ExchangeSimulator(seed=5, speed=0.0, start=SIM_START) as s:
        yield s
