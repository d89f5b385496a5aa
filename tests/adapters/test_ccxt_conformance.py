"""Conformance: twelve ccxt exchanges, each played by a loopback fake in its own wire format
with its documented paging rules and history depth (``tests/fakes/exchanges``), through real
ccxt, the real provider, fetch engine and cache.

For each exchange the last 300 bars, the last 1500 bars up to now (open candle excluded) and
2000 past bars come back complete with exact values and no duplicate, or with exactly the
unfetchable part reported in ``attrs["unfetched"]`` (and not recorded as covered); a second
call makes no kline request; the kline requests made are at most the minimum + 1; and
``tradedata download --exchange <id>`` does the same from the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.fakes.exchanges import DIALECTS, CandleRules, ExchangeFake, Window, select
from tests.fakes.exchanges.core import HOUR_MS
from tests.fakes.exchanges.scenarios import (
    FAST,
    SCENARIOS,
    expected_bars,
    reachable_from,
    run_scenario,
    scenario_range,
    staged,
    wait_clear_of_the_hour,
)
from tradedata.adapters import resilience
from tradedata.adapters.ccxt_ import CcxtProvider, cooldown
from tradedata.adapters.ccxt_.traits import TRAITS
from tradedata.adapters.resilience import RetryPolicy
from tradedata.cli import main as cli_main
from tradedata.manager import DataManager
from tradedata.model import parse_timeframe

EXCHANGES = tuple(DIALECTS)
#: a failing exchange fails the test in a second, not after a minute of backoff
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.005, max_delay=0.02)


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CcxtProvider, "retry_policy", FAST_RETRY)
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})
    monkeypatch.setattr(cooldown, "_cooldowns", {})
    wait_clear_of_the_hour()


@pytest.fixture(scope="module", params=EXCHANGES)
def fake(request: pytest.FixtureRequest) -> Iterator[ExchangeFake]:
    with ExchangeFake(DIALECTS[request.param]()) as server:
        yield server


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario_is_complete_or_exactly_reported(fake: ExchangeFake, scenario: str) -> None:
    outcome = run_scenario(fake, scenario)

    assert outcome.error is None, outcome.error
    assert not fake.unrouted, f"ccxt asked for paths the fake does not serve: {fake.unrouted}"
    assert outcome.problems == [], (
        f"{outcome.exchange} {scenario}: {outcome.bars}/{outcome.asked} bars, "
        f"{outcome.requests} requests (minimum {outcome.minimum}), "
        f"unfetched {outcome.unfetched}: {outcome.problems}"
    )


def _download(fake: ExchangeFake, tmp: Path, start: pd.Timestamp, end: pd.Timestamp, capsys):
    exchange = fake.dialect.exchange_id
    argv = [
        "--cache-dir", str(tmp / "cache"), "download", "--exchange", exchange,
        "--symbols", fake.dialect.symbol, "--timeframes", "1h",
        "--start", start.isoformat(), "--end", end.isoformat(), "--no-progress", "--json",
    ]  # fmt: skip
    fake.reset()
    code = cli_main(argv)
    return code, json.loads(capsys.readouterr().out), fake.candle_requests()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_download_cli_does_the_same(
    fake: ExchangeFake,
    scenario: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    exchange = fake.dialect.exchange_id
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"providers": {exchange: {"options": FAST}}}))
    monkeypatch.setenv("TRADEDATA_CONFIG", str(config))
    monkeypatch.setenv(f"TRADEDATA_{exchange.upper()}_URL", fake.url)
    with staged(fake, scenario):
        _check_download(fake, scenario, tmp_path, capsys)


def _check_download(fake: ExchangeFake, scenario: str, tmp_path: Path, capsys) -> None:
    exchange = fake.dialect.exchange_id
    start, end = scenario_range(scenario, fake.now_ms())
    truth = expected_bars(fake, start, end)
    first = pd.Timestamp(reachable_from(fake), unit="ms", tz="UTC")
    reachable = truth[truth.index >= first]

    code, report, requests = _download(fake, tmp_path, start, end, capsys)

    with DataManager(cache_dir=tmp_path / "cache") as dm:
        stored = dm.cache.read(fake.dialect.symbol, "1h", start, end, source=exchange)
    cols = ["open", "high", "low", "close", "volume"]
    pd.testing.assert_frame_equal(stored[cols], reachable, check_freq=False, check_dtype=False)
    complete = len(reachable) == len(truth)
    assert code == (0 if complete else 2), report
    assert [s["complete"] for s in report["series"]] == [complete]
    size = CcxtProvider(exchange).paging_rules(parse_timeframe("1h")).max_candles
    assert math.ceil(len(reachable) / size) <= requests <= math.ceil(len(reachable) / size) + 1

    code_again, _, again = _download(fake, tmp_path, start, end, capsys)

    assert again == 0, f"a rerun of the download made {again} kline requests"
    assert code_again == code


# -- the fakes' own window rule ------------------------------------------------------------
NOW = 1_000 * HOUR_MS + 1_234  # inside bar 1000
LISTED = 0


def _opens(window: Window, rules: CandleRules) -> list[int]:
    opens = select(window, rules, now_ms=NOW, listed_ms=LISTED, step_ms=HOUR_MS)
    return [t // HOUR_MS for t in opens]


def test_an_over_full_window_keeps_the_end_the_rules_name() -> None:
    window = Window(100 * HOUR_MS, 199 * HOUR_MS, 10)

    assert _opens(window, CandleRules(10, "oldest")) == list(range(100, 110))
    assert _opens(window, CandleRules(10, "newest")) == list(range(190, 200))


def test_exclusive_ends_and_history_depth() -> None:
    window = Window(100 * HOUR_MS, 110 * HOUR_MS, 50, start_inclusive=False, end_inclusive=False)

    assert _opens(window, CandleRules(50, "newest")) == list(range(101, 110))
    assert _opens(Window(None, None, 5000), CandleRules(5000, "newest", history_bars=720)) == list(
        range(281, 1001)
    )


def test_the_open_bar_is_served_like_the_exchanges_serve_it() -> None:
    assert _opens(Window(990 * HOUR_MS, None, 100), CandleRules(100, "oldest"))[-1] == 1000


# -- the fakes catch what issue 10 saw ------------------------------------------------------
#: the traits as they were when issue 10 was filed: the overall end sent as `until` on every
#: page, no window bound, no history depth, a short page taken as the end
OLD_TRAITS = {
    "okx": {"end_param": True},
    "bitget": {"end_param": True, "max_candles": 1000},
    "kraken": {"endpoints": (), "keeps": "oldest", "short_page_is_end": True},
    "coinbase": {"end_param": True, "max_window": None},
}
#: what issue 10's table reports for those exchanges: bars got for "last 1500" / "2000 past"
ISSUE_10_GOT = {"okx": (300, 300), "bitget": (200, 200), "kraken": (719, 0), "coinbase": (0, 0)}


@pytest.mark.parametrize("exchange", list(OLD_TRAITS))
def test_the_fakes_reproduce_issue_10_under_the_old_traits(
    exchange: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = dataclasses.replace(TRAITS[exchange], **OLD_TRAITS[exchange])
    monkeypatch.setitem(TRAITS, exchange, old)

    with ExchangeFake(DIALECTS[exchange]()) as server:
        outcomes = [run_scenario(server, name) for name in ("last 1500", "2000 past")]

    assert tuple(o.bars for o in outcomes) == ISSUE_10_GOT[exchange]
    assert all(o.problems for o in outcomes)  # each shortfall is caught, none passes silently
