"""DataManager: the one front door to cached, validated market data.

``get_ohlcv`` serves from the cache and fetches only what the coverage record says was never
fetched, from the best provider, failing over mid-request to the next one; every chunk is
written to the cache (with its coverage) as it arrives, so an interrupted fetch resumes where it
stopped. Every frame handed out carries its quality report in ``frame.attrs["quality"]``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata import logs, panel, stats
from tradedata.actions import DEFAULT_ADJUST, CorporateActions
from tradedata.adjusting import Adjuster
from tradedata.config import Config, load_config
from tradedata.fetching import CACHE_ONLY, FetchEngine, FetchResult, storable_range
from tradedata.identity import identify
from tradedata.importing import Importer
from tradedata.judging import Judge
from tradedata.model import parse_range, parse_timeframe
from tradedata.open_interest import OpenInterestFiller
from tradedata.providers import ProviderPool
from tradedata.range_quality import quality_summary
from tradedata.reading import Reader
from tradedata.rescoring import Rescorer
from tradedata.stores import describe, open_configured, owns
from tradedata.symbols import normalize_symbol
from tradedata.venues import cached_timeframes, delete_read_series

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk, Provider
    from tradedata.adapters.paging import Unfetched
    from tradedata.cache.interface import Store
    from tradedata.feeds.live.plain import LiveFeed
    from tradedata.fundamentals import Fundamentals
    from tradedata.selection import ProviderSelector
    from tradedata.stats import Stats
    from tradedata.validation import QualityReport

__all__ = [
    "CACHE_ONLY",
    "DataManager",
    "FetchResult",
    "get_data_manager",
    "quality_summary",
]


class DataManager:
    """Cache-first access to OHLCV data and fundamentals, with provider failover.

    ``cache_dir`` defaults to ``DATA_CACHE_DIR`` or the platform's user cache directory;
    ``config`` is a :class:`~tradedata.config.Config`, a dict, or a YAML path (default: the
    user's config file, if any); ``providers`` overrides per-provider settings, e.g.
    ``{"binance": {"url": "http://127.0.0.1:8765"}}``. ``store`` selects where bars live: a
    ``postgresql://user@host/db`` URL (a store shared by a fleet), a cache folder, or a store
    object (left open by :meth:`close`: its owner closes it); else ``TRADEDATA_STORE``, else the
    config's ``store:``, else the embedded cache in ``cache_dir``.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        max_size_gb: float | None = None,
        store: str | os.PathLike[str] | Store | None = None,
    ) -> None:
        self.config = load_config(config, providers=providers)
        #: the store (embedded :class:`~tradedata.cache.Cache` or a PostgreSQL store)
        self.cache: Store = open_configured(store, cache_dir, max_size_gb, self.config)
        # a store object handed in stays its owner's to close; one we opened is ours
        self._owns_store = owns(store)
        #: the provider instances (one per name, created on first use) and the selector
        self.pool = ProviderPool(self.config)
        #: quality reports of bars, and the block stored with a partition
        self.judge = Judge(lambda: self.adjuster)
        #: stored quality kept in line with the splits it was judged with
        self.rescorer = Rescorer(self.cache, self.judge.quality_fn)
        #: corporate actions: kept fresh, used to store as traded and to adjust on read
        self.adjuster = Adjuster(
            self.cache, lambda: self.selector, self.provider, on_change=self.rescorer.changed
        )
        #: the fetch engine: holes, page loop, failover, proven coverage
        self.engine = FetchEngine(
            self.cache,
            lambda: self.selector,
            self.provider,
            self.judge.quality_fn,
            as_traded=self.adjuster.as_traded,
        )
        #: open interest from derivatives venues onto stored bars (``get_ohlcv(open_interest=)``)
        self.open_interest = OpenInterestFiller(
            self.cache, self.provider, self.judge.quality_fn, candidates=self.engine.candidates
        )
        #: bars from frames and CSV files into the store
        self.importer = Importer(self.cache, self.engine.resolve_source, self.judge)
        #: the steps of get_ohlcv
        self.reader = Reader(
            self.cache, self.engine, self.adjuster, self.judge, self.rescorer, self.open_interest,
            fetch_missing=lambda *a, **k: self.fetch_missing(*a, **k),  # looked up per read
            deadline=lambda: self.config.deadline,
        )  # fmt: skip
        stats.track(self.cache.directory)
        logs.configure_from_env()

    @property
    def store(self) -> Store:
        """The store bars, coverage and fundamentals live in (same as :attr:`cache`)."""
        return self.cache

    def __repr__(self) -> str:
        return f"<DataManager {describe(self.cache)}>"

    @property
    def cache_dir(self) -> Any:
        """The cache directory (a ``pathlib.Path``)."""
        return self.cache.directory

    @property
    def selector(self) -> ProviderSelector:
        """The :class:`~tradedata.selection.ProviderSelector` built from the config's rules."""
        return self.pool.selector

    def provider(self, name: str) -> Provider:
        """The provider instance for ``name`` (one per manager, created on first use)."""
        return self.pool.get(name)

    def add_provider(self, provider: Provider, name: str | None = None) -> None:
        """Use ``provider`` (any :class:`~tradedata.adapters.base.Provider`) under ``name``.

        Name it in the config's ``rules`` or pass ``provider=name`` to use it.
        """
        self.pool.add(provider, name)

    def close(self) -> None:
        """Close provider connections and the cache."""
        self.pool.close()
        stats.untrack(self.cache.directory)
        if self._owns_store:
            self.cache.close()

    def __enter__(self) -> DataManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- quality ---------------------------------------------------------------------------
    def rescore(
        self,
        symbol: str | None = None,
        timeframe: str | None = None,
        *,
        exchange: str | None = None,
    ) -> int:
        """Recompute the stored quality reports of ``symbol`` (None: every symbol with a
        corporate-actions record) that were judged with other splits than the stored actions
        give (every source and timeframe, or the ``timeframe``/``exchange`` named), from the
        stored bars: no candle is requested. Returns the partitions rescored. Runs by itself
        when the manager stores actions with new splits (``corporate_actions(refresh=True)``,
        a read that refreshes them) and after ``tradedata cache import``/``store sync``; call
        it after storing a record another way (``cache.set_actions``). See
        :mod:`tradedata.rescoring`."""
        if symbol is None:
            return self.rescorer.rescore(None)
        named, sym = identify(symbol, exchange)
        tf = parse_timeframe(timeframe).name if timeframe else None
        return self.rescorer.rescore(sym, tf, named)

    def quality(self, symbol: str, timeframe: str, *, exchange: str | None = None) -> QualityReport:
        """The quality report of everything cached for ``symbol``/``timeframe`` (the
        ``exchange`` source's series, default: the symbol's default source)."""
        named, sym = identify(symbol, exchange)
        tf = parse_timeframe(timeframe)
        src = self.engine.resolve_source(sym, tf, None, named)
        return self.judge.validate(self.cache.read(sym, tf.name, source=src), sym, tf, src)

    # -- fetching: see tradedata.fetching ------------------------------------------------
    def fetch_missing(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        refresh: bool = False,
        *,
        exchange: str | None = None,
        fallback: str | None = None,
    ) -> FetchResult:
        """Fetch the parts of ``[start, end]`` the coverage record lacks (see
        :meth:`FetchEngine.fetch_missing <tradedata.fetching.FetchEngine.fetch_missing>`).

        ``exchange`` (or a venue-prefixed ``symbol``, ``"BYBIT:BTC/USDT"``) names the source.
        """
        src, sym = identify(symbol, exchange)
        with logs.log_context(symbol=str(symbol), timeframe=str(timeframe)):  # for JSON log lines
            return self.engine.fetch_missing(
                sym, timeframe, start, end, provider=provider, on_chunk=on_chunk,
                refresh=refresh, source=src, fallback=fallback,
            )  # fmt: skip

    def update(
        self,
        symbol: str,
        timeframe: str,
        provider: str | None = None,
        *,
        exchange: str | None = None,
    ) -> FetchResult:
        """Extend a cached series to now (re-checking its last stored bars)."""
        src, sym = identify(symbol, exchange)
        return self.engine.update(sym, timeframe, provider=provider, source=src)

    def get_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        provider: str | None = None,
        refresh: bool = False,
        on_chunk: Callable[[Chunk], None] | None = None,
        deadline: float | None = None,
        exchange: str | None = None,
        fallback: str | None = None,
        adjust: str = DEFAULT_ADJUST,
        open_interest: bool = False,
    ) -> pd.DataFrame:
        """OHLCV bars for ``symbol`` at ``timeframe`` in ``[start, end]`` (inclusive bar opens).

        The bars are one series, ``(source, symbol, timeframe)`` (:mod:`tradedata.identity`):
        ``exchange="bybit"`` or the spelling ``"BYBIT:BTC/USDT"`` names the source (a crypto
        venue, or ``consolidated``/``iex`` for equities); by default it is the source of the
        first provider the rules pick (``binance`` for crypto). Only that source's providers
        fill it. ``fallback="venues"`` (or the rule's ``fallback: venues``) fills what it could
        not deliver from other sources, stored under their own source and shown labelled:
        ``attrs["sources"]`` lists ``{"source", "start", "end", "bars"}`` runs, and the
        quality report scores the mix. ``attrs["source"]`` is the series' source.

        Equities are stored as traded and adjusted here: ``adjust="splits"`` (the default,
        Yahoo's chart basis: prices divided and volumes multiplied by later splits),
        ``"all"`` (also dividend-adjusted) or ``"raw"`` (as traded); ``attrs["adjust"]`` says
        which, ``attrs["adjust_notes"]`` what could not be applied.

        ``start``/``end`` are strings, datetimes or Timestamps (naive means UTC). With neither,
        what is cached is returned as it is (or the last 1000 bars are fetched if nothing is);
        use :meth:`update` to extend a series to now. ``provider="cache"`` never fetches.
        Missing parts are fetched first; a part
        no provider could deliver is reported (a warning and ``attrs["unfetched"]``), never
        filled. ``attrs["quality"]`` holds the :class:`~tradedata.validation.QualityReport`,
        ``attrs["provider"]`` the source(s). ``on_chunk`` is called with each fetched page
        (for progress bars). A cached part found damaged while reading is quarantined and
        fetched again in the same call (or reported in ``attrs["unfetched"]``); size-limit
        eviction never removes what the call needs (a :class:`CacheLimitWarning` says when
        ``CACHE_MAX_SIZE_GB`` is too small for it).

        ``deadline`` is the most seconds the call may spend fetching (default:
        ``TRADEDATA_DEADLINE``, else the config's ``deadline``, else none); when it passes,
        :class:`~tradedata.errors.DeadlineExceededError` names the ranges not fetched
        (``unfetched``) and what arrived before is stored. See :mod:`tradedata.deadline`.

        ``open_interest=True`` (contracts only, e.g. ``"BTC/USDT:USDT"``) also fetches the
        venue's open interest for the series' bars that lack it and stores it in the
        ``open_interest`` column, each bar getting the record stamped at its open time; bars
        the venue has none for (Binance keeps 30 days) keep NaN and are listed in
        ``attrs["open_interest_unfetched"]`` with the reason (and a warning). A spot symbol, or
        a timeframe the venue publishes no open interest for (finer than 5m), raises
        :class:`~tradedata.errors.OpenInterestUnavailableError` before anything is fetched.
        See :mod:`tradedata.open_interest`.
        """
        return self.reader.get_ohlcv(
            symbol, timeframe, start, end, provider=provider, refresh=refresh,
            on_chunk=on_chunk, deadline=deadline, exchange=exchange, fallback=fallback,
            adjust=adjust, open_interest=open_interest,
        )  # fmt: skip

    def fetch_open_interest(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        exchange: str | None = None,
        provider: str | None = None,
    ) -> list[Unfetched]:
        """Fetch and store the venue's open interest of the stored bars of a contract's series
        in ``[start, end]`` (what :meth:`get_ohlcv` does with ``open_interest=True``, without
        fetching bars); returns the bars still without it, as runs with their reason."""
        named, sym = identify(symbol, exchange)
        tf = parse_timeframe(timeframe)
        s, e = storable_range(*parse_range(start, end))
        src = self.engine.resolve_source(sym, tf, provider, named)
        return self.open_interest.fill_stored(sym, tf, s, e, src, provider)

    def corporate_actions(self, symbol: str, refresh: bool = False) -> CorporateActions | None:
        """The splits and dividends of ``symbol`` as stored (asked for again when older than a
        day, or with ``refresh``); None when no provider could say and none are stored."""
        sym = normalize_symbol(symbol)
        if refresh:
            return self.adjuster.refresh(sym)
        return self.adjuster.actions(sym, pd.Timestamp("1970-01-02", tz="UTC"))[0]

    def get_panel(
        self,
        symbols: str | Iterable[str],
        timeframe: str,
        start: Any = None,
        end: Any = None,
        field: str | Sequence[str] | None = "close",
        *,
        provider: str | None = None,
        max_workers: int = 4,
    ) -> pd.DataFrame:
        """Many symbols on one time index: columns are symbols (one ``field``) or, with
        ``field=None``/``"ohlcv"``, a ``(field, symbol)`` MultiIndex. Bars a symbol lacks are
        NaN, reported per symbol in ``attrs["gaps"]``/``attrs["unfetched"]``; missing parts
        are fetched concurrently. See :mod:`tradedata.panel`."""
        return panel.get_panel(
            self, symbols, timeframe, start, end, field, provider=provider, max_workers=max_workers
        )

    def get_live_feed(
        self,
        symbol: str,
        timeframe: str,
        lookback_bars: int = 1000,
        *,
        exchange: str | None = None,
        on_bar: Callable[..., Any] | None = None,
        on_status: Callable[[str, str], Any] | None = None,
        **options: Any,
    ) -> LiveFeed:
        """A running live feed of ``symbol``: ``lookback_bars`` of history, then each closed
        bar, with the live store's shared websocket, reconnection and gap fill; no backtrader.

        Iterate it (``for bar in feed`` / ``async for``), or pass ``on_bar(bar)`` /
        ``on_status(status, detail)``; ``feed.close()`` stops it. ``exchange`` defaults to the
        first streaming provider the config picks. See :mod:`tradedata.feeds.live.plain` (the
        one place the manager reaches up into feeds: imported here, only when called).
        """
        from tradedata.feeds.live.plain import LiveFeed

        return LiveFeed(
            self, symbol, timeframe, lookback_bars,
            exchange=exchange, on_bar=on_bar, on_status=on_status, **options,
        )  # fmt: skip

    # -- imports ---------------------------------------------------------------------------
    def import_frame(
        self,
        frame: pd.DataFrame,
        symbol: str,
        timeframe: str,
        source: str = "import",
        *,
        exchange: str | None = None,
    ) -> QualityReport:
        """Store a frame of bars as ``symbol``/``timeframe``, labelled as provided by ``source``.

        The bars join the series of ``exchange`` (or of a venue-prefixed ``symbol``,
        ``"BYBIT:BTC/USDT"``), else the one :meth:`get_ohlcv` reads by default (the source of
        the rules' first provider). Exact duplicate rows are dropped;
        conflicting duplicates (same time, other values) raise :class:`DataValidationError`
        and nothing is written. Returns the quality report.
        """
        return self.importer.import_frame(frame, symbol, timeframe, source, exchange)

    def import_csv(
        self,
        path: str | os.PathLike[str],
        symbol: str,
        timeframe: str,
        *,
        label: str | None = None,
        exchange: str | None = None,
        tz: str | None = None,
    ) -> QualityReport:
        """Import a backtrader, Yahoo or generic CSV file (see :mod:`tradedata.csvio`) into the
        ``exchange`` series (see :meth:`import_frame`).

        Columns the file has beyond OHLCV (``adj_close``, open interest) are stored too.
        ``tz`` (e.g. ``"Europe/Berlin"``) reads intraday stamps as that exchange-local wall
        time, across DST (:class:`~tradedata.errors.LocalTimeError` for an impossible or
        ambiguous stamp); without it stamps without an offset are UTC.
        """
        return self.importer.import_csv(
            path, symbol, timeframe, label=label, exchange=exchange, tz=tz
        )

    # -- the rest --------------------------------------------------------------------------
    def stats(self) -> Stats:
        """Requests, errors, retries, latency, circuits and cache traffic (see tradedata.stats).

        ``.process`` counts since process start, ``.persisted`` since the last
        :meth:`reset_stats` (kept in the cache directory, summed over processes).
        """
        return stats.collect(self.cache.directory)

    def reset_stats(self) -> None:
        """Start the persisted statistics of this cache directory again from zero."""
        stats.reset(self.cache.directory)

    def cache_info(self) -> dict[str, Any]:
        """Size, location, limit and contents of the cache."""
        return self.cache.info()

    def series(self) -> list[Any]:
        """Every cached series (source, symbol, timeframe, range, bars, size, score,
        providers)."""
        return self.cache.series()

    def source_for(self, symbol: str, timeframe: str = "1d", *, exchange: str | None = None) -> str:
        """The source of the series :meth:`get_ohlcv` reads for ``symbol`` at ``timeframe``
        with no provider pinned: ``exchange`` (or a venue-prefixed ``symbol``) when named, else
        the source of the first provider the rules pick (the rule's primary venue, or the
        volume scope of the equity provider first in line)."""
        named, sym = identify(symbol, exchange)
        return self.engine.resolve_source(sym, parse_timeframe(timeframe), None, named)

    def delete_series(
        self, symbol: str, timeframe: str | None = None, *, exchange: str | None = None
    ) -> list[tuple[str, str | None, int]]:
        """Remove what :meth:`get_ohlcv` reads for ``symbol``: the series of ``timeframe`` (or
        of every cached timeframe) of the source :meth:`source_for` names, or of ``exchange``
        (or a venue-prefixed ``symbol``). Other sources' series stay. Returns ``(source,
        timeframe, partitions removed)`` per series removed (timeframe None: every timeframe
        of a named source at once)."""
        named, sym = identify(symbol, exchange)
        tf = parse_timeframe(timeframe) if timeframe is not None else None
        return delete_read_series(self.cache, self.engine.resolve_source, sym, tf, named)

    def cached_timeframes(self, symbol: str) -> dict[str, list[str]]:
        """The timeframes with bars or coverage stored for ``symbol``, each with the sources
        holding it."""
        return cached_timeframes(self.cache, normalize_symbol(symbol))

    def delete(
        self, symbol: str, timeframe: str | None = None, *, exchange: str | None = None
    ) -> int:
        """Remove a cached series (or every timeframe of a symbol) of the ``exchange`` source
        (or a venue-prefixed ``symbol``; default: the source :meth:`get_ohlcv` reads at each
        timeframe, see :meth:`delete_series`); returns partitions removed."""
        return sum(n for _, _, n in self.delete_series(symbol, timeframe, exchange=exchange))

    def export_parquet(self, dest: str | os.PathLike[str], **options: Any) -> Any:
        """Write the cache as a Hive-partitioned Parquet dataset at ``dest`` (a folder or URL).

        Incremental and atomic; ``options`` are those of
        :func:`tradedata.parquet.export.export_parquet`. Returns its ``ParquetExport`` summary.
        """
        from tradedata.parquet.export import export_parquet

        return export_parquet(dest, cache=self.cache, **options)

    def get_fundamentals(
        self,
        symbol: str,
        providers: list[str] | None = None,
        combination_strategy: str = "priority_based",
        max_age: float | None = None,
        refresh: bool = False,
    ) -> Fundamentals:
        """Company fundamentals merged across providers, TTL-cached (see tradedata.fundamentals)."""
        from tradedata.fundamentals import get_fundamentals

        return get_fundamentals(
            self,
            symbol,
            providers=providers,
            combination_strategy=combination_strategy,
            max_age=max_age,
            refresh=refresh,
        )


_singleton: DataManager | None = None
_singleton_lock = threading.Lock()


def get_data_manager() -> DataManager:
    """The process-wide :class:`DataManager` (default cache directory and config)."""
    global _singleton
    with _singleton_lock:
        if _singleton is None:
            _singleton = DataManager()
        return _singleton
