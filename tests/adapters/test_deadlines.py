"""Every request has a total deadline; every provider call honours the overall one.

A slow-loris server (:mod:`tests.fakes.slowloris`) sends a byte before each per-read timeout,
so only a limit on the whole request ends the call. Intervals and timeouts are small to keep
the tests fast; the margin covers thread scheduling on a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.conftest import CASES, KEY, NOW
from tests.fakes import FakeProviderServer
from tests.fakes.slowloris import SlowLorisServer
from tradedata.adapters import STOCK_PROVIDERS, provider_class
from tradedata.adapters.base import Chunk, Provider, ProviderSettings
from tradedata.adapters.http import HttpClient
from tradedata.adapters.resilience import RetryPolicy, call_with_resilience
from tradedata.cli import main as cli_main
from tradedata.config import load_config
from tradedata.deadline import Deadline, deadline_scope
from tradedata.download import download
from tradedata.errors import (
    ConfigurationError,
    DeadlineExceededError,
    InputError,
    TemporaryProviderError,
    TradeDataError,
)
from tradedata.manager import DataManager

TIMEOUT = 0.8
MARGIN = 0.7


@pytest.fixture(params=["headers", "body"])
def loris(request: pytest.FixtureRequest) -> Iterator[SlowLorisServer]:
    with SlowLorisServer(interval=0.05, mode=request.param) as server:
        yield server


def test_one_request_ends_at_its_total_deadline(loris: SlowLorisServer) -> None:
    client = HttpClient("fmp", loris.url, timeout=TIMEOUT)
    began = time.monotonic()

    with pytest.raises(TemporaryProviderError, match=r"timed out after 0\.8s"):
        client.get_json("/api/v3/historical-price-full/AAPL", {"apikey": "k"})

    assert time.monotonic() - began < TIMEOUT + MARGIN
    client.close()


def test_the_overall_deadline_cuts_a_request_short(loris: SlowLorisServer) -> None:
    client = HttpClient("fmp", loris.url, timeout=30)
    began = time.monotonic()

    with deadline_scope(0.5), pytest.raises(DeadlineExceededError):
        client.get_json("/x")

    assert time.monotonic() - began < 0.5 + MARGIN
    client.close()


@pytest.mark.parametrize("name", sorted(STOCK_PROVIDERS))
def test_every_stock_provider_call_ends_at_the_overall_deadline(
    name: str, loris: SlowLorisServer
) -> None:
    settings = ProviderSettings(url=loris.url, api_key="k", secret="s", timeout=TIMEOUT)
    provider = provider_class(name)(settings)
    provider.now = lambda: NOW  # type: ignore[method-assign]
    case = CASES[name]
    began = time.monotonic()

    with deadline_scope(1.5), pytest.raises(TradeDataError) as info:
        provider.fetch_ohlcv(case.symbol, case.timeframe, case.start, case.end)

    assert time.monotonic() - began < 1.5 + MARGIN
    assert isinstance(info.value, (DeadlineExceededError, TemporaryProviderError))
    provider.close()


def test_a_ccxt_exchange_call_ends_at_its_total_and_overall_deadline(
    loris: SlowLorisServer,
) -> None:
    from tradedata.adapters.ccxt_ import CcxtProvider

    provider = CcxtProvider("binance", ProviderSettings(url=loris.url, timeout=TIMEOUT))
    began = time.monotonic()

    with deadline_scope(2.0), pytest.raises(DeadlineExceededError):
        provider.fetch_ohlcv("BTC/USDT", "1h", NOW - pd.Timedelta(hours=3), NOW)

    elapsed = time.monotonic() - began
    assert elapsed < 2.0 + MARGIN
    assert loris.connections >= 2  # each request was cut at TIMEOUT, then retried
    provider.close()


def test_no_retry_wait_runs_past_the_deadline() -> None:
    calls = []

    def failing() -> None:
        calls.append(time.monotonic())
        raise TemporaryProviderError("flaky", provider="p")

    began = time.monotonic()
    with deadline_scope(0.3), pytest.raises(DeadlineExceededError, match="retry"):
        call_with_resilience(
            failing, name="p", policy=RetryPolicy(max_attempts=10, base_delay=1.0), sleep=time.sleep
        )

    assert len(calls) == 1 and time.monotonic() - began < 0.3


def test_an_expired_deadline_stops_before_any_request() -> None:
    calls = []
    deadline = Deadline(0.01)
    time.sleep(0.02)

    with deadline_scope(deadline), pytest.raises(DeadlineExceededError):
        call_with_resilience(lambda: calls.append(1), name="p", policy=RetryPolicy())

    assert calls == []


def test_an_inner_deadline_never_extends_an_outer_one() -> None:
    with deadline_scope(0.2) as outer, deadline_scope(60) as inner:
        assert inner is outer


# -- the overall deadline of get_ohlcv, download and the CLI -------------------------------------
def _manager_with(provider: Provider, tmp_path: Path, **config: object) -> DataManager:
    dm = DataManager(cache_dir=tmp_path / "cache", config=dict(config))
    dm.add_provider(provider)
    return dm


def _fmp_at(url: str) -> Provider:
    settings = ProviderSettings(url=url, api_key="k", timeout=TIMEOUT)
    provider = provider_class("fmp")(settings)
    provider.now = lambda: NOW  # type: ignore[method-assign]
    return provider


def test_get_ohlcv_ends_at_its_deadline_and_names_the_unfetched_range(
    loris: SlowLorisServer, tmp_path: Path
) -> None:
    dm = _manager_with(_fmp_at(loris.url), tmp_path)
    case = CASES["fmp"]
    began = time.monotonic()

    with pytest.raises(DeadlineExceededError, match="not fetched: 2024-02-01") as info:
        dm.get_ohlcv(case.symbol, "1d", case.start, case.end, provider="fmp", deadline=1.2)

    assert time.monotonic() - began < 1.2 + MARGIN
    assert [(u[0], u[1]) for u in info.value.unfetched] == [(case.start, case.end)]
    assert info.value.seconds == 1.2 and "deadline" in info.value.unfetched[0].reason
    dm.close()


def test_what_arrived_before_the_deadline_is_stored_and_the_rest_reported(
    fake_server: Callable[..., FakeProviderServer], tmp_path: Path
) -> None:
    server = fake_server("polygon", page_limit=10)
    provider = provider_class("polygon")(
        ProviderSettings(url=server.url, api_key=KEY, timeout=TIMEOUT)
    )
    provider.now = lambda: NOW  # type: ignore[method-assign]
    dm = _manager_with(provider, tmp_path)
    case = CASES["polygon"]

    def stall_after_first_page(chunk: Chunk) -> None:
        server.fail("delay", times=None, seconds=5)

    with pytest.raises(DeadlineExceededError) as info:
        dm.get_ohlcv(
            "AAPL", "1d", case.start, case.end, provider="polygon",
            on_chunk=stall_after_first_page, deadline=1.0,
        )  # fmt: skip

    stored = dm.get_ohlcv("AAPL", "1d", case.start, case.end, provider="cache")
    assert len(stored) == 10
    first_missing = info.value.unfetched[0][0]
    assert first_missing > stored.index[-1] and info.value.unfetched[-1][1] == case.end
    dm.close()


def test_the_deadline_comes_from_the_environment_then_the_config(
    loris: SlowLorisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES["fmp"]
    dm = _manager_with(_fmp_at(loris.url), tmp_path, deadline=0.5)
    with pytest.raises(DeadlineExceededError, match=r"deadline of 0\.5s"):
        dm.get_ohlcv(case.symbol, "1d", case.start, case.end, provider="fmp")
    monkeypatch.setenv("TRADEDATA_DEADLINE", "0.7")
    with pytest.raises(DeadlineExceededError, match=r"deadline of 0\.7s"):
        dm.get_ohlcv(case.symbol, "1d", case.start, case.end, provider="fmp")
    dm.close()


@pytest.mark.parametrize("bad", ["soon", "0", "-3", "inf", "nan"])
def test_a_bad_deadline_is_a_clear_error_before_anything_is_fetched(
    bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dm = DataManager(cache_dir=tmp_path / "cache", config={})
    with pytest.raises(InputError, match="deadline"):
        dm.get_ohlcv("AAPL", "1d", "2024-01-01", "2024-01-05", deadline=bad)
    monkeypatch.setenv("TRADEDATA_DEADLINE", bad)
    with pytest.raises(ConfigurationError, match="TRADEDATA_DEADLINE"):
        dm.get_ohlcv("AAPL", "1d", "2024-01-01", "2024-01-05")
    with pytest.raises(ConfigurationError, match="deadline"):
        load_config({"deadline": bad})
    dm.close()


def test_download_stops_every_series_at_its_deadline_with_a_report(
    loris: SlowLorisServer, tmp_path: Path
) -> None:
    dm = DataManager(
        cache_dir=tmp_path / "cache",
        config={"providers": {"binance": {"url": loris.url, "timeout": TIMEOUT}}},
    )
    dm.provider("binance")  # building a ccxt client is CPU work no deadline can interrupt
    began = time.monotonic()

    with pytest.raises(DeadlineExceededError) as info:
        download(["BTC/USDT", "ETH/USDT"], ["1h"], start=NOW - pd.Timedelta(hours=6), end=NOW,
                 exchange="binance", manager=dm, progress=False, deadline=1.5)  # fmt: skip

    assert time.monotonic() - began < 1.5 + MARGIN
    dm.close()
    assert info.value.seconds == 1.5 and "nothing fetched" in str(info.value)


def test_cli_deadline_is_one_line_and_exit_code_2(
    loris: SlowLorisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"providers:\n  fmp: {{url: '{loris.url}', api_key: k, timeout: 0.5}}\n")
    began = time.monotonic()

    code = cli_main(
        ["--cache-dir", str(tmp_path / "c"), "--config", str(config), "fetch", "AAPL", "1d",
         "--start", "2024-02-01", "--end", "2024-02-20", "--provider", "fmp", "--deadline", "1"]
    )  # fmt: skip

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and time.monotonic() - began < 1 + MARGIN + 1.0
    assert len(err) == 1 and "deadline of 1s exceeded" in err[0] and "not fetched" in err[0]


def test_download_keeps_finished_series_and_reports_the_stalled_ones(
    fake_server: Callable[..., FakeProviderServer], tmp_path: Path
) -> None:
    server = fake_server("polygon")
    server.fail("delay", times=None, seconds=5, path="MSFT")
    dm = DataManager(
        cache_dir=tmp_path / "cache",
        config={"providers": {"polygon": {"url": server.url, "api_key": KEY, "timeout": 3}}},
    )
    case = CASES["polygon"]

    with pytest.raises(DeadlineExceededError) as info:
        download(["AAPL", "MSFT"], ["1d"], start=case.start, end=case.end, exchange="polygon",
                 manager=dm, progress=False, deadline=1.0)  # fmt: skip

    report = info.value.report
    by_symbol = {s.symbol: s for s in report.series}
    assert by_symbol["AAPL"].complete and by_symbol["AAPL"].bars > 0
    assert not by_symbol["MSFT"].complete
    assert [(u[0], u[1]) for u in info.value.unfetched] == [(case.start, case.end)]
    assert info.value.unfetched[0].reason.startswith("MSFT 1d: overall deadline of 1s")
    assert len(dm.get_ohlcv("AAPL", "1d", case.start, case.end, provider="cache")) > 0
    dm.close()


def test_one_ccxt_request_ends_at_its_total_deadline(loris: SlowLorisServer) -> None:
    from tradedata.adapters.ccxt_ import CcxtProvider

    provider = CcxtProvider("binance", ProviderSettings(url=loris.url, timeout=TIMEOUT))
    provider.ccxt_client()  # built before the clock starts: construction is CPU work
    began = time.monotonic()

    with pytest.raises(TemporaryProviderError):
        provider._pool.run(lambda c: c.fetch_time())

    assert time.monotonic() - began < TIMEOUT + MARGIN
    provider.close()


def test_https_connections_are_watched_too() -> None:
    from tradedata.adapters.transport import DeadlineSession

    session = DeadlineSession(5)
    pool = session.get_adapter("https://example.test/").poolmanager.connection_from_url(
        "https://example.test/"
    )

    assert type(pool).__name__ == "_WatchedHTTPSPool"
    assert pool.ConnectionCls.__name__ == "_WatchedHTTPSConnection"
    session.close()


def test_an_unlimited_timeout_sends_without_a_watchdog(loris: SlowLorisServer) -> None:
    from tradedata.adapters.transport import DeadlineSession

    session = DeadlineSession(float("inf"))
    with deadline_scope(0.5), pytest.raises(DeadlineExceededError):
        session.get(loris.url, timeout=5)  # the overall deadline still applies
    session.close()
