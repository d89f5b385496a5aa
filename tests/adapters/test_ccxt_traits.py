"""The exchange traits table and its mapping to PagingRules (no server needed)."""

from __future__ import annotations

import ccxt
import pytest

from tradedata.adapters.base import ProviderSettings
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.adapters.ccxt_.traits import (
    TRAITS,
    Endpoint,
    ExchangeTraits,
    history_bars,
    paging_rules_for,
    traits_for,
)
from tradedata.adapters.paging import KEEPS, PagingRules
from tradedata.model import parse_timeframe

#: the exchanges issue 10 names
NAMED = (
    "binance",
    "bybit",
    "okx",
    "coinbase",
    "kraken",
    "kucoin",
    "gate",
    "bitget",
    "htx",
    "mexc",
    "bitfinex",
    "bitstamp",
)
H1 = parse_timeframe("1h")


@pytest.mark.parametrize("exchange", NAMED)
def test_every_named_exchange_has_a_cited_row(exchange: str) -> None:
    row = TRAITS[exchange]

    assert f"ccxt {exchange}." in row.source  # the ccxt code the row was read from
    assert any(host in row.source for host in (".com", ".net", ".io")), row.source  # API docs
    assert row.keeps in KEEPS
    assert row.endpoints and any(e.used_by_ccxt for e in row.endpoints)


@pytest.mark.parametrize("exchange", NAMED)
def test_a_page_never_asks_for_more_than_the_endpoints_serve(exchange: str) -> None:
    row = TRAITS[exchange]
    used = [e.max_candles for e in row.endpoints if e.used_by_ccxt]

    assert row.max_candles <= min(used)
    assert row.max_window is None or row.max_candles <= row.max_window


@pytest.mark.parametrize("exchange", NAMED)
def test_an_exchange_keeping_the_newest_bars_can_still_be_paged_forward(exchange: str) -> None:
    row = TRAITS[exchange]
    depth = history_bars(row, H1)

    if row.keeps != "oldest":
        # either the window end is sent (a window of exactly `limit` bars), or all the history
        # there is fits in one page
        assert row.end_param or (depth is not None and depth <= row.max_candles)


def test_kraken_history_is_its_latest_720_bars_with_a_reason() -> None:
    rules = CcxtProvider("kraken").paging_rules(H1)

    assert rules.history_bars == 720
    assert rules.history_reason == "kraken keeps only the latest 720 1h bars"
    assert rules.keeps == "newest" and not rules.sends_end


def test_okx_reaches_all_history_through_history_candles() -> None:
    row = TRAITS["okx"]
    recent, history = row.endpoints

    assert recent.depth(H1) == 1440 and history.depth(H1) is None
    assert CcxtProvider("okx").paging_rules(H1).history_bars is None


def test_an_endpoint_ccxt_does_not_use_does_not_limit_the_depth() -> None:
    row = ExchangeTraits(
        endpoints=(Endpoint("/a", 100, history_bars=50), Endpoint("/b", 100, used_by_ccxt=False))
    )

    assert history_bars(row, H1) == 50


def test_history_in_days_per_timeframe() -> None:
    endpoint = Endpoint("/candles", 1000, history_days={"1h": 60})

    assert endpoint.depth(H1) == 1440
    assert endpoint.depth(parse_timeframe("1d")) is None


@pytest.mark.parametrize("exchange", NAMED)
def test_the_provider_pages_by_its_row(exchange: str) -> None:
    row = TRAITS[exchange]

    rules = CcxtProvider(exchange).paging_rules(H1)

    assert rules == PagingRules(
        max_candles=row.max_candles,
        keeps=row.keeps,
        sends_end=row.end_param,
        end_inclusive=row.end_inclusive,
        max_window=None if row.max_window is None else row.max_candles,
        history_bars=history_bars(row, H1),
        history_reason=rules.history_reason,
        short_page_is_end=row.short_page_is_end,
    )


def test_any_other_exchange_gets_the_conservative_default() -> None:
    assert "bitvavo" not in TRAITS

    rules = CcxtProvider("bitvavo").paging_rules(H1)

    assert rules.keeps == "unknown"
    assert not rules.sends_end
    assert not rules.short_page_is_end
    assert rules.history_bars is None
    assert rules.max_candles == ccxt.bitvavo().features["spot"]["fetchOHLCV"]["limit"]
    assert "conservative default" in traits_for("bitvavo", ccxt.bitvavo()).source


def test_a_smaller_page_size_option_is_obeyed_and_never_widens_past_the_window() -> None:
    small = CcxtProvider("coinbase", ProviderSettings(options={"max_candles": 100}))

    assert small.paging_rules(H1).max_candles == 100
    assert small.paging_rules(H1).max_window == 100  # never an over-full window
    row = TRAITS["coinbase"]
    assert paging_rules_for("coinbase", row, H1, 5000).max_candles == row.max_window
