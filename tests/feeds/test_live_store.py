"""The store's configuration and the paper broker, without a running exchange."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import backtrader as bt
import pytest

from tradedata.errors import ConfigurationError, InputError
from tradedata.feeds import TradeDataLiveFeed, TradeDataStore
from tradedata.feeds.live import PaperBroker
from tradedata.feeds.live.broker import CryptoCommissionInfo, default_exchange_fee
from tradedata.feeds.live.dialects import BINANCE
from tradedata.feeds.live.model import StoreNotice


@pytest.fixture
def stores(tmp_path: Any) -> Iterator[list[TradeDataStore]]:
    made: list[TradeDataStore] = []
    yield made
    for store in made:
        store.close()


def make(stores: list[TradeDataStore], tmp_path: Any, exchange: str = "binance", **kw: Any):
    store = TradeDataStore(exchange, cache_dir=tmp_path / exchange, **kw)
    stores.append(store)
    return store


def test_the_store_gives_its_provider_a_short_clock_ttl_and_keeps_user_options(stores, tmp_path):
    settings = {"url": "http://127.0.0.1:9", "options": {"max_candles": 9}}
    config = {"providers": {"binance": settings}}

    store = make(stores, tmp_path, config=config, clock_ttl=0.25)

    options = store.manager.config.providers["binance"]["options"]
    assert options == {"max_candles": 9, "time_ttl": 0.25}


def test_an_explicit_time_ttl_wins(stores, tmp_path):
    config = {"providers": {"bybit": {"options": {"time_ttl": 3}}}}

    store = make(stores, tmp_path, "bybit", config=config)

    assert store.manager.config.providers["bybit"]["options"]["time_ttl"] == 3


@pytest.mark.parametrize(
    "settings, sandbox, expected",
    [
        ({"ws_url": "ws://127.0.0.1:5/"}, False, "ws://127.0.0.1:5/"),
        ({"url": "http://127.0.0.1:6"}, False, "ws://127.0.0.1:6"),
        ({"url": "https://proxy.invalid"}, False, "wss://proxy.invalid"),
        ({}, False, BINANCE.live_base),
        ({}, True, BINANCE.sandbox_base),
    ],
)
def test_websocket_base_url(stores, tmp_path, settings, sandbox, expected):
    config = {"providers": {"binance": settings}}

    store = make(stores, tmp_path, config=config, sandbox=sandbox)

    assert store.ws_base() == expected
    assert store.manager.config.providers["binance"].get("sandbox", False) is sandbox


def test_exchanges_without_a_dialect_are_polled(stores, tmp_path):
    assert make(stores, tmp_path, "kraken").dialect is None
    assert make(stores, tmp_path, "binance", mode="polling").dialect is None
    assert make(stores, tmp_path, "bybit").dialect is not None
    with pytest.raises(ConfigurationError, match="no websocket dialect"):
        TradeDataStore("kraken", cache_dir=tmp_path / "k", mode="websocket")


def test_unknown_options_are_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="silence_timeuot"):
        TradeDataStore("binance", cache_dir=tmp_path, silence_timeuot=3)


def test_getdata_makes_a_live_feed_with_the_timeframe(stores, tmp_path):
    store = make(stores, tmp_path)

    data = store.getdata(dataname="btcusdt", interval="5m")

    assert isinstance(data, TradeDataLiveFeed) and data.islive()
    assert (data.symbol, data.timeframe_name, data.store) == ("BTC/USDT", "5m", store)
    assert (data.p.timeframe, data.p.compression) == (bt.TimeFrame.Minutes, 5)


def test_store_notifications_come_out_in_order(stores, tmp_path):
    store = make(stores, tmp_path)
    store.put_notification(StoreNotice("binance", "connected"))
    store.put_notification("plain text", 1, key=2)

    notes = store.get_notifications()

    assert notes == [("binance: connected", (), {}), ("plain text", (1,), {"key": 2})]
    assert store.get_notifications() == []


# -- the paper broker -----------------------------------------------------------------------------


class _Data:
    def __init__(self, symbol: str, name: str = "") -> None:
        self.symbol, self._name = symbol, name


def test_paper_broker_is_backtraders_broker_with_per_symbol_fees():
    broker = PaperBroker(fees={"ETH/USDT": 0.0005})
    broker.set_fee_lookup(lambda symbol, side: 0.001 if side == "taker" else 0.0008)

    btc = broker.getcommissioninfo(_Data("BTC/USDT"))
    eth = broker.getcommissioninfo(_Data("ETH/USDT"))

    assert isinstance(broker, bt.brokers.BackBroker)
    assert btc.getcommission(2.0, 100.0) == pytest.approx(0.2)
    assert eth.getcommission(2.0, 100.0) == pytest.approx(0.1)
    assert PaperBroker(fee_side="maker", fee=None).fee_for("X/Y") == 0.0


def test_one_fee_for_everything_and_backtraders_own_settings_win():
    broker = PaperBroker(fee=0.002)
    broker.set_fee_lookup(lambda symbol, side: 0.001)
    assert broker.fee_for("BTC/USDT") == 0.002

    broker.setcommission(commission=0.003, name="named")
    assert broker.getcommissioninfo(_Data("BTC/USDT", "named")).p.commission == 0.003
    broker.setcommission(commission=0.004)
    assert broker.getcommissioninfo(_Data("SOL/USDT", "other")).p.commission == 0.004


def test_crypto_commission_is_a_share_of_value_with_fractional_sizes():
    info = CryptoCommissionInfo(commission=0.001)

    assert info.getcommission(0.25, 40_000.0) == pytest.approx(10.0)
    assert info.getsize(50_000.0, 1_000.0) == pytest.approx(0.02)


def test_default_fee_comes_from_ccxts_description():
    assert default_exchange_fee("binance") == pytest.approx(0.001)
    assert default_exchange_fee("no-such-exchange") is None


def test_getdata_accepts_the_venue_prefixed_symbol_of_its_exchange(stores, tmp_path):
    store = make(stores, tmp_path, "bybit")

    data = store.getdata(dataname="BYBIT:BTC/USDT", interval="1m")

    assert (data.symbol, data.source) == ("BTC/USDT", "bybit")
    with pytest.raises(InputError, match="names venue 'binance' but this store streams 'bybit'"):
        store.getdata(dataname="BINANCE:BTC/USDT", interval="1m")


def test_two_exchanges_share_one_cache_dir_without_mixing_bars(stores, tmp_path):
    from tradedata.feeds.live.model import LiveBar
    from tradedata.feeds.live.rest import LiveCacheWriter, RestSource
    from tradedata.model import parse_timeframe

    binance = TradeDataStore("binance", cache_dir=tmp_path / "shared")
    stores.append(binance)
    bybit = TradeDataStore("bybit", manager=binance.manager)
    stores.append(bybit)
    tf = parse_timeframe("1m")
    start = 1_717_200_000_000  # 2024-06-01 00:00 UTC
    for store, price in ((binance, 100.0), (bybit, 200.0)):
        writer = LiveCacheWriter(store.manager, store.exchange, 0, lambda job: None)
        for i in range(3):
            writer.add("BTC/USDT", tf, LiveBar(start + i * 60_000, price, price, price, price, 1))
        writer.flush()

    cache = binance.manager.cache
    assert sorted(cache.sources("BTC/USDT", "1m")) == ["binance", "bybit"]
    for store, price in ((binance, 100.0), (bybit, 200.0)):
        rest = RestSource(store.manager, store.exchange, "BTC/USDT", tf)
        frame = cache.read("BTC/USDT", "1m", source=rest.source)
        assert rest.source == store.exchange
        assert frame["close"].tolist() == [price] * 3  # its own bars only
        assert not cache.missing_ranges(
            "BTC/USDT", "1m", frame.index[0], frame.index[-1], source=rest.source
        )
