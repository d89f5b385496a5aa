"""The shared HTTP piece: status mapping, Retry-After, redaction, pooling, gzip, windows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus

import pandas as pd
import pytest

from tests.fakes import FakeProviderServer
from tradedata.adapters.http import (
    Continuations,
    HttpClient,
    error_for_status,
    fetch_windows,
    local_to_utc,
    parse_retry_after,
    redact,
    register_secret,
    session_labels,
)
from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)
from tradedata.model import Timeframe


@pytest.fixture
def polygon(
    fake_server: Callable[..., FakeProviderServer],
) -> Iterator[tuple[FakeProviderServer, HttpClient]]:
    server = fake_server("polygon")
    client = HttpClient(
        "polygon",
        server.url,
        timeout=5,
        headers={"Authorization": "Bearer test-key-4711"},
        secrets=["test-key-4711"],
    )
    yield server, client
    client.close()


AGGS = "/v2/aggs/ticker/AAPL/range/1/day/2024-01-01/2024-03-15"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, SymbolNotFoundError),
        (429, RateLimitError),
        (500, TemporaryProviderError),
        (503, TemporaryProviderError),
        (408, TemporaryProviderError),
        (400, UnsupportedError),
        (422, UnsupportedError),
        (418, ProviderError),
    ],
)
def test_error_for_status(status: int, error: type[ProviderError]) -> None:
    err = error_for_status("x", status, "detail", retry_after=3.0)

    assert type(err) is error and err.provider == "x" and str(status) in str(err)
    if isinstance(err, RateLimitError):
        assert err.retry_after == 3.0


def test_success_statuses_are_not_errors() -> None:
    assert error_for_status("x", 200, "") is None and error_for_status("x", 304, "") is None


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    later = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=90)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )

    assert parse_retry_after("7") == 7.0
    assert 80 <= (parse_retry_after(later) or 0) <= 91
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_redact_removes_plain_and_url_encoded_secrets() -> None:
    secret = "a b/c="
    text = f"raw {secret} plus {quote_plus(secret)} pct {quote(secret, safe='')}"

    clean = redact(text, [secret])

    assert clean == "raw *** plus *** pct ***"


def test_rate_limit_carries_retry_after(polygon: tuple[FakeProviderServer, HttpClient]) -> None:
    server, client = polygon
    server.fail("rate_limit", retry_after=12)

    with pytest.raises(RateLimitError) as info:
        client.get_json(AGGS)
    assert info.value.retry_after == 12.0


def test_malformed_json_is_an_invalid_response(
    polygon: tuple[FakeProviderServer, HttpClient],
) -> None:
    server, client = polygon
    server.fail("malformed")

    with pytest.raises(InvalidResponseError):
        client.get_json(AGGS)


def test_html_error_page_is_temporary(polygon: tuple[FakeProviderServer, HttpClient]) -> None:
    server, client = polygon
    server.fail("server_error", status=502)

    with pytest.raises(TemporaryProviderError, match="502"):
        client.get_json(AGGS)


def test_timeout_is_temporary(fake_server: Callable[..., FakeProviderServer]) -> None:
    server = fake_server("polygon")
    client = HttpClient(
        "polygon", server.url, timeout=0.2, headers={"Authorization": "Bearer test-key-4711"}
    )
    server.fail("delay", seconds=0.6)

    with pytest.raises(TemporaryProviderError, match="timed out"):
        client.get_json(AGGS)
    client.close()


def test_one_pooled_gzip_connection(
    polygon: tuple[FakeProviderServer, HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    server, client = polygon
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")

    bodies = [client.get_json(AGGS) for _ in range(3)]

    assert all(len(b["results"]) == 54 for b in bodies)  # large bodies: sent gzipped
    assert "gzip" in server.requests[0].headers["accept-encoding"]
    assert caplog.text.count("Starting new HTTP connection") == 1


def test_urllib3_debug_lines_never_show_secrets(
    fake_server: Callable[..., FakeProviderServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = fake_server("fmp", api_key="LOG-CANARY-123456")
    client = HttpClient("fmp", server.url, secrets=["LOG-CANARY-123456"])
    caplog.set_level(logging.DEBUG)

    client.get_json("/api/v3/profile/AAPL", {"apikey": "LOG-CANARY-123456"})
    client.close()

    assert "/api/v3/profile/AAPL" in caplog.text and "LOG-CANARY-123456" not in caplog.text


def test_registered_secrets_are_redacted_everywhere() -> None:
    register_secret("GLOBAL-SECRET-999")

    assert redact("x GLOBAL-SECRET-999 y") == "x *** y"


def test_rebase_moves_cursor_urls_onto_the_configured_host() -> None:
    client = HttpClient("p", "http://127.0.0.1:9/base")

    assert (
        client.rebase("https://api.example/v2/x?cursor=1")
        == "http://127.0.0.1:9/base/v2/x?cursor=1"
    )
    assert client.rebase("http://127.0.0.1:9/base/v2/y") == "http://127.0.0.1:9/base/v2/y"


def test_continuations_are_popped_once_and_bounded() -> None:
    store = Continuations(maxsize=2)
    for i in range(3):
        store.put(i, f"c{i}")

    assert store.pop(0) is None and store.pop(2) == "c2" and store.pop(2) is None


def test_fetch_windows_skips_empty_windows_in_one_call() -> None:
    asked: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    bar = pd.Timestamp("2024-01-20", tz="UTC")

    def fetch(start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        asked.append((start, end))
        index = pd.DatetimeIndex([bar], name="timestamp")
        frame = pd.DataFrame({"close": [1.0]}, index=index)
        return frame[(frame.index >= start) & (frame.index <= end)]

    page = fetch_windows(
        fetch,
        pd.Timestamp("2024-01-01", tz="UTC"),
        pd.Timestamp("2024-03-01", tz="UTC"),
        pd.Timedelta(days=7),
    )

    assert len(asked) == 3 and len(page.frame) == 1 and page.complete is False


def test_local_times_at_dst_switch_and_session_labels() -> None:
    index = local_to_utc(
        ["2024-03-10 02:30:00", "2024-03-08 09:30:00", "2024-03-11 09:30:00"], "America/New_York"
    )
    weeks = session_labels(["2024-03-08", "2024-03-15"], Timeframe(1, "w"))
    days = session_labels(["2024-03-08T05:00:00Z"], Timeframe(1, "d"), "America/New_York")

    assert index.isna()[0]  # 02:30 did not exist that night
    assert list(index[1:]) == [
        pd.Timestamp("2024-03-08 14:30", tz="UTC"),
        pd.Timestamp("2024-03-11 13:30", tz="UTC"),
    ]
    assert list(weeks) == [
        pd.Timestamp("2024-03-04", tz="UTC"),
        pd.Timestamp("2024-03-11", tz="UTC"),
    ]
    assert list(days) == [pd.Timestamp("2024-03-08", tz="UTC")]
