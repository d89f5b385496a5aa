"""Open-interest history through ccxt's ``fetch_open_interest_history``, as data and pages.

:data:`OI_TRAITS` has one row per exchange whose open-interest endpoint we have read up on:
the periods it publishes, the records per request, how far back it serves, each row citing
its source. :func:`period_for` picks the period whose records fall on every bar open of a
timeframe; :func:`plan_windows` cuts the bar opens that lack open interest into request
windows that can never be over-full (so which end an over-full answer keeps never matters),
and :func:`parse_records` turns ccxt's open-interest structures into a float Series keyed by
the records' own timestamps (never moved onto another time).

A window is sent as ``since = first - 1 ms`` and ``until = first + limit * period - 1 ms``:
it holds exactly ``limit`` period stamps whether the venue's ends are inclusive or
exclusive (Binance does not document which), so ``limit`` records always fit in one answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tradedata.errors import InvalidResponseError, OpenInterestUnavailableError
from tradedata.model import Timeframe, parse_timeframe

__all__ = [
    "OI_TRAITS",
    "OpenInterestAnswer",
    "OpenInterestTraits",
    "Window",
    "parse_records",
    "period_for",
    "plan_windows",
]

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class OpenInterestTraits:
    """One exchange's open-interest history endpoint.

    ``periods``: the ccxt timeframes it publishes records for; ``max_records`` per request;
    ``history_days``: how far back from now it serves (None: back to the contract's launch);
    ``source``: where this was read. The value kept is the open interest of *one side* (the
    contracts open, as futures exchanges and backtrader's files count it):
    ``single_side_field`` names the raw field holding it, and ``both_sides`` says the
    unified amount counts both sides (halved when the raw field is absent).
    """

    periods: tuple[str, ...]
    max_records: int
    history_days: int | None
    source: str
    single_side_field: str | None = None
    both_sides: bool = False


_BINANCE_OI = OpenInterestTraits(
    periods=("5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"),
    max_records=500,
    history_days=30,
    source=(
        "Binance USDⓈ-M 'Open Interest Statistics' GET /futures/data/openInterestHist "
        "(developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/"
        "Open-Interest-Statistics): period 5m,15m,30m,1h,2h,4h,6h,12h,1d; limit default 30, "
        "max 500; 'Only the data of the latest 30 days is available'; ccxt binance."
        "fetch_open_interest_history (startTime=since, endTime=until; 1m refused); ccxt "
        "issue 23712: an older startTime is refused by Binance"
    ),
)

#: Rows: see each ``source``. Exchanges without a row get OpenInterestUnavailableError.
OI_TRAITS: Mapping[str, OpenInterestTraits] = {
    "binance": _BINANCE_OI,
    "binanceusdm": _BINANCE_OI,
    "binancecoinm": _BINANCE_OI,  # the COIN-M endpoint has the same parameters and depth
    "bybit": OpenInterestTraits(
        periods=("5m", "15m", "30m", "1h", "4h", "1d"),
        max_records=200,
        history_days=None,
        source=(
            "Bybit v5 'Get Open Interest' GET /v5/market/open-interest (bybit-exchange.github.io"
            "/docs/v5/market/open-interest): intervalTime 5min,15min,30min,1h,4h,1d; limit "
            "[1, 200] default 50; 'The upper limit time you can query is the launch time of "
            "the symbol'; rows newest first; ccxt bybit.fetch_derivatives_open_interest_history "
            "(startTime=since, endTime=until; ccxt PR 30016: end-anchored, newest first); "
            "openInterest 'The value is the sum of both sides', singleOpenInterest 'The value "
            "is the single side' (the same docs; both in ccxt issue 30014's recorded row)"
        ),
        single_side_field="singleOpenInterest",
        both_sides=True,
    ),
}


def _fits(period: Timeframe, tf: Timeframe) -> bool:
    """True when every bar open of ``tf`` is a stamp of ``period`` (both epoch-aligned: the
    venues stamp records on period boundaries, e.g. Bybit's docs' 1d rows at 00:00 UTC,
    1780963200000, and Binance's 5m rows at 1583127900000, a multiple of 5 minutes)."""
    if period.is_calendar:
        return False
    if tf.unit in ("w", "M"):  # weeks and months open at 00:00 UTC of a day
        return _DAY_MS % period.milliseconds == 0
    return tf.milliseconds % period.milliseconds == 0


def period_for(exchange_id: str, tf: Timeframe) -> tuple[str, OpenInterestTraits]:
    """The coarsest open-interest period of ``exchange_id`` with a record at every ``tf`` bar
    open, and the exchange's row; raises :class:`OpenInterestUnavailableError` otherwise."""
    traits = OI_TRAITS.get(exchange_id)
    if traits is None:
        known = ", ".join(sorted(OI_TRAITS))
        raise OpenInterestUnavailableError(
            f"tradedata reads no open-interest history from {exchange_id} (it does from: {known})"
        )
    fitting = [p for p in traits.periods if _fits(parse_timeframe(p), tf)]
    if not fitting:
        raise OpenInterestUnavailableError(
            f"{exchange_id} publishes open interest every {', '.join(traits.periods)}: none of "
            f"these lines up with the opens of {tf.name} bars"
        )
    return max(fitting, key=lambda p: parse_timeframe(p).milliseconds), traits


@dataclass
class OpenInterestAnswer:
    """What a provider found for a list of bar opens.

    ``values``: Series ``{bar open: open interest}``, each the record stamped exactly at that
    open; ``missing``: ``(bar open, reason)`` for every open without one; ``requests`` sent.
    """

    values: list[pd.Series] = field(default_factory=list)
    missing: list[tuple[pd.Timestamp, str]] = field(default_factory=list)
    requests: int = 0

    def series(self) -> pd.Series:
        """All ``values`` as one ascending Series (empty when nothing was found)."""
        parts = [v for v in self.values if len(v)]
        if not parts:
            return pd.Series([], index=pd.DatetimeIndex([], tz="UTC", name="timestamp"),
                             dtype="float64", name="open_interest")  # fmt: skip
        return pd.concat(parts).sort_index()


@dataclass(frozen=True)
class Window:
    """One request: the bar opens it is for, and the ``since``/``until`` (epoch ms) sent."""

    opens: tuple[pd.Timestamp, ...]
    since: int
    until: int


def plan_windows(opens: Sequence[pd.Timestamp], period: Timeframe, limit: int) -> list[Window]:
    """Request windows covering ``opens`` (ascending bar opens, each a ``period`` stamp): each
    starts at the first open not yet covered and holds ``limit`` period stamps."""
    out: list[Window] = []
    step = period.milliseconds
    i = 0
    while i < len(opens):
        first = int(opens[i].value // 1_000_000)
        last = first + (limit - 1) * step
        j = i
        while j < len(opens) and opens[j].value // 1_000_000 <= last:
            j += 1
        out.append(Window(tuple(opens[i:j]), first - 1, first + limit * step - 1))
        i = j
    return out


def _value(record: Mapping[str, Any], traits: OpenInterestTraits | None) -> float:
    """One side's open interest in one ccxt structure: the raw ``single_side_field``, else
    ``openInterestAmount`` (base currency or contracts), else ``openInterestValue`` (Bybit's
    inverse contracts, counted in USD), halved where it counts ``both_sides``."""
    info = record.get("info")
    field_name = traits.single_side_field if traits else None
    if field_name and isinstance(info, Mapping) and info.get(field_name) not in (None, ""):
        return float(info[field_name])
    amount = record.get("openInterestAmount")
    raw: Any = record.get("openInterestValue") if amount is None else amount
    value = float(raw)
    return value / 2 if traits is not None and traits.both_sides else value


def parse_records(
    records: Any, exchange: str, traits: OpenInterestTraits | None = None
) -> pd.Series:
    """``{timestamp: open interest of one side}`` of ccxt open-interest structures, ascending
    (``traits``: the exchange's row, which says where one side's figure is).

    Raises :class:`InvalidResponseError` for anything that is not a list of structures with
    an integer timestamp and a finite, non-negative number.
    """
    if not isinstance(records, list):
        raise InvalidResponseError(
            f"{exchange} sent {type(records).__name__} instead of open interest",
            provider=exchange,
        )
    stamps: list[int] = []
    values: list[float] = []
    for record in records:
        try:
            stamp = int(record["timestamp"])
            value = _value(record, traits)
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise InvalidResponseError(
                f"{exchange} sent an open-interest record without a time or a value: {exc}",
                provider=exchange,
            ) from exc
        if not math.isfinite(value) or value < 0:
            raise InvalidResponseError(
                f"{exchange} sent open interest {value!r} at {stamp}", provider=exchange
            )
        stamps.append(stamp)
        values.append(value)
    index = pd.to_datetime(stamps, unit="ms", utc=True).rename("timestamp")
    series = pd.Series(values, index=index, dtype="float64", name="open_interest")
    series = series[~series.index.duplicated(keep="last")]
    return series.sort_index()
