"""Configuration: a YAML file, a dict, and environment variables.

Precedence, highest first: arguments (``DataManager(providers=...)``), environment variables,
the config dict or YAML file, built-in defaults. The file is read from ``TRADEDATA_CONFIG`` or
``<user config dir>/tradedata/config.yaml``. Shape::

    cache_dir: /data/tradedata          # DATA_CACHE_DIR
    cache_max_size_gb: 20               # CACHE_MAX_SIZE_GB
    store: postgresql://me@db.example/market   # TRADEDATA_STORE: a shared PostgreSQL store
    #   or {url: postgresql://me@db.example/market, password: ...} (else PGPASSWORD, ~/.pgpass)
    deadline: 600                       # TRADEDATA_DEADLINE: seconds per get_ohlcv/download
    providers:
      binance: {url: "http://127.0.0.1:8765", ws_url: "ws://127.0.0.1:8765", sandbox: false}
      alpha_vantage: {api_key: "..."}   # or ALPHA_VANTAGE_API_KEY
    rules:                              # provider selection (see tradedata.selection)
      crypto: {primary: binance, backup: [bybit, coingecko], timeframes: [1m, 1h, 1d]}
    fundamentals:                       # see tradedata.fundamentals
      providers: [fmp, yahoo, alpha_vantage]
      ttl: {market: 86400, financials: 604800, profile: 2592000}   # seconds

Per provider, ``TRADEDATA_<PROVIDER>_URL`` and ``TRADEDATA_<PROVIDER>_WS_URL`` override the
endpoints; API keys come from the variables each provider declares (``FMP_API_KEY`` ...).
Secrets (``api_key``, ``secret`` and ccxt credential fields under ``options.ccxt``) are wrapped
in :class:`~tradedata.redact.Secret` as soon as they are read, so no repr of the config, its
``providers`` mapping or the settings shows them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradedata.errors import ConfigurationError

if TYPE_CHECKING:
    from tradedata.redact import Secret

__all__ = ["Config", "load_config", "provider_settings"]

_KNOWN_TOP = {
    "cache_dir",
    "cache_max_size_gb",
    "deadline",
    "providers",
    "rules",
    "fundamentals",
    "store",
}

_KNOWN_PROVIDER_KEYS = {"url", "ws_url", "api_key", "secret", "sandbox", "timeout", "options"}
_KNOWN_FUNDAMENTALS_KEYS = {"providers", "ttl"}

#: Environment variables holding each provider's key and secret.
KEY_ENV: dict[str, tuple[str | None, str | None]] = {
    "alpha_vantage": ("ALPHA_VANTAGE_API_KEY", None),
    "fmp": ("FMP_API_KEY", None),
    "polygon": ("POLYGON_KEY", None),
    "alpaca": ("ALPACA_API_KEY", "ALPACA_SECRET_KEY"),
    "tiingo": ("TIINGO_API_KEY", None),
    "coingecko": ("COINGECKO_API_KEY", None),
}


@dataclass(frozen=True)
class Config:
    """Validated configuration. Build it with :func:`load_config`."""

    cache_dir: str | None = None
    cache_max_size_gb: float | None = None
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rules: Mapping[str, Mapping[str, Any]] | None = None
    fundamentals: Mapping[str, Any] = field(default_factory=dict)
    #: the store: a cache folder or a ``postgresql://`` URL (None: the embedded cache)
    store: str | None = None
    #: the store's password when the config gives it apart from the URL (never shown)
    store_password: Secret | None = field(default=None, repr=False)
    #: seconds one get_ohlcv/download may take (see :mod:`tradedata.deadline`); None: no limit
    deadline: float | None = None

    def __repr__(self) -> str:
        names = ", ".join(sorted(self.providers))
        return f"Config(cache_dir={self.cache_dir!r}, providers=[{names}])"


def _store_setting(value: Any) -> tuple[str | None, Secret | None]:
    """``store:`` as ``(url or folder, password)``: a string, or ``{url:, password:}``."""
    from tradedata.redact import Secret

    if value is None or isinstance(value, (str, os.PathLike)):
        return (None if value is None else os.fspath(value)), None
    if isinstance(value, Mapping) and set(value) <= {"url", "password"} and "url" in value:
        password = value.get("password")
        if password is None or isinstance(password, Secret):
            return str(value["url"]), password
        return str(value["url"]), Secret(str(password))
    raise ConfigurationError("config 'store' must be a folder, a URL, or {url:, password:}")


def _wrap_secrets(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with its credentials wrapped in :class:`~tradedata.redact.Secret`."""
    from tradedata.redact import CCXT_CREDENTIALS, Secret

    out = dict(settings)
    for key in ("api_key", "secret"):
        if isinstance(out.get(key), str):
            out[key] = Secret(out[key]) if out[key] else None
    options = out.get("options")
    if isinstance(options, Mapping) and isinstance(options.get("ccxt"), Mapping):
        ccxt_options = {
            k: Secret(v) if k in CCXT_CREDENTIALS and isinstance(v, str) and v else v
            for k, v in options["ccxt"].items()
        }
        out["options"] = {**options, "ccxt": ccxt_options}
    return out


def _default_path() -> Path:
    env = os.environ.get("TRADEDATA_CONFIG")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("tradedata")) / "config.yaml"


#: A config file larger than this is not a config file.
_MAX_CONFIG_BYTES = 1 << 20


def _yaml_problem(exc: Exception) -> str:
    """One line for a YAML error: what is wrong and where (PyYAML's own text spans lines)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"invalid YAML: {problem}{where}"


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_CONFIG_BYTES + 1)
        if len(raw) > _MAX_CONFIG_BYTES:
            raise ConfigurationError(f"config file {path} is larger than 1 MB: not a config file")
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"config file {path}: {_yaml_problem(exc)}") from exc
    except (ValueError, RecursionError) as exc:  # e.g. PyYAML's own limits on odd input
        raise ConfigurationError(f"config file {path}: invalid YAML ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"config file {path} must hold a mapping")
    return data


def _names(keys: Any) -> str:
    return ", ".join(sorted(k if isinstance(k, str) and k.isprintable() else repr(k) for k in keys))


def _check(data: Mapping[str, Any]) -> None:
    unknown = set(data) - _KNOWN_TOP
    if unknown:
        raise ConfigurationError(f"unknown config key(s): {_names(unknown)}")
    fundamentals = data.get("fundamentals") or {}
    if not isinstance(fundamentals, Mapping):
        raise ConfigurationError("config 'fundamentals' must be a mapping (providers, ttl)")
    bad_f = set(fundamentals) - _KNOWN_FUNDAMENTALS_KEYS
    if bad_f:
        raise ConfigurationError(f"unknown fundamentals key(s): {_names(bad_f)}")
    providers = data.get("providers") or {}
    if not isinstance(providers, Mapping):
        raise ConfigurationError("config 'providers' must be a mapping of name -> settings")
    for name, settings in providers.items():
        if not isinstance(settings, Mapping):
            raise ConfigurationError(f"config for provider {name!r} must be a mapping")
        bad = set(settings) - _KNOWN_PROVIDER_KEYS
        if bad:
            raise ConfigurationError(f"unknown key(s) for provider {name!r}: {_names(bad)}")
        _check_provider_values(str(name), settings)
    cache_dir = data.get("cache_dir")
    if cache_dir is not None and not (isinstance(cache_dir, (str, os.PathLike)) and cache_dir):
        raise ConfigurationError(f"config 'cache_dir' must be a path (text), got {cache_dir!r}")


def _check_provider_values(name: str, settings: Mapping[str, Any]) -> None:
    """Types and ranges of one provider's settings (each one line when wrong)."""
    for key in ("url", "ws_url", "api_key", "secret"):
        value = settings.get(key)
        if value is not None and not isinstance(value, str):
            shown = "(hidden)" if key in ("api_key", "secret") else repr(value)
            raise ConfigurationError(f"{key} for provider {name!r} must be text, got {shown}")
    options = settings.get("options")
    if options is not None and not isinstance(options, Mapping):
        raise ConfigurationError(
            f"options for provider {name!r} must be a mapping, got {options!r}"
        )
    if "timeout" in settings:
        _timeout(name, settings["timeout"])
    sandbox = settings.get("sandbox")
    if sandbox is not None and not isinstance(sandbox, (bool, str)):
        raise ConfigurationError(f"sandbox for provider {name!r} must be true or false")


#: The longest per-request timeout accepted, in seconds (a day).
_MAX_TIMEOUT = 86400.0


def _timeout(name: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean")
        seconds = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigurationError(f"timeout for {name!r} must be a number of seconds") from exc
    if not 0 < seconds <= _MAX_TIMEOUT:
        raise ConfigurationError(
            f"timeout for {name!r} must be in (0, {_MAX_TIMEOUT:g}] seconds, got {value!r}"
        )
    return seconds


def load_config(
    config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    *,
    providers: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Build a :class:`Config` from a dict, a YAML path, or the default file if it exists.

    ``providers`` (per-provider settings) is merged over what the file or dict says.
    """
    if isinstance(config, Config):
        data: dict[str, Any] = {
            "cache_dir": config.cache_dir,
            "cache_max_size_gb": config.cache_max_size_gb,
            "providers": dict(config.providers),
            "rules": config.rules,
            "fundamentals": dict(config.fundamentals),
            "store": {"url": config.store, "password": config.store_password}
            if config.store
            else None,
            "deadline": config.deadline,
        }
    elif isinstance(config, Mapping):
        data = dict(config)
    elif config is not None:
        data = _read_yaml(Path(config))
    else:
        path = _default_path()
        data = _read_yaml(path) if path.exists() else {}
    _check(data)
    merged = {k: _wrap_secrets(v) for k, v in (data.get("providers") or {}).items()}
    for name, settings in (providers or {}).items():
        _check({"providers": {name: settings}})
        merged.setdefault(name, {}).update(_wrap_secrets(settings))
    size = data.get("cache_max_size_gb")
    try:
        if isinstance(size, bool):
            raise TypeError("a boolean")
        size = None if size is None else float(size)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigurationError(f"cache_max_size_gb must be a number, got {size!r}") from exc
    if size is not None and not (math.isfinite(size) and size > 0):
        raise ConfigurationError(f"cache_max_size_gb must be a positive number, got {size!r}")
    store, password = _store_setting(data.get("store"))
    return Config(
        store=store,
        store_password=password,
        cache_dir=data.get("cache_dir"),
        cache_max_size_gb=size,
        providers=merged,
        rules=data.get("rules"),
        fundamentals=data.get("fundamentals") or {},
        deadline=_deadline(data.get("deadline")),
    )


def _deadline(value: Any) -> float | None:
    from tradedata.deadline import parse_seconds
    from tradedata.errors import InputError

    try:
        return parse_seconds(value, "config 'deadline'")
    except InputError as exc:
        raise ConfigurationError(str(exc)) from None


def provider_settings(name: str, config: Config | None = None) -> Any:
    """The :class:`~tradedata.adapters.base.ProviderSettings` for ``name``.

    Environment variables win over the config: ``TRADEDATA_<NAME>_URL``,
    ``TRADEDATA_<NAME>_WS_URL``, ``TRADEDATA_<NAME>_SANDBOX`` and the provider's key variables.
    """
    from tradedata.adapters.base import ProviderSettings
    from tradedata.redact import Secret

    raw = dict((config.providers if config else {}).get(name, {}))
    prefix = f"TRADEDATA_{name.upper()}_"
    for env_key, key in (("URL", "url"), ("WS_URL", "ws_url"), ("SANDBOX", "sandbox")):
        value = os.environ.get(prefix + env_key)
        if value:
            raw[key] = value.lower() in ("1", "true", "yes") if key == "sandbox" else value
    key_env, secret_env = KEY_ENV.get(name, (None, None))
    for env_name, key in ((key_env, "api_key"), (secret_env, "secret")):
        if env_name and os.environ.get(env_name):
            raw[key] = os.environ[env_name]
    for env_name, key in ((prefix + "API_KEY", "api_key"), (prefix + "SECRET", "secret")):
        if os.environ.get(env_name):
            raw[key] = os.environ[env_name]
    for key in ("api_key", "secret"):
        value = raw.get(key)
        if isinstance(value, str):
            raw[key] = Secret(value) if value else None
    timeout = _timeout(name, raw.get("timeout", 30.0))
    if raw.get("options") is not None and not isinstance(raw["options"], Mapping):
        raise ConfigurationError(f"options for provider {name!r} must be a mapping")
    return ProviderSettings(
        url=raw.get("url"),
        ws_url=raw.get("ws_url"),
        api_key=raw.get("api_key"),
        secret=raw.get("secret"),
        sandbox=bool(raw.get("sandbox", False)),
        timeout=timeout,
        options=dict(raw.get("options") or {}),
    )
