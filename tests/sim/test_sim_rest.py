"""The simulator's REST dialects seen by a raw HTTP client: shapes, errors, weights, limits."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest
from simhelpers import FROZEN_NOW, ms

from tradedata.sim import ExchangeSimulator, Faults


def get(sim: ExchangeSimulator, path: str) -> tuple[int, dict[str, str], Any]:
    """GET ``path``; returns status, headers and the parsed JSON body."""
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), json.loads(body)
    finally:
        conn.close()


def test_binance_time_and_ping(frozen_sim: ExchangeSimulator) -> None:
    status, _, body = get(frozen_sim, "/api/v3/time")

    assert status == 200
    assert body == {"serverTime": ms(FROZEN_NOW)}
    assert get(frozen_sim, "/api/v3/ping")[2] == {}


def test_binance_exchange_info_lists_spot_symbols(frozen_sim: ExchangeSimulator) -> None:
    _, _, body = get(frozen_sim, "/api/v3/exchangeInfo")

    symbols = {s["symbol"]: s for s in body["symbols"]}
    assert set(symbols) == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert symbols["BTCUSDT"]["baseAsset"] == "BTC"
    assert body["rateLimits"][0]["limit"] == 6000


def test_binance_futures_exchange_info_is_valid_and_empty(frozen_sim: ExchangeSimulator) -> None:
    for path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
        status, _, body = get(frozen_sim, path)
        assert status == 200
        assert body["symbols"] == []


def test_binance_klines_have_binance_array_format(frozen_sim: ExchangeSimulator) -> None:
    start = ms("2024-03-01")
    _, _, rows = get(
        frozen_sim, f"/api/v3/klines?symbol=BTCUSDT&interval=1h&startTime={start}&limit=3"
    )

    assert [r[0] for r in rows] == [start, start + 3_600_000, start + 7_200_000]
    first = rows[0]
    assert len(first) == 12
    assert first[6] == start + 3_600_000 - 1
    assert all(isinstance(first[i], str) for i in (1, 2, 3, 4, 5, 7, 9, 10, 11))
    assert isinstance(first[8], int)
    assert first[1].endswith("0") and len(first[1].split(".")[1]) == 8


def test_binance_klines_default_and_max_limit(frozen_sim: ExchangeSimulator) -> None:
    default = get(frozen_sim, "/api/v3/klines?symbol=ETHUSDT&interval=1m")[2]
    capped = get(frozen_sim, "/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=5000")[2]

    assert len(default) == 500
    assert len(capped) == 1000
    assert default[-1][0] == ms(FROZEN_NOW.floor("1min"))  # the still-open bar comes last


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("symbol=NOPEUSDT&interval=1m", -1121),
        ("symbol=BTCUSDT&interval=7m", -1120),
        ("interval=1m", -1102),
        ("symbol=BTCUSDT&interval=1m&startTime=abc", -1100),
    ],
)
def test_binance_errors(frozen_sim: ExchangeSimulator, query: str, code: int) -> None:
    status, _, body = get(frozen_sim, f"/api/v3/klines?{query}")

    assert status == 400
    assert body["code"] == code
    assert isinstance(body["msg"], str)


def test_binance_used_weight_header_counts_klines_as_two(make_sim: Any) -> None:
    sim = make_sim(speed=0.0)

    first = get(sim, "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1")[1]
    second = get(sim, "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1")[1]
    info = get(sim, "/api/v3/exchangeInfo")[1]

    assert first["X-MBX-USED-WEIGHT-1M"] == "2"
    assert second["X-MBX-USED-WEIGHT-1M"] == "4"
    assert info["X-MBX-USED-WEIGHT-1M"] == "24"


def test_binance_429_then_418_then_recovery(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(rate_limit=6, rate_window=2.0, ban_seconds=0.5))
    path = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1"

    statuses = [get(sim, path)[0] for _ in range(3)]
    limited = get(sim, path)
    banned = get(sim, path)
    time.sleep(2.0)  # the ban and the window both end
    recovered = get(sim, path)

    assert statuses == [200, 200, 200]
    assert limited[0] == 429 and limited[2]["code"] == -1003
    assert int(limited[1]["Retry-After"]) >= 1
    assert banned[0] == 418 and "banned until" in banned[2]["msg"]
    assert int(banned[1]["Retry-After"]) >= 1
    assert recovered[0] == 200
    assert (sim.stats.http_429, sim.stats.http_418) == (1, 1)


def test_bybit_time_envelope(frozen_sim: ExchangeSimulator) -> None:
    _, _, body = get(frozen_sim, "/v5/market/time")

    assert body["retCode"] == 0 and body["retMsg"] == "OK"
    assert body["time"] == ms(FROZEN_NOW)
    assert body["result"]["timeSecond"] == str(ms(FROZEN_NOW) // 1000)


def test_bybit_instruments_info_per_category(frozen_sim: ExchangeSimulator) -> None:
    spot = get(frozen_sim, "/v5/market/instruments-info?category=spot")[2]
    linear = get(frozen_sim, "/v5/market/instruments-info?category=linear&limit=1000")[2]

    inverse = get(frozen_sim, "/v5/market/instruments-info?category=inverse&limit=1000")[2]

    assert [i["symbol"] for i in spot["result"]["list"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    perps = linear["result"]["list"]  # the USDT-quoted markets, also as linear perpetuals
    assert [(i["symbol"], i["contractType"], i["settleCoin"]) for i in perps] == [
        (s, "LinearPerpetual", "USDT") for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    ]
    assert linear["result"]["nextPageCursor"] == ""
    assert inverse["result"]["list"] == []


def test_bybit_kline_is_newest_first_and_includes_bar_containing_start(
    frozen_sim: ExchangeSimulator,
) -> None:
    start = ms("2024-03-01 00:00:30")
    body = get(
        frozen_sim,
        f"/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&start={start}&limit=3",
    )[2]

    rows = body["result"]["list"]
    assert [int(r[0]) for r in rows] == [ms("2024-03-01") + k * 60_000 for k in (2, 1, 0)]
    assert all(len(r) == 7 and all(isinstance(v, str) for v in r) for r in rows)


def test_bybit_kline_default_limit(frozen_sim: ExchangeSimulator) -> None:
    body = get(frozen_sim, "/v5/market/kline?category=spot&symbol=SOLUSDT&interval=60")[2]

    assert len(body["result"]["list"]) == 200
    assert int(body["result"]["list"][0][0]) == ms(FROZEN_NOW.floor("1h"))


@pytest.mark.parametrize(
    "query",
    [
        "category=spot&symbol=NOPEUSDT&interval=1",
        "category=spot&symbol=BTCUSDT&interval=7",
        "category=spot&symbol=BTCUSDT&interval=1&start=x",
    ],
)
def test_bybit_bad_params_are_retcode_10001(frozen_sim: ExchangeSimulator, query: str) -> None:
    status, _, body = get(frozen_sim, f"/v5/market/kline?{query}")

    assert status == 200
    assert body["retCode"] == 10001


def test_bybit_rate_limit_is_retcode_10006(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, exchanges=("bybit",), faults=Faults(rate_limit=2, rate_window=30.0))

    codes = [get(sim, "/v5/market/time")[2]["retCode"] for _ in range(4)]

    assert codes == [0, 0, 10006, 10006]
    assert sim.stats.bybit_rate_limited == 2


def test_unknown_paths_are_404_and_counted(frozen_sim: ExchangeSimulator) -> None:
    conn = http.client.HTTPConnection(frozen_sim.host, frozen_sim.port, timeout=10)
    conn.request("GET", "/nothing/here")
    status = conn.getresponse().status
    conn.close()

    assert status == 404
    assert frozen_sim.stats.unknown_paths["/nothing/here"] >= 1


def test_exchange_not_simulated_is_not_served(make_sim: Any) -> None:
    sim = make_sim(exchanges=("binance",))
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
    conn.request("GET", "/v5/market/time")
    status = conn.getresponse().status
    conn.close()

    assert status == 404
