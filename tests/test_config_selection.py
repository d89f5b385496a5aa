"""Configuration loading and provider selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradedata.config import load_config, provider_settings
from tradedata.errors import AllProvidersFailedError, ConfigurationError
from tradedata.selection import ProviderSelector
from tradedata.symbols import AssetClass


def test_yaml_config_and_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "cache_dir: /tmp/x\n"
        "providers:\n"
        "  binance: {url: 'http://127.0.0.1:1', sandbox: true}\n"
        "  fmp: {api_key: CANARY-FMP}\n"
    )
    config = load_config(path)
    assert provider_settings("binance", config).url == "http://127.0.0.1:1"
    assert provider_settings("binance", config).sandbox is True
    monkeypatch.setenv("TRADEDATA_BINANCE_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("TRADEDATA_BINANCE_WS_URL", "ws://127.0.0.1:3")
    settings = provider_settings("binance", config)
    assert (settings.url, settings.ws_url) == ("http://127.0.0.1:2", "ws://127.0.0.1:3")
    fmp = provider_settings("fmp", config)
    assert fmp.api_key is not None and fmp.api_key.get() == "CANARY-FMP"
    assert "CANARY" not in repr(fmp) and "CANARY" not in repr(config)


def test_env_key_wins_over_file(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config({"providers": {"fmp": {"api_key": "from-file"}}})
    monkeypatch.setenv("FMP_API_KEY", "from-env")
    assert provider_settings("fmp", config).api_key.get() == "from-env"  # type: ignore[union-attr]


def test_arguments_win_over_config() -> None:
    config = load_config(
        {"providers": {"binance": {"url": "http://a"}}},
        providers={"binance": {"url": "http://b"}},
    )
    assert provider_settings("binance", config).url == "http://b"


@pytest.mark.parametrize(
    "bad",
    [{"nonsense": 1}, {"providers": {"binance": {"urll": "x"}}}, {"providers": [1]}],
)
def test_bad_config_is_a_typed_error(bad: dict) -> None:
    with pytest.raises(ConfigurationError):
        load_config(bad)


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("providers: [unclosed")
    with pytest.raises(ConfigurationError):
        load_config(path)


def test_default_rules_and_classification() -> None:
    sel = ProviderSelector()
    assert sel.classify_symbol("BTCUSDT") is AssetClass.CRYPTO
    assert sel.get_best_provider("BTC/USDT", "1h") == "binance"
    assert sel.get_provider_with_failover("BTC/USDT", "1m")[:2] == ["binance", "bybit"]
    # no keys configured: yahoo serves daily stocks, keyed providers skipped with notes
    assert sel.get_provider_with_failover("AAPL", "1d") == ["yahoo"]
    assert any("FMP_API_KEY" in note for note in sel.notes)


def test_keys_make_providers_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMP_API_KEY", "k")
    monkeypatch.setenv("TIINGO_API_KEY", "k")
    sel = ProviderSelector()
    assert sel.get_provider_with_failover("AAPL", "1d") == ["yahoo", "tiingo", "fmp"]
    assert sel.get_best_provider("AAPL", "5m") == "fmp"


def test_yaml_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "crypto: {primary: bybit, backup: [binance], timeframes: [1m, 1h]}\n"
        "stock_daily: {primary: yahoo, backup: [], timeframes: [1d]}\n"
    )
    sel = ProviderSelector(path)
    assert sel.get_provider_with_failover("ETH/USDT", "1h") == ["bybit", "binance"]


def test_no_usable_provider_is_a_clear_error() -> None:
    sel = ProviderSelector({"stock_intraday": {"primary": "fmp", "backup": ["polygon"]}})
    with pytest.raises(AllProvidersFailedError, match="no usable provider"):
        sel.get_provider_with_failover("AAPL", "5m")


def test_rules_as_yaml_text() -> None:
    sel = ProviderSelector(
        "crypto: {primary: bybit, backup: [binance], timeframes: [1m, 1h]}\n"
        "stock_daily: {primary: yahoo, backup: [], timeframes: [1d]}\n"
    )
    assert sel.get_best_provider("BTCUSDT", "1m") == "bybit"
    with pytest.raises(ConfigurationError):
        ProviderSelector("crypto: [unclosed\n")
