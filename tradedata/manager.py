"""DataManager: the one front door to cached, validated market data.

``get_ohlcv`` serves from the cache and fetches only what the coverage record says was never
fetched, from the best provider, failing over mid-request to the next one; every chunk is
written to the cache (with its coverage) as it arrives, so an interrupted fetch resumes where it
stopped. Every frame handed out carries its quality report in ``frame.attrs["quality"]``.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.config import Config, load_config, provider_settings
from tradedata.errors import (
    AllProvidersFailedError,
    DataValidationError,
    MissingAPIKeyError,
    ProviderError,
    ProviderUnavailableError,
    TradeDataError,
    UnsupportedError,
)
from tradedata.model import Timeframe, normalize_frame, parse_range, parse_timeframe
from tradedata.symbols import normalize_symbol, symbol_info

if TYPE_CHECKING:
    from tradedata.adapters.base import Chunk, Provider
    from tradedata.cache import Cache
    from tradedata.fundamentals import Fundamentals
    from tradedata.selection import ProviderSelector
    from tradedata.validation import QualityReport

__all__ = ["DataManager", "FetchResult", "get_data_manager"]

log = logging.getLogger("tradedata")

#: Bars fetched when neither the cache nor the caller says where to start.
DEFAULT_BARS = 1000
#: ``provider=CACHE_ONLY`` serves from the cache and never fetches.
CACHE_ONLY = "cache"
#: Bars buffered before a write while fetching (one partition re-encode per batch).
FLUSH_BARS = 50_000
#: Most recent stored bars fetched again when a series is extended (late corrections).
RECHECK_BARS = 2


@dataclass
class FetchResult:
    """What one :meth:`DataManager.fetch_missing` call did."""

    bars: int = 0
    requests: int = 0
    providers: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    unfetched: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every hole in the requested range was fetched."""
        return not self.unfetched


@dataclass
class _Cursor:
    """Where the next fetch of a hole starts; advanced chunk by chunk."""

    start: pd.Timestamp


def quality_summary(report: QualityReport) -> dict[str, Any]:
    """The ``data_quality`` block stored in partition metadata."""
    return {
        "score": report.score,
        "validation_errors": list(report.validation_errors),
        "gaps": len(report.gaps),
        "duplicates": int(report.checks.get("duplicates", 0)),
    }


class DataManager:
    """Cache-first access to OHLCV data and fundamentals, with provider failover.

    ``cache_dir`` defaults to ``DATA_CACHE_DIR`` or the platform's user cache directory;
    ``config`` is a :class:`~tradedata.config.Config`, a dict, or a YAML path (default: the
    user's config file, if any); ``providers`` overrides per-provider settings, e.g.
    ``{"binance": {"url": "http://127.0.0.1:8765"}}``.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        max_size_gb: float | None = None,
    ) -> None:
        from tradedata.cache import Cache

        self.config = load_config(config, providers=providers)
        self.cache: Cache = Cache(
            cache_dir or self.config.cache_dir,
            max_size_gb=max_size_gb or self.config.cache_max_size_gb,
        )
        self._providers: dict[str, Provider] = {}
        self._lock = threading.RLock()
        self._selector: ProviderSelector | None = None

    def __repr__(self) -> str:
        return f"<DataManager cache_dir={str(self.cache_dir)!r}>"

    @property
    def cache_dir(self) -> Any:
        """The cache directory (a ``pathlib.Path``)."""
        return self.cache.directory

    @property
    def selector(self) -> ProviderSelector:
        """The :class:`~tradedata.selection.ProviderSelector` built from the config's rules."""
        if self._selector is None:
            from tradedata.selection import ProviderSelector

            self._selector = ProviderSelector(self.config.rules, self.config)
        return self._selector

    def provider(self, name: str) -> Provider:
        """The provider instance for ``name`` (one per manager, created on first use)."""
        with self._lock:
            prov = self._providers.get(name)
            if prov is None:
                from tradedata.adapters import create_provider

                prov = create_provider(name, provider_settings(name, self.config))
                self._providers[name] = prov
            return prov

    def add_provider(self, provider: Provider, name: str | None = None) -> None:
        """Use ``provider`` (any :class:`~tradedata.adapters.base.Provider`) under ``name``.

        Name it in the config's ``rules`` or pass ``provider=name`` to use it.
        """
        with self._lock:
            self._providers[name or provider.name] = provider

    def close(self) -> None:
        """Close provider connections and the cache."""
        with self._lock:
            for prov in self._providers.values():
                prov.close()
            self._providers.clear()
        self.cache.close()

    def __enter__(self) -> DataManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- quality ---------------------------------------------------------------------------
    def _validate(self, frame: pd.DataFrame, symbol: str, tf: Timeframe) -> QualityReport:
        from tradedata.validation import validate

        frame.attrs["symbol"] = symbol  # the report names its series
        return validate(frame, tf.name, calendar=self._calendar(symbol))

    @staticmethod
    def _calendar(symbol: str) -> str:
        try:
            return symbol_info(symbol).calendar
        except TradeDataError:
            return "24/7"

    def _quality_fn(self, symbol: str, tf: Timeframe) -> Callable[[pd.DataFrame], dict[str, Any]]:
        return lambda part: quality_summary(self._validate(part, symbol, tf))

    def quality(self, symbol: str, timeframe: str) -> QualityReport:
        """The quality report of everything cached for ``symbol``/``timeframe``."""
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        return self._validate(self.cache.read(sym, tf.name), sym, tf)

    # -- fetching --------------------------------------------------------------------------
    def _candidates(self, symbol: str, tf: Timeframe, provider: str | None) -> list[str]:
        if provider == CACHE_ONLY:
            raise ProviderUnavailableError(
                f"{symbol} {tf.name}: not in the cache (provider='cache' fetches nothing)"
            )
        if provider:
            return [provider]
        return self.selector.get_provider_with_failover(symbol, tf.name)

    def _recheck_start(self, symbol: str, tf: Timeframe, start: pd.Timestamp) -> pd.Timestamp:
        """Move a hole that extends the series' end back over its last stored bars."""
        spans = self.cache.coverage(symbol, tf.name)
        if not spans:
            return start
        last_end = max(s.end for s in spans)
        if tf.next_open(last_end) != start:
            return start
        back = last_end
        for _ in range(RECHECK_BARS - 1):
            back = tf.floor(back - pd.Timedelta(nanoseconds=1))
        return back

    def _fetch_hole(
        self,
        symbol: str,
        tf: Timeframe,
        hole: tuple[pd.Timestamp, pd.Timestamp],
        names: list[str],
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
    ) -> None:
        cursor = _Cursor(hole[0])
        end = hole[1]
        for name in names:
            if cursor.start > end:
                return
            try:
                prov = self.provider(name)
                depth = prov.history_start(tf, prov.now())
                if depth is not None and cursor.start < depth:
                    if name != names[-1]:
                        raise UnsupportedError(
                            f"{name} keeps {tf.name} history only from {depth:%Y-%m-%d}",
                            provider=name,
                        )
                    result.unfetched.append((cursor.start, depth))  # last resort: recent part
                    cursor.start = depth if tf.floor(depth) == depth else tf.next_open(depth)
                self._fetch_from(prov, symbol, tf, cursor, end, result, on_chunk)
                return
            except (ProviderError, MissingAPIKeyError) as exc:
                result.errors[name] = str(exc)
                log.warning("%s failed for %s %s: %s", name, symbol, tf.name, exc)
        if cursor.start <= end:
            result.unfetched.append((cursor.start, end))

    def _fetch_from(
        self,
        prov: Provider,
        symbol: str,
        tf: Timeframe,
        cursor: _Cursor,
        end: pd.Timestamp,
        result: FetchResult,
        on_chunk: Callable[[Chunk], None] | None,
    ) -> None:
        """Fetch ``[cursor.start, end]`` from one provider, storing in batches as pages arrive.

        Pages are buffered up to :data:`FLUSH_BARS` bars and written with their coverage in
        one go (a partition is re-encoded once per batch, not once per page). Whatever has
        arrived is stored before an error propagates, so failover continues from there.
        """
        buffer: list[Chunk] = []
        pending = 0
        try:
            for chunk in prov.iter_chunks(symbol, tf, cursor.start, end):
                result.requests += chunk.requests
                result.bars += len(chunk.frame)
                if prov.name not in result.providers:
                    result.providers.append(prov.name)
                buffer.append(chunk)
                pending += len(chunk.frame)
                if on_chunk is not None:
                    on_chunk(chunk)
                if pending >= FLUSH_BARS:
                    self._store(symbol, tf, buffer, cursor)
                    buffer, pending = [], 0
        finally:
            self._store(symbol, tf, buffer, cursor)

    def _store(self, symbol: str, tf: Timeframe, chunks: list[Chunk], cursor: _Cursor) -> None:
        """Write consecutive chunks of one provider and record their coverage."""
        if not chunks:
            return
        first, last = chunks[0], chunks[-1]
        frames = [c.frame for c in chunks if len(c.frame)]
        if frames:
            data = pd.concat(frames) if len(frames) > 1 else frames[0]
            self.cache.write(
                symbol,
                tf.name,
                data,
                source=first.provider,
                quality=self._quality_fn(symbol, tf),
                coverage=(first.start, last.end),  # data and coverage in one transaction
            )
        else:
            self.cache.add_coverage(symbol, tf.name, first.start, last.end, first.provider)
        cursor.start = tf.next_open(chunks[-1].end)

    def fetch_missing(
        self,
        symbol: str,
        timeframe: str,
        start: Any,
        end: Any,
        provider: str | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        refresh: bool = False,
    ) -> FetchResult:
        """Fetch the parts of ``[start, end]`` the coverage record lacks; store them as they come.

        With ``refresh`` the whole range is fetched again. The still-open candle is never
        stored. Returns a :class:`FetchResult`; holes no provider could fill are listed in
        ``unfetched`` (and each provider's error in ``errors``), never filled in.
        """
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        s, e = parse_range(start, end)
        if s is None or e is None:
            raise DataValidationError("fetch_missing needs both start and end")
        holes = [(s, e)] if refresh else self.cache.missing_ranges(sym, tf.name, s, e)
        result = FetchResult()
        if not holes:
            return result
        try:
            names = self._candidates(sym, tf, provider)
        except (ProviderError, MissingAPIKeyError) as exc:
            result.errors["selection"] = str(exc)
            result.unfetched.extend(holes)
            return result
        for i, (h_start, h_end) in enumerate(holes):
            if i == len(holes) - 1:
                h_start = max(s, self._recheck_start(sym, tf, h_start))
            self._fetch_hole(sym, tf, (h_start, h_end), names, result, on_chunk)
        return result

    def update(self, symbol: str, timeframe: str, provider: str | None = None) -> FetchResult:
        """Extend a cached series to now (re-checking its last stored bars)."""
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        spans = self.cache.coverage(sym, tf.name)
        now = pd.Timestamp.now(tz="UTC")
        start = min(s.start for s in spans) if spans else now - tf.delta * DEFAULT_BARS
        return self.fetch_missing(sym, tf.name, start, now, provider=provider)

    def get_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        provider: str | None = None,
        refresh: bool = False,
        on_chunk: Callable[[Chunk], None] | None = None,
    ) -> pd.DataFrame:
        """OHLCV bars for ``symbol`` at ``timeframe`` in ``[start, end]`` (inclusive bar opens).

        ``start``/``end`` are strings, datetimes or Timestamps (naive means UTC). With neither,
        what is cached is returned as it is (or the last 1000 bars are fetched if nothing is);
        use :meth:`update` to extend a series to now. ``provider="cache"`` never fetches.
        Missing parts are fetched first; a part
        no provider could deliver is reported (a warning and ``attrs["unfetched"]``), never
        filled. ``attrs["quality"]`` holds the :class:`~tradedata.validation.QualityReport`,
        ``attrs["provider"]`` the source(s). ``on_chunk`` is called with each fetched page
        (for progress bars).
        """
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        s, e = parse_range(start, end)
        result = FetchResult()
        if not (s is None and e is None and self.cache.has(sym, tf.name) and not refresh):
            e = e if e is not None else pd.Timestamp.now(tz="UTC")
            s = s if s is not None else e - tf.delta * DEFAULT_BARS
            result = self.fetch_missing(
                sym, tf.name, s, e, provider=provider, on_chunk=on_chunk, refresh=refresh
            )
        frame = self.cache.read(sym, tf.name, s, e)
        unf = result.unfetched
        if unf:
            if frame.empty:
                raise AllProvidersFailedError(
                    f"no data for {sym} {tf.name}: " + "; ".join(result.errors.values()),
                    errors={k: ProviderError(v) for k, v in result.errors.items()},
                )
            holes = ", ".join(
                f"{a:%Y-%m-%d %H:%M}..{b:%Y-%m-%d %H:%M}" for a, b in result.unfetched
            )
            warnings.warn(f"{sym} {tf.name}: could not fetch {holes}", stacklevel=2)
        return self._decorate(frame, sym, tf, result)

    def _decorate(
        self, frame: pd.DataFrame, symbol: str, tf: Timeframe, result: FetchResult
    ) -> pd.DataFrame:
        sources = []
        if len(frame):
            first, last = frame.index[0], frame.index[-1]
            for span in self.cache.coverage(symbol, tf.name):
                if span.end >= first and span.start <= last and span.provider not in sources:
                    sources.append(span.provider)
        frame.attrs.update(
            symbol=symbol,
            timeframe=tf.name,
            provider="+".join(sources) if sources else None,
            quality=self._validate(frame, symbol, tf),
            unfetched=list(result.unfetched),
        )
        return frame

    # -- imports ---------------------------------------------------------------------------
    def import_frame(
        self, frame: pd.DataFrame, symbol: str, timeframe: str, source: str = "import"
    ) -> QualityReport:
        """Store a frame of bars as ``symbol``/``timeframe`` from ``source``.

        Exact duplicate rows are dropped; conflicting duplicates (same time, other values)
        raise :class:`DataValidationError` and nothing is written. Returns the quality report.
        """
        sym, tf = normalize_symbol(symbol), parse_timeframe(timeframe)
        data = normalize_frame(frame)
        dup_rows = data.reset_index().duplicated(keep="last").to_numpy()
        data = data[~dup_rows]
        conflicts = data.index[data.index.duplicated()]
        if len(conflicts):
            shown = ", ".join(str(t) for t in conflicts[:3])
            raise DataValidationError(
                f"{len(conflicts)} timestamp(s) with conflicting bars ({shown}); "
                "clean them with tradedata.repair() first"
            )
        if data.empty:
            raise DataValidationError(f"nothing to import for {sym} {tf.name}: no bars")
        self.cache.write(
            sym,
            tf.name,
            data,
            source=source,
            quality=self._quality_fn(sym, tf),
            coverage=(data.index[0], data.index[-1]),
        )
        return self._validate(data, sym, tf)

    def import_csv(
        self,
        path: str | os.PathLike[str],
        symbol: str,
        timeframe: str,
        *,
        label: str | None = None,
    ) -> QualityReport:
        """Import a backtrader, Yahoo or generic CSV file (see :mod:`tradedata.csvio`)."""
        from tradedata.csvio import read_csv

        frame = read_csv(path, timeframe, label=label)
        return self.import_frame(frame, symbol, timeframe, source=f"csv:{os.path.basename(path)}")

    # -- the rest --------------------------------------------------------------------------
    def cache_info(self) -> dict[str, Any]:
        """Size, location, limit and contents of the cache."""
        return self.cache.info()

    def series(self) -> list[Any]:
        """Every cached series (symbol, timeframe, range, bars, size, score, providers)."""
        return self.cache.series()

    def delete(self, symbol: str, timeframe: str | None = None) -> int:
        """Remove a cached series (or every timeframe of a symbol); returns partitions removed."""
        tf = parse_timeframe(timeframe).name if timeframe else None
        return self.cache.delete(normalize_symbol(symbol), tf)

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
