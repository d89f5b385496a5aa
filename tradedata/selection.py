"""Provider selection: which provider serves a symbol and timeframe, and who backs it up.

Rules come as YAML (the ``rules`` section of the config) in this shape::

    crypto:         {primary: binance, backup: [bybit, coingecko], timeframes: [1m, 1h, 1d]}
    stock_intraday: {primary: fmp, backup: [alpaca, alpha_vantage, polygon], timeframes: [1m, 1h]}
    stock_daily:    {primary: yahoo, backup: [alpaca, tiingo, fmp], timeframes: [1d, 1w, 1M]}

Backups only continue a series from the same *source* (crypto venue, or equity volume scope;
see :mod:`tradedata.identity`): a rule's backups on other venues are used for other venues'
series, or when the rule says ``fallback: venues`` (or a call passes ``fallback="venues"``),
in which case their bars fill what the primary source could not deliver, stored under their
own venue.

A rule applies to a symbol's asset class (``crypto``, ``forex``, ``index``; equities use the
``stock_intraday``/``stock_daily`` split, international tickers too unless an
``international_stock_*`` rule exists) and to the listed timeframes. Providers whose API key is
missing, or that cannot serve the symbol's market or the timeframe, are skipped, with a note in
:attr:`ProviderSelector.notes` instead of an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradedata.adapters.resilience import is_loopback_url
from tradedata.config import KEY_ENV, Config, provider_settings
from tradedata.errors import AllProvidersFailedError, ConfigurationError
from tradedata.identity import source_of_provider
from tradedata.model import parse_timeframe
from tradedata.symbols import AssetClass, classify_symbol, symbol_info

__all__ = ["DEFAULT_RULES", "FALLBACK_VENUES", "ProviderSelector", "Rule"]

#: ``fallback="venues"``: fill what the primary source could not deliver from other sources.
FALLBACK_VENUES = "venues"

_INTRADAY = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h"]
_DAILY = ["1d", "1w", "1M"]
_CRYPTO = [*_INTRADAY, "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "crypto": {"primary": "binance", "backup": ["bybit", "coingecko"], "timeframes": _CRYPTO},
    "stock_intraday": {
        "primary": "fmp",
        "backup": ["alpaca", "alpha_vantage", "polygon", "yahoo"],
        "timeframes": _INTRADAY,
    },
    "stock_daily": {
        "primary": "yahoo",
        "backup": ["alpaca", "tiingo", "fmp"],
        "timeframes": _DAILY,
    },
    "forex": {
        "primary": "yahoo",
        "backup": ["alpha_vantage", "polygon"],
        "timeframes": _INTRADAY + _DAILY,
    },
    "index": {"primary": "yahoo", "backup": ["fmp", "polygon"], "timeframes": _INTRADAY + _DAILY},
}


@dataclass(frozen=True)
class Rule:
    """One selection rule: a primary provider, ordered backups, and the timeframes it covers."""

    category: str
    primary: str
    backup: tuple[str, ...]
    timeframes: tuple[str, ...]
    fallback: str | None = None  # "venues": fill holes from other sources' series (opt-in)

    @property
    def providers(self) -> tuple[str, ...]:
        """Primary first, then the backups in order."""
        return (self.primary, *[b for b in self.backup if b != self.primary])


def _parse_rules(rules: Mapping[str, Any]) -> dict[str, Rule]:
    parsed: dict[str, Rule] = {}
    for category, body in rules.items():
        if not isinstance(body, Mapping) or "primary" not in body:
            raise ConfigurationError(f"rule {category!r} needs at least a 'primary' provider")
        backup = body.get("backup") or []
        if isinstance(backup, str):
            backup = [backup]
        tfs = tuple(parse_timeframe(str(t)).name for t in body.get("timeframes") or [])
        fallback = body.get("fallback")
        if fallback not in (None, "none", FALLBACK_VENUES):
            raise ConfigurationError(
                f"rule {category!r}: fallback must be {FALLBACK_VENUES!r} or 'none', "
                f"got {fallback!r}"
            )
        parsed[str(category)] = Rule(
            str(category),
            str(body["primary"]),
            tuple(backup),
            tfs,
            FALLBACK_VENUES if fallback == FALLBACK_VENUES else None,
        )
    return parsed


def _load_rules(source: str | os.PathLike[str]) -> Mapping[str, Any]:
    """Rules from a YAML file path, or from YAML text given directly."""
    import yaml

    text_given = isinstance(source, str) and ("\n" in source or ":" in source.split("/")[0])
    try:
        if text_given and not Path(str(source)).exists():
            loaded = yaml.safe_load(str(source))
        else:
            loaded = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read provider rules {str(source)[:60]!r}: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, Mapping):
        raise ConfigurationError("provider rules must be a mapping of category -> rule")
    inner = loaded.get("rules", loaded)
    return inner if isinstance(inner, Mapping) else {}


def pinned_to_local(config: Config | None) -> list[str]:
    """Providers whose URL (config or ``TRADEDATA_<NAME>_URL``) points at this machine.

    When any is, failover skips providers with no URL configured: they would be the real,
    remote services, which an offline setup around a simulator or fake cannot reach.
    """
    names = set(config.providers if config else ())
    for var in os.environ:
        if var.startswith("TRADEDATA_") and var.endswith("_URL") and not var.endswith("_WS_URL"):
            names.add(var[len("TRADEDATA_") : -len("_URL")].lower())
    pinned = []
    for name in sorted(names):
        try:
            url = provider_settings(name, config).url
        except ConfigurationError:
            continue
        if is_loopback_url(url):
            pinned.append(name)
    return pinned


class ProviderSelector:
    """Chooses providers for a symbol and timeframe from YAML rules (defaults built in)."""

    def __init__(
        self,
        rules: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        config: Config | None = None,
    ) -> None:
        if isinstance(rules, (str, os.PathLike)):
            rules = _load_rules(rules)
        given: Mapping[str, Any] = rules if isinstance(rules, Mapping) else {}
        merged = {**DEFAULT_RULES, **dict(given)}
        self.rules = _parse_rules(merged)
        self.config = config
        self.notes: list[str] = []

    def classify_symbol(self, symbol: str) -> AssetClass:
        """The symbol's asset class (crypto, stock, international_stock, forex, index)."""
        return classify_symbol(symbol)

    def rule_for(self, symbol: str, timeframe: str) -> Rule:
        """The rule that applies to ``symbol`` at ``timeframe``."""
        asset = self.classify_symbol(symbol)
        tf = parse_timeframe(timeframe).name
        kind = "daily" if tf in ("1d", "3d", "1w", "1M") else "intraday"
        names = {
            AssetClass.CRYPTO: ["crypto"],
            AssetClass.FOREX: ["forex"],
            AssetClass.INDEX: ["index", f"stock_{kind}"],
            AssetClass.STOCK: [f"stock_{kind}"],
            AssetClass.INTERNATIONAL_STOCK: [f"international_stock_{kind}", f"stock_{kind}"],
        }[asset]
        for name in names:
            rule = self.rules.get(name)
            if rule is not None and (not rule.timeframes or tf in rule.timeframes):
                return rule
        for name in names:
            if name in self.rules:
                return self.rules[name]
        raise ConfigurationError(f"no provider rule covers {symbol} ({asset.value}) at {tf}")

    def _unavailable_reason(self, name: str, symbol: str, timeframe: str) -> str | None:
        key_env, secret_env = KEY_ENV.get(name, (None, None))
        if name in KEY_ENV and name != "coingecko":
            settings = provider_settings(name, self.config)
            if not settings.api_key:
                return f"{name} skipped: no API key (set {key_env})"
            if secret_env and not settings.secret:
                return f"{name} skipped: no API secret (set {secret_env})"
        from tradedata.adapters import STOCK_PROVIDERS, provider_class

        if name not in STOCK_PROVIDERS:
            info = symbol_info(symbol)
            if info.asset_class is not AssetClass.CRYPTO:
                return f"{name} skipped: it serves crypto only"
            return None
        caps = provider_class(name).capabilities
        info = symbol_info(symbol)
        tf = parse_timeframe(timeframe).name
        if info.asset_class not in caps.asset_classes:
            return f"{name} skipped: it does not serve {info.asset_class.value}"
        if caps.markets is not None and info.exchange and info.exchange not in caps.markets:
            return f"{name} skipped: it does not serve market {info.exchange}"
        if tf not in caps.timeframes:
            return f"{name} skipped: it does not serve {tf}"
        return None

    def _unpinned_reason(self, name: str, pinned: list[str]) -> str | None:
        if provider_settings(name, self.config).url:
            return None  # its URL is configured: the user means it
        return (
            f"{name} skipped: not configured while {', '.join(pinned)} point(s) at this machine "
            f"(set TRADEDATA_{name.upper()}_URL or add it to the config to use it)"
        )

    def get_provider_with_failover(self, symbol: str, timeframe: str) -> list[str]:
        """Usable providers for ``symbol``/``timeframe``, best first.

        Skipped providers are explained in :attr:`notes`. Raises
        :class:`AllProvidersFailedError` when none is usable.
        """
        rule = self.rule_for(symbol, timeframe)
        chosen: list[str] = []
        notes: list[str] = []
        pinned = pinned_to_local(self.config)
        for name in rule.providers:
            try:
                reason = self._unavailable_reason(name, symbol, timeframe)
                if reason is None and pinned and name not in pinned:
                    reason = self._unpinned_reason(name, pinned)
            except ConfigurationError as exc:
                reason = f"{name} skipped: {exc}"
            if reason is None:
                chosen.append(name)
            else:
                notes.append(reason)
        if not rule.providers:
            notes.append(f"the rule for {symbol} {timeframe} names no provider")
        self.notes = notes
        if not chosen:
            raise AllProvidersFailedError(
                f"no usable provider for {symbol} {timeframe}: " + "; ".join(notes)
            )
        return chosen

    def source_of(self, name: str, symbol: str, timeframe: str) -> str:
        """The source (venue or equity volume scope) of the bars provider ``name`` delivers."""
        feed = None
        if name == "alpaca":
            try:
                feed = provider_settings(name, self.config).options.get("feed")
            except ConfigurationError:
                feed = None
        tf = parse_timeframe(timeframe).name
        return source_of_provider(name, symbol, tf, feed=str(feed) if feed else None)

    def fallback_for(self, symbol: str, timeframe: str) -> str | None:
        """The rule's ``fallback`` setting for ``symbol``/``timeframe`` (None: no failover)."""
        try:
            return self.rule_for(symbol, timeframe).fallback
        except ConfigurationError:
            return None

    def get_best_provider(self, symbol: str, timeframe: str) -> str:
        """The first usable provider for ``symbol``/``timeframe``."""
        return self.get_provider_with_failover(symbol, timeframe)[0]
