"""The :class:`Adjuster` owned by :class:`~tradedata.manager.DataManager`.

It keeps each equity's corporate-actions record fresh (fetched from a provider that publishes
splits and dividends, stored in the cache), turns a provider's adjusted answer back into
as-traded bars before the fetch engine stores it, and adjusts as-traded bars on read
(``get_ohlcv(..., adjust=...)``). The arithmetic lives in :mod:`tradedata.actions`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.actions import (
    CorporateActions,
    adjust,
    bar_dates,
    check_mode,
    to_as_traded,
)
from tradedata.errors import ConfigurationError, PriceBasisError, ProviderError, TradeDataError
from tradedata.model import Timeframe
from tradedata.symbols import AssetClass, symbol_info

if TYPE_CHECKING:
    from tradedata.adapters.base import Provider
    from tradedata.cache.interface import Store
    from tradedata.selection import ProviderSelector

__all__ = ["ACTIONS_MAX_AGE", "Adjuster", "is_as_traded", "is_equity", "reference_source"]

log = logging.getLogger("tradedata")

#: seconds a corporate-actions record is trusted before it is asked for again
ACTIONS_MAX_AGE = 86_400.0
#: seconds before asking again after no provider could give a symbol's actions
RETRY_FAILED = 300.0
_EPOCH = pd.Timestamp("1970-01-02", tz="UTC")
Converter = Callable[[pd.DataFrame], pd.DataFrame]


def is_equity(symbol: str) -> bool:
    """True for stocks (US and international): the symbols with splits and dividends."""
    try:
        kind = symbol_info(symbol).asset_class
    except TradeDataError:
        return False
    return kind in (AssetClass.STOCK, AssetClass.INTERNATIONAL_STOCK)


class Adjuster:
    """Corporate actions: kept fresh, used to store as traded and to adjust on read.

    ``cache`` holds the records; ``selector()`` gives the provider rules (the daily rule's
    providers that publish actions are asked, after those named in ``prefer``);
    ``provider_lookup(name)`` the provider instance; ``on_change(symbol)`` is called after a
    record with other splits than the stored one was stored (the manager rescores the stored
    quality, :mod:`tradedata.rescoring`).
    """

    def __init__(
        self,
        cache: Store,
        selector: Callable[[], ProviderSelector],
        provider_lookup: Callable[[str], Provider],
        max_age: float = ACTIONS_MAX_AGE,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache
        self._on_change = on_change
        self._selector = selector
        self._provider = provider_lookup
        self.max_age = max_age
        self._failed: dict[str, tuple[float, str]] = {}  # symbol -> (when, why)

    # -- the record ------------------------------------------------------------------------
    def _sources(self, symbol: str, prefer: tuple[str, ...]) -> list[str]:
        names = list(prefer)
        with contextlib.suppress(ProviderError, ConfigurationError):
            names += self._selector().get_provider_with_failover(symbol, "1d")
        return list(dict.fromkeys(names))

    def fresh(self, record: CorporateActions | None, since: pd.Timestamp) -> bool:
        """True when ``record`` was confirmed within ``max_age`` and reaches back to ``since``."""
        if record is None or record.checked_at is None:
            return False
        age = (pd.Timestamp.now(tz="UTC") - record.checked_at).total_seconds()
        reaches = record.since is None or record.since <= since
        return age <= self.max_age and reaches

    def refresh(
        self, symbol: str, since: pd.Timestamp | None = None, prefer: tuple[str, ...] = ()
    ) -> CorporateActions:
        """Ask the providers that publish actions, best first; store and return the record.

        Raises :class:`ProviderError` (the last one) when none could answer.
        """
        start = _EPOCH if since is None else max(_EPOCH, since.normalize())
        errors: list[str] = []
        for name in self._sources(symbol, prefer):
            try:
                prov = self._provider(name)
                if not prov.capabilities.actions:
                    continue
                found = prov.fetch_actions(symbol, start, prov.now())
            except (ProviderError, ConfigurationError) as exc:
                errors.append(f"{name}: {exc}")
                continue
            # checked_at is our clock: it says how old our copy is (the age ``fresh`` judges)
            now = pd.Timestamp.now(tz="UTC")
            record = CorporateActions(found.splits, found.dividends, now, name, start)
            before = self.cache.get_actions(symbol)
            self.cache.set_actions(symbol, record)
            changed = before is None or not before.splits.equals(record.splits)
            if changed and self._on_change is not None:
                self._on_change(symbol)  # stored quality judged with other splits: rescored
            return record
        said = "; ".join(errors) or "no configured provider publishes them"
        raise ProviderError(f"no corporate actions for {symbol}: {said}")

    def actions(
        self,
        symbol: str,
        since: pd.Timestamp,
        fetch: bool = True,
        prefer: tuple[str, ...] = (),
    ) -> tuple[CorporateActions | None, str | None]:
        """The record to use for ``symbol`` (refreshed when stale and ``fetch``), and a note
        saying why it may be out of date (None when it is fresh)."""
        record = self.cache.get_actions(symbol)
        if self.fresh(record, since) or not fetch:
            return record, None
        failed = self._failed.get(symbol)
        if failed is not None and time.monotonic() - failed[0] < RETRY_FAILED:
            return record, failed[1]  # asked a moment ago: not again on every read
        try:
            found = self.refresh(symbol, since, prefer)
        except ProviderError as exc:
            log.warning("%s", exc)
            self._failed[symbol] = (time.monotonic(), str(exc))
            return record, str(exc)
        self._failed.pop(symbol, None)
        return found, None

    # -- storing ---------------------------------------------------------------------------
    def as_traded(
        self, symbol: str, tf: Timeframe, prov: Provider, since: pd.Timestamp
    ) -> tuple[Converter, str]:
        """A function turning ``prov``'s answers for ``symbol`` into as-traded bars, and the
        provider's basis. Raises :class:`PriceBasisError` when that is impossible (a
        dividend-adjusted basis, or split-adjusted with no split list to undo it)."""
        basis = prov.price_basis(tf) if is_equity(symbol) else "raw"
        if basis == "raw":
            if is_equity(symbol):  # best effort: the stored quality judges splits as splits
                self.actions(symbol, since)  # the rules' order: free sources before quotas
            return (lambda frame: frame), basis
        if basis != "splits":
            raise PriceBasisError(
                f"{prov.name} serves {symbol} on the {basis!r} basis, which cannot be turned "
                "back into as-traded prices: nothing stored",
                provider=prov.name,
            )
        record, problem = self.actions(symbol, since, prefer=(prov.name,))
        if record is None or problem is not None:
            raise PriceBasisError(
                f"{prov.name} serves split-adjusted prices for {symbol} but its splits are "
                f"unknown ({problem or 'never fetched'}): nothing stored",
                provider=prov.name,
            )
        tz = symbol_info(symbol).timezone

        def convert(frame: pd.DataFrame) -> pd.DataFrame:
            return to_as_traded(frame, record, basis, bar_dates(frame.index, tf, tz))

        return convert, basis

    # -- reading ---------------------------------------------------------------------------
    def apply(
        self,
        frame: pd.DataFrame,
        symbol: str,
        tf: Timeframe,
        mode: str,
        fetch: bool = True,
        source: str | None = None,
    ) -> pd.DataFrame:
        """As-traded ``frame`` (bars of the ``source`` series; None: the symbol's default
        source) adjusted for ``mode`` (``attrs["adjust"]``; notes of what could not be applied
        in ``attrs["adjust_notes"]``, each also a warning).

        A dividend's factor ``1 - amount / close before the ex-date`` uses the **as-traded
        close of the frame's own market**: the frame's own close when it holds the session
        before the ex-date, else the last close before the ex-date stored in the ``source``
        series (an ``iex`` frame is adjusted with IEX closes, a ``bybit`` frame with Bybit's),
        never another source's close: the amount is paid per share of that market's price, and
        reading a window adjusts it exactly as the same bars cut from a longer read. A source
        that is a split-adjusted view of an as-traded series (``consolidated_splits``, bars an
        older version stored adjusted, :mod:`tradedata.cache.migrate`) holds no as-traded
        close: its reference is the close of the as-traded series it is a view of
        (``consolidated``); its splits are already applied, so no mode applies them again and
        ``"raw"`` gives them split-adjusted (``attrs["adjust"]`` says ``"splits"``, a note why).
        Without such a close the dividend is left out and a note says so.
        """
        check_mode(mode)
        if frame.empty or not is_equity(symbol):
            frame.attrs.update(adjust=mode, adjust_notes=[])
            return frame
        record, problem = self.actions(symbol, frame.index[0], fetch=fetch)
        notes = []
        if problem and record is None:
            notes.append(f"no corporate actions known ({problem}): bars are as traded")
        elif problem:
            notes.append(f"corporate actions may be out of date: {problem}")
        tz = symbol_info(symbol).timezone
        reference, own = reference_source(source)

        def close_before(ex_date: pd.Timestamp) -> float | None:
            back = self.cache.read(
                symbol, tf.name, ex_date - pd.Timedelta(days=14), ex_date, source=reference
            )
            back = back[bar_dates(back.index, tf, tz) < ex_date]
            return float(back["close"].iloc[-1]) if len(back) else None

        out, more = adjust(
            frame,
            record or CorporateActions(),
            mode,
            bar_dates(frame.index, tf, tz),
            close_before,
            own_closes=own,
        )
        if not own and mode == "raw":  # split-adjusted bars: as-traded prices are not known
            mode = "splits"
            more.append(
                f"source {source!r} holds split-adjusted bars (stored adjusted by an older"
                " version): as-traded prices are not known, bars are split-adjusted"
            )
        out.attrs.update(frame.attrs)
        out.attrs.update(adjust=mode, adjust_notes=notes + more, actions=record)
        return out

    def apply_runs(
        self,
        frame: pd.DataFrame,
        symbol: str,
        tf: Timeframe,
        mode: str,
        runs: list[dict[str, Any]],
        fetch: bool = True,
    ) -> pd.DataFrame:
        """:meth:`apply` for a frame whose bars come from several sources (``runs``: one
        ``{"source", "start", "end"}`` per run of consecutive bars of one source, as
        :func:`tradedata.venues.labelled_frame` gives): each run is adjusted as bars of its own
        source, so a dividend's reference close is always its own market's (never a bar of
        another source that happens to sit before the ex-date in the frame)."""
        sources = {run["source"] for run in runs}
        if len(sources) <= 1:
            return self.apply(frame, symbol, tf, mode, fetch, next(iter(sources), None))
        parts = [
            self.apply(
                frame.loc[run["start"] : run["end"]].copy(), symbol, tf, mode, fetch, run["source"]
            )
            for run in runs
        ]
        out = pd.concat(parts)
        notes = list(dict.fromkeys(n for p in parts for n in p.attrs.get("adjust_notes", [])))
        said = {p.attrs.get("adjust", mode) for p in parts}
        out.attrs = dict(frame.attrs)
        out.attrs.update(
            adjust=said.pop() if len(said) == 1 else mode,
            adjust_notes=notes,
            actions=parts[-1].attrs.get("actions"),
        )
        return out


def reference_source(source: str | None) -> tuple[str | None, bool]:
    """The series holding the as-traded closes a frame of ``source`` is dividend-adjusted
    with, and whether the frame's own closes are as traded (see :meth:`Adjuster.apply`)."""
    from tradedata.cache.migrate import SPLITS_SUFFIX

    if source is not None and source.endswith(SPLITS_SUFFIX) and len(source) > len(SPLITS_SUFFIX):
        return source[: -len(SPLITS_SUFFIX)], False
    return source, True


def is_as_traded(source: str | None) -> bool:
    """False for a source holding split-adjusted bars (``consolidated_splits``, bars an older
    version stored adjusted): they are judged and read as they are, never adjusted again."""
    return reference_source(source)[1]
