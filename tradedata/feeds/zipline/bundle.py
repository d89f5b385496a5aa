"""The function zipline calls to ingest a tradedata bundle, and the writes it makes.

zipline creates the writers in a temporary directory and moves it into ``$ZIPLINE_ROOT`` only
when the ingest function returns, so a refusal (e.g. a :class:`PrecisionError`) leaves no
half-written bundle behind.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tradedata.feeds.zipline.assets import SidRegistry, asset_frames
from tradedata.feeds.zipline.calendar import register_calendars
from tradedata.feeds.zipline.ingest import BundleSpec, IngestRun, PreparedAsset
from tradedata.feeds.zipline.prepare import dividend_rows, split_rows
from tradedata.feeds.zipline.report import IngestReport, publish

__all__ = ["INGEST_MARK", "make_ingest", "sid_registry"]

log = logging.getLogger("tradedata.zipline")

#: Attribute set on ingest functions made here (so re-registering one is not a "trample").
INGEST_MARK = "__tradedata_bundle__"


def sid_registry(cache_dir: Any) -> SidRegistry:
    """The sid registry kept in a tradedata cache directory."""
    return SidRegistry(Path(cache_dir) / "zipline")


def _manager(spec: BundleSpec) -> tuple[Any, bool]:
    if spec.manager is not None:
        return spec.manager, False
    from tradedata.manager import DataManager

    return DataManager(cache_dir=spec.cache_dir), True


def _minute_writer(writer: Any, calendar: Any, ratios: dict[int, int]) -> Any:
    """A minute writer over the same directory whose metadata records per-sid price ratios.

    zipline's ``BcolzMinuteBarWriter`` takes ``ohlc_ratios_per_sid`` only in its constructor
    and writes it to the metadata there, so the writer zipline made is re-created with it.
    """
    from zipline.data.bcolz_minute_bars import OHLC_RATIO, BcolzMinuteBarWriter

    return BcolzMinuteBarWriter(
        writer._rootdir,
        calendar,
        writer._start_session,
        writer._end_session,
        writer._minutes_per_day,
        default_ohlc_ratio=OHLC_RATIO,
        ohlc_ratios_per_sid=ratios,
    )


def _adjustments(
    run: IngestRun, assets: Sequence[PreparedAsset]
) -> tuple[pd.DataFrame | None, ...]:
    splits = [split_rows(a.report.sid, run.in_range(a.splits)) for a in assets]
    dividends = [dividend_rows(a.report.sid, run.in_range(a.dividends)) for a in assets]
    split_frame = pd.concat(splits, ignore_index=True) if splits else None
    dividend_frame = pd.concat(dividends, ignore_index=True) if dividends else None
    if split_frame is not None and split_frame.empty:
        split_frame = None
    if dividend_frame is not None and dividend_frame.empty:
        dividend_frame = None
    return split_frame, dividend_frame


def _write(
    run: IngestRun,
    assets: Sequence[PreparedAsset],
    writers: tuple[Any, Any, Any, Any],
    show_progress: bool,
) -> None:
    asset_db_writer, minute_bar_writer, daily_bar_writer, adjustment_writer = writers
    sids = [a.report.sid for a in assets]
    # Checked already; "ignore" turns the NaN rows of missing sessions into zeros (no data).
    daily_bar_writer.write(
        ((a.report.sid, a.daily) for a in assets),
        assets=set(sids),
        show_progress=show_progress,
        invalid_data_behavior="ignore",
    )
    if run.spec.minute:
        ratios = {a.report.sid: int(a.report.price_ratio or 1000) for a in assets}
        writer = _minute_writer(minute_bar_writer, run.calendar, ratios)
        writer.write(
            ((a.report.sid, a.minutes) for a in assets if a.minutes is not None),
            show_progress=show_progress,
            invalid_data_behavior="raise",
        )
    splits, dividends = _adjustments(run, assets)
    adjustment_writer.write(splits=splits, dividends=dividends)  # after the daily bars: ratios
    equities, exchanges = asset_frames([a.row for a in assets])
    with warnings.catch_warnings():  # zipline 3.2's own groupby.apply, not ours to fix
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"zipline\.assets")
        asset_db_writer.write(equities=equities, exchanges=exchanges)


def make_ingest(spec: BundleSpec) -> Callable[..., IngestReport]:
    """The ingest function zipline calls for ``spec`` (see ``zipline.data.bundles.register``)."""

    def ingest(
        environ: Any,
        asset_db_writer: Any,
        minute_bar_writer: Any,
        daily_bar_writer: Any,
        adjustment_writer: Any,
        calendar: Any,
        start_session: Any,
        end_session: Any,
        cache: Any,
        show_progress: bool,
        output_dir: str,
    ) -> IngestReport:
        register_calendars()  # zipline reads the calendar name back from the bars on load
        run = IngestRun(spec, calendar, start_session, end_session)
        dm, owned = _manager(spec)
        try:
            sids = sid_registry(dm.cache_dir).assign(spec.symbols)
            assets = [run.prepare(dm, sym, sids[sym]) for sym in spec.symbols]
        finally:
            if owned:
                dm.close()
        writers = (asset_db_writer, minute_bar_writer, daily_bar_writer, adjustment_writer)
        _write(run, assets, writers, show_progress)
        report = IngestReport(
            bundle=spec.name,
            calendar=spec.calendar,
            timeframe=spec.timeframe,
            start_session=f"{run.start:%Y-%m-%d}",
            end_session=f"{run.end:%Y-%m-%d}",
            assets=[a.report for a in assets],
        )
        if output_dir:
            report.save(output_dir)
        publish(report)
        return report

    setattr(ingest, INGEST_MARK, spec)
    return ingest
