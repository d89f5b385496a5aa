"""``tradedata health``: is this installation fit to serve data right now?

Checks, each ``ok``, ``warn`` or ``fail``:

* ``provider:NAME`` — each configured provider answers over HTTP (any HTTP status counts as
  reachable; the latency of that answer is reported). Configured means named in the config's
  ``providers`` section, given a URL through ``TRADEDATA_<NAME>_URL``, or given an API key; with
  nothing configured nothing is probed (a warning says so; ``--provider NAME`` probes one).
* ``cache:integrity`` — a fast, read-only verify: every partition's metadata is readable and its
  data file exists with the recorded size (``--full`` decodes every partition instead, like
  ``tradedata cache verify``, quarantining damage). Items already in quarantine are a warning.
* ``cache:disk`` — the cache's size against its limit (warn above 90%) and the free disk space
  against what the cache may still grow (warn when the disk would fill first; fail under
  100 MB free).
* ``freshness:SYMBOL TF`` — the age of each cached series' last bar against its timeframe:
  stale when older than ``stale_bars`` bars (3) plus, for markets that close, 3 days.

Exit codes of the command: 0 healthy (warnings allowed), 1 unhealthy (a check failed; with
``--strict`` a warning counts as a failure), 2 bad input.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.stats import human_bytes

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["Check", "HealthReport", "check_health", "configured_providers"]

_STATES = ("ok", "warn", "fail")
MIN_FREE_BYTES = 100_000_000
_YAHOO_URL = "https://query1.finance.yahoo.com"


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``status`` is ``"ok"``, ``"warn"`` or ``"fail"``."""

    name: str
    status: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthReport:
    """Every check; :attr:`healthy` when none failed."""

    checks: list[Check]

    @property
    def healthy(self) -> bool:
        """True when no check failed."""
        return all(c.status != "fail" for c in self.checks)

    def exit_code(self, strict: bool = False) -> int:
        """0 healthy, 1 unhealthy (with ``strict``, a warning also gives 1)."""
        bad = ("fail", "warn") if strict else ("fail",)
        return 1 if any(c.status in bad for c in self.checks) else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (what ``tradedata health --json`` prints)."""
        return {
            "healthy": self.healthy,
            "checks": [
                {"name": c.name, "status": c.status, "detail": c.detail, **c.data}
                for c in self.checks
            ],
        }

    def __str__(self) -> str:
        width = max((len(c.name) for c in self.checks), default=10)
        lines = [f"{c.status.upper():<5} {c.name:<{width}}  {c.detail}" for c in self.checks]
        lines.append("healthy" if self.healthy else "UNHEALTHY")
        return "\n".join(lines)


def configured_providers(dm: DataManager) -> list[str]:
    """Providers named in the config, by ``TRADEDATA_<NAME>_URL`` or by an API key variable."""
    from tradedata.config import KEY_ENV

    names = list(dm.config.providers)
    for var, value in sorted(os.environ.items()):
        if value and var.startswith("TRADEDATA_") and var.endswith("_URL"):
            name = var[len("TRADEDATA_") : -len("_URL")].lower()
            if not name.endswith("_ws") and name not in names:
                names.append(name)
    for name, (key_env, _) in KEY_ENV.items():
        if key_env and os.environ.get(key_env) and name not in names:
            names.append(name)
    return names


def _base_url(dm: DataManager, name: str) -> str:
    from tradedata.adapters import STOCK_PROVIDERS, provider_class
    from tradedata.config import provider_settings

    url = provider_settings(name, dm.config).url
    if url:
        return str(url)
    if name == "yahoo":
        return _YAHOO_URL
    if name in STOCK_PROVIDERS:
        return str(getattr(provider_class(name), "default_url", ""))
    import ccxt

    api = getattr(ccxt, name)().urls.get("api")
    stack = [api]
    while stack:  # the first http(s) URL among ccxt's (nested) api URLs
        node = stack.pop(0)
        if isinstance(node, str) and node.startswith("http"):
            parts = node.split("/")
            return "/".join(parts[:3])
        if isinstance(node, dict):
            stack.extend(node.values())
    return ""


def probe_provider(dm: DataManager, name: str, timeout: float = 5.0) -> Check:
    """One HTTP request to the provider's base URL; any answer counts as reachable."""
    import requests

    try:
        url = _base_url(dm, name)
    except Exception as exc:  # an unknown name or a broken config is a finding
        return Check(f"provider:{name}", "fail", f"cannot probe: {exc}")
    if not url:
        return Check(f"provider:{name}", "warn", "no URL known to probe")
    began = time.perf_counter()
    try:
        answer = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        took = (time.perf_counter() - began) * 1000
        reason = type(exc).__name__
        return Check(
            f"provider:{name}",
            "fail",
            f"unreachable at {url} ({reason} after {took:.0f} ms)",
            {"url": url, "reachable": False},
        )
    took = (time.perf_counter() - began) * 1000
    return Check(
        f"provider:{name}",
        "ok",
        f"reachable at {url} in {took:.0f} ms (HTTP {answer.status_code})",
        {"url": url, "reachable": True, "latency_ms": round(took, 1)},
    )


def check_integrity(dm: DataManager, full: bool = False) -> Check:
    """The fast (or, with ``full``, the complete) verify of the cache."""
    cache = dm.cache
    before = len(cache.quarantined())
    problems: list[str] = []
    partitions = 0
    if full:
        damaged = cache.verify()
        problems = [f"{d}" for d in damaged[before:]]
        partitions = sum(len(s.years) for s in cache.series())
    elif hasattr(cache, "quick_check"):  # a database store: metadata against row counts
        problems = cache.quick_check()
        partitions = sum(len(s.years) for s in cache.series())
    else:
        for series in cache.series():
            for year in series.years:
                partitions += 1
                where = f"{series.symbol} {series.timeframe} {year}"
                src = series.source or None
                meta = cache.metadata(series.symbol, series.timeframe, year, source=src)
                path = cache.partition_file(series.symbol, series.timeframe, year, source=src)
                if meta is None or path is None:
                    problems.append(f"{where}: data file missing")
                elif path.stat().st_size != int(meta.get("bytes", -1)):
                    problems.append(f"{where}: data file has the wrong size")
    data = {"partitions": partitions, "damaged": problems, "quarantined": before}
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        hint = "; run 'tradedata cache verify' to quarantine them"
        return Check("cache:integrity", "fail", "; ".join(problems[:3]) + more + hint, data)
    if before:
        return Check(
            "cache:integrity",
            "warn",
            f"{partitions} partitions fine; {before} item(s) in quarantine "
            "(see 'tradedata cache verify')",
            data,
        )
    mode = "full verify" if full else "fast verify"
    return Check("cache:integrity", "ok", f"{partitions} partitions fine ({mode})", data)


def check_disk(dm: DataManager) -> Check:
    """The cache's size against its limit and the disk's free space."""
    info = dm.cache.info()
    if info.get("max_size_bytes") is None:  # a database store: its server owns the disk
        used = int(info["size_bytes"])
        text = f"{human_bytes(used)} in {info.get('location')} (no size limit)"
        return Check("cache:disk", "ok", text, {"used_bytes": used})
    used, limit = int(info["size_bytes"]), int(info["max_size_bytes"])
    free = shutil.disk_usage(dm.cache.directory).free
    data = {"used_bytes": used, "limit_bytes": limit, "free_bytes": free}
    text = (
        f"{human_bytes(used)} of {human_bytes(limit)} limit ({used / limit:.0%}), "
        f"{human_bytes(free)} free on disk"
    )
    if free < MIN_FREE_BYTES:
        return Check("cache:disk", "fail", text + ": the disk is almost full", data)
    if used > 0.9 * limit:
        return Check("cache:disk", "warn", text + ": near the limit (old data gets evicted)", data)
    if free < limit - used:
        return Check("cache:disk", "warn", text + ": the disk fills before the limit", data)
    return Check("cache:disk", "ok", text, data)


def check_freshness(
    dm: DataManager, now: pd.Timestamp | None = None, stale_bars: float = 3.0
) -> list[Check]:
    """The age of the last bar of every cached series against its timeframe."""
    from tradedata.model import parse_timeframe

    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    checks = []
    for s in dm.cache.series():
        tf = parse_timeframe(s.timeframe)
        last = pd.Timestamp(s.last)
        last = last.tz_localize("UTC") if last.tzinfo is None else last
        closes = _calendar(s.symbol) != "24/7"
        allowed = tf.delta * stale_bars + (pd.Timedelta(days=3) if closes else pd.Timedelta(0))
        age = now - tf.next_open(last)  # the last bar closed at its next open
        age_bars = age / tf.delta
        data = {"last_bar": f"{last:%Y-%m-%d %H:%M}", "age_bars": round(float(age_bars), 1)}
        text = f"last bar {last:%Y-%m-%d %H:%M}, {_age(age)} old ({age_bars:,.1f} bars)"
        status = "ok" if age <= allowed else "warn"
        checks.append(Check(f"freshness:{s.symbol} {s.timeframe}", status, text, data))
    return checks


def _calendar(symbol: str) -> str:
    from tradedata.errors import TradeDataError
    from tradedata.symbols import symbol_info

    try:
        return symbol_info(symbol).calendar
    except TradeDataError:
        return "24/7"


def _age(delta: pd.Timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def check_health(
    dm: DataManager,
    providers: list[str] | None = None,
    *,
    network: bool = True,
    full: bool = False,
    timeout: float = 5.0,
    now: pd.Timestamp | None = None,
) -> HealthReport:
    """Run every check (see the module docs); ``network=False`` skips the provider probes."""
    checks: list[Check] = []
    if network:
        names = providers or configured_providers(dm)
        for name in names:
            checks.append(probe_provider(dm, name, timeout))
        if not names:
            checks.append(
                Check(
                    "providers",
                    "warn",
                    "none configured (config 'providers', TRADEDATA_<NAME>_URL or an API key), "
                    "so none probed; name one with --provider NAME",
                )
            )
    checks.append(check_integrity(dm, full=full))
    checks.append(check_disk(dm))
    checks += check_freshness(dm, now=now)
    return HealthReport(checks)
