"""The seam between history, REST fills and the live stream: no gap, no repeat, in order."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tradedata.feeds.live.model import LiveBar
from tradedata.feeds.live.seam import Seam, step_functions
from tradedata.model import parse_timeframe

MIN = 60_000
T0 = 1_709_726_400_000  # 2024-03-06 12:00 UTC


def bar(i: int) -> LiveBar:
    """The bar opening ``i`` minutes after T0 (its values encode i)."""
    return LiveBar(T0 + i * MIN, float(i), i + 1.0, i - 1.0, i + 0.5, 10.0 + i)


def opens(bars: list[LiveBar]) -> list[int]:
    return [(b.open_ms - T0) // MIN for b in bars]


def test_live_bars_wait_for_the_backfill_then_follow_it():
    seam = Seam(parse_timeframe("1m"))
    assert seam.live(bar(5)) == []
    assert seam.live(bar(6)) == []

    released = seam.start([bar(i) for i in range(6)])

    assert opens(released) == [0, 1, 2, 3, 4, 5, 6]  # bar 5 once: history, not the stream
    assert seam.idle


def test_repeated_and_older_live_bars_are_dropped():
    seam = Seam(parse_timeframe("1m"))
    seam.start([bar(0), bar(1)])

    assert opens(seam.live(bar(2))) == [2]
    assert seam.live(bar(2)) == []
    assert seam.live(bar(1)) == []
    assert opens(seam.live(bar(3))) == [3]


def test_a_hole_is_fetched_before_the_live_bars_after_it():
    seam = Seam(parse_timeframe("1m"))
    seam.start([bar(0)])

    assert seam.live(bar(4)) == []
    request = seam.wanted()
    assert seam.live(bar(5)) == []  # waits while the fill runs
    released = seam.filled([bar(1), bar(2), bar(3)])

    assert request == (T0 + MIN, T0 + 3 * MIN)
    assert opens(released) == [1, 2, 3, 4, 5]
    assert seam.wanted() is None and seam.idle


def test_catch_up_after_reconnection_asks_up_to_the_newest_closed_bar():
    seam = Seam(parse_timeframe("1m"))
    seam.start([bar(0), bar(1)])
    seam.catch_up()

    request = seam.wanted()
    seam.live(bar(5))  # the stream is back before the fill returns
    released = seam.filled([bar(2), bar(3)])
    request2 = seam.wanted()
    released2 = seam.filled([bar(4)])

    assert request == (T0 + 2 * MIN, None)
    assert opens(released) == [2, 3]
    assert request2 == (T0 + 4 * MIN, T0 + 4 * MIN)
    assert opens(released2) == [4, 5]


def test_a_fill_that_fetched_past_waiting_live_bars_drops_them():
    seam = Seam(parse_timeframe("1m"))
    seam.start([bar(0)])
    seam.catch_up()
    seam.wanted()
    seam.live(bar(2))

    released = seam.filled([bar(1), bar(2), bar(3)])

    assert opens(released) == [1, 2, 3]
    assert seam.pending == 0


def test_a_hole_the_exchange_cannot_fill_is_not_waited_for():
    seam = Seam(parse_timeframe("1m"))
    seam.start([bar(0)])
    seam.live(bar(3))
    seam.wanted()

    released = seam.filled([bar(1)])  # no bar 2: no trades, or the fill was given up

    assert opens(released) == [1, 3]
    assert seam.wanted() is None and seam.idle


def test_without_history_the_first_live_bar_starts_the_series():
    seam = Seam(parse_timeframe("1m"))
    seam.start([])

    assert opens(seam.live(bar(7))) == [7]
    assert seam.wanted() is None
    assert opens(seam.live(bar(8))) == [8]


def test_month_steps_follow_the_calendar():
    forward, backward = step_functions(parse_timeframe("1M"))
    feb = int(pd.Timestamp("2024-02-01", tz="UTC").value // 1_000_000)
    mar = int(pd.Timestamp("2024-03-01", tz="UTC").value // 1_000_000)

    assert forward(feb) == mar
    assert backward(mar) == feb


@st.composite
def schedules(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """History length, the newest bar, and the order of live bars with drops and repeats."""
    history = draw(st.integers(1, 6))
    newest = draw(st.integers(history + 1, history + 25))
    live = list(range(draw(st.integers(0, history)), newest + 1))
    kept = [i for i in live if draw(st.booleans()) or i == newest]
    repeats = draw(st.lists(st.sampled_from(kept), max_size=5))
    order = draw(st.permutations(kept + repeats))
    return history, newest, list(order)


@settings(max_examples=100, deadline=None)
@given(schedules(), st.data())
def test_any_interleaving_releases_every_bar_once_in_order(schedule, data):
    history, newest, arrivals = schedule
    seam = Seam(parse_timeframe("1m"))
    released: list[LiveBar] = []
    applied = False
    for i in arrivals:
        if not applied and data.draw(st.booleans()):
            released += seam.start([bar(k) for k in range(history)])
            applied = True
        released += seam.live(bar(i))
        released += _serve_fills(seam, newest, data)
    if not applied:
        released += seam.start([bar(k) for k in range(history)])
    released += _serve_fills(seam, newest, None)

    assert opens(released) == list(range(newest + 1))


def _serve_fills(seam: Seam, newest: int, data: st.DataObject | None) -> list[LiveBar]:
    """Answer the wanted fills from the exchange's history up to ``newest`` (all of them
    without ``data``, else perhaps only some)."""
    out: list[LiveBar] = []
    while (request := seam.wanted()) is not None:
        start, end = request
        last = newest if end is None else (end - T0) // MIN
        upto = min(last, newest)
        out += seam.filled([bar(k) for k in range((start - T0) // MIN, upto + 1)])
        if data is not None and data.draw(st.booleans()):
            break  # leave the next fill for later: more bars may arrive meanwhile
    return out
