"""Property: which bars a simulated kline window answers with, around outages and quiet minutes,
equals a brute-force reading of the series (both ends of an over-full window)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradedata.sim import timeframes as tfs
from tradedata.sim.market import SyntheticMarket

BASE = 1_709_251_200_000  # 2024-03-01 00:00 UTC
LISTING = BASE - 30 * tfs.DAY_MS
NOW = BASE + 3 * tfs.DAY_MS + 12_345


def brute_opens(market: SyntheticMarket, tf: str, lo: int, hi: int) -> list[int]:
    """Every open in [lo, hi] whose bar holds at least one minute (begun by NOW) outside the
    outages: a bar with nothing traded yet does not exist yet."""
    out = []
    t = lo
    while t <= hi:
        end = tfs.shift(t, 1, tf)
        minutes = np.arange(t, min(end, tfs.floor_open(NOW, "1m") + 60_000), tfs.MINUTE_MS)
        inside = np.zeros(len(minutes), dtype=bool)
        for a, b in market.outages:
            inside |= (minutes >= a) & (minutes < b)
        if not inside.all():
            out.append(t)
        t = end
    return out


windows = st.lists(st.tuples(st.integers(0, 3 * 1440), st.integers(1, 600)), max_size=4).map(
    lambda ws: [(BASE + a * 60_000, BASE + (a + n) * 60_000) for a, n in ws]
)


@settings(max_examples=150, deadline=None)
@given(
    outages=windows,
    tf=st.sampled_from(["1m", "5m", "1h", "4h"]),
    first=st.integers(0, 3 * 1440),
    span=st.integers(0, 2000),
    limit=st.integers(1, 300),
    from_start=st.booleans(),
)
def test_window_selection_equals_brute_force(outages, tf, first, span, limit, from_start):
    market = SyntheticMarket("bybit", "BTC/USDT", 3, LISTING, 0.1, outages)
    lo = tfs.floor_open(BASE + first * 60_000, tf)
    hi = tfs.floor_open(min(lo + span * 60_000, NOW), tf)

    bars = market.klines(tf, lo, hi, limit, NOW, from_start)

    every = brute_opens(market, tf, lo, hi)
    expected = every[:limit] if from_start else every[max(0, len(every) - limit) :]
    assert bars.open_time.tolist() == expected
    assert np.all(bars.volume >= 0)
    closed = bars.take(tfs.close_times(bars.open_time, tf) < NOW)
    canon = market.canonical(tf, lo, tfs.shift(hi, 1, tf), NOW)
    both = np.intersect1d(closed.open_time, canon.open_time)
    assert len(both) == len(closed.open_time)  # REST and ground truth agree on what exists


def test_an_open_bar_that_has_not_traded_yet_has_no_row():
    current = tfs.floor_open(NOW, "4h")
    market = SyntheticMarket("bybit", "BTC/USDT", 3, LISTING, 0.0, [(current, NOW + 3_600_000)])
    lo = current - 10 * 4 * 3_600_000

    newest = market.klines("4h", lo, current, 3, NOW, from_start=False)

    assert newest.open_time.tolist() == brute_opens(market, "4h", lo, current)[-3:]
    assert newest.open_time[-1] == current - 4 * 3_600_000
