"""Pacing by an exchange's published rate limit, and the capabilities an exchange's traits give.

Exchanges count their limits in fixed windows (Binance: weight per calendar minute). A token
bucket holding ``C`` tokens refilled at ``r`` per second lets at most ``C + r * W`` through in any
window of ``W`` seconds, so :func:`fixed_window_rate` picks ``C`` and ``r`` to keep that under the
published limit with a small margin: pacing by it never earns a 429, let alone a 418 ban.
:data:`LIMIT_PARSERS` read the live limit from an exchange's own listing (Binance exchangeInfo).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tradedata.adapters.base import Capabilities, RateLimit
from tradedata.model import parse_timeframe
from tradedata.symbols import AssetClass

if TYPE_CHECKING:
    from tradedata.adapters.ccxt_.traits import ExchangeTraits

__all__ = [
    "LIMIT_PARSERS",
    "binance_weight_limit",
    "capabilities_from",
    "fixed_window_rate",
    "heaviest",
]

#: Share of a fixed window's limit held back against clock skew and requests in flight.
SAFETY_MARGIN = 0.03
#: Share of a fixed window's limit allowed as an instant burst.
BURST_SHARE = 0.02
#: Seconds a paced request may take to reach the server (thread scheduling, connect).
SEND_JITTER = 0.25


def fixed_window_rate(
    limit: float,
    window: float,
    max_weight: float = 1.0,
    *,
    burst: float = BURST_SHARE,
    margin: float = SAFETY_MARGIN,
    jitter: float = SEND_JITTER,
) -> RateLimit:
    """A :class:`RateLimit` whose token bucket never puts more than ``limit`` in a fixed window.

    The bucket holds ``burst * limit`` tokens (at least ``max_weight``, the heaviest single
    request, so that none is undercharged) and refills so that the burst plus what is sent in
    ``window + jitter`` seconds (a request may reach the server up to ``jitter`` late, landing
    in the next window) stays ``margin`` under the limit. Binance's 6000/min gives a 120-token
    burst and 94.6 weight per second.
    """
    if limit <= 0 or window <= 0:
        raise ValueError("limit and window must be positive")
    capacity = max(1.0, burst * limit, float(max_weight))
    per_second = ((1.0 - margin) * limit - capacity) / (window + jitter)
    if per_second <= 0:  # a limit below one request's weight: one request per window
        capacity, per_second = float(max_weight), float(max_weight) / (window + jitter)
    return RateLimit(capacity=capacity, period=capacity / per_second)


def heaviest(traits: ExchangeTraits) -> float:
    """The weight of the heaviest request the adapter makes (markets, time or a page)."""
    return max(traits.page_weight, traits.markets_weight, traits.time_weight)


def _timeframes(client: Any) -> tuple[str, ...]:
    names = []
    for name in getattr(client, "timeframes", None) or {}:
        try:
            if parse_timeframe(name).name == name:
                names.append(name)
        except ValueError:
            continue
    return tuple(names)


def _rate_limit(traits: ExchangeTraits, client: Any) -> RateLimit:
    if traits.weight_limit is not None:
        return fixed_window_rate(traits.weight_limit, traits.weight_window, heaviest(traits))
    millis = float(getattr(client, "rateLimit", 0) or 0)
    if millis <= 0:
        return RateLimit(capacity=1.0, period=1.0)
    return RateLimit(capacity=1.0, period=millis / 1000.0)  # ccxt's own pace, shared


def capabilities_from(
    traits: ExchangeTraits, client: Any, overrides: Mapping[str, Any] | None = None
) -> Capabilities:
    """Exact :class:`Capabilities` of the exchange behind the ccxt ``client``.

    ``overrides`` may set ``max_candles``, and ``rate_limit`` with ``rate_period`` (weight per
    seconds, a published limit to pace by).
    """
    overrides = overrides or {}
    if "max_candles" in overrides:
        traits = replace(traits, max_candles=int(overrides["max_candles"]))
    if "rate_limit" in overrides:
        period = float(overrides.get("rate_period", traits.weight_window))
        traits = replace(traits, weight_limit=float(overrides["rate_limit"]), weight_window=period)
    return Capabilities(
        timeframes=_timeframes(client),
        max_candles=traits.max_candles,
        asset_classes=frozenset({AssetClass.CRYPTO}),
        rate_limit=_rate_limit(traits, client),
        history_days=dict(traits.history_days),
        page_weight=traits.page_weight,
    )


_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}


def binance_weight_limit(body: str) -> tuple[float, float] | None:
    """The tightest ``REQUEST_WEIGHT`` limit in a Binance exchangeInfo body: (weight, seconds).

    Binance publishes its limits in ``rateLimits`` (e.g. 6000 per 1 MINUTE); None when absent.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    best: tuple[float, float] | None = None
    entries = data.get("rateLimits") if isinstance(data, dict) else None
    for entry in entries or []:
        if not isinstance(entry, dict) or entry.get("rateLimitType") != "REQUEST_WEIGHT":
            continue
        seconds = _INTERVAL_SECONDS.get(str(entry.get("interval")))
        try:
            limit, num = float(entry["limit"]), int(entry.get("intervalNum", 1))
        except (KeyError, TypeError, ValueError):
            continue
        if seconds is None or limit <= 0 or num <= 0:
            continue
        window = float(seconds * num)
        if best is None or limit / window < best[0] / best[1]:
            best = (limit, window)
    return best


#: Parsers for ``ExchangeTraits.learn_limits``: (path suffix of the listing, parser).
LIMIT_PARSERS = {"binance": ("/api/v3/exchangeInfo", binance_weight_limit)}
