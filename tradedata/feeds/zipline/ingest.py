"""The ingest function behind :func:`tradedata.feeds.zipline.register_bundle`.

For each symbol the bars come from the :class:`~tradedata.manager.DataManager` (cache first,
missing parts fetched unless ``provider="cache"``), are put on the bundle's calendar (daily bars
one per session, NaN rows for missing sessions; minute bars labelled by bar end), checked for
what zipline's ``uint32`` columns can hold, and written: daily bars, minute bars (with a price
ratio per asset), splits and dividends, and the asset database with stable sids.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tradedata.calendars import resolve_calendar
from tradedata.errors import DataValidationError, TradeDataError
from tradedata.feeds.zipline.assets import NO_COUNTRY, AssetRow
from tradedata.feeds.zipline.calendar import (
    CRYPTO_CALENDAR,
    FOREX_CALENDAR,
    get_zipline_calendar,
)
from tradedata.feeds.zipline.prepare import (
    DAILY_RATIO,
    MINUTE_RATIOS,
    PRICE_COLUMNS,
    PRICE_TOLERANCE,
    PrecisionError,
    align_daily,
    choose_ratio,
    price_problem,
    resample_sessions,
    round_volume,
    rounding_error,
    split_factors,
    suggest_scale,
    volume_problem,
)
from tradedata.feeds.zipline.report import AssetReport, gap_rows
from tradedata.identity import split_source
from tradedata.model import OHLCV_COLUMNS
from tradedata.symbols import AssetClass, symbol_info

__all__ = ["BundleSpec", "CorporateActions", "IngestRun", "PreparedAsset"]

#: ``(symbol, start, end) -> (splits, dividends)``, both Series indexed by ex-date.
CorporateActions = Callable[[str, pd.Timestamp, pd.Timestamp], tuple[pd.Series, pd.Series]]

_MINUTE = pd.Timedelta(minutes=1)
_TD_NAMES = {CRYPTO_CALENDAR: "24/7", FOREX_CALENDAR: "24/5"}


@dataclass(frozen=True)
class BundleSpec:
    """A registered tradedata bundle: what to ingest and how."""

    name: str
    symbols: tuple[str, ...]
    timeframe: str  # "1d" or "1m"
    calendar: str  # zipline calendar name
    start: pd.Timestamp  # first session (naive)
    end: pd.Timestamp  # last session (naive)
    minutes_per_day: int
    provider: str | None = None
    cache_dir: str | None = None
    manager: Any = field(default=None, compare=False, repr=False)
    corporate_actions: CorporateActions | None = field(default=None, compare=False, repr=False)
    price_scale: Mapping[str, float] = field(default_factory=dict)
    split_adjusted: bool = True
    price_tolerance: float = PRICE_TOLERANCE
    exchange: str | None = None

    @property
    def minute(self) -> bool:
        """True for minute bundles."""
        return self.timeframe == "1m"

    def trading_calendar(self) -> Any:
        """The zipline calendar to pass as ``run_algorithm(trading_calendar=...)``."""
        return get_zipline_calendar(self.calendar)


def _round_up(value: float) -> float:
    """``value`` rounded up to one significant digit (2.3e-06 -> 3e-06)."""
    exponent = np.floor(np.log10(value))
    return float(np.ceil(value / 10**exponent) * 10**exponent)


@dataclass
class PreparedAsset:
    report: AssetReport
    row: AssetRow
    daily: pd.DataFrame
    minutes: pd.DataFrame | None = None
    splits: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    dividends: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))


def _action_series(series: Any, td_calendar: Any) -> pd.Series:
    """Corporate actions re-indexed by naive session date, zeros and NaN dropped."""
    s = pd.Series(series, dtype="float64").dropna()
    s = s[s > 0]
    if s.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([]))
    idx = pd.DatetimeIndex(s.index)
    if idx.tz is None:
        dates = idx.normalize()
    else:
        days = td_calendar.session_dates_of(idx.tz_convert("UTC").asi8)
        dates = pd.DatetimeIndex(pd.to_datetime(days, unit="ns"))
    return pd.Series(s.to_numpy(), index=dates).sort_index()


def _is_crypto(symbol: str) -> bool:
    return symbol_info(symbol).asset_class is AssetClass.CRYPTO


class IngestRun:
    """One ingest run: the spec plus what zipline hands the ingest function."""

    def __init__(self, spec: BundleSpec, calendar: Any, start: Any, end: Any) -> None:
        self.spec = spec
        self.calendar = calendar
        self.start = pd.Timestamp(start).tz_localize(None).normalize()
        self.end = pd.Timestamp(end).tz_localize(None).normalize()
        self.sessions = calendar.sessions_in_range(self.start, self.end)
        self.td_calendar = resolve_calendar(_TD_NAMES.get(spec.calendar, spec.calendar))
        self.minutes: pd.DatetimeIndex | None = None
        if spec.minute:
            self.minutes = calendar.minutes_in_range(
                calendar.session_first_minute(self.start), calendar.session_last_minute(self.end)
            )

    # -- reading ---------------------------------------------------------------------------
    def request_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Bar opens to ask the data manager for (inclusive)."""
        if self.spec.minute:
            first = self.calendar.session_first_minute(self.start) - _MINUTE
            last = self.calendar.session_last_minute(self.end) - _MINUTE
            return first, last
        return self.start.tz_localize("UTC"), self.end.tz_localize("UTC")

    def load(self, dm: Any, symbol: str) -> tuple[pd.DataFrame, list[str]]:
        """The bars of ``symbol`` (maybe venue-prefixed) from its source's series."""
        first, last = self.request_range()
        venue, bare = split_source(symbol)
        named: dict[str, Any] = {}
        if venue is None and self.spec.exchange and _is_crypto(bare):
            named["exchange"] = self.spec.exchange.lower()  # the crypto venue to read
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # as traded: zipline applies the splits and dividends written next to the bars
            frame = dm.get_ohlcv(
                symbol,
                self.spec.timeframe,
                first,
                last,
                self.spec.provider,
                adjust="raw",
                **named,
            )
        return frame, [str(w.message) for w in caught]

    def actions(self, dm: Any, symbol: str, report: AssetReport) -> tuple[pd.Series, pd.Series]:
        """Splits and dividends of an equity (empty for crypto and forex)."""
        empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([]))
        symbol = split_source(symbol)[1]
        info = symbol_info(symbol)
        if info.asset_class in (AssetClass.CRYPTO, AssetClass.FOREX):
            return empty, empty
        fetch = self.spec.corporate_actions
        if fetch is None:  # the cache's record: bars are as traded, dividends as paid
            return self.stored_actions(dm, symbol, report)
        # Yahoo adjusts for every split up to now, so ask up to now, not up to the bundle's end.
        try:
            splits, dividends = fetch(
                symbol, self.start.tz_localize("UTC"), pd.Timestamp.now(tz="UTC")
            )
        except TradeDataError as exc:
            report.notes.append(f"no corporate actions: {exc}")
            return empty, empty
        return _action_series(splits, self.td_calendar), _action_series(dividends, self.td_calendar)

    def stored_actions(
        self, dm: Any, symbol: str, report: AssetReport
    ) -> tuple[pd.Series, pd.Series]:
        """Splits and dividends from the cache's corporate-actions record (refreshed first
        unless the bundle reads the cache only)."""
        empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([]))
        if self.spec.provider == "cache":
            record = dm.cache.get_actions(symbol)
        else:
            record = dm.adjuster.actions(symbol, self.start.tz_localize("UTC"))[0]
        if record is None:
            report.notes.append("no corporate actions recorded: no splits or dividends written")
            return empty, empty
        splits = _action_series(record.splits, self.td_calendar)
        return splits, _action_series(record.dividends, self.td_calendar)

    # -- preparing -------------------------------------------------------------------------
    def prepare(self, dm: Any, symbol: str, sid: int) -> PreparedAsset:
        frame, notes = self.load(dm, symbol)
        report = AssetReport(symbol=symbol, sid=sid, bars=len(frame), notes=notes)
        quality = frame.attrs.get("quality")
        if quality is not None:
            report.score = quality.score
            report.gaps = gap_rows(quality.gaps)
        if frame.empty:
            first, last = self.request_range()
            raise DataValidationError(
                f"{symbol}: no {self.spec.timeframe} bars between {first} and {last}"
            )
        bars = frame[list(OHLCV_COLUMNS)].copy()
        negative = bars.columns[(bars < 0).any()].tolist()
        if negative:
            raise DataValidationError(
                f"{symbol}: negative {' and '.join(negative)} values: zipline cannot store them "
                "(tradedata.repair() drops such bars)"
            )
        splits, dividends = self.actions(dm, symbol, report)
        adjusted_input = self.spec.split_adjusted and self.spec.corporate_actions is not None
        if adjusted_input and len(splits):
            dates = pd.DatetimeIndex(
                pd.to_datetime(self.td_calendar.session_dates_of(bars.index.asi8), unit="ns")
            )
            factor = split_factors(dates, splits)
            bars[list(PRICE_COLUMNS)] = bars[list(PRICE_COLUMNS)].mul(factor, axis=0)
            bars["volume"] = bars["volume"] / factor
            dividends = dividends * split_factors(pd.DatetimeIndex(dividends.index), splits)
        scales = self.spec.price_scale
        scale = scales.get(symbol, scales.get(split_source(symbol)[1]))
        if scale:
            bars[list(PRICE_COLUMNS)] *= scale
            bars["volume"] /= scale
            dividends = dividends * scale
        if self.spec.minute:
            daily, minutes = self.minute_bars(symbol, bars, report)
        else:
            daily, minutes = self.daily_bars(symbol, bars, report), None
        report.sessions = len(daily)
        report.start, report.end = f"{daily.index[0]:%Y-%m-%d}", f"{daily.index[-1]:%Y-%m-%d}"
        report.splits, report.dividends = len(self.in_range(splits)), len(self.in_range(dividends))
        return PreparedAsset(
            report, self.asset_row(symbol, sid, daily), daily, minutes, splits, dividends
        )

    def daily_bars(self, symbol: str, bars: pd.DataFrame, report: AssetReport) -> pd.DataFrame:
        dates = pd.DatetimeIndex(
            pd.to_datetime(self.td_calendar.session_dates_of(bars.index.asi8), unit="ns")
        )
        daily, report.off_calendar, report.missing_sessions = align_daily(
            bars, dates, self.sessions
        )
        if daily.empty:
            raise DataValidationError(
                f"{symbol}: no daily bar falls on a {self.spec.calendar} session"
            )
        problem = price_problem(daily, DAILY_RATIO, self.spec.price_tolerance)
        problem = problem or volume_problem(daily)
        if problem:
            raise PrecisionError(self.precision_message(symbol, daily, problem, DAILY_RATIO))
        daily["volume"], report.volume_rounded_to_zero = round_volume(daily["volume"])
        report.written = int(daily["close"].notna().sum())
        return daily

    def minute_bars(
        self, symbol: str, bars: pd.DataFrame, report: AssetReport
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        assert self.minutes is not None
        labels = bars.index + _MINUTE  # zipline labels a minute bar by its end
        on = labels.isin(self.minutes)
        report.off_calendar = int((~on).sum())
        minutes = bars[on].set_axis(labels[on], axis=0)
        if minutes.empty:
            raise DataValidationError(
                f"{symbol}: no minute bar falls in a {self.spec.calendar} session"
            )
        problem = volume_problem(minutes)
        ratio = choose_ratio(minutes, MINUTE_RATIOS, self.spec.price_tolerance)
        if problem is None and ratio is None:
            problem = price_problem(minutes, MINUTE_RATIOS[-1], self.spec.price_tolerance)
        if problem or ratio is None:
            raise PrecisionError(
                self.precision_message(symbol, minutes, problem or "", DAILY_RATIO)
            )
        report.price_ratio = ratio
        if ratio > DAILY_RATIO:
            scale = suggest_scale(minutes, DAILY_RATIO, self.spec.price_tolerance)
            report.notes.append(
                f"prices need {ratio} units per price unit: data.current and fills are exact, "
                "but zipline rounds data.history of equities to 3 decimals "
                f"(price_scale={{{symbol!r}: {scale:g}}} keeps history exact too)"
            )
        minutes["volume"], report.volume_rounded_to_zero = round_volume(minutes["volume"])
        report.written = len(minutes)
        raw = resample_sessions(minutes, self.calendar.minutes_to_sessions(minutes.index))
        daily, _, report.missing_sessions = align_daily(
            raw, pd.DatetimeIndex(raw.index), self.sessions
        )
        problem = price_problem(daily, DAILY_RATIO, self.spec.price_tolerance)
        problem = problem or volume_problem(daily)
        if problem:
            report.daily_omitted = (
                f"{problem} at zipline's fixed daily ratio {DAILY_RATIO} (minute bars are exact); "
                f"to get daily bars: {self.fixes(symbol, daily, DAILY_RATIO)}"
            )
            daily.loc[:, :] = np.nan
        return daily, minutes

    def fixes(self, symbol: str, bars: pd.DataFrame, ratio: int) -> str:
        """What the user can do about prices or volumes that ``ratio`` cannot hold."""
        scale = suggest_scale(bars, ratio, self.spec.price_tolerance)
        base = symbol.split("/")[0]
        fix = (
            f"register the bundle with price_scale={{{symbol!r}: {scale:g}}} "
            f"(one zipline share = {scale:g} {base}: prices x {scale:g}, volumes / {scale:g})"
        )
        if not self.spec.minute:
            fix += ", or use timeframe='1m' (minute bars get a finer price ratio per asset)"
        error = rounding_error(bars, ratio)
        if self.spec.price_tolerance < error < 1e-3:
            fix += f", or accept the rounding with price_tolerance={_round_up(error):g}"
        return fix

    def precision_message(self, symbol: str, bars: pd.DataFrame, problem: str, ratio: int) -> str:
        return (
            f"{symbol}: {problem}; zipline stores prices as uint32 multiples of 1/{ratio} and "
            f"volumes as uint32 whole units, so nothing was written. "
            f"Fix: {self.fixes(symbol, bars, ratio)}"
        )

    def in_range(self, actions: pd.Series) -> pd.Series:
        """Actions effective after the first session and by the last, moved onto sessions."""
        kept = actions[(actions.index > self.start) & (actions.index <= self.end)]
        if kept.empty:
            return kept
        dates = [self.calendar.date_to_session(d, direction="next") for d in kept.index]
        moved = pd.Series(kept.to_numpy(), index=pd.DatetimeIndex(dates))
        return moved[moved.index <= self.end]

    def asset_row(self, symbol: str, sid: int, daily: pd.DataFrame) -> AssetRow:
        """The asset's row: a venue-prefixed symbol keeps its spelling and names its exchange."""
        venue, bare = split_source(symbol)
        info = symbol_info(bare)
        end = pd.Timestamp(daily.index[-1])
        if end < self.calendar.last_session:
            auto_close = pd.Timestamp(self.calendar.next_session(end))
        else:
            auto_close = end + pd.Timedelta(days=1)
        exchange = info.exchange if venue is None else venue.upper()
        if exchange is None:
            fallback = "FOREX" if info.asset_class is AssetClass.FOREX else "CRYPTO"
            named = self.spec.provider not in (None, "cache")
            exchange = self.spec.exchange or (
                str(self.spec.provider).upper() if named else fallback
            )
        return AssetRow(
            sid=sid,
            symbol=symbol,
            exchange=exchange,
            country=info.country or NO_COUNTRY,
            start=pd.Timestamp(daily.index[0]),
            end=end,
            auto_close=auto_close,
        )
