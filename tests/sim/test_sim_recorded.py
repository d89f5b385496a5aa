"""The simulator behaves like recorded exchange payloads (issue 10, point 4): Bybit's kline
window rule, zero-trade candles, outage windows, late closed klines, Bybit linear's bundled
close + open push and Binance's 24-hour connection cut."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import ccxt
import pandas as pd
import pytest
import websockets
from simhelpers import FAST_STREAMS, FROZEN_NOW, ccxt_config, ms

from tradedata.errors import InputError
from tradedata.feeds.live.dialects import BYBIT
from tradedata.sim import ExchangeSimulator, StreamSettings


def get(sim: ExchangeSimulator, path: str) -> Any:
    with urllib.request.urlopen(sim.url + path, timeout=10) as response:
        return json.loads(response.read())


def bybit_opens(sim: ExchangeSimulator, query: str) -> list[int]:
    body = get(sim, "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&" + query)
    assert body["retCode"] == 0
    return [int(row[0]) for row in body["result"]["list"]]


# -- Bybit's window rule ------------------------------------------------------------------------
def test_bybit_window_answers_with_its_newest_bars_newest_first(frozen_sim):
    start = FROZEN_NOW.floor("min") - pd.Timedelta(minutes=300)
    end = start + pd.Timedelta(minutes=99)  # 100 bars in the window

    got = bybit_opens(frozen_sim, f"start={ms(start)}&end={ms(end)}&limit=10")

    assert got == [ms(end) - i * 60_000 for i in range(10)]


def test_bybit_start_alone_pages_forward_and_nothing_means_latest(frozen_sim):
    start = FROZEN_NOW.floor("min") - pd.Timedelta(minutes=300)

    forward = bybit_opens(frozen_sim, f"start={ms(start)}&limit=10")
    latest = bybit_opens(frozen_sim, "limit=3")

    assert forward == [ms(start) + i * 60_000 for i in range(10)][::-1]
    assert latest[0] == ms(FROZEN_NOW.floor("min"))  # the open bar, as Bybit lists it
    assert latest == sorted(latest, reverse=True)


def test_bybit_linear_klines_are_the_same_bars(frozen_sim):
    start = FROZEN_NOW.floor("min") - pd.Timedelta(minutes=300)
    query = f"symbol=BTCUSDT&interval=1&start={ms(start)}&limit=5"

    spot = get(frozen_sim, "/v5/market/kline?category=spot&" + query)["result"]
    linear = get(frozen_sim, "/v5/market/kline?category=linear&" + query)["result"]

    assert linear["category"] == "linear" and linear["list"] == spot["list"]


def test_ccxt_with_until_gets_the_newest_bars_of_the_window(frozen_sim):
    exchange = ccxt.bybit(ccxt_config("bybit", frozen_sim))
    start = FROZEN_NOW.floor("min") - pd.Timedelta(minutes=300)
    end = start + pd.Timedelta(minutes=99)

    rows = exchange.fetch_ohlcv("BTC/USDT", "1m", ms(start), 10, {"until": ms(end)})

    assert [r[0] for r in rows] == [ms(end) - i * 60_000 for i in range(10)][::-1]


# -- zero-trade candles and outages -------------------------------------------------------------
def test_zero_trade_minutes_are_flat_closed_candles_on_both_exchanges(make_sim):
    sim = make_sim(zero_trade_rate=0.3, speed=0.0)
    start = FROZEN_NOW.floor("min") - pd.Timedelta(minutes=200)
    binance = get(sim, f"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={ms(start)}&limit=200")
    bybit = get(
        sim,
        "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1"
        f"&start={ms(start)}&end={ms(start) + 199 * 60_000}&limit=200",
    )["result"]["list"][::-1]

    quiet = [i for i, row in enumerate(binance) if row[8] == 0]
    assert 30 <= len(quiet) <= 90 and len(binance) == 200
    for i in quiet:
        row = binance[i]
        assert row[1] == row[2] == row[3] == row[4]  # flat
        assert row[5] == row[7] == row[9] == row[10] == "0.00000000"
        if i > 0:
            assert float(row[1]) == float(binance[i - 1][4])  # at the previous close
    # each exchange has its own quiet minutes; Bybit's are flat with volume and turnover "0"
    bybit_quiet = [i for i, row in enumerate(bybit) if row[5] == "0"]
    assert 30 <= len(bybit_quiet) <= 90 and len(bybit) == 200
    for i in bybit_quiet:
        assert bybit[i][6] == "0" and bybit[i][1] == bybit[i][2] == bybit[i][3] == bybit[i][4]
    truth = sim.canonical("binance", "BTC/USDT", "1m", start, start + pd.Timedelta(minutes=200))
    assert (truth["volume"] == 0).sum() == len(quiet)


def test_an_outage_has_no_bars_and_pages_skip_it(make_sim):
    gone_from = FROZEN_NOW.floor("h") - pd.Timedelta(hours=3)
    gone_to = gone_from + pd.Timedelta(minutes=90)
    sim = make_sim(speed=0.0, outages=[(gone_from, gone_to)])
    before = gone_from - pd.Timedelta(minutes=5)

    binance = get(sim, f"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={ms(before)}&limit=10")
    bybit = bybit_opens(sim, f"start={ms(before)}&end={ms(gone_to) + 4 * 60_000}&limit=10")
    hourly = get(
        sim, f"/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime={ms(gone_from)}&limit=3"
    )

    expected = [ms(before) + i * 60_000 for i in range(5)] + [
        ms(gone_to) + i * 60_000 for i in range(5)
    ]
    assert [r[0] for r in binance] == expected
    assert bybit == expected[::-1]
    # the 1h bar wholly inside the outage does not exist; the one it overlaps holds 30 minutes
    assert [r[0] for r in hourly][:2] == [ms(gone_from) + 3_600_000, ms(gone_from) + 7_200_000]
    minutes = sim.canonical("binance", "BTC/USDT", "1m", gone_to, gone_from + pd.Timedelta("2h"))
    assert float(hourly[0][5]) == minutes["volume"].sum() and len(minutes) == 30
    truth = sim.canonical("binance", "BTC/USDT", "1m", gone_from, gone_to)
    assert truth.empty


def test_outages_can_be_set_while_running_for_one_exchange(make_sim):
    sim = make_sim(speed=0.0)
    at = FROZEN_NOW.floor("min") - pd.Timedelta(minutes=30)

    sim.set_outages([(at, at + pd.Timedelta(minutes=10))], exchange="bybit")

    assert sim.canonical("bybit", "BTC/USDT", "1m", at, at + pd.Timedelta(minutes=10)).empty
    assert len(sim.canonical("binance", "BTC/USDT", "1m", at, at + pd.Timedelta(minutes=10))) == 10
    with pytest.raises(InputError):
        sim.set_outages([(at, at - pd.Timedelta(minutes=1))])


# -- websockets ---------------------------------------------------------------------------------
async def _collect(url: str, seconds: float, send: list[dict] | None = None, until=None) -> list:
    out: list[Any] = []
    async with websockets.connect(url) as ws:
        for message in send or []:
            await ws.send(json.dumps(message))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not (until and until(out)):
            try:
                out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
            except asyncio.TimeoutError:
                break
    return out


def test_binance_closed_kline_arrives_close_delay_after_the_candle_end(make_sim):
    streams = StreamSettings(min_interval=0.05, ping_interval=None, close_delay=1.5)
    sim = make_sim(speed=30.0, start=FROZEN_NOW.floor("min") + pd.Timedelta(seconds=50),
                   streams=streams)  # fmt: skip
    url = sim.ws_url("binance", ["btcusdt@kline_1m"])

    messages = asyncio.run(_collect(url, 8.0, until=lambda m: any(x["k"]["x"] for x in m)))

    closed = [m for m in messages if m["k"]["x"]]
    assert closed, messages
    late_ms = closed[0]["E"] - (closed[0]["k"]["T"] + 1)
    assert 1500 <= late_ms < 2500
    # the new bar is not shown before the old one's close
    first_closed = messages.index(closed[0])
    assert all(m["k"]["t"] <= closed[0]["k"]["t"] for m in messages[:first_closed])


def test_close_delay_is_checked():
    with pytest.raises(InputError):
        StreamSettings(close_delay=-1)
    with pytest.raises(InputError):
        StreamSettings(connection_lifetime=0)


def test_bybit_linear_pushes_the_closing_and_the_new_bar_in_one_message(make_sim):
    sim = make_sim(speed=60.0, streams=FAST_STREAMS)
    send = [{"op": "subscribe", "args": ["kline.1.BTCUSDT"], "req_id": "1"}]

    def bundled(messages: list) -> bool:
        return any(len(m.get("data", [])) == 2 for m in messages)

    linear = asyncio.run(_collect(sim.ws_url("bybit", category="linear"), 6.0, send, bundled))
    spot = asyncio.run(
        _collect(
            sim.ws_url("bybit"),
            3.0,
            send,
            lambda ms_: any(d["confirm"] for m in ms_ for d in m.get("data", [])),
        )
    )

    pair = next(m for m in linear if len(m.get("data", [])) == 2)
    closing, opening = pair["data"]
    assert closing["confirm"] is True and opening["confirm"] is False
    assert opening["start"] == closing["start"] + 60_000
    assert all(len(m["data"]) == 1 for m in spot if "data" in m)
    # tradedata's Bybit dialect takes the confirmed element only
    bars = BYBIT.parse(pair)
    assert [b.open_ms for _, b in bars] == [closing["start"]]
    bar = pd.Timestamp(closing["start"], unit="ms", tz="UTC")
    truth = sim.canonical("bybit", "BTC/USDT", "1m", bar, bar + pd.Timedelta(minutes=1))
    assert float(closing["close"]) == truth["close"].iloc[0]


def test_binance_cuts_a_connection_at_the_end_of_its_lifetime(make_sim):
    streams = StreamSettings(min_interval=0.05, ping_interval=None, connection_lifetime=0.5)
    sim = make_sim(speed=1.0, streams=streams)

    async def until_closed() -> tuple[float, int | None]:
        began = time.monotonic()
        async with websockets.connect(sim.ws_url("binance", ["btcusdt@kline_1m"])) as ws:
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 5.0)
            except websockets.ConnectionClosedOK as closed:
                return time.monotonic() - began, closed.rcvd.code if closed.rcvd else None

    lasted, code = asyncio.run(until_closed())

    assert 0.4 <= lasted < 3.0
    assert code == 1000
    assert sim.stats.faults["ws_lifetime"] == 1


def test_cli_takes_the_recorded_behaviours(capsys):
    from tradedata.sim import cli_main

    code = cli_main(
        [
            "--port", "0", "--duration", "0.2", "--speed", "60", "--zero-trade-rate", "0.2",
            "--outage", "2024-03-01T10:00/2024-03-01T11:30", "--close-delay", "1.0",
            "--connection-lifetime", "60", "--time-offset", "-3",
        ]
    )  # fmt: skip

    assert code == 0
    assert "max_clock_skew" in capsys.readouterr().out
    assert cli_main(["--port", "0", "--duration", "0.1", "--outage", "2024-03-01"]) == 2
    assert cli_main(["--port", "0", "--duration", "0.1", "--zero-trade-rate", "1"]) == 2
