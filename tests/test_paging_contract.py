"""The page contract's decisions, one rule at a time (tradedata.adapters.paging)."""

from __future__ import annotations

import pandas as pd
import pytest

from tradedata.adapters.paging import (
    CONTINUE,
    DONE,
    UNPROVABLE,
    PageRequest,
    PagingRules,
    Span,
    Unfetched,
    decide,
    plan,
    request_for,
    unproven_parts,
)
from tradedata.model import parse_timeframe

H1 = parse_timeframe("1h")
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def t(hour: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hour)


def bars(*hours: int) -> pd.DataFrame:
    idx = pd.DatetimeIndex([t(h) for h in hours], name="timestamp", tz="UTC")
    n = len(hours)
    return pd.DataFrame(
        {
            "open": [1.0] * n,
            "high": [2.0] * n,
            "low": [0.5] * n,
            "close": [1.5] * n,
            "volume": [0.0] * n,
        },
        index=idx,
    )


OLDEST = PagingRules(max_candles=3, keeps="oldest", sends_end=True, short_page_is_end=True)
NEWEST = PagingRules(max_candles=3, keeps="newest", sends_end=True, short_page_is_end=True)
UNKNOWN = PagingRules(max_candles=3)


def test_oldest_full_page_proves_up_to_its_last_bar_and_continues() -> None:
    want = Span(t(0), t(20))
    req = request_for(want, OLDEST, H1)
    got = decide(want, req, bars(0, 1, 2), OLDEST, H1)
    assert got.proven == Span(t(0), t(2)) and got.verdict == CONTINUE
    assert got.next == PageRequest(t(3), t(20), 3, t(20))


def test_oldest_page_starting_late_proves_the_gap_before_it() -> None:
    want = Span(t(0), t(20))
    got = decide(want, request_for(want, OLDEST, H1), bars(5, 6, 7), OLDEST, H1)
    assert got.proven == Span(t(0), t(7))  # the oldest bars from since: none before 05:00


def test_short_page_is_the_end_only_where_the_rules_say_so() -> None:
    want = Span(t(0), t(20))
    trusted = decide(want, request_for(want, OLDEST, H1), bars(0, 1), OLDEST, H1)
    assert trusted.proven == Span(t(0), t(20)) and trusted.verdict == DONE

    untrusted = PagingRules(max_candles=3, keeps="oldest")
    got = decide(want, request_for(want, untrusted, H1), bars(0, 1), untrusted, H1)
    assert got.proven == Span(t(0), t(1)) and got.todo == (Span(t(2), t(20)),)
    empty = decide(Span(t(2), t(20)), request_for(Span(t(2), t(20)), untrusted, H1),
                   bars(), untrusted, H1)  # fmt: skip
    assert empty.proven is None and empty.verdict == UNPROVABLE
    assert empty.unfetched == (Unfetched(t(2), t(20)),) and "not known" in empty.reason


def test_empty_answer_proves_nothing_for_an_unknown_exchange() -> None:
    want = Span(t(0), t(20))
    got = decide(want, request_for(want, UNKNOWN, H1), bars(), UNKNOWN, H1, source="kucoin")
    assert got.proven is None and got.verdict == UNPROVABLE and got.next is None
    assert got.unfetched[0] == (t(0), t(20)) and "kucoin" in got.unfetched[0].reason


def test_unknown_full_page_starting_late_is_not_a_gap() -> None:
    want = Span(t(0), t(20))
    got = decide(want, request_for(want, UNKNOWN, H1), bars(10, 11, 12), UNKNOWN, H1)
    assert got.proven == Span(t(10), t(12))
    assert got.unfetched[0] == (t(0), t(9)) and got.verdict == UNPROVABLE  # no end to narrow

    with_end = PagingRules(max_candles=3, sends_end=True)
    got = decide(want, request_for(want, with_end, H1), bars(10, 11, 12), with_end, H1)
    assert got.proven == Span(t(10), t(12)) and not got.unfetched
    assert got.todo == (Span(t(0), t(9)), Span(t(13), t(20)))  # a narrower request first
    assert got.next == PageRequest(t(0), t(9), 3, t(9))


def test_newest_pages_backward_from_the_end() -> None:
    want = Span(t(0), t(20))
    req = request_for(want, NEWEST, H1)
    assert req == PageRequest(t(0), t(20), 3, t(20))
    got = decide(want, req, bars(18, 19, 20), NEWEST, H1)
    assert got.proven == Span(t(18), t(20))
    assert got.next == PageRequest(t(0), t(17), 3, t(17))
    last = decide(Span(t(0), t(17)), got.next, bars(3, 9), NEWEST, H1)  # type: ignore[arg-type]
    assert last.proven == Span(t(0), t(17)) and last.verdict == DONE


def test_windows_never_exceed_max_window() -> None:
    coinbase = PagingRules(max_candles=300, keeps="newest", sends_end=True, max_window=300,
                           short_page_is_end=True)  # fmt: skip
    req = request_for(Span(t(0), t(1000)), coinbase, H1)
    assert req.since == t(701) and req.until == t(1000)
    forward = PagingRules(max_candles=300, keeps="oldest", sends_end=True, max_window=5)
    req = request_for(Span(t(0), t(1000)), forward, H1)
    assert (req.since, req.until) == (t(0), t(4))


def test_an_exclusive_end_is_sent_one_bar_later() -> None:
    okx = PagingRules(max_candles=3, keeps="oldest", sends_end=True, end_inclusive=False,
                      short_page_is_end=True)  # fmt: skip
    req = request_for(Span(t(5), t(5)), okx, H1)
    assert req.until == t(5) and req.end == t(6)  # the final one-bar page is not empty
    got = decide(Span(t(5), t(5)), req, bars(5), okx, H1)
    assert got.proven == Span(t(5), t(5)) and got.verdict == DONE


def test_history_depth_is_unfetchable_with_its_reason() -> None:
    kraken = PagingRules(max_candles=720, keeps="newest", history_bars=720,
                         history_reason="kraken keeps only the latest 720 1h bars",
                         short_page_is_end=True)  # fmt: skip
    now = t(2000) + pd.Timedelta(minutes=30)
    start = plan(Span(t(0), t(1999)), kraken, H1, now)
    assert start.unfetched == (Unfetched(t(0), t(1280)),)
    assert start.unfetched[0].reason == "kraken keeps only the latest 720 1h bars"
    assert start.todo == (Span(t(1281), t(1999)),)


def test_newest_without_an_end_reports_what_it_cannot_reach() -> None:
    rules = PagingRules(max_candles=3, keeps="newest")
    want = Span(t(0), t(20))
    got = decide(want, request_for(want, rules, H1), bars(18, 19, 20), rules, H1, source="x")
    assert got.proven == Span(t(18), t(20))
    assert got.unfetched == (Unfetched(t(0), t(17)),) and "newest 3" in got.reason


def test_a_page_marked_complete_proves_the_window() -> None:
    want = Span(t(0), t(20))
    req = request_for(want, UNKNOWN, H1)
    assert decide(want, req, bars(4), UNKNOWN, H1, complete=True).proven == Span(t(0), t(20))
    more = decide(want, req, bars(0, 1), UNKNOWN, H1, complete=False)
    assert more.proven == Span(t(0), t(1)) and more.todo == (Span(t(2), t(20)),)


def test_bars_outside_the_window_are_not_kept() -> None:
    want = Span(t(2), t(4))
    got = decide(want, request_for(want, OLDEST, H1), bars(0, 2, 3, 3, 9), OLDEST, H1)
    assert list(got.keep.index) == [t(2), t(3)]
    assert got.proven == Span(t(2), t(4))  # the oldest bars from since reach past 04:00


def test_unproven_parts() -> None:
    want = Span(t(0), t(10))
    assert unproven_parts(want, [Span(t(2), t(3)), Span(t(5), t(12))], H1) == [
        Span(t(0), t(1)),
        Span(t(4), t(4)),
    ]
    assert unproven_parts(want, [], H1) == [want]


def test_rules_are_checked() -> None:
    with pytest.raises(ValueError):
        PagingRules(max_candles=0)
    with pytest.raises(ValueError):
        PagingRules(max_candles=5, keeps="middle")
