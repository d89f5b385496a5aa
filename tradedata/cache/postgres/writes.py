"""One write of the PostgreSQL store: a batch of bars, checked, then committed as a whole.

:class:`Batch` is the frame made ready (schema columns, sorted, duplicates dropped and
counted, times checked); :func:`write_batch` runs inside one transaction under the series
row's lock: the bars (binary ``COPY``), the series' column flags, each touched year's
metadata (computed from its rows as they now are), its read blocks
(:mod:`tradedata.cache.postgres.blocks`) and the coverage the batch proves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tradedata.cache.interface import QualityFn
from tradedata.cache.layout import dumps, years_of
from tradedata.cache.postgres import blocks, catalog
from tradedata.cache.postgres.io import put_bars
from tradedata.cache.postgres.meta import year_meta, year_rows
from tradedata.cache.postgres.records import update_spans
from tradedata.cache.postgres.schema import SCHEMA
from tradedata.errors import DataValidationError
from tradedata.model import Timeframe, normalize_frame

__all__ = ["Batch", "write_batch"]

_FIRST_YEAR, _LAST_YEAR = 1678, 2261


@dataclass(frozen=True)
class Batch:
    """Bars ready to write: sorted unique ns times, float64 columns, who delivered them."""

    ts: np.ndarray
    values: dict[str, np.ndarray]
    dupes: np.ndarray  # the year of each duplicate timestamp dropped
    provider: str
    provider_info: dict | None
    quality: QualityFn | None
    span: tuple[int, int] | None
    touched: list[int]  # the years holding bars of the batch, ascending

    @classmethod
    def of(
        cls,
        frame: pd.DataFrame,
        *,
        provider: str,
        provider_info: dict | None,
        quality: QualityFn | None,
        span: tuple[int, int] | None,
    ) -> Batch:
        """Check and normalise ``frame`` (the last of duplicate timestamps wins)."""
        data = normalize_frame(frame)
        ts = data.index.asi8
        dupes = np.zeros(0, dtype=np.int64)
        if ts.size > 1 and not (np.diff(ts) > 0).all():
            last = np.concatenate((ts[1:] != ts[:-1], [True]))
            dupes = years_of(ts[~last])
            data, ts = data[last], ts[last]
        years = years_of(ts)
        if ts.size and (years[0] < _FIRST_YEAR or years[-1] > _LAST_YEAR):
            raise DataValidationError(f"bar times must lie in {_FIRST_YEAR}..{_LAST_YEAR}")
        if ts.size and (ts % 1000).any():
            raise DataValidationError("the PostgreSQL store keeps bar times to the microsecond")
        values = {c: np.ascontiguousarray(data[c].to_numpy(np.float64)) for c in data.columns}
        touched = [int(y) for y in np.unique(years)]
        return cls(ts, values, dupes, provider, provider_info, quality, span, touched)


def write_batch(cur: Any, key: catalog.Key, tf: Timeframe, batch: Batch) -> None:
    """Write ``batch`` into the series ``key`` (inside the caller's transaction)."""
    series_id, *flags = catalog.series_row(cur, key, create=True)
    if batch.ts.size:
        put_bars(cur, series_id, batch.ts, batch.values, catalog.provider_id(cur, batch.provider))
        for i, (column, flag) in enumerate(catalog.COLUMN_FLAGS):
            if column in batch.values and not flags[i]:
                cur.execute(f"UPDATE {SCHEMA}.series SET {flag} = true WHERE id = %s", (series_id,))
                flags[i] = True
        columns = catalog.columns_of((series_id, *flags))
        for year in batch.touched:
            rows, ids = year_rows(cur, series_id, year, columns, batch.ts)
            dropped = int((batch.dupes == year).sum())
            meta = year_meta(
                cur, series_id, key, year, rows,
                (batch.provider, batch.provider_info, batch.quality, dropped),
            )  # fmt: skip
            cur.execute(
                f"INSERT INTO {SCHEMA}.metadata (series_id, year, meta) VALUES"
                " (%s, %s, %s::jsonb) ON CONFLICT (series_id, year) DO UPDATE"
                " SET meta = EXCLUDED.meta",
                (series_id, year, dumps(meta)),
            )
            blocks.save_year(
                cur, series_id, year, (rows.timestamps, rows.values, rows.columns, ids), batch.ts
            )
    if batch.span is not None:
        update_spans(cur, series_id, tf, batch.span[0], batch.span[1], batch.provider)
