"""Each injected HTTP fault is observable by a raw client and counted in ``sim.stats``."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest

from tradedata.errors import InputError
from tradedata.sim import ExchangeSimulator, Faults

KLINES = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=50"
BYBIT_KLINES = "/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=50"


def fetch(sim: ExchangeSimulator, path: str) -> tuple[int, bytes | None, float]:
    """Status, body (None if the connection broke mid-body) and seconds taken."""
    began = time.monotonic()
    conn = http.client.HTTPConnection(sim.host, sim.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        try:
            body: bytes | None = response.read()
        except http.client.IncompleteRead:
            body = None
        return response.status, body, time.monotonic() - began
    finally:
        conn.close()


def parses(body: bytes | None) -> bool:
    if body is None:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def test_error_rate_answers_5xx(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, seed=5, faults=Faults(error_rate=1.0))

    statuses = {fetch(sim, KLINES)[0] for _ in range(20)}

    assert statuses <= {500, 502, 503, 504}
    assert len(statuses) > 1  # chosen at random
    assert sum(sim.stats.faults[f"http_{s}"] for s in statuses) == 20


def test_latency_delays_every_response(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(latency=0.3))

    status, _, took = fetch(sim, KLINES)

    assert status == 200
    assert took >= 0.3
    assert sim.stats.faults["latency"] == 1


def test_slow_body_arrives_whole_but_late(make_sim: Any) -> None:
    sim = make_sim(
        speed=0.0, faults=Faults(slow_body_rate=1.0, slow_body_chunks=5, slow_body_delay=0.1)
    )

    status, body, took = fetch(sim, KLINES)

    assert status == 200
    assert parses(body) and len(json.loads(body or b"")) == 50
    assert took >= 0.4
    assert sim.stats.faults["slow"] == 1


def test_truncated_bodies_are_cut_short(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, seed=2, faults=Faults(truncate_rate=1.0))

    bodies = [fetch(sim, KLINES)[1] for _ in range(8)]

    assert not any(parses(b) for b in bodies)
    assert None in bodies  # Content-Length promised more than was sent
    assert any(b is not None for b in bodies)  # or the JSON itself was cut
    assert sim.stats.faults["truncated"] == 8


def test_malformed_json(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(malformed_rate=1.0))

    status, body, _ = fetch(sim, "/api/v3/exchangeInfo")

    assert status == 200
    assert body is not None and body[:1] == b"{"
    assert not parses(body)
    assert sim.stats.faults["malformed"] == 1


@pytest.mark.parametrize(
    ("path", "empty"), [(KLINES, []), (BYBIT_KLINES, "list")], ids=["binance", "bybit"]
)
def test_empty_pages_are_valid_and_empty(make_sim: Any, path: str, empty: object) -> None:
    sim = make_sim(speed=0.0, faults=Faults(empty_rate=1.0))

    status, body, _ = fetch(sim, path)

    payload = json.loads(body or b"")
    assert status == 200
    assert payload == [] if empty == [] else payload["result"]["list"] == []
    assert sim.stats.faults["empty"] == 1


def test_empty_pages_only_hit_candle_endpoints(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(empty_rate=1.0))

    body = fetch(sim, "/api/v3/exchangeInfo")[1]

    assert len(json.loads(body or b"")["symbols"]) == 3
    assert sim.stats.faults["empty"] == 0


def test_fault_paths_limit_where_faults_hit(make_sim: Any) -> None:
    sim = make_sim(speed=0.0, faults=Faults(error_rate=1.0, paths=("/klines",)))

    assert fetch(sim, "/api/v3/time")[0] == 200
    assert fetch(sim, KLINES)[0] >= 500


def test_faults_change_while_running(make_sim: Any) -> None:
    sim = make_sim(speed=0.0)
    before = fetch(sim, KLINES)[0]

    sim.set_faults(error_rate=1.0)
    during = fetch(sim, KLINES)[0]
    sim.set_faults(Faults())
    after = fetch(sim, KLINES)[0]

    assert (before, after) == (200, 200)
    assert during >= 500


def test_same_seed_injects_the_same_faults(make_sim: Any) -> None:
    faults = Faults(error_rate=0.5)
    first = make_sim(speed=0.0, seed=9, faults=faults)
    second = make_sim(speed=0.0, seed=9, faults=faults)

    runs = [[fetch(s, KLINES)[0] for _ in range(12)] for s in (first, second)]

    assert runs[0] == runs[1]
    assert 200 in runs[0] and any(code >= 500 for code in runs[0])


def test_stats_count_requests_and_reset(make_sim: Any) -> None:
    sim = make_sim(speed=0.0)
    for _ in range(3):
        fetch(sim, KLINES)

    stats = sim.stats
    sim.reset_stats()

    assert stats.requests == 3
    assert stats.by_status[200] == 3
    assert stats.bars_served == 150
    assert sim.stats.requests == 0


def test_bad_fault_settings_are_refused() -> None:
    with pytest.raises(InputError):
        Faults(error_rate=1.5)
    with pytest.raises(InputError):
        Faults(ws_drop_every=0)
