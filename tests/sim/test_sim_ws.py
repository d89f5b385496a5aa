"""Websocket streams with real clients (``websockets``, aiohttp, ccxt.pro) at high sim speed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import ccxt.pro as ccxt_pro
import pandas as pd
import pytest
import websockets
from simhelpers import FAST_STREAMS, ccxt_config

from tradedata.sim import ExchangeSimulator, Faults, StreamSettings

SPEED = 600.0  # a 1m bar closes every 0.1 s of wall time
CLOSES = 6


def binance_closes(messages: list[Any]) -> int:
    return sum(1 for m in messages if m.get("k", {}).get("x"))


def bybit_closes(messages: list[Any]) -> int:
    return sum(1 for m in messages if "topic" in m and m["data"][0]["confirm"])


async def collect(
    url: str,
    seconds: float,
    send: list[dict] | None = None,
    enough: Callable[[list[Any]], bool] | None = None,
) -> list[Any]:
    """JSON messages received on ``url`` (after sending ``send``) during ``seconds`` or until
    ``enough`` says so."""
    out: list[Any] = []
    async with websockets.connect(url) as ws:
        for message in send or []:
            await ws.send(json.dumps(message))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not (enough and enough(out)):
            try:
                out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
            except asyncio.TimeoutError:
                break
    return out


def closed_frame(klines: list[dict[str, Any]]) -> pd.DataFrame:
    """Closed Binance ``k`` objects as a frame of parsed floats."""
    rows = [k for k in klines if k["x"]]
    index = pd.DatetimeIndex(pd.to_datetime([k["t"] for k in rows], unit="ms", utc=True))
    data = {
        c: [float(k[f]) for k in rows]
        for c, f in zip(["open", "high", "low", "close", "volume"], "ohlcv", strict=True)
    }
    return pd.DataFrame(data, index=index.rename("timestamp"))


def assert_each_bar_closed_once(sim: ExchangeSimulator, exchange: str, frame: pd.DataFrame) -> None:
    stamps = frame.index.asi8 // 1_000_000
    assert len(frame) >= CLOSES
    assert (pd.Series(stamps).diff().dropna() == 60_000).all()  # consecutive, none twice
    truth = sim.canonical(
        exchange, "BTC/USDT", "1m", frame.index[0], frame.index[-1] + pd.Timedelta("1min")
    )
    pd.testing.assert_frame_equal(frame, truth, check_freq=False)


@pytest.fixture
def fast_sim(make_sim: Any) -> ExchangeSimulator:
    return make_sim(speed=SPEED, streams=FAST_STREAMS)


def test_raw_stream_closes_each_bar_once_with_canonical_values(fast_sim: ExchangeSimulator) -> None:
    url = fast_sim.ws_url("binance", ["btcusdt@kline_1m"])

    messages = asyncio.run(collect(url, 10.0, enough=lambda m: binance_closes(m) >= CLOSES))

    klines = [m["k"] for m in messages]
    assert all(m["e"] == "kline" and m["s"] == "BTCUSDT" for m in messages)
    assert set(klines[0]) == set("tTsifLochlvnxqVQB")
    assert any(not k["x"] for k in klines)  # updates of the open bar
    assert_each_bar_closed_once(fast_sim, "binance", closed_frame(klines))


def test_combined_stream_wraps_payloads(fast_sim: ExchangeSimulator) -> None:
    url = fast_sim.ws_url("binance", ["btcusdt@kline_1m", "ethusdt@kline_5m"])

    messages = asyncio.run(collect(url, 0.8))

    assert {m["stream"] for m in messages} == {"btcusdt@kline_1m", "ethusdt@kline_5m"}
    assert all(m["data"]["e"] == "kline" for m in messages)
    five = [m["data"]["k"] for m in messages if m["stream"] == "ethusdt@kline_5m"]
    assert all(k["i"] == "5m" and k["T"] - k["t"] == 300_000 - 1 for k in five)


def test_subscribe_method_as_ccxt_pro_sends_it(fast_sim: ExchangeSimulator) -> None:
    requests = [
        {"method": "SUBSCRIBE", "params": ["solusdt@kline_1m"], "id": 1},
        {"method": "LIST_SUBSCRIPTIONS", "id": 2},
        {"method": "NOPE", "id": 3},
    ]

    messages = asyncio.run(collect(fast_sim.ws_url("binance"), 0.6, requests))

    answers = [m for m in messages if "id" in m]
    assert answers[0] == {"result": None, "id": 1}
    assert answers[1] == {"result": ["solusdt@kline_1m"], "id": 2}
    assert answers[2]["id"] == 3 and answers[2]["error"]["code"] == 2
    assert any(m.get("s") == "SOLUSDT" for m in messages)


def test_bybit_subscribe_ping_and_confirm_once_per_bar(fast_sim: ExchangeSimulator) -> None:
    requests = [
        {"op": "subscribe", "args": ["kline.1.BTCUSDT"], "req_id": "a"},
        {"op": "subscribe", "args": ["kline.7.BTCUSDT"], "req_id": "b"},
        {"op": "ping", "req_id": "c"},
    ]

    messages = asyncio.run(
        collect(fast_sim.ws_url("bybit"), 10.0, requests, lambda m: bybit_closes(m) >= CLOSES)
    )

    answers = {m["req_id"]: m for m in messages if "req_id" in m}
    assert answers["a"]["success"] is True and answers["a"]["op"] == "subscribe"
    assert answers["b"]["success"] is False
    assert answers["c"]["ret_msg"] == "pong" and answers["c"]["op"] == "ping"
    pushes = [m for m in messages if m.get("topic") == "kline.1.BTCUSDT"]
    assert all(m["type"] == "snapshot" and len(m["data"]) == 1 for m in pushes)
    bars = [m["data"][0] for m in pushes]
    klines = [
        {"t": b["start"], "x": b["confirm"], "o": b["open"], "h": b["high"], "l": b["low"],
         "c": b["close"], "v": b["volume"]}
        for b in bars
    ]  # fmt: skip
    assert_each_bar_closed_once(fast_sim, "bybit", closed_frame(klines))


def test_server_sends_ping_frames(make_sim: Any) -> None:
    sim = make_sim(speed=1.0, streams=StreamSettings(ping_interval=0.2))

    async def first_ping() -> aiohttp.WSMsgType:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(sim.ws_url("binance"), autoping=False) as ws,
        ):
            msg = await asyncio.wait_for(ws.receive(), 2.0)
            await ws.pong(msg.data)
            return msg.type

    assert asyncio.run(first_ping()) == aiohttp.WSMsgType.PING


def test_client_pings_are_answered(fast_sim: ExchangeSimulator) -> None:
    async def ping() -> float:
        async with websockets.connect(fast_sim.ws_url("binance")) as ws:
            return await asyncio.wait_for(await ws.ping(), 2.0)

    assert asyncio.run(ping()) >= 0


def test_drop_closes_the_socket_abruptly(make_sim: Any) -> None:
    sim = make_sim(speed=SPEED, streams=FAST_STREAMS, faults=Faults(ws_drop_every=3))

    async def read_until_dropped() -> tuple[int, int | None]:
        count = 0
        async with websockets.connect(sim.ws_url("binance", ["btcusdt@kline_1m"])) as ws:
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 2.0)
                    count += 1
            except websockets.ConnectionClosedError as e:
                return count, e.rcvd.code if e.rcvd else None

    count, close_code = asyncio.run(read_until_dropped())

    assert count == 3
    assert close_code is None  # no close frame: the connection was cut
    assert sim.stats.faults["ws_drop"] == 1


def test_silence_pauses_without_closing(make_sim: Any) -> None:
    faults = Faults(ws_silence_every=2, ws_silence_seconds=0.5)
    sim = make_sim(speed=SPEED, streams=FAST_STREAMS, faults=faults)

    async def arrival_times() -> list[float]:
        times: list[float] = []
        async with websockets.connect(sim.ws_url("binance", ["btcusdt@kline_1m"])) as ws:
            while len(times) < 4:
                await asyncio.wait_for(ws.recv(), 3.0)
                times.append(time.monotonic())
        return times

    times = asyncio.run(arrival_times())

    assert times[2] - times[1] >= 0.45
    assert sim.stats.faults["ws_silence"] >= 1


def test_ccxt_pro_watch_ohlcv_on_both_exchanges(fast_sim: ExchangeSimulator) -> None:
    async def watch(exchange_id: str) -> list[list]:
        client = getattr(ccxt_pro, exchange_id)(ccxt_config(exchange_id, fast_sim))
        try:
            await client.load_markets()
            seen: list[list] = []
            for _ in range(3):
                seen += await client.watch_ohlcv("ETH/USDT", "1m")
            return seen
        finally:
            await client.close()

    async def both() -> list[list[list]]:
        return list(await asyncio.gather(watch("binance"), watch("bybit")))

    for rows in asyncio.run(both()):
        assert rows and all(len(r) == 6 and r[4] > 0 for r in rows)
    assert fast_sim.stats.ws_connections == 2
