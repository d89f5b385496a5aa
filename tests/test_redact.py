"""tradedata.redact: every encoding of a secret is masked, chains are scrubbed, logs are clean."""

from __future__ import annotations

import base64
import html
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tradedata.redact as redact_module
from tradedata.config import load_config, provider_settings
from tradedata.errors import AllProvidersFailedError, TemporaryProviderError
from tradedata.redact import (
    MASK,
    Secret,
    UpstreamError,
    redact,
    register_pair,
    register_secret,
    scrub_chain,
)

# secrets as providers issue them: letters, digits and the URL-hostile characters
secret_text = st.text(
    alphabet=st.sampled_from(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=-_. "
    ),
    min_size=8,
    max_size=40,
).filter(lambda s: s.strip() == s and len(set(s)) > 3)
surrounding = st.text(alphabet="xyz &?=:\"'<>{}", max_size=20)


@pytest.fixture(autouse=True, scope="module")
def _own_registry() -> Iterator[None]:
    """The random secrets registered here must not mask text in other test modules."""
    saved = (set(redact_module._SECRETS), redact_module._PATTERN)
    yield
    with redact_module._LOCK:
        redact_module._SECRETS.clear()
        redact_module._SECRETS.update(saved[0])
        redact_module._PATTERN = saved[1]


def _encodings(secret: str) -> list[str]:
    escaped = json.dumps(secret)[1:-1]
    return [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe="").replace("%2F", "%2f").replace("%2B", "%2b"),
        escaped,
        escaped.replace("/", "\\/"),
        html.escape(secret),
        base64.b64encode(secret.encode()).decode(),
        base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    ]


@settings(max_examples=60, deadline=None)
@given(secret=secret_text, before=surrounding, after=surrounding, which=st.integers(0, 9))
def test_every_encoding_of_a_registered_secret_is_masked(
    secret: str, before: str, after: str, which: int
) -> None:
    register_secret(secret)
    form = _encodings(secret)[which]

    clean = redact(f"{before}{form}{after}")

    assert form not in clean and MASK in clean


@settings(max_examples=30, deadline=None)
@given(key=secret_text, secret=secret_text)
def test_basic_auth_of_a_registered_pair_is_masked(key: str, secret: str) -> None:
    register_pair(key, secret)
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()

    assert token not in redact(f"Authorization: Basic {token}")


def test_text_is_cut_only_after_redaction() -> None:
    register_secret("CUTCANARY-123456789")
    page = "<html>" + "x" * 50 + "/q?apikey=CUTCANARY-123456789</html>"

    assert "CUTCANARY" not in redact(page)[:70]


def test_a_foreign_link_in_a_chain_becomes_a_redacted_stand_in() -> None:
    register_secret("CHAINCANARY-987654")

    class Library(Exception):
        def __init__(self, message: str) -> None:
            super().__init__(message)
            self.url = "http://x/?k=CHAINCANARY-987654"

    error = TemporaryProviderError("p: timed out")
    error.__context__ = Library("GET http://x/?k=CHAINCANARY-987654 failed")
    error.__cause__ = UpstreamError("already ours")

    scrub_chain(error)

    assert isinstance(error.__context__, UpstreamError)
    assert "CHAINCANARY" not in str(error.__context__) and "Library" in str(error.__context__)
    assert not hasattr(error.__context__, "url")


def test_scrubbing_reaches_errors_grouped_in_all_providers_failed() -> None:
    register_secret("GROUPCANARY-55555")
    inner = TemporaryProviderError("x")
    inner.__context__ = ValueError("GROUPCANARY-55555")
    outer = AllProvidersFailedError("all failed", errors={"p": inner})

    scrub_chain(outer)

    assert isinstance(inner.__context__, UpstreamError)
    assert "GROUPCANARY" not in repr(inner.__context__)


def test_log_records_of_any_logger_are_redacted_with_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    register_secret("LOGCANARY-24680")
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError("GET /x?apikey=LOGCANARY-24680")
    except RuntimeError:
        logging.getLogger("some.library").debug("url=%s", "LOGCANARY-24680", exc_info=True)

    assert "LOGCANARY" not in caplog.text
    assert "url=***" in caplog.text and "RuntimeError" in caplog.text


def test_a_config_never_shows_its_credentials() -> None:
    config = load_config(
        {
            "providers": {
                "fmp": {"api_key": "CFGCANARY-key-1"},
                "alpaca": {"api_key": "CFGCANARY-key-2", "secret": "CFGCANARY-secret"},
                "okx": {"options": {"ccxt": {"password": "CFGCANARY-pass"}}},
            }
        }
    )

    shown = repr(config) + repr(config.providers) + str(config.providers)
    shown += repr(provider_settings("alpaca", config)) + repr(provider_settings("okx", config))

    assert "CFGCANARY" not in shown
    assert provider_settings("fmp", config).api_key == Secret("CFGCANARY-key-1")


def test_a_password_in_an_endpoint_url_is_a_secret_too() -> None:
    from tradedata.adapters.base import ProviderSettings
    from tradedata.adapters.fmp import FMPProvider

    settings = ProviderSettings(url="http://me:URLCANARY-pw@127.0.0.1:9", api_key="k-0000")
    provider = FMPProvider(settings)

    assert "URLCANARY" not in repr(provider) and "URLCANARY" not in redact(settings.url or "")
    provider.close()


def test_keys_from_a_config_file_never_show_in_the_managers_config(tmp_path: Path) -> None:
    from tradedata.manager import DataManager

    path = tmp_path / "config.yaml"
    path.write_text(
        "providers:\n"
        "  fmp: {api_key: YAMLCANARY-fmp-key}\n"
        "  alpaca: {api_key: YAMLCANARY-alpaca-key, secret: YAMLCANARY-alpaca-secret}\n",
        encoding="utf-8",
    )
    dm = DataManager(cache_dir=tmp_path / "cache", config=str(path))

    shown = f"{dm!r} {dm.config!r} {dm.config.providers!r} {dm.config.providers}"
    shown += repr(dm.provider("alpaca")) + repr(dm.provider("alpaca").settings)

    assert "YAMLCANARY" not in shown
    dm.close()


@settings(max_examples=25, deadline=None)
@given(secret=secret_text, kind=st.sampled_from(["echo", "html_echo", "malformed_echo"]))
def test_an_echoed_key_never_reaches_the_error_in_any_encoding(secret: str, kind: str) -> None:
    from tests.fakes import FakeProviderServer
    from tradedata.adapters.http import HttpClient
    from tradedata.errors import ProviderError

    with FakeProviderServer("fmp", api_key=secret) as server:
        server.fail(kind, times=None, path="/")
        client = HttpClient("fmp", server.url, timeout=5, secrets=[secret])
        with pytest.raises(ProviderError) as info:
            client.get_json("/api/v3/profile/AAPL", {"apikey": secret}, {"X-Key": secret})
        client.close()

    chain, link = [], info.value
    while link is not None:
        chain.append(f"{link} {link!r}")
        link = link.__cause__ or link.__context__
    shown = "\n".join(chain)
    assert not [form for form in _encodings(secret) if form in shown]
