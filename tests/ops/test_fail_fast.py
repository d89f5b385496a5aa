"""A provider on this machine that refuses connections fails at once, not after retries."""

from __future__ import annotations

import socket
import time

import pytest

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.adapters import create_provider
from tradedata.adapters.base import ProviderSettings
from tradedata.adapters.resilience import is_loopback_url
from tradedata.errors import TemporaryProviderError
from tradedata.redact import connection_refused


def _refused(page: int) -> Exception:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as exc:
        err = TemporaryProviderError("memory is unreachable")
        err.__cause__ = exc
        return err


@pytest.mark.parametrize(
    ("url", "tries"), [("http://127.0.0.1:9", 1), ("http://localhost:9", 1), (None, 4)]
)
def test_refused_loopback_is_final(url: str | None, tries: int) -> None:
    settings = ProviderSettings(url=url)
    data = synthetic("2024-01-01", 100)
    prov = MemoryProvider(data, "2024-01-02", fail=_refused, settings=settings)
    with pytest.raises(TemporaryProviderError):
        prov.fetch_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 00:30")
    assert prov.pages == tries  # MemoryProvider retries 4 times when the host is remote


def test_real_ccxt_client_on_a_dead_local_port_fails_fast() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    prov = create_provider("kraken", ProviderSettings(url=url))
    began = time.monotonic()
    with pytest.raises(TemporaryProviderError) as err:
        prov.fetch_ohlcv("BTC/USD", "1d", "2024-01-01", "2024-01-05")
    assert time.monotonic() - began < 2 and connection_refused(err.value)
    assert prov.stats.retries == 0


def test_loopback_urls() -> None:
    assert is_loopback_url("http://127.0.0.1:8765") and is_loopback_url("ws://[::1]:80")
    assert not is_loopback_url("https://exchange.example") and not is_loopback_url(None)
