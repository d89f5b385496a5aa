"""``TradeDataFeed``: a historical backtrader data feed backed by tradedata.

::

    cerebro.adddata(TradeDataFeed(dataname="BTC/USDT", interval="5m",
                                  fromdate=datetime(2024, 1, 1), todate=datetime(2024, 2, 1)))

``dataname`` is a symbol (bars come through the DataManager: cache first, fetch what is
missing, validate) or a pandas frame in the tradedata schema. The feed is a drop-in for
backtrader's CSV feeds: the same stamps (see :mod:`tradedata.feeds.backtrader.time` for how bar open
times map to backtrader's bar-end stamps), the same values, every ``DataBase`` parameter.
When cerebro preloads, the line buffers are filled from numpy arrays in one go; anything that
needs bar-by-bar loading (no preload, ``exactbars=1``, filters, resample/replay) takes the
per-bar path.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from tradedata.errors import InputError, InvalidTimeframeError
from tradedata.feeds.backtrader.source import (
    Bars,
    StampRule,
    build_bars,
    check_quality,
    fetch_range,
    frame_quality,
    load_from_manager,
)
from tradedata.identity import normalize_source, split_source
from tradedata.model import Timeframe, parse_timeframe

__all__ = ["TradeDataFeed", "infer_timeframe"]


def infer_timeframe(index: pd.DatetimeIndex) -> Timeframe | None:
    """The bar size of a regular index, or None for an irregular one (ticks).

    The guess is :func:`tradedata.validation.infer_timeframe` (the standard timeframe nearest
    the commonest step); it is kept when at least half the steps are exactly that long, or
    for months, whose length varies.
    """
    from tradedata.validation import infer_timeframe as guess_timeframe

    values = np.unique(index.as_unit("ns").asi8)
    if len(values) < 2:
        return None
    guess = guess_timeframe(pd.DatetimeIndex(values.view("datetime64[ns]")))
    if guess.is_calendar:
        return guess
    steps = np.diff(values)
    return guess if (steps == guess.seconds * 1_000_000_000).mean() >= 0.5 else None


class TradeDataFeed(bt.feed.DataBase):
    """A backtrader data feed over tradedata bars.

    Params (besides every ``DataBase`` one: ``name``, ``fromdate``, ``todate``, ``tz``,
    ``tzinput``, ``sessionstart``, ``sessionend``, ``filters``, ``calendar`` ...):

      - ``dataname``: a symbol (``"BTC/USDT"``, ``"AAPL"``), venue-prefixed to name its source
        (``"BYBIT:BTC/USDT"``), or a frame in the tradedata schema
      - ``exchange``: the source of a symbol's series (``"bybit"``; see :mod:`tradedata.identity`);
        default: the symbol's prefix, else the manager's choice (the rule's primary venue)
      - ``timeframe``/``compression``: backtrader's bar size. Default: from ``interval``, else
        the frame's ``attrs["timeframe"]`` or regular spacing, else ``TimeFrame.Days``
      - ``interval``: sugar for timeframe/compression as tradedata spells it (``"5m"``)
      - ``provider``: provider name for the DataManager (default: its own choice;
        ``"cache"`` serves from the cache only and never fetches)
      - ``cache_dir``: use ``DataManager(cache_dir=...)`` instead of the process-wide manager
      - ``manager``: a ready ``DataManager`` to use
      - ``refresh``: ask the manager to re-fetch instead of trusting the cache
      - ``adjust``: equities' price adjustment, as ``get_ohlcv``: ``"splits"`` (default),
        ``"all"`` (also dividends) or ``"raw"`` (as traded)
      - ``min_quality``: refuse to start (``InsufficientQualityError``) below this score
      - ``open_interest``: also fetch the venue's open interest of a contract
        (``"BTC/USDT:USDT"``) for the ``openinterest`` line, as
        ``get_ohlcv(..., open_interest=True)`` (bars the venue has none for stay NaN and are
        named in ``self.data.frame.attrs["open_interest_unfetched"]``); a spot symbol raises
        ``OpenInterestUnavailableError``. Without it the line carries what is stored.

    ``tzinput`` names the zone of naive frame times and of ``sessionend`` for daily bars (as
    ``BacktraderCSVData``); without it ``sessionend`` is read in ``tz`` (as ``GenericCSVData``),
    else in UTC. tz-aware frames (everything the manager returns) are never re-localised.

    ``self.data.quality`` is the data's quality report; ``self.data.frame`` the loaded frame;
    ``self.data.source`` the source of its bars (``"bybit"``, ``"consolidated"`` ...; None when
    a frame does not say). A feed named by a source shows it: ``data._name`` defaults to
    ``"BYBIT:BTC/USDT"``.
    """

    params = (
        ("timeframe", None),
        ("interval", None),
        ("provider", None),
        ("cache_dir", None),
        ("manager", None),
        ("exchange", None),
        ("refresh", False),
        ("min_quality", None),
        ("adjust", "splits"),
        ("open_interest", False),
    )

    def __init__(self) -> None:
        super().__init__()
        self._bars: Bars | None = None
        self._quality: Any = None
        self._rows: list[tuple[Any, list[float]]] | None = None
        self._cursor = 0
        self._resolve_timeframe()
        self._venue, self._symbol = self._identity()
        if not self.p.name and isinstance(self.p.dataname, pd.DataFrame):
            self._name = str(self.p.dataname.attrs.get("symbol") or "")
        elif not self.p.name and self._venue is not None:
            self._name = f"{self._venue.upper()}:{self._symbol}"

    # -- configuration ------------------------------------------------------------------

    def _resolve_timeframe(self) -> None:
        """Settle ``p.timeframe``/``p.compression`` before backtrader copies them."""
        p = self.p
        if p.interval is not None:
            timeframe, compression = parse_timeframe(p.interval).to_backtrader()
            if p.timeframe is not None and p.timeframe != timeframe:
                raise InvalidTimeframeError(
                    f"interval={p.interval!r} contradicts timeframe={p.timeframe!r}"
                )
            p.timeframe, p.compression = timeframe, compression
        elif p.timeframe is None:
            p.timeframe, p.compression = self._default_timeframe()

    def _default_timeframe(self) -> tuple[int, int]:
        frame = self.p.dataname
        if not isinstance(frame, pd.DataFrame):
            return bt.TimeFrame.Days, self.p.compression
        declared = frame.attrs.get("timeframe")
        if declared is not None:
            return parse_timeframe(str(declared)).to_backtrader()
        if not isinstance(frame.index, pd.DatetimeIndex) or len(frame) < 2:
            return bt.TimeFrame.Days, self.p.compression
        inferred = infer_timeframe(frame.index.sort_values())
        if inferred is None:
            raise InvalidTimeframeError(
                "cannot tell the bar size of this frame: pass interval='5m' (or "
                "timeframe=bt.TimeFrame.Ticks for tick data)"
            )
        return inferred.to_backtrader()

    def _identity(self) -> tuple[str | None, str | None]:
        """``(source or None, bare symbol)`` of a symbol dataname (``(None, None)`` for frames).

        Raises :class:`InputError` when the prefix and ``exchange`` name different sources.
        """
        dataname = self.p.dataname
        if not isinstance(dataname, str):
            return None, None
        venue, bare = split_source(dataname)
        named = normalize_source(self.p.exchange) if self.p.exchange else None
        if venue and named and venue != named:
            exchange = self.p.exchange
            raise InputError(f"{dataname!r} names source {venue!r} but exchange={exchange!r}")
        return venue or named, bare

    @property
    def source(self) -> str | None:
        """The source of the feed's bars (the manager's ``attrs["source"]``, else the one named)."""
        if self._bars is not None:
            found = self._bars.frame.attrs.get("source")
            if found:
                return str(found)
        return self._venue

    def _gettzinput(self) -> Any:
        # Input times are converted once, while stamping (bt_source.StampRule); returning
        # None keeps DataBase.load from converting them a second time.
        return None

    def _label(self) -> str:
        dataname = self.p.dataname
        return self._name or (dataname if isinstance(dataname, str) else "TradeDataFeed")

    # -- data ---------------------------------------------------------------------------

    @property
    def quality(self) -> Any:
        """The quality report of the feed's bars (``.score`` ...); loads them on first use.

        The manager's report for a symbol; for a frame, its ``attrs["quality"]`` or a fresh
        :func:`tradedata.validation.validate` run.
        """
        if self._quality is None:
            bars = self._load_bars()
            timeframe = self.p.timeframe, self.p.compression
            name = (
                None
                if timeframe[0] == bt.TimeFrame.Ticks
                else Timeframe.from_backtrader(*timeframe).name
            )
            self._quality = frame_quality(bars.frame, name)
        return self._quality

    @property
    def frame(self) -> pd.DataFrame:
        """The feed's bars as a tradedata frame (before ``fromdate``/``todate``)."""
        return self._load_bars().frame

    def _load_bars(self) -> Bars:
        if self._bars is not None:
            return self._bars
        p = self.p
        tz, tzinput = bt.utils.tzparse(p.tz), bt.utils.tzparse(p.tzinput)
        dataname = p.dataname
        if isinstance(dataname, pd.DataFrame):
            frame, symbol = dataname, dataname.attrs.get("symbol")
        elif isinstance(dataname, str):
            symbol = self._symbol
            timeframe = Timeframe.from_backtrader(p.timeframe, p.compression)
            start, end = fetch_range(p.fromdate, p.todate, tz, timeframe)
            frame = load_from_manager(
                str(symbol), timeframe, start=start, end=end, provider=p.provider,
                refresh=p.refresh, cache_dir=p.cache_dir, manager=p.manager, adjust=p.adjust,
                exchange=self._venue, open_interest=bool(p.open_interest),
            )  # fmt: skip
        else:
            raise InputError(
                f"dataname must be a symbol or a DataFrame, not {type(dataname).__name__}"
            )
        rule = StampRule.for_feed(
            p.timeframe,
            p.compression,
            p.sessionend,
            tzinput=tzinput,
            tz=tz,
            symbol=symbol if isinstance(symbol, str) else None,
        )
        self._bars = build_bars(frame, rule)
        return self._bars

    # -- backtrader protocol -----------------------------------------------------------

    def start(self) -> None:
        """Load the bars (once per feed object) and check their quality."""
        super().start()
        self._load_bars()
        if self.p.min_quality is not None:
            check_quality(self.quality, self.p.min_quality, self._label())
        self._rows = None
        self._cursor = 0

    def _window_rows(self) -> list[tuple[Any, list[float]]]:
        bars = self._load_bars()
        positions = bars.window(self.fromdate, self.todate)
        rows = []
        for alias in self.getlinealiases():
            values = bars.stamps if alias == "datetime" else bars.line_values(alias)
            rows.append((getattr(self.lines, alias), values[positions].tolist()))
        return rows

    def _load(self) -> bool:
        if self._rows is None:
            self._rows = self._window_rows()
        index = self._cursor
        if not self._rows or index >= len(self._rows[0][1]):
            return False
        self._cursor = index + 1
        for line, values in self._rows:
            line[0] = values[index]
        return True

    def _can_bulk_load(self) -> bool:
        """True when filling the buffers in one go gives what bar-by-bar ``load`` would."""
        if self._filters or self._ffilters or self._barstack or self._barstash:
            return False
        if type(self)._load is not TradeDataFeed._load or self._cursor or self._rows:
            return False
        return all(
            line.mode == line.UnBounded
            and len(line.array) == 0
            and not line.extension
            and not line.bindings
            for line in self.lines
        )

    def preload(self) -> None:
        """Fill every line buffer from the bar arrays at once (bar by bar when it must)."""
        if not self._can_bulk_load():
            super().preload()
            return
        bars = self._load_bars()
        positions = bars.window(self.fromdate, self.todate)
        for alias in self.getlinealiases():
            values = bars.stamps if alias == "datetime" else bars.line_values(alias)
            chunk = np.ascontiguousarray(values[positions], dtype=np.float64)
            getattr(self.lines, alias).array.frombytes(chunk.data.cast("B"))
        self._rows = []  # everything is in the buffers: _load has nothing left to give
        self._last()
        self.home()
