"""Exchange websocket dialects: topics, URLs, subscribe messages and kline parsing.

Payload shapes are the simulator's, which follow Binance's spot market streams and Bybit's v5
public spot stream as documented.
"""

from __future__ import annotations

import json

import pytest

from tradedata.errors import ConfigurationError
from tradedata.feeds.live.dialects import BINANCE, BYBIT, DIALECTS
from tradedata.feeds.live.model import LiveBar, LiveSettings, StoreNotice, backoff_delay


def binance_kline(closed: bool, combined: bool = True) -> dict:
    k = {
        "t": 1_709_726_400_000, "T": 1_709_726_459_999, "s": "BTCUSDT", "i": "1m",
        "f": 1, "L": 9, "o": "100.5", "c": "101.25", "h": "102", "l": "99.75",
        "v": "12.5", "n": 9, "x": closed, "q": "1250", "V": "6", "Q": "600", "B": "0",
    }  # fmt: skip
    payload = {"e": "kline", "E": 1_709_726_460_012, "s": "BTCUSDT", "k": k}
    return {"stream": "btcusdt@kline_1m", "data": payload} if combined else payload


def bybit_kline(closed: bool) -> dict:
    item = {
        "start": 1_709_726_400_000, "end": 1_709_726_459_999, "interval": "1",
        "open": "100.5", "close": "101.25", "high": "102", "low": "99.75",
        "volume": "12.5", "turnover": "1250", "confirm": closed,
        "timestamp": 1_709_726_460_020,
    }  # fmt: skip
    return {"topic": "kline.1.BTCUSDT", "data": [item], "ts": 1_709_726_460_021, "type": "snapshot"}


EXPECTED = (1_709_726_400_000, 100.5, 102.0, 99.75, 101.25, 12.5)


def test_binance_closed_kline_is_a_bar_with_its_event_time():
    parsed = BINANCE.parse(binance_kline(closed=True))

    assert [(topic, tuple(bar)[:6]) for topic, bar in parsed] == [("btcusdt@kline_1m", EXPECTED)]
    assert parsed[0][1].event_ms == 1_709_726_460_012


def test_binance_raw_stream_payload_gets_its_topic_from_the_kline():
    parsed = BINANCE.parse(binance_kline(closed=True, combined=False))

    assert parsed[0][0] == "btcusdt@kline_1m"


@pytest.mark.parametrize("dialect, message", [
    (BINANCE, binance_kline(closed=False)),
    (BYBIT, bybit_kline(closed=False)),
])  # fmt: skip
def test_a_still_open_candle_is_never_a_bar(dialect, message):
    assert dialect.parse(message) == []


def test_bybit_confirmed_kline_is_a_bar():
    parsed = BYBIT.parse(bybit_kline(closed=True))

    assert [(topic, tuple(bar)[:6]) for topic, bar in parsed] == [("kline.1.BTCUSDT", EXPECTED)]
    assert parsed[0][1].event_ms == 1_709_726_460_020


@pytest.mark.parametrize("message", [
    {"result": None, "id": 1},
    {"success": True, "ret_msg": "pong", "conn_id": "x", "op": "ping"},
    {"e": "trade"},
    [1, 2],
])  # fmt: skip
def test_control_messages_are_not_bars(message):
    assert BINANCE.parse(message) == [] and BYBIT.parse(message) == []


def test_topics_and_urls():
    assert BINANCE.topic("BTCUSDT", "1m") == "btcusdt@kline_1m"
    assert BYBIT.topic("BTCUSDT", "1h") == "kline.60.BTCUSDT"
    url = BINANCE.url("ws://127.0.0.1:9", ["btcusdt@kline_1m", "ethusdt@kline_1m"])
    assert url == "ws://127.0.0.1:9/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m"
    assert BYBIT.url("ws://127.0.0.1:9/", ["kline.1.BTCUSDT"]) == "ws://127.0.0.1:9/v5/public/spot"


def test_subscribe_messages():
    assert BINANCE.subscribe(["a@kline_1m"], 7) == {
        "method": "SUBSCRIBE", "params": ["a@kline_1m"], "id": 7,
    }  # fmt: skip
    message = BYBIT.subscribe(["kline.1.BTCUSDT"], 3)
    assert message == {"op": "subscribe", "args": ["kline.1.BTCUSDT"], "req_id": "3"}
    assert json.loads(json.dumps(BYBIT.app_ping)) == {"op": "ping"}


def test_refusals_name_the_request_and_topics():
    binance = BINANCE.refusal({"error": {"code": 2, "msg": "Invalid request"}, "id": 4})
    bybit = BYBIT.refusal({
        "success": False, "ret_msg": "Invalid topic :[kline.7.BTCUSDT]", "conn_id": "c",
        "req_id": "5", "op": "subscribe",
    })  # fmt: skip

    assert binance is not None and binance.request_id == 4 and "Invalid request" in binance.reason
    assert bybit is not None and bybit.request_id == 5 and bybit.topics == ("kline.7.BTCUSDT",)
    assert BYBIT.refusal({"success": True, "op": "subscribe"}) is None


def test_every_dialect_streams_one_minute_bars():
    assert all("1m" in d.intervals for d in DIALECTS.values())


def test_settings_reject_unknown_and_bad_options():
    with pytest.raises(ConfigurationError, match="silence"):
        LiveSettings.from_options({"silence": 3})
    with pytest.raises(ConfigurationError, match="mode"):
        LiveSettings(mode="pigeon")
    with pytest.raises(ConfigurationError):
        LiveSettings(max_retries=-1)


def test_backoff_doubles_up_to_the_cap():
    delays = [backoff_delay(n, 0.5, 4.0, 1.0) for n in range(1, 7)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff_delay(3, 0.5, 4.0, 0.0) == 1.0  # jitter keeps at least half


def test_store_notice_is_a_string_with_fields():
    notice = StoreNotice("bybit", "broken", "no message for 1.0 s")

    assert notice == "bybit: broken (no message for 1.0 s)"
    fields = (notice.exchange, notice.event, notice.detail)
    assert fields == ("bybit", "broken", "no message for 1.0 s")


def test_live_bar_defaults_to_live_without_event_time():
    bar = LiveBar(1, 1.0, 1.0, 1.0, 1.0, 0.0)

    assert bar.live and bar.event_ms is None and bar.received is None
