"""Starting and stopping the simulator, its clock, its URLs, its CLI and the ccxt URL rewrite."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request

import pandas as pd
import pytest
import websockets
from simhelpers import FROZEN_NOW, ms

from tradedata.adapters.ccxt_.urls import ccxt_url_overrides, rewrite_url, websocket_url
from tradedata.errors import ConfigurationError, InputError, InvalidSymbolError
from tradedata.sim import ExchangeSimulator, cli_main, generated_symbols


def sim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tradedata-sim"]


def test_stop_joins_the_server_thread_even_with_open_websockets() -> None:
    sim = ExchangeSimulator(speed=60.0).start()

    async def hold_open_until_closed() -> int | None:
        async with websockets.connect(sim.ws_url("binance", ["btcusdt@kline_1m"])) as ws:
            await ws.recv()
            await asyncio.get_running_loop().run_in_executor(None, sim.stop)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 3.0)
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None

    code = asyncio.run(hold_open_until_closed())

    assert code == 1001
    assert sim_threads() == []
    assert sim.stats.ws_open == 0


def test_ephemeral_ports_let_simulators_run_side_by_side() -> None:
    with ExchangeSimulator() as first, ExchangeSimulator() as second:
        assert first.port != second.port
        for sim in (first, second):
            with urllib.request.urlopen(sim.url + "/api/v3/ping", timeout=5) as response:
                assert json.load(response) == {}
    assert sim_threads() == []


def test_a_busy_port_is_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        with pytest.raises(OSError):
            ExchangeSimulator(port=busy).start()
    assert sim_threads() == []


def test_clock_runs_at_speed_and_advances() -> None:
    with ExchangeSimulator(speed=120.0, start=FROZEN_NOW) as sim:
        time.sleep(0.25)
        elapsed = sim.now_ms() - ms(FROZEN_NOW)
        sim.advance(3600)
        jumped = sim.now_ms() - ms(FROZEN_NOW)

    assert 25_000 <= elapsed <= 60_000
    assert jumped >= 3_600_000 + elapsed


def test_default_start_is_now() -> None:
    with ExchangeSimulator() as sim:
        assert abs(sim.now() - pd.Timestamp.now(tz="UTC")) < pd.Timedelta(seconds=5)


def test_symbols_are_added_to_the_defaults_and_normalised() -> None:
    sim = ExchangeSimulator(exchanges=("bybit",), symbols=["xrpusdt", *generated_symbols(2)])

    assert sim.symbols("bybit") == [
        "BTC/USDT",
        "ETH/USDT",
        "SOL/USDT",
        "XRP/USDT",
        "ZAAA/USDT",
        "ZAAB/USDT",
    ]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError):
        ExchangeSimulator(exchanges=("kraken",))
    with pytest.raises(InvalidSymbolError):
        ExchangeSimulator(symbols=["AAPL"])
    with pytest.raises(InvalidSymbolError):
        ExchangeSimulator().canonical("binance", "DOGE/USDT", "1m")


def test_ws_urls() -> None:
    with ExchangeSimulator() as sim:
        base = sim.ws_base
        assert sim.ws_url("binance") == f"{base}/ws"
        assert sim.ws_url("binance", ["btcusdt@kline_1m"]) == f"{base}/ws/btcusdt@kline_1m"
        assert (
            sim.ws_url("binance", ["a@kline_1m"], combined=True)
            == f"{base}/stream?streams=a@kline_1m"
        )
        assert sim.ws_url("bybit") == f"{base}/v5/public/spot"


def test_cli_serves_then_stops(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["--port", "0", "--duration", "0.2", "--speed", "60", "--error-rate", "0.1"])

    out = capsys.readouterr().out
    assert code == 0
    assert "http://127.0.0.1:" in out and "/v5/public/spot" in out
    assert "served 0 requests" in out
    assert sim_threads() == []


def test_cli_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--speed", "fast"]) == 2
    assert (
        cli_main(["--exchanges", "kraken", "--port", "0"]) == 2
    )  # bad input: exit code 2, one line
    assert "kraken" in capsys.readouterr().err


def test_ccxt_overrides_keep_paths_and_swap_hosts() -> None:
    binance = ccxt_url_overrides("binance", "http://127.0.0.1:9")["api"]
    bybit = ccxt_url_overrides("bybit", "http://127.0.0.1:9", "ws://127.0.0.1:8")["api"]

    assert binance["public"] == "http://127.0.0.1:9/api/v3"
    assert binance["dapiPublic"] == "http://127.0.0.1:9/dapi/v1"
    assert binance["ws"]["spot"] == "ws://127.0.0.1:9/ws"
    assert bybit["public"] == "http://127.0.0.1:9"
    assert bybit["ws"]["public"]["spot"] == "ws://127.0.0.1:8/v5/public/spot"
    assert all("binance.com" not in v for v in binance.values() if isinstance(v, str))


def test_ccxt_overrides_work_for_other_exchanges() -> None:
    api = ccxt_url_overrides("kraken", "https://proxy.local:8443")["api"]

    assert api["public"] == "https://proxy.local:8443"
    assert api["ws"]["public"].startswith("wss://proxy.local:8443")


def test_url_helpers() -> None:
    assert rewrite_url("wss://h.example:9443/ws?x=1", "http://a:1", "ws://a:2") == "ws://a:2/ws?x=1"
    assert rewrite_url("not a url", "http://a:1", "ws://a:2") == "not a url"
    assert websocket_url("bybit", "ws://a:2") == "ws://a:2/v5/public/spot"
    assert websocket_url("binance", "ws://a:2", "linear") == "ws://a:2/ws"
    with pytest.raises(ConfigurationError):
        ccxt_url_overrides("no-such-exchange", "http://a:1")
