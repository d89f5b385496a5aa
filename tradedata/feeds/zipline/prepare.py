"""Turning tradedata frames into what zipline's bar writers accept, without importing zipline.

* daily bars: one row per session (naive date), missing sessions as NaN rows;
* minute bars: labelled by bar *end* (the kline opening at ``t`` is zipline's minute ``t+1m``);
* precision: zipline stores prices as ``uint32`` multiples of ``1/ratio`` (ratio 1000 for daily
  bars, per asset for minute bars) and volumes as ``uint32`` whole units. :func:`price_problem`
  says why a ratio cannot hold a series, :func:`choose_ratio` picks the smallest that can;
* splits: Yahoo's OHLCV and dividends are split-adjusted; :func:`split_factors` turns them back
  into as-traded values so zipline's own split adjustment does not apply twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tradedata.errors import DataValidationError

__all__ = [
    "DAILY_RATIO",
    "MINUTE_RATIOS",
    "PRICE_COLUMNS",
    "PRICE_TOLERANCE",
    "UINT32_MAX",
    "PrecisionError",
    "align_daily",
    "choose_ratio",
    "dividend_rows",
    "naive_dates",
    "price_problem",
    "resample_sessions",
    "round_volume",
    "rounding_error",
    "split_factors",
    "split_rows",
    "suggest_scale",
    "volume_problem",
]

UINT32_MAX = int(np.iinfo(np.uint32).max)
#: zipline's fixed price ratio for daily bars (3 decimals).
DAILY_RATIO = 1000
#: Ratios tried, in order, for an asset's minute bars.
MINUTE_RATIOS: tuple[int, ...] = tuple(10**k for k in range(3, 13))
#: Largest relative error a stored price may carry (float32 noise in provider data passes).
PRICE_TOLERANCE = 1e-6
PRICE_COLUMNS = ("open", "high", "low", "close")
_SCALES = sorted((10.0**k for k in range(-6, 13)), key=lambda k: abs(np.log10(k)))


class PrecisionError(DataValidationError):
    """Prices or volumes zipline's ``uint32`` columns cannot hold without changing them."""


def _prices(frame: pd.DataFrame) -> np.ndarray:
    values = frame[list(PRICE_COLUMNS)].to_numpy(dtype="float64").ravel()
    return values[np.isfinite(values)]


def price_problem(
    frame: pd.DataFrame, ratio: int, tolerance: float = PRICE_TOLERANCE
) -> str | None:
    """Why prices stored as multiples of ``1/ratio`` would be wrong; ``None`` when they fit."""
    prices = _prices(frame)
    if prices.size == 0:
        return None
    if (prices < 0).any():
        return f"negative price {prices.min():g}"
    prices = prices[prices > 0]
    if prices.size == 0:
        return None
    scaled = prices * ratio
    top = scaled.max()
    if top >= UINT32_MAX:
        return f"price {prices.max():g} overflows uint32 at {ratio} units per price unit"
    stored = np.round(scaled)
    if (stored == 0).any():
        return f"price {prices[stored == 0].min():g} would be stored as 0 (read back as NaN)"
    error = np.abs(stored - scaled) / scaled
    worst = int(np.argmax(error))
    if error[worst] > tolerance:
        return (
            f"price {prices[worst]:.10g} would be stored as {stored[worst] / ratio:.10g} "
            f"({error[worst]:.2e} relative error)"
        )
    return None


def rounding_error(frame: pd.DataFrame, ratio: int) -> float:
    """The largest relative change storing the positive prices of ``frame`` at ``ratio`` makes."""
    prices = _prices(frame)
    prices = prices[prices > 0]
    if prices.size == 0:
        return 0.0
    scaled = prices * ratio
    return float((np.abs(np.round(scaled) - scaled) / scaled).max())


def choose_ratio(
    frame: pd.DataFrame,
    ratios: Sequence[int] = MINUTE_RATIOS,
    tolerance: float = PRICE_TOLERANCE,
) -> int | None:
    """The smallest ratio in ``ratios`` that holds every price of ``frame``, or ``None``."""
    for ratio in ratios:
        if price_problem(frame, ratio, tolerance) is None:
            return ratio
    return None


def round_volume(volume: pd.Series) -> tuple[pd.Series, int]:
    """Volumes rounded to whole units, and how many traded bars (volume > 0) became 0."""
    rounded = volume.round()
    lost = int(((volume > 0) & (rounded == 0)).sum())
    return rounded, lost


def volume_problem(frame: pd.DataFrame) -> str | None:
    """Why the volumes of ``frame`` do not fit zipline's ``uint32``; ``None`` when they do."""
    volume = frame["volume"].to_numpy(dtype="float64")
    volume = volume[np.isfinite(volume)]
    if volume.size == 0:
        return None
    if (volume < 0).any():
        return f"negative volume {volume.min():g}"
    if np.round(volume.max()) >= UINT32_MAX:
        return f"volume {volume.max():.6g} overflows uint32 (max {UINT32_MAX})"
    return None


def suggest_scale(frame: pd.DataFrame, ratio: int, tolerance: float = PRICE_TOLERANCE) -> float:
    """A power of ten ``k`` such that prices x k and volumes / k fit (1.0 when none does)."""
    for k in _SCALES:
        scaled = frame.assign(
            **{c: frame[c] * k for c in PRICE_COLUMNS}, volume=frame["volume"] / k
        )
        if price_problem(scaled, ratio, tolerance) is None and volume_problem(scaled) is None:
            return k
    return 1.0


def naive_dates(index: pd.Index) -> pd.DatetimeIndex:
    """Naive midnight dates of a DatetimeIndex (UTC dates when tz-aware)."""
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.normalize()


def align_daily(
    frame: pd.DataFrame, dates: pd.DatetimeIndex, sessions: pd.DatetimeIndex
) -> tuple[pd.DataFrame, int, int]:
    """Daily bars reindexed on ``sessions`` from the first to the last session with data.

    ``dates`` is the session date (naive) of each row of ``frame``. Rows whose date is not one
    of ``sessions`` are dropped; missing sessions become NaN rows (zipline reads them as no
    data). Returns ``(bars, dropped_off_calendar, missing_sessions)``.
    """
    cols = ["open", "high", "low", "close", "volume"]
    data = frame[cols].set_axis(pd.DatetimeIndex(dates), axis=0)
    data = data[~data.index.duplicated(keep="last")]
    on_calendar = data.index.isin(sessions)
    dropped = int((~on_calendar).sum())
    data = data[on_calendar]
    if data.empty:
        return data, dropped, 0
    span = sessions[(sessions >= data.index[0]) & (sessions <= data.index[-1])]
    bars = data.reindex(span)
    missing = int(bars["close"].isna().sum() - data["close"].isna().sum())
    return bars, dropped, missing


def resample_sessions(minutes: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily bars from minute bars; ``sessions`` is the (naive) session of each minute row."""
    grouped = minutes.groupby(pd.DatetimeIndex(sessions), sort=True)
    out = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum(min_count=1),
        }
    )
    out.index.name = None
    return out


def split_factors(dates: pd.DatetimeIndex, splits: pd.Series) -> np.ndarray:
    """For each date, the product of the split ratios effective *after* it.

    Multiply split-adjusted prices by it (and divide volumes, dividends are multiplied) to get
    as-traded values. ``splits`` maps naive effective dates to ratios (2.0 for a 2-for-1).
    """
    if splits.empty:
        return np.ones(len(dates))
    ordered = splits.sort_index()
    ratios = ordered.to_numpy(dtype="float64")
    suffix = np.append(np.cumprod(ratios[::-1])[::-1], 1.0)
    pos = np.searchsorted(ordered.index.to_numpy(), pd.DatetimeIndex(dates).to_numpy(), "right")
    return suffix[pos]


def split_rows(sid: int, splits: pd.Series) -> pd.DataFrame:
    """zipline's ``splits`` rows for one asset (``ratio`` = 1 / split ratio)."""
    return pd.DataFrame(
        {
            "sid": np.full(len(splits), sid, dtype="int64"),
            "ratio": 1.0 / splits.to_numpy(dtype="float64"),
            "effective_date": pd.DatetimeIndex(splits.index).astype("datetime64[ns]"),
        }
    )


def dividend_rows(sid: int, dividends: pd.Series) -> pd.DataFrame:
    """zipline's ``dividends`` rows for one asset: cash per share, paid on the ex-date.

    Only ex-dates are known, so the declared, record and pay dates are set to the ex-date
    (zipline credits the cash on the pay date; ``NaT`` would never pay it).
    """
    ex = pd.DatetimeIndex(dividends.index).astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "sid": np.full(len(dividends), sid, dtype="int64"),
            "amount": dividends.to_numpy(dtype="float64"),
            "ex_date": ex,
            "record_date": ex,
            "declared_date": ex,
            "pay_date": ex,
        }
    )
