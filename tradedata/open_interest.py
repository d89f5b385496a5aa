"""Open interest from derivatives venues, merged onto the stored bars by open time.

``DataManager.get_ohlcv(..., open_interest=True)`` hands the series' bars that have no open
interest yet to :class:`OpenInterestFiller`, which asks the series' venue (a provider with
``fetch_open_interest``, today the ccxt adapter for Binance and Bybit contracts) for the
records stamped at those bar opens, stores them in the ``open_interest`` column of the same
rows, and reports every bar it could not fill, with the reason.

The rules (tested as properties in ``tests/test_open_interest_merge.py``):

- a bar gets the record stamped exactly at its open time, never one from another time: no
  forward fill, no nearest match, no interpolation (:func:`merge_open_interest`);
- a bar without such a record keeps NaN and is reported (:func:`missing_runs`): older than
  the venue's history depth (Binance: 30 days), absent from the venue's answer, or asked
  when the request failed. NaN means "not known"; the next call asks for it again;
- the bars' prices, volumes and provenance are written back unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from tradedata.adapters.paging import Unfetched
from tradedata.errors import OpenInterestUnavailableError
from tradedata.fetching import CACHE_ONLY
from tradedata.model import OPEN_INTEREST, Timeframe
from tradedata.symbols import AssetClass, symbol_info

if TYPE_CHECKING:
    from tradedata.adapters.ccxt_.open_interest import OpenInterestAnswer
    from tradedata.cache.interface import Store

__all__ = [
    "OpenInterestFiller",
    "check_contract",
    "lacking_open_interest",
    "merge_open_interest",
    "missing_runs",
]

#: why a bar read with ``provider="cache"`` has no open interest
_NOT_FETCHED = "not fetched: provider='cache' fetches nothing"


class OpenInterestSource(Protocol):
    """A provider that publishes open interest (the ccxt adapter does)."""

    name: str

    def open_interest_period(self, symbol: str, timeframe: Timeframe) -> str: ...

    def fetch_open_interest(
        self, symbol: str, timeframe: Timeframe, opens: Sequence[pd.Timestamp]
    ) -> OpenInterestAnswer: ...


def check_contract(symbol: str) -> None:
    """Raise :class:`OpenInterestUnavailableError` unless ``symbol`` is a crypto contract
    (ccxt spells every contract with its settle currency: ``BTC/USDT:USDT``)."""
    info = symbol_info(symbol)
    if info.asset_class is not AssetClass.CRYPTO:
        raise OpenInterestUnavailableError(
            f"{symbol} is not a derivatives contract: no open interest is published for it"
        )
    if ":" not in symbol:
        quote = symbol.rpartition("/")[2] or "USDT"
        raise OpenInterestUnavailableError(
            f"{symbol} is a spot market and has no open interest; its perpetual contract is "
            f"spelled {symbol}:{quote}"
        )


def lacking_open_interest(frame: pd.DataFrame) -> pd.DatetimeIndex:
    """The bar opens of ``frame`` without open interest (all of them without the column)."""
    if OPEN_INTEREST not in frame.columns:
        return pd.DatetimeIndex(frame.index)
    return pd.DatetimeIndex(frame.index[frame[OPEN_INTEREST].isna().to_numpy()])


def merge_open_interest(frame: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    """``frame`` with ``open_interest`` set at every bar whose open time equals a stamp of
    ``values``; every other bar keeps what it had (NaN stays NaN). Records at times that are
    no bar's open are ignored. ``frame`` itself is not changed."""
    out = frame.copy()
    column = (
        out[OPEN_INTEREST].to_numpy(dtype="float64", copy=True)
        if OPEN_INTEREST in out.columns
        else np.full(len(out), np.nan)
    )
    if len(values):
        found = values[~values.index.duplicated(keep="last")].reindex(out.index)
        hit = found.notna().to_numpy()
        column[hit] = found.to_numpy(dtype="float64")[hit]
    out[OPEN_INTEREST] = column
    return out


def missing_runs(missing: Sequence[tuple[pd.Timestamp, str]], tf: Timeframe) -> list[Unfetched]:
    """``(bar open, reason)`` pairs as runs of consecutive bars with one reason, oldest first."""
    runs: list[Unfetched] = []
    for stamp, reason in sorted(missing, key=lambda m: m[0]):
        last = runs[-1] if runs else None
        if last is not None and last.reason == reason and tf.next_open(last.end) == stamp:
            runs[-1] = Unfetched(last.start, stamp, reason)
        else:
            runs.append(Unfetched(stamp, stamp, reason))
    return runs


class OpenInterestFiller:
    """Fills the open interest of stored bars from the series' venue.

    ``cache`` is the store, ``provider_lookup(name)`` a provider instance, ``quality_fn`` the
    partition quality function of :class:`~tradedata.fetching.FetchEngine`,
    ``candidates(symbol, tf, provider, source)`` the providers a read of the series tries
    (:meth:`FetchEngine.candidates <tradedata.fetching.FetchEngine.candidates>`; None: none).
    """

    def __init__(
        self,
        cache: Store,
        provider_lookup: Callable[[str], Any],
        quality_fn: Callable[[str, Timeframe], Callable[[pd.DataFrame], dict[str, Any]]],
        *,
        candidates: Callable[[str, Timeframe, str | None, str], Sequence[str]] | None = None,
    ) -> None:
        self.cache = cache
        self._provider = provider_lookup
        self._quality_fn = quality_fn
        self._candidates = candidates

    def source_for(self, symbol: str, tf: Timeframe, names: Sequence[str]) -> OpenInterestSource:
        """The first provider of ``names`` publishing open interest of ``symbol`` at ``tf``
        bars; raises :class:`OpenInterestUnavailableError` (the first one's reason) if none."""
        check_contract(symbol)
        first: OpenInterestUnavailableError | None = None
        for name in names:
            prov = self._provider(name)
            if not hasattr(prov, "fetch_open_interest"):
                err = OpenInterestUnavailableError(f"{name} publishes no open interest")
            else:
                try:
                    prov.open_interest_period(symbol, tf)
                    return prov  # type: ignore[no-any-return]
                except OpenInterestUnavailableError as exc:
                    err = exc
            first = first or err
        raise first or OpenInterestUnavailableError(f"no provider serves {symbol} {tf.name}")

    def source_for_read(
        self, symbol: str, tf: Timeframe, provider: str | None, source: str
    ) -> OpenInterestSource | None:
        """The provider a read of the ``source`` series asks for open interest (None:
        ``provider="cache"``, only what is stored); raises
        :class:`OpenInterestUnavailableError` before anything is fetched."""
        check_contract(symbol)
        if provider == CACHE_ONLY:
            return None
        names = self._candidates(symbol, tf, provider, source) if self._candidates else []
        return self.source_for(symbol, tf, names)

    def fill_stored(
        self, symbol: str, tf: Timeframe, start: Any, end: Any, source: str, provider: str | None
    ) -> list[Unfetched]:
        """Fetch and store the open interest of the stored bars of the ``source`` series in
        ``[start, end]`` (``DataManager.fetch_open_interest``); returns the bars still
        without it, as runs with their reason."""
        prov = self.source_for_read(symbol, tf, provider, source)
        reasons: dict[pd.Timestamp, str] = {}
        with self.cache.pinned(symbol, tf.name, start, end, source=source):
            own = self.cache.read(symbol, tf.name, start, end, source=source)
            own.attrs.pop("damaged", None)
            if prov is not None and len(own):
                own, reasons = self.fill(own, symbol, tf, source, prov)
        return self.report(own, tf, reasons, _NOT_FETCHED)

    def annotate(
        self,
        frame: pd.DataFrame,
        symbol: str,
        tf: Timeframe,
        reasons: dict[pd.Timestamp, str],
        *,
        fetched: bool,
        stacklevel: int = 2,
    ) -> None:
        """Name every bar of ``frame`` (a read's) without open interest in
        ``attrs["open_interest_unfetched"]`` (and a warning, ``stacklevel`` as for
        :func:`warnings.warn`), with its reason; the frame has the ``open_interest`` column
        even when no bar has any. ``fetched``: the read asked the venue (not the cache only)."""
        if OPEN_INTEREST not in frame.columns:
            frame[OPEN_INTEREST] = np.nan
        other = (
            "a bar of another source's series (fallback): its open interest is not fetched"
            if fetched
            else _NOT_FETCHED
        )
        missing = self.report(frame, tf, reasons, other)
        frame.attrs["open_interest_unfetched"] = missing
        if missing:
            shown = "; ".join(str(u) for u in missing)
            warnings.warn(
                f"{symbol} {tf.name}: no open interest for {shown}", stacklevel=stacklevel + 1
            )

    def fill(
        self,
        frame: pd.DataFrame,
        symbol: str,
        tf: Timeframe,
        source: str,
        prov: OpenInterestSource,
        refresh: bool = False,
    ) -> tuple[pd.DataFrame, dict[pd.Timestamp, str]]:
        """``frame`` (bars of the ``source`` series as stored) with the open interest ``prov``
        has for its bars that lack it (``refresh``: for every bar; a bar the venue no longer
        serves keeps its stored figure), which is also stored; and why each bar still without
        it is (``{bar open: reason}``)."""
        opens = pd.DatetimeIndex(frame.index) if refresh else lacking_open_interest(frame)
        if not len(opens):
            return frame, {}
        answer = prov.fetch_open_interest(symbol, tf, list(opens))
        values = answer.series()
        if len(values):
            self._store(symbol, tf, source, values)
        merged = merge_open_interest(frame, values)
        merged.attrs = dict(frame.attrs)
        return merged, dict(answer.missing)

    @staticmethod
    def report(
        frame: pd.DataFrame, tf: Timeframe, reasons: dict[pd.Timestamp, str], other: str
    ) -> list[Unfetched]:
        """Every bar of ``frame`` without open interest, in runs, each with its reason from
        ``reasons`` (else ``other``): what a returned frame lacks is always named."""
        lacking = lacking_open_interest(frame)
        return missing_runs([(t, reasons.get(t, other)) for t in lacking], tf)

    def _store(self, symbol: str, tf: Timeframe, source: str, values: pd.Series) -> None:
        """Write ``values`` into the stored rows at those opens (prices, volumes and each row's
        provider unchanged), holding the range's lock so no concurrent refetch is undone."""
        first, last = values.index[0], values.index[-1]
        with self.cache.hole_lock(symbol, tf.name, first, last, source=source):
            stored = self.cache.read(symbol, tf.name, first, last, source=source)
            stored.attrs.pop("damaged", None)
            rows = merge_open_interest(stored, values)
            rows = rows[rows.index.isin(values.index)]
            if rows.empty:
                return
            quality = self._quality_fn(symbol, tf)
            for provider, part in _by_provider(self.cache, symbol, tf, source, rows):
                self.cache.write(
                    symbol, tf.name, part, source=source, provider=provider, quality=quality
                )


def _by_provider(
    cache: Store, symbol: str, tf: Timeframe, source: str, rows: pd.DataFrame
) -> list[tuple[str | None, pd.DataFrame]]:
    """``rows`` split by the provider the coverage record names for them (None: the
    source's own name), so rewriting them keeps each row's provenance."""
    out: list[tuple[str | None, pd.DataFrame]] = []
    left = np.ones(len(rows), dtype=bool)
    for span in cache.coverage(symbol, tf.name, source=source):
        inside = left & (rows.index >= span.start) & (rows.index <= span.end)
        if inside.any():
            out.append((span.provider, rows[inside]))
            left &= ~inside
    if left.any():
        out.append((None, rows[left]))
    return out
