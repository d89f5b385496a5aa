"""zipline-reloaded bundles from tradedata: cached, validated bars for ``zipline ingest``.

Register a bundle in ``~/.zipline/extension.py`` (or ``$ZIPLINE_ROOT/extension.py``)::

    from tradedata.feeds.zipline import register_bundle

    register_bundle("crypto-1m", symbols=["BTC/USDT", "ETH/USDT"], timeframe="1m",
                    provider="binance", start="2024-01-01", end="2024-03-31")

then ingest and run as usual; pass the bundle's calendar (crypto and forex bundles use
tradedata's own, see below)::

    zipline ingest -b crypto-1m
    zipline run -f algo.py -b crypto-1m --trading-calendar TRADEDATA-24/7 \\
        -s 2024-01-02 -e 2024-03-31 --data-frequency minute --no-benchmark

In Python, zipline does not read extension.py: call :func:`register_bundle` in the session
(it also registers the calendars), then :func:`run_algorithm` here is zipline's with
``trading_calendar`` taken from the bundle (or pass ``trading_calendar=bundle_calendar(...)``
to zipline's own; without it zipline uses ``XNYS`` and skips weekends).
``tradedata zipline register ...`` writes the extension block for you and
``tradedata zipline ingest ...`` registers and ingests in one go.

What the bundle does:

* **Calendars.** Crypto uses ``TRADEDATA-24/7`` and forex ``TRADEDATA-24/5``: exchange-calendars'
  ``24/7`` makes daily-mode zipline read the previous session's close (see
  :mod:`tradedata.feeds.zipline.calendar`). Equities use their exchange's calendar (``XNYS``
  for US tickers, by suffix for others: ``VOD.L`` -> ``XLON``). One calendar per bundle;
  ``calendar=`` overrides it.
* **Labels.** Sessions are naive dates; a minute bar is labelled by its end (the kline opening
  at 12:00 is zipline's 12:01). Missing sessions are written as NaN rows; gaps are logged and
  listed in the ingest report (:func:`last_ingest_report`, ``tradedata_ingest.json`` in the
  ingestion folder). Minute bundles also get daily bars, aggregated over each session.
* **Precision.** zipline stores prices as ``uint32`` multiples of 1/1000 for daily bars and of
  1/ratio (chosen per asset, 10**3 to 10**12) for minute bars, and volumes as ``uint32`` whole
  units. A series that would be stored wrong (a price such as 0.00001234, a volume over
  4.29e9) is refused with a :class:`~tradedata.feeds.zipline.prepare.PrecisionError` that
  names the asset and the fix: ``price_scale={"PEPE/USDT": 1e6}`` makes one zipline share a
  million PEPE (prices x 1e6, volumes / 1e6); ``price_tolerance`` (default 1e-6, relative)
  accepts small rounding knowingly. In a minute bundle whose minute bars fit but whose daily
  bars do not, the daily bars are written empty (NaN) and the report says why. Note that
  zipline rounds ``data.history`` of equities to 3 decimals whatever the stored ratio:
  ``data.current`` and fills use the exact minute prices.
* **Assets.** Sids are stable across re-ingests (remembered in the tradedata cache directory);
  the exchanges table carries country codes (``XX`` for crypto); ``auto_close_date`` is the
  session after the last bar.
* **Equities.** The cache keeps bars as traded plus each symbol's splits and dividends
  (:mod:`tradedata.actions`), whatever provider filled it; the bundle writes those bars and
  the record's splits and dividends through zipline's adjustment writer, so ``data.history``
  returns the adjusted history (``get_ohlcv(..., adjust="all")``). ``corporate_actions=``
  replaces the record as the source of splits and dividends; with it, ``split_adjusted=True``
  (the default) says the cached bars and dividends are split-adjusted (e.g. imported Yahoo
  files) and turns them back into as-traded values first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.errors import ConfigurationError, InputError, InvalidTimeframeError
from tradedata.feeds.zipline.bundle import INGEST_MARK, make_ingest
from tradedata.feeds.zipline.calendar import (
    get_zipline_calendar,
    minutes_per_day,
    session_range,
    zipline_calendar_name,
)
from tradedata.feeds.zipline.ingest import BundleSpec, CorporateActions
from tradedata.feeds.zipline.prepare import PRICE_TOLERANCE
from tradedata.identity import normalize_source, split_source
from tradedata.model import parse_timeframe
from tradedata.symbols import normalize_symbol, symbol_info

if TYPE_CHECKING:
    from tradedata.manager import DataManager

__all__ = ["bundle_calendar", "bundle_spec", "register_bundle", "run_algorithm"]

_TIMEFRAMES = ("1d", "1m")


def _bundles() -> Any:
    """``zipline.data.bundles``, or a ConfigurationError saying how to install zipline."""
    try:
        from zipline.data import bundles
    except ImportError as exc:
        raise ConfigurationError(
            "zipline bundles need zipline-reloaded: pip install zipline-reloaded"
        ) from exc
    return bundles


def _spelled(symbol: str, exchange: str | None) -> str:
    """``"bybit:btcusdt"`` -> ``"BYBIT:BTC/USDT"``, ``"btcusdt"`` -> ``"BTC/USDT"``."""
    venue, bare = split_source(symbol)
    if venue is not None and exchange and normalize_source(exchange) != venue:
        raise InputError(f"{symbol!r} names venue {venue!r} but exchange={exchange!r}")
    bare = normalize_symbol(bare)
    return bare if venue is None else f"{venue.upper()}:{bare}"


def _symbols(symbols: Sequence[str] | str, exchange: str | None = None) -> tuple[str, ...]:
    items = [symbols] if isinstance(symbols, str) else list(symbols)
    out = tuple(dict.fromkeys(_spelled(s, exchange) for s in items))
    if not out:
        raise InputError("a bundle needs at least one symbol")
    return out


def _calendar(symbols: tuple[str, ...], calendar: str | None) -> str:
    if calendar is not None:
        return zipline_calendar_name(calendar)
    names = {
        sym: zipline_calendar_name(symbol_info(split_source(sym)[1]).calendar) for sym in symbols
    }
    if len(set(names.values())) > 1:
        listed = ", ".join(f"{sym}: {cal}" for sym, cal in names.items())
        raise InputError(
            f"symbols trade on different calendars ({listed}): make one bundle per calendar "
            "or pass calendar="
        )
    return next(iter(names.values()))


def _scales(price_scale: Mapping[str, float] | None) -> dict[str, float]:
    out = {}
    for sym, k in (price_scale or {}).items():
        if not isinstance(k, (int, float)) or not k > 0:
            raise InputError(f"price_scale for {sym} must be a positive number, got {k!r}")
        out[_spelled(sym, None)] = float(k)
    return out


def register_bundle(
    name: str,
    symbols: Sequence[str] | str,
    timeframe: str = "1d",
    provider: str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    calendar: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    manager: DataManager | None = None,
    corporate_actions: CorporateActions | None = None,
    price_scale: Mapping[str, float] | None = None,
    split_adjusted: bool = True,
    price_tolerance: float = PRICE_TOLERANCE,
    exchange: str | None = None,
) -> BundleSpec:
    """Register zipline bundle ``name`` holding ``symbols`` at ``timeframe`` (``1d`` or ``1m``).

    ``start``/``end`` are session dates (inclusive; ``end`` defaults to yesterday, UTC).
    Bars come from the data manager (``manager``, or one over ``cache_dir``): cached bars
    first, missing ones fetched from ``provider`` (or the configured providers; ``"cache"``
    never fetches). ``calendar`` overrides the symbols' calendar (``"24/7"``, ``"XNYS"`` ...);
    ``corporate_actions(symbol, start, end) -> (splits, dividends)`` replaces the cache's
    corporate-actions record as the source of equity splits and dividends; ``price_scale``
    maps a symbol to how many units one zipline share holds; ``split_adjusted`` (with
    ``corporate_actions=`` only) says the cached bars (and dividends) are split-adjusted, as
    Yahoo's files are; ``price_tolerance`` is the largest relative rounding error a stored
    price may carry. Crypto series are per venue (:mod:`tradedata.identity`):
    ``exchange="bybit"`` reads every crypto symbol from that venue's series and names it as the
    assets' exchange in the asset database (default: the provider); a venue-prefixed symbol
    (``"BYBIT:BTC/USDT"``) reads that venue's series and becomes an asset of that spelling on
    exchange ``BYBIT``, so one bundle may hold the same pair from two venues
    (``symbol("BINANCE:BTC/USDT")``, ``symbol("BYBIT:BTC/USDT")``). Validates everything it
    can now (raising :class:`~tradedata.errors.InputError`) and returns the
    :class:`BundleSpec`; the data is read at ingest time. Registering a name again replaces
    the tradedata bundle of that name.
    """
    bundles = _bundles()
    if not isinstance(name, str) or not name.strip():
        raise InputError("bundle name must be a non-empty string")
    tf = parse_timeframe(timeframe).name
    if tf not in _TIMEFRAMES:
        raise InvalidTimeframeError(f"zipline bundles hold 1d or 1m bars, not {tf}")
    if start is None:
        raise InputError("register_bundle needs start (the first session, e.g. '2024-01-01')")
    if not price_tolerance > 0:
        raise InputError(f"price_tolerance must be positive, got {price_tolerance!r}")
    syms = _symbols(symbols, exchange)
    zcal = _calendar(syms, calendar)
    if end is None:
        end = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=1)
    first, last = session_range(zcal, start, end)
    spec = BundleSpec(
        name=name,
        symbols=syms,
        timeframe=tf,
        calendar=zcal,
        start=first,
        end=last,
        minutes_per_day=minutes_per_day(zcal),
        provider=provider,
        cache_dir=None if cache_dir is None else os.fspath(cache_dir),
        manager=manager,
        corporate_actions=corporate_actions,
        price_scale=_scales(price_scale),
        split_adjusted=split_adjusted,
        price_tolerance=float(price_tolerance),
        exchange=exchange,
    )
    existing = bundles.bundles.get(name)
    if existing is not None and hasattr(existing.ingest, INGEST_MARK):
        bundles.unregister(name)
    bundles.register(
        name,
        make_ingest(spec),
        calendar_name=zcal,
        start_session=first,
        end_session=last,
        minutes_per_day=spec.minutes_per_day,
        create_writers=True,
    )
    return spec


def bundle_spec(name: str) -> BundleSpec:
    """The :class:`BundleSpec` of tradedata bundle ``name`` (``InputError`` if not one)."""
    registered = _bundles().bundles.get(name)
    spec = getattr(registered.ingest, INGEST_MARK, None) if registered is not None else None
    if spec is None:
        raise InputError(f"no tradedata bundle named {name!r} is registered")
    return spec  # type: ignore[no-any-return]


def bundle_calendar(name: str) -> Any:
    """The zipline trading calendar of registered bundle ``name`` (any bundle, not only ours)."""
    registered = _bundles().bundles.get(name)
    if registered is None:
        raise InputError(f"no zipline bundle named {name!r} is registered")
    return get_zipline_calendar(registered.calendar_name)


def run_algorithm(*args: Any, bundle: str, trading_calendar: Any = None, **kwargs: Any) -> Any:
    """``zipline.run_algorithm`` with ``trading_calendar`` defaulting to the bundle's calendar.

    zipline's own defaults to ``XNYS``, which skips weekends and trades crypto only during
    New York hours. Everything else is passed through unchanged.
    """
    import zipline

    if trading_calendar is None:
        trading_calendar = bundle_calendar(bundle)
    return zipline.run_algorithm(*args, bundle=bundle, trading_calendar=trading_calendar, **kwargs)
