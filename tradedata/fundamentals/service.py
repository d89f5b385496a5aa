"""Fetching, caching and merging fundamentals across providers.

Each provider's answer is cached on its own (key ``<provider>:<SYMBOL>``) with the time every
field group was fetched. A group is fresh while younger than its time-to-live: prices and
market cap 1 day, financials 7 days, the company profile 30 days (``max_age`` overrides all,
the config's ``fundamentals: {ttl: {market: ..., financials: ..., profile: ...}}`` each).
A provider whose cached groups are all fresh is not called; otherwise it is fetched again and
its entry replaced (so stale entries are cleaned as new data is cached). When the fetch fails,
the still-fresh groups of the old entry are used and the stale ones dropped, never served.

``priority_based`` takes each field from the first provider (in order) that has it, and stops
calling providers once every field is filled; ``most_recent`` takes each field from the
provider whose data for that group is newest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tradedata.errors import (
    AllProvidersFailedError,
    ConfigurationError,
    InputError,
    ProviderError,
    UnsupportedError,
)
from tradedata.fundamentals.model import (
    FIELD_GROUPS,
    GROUP_OF,
    VALUE_FIELDS,
    Fundamentals,
    ProviderInfo,
)
from tradedata.fundamentals.sources import PARSERS
from tradedata.symbols import AssetClass, normalize_symbol, symbol_info

__all__ = ["DEFAULT_SOURCES", "DEFAULT_TTL", "STRATEGIES", "TTLPolicy", "get_fundamentals"]

log = logging.getLogger("tradedata.fundamentals")

DEFAULT_SOURCES: tuple[str, ...] = ("fmp", "yahoo", "alpha_vantage")
DAY = 86_400.0
#: seconds each field group stays fresh
DEFAULT_TTL: dict[str, float] = {"market": 1 * DAY, "financials": 7 * DAY, "profile": 30 * DAY}
STRATEGIES = ("priority_based", "most_recent")


@dataclass(frozen=True)
class TTLPolicy:
    """How long each field group stays fresh; ``max_age`` (seconds) overrides every group."""

    ttl: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TTL))
    max_age: float | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None, max_age: Any = None) -> TTLPolicy:
        """Defaults, overridden by ``config["ttl"]`` (a number or a per-group mapping)."""
        ttl = dict(DEFAULT_TTL)
        raw = (config or {}).get("ttl")
        if isinstance(raw, Mapping):
            unknown = set(raw) - set(ttl)
            if unknown:
                raise ConfigurationError(f"unknown fundamentals ttl group(s): {sorted(unknown)}")
            ttl.update({k: _seconds(v) for k, v in raw.items()})
        elif raw is not None:
            ttl = dict.fromkeys(ttl, _seconds(raw))
        return cls(ttl, None if max_age is None else _seconds(max_age))

    def limit(self, group: str) -> float:
        """Seconds ``group`` stays fresh."""
        return self.max_age if self.max_age is not None else float(self.ttl[group])

    @property
    def storage_ttl(self) -> float:
        """How long the cache keeps an entry: as long as its longest-lived group."""
        return max(float(v) for v in self.ttl.values())


def _seconds(value: Any) -> float:
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"an age must be seconds or a timedelta, got {value!r}") from exc
    if seconds < 0:
        raise InputError(f"an age cannot be negative, got {value!r}")
    return seconds


@dataclass
class SourceRecord:
    """One provider's parsed fields and when each group was fetched (epoch seconds)."""

    provider: str
    fields: dict[str, Any]
    fetched_at: dict[str, float]
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The cache entry."""
        return {"provider": self.provider, "fields": self.fields, "fetched_at": self.fetched_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceRecord | None:
        """A record from a cache entry (None if the entry is not one)."""
        try:
            return cls(
                str(data["provider"]),
                dict(data["fields"]),
                {str(k): float(v) for k, v in dict(data["fetched_at"]).items()},
                cached=True,
            )
        except (KeyError, TypeError, ValueError):
            return None

    def fresh_groups(self, policy: TTLPolicy, now: float) -> set[str]:
        """Groups younger than their time-to-live."""
        return {
            g
            for g in FIELD_GROUPS
            if g in self.fetched_at and now - self.fetched_at[g] <= policy.limit(g)
        }

    def restricted(self, groups: set[str]) -> SourceRecord:
        """This record without the fields of other groups."""
        kept = {k: v for k, v in self.fields.items() if GROUP_OF.get(k) in groups}
        times = {g: t for g, t in self.fetched_at.items() if g in groups}
        return SourceRecord(self.provider, kept, times, self.cached)


@dataclass
class _Run:
    """What one get_fundamentals call gathered."""

    records: list[SourceRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, ProviderError] = field(default_factory=dict)


def _provider(manager: Any, name: str) -> Any:
    getter = getattr(manager, "provider", None)
    if callable(getter):
        return getter(name)
    from tradedata.adapters import create_provider
    from tradedata.config import provider_settings

    return create_provider(name, provider_settings(name, getattr(manager, "config", None)))


def _cache_get(cache: Any, key: str) -> Any:
    getter = getattr(cache, "get_fundamentals", None)
    if getter is None:
        return None
    try:
        return getter(key)
    except Exception as exc:  # a broken cache must not stop fresh data
        log.warning("fundamentals cache read failed for %s: %s", key, exc)
        return None


def _cache_set(cache: Any, key: str, value: dict[str, Any], ttl: float) -> None:
    setter = getattr(cache, "set_fundamentals", None)
    if setter is None:
        return
    try:
        setter(key, value, ttl)
    except Exception as exc:
        log.warning("fundamentals cache write failed for %s: %s", key, exc)


def _fetch(manager: Any, name: str, symbol: str, run: _Run, now: float) -> SourceRecord | None:
    """A fresh record from provider ``name`` (None, with a note or error, when impossible)."""
    parser = PARSERS.get(name)
    if parser is None:
        run.notes.append(f"{name} skipped: it has no fundamentals")
        return None
    try:
        provider = _provider(manager, name)
    except ConfigurationError as exc:  # MissingAPIKeyError included
        run.notes.append(f"{name} skipped: {exc}")
        return None
    try:
        raw = provider.fetch_fundamentals(symbol)
    except ProviderError as exc:
        run.errors[name] = exc
        log.warning("fundamentals from %s failed for %s: %s", name, symbol, exc)
        return None
    fields = parser(raw)
    return SourceRecord(name, fields, dict.fromkeys(FIELD_GROUPS, now))


def _complete(records: Sequence[SourceRecord]) -> bool:
    have = {k for r in records for k, v in r.fields.items() if v is not None}
    return all(name in have for name in VALUE_FIELDS)


def _gather(
    manager: Any,
    symbol: str,
    names: Sequence[str],
    policy: TTLPolicy,
    refresh: bool,
    stop_when_complete: bool,
    now: float,
) -> _Run:
    run = _Run()
    cache = getattr(manager, "cache", None)
    for name in names:
        if stop_when_complete and run.records and _complete(run.records):
            break
        key = f"{name}:{symbol}"
        cached = None if refresh else _cache_get(cache, key)
        old = SourceRecord.from_dict(cached) if isinstance(cached, Mapping) else None
        fresh = old.fresh_groups(policy, now) if old is not None else set()
        if old is not None and fresh == set(FIELD_GROUPS):
            run.records.append(old)
            continue
        record = _fetch(manager, name, symbol, run, now)
        if record is not None:
            _cache_set(cache, key, record.to_dict(), policy.storage_ttl)
            run.records.append(record)
        elif old is not None and fresh:
            run.records.append(old.restricted(fresh))  # stale groups are dropped, never served
    return run


def _merge(records: Sequence[SourceRecord], strategy: str) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in VALUE_FIELDS:
        group = GROUP_OF[name]
        candidates = [r for r in records if r.fields.get(name) is not None]
        if not candidates:
            continue
        if strategy == "most_recent":  # newest group first; ties keep priority order
            candidates.sort(key=lambda r: -r.fetched_at.get(group, 0.0))
        chosen = candidates[0]
        values[name] = chosen.fields[name]
        sources[name] = chosen.provider
    return values, sources


def get_fundamentals(
    manager: Any,
    symbol: str,
    providers: Sequence[str] | None = None,
    combination_strategy: str = "priority_based",
    max_age: float | None = None,
    refresh: bool = False,
    *,
    now: float | None = None,
) -> Fundamentals:
    """Fundamentals for ``symbol`` merged across ``providers`` (default fmp, yahoo, alpha_vantage).

    ``manager`` supplies ``provider(name)``, ``config`` and ``cache`` (with
    ``get_fundamentals(key)`` / ``set_fundamentals(key, value, ttl)``); see the module
    docstring for caching and merging. Providers without a key are skipped with a note in
    ``provider_info["notes"]``. Raises :class:`AllProvidersFailedError` when no provider (and no
    fresh cache entry) supplied anything, :class:`InputError` for an unknown strategy.
    """
    if combination_strategy not in STRATEGIES:
        raise InputError(
            f"unknown combination_strategy {combination_strategy!r} (use {', '.join(STRATEGIES)})"
        )
    sym = normalize_symbol(symbol)
    if symbol_info(sym).asset_class in (AssetClass.CRYPTO, AssetClass.FOREX):
        raise UnsupportedError(f"fundamentals exist for stocks, not {sym}")
    config = getattr(getattr(manager, "config", None), "fundamentals", None) or {}
    names = list(providers or config.get("providers") or DEFAULT_SOURCES)
    policy = TTLPolicy.from_config(config, max_age)
    clock = pd.Timestamp.now(tz="UTC").timestamp() if now is None else float(now)
    run = _gather(
        manager, sym, names, policy, refresh, combination_strategy == "priority_based", clock
    )
    values, sources = _merge(run.records, combination_strategy)
    if not values:
        detail = "; ".join([*run.notes, *(f"{n}: {e}" for n, e in run.errors.items())])
        raise AllProvidersFailedError(
            f"no fundamentals for {sym} from {', '.join(names)}"
            + (f" ({detail})" if detail else ""),
            errors=dict(run.errors),
        )
    used = [r for r in run.records if r.provider in set(sources.values())]
    newest = max((t for r in used for t in r.fetched_at.values()), default=None)
    info = ProviderInfo(
        primary_source=next((n for n in names if n in set(sources.values())), None),
        combined_from=[n for n in names if n in set(sources.values())],
        last_updated=None
        if newest is None
        else pd.Timestamp(newest, unit="s", tz="UTC").isoformat().replace("+00:00", "Z"),
        field_sources=sources,
        strategy=combination_strategy,
        notes=run.notes,
        errors={n: str(e) for n, e in run.errors.items()},
        from_cache=[r.provider for r in used if r.cached],
    )
    return Fundamentals(symbol=sym, provider_info=info, **values)
