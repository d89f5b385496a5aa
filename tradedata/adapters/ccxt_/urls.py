"""Point an unmodified ccxt exchange at another host (the simulator, a proxy, a mirror).

``ccxt_url_overrides("binance", "http://127.0.0.1:8765")`` returns ``{"api": {...}}`` in which
every entry of the exchange's ``urls["api"]`` (REST and, for ccxt.pro, websocket) keeps its path
but has its scheme and host replaced: ``https://api.binance.com/api/v3`` becomes
``http://127.0.0.1:8765/api/v3`` and ``wss://stream.binance.com:9443/ws`` becomes
``ws://127.0.0.1:8765/ws``. ``{hostname}`` templates (Bybit's ``https://api.{hostname}``) are
resolved first. Give the result as ``ccxt.binance({"urls": overrides})``; ccxt deep-merges it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tradedata.errors import ConfigurationError

__all__ = ["ccxt_url_overrides", "rewrite_url", "websocket_url"]

_WS_SCHEMES = ("ws", "wss")


def _exchange_urls(exchange_id: str) -> tuple[dict[str, Any], str]:
    """The exchange's ``urls`` (ccxt.pro's when it has one: a superset) and its hostname."""
    import ccxt

    cls = getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or cls is None:
        raise ConfigurationError(f"{exchange_id!r} is not a ccxt exchange id")
    try:
        import ccxt.pro as pro

        cls = getattr(pro, exchange_id, cls)
    except ImportError:  # pragma: no cover - ccxt.pro ships with ccxt >= 4
        pass
    exchange = cls()
    return exchange.urls, str(getattr(exchange, "hostname", "") or "")


def rewrite_url(url: str, base_url: str, ws_url: str, hostname: str = "") -> str:
    """``url`` with scheme and host swapped for ``base_url`` (or ``ws_url`` for ws/wss)."""
    resolved = url.replace("{hostname}", hostname) if hostname else url
    parts = urlsplit(resolved)
    if parts.scheme not in ("http", "https", *_WS_SCHEMES) or not parts.netloc:
        return url
    base = ws_url if parts.scheme in _WS_SCHEMES else base_url
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return base.rstrip("/") + tail


def _rewrite_tree(node: Any, base_url: str, ws_url: str, hostname: str) -> Any:
    if isinstance(node, str):
        return rewrite_url(node, base_url, ws_url, hostname)
    if isinstance(node, dict):
        return {k: _rewrite_tree(v, base_url, ws_url, hostname) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_tree(v, base_url, ws_url, hostname) for v in node]
    return node


def _default_ws(base_url: str) -> str:
    scheme, sep, rest = base_url.partition("://")
    if not sep:
        raise ConfigurationError(f"base_url must start with http:// or https://, got {base_url!r}")
    return ("wss" if scheme == "https" else "ws") + "://" + rest


def ccxt_url_overrides(exchange_id: str, base_url: str, ws_url: str | None = None) -> dict:
    """The ``urls`` dict to merge into ccxt exchange ``exchange_id`` so it talks only to
    ``base_url`` (REST) and ``ws_url`` (websockets; default: ``base_url`` with ws/wss).

    Works for any ccxt exchange whose ``urls["api"]`` is a string or a (nested) dict of strings.
    Raises :class:`ConfigurationError` for an unknown exchange id or a base URL without scheme.
    """
    ws_base = ws_url if ws_url is not None else _default_ws(base_url)
    if "://" not in base_url:
        raise ConfigurationError(f"base_url must start with http:// or https://, got {base_url!r}")
    urls, hostname = _exchange_urls(exchange_id)
    return {"api": _rewrite_tree(urls.get("api"), base_url, ws_base, hostname)}


def websocket_url(
    exchange_id: str, base_ws_url: str, market_type: str = "spot", access: str = "public"
) -> str:
    """The websocket URL ccxt.pro would open for ``market_type`` data, moved to ``base_ws_url``.

    E.g. ``ws://127.0.0.1:8765/ws`` for Binance spot, ``ws://127.0.0.1:8765/v5/public/spot``
    for Bybit. Raises :class:`ConfigurationError` if the exchange has no such websocket.
    """
    urls, hostname = _exchange_urls(exchange_id)
    node: Any = (urls.get("api") or {}).get("ws") if isinstance(urls.get("api"), dict) else None
    for key in (access, market_type):
        if isinstance(node, dict):
            node = node.get(key, node) if key == access else node.get(key)
    if not isinstance(node, str):
        raise ConfigurationError(f"ccxt.pro {exchange_id} has no {access} {market_type} websocket")
    return rewrite_url(node, base_ws_url, base_ws_url, hostname)
