"""Bars from files and frames into the store (``DataManager.import_frame``/``import_csv``).

Imported bars join one series, ``(source, symbol, timeframe)`` (:mod:`tradedata.identity`),
labelled as provided by the import (``"import"``, ``"csv:<file name>"``); their range is
recorded as covered. Exact duplicate rows are dropped; conflicting duplicates (same time,
other values) raise :class:`~tradedata.errors.DataValidationError` and nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from tradedata.errors import DataValidationError
from tradedata.identity import identify
from tradedata.model import Timeframe, normalize_frame, parse_timeframe

if TYPE_CHECKING:
    from tradedata.cache.interface import Store
    from tradedata.judging import Judge
    from tradedata.validation import QualityReport

__all__ = ["Importer", "import_bars"]


def import_bars(frame: pd.DataFrame, symbol: str, tf: Timeframe) -> pd.DataFrame:
    """``frame`` normalised, exact duplicate rows dropped; raises
    :class:`DataValidationError` for conflicting duplicates or when no bar is left."""
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
        raise DataValidationError(f"nothing to import for {symbol} {tf.name}: no bars")
    return data


class Importer:
    """Stores imported bars (the manager's :attr:`~tradedata.manager.DataManager.importer`).

    ``resolve_source(symbol, tf, provider, named)`` is the series' source as a read would
    pick it (:meth:`FetchEngine.resolve_source <tradedata.fetching.FetchEngine.resolve_source>`);
    ``judge`` scores and records the bars' quality.
    """

    def __init__(self, cache: Store, resolve_source: Callable[..., str], judge: Judge) -> None:
        self.cache = cache
        self._resolve_source = resolve_source
        self.judge = judge

    def import_frame(
        self, frame: pd.DataFrame, symbol: str, timeframe: str, source: str, exchange: str | None
    ) -> QualityReport:
        """Store ``frame`` as :meth:`DataManager.import_frame` does; returns its report."""
        named, sym = identify(symbol, exchange)
        tf = parse_timeframe(timeframe)
        src = self._resolve_source(sym, tf, None, named)
        data = import_bars(frame, sym, tf)
        self.cache.write(
            sym,
            tf.name,
            data,
            source=src,
            provider=source,
            quality=self.judge.quality_fn(sym, tf, src),
            coverage=(data.index[0], data.index[-1]),
        )
        return self.judge.validate(data, sym, tf, src)

    def import_csv(
        self,
        path: str | os.PathLike[str],
        symbol: str,
        timeframe: str,
        *,
        label: str | None,
        exchange: str | None,
        tz: str | None,
    ) -> QualityReport:
        """Read ``path`` (:func:`tradedata.csvio.read_csv`) and store it labelled
        ``csv:<file name>`` (:meth:`import_frame`)."""
        from tradedata.csvio import read_csv

        frame = read_csv(path, timeframe, label=label, tz=tz)
        name = f"csv:{os.path.basename(path)}"
        return self.import_frame(frame, symbol, timeframe, name, exchange)
