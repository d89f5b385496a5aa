"""Deterministic bars for any symbol and range, on each market's real trading hours.

Prices are a smooth function of time (a few sinusoids seeded by the symbol) plus per-minute
hash noise, so any bar can be computed on its own, the same in every process. Sessions follow
the exchange's local hours (weekdays, minus 1 January and 25 December), converted to UTC with
the exchange's time zone, so DST switches move the UTC open exactly as on the real market.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd

from tradedata.symbols import AssetClass, symbol_info

__all__ = ["FakeMarket", "Venue", "venue_for"]


@dataclass(frozen=True)
class Venue:
    """Where and when a symbol trades."""

    tz: str
    open: time
    close: time  # time(0) with ``all_day`` means midnight to midnight
    weekdays_only: bool = True
    all_day: bool = False


_HOURS = {
    "XNYS": (time(9, 30), time(16, 0)),
    "XLON": (time(8, 0), time(16, 30)),
    "XETR": (time(9, 0), time(17, 30)),
    "XPAR": (time(9, 0), time(17, 30)),
    "XTKS": (time(9, 0), time(15, 0)),
    "XHKG": (time(9, 30), time(16, 0)),
    "XTSE": (time(9, 30), time(16, 0)),
    "XASX": (time(10, 0), time(16, 0)),
}
_MASK64 = (1 << 64) - 1
#: real splits (ex-date, ratio): AAPL 4-for-1 on 2020-08-31; NVDA 4-for-1 on 2021-07-20 and
#: 10-for-1 on 2024-06-10; TSLA 5-for-1 on 2020-08-31 and 3-for-1 on 2022-08-25 (the companies'
#: announcements; polygon.io/blog "Using the Split API Endpoint to handle the Nvidia Stock
#: Split"). SPLT is a made-up ticker for short tests.
SPLITS: dict[str, list[tuple[str, float]]] = {
    "AAPL": [("2020-08-31", 4.0)],
    "NVDA": [("2021-07-20", 4.0), ("2024-06-10", 10.0)],
    "TSLA": [("2020-08-31", 5.0), ("2022-08-25", 3.0)],
    "SPLT": [("2024-03-11", 2.0)],
}
#: IEX's share of consolidated US volume (a few percent): Alpaca's free ``iex`` feed and
#: Tiingo's ``/iex`` endpoint report IEX-exchange volume only (docs.alpaca.markets "feed: iex
#: ... IEX exchange only"; api.tiingo.com/documentation/iex)
IEX_SHARE = 0.025


def venue_for(symbol: str) -> Venue:
    """The trading hours of ``symbol`` (forex 24/5 and crypto 24/7 in UTC)."""
    info = symbol_info(symbol)
    if info.asset_class is AssetClass.CRYPTO:
        return Venue("UTC", time(0), time(0), weekdays_only=False, all_day=True)
    if info.asset_class is AssetClass.FOREX:
        return Venue("UTC", time(0), time(0), weekdays_only=True, all_day=True)
    start, end = _HOURS.get(info.exchange or "", (time(9, 0), time(17, 0)))
    return Venue(info.timezone, start, end)


def _key(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _uniform(key: int, index: np.ndarray) -> np.ndarray:
    """Uniform (0, 1) floats, a pure function of (key, index)."""
    z = index.astype("int64").view("uint64") * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype("float64") + 0.5) * 2.0**-53


class FakeMarket:
    """Bars, sessions and corporate actions for fake providers."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # -- prices ----------------------------------------------------------------------------
    def base_price(self, symbol: str) -> float:
        """A stable price level for ``symbol``."""
        return 20.0 + _key(self.seed, "base", symbol) % 48_000 / 100.0

    def price(self, symbol: str, seconds: np.ndarray) -> np.ndarray:
        """The price at epoch ``seconds`` (rounded to 4 decimals)."""
        k = _key(self.seed, "phase", symbol)
        phases = [((k >> (8 * i)) & 0xFF) / 255.0 * 2 * np.pi for i in range(4)]
        days = seconds / 86_400.0
        log = (
            0.25 * np.sin(2 * np.pi * days / 365.25 + phases[0])
            + 0.08 * np.sin(2 * np.pi * days / 37.0 + phases[1])
            + 0.02 * np.sin(2 * np.pi * days / 3.3 + phases[2])
            + 0.004 * np.sin(2 * np.pi * seconds / 5_400.0 + phases[3])
        )
        minute = np.floor(seconds / 60.0).astype("int64")
        noise = 0.001 * (_uniform(_key(self.seed, "noise", symbol), minute) - 0.5)
        return np.round(self.base_price(symbol) * np.exp(log + noise), 4)

    def bars(self, symbol: str, opens: pd.DatetimeIndex, closes: pd.DatetimeIndex) -> pd.DataFrame:
        """As-traded OHLCV for bars ``[opens[i], closes[i])`` (index: the opens, UTC).

        :meth:`price` is the price in today's shares; before each split the traded price was
        the ratio times higher (volumes are the shares traded that day, as printed).
        """
        t0 = (opens.asi8 // 10**9).astype("float64")
        t1 = (closes.asi8 // 10**9).astype("float64")
        o = self.price(symbol, t0)
        c = self.price(symbol, t1 - 1.0)
        inner = np.stack([self.price(symbol, t0 + (t1 - t0) * j / 7.0) for j in range(1, 7)])
        key = _key(self.seed, "wick", symbol)
        idx = (t0 // 60).astype("int64")
        top = np.maximum(np.maximum(o, c), inner.max(axis=0) if len(t0) else o)
        bottom = np.minimum(np.minimum(o, c), inner.min(axis=0) if len(t0) else o)
        h = np.round(top * (1 + 0.0005 * _uniform(key, idx)), 4)
        lo = np.round(bottom * (1 - 0.0005 * _uniform(key + 1, idx)), 4)
        minutes = np.maximum(1.0, (t1 - t0) / 60.0)
        vol = np.floor(1_000.0 * (1 + 3 * _uniform(key + 2, idx)) * minutes)
        k = self.split_factor(symbol, self.session_dates(symbol, pd.DatetimeIndex(opens)))
        if (k != 1.0).any():
            o, h, lo, c = (np.round(x * k, 4) for x in (o, h, lo, c))
        frame = pd.DataFrame(
            {"open": o, "high": h, "low": lo, "close": c, "volume": vol},
            index=pd.DatetimeIndex(opens, name="timestamp"),
        )
        return frame

    # -- calendar --------------------------------------------------------------------------
    def sessions(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Sessions overlapping ``[start, end]``: columns ``open``, ``close`` (UTC), by date."""
        venue = venue_for(symbol)
        first = start.tz_convert(venue.tz).tz_localize(None).normalize() - pd.Timedelta(days=1)
        last = end.tz_convert(venue.tz).tz_localize(None).normalize() + pd.Timedelta(days=1)
        days = pd.date_range(first, last, freq="D")
        if venue.weekdays_only:
            days = days[days.weekday < 5]
        if not venue.all_day:
            holiday = ((days.month == 1) & (days.day == 1)) | (
                (days.month == 12) & (days.day == 25)
            )
            days = days[~holiday]
        if venue.all_day:
            opens = days.tz_localize("UTC")
            closes = opens + pd.Timedelta(days=1)
        else:
            opens = (days + _delta(venue.open)).tz_localize(venue.tz).tz_convert("UTC")
            closes = (days + _delta(venue.close)).tz_localize(venue.tz).tz_convert("UTC")
        table = pd.DataFrame({"open": opens, "close": closes}, index=days.tz_localize("UTC"))
        keep = (table["close"] > start) & (table["open"] <= end)
        return table[keep]

    def intraday(
        self,
        symbol: str,
        minutes: int,
        start: pd.Timestamp,
        end: pd.Timestamp,
        *,
        align: str = "session",
    ) -> pd.DataFrame:
        """Bars of ``minutes`` opening in ``[start, end]`` inside sessions.

        ``align="session"`` starts bars at the session open (Yahoo, FMP: 09:30, 10:30 ...);
        ``"clock"`` on the clock grid (Alpaca, Polygon, Tiingo, Alpha Vantage: 09:00, 10:00 ...;
        the first bar may start before the open and holds only the traded part).
        """
        step = pd.Timedelta(minutes=minutes)
        opens_list: list[pd.DatetimeIndex] = []
        closes_list: list[pd.DatetimeIndex] = []
        for s_open, s_close in self.sessions(symbol, start, end).itertuples(index=False):
            first = s_open.floor(step) if align == "clock" else s_open
            opens = pd.date_range(first, s_close - pd.Timedelta(seconds=1), freq=step)
            ends = np.minimum((opens + step).asi8, s_close.value)
            opens_list.append(opens)
            closes_list.append(pd.DatetimeIndex(ends).tz_localize("UTC"))
        if not opens_list:
            return self.bars(symbol, pd.DatetimeIndex([], tz="UTC"), pd.DatetimeIndex([], tz="UTC"))
        opens = opens_list[0].append(opens_list[1:]) if len(opens_list) > 1 else opens_list[0]
        closes = closes_list[0].append(closes_list[1:]) if len(closes_list) > 1 else closes_list[0]
        frame = self.bars(symbol, pd.DatetimeIndex(opens), pd.DatetimeIndex(closes))
        return frame[(frame.index >= start) & (frame.index <= end)]

    def daily(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """One bar per session in ``[start, end]`` (by session date), plus ``session_open``."""
        table = self.sessions(symbol, start, end)
        table = table[(table.index >= start.normalize()) & (table.index <= end)]
        frame = self.bars(symbol, pd.DatetimeIndex(table["open"]), pd.DatetimeIndex(table["close"]))
        frame.index = table.index.rename("timestamp")
        frame["session_open"] = table["open"].to_numpy()
        return frame

    def periods(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp, unit: str
    ) -> pd.DataFrame:
        """Weekly (``"w"``) or monthly (``"M"``) bars aggregated from the daily ones.

        Index: the period start (Monday / first of month); ``first_session`` and
        ``last_session`` give the dates providers label periods with.
        """
        lo = start.normalize() - pd.Timedelta(days=31)
        daily = self.daily(symbol, lo, end + pd.Timedelta(days=31))
        if daily.empty:
            return daily
        if unit == "w":
            keys = daily.index - pd.to_timedelta(daily.index.weekday, unit="D")
        else:
            keys = daily.index - pd.to_timedelta(daily.index.day - 1, unit="D")
        daily = daily.assign(_period=keys, _date=daily.index)
        grouped = daily.groupby("_period")
        out = pd.DataFrame(
            {
                "open": grouped["open"].first(),
                "high": grouped["high"].max(),
                "low": grouped["low"].min(),
                "close": grouped["close"].last(),
                "volume": grouped["volume"].sum(),
                "session_open": grouped["session_open"].first(),
                "first_session": grouped["_date"].first(),
                "last_session": grouped["_date"].last(),
            }
        )
        out.index = pd.DatetimeIndex(out.index, name="timestamp")
        return out[
            (out.index >= start.normalize() - pd.Timedelta(days=6 if unit == "w" else 30))
            & (out.index <= end)
        ]

    # -- corporate actions -----------------------------------------------------------------
    def session_dates(self, symbol: str, opens: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """The local session date (UTC midnight) of bars opening at ``opens``."""
        tz = venue_for(symbol).tz
        return opens.tz_convert(tz).tz_localize(None).normalize().tz_localize("UTC")

    def split_factor(
        self, symbol: str, dates: pd.DatetimeIndex, upto: pd.Timestamp | None = None
    ) -> np.ndarray:
        """For each session date, the product of the ratios of later splits (only those with
        an ex-date by ``upto``, when given)."""
        factor = np.ones(len(dates))
        for day, ratio in SPLITS.get(symbol.upper(), []):
            ex = pd.Timestamp(day, tz="UTC")
            if upto is None or ex <= upto:
                factor[pd.DatetimeIndex(dates).asi8 < ex.value] *= ratio
        return factor

    def on_basis(
        self, symbol: str, frame: pd.DataFrame, dates: pd.DatetimeIndex, now: pd.Timestamp
    ) -> pd.DataFrame:
        """As-traded bars split-adjusted as a provider does it at ``now`` (prices divided and
        volumes multiplied by the splits known by then)."""
        k = self.split_factor(symbol, dates, upto=now)
        if not (k != 1.0).any():
            return frame
        out = frame.copy()
        for col in ("open", "high", "low", "close"):
            out[col] = out[col].to_numpy() / k
        out["volume"] = out["volume"].to_numpy() * k
        return out

    def dividends(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        """Quarterly cash dividends, as paid (ex-dates: first session on/after Feb/May/Aug/Nov
        15; amounts 0.4% of the as-traded price)."""
        if _key(self.seed, "pays", symbol) % 4 == 0:
            return pd.Series(dtype="float64", name="dividends")
        dates, amounts = [], []
        for year in range(start.year, end.year + 1):
            for month in (2, 5, 8, 11):
                day = pd.Timestamp(year=year, month=month, day=15, tz="UTC")
                while day.weekday() >= 5:
                    day += pd.Timedelta(days=1)
                if start.normalize() <= day <= end:
                    price = float(self.price(symbol, np.array([day.value / 1e9]))[0])
                    price *= float(self.split_factor(symbol, pd.DatetimeIndex([day]))[0])
                    dates.append(day)
                    amounts.append(round(price * 0.004, 4))
        return pd.Series(amounts, index=pd.DatetimeIndex(dates, name="timestamp"), name="dividends")

    def splits(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        """Stock splits (ratio > 1 means more shares) from :data:`SPLITS`."""
        table = SPLITS
        rows = [(pd.Timestamp(d, tz="UTC"), r) for d, r in table.get(symbol.upper(), [])]
        rows = [(d, r) for d, r in rows if start.normalize() <= d <= end]
        return pd.Series(
            [r for _, r in rows],
            index=pd.DatetimeIndex([d for d, _ in rows], name="timestamp"),
            name="splits",
            dtype="float64",
        )

    def adjustment(self, symbol: str, dates: pd.DatetimeIndex, now: pd.Timestamp) -> np.ndarray:
        """Dividend adjustment factor for closes on ``dates`` (CRSP method, up to ``now``):
        ``1 - amount / as-traded close of the session before the ex-date`` per later dividend."""
        if len(dates) == 0:
            return np.ones(0)
        divs = self.dividends(symbol, dates.min(), now)
        factor = np.ones(len(dates))
        for ex_date, amount in divs.items():
            prior = self.daily(symbol, ex_date - pd.Timedelta(days=10), ex_date)
            prior = prior[prior.index < ex_date]
            if prior.empty:
                continue
            before = float(prior["close"].iloc[-1])
            factor[dates.asi8 < ex_date.value] *= 1.0 - amount / before
        return factor


def _delta(t: time) -> pd.Timedelta:
    return pd.Timedelta(hours=t.hour, minutes=t.minute)
