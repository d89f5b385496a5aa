"""Panels: many symbols at once, aligned on one time index (``DataManager.get_panel``).

::

    close = dm.get_panel(["BTC/USDT", "ETH/USDT"], "1h", "2024-01-01", "2024-03-01")
    ohlcv = dm.get_panel(["BTC/USDT", "ETH/USDT"], "1h", "2024-01-01", "2024-03-01", field=None)
    ohlcv["close"]           # the same frame as ``close`` (columns: symbols)

With one ``field`` the panel's columns are the symbols (the frame per field vectorbt and most
pandas code expect: ``vbt.Portfolio.from_signals(close, ...)``). With ``field=None`` (or
``"ohlcv"``, or a list of fields) the columns are a MultiIndex ``(field, symbol)``, so
``panel["close"]`` is the close panel again.

The index is the union of every symbol's bar times. A symbol without a bar at a time has NaN
there: nothing is filled. What is missing is reported in ``attrs``: ``gaps`` (per symbol, the
missing bars its quality report found, as :class:`~tradedata.validation.Gap` values),
``unfetched`` (per symbol, ranges no provider could deliver), ``errors`` (per symbol that could
not be loaded at all, the reason) and ``quality`` (per symbol, the report).
Missing parts are fetched concurrently, one thread per symbol (at most ``max_workers``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import pandas as pd

from tradedata.errors import InputError, TradeDataError
from tradedata.identity import identify
from tradedata.model import OHLCV_COLUMNS, parse_timeframe


class Source(Protocol):
    """What a panel reads from: :class:`~tradedata.manager.DataManager` (this module does not
    import it: the manager imports this module)."""

    def get_ohlcv(
        self, symbol: str, timeframe: str, start: Any = ..., end: Any = ..., provider: Any = ...
    ) -> pd.DataFrame:
        """OHLCV bars, as ``DataManager.get_ohlcv``."""
        ...


__all__ = ["FIELDS", "get_panel"]

#: The fields a panel can hold.
FIELDS: tuple[str, ...] = OHLCV_COLUMNS


def _symbols(symbols: str | Iterable[str]) -> list[str]:
    raw = symbols.split(",") if isinstance(symbols, str) else list(symbols)
    out: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise InputError(f"symbols must be strings, got {item!r}")
        if item.strip():
            source, bare = identify(item.strip())  # "BYBIT:BTC/USDT" stays a venue's column
            sym = f"{source.upper()}:{bare}" if source else bare
            if sym not in out:
                out.append(sym)
    if not out:
        raise InputError("get_panel needs at least one symbol")
    return out


def _fields(field: str | Sequence[str] | None) -> tuple[list[str], bool]:
    """The fields asked for, and whether the panel is a single-field one."""
    if field is None or field == "ohlcv":
        return list(FIELDS), False
    if isinstance(field, str):
        names, single = [field], True
    else:
        names, single = list(field), False
    unknown = [f for f in names if f not in FIELDS]
    if unknown or not names:
        raise InputError(
            f"unknown field(s) {', '.join(map(repr, unknown)) or '(none)'}; "
            f"use one of {', '.join(FIELDS)}, 'ohlcv' or None"
        )
    return names, single


def get_panel(
    manager: Source,
    symbols: str | Iterable[str],
    timeframe: str,
    start: Any = None,
    end: Any = None,
    field: str | Sequence[str] | None = "close",
    *,
    provider: str | None = None,
    max_workers: int = 4,
) -> pd.DataFrame:
    """See the module docstring (this is :meth:`DataManager.get_panel`)."""
    syms = _symbols(symbols)
    names, single = _fields(field)
    tf = parse_timeframe(timeframe)
    if max_workers < 1:
        raise InputError(f"max_workers must be >= 1, got {max_workers!r}")

    def load(symbol: str) -> pd.DataFrame | TradeDataError:
        try:
            return manager.get_ohlcv(symbol, tf.name, start, end, provider=provider)
        except TradeDataError as exc:
            return exc

    # warnings filters are process-wide: quiet the per-symbol warnings while the threads run
    # and report once below, with every symbol's holes in attrs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ThreadPoolExecutor(min(max_workers, len(syms)), "tradedata-panel") as pool:
            results = dict(zip(syms, pool.map(load, syms), strict=True))
    frames = {s: r for s, r in results.items() if isinstance(r, pd.DataFrame)}
    errors = {s: str(r) for s, r in results.items() if isinstance(r, TradeDataError)}
    if not frames:
        first = next(r for r in results.values() if isinstance(r, TradeDataError))
        raise first
    index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    for frame in frames.values():
        index = index.union(frame.index)
    columns = {
        (name, sym): (
            frames[sym][name].reindex(index) if sym in frames else pd.Series(float("nan"), index)
        )
        for name in names
        for sym in syms
    }
    panel = pd.DataFrame(columns, index=index)
    panel.columns = pd.MultiIndex.from_tuples(list(columns), names=["field", "symbol"])
    if single:
        panel = panel[names[0]]
        panel.columns.name = "symbol"
    panel.index.name = "timestamp"
    unfetched = {s: list(f.attrs.get("unfetched") or []) for s, f in frames.items()}
    panel.attrs.update(
        symbols=syms,
        timeframe=tf.name,
        field=names[0] if single else names,
        quality={s: f.attrs.get("quality") for s, f in frames.items()},
        gaps={s: list(getattr(f.attrs.get("quality"), "gaps", [])) for s, f in frames.items()},
        unfetched=unfetched,
        errors=errors,
    )
    missing = [s for s, holes in unfetched.items() if holes] + list(errors)
    if missing:
        warnings.warn(
            f"panel {tf.name}: incomplete data for {', '.join(missing)} "
            '(see attrs["unfetched"] and attrs["errors"])',
            stacklevel=3,
        )
    return panel
