"""CandleChart: what the figure holds after construction, zooms, resets and appended bars."""

from __future__ import annotations

import queue
import time

import numpy as np
import pandas as pd
import pytest

from tests.support.memory_provider import synthetic
from tests.widgets.widget_helpers import damaged_hourly, relayout, x_of
from tradedata.errors import InputError
from tradedata.validation import validate
from tradedata.widgets import CandleChart


def test_the_layout_is_set_in_the_constructor_with_volume_and_range_slider():
    frame = synthetic("2024-01-01", 200, freq="1h")

    chart = CandleChart(frame, title="BTC/USDT 1h")

    lay = chart.figure.layout
    assert [t.type for t in chart.figure.data] == ["candlestick", "bar", "scatter"]
    assert chart.figure.data[1].yaxis == "y2"
    assert lay.xaxis.rangeslider.visible is True
    assert lay.yaxis2.domain[1] < lay.yaxis.domain[0]  # volume sits below the prices
    assert lay.title.text == "BTC/USDT 1h"
    assert chart.children == (chart.figure,)


def test_small_frames_are_drawn_candle_for_candle():
    frame = synthetic("2024-01-01", 200, freq="1h")

    chart = CandleChart(frame)

    assert chart.display_timeframe is None
    assert x_of(chart.figure).equals(pd.DatetimeIndex(frame.index.tz_convert("UTC")))
    np.testing.assert_array_equal(chart.figure.data[0].close, frame["close"].to_numpy())
    np.testing.assert_array_equal(chart.figure.data[1].y, frame["volume"].to_numpy())


def test_a_year_of_minutes_draws_at_most_max_candles(minute_year):
    chart = CandleChart(minute_year, max_candles=2500)

    assert len(chart.figure.data[0].x) <= 2500
    assert chart.display_timeframe == "4h"
    assert chart.figure.layout.xaxis.autorange is True


def test_zooming_in_the_browser_redraws_the_window_at_full_resolution(minute_year):
    chart = CandleChart(minute_year, max_candles=2500)
    started = time.perf_counter()

    relayout(
        chart.figure,
        {"xaxis.range[0]": "2023-06-01 00:00:00", "xaxis.range[1]": "2023-06-02 00:00:00"},
    )

    elapsed = time.perf_counter() - started
    x = x_of(chart.figure)
    day = minute_year.loc["2023-06-01 00:00":"2023-06-02 00:00"]
    assert chart.display_timeframe is None
    assert chart.view_range == (
        pd.Timestamp("2023-06-01", tz="UTC"),
        pd.Timestamp("2023-06-02", tz="UTC"),
    )
    assert x.isin(day.index).sum() == len(day)  # every minute of the window is drawn
    assert (x.to_series().diff().dropna() == pd.Timedelta("1min")).all()
    assert len(x) <= 2500
    assert elapsed < 2.0  # typically a few tens of milliseconds


def test_a_wide_zoom_is_drawn_as_fine_as_max_candles_allows(minute_year):
    chart = CandleChart(minute_year, max_candles=2500)

    relayout(chart.figure, {"xaxis.range": ["2023-03-01", "2023-04-01"]})

    assert chart.display_timeframe == "30m"
    assert len(chart.figure.data[0].x) <= 2500 * 1.25


def test_double_click_autorange_goes_back_to_the_overview(minute_year):
    chart = CandleChart(minute_year, max_candles=2500)
    relayout(chart.figure, {"xaxis.range[0]": "2023-06-01", "xaxis.range[1]": "2023-06-02"})

    relayout(chart.figure, {"xaxis.autorange": True})

    assert chart.view_range is None
    assert chart.display_timeframe == "4h"
    assert len(chart.figure.data[0].x) <= 2500


def test_zoom_then_reset_then_zoom_again_is_followed(minute_year):
    chart = CandleChart(minute_year, max_candles=2500)
    relayout(chart.figure, {"xaxis.range[0]": "2023-06-01", "xaxis.range[1]": "2023-06-02"})
    relayout(chart.figure, {"xaxis.autorange": True})

    relayout(chart.figure, {"xaxis.range[0]": "2023-07-01", "xaxis.range[1]": "2023-07-01 06:00"})
    relayout(chart.figure, {"xaxis.autorange": True})

    assert chart.view_range is None
    assert chart.display_timeframe == "4h"


def test_zoom_sets_the_figure_range_and_draws_the_window(minute_year):
    chart = CandleChart(minute_year)

    chart.zoom("2023-05-01", "2023-05-01 12:00")

    assert chart.figure.layout.xaxis.autorange is False
    start, end = (pd.Timestamp(v) for v in chart.figure.layout.xaxis.range)
    assert (start, end) == (pd.Timestamp("2023-05-01"), pd.Timestamp("2023-05-01 12:00"))
    assert chart.display_timeframe is None


def test_the_range_slider_spans_the_whole_series_while_zoomed(minute_year):
    chart = CandleChart(minute_year)

    chart.zoom("2023-05-01", "2023-05-02")

    lo, hi = (pd.Timestamp(v) for v in chart.figure.layout.xaxis.rangeslider.range)
    assert lo <= pd.Timestamp("2023-01-01") and hi >= pd.Timestamp("2023-12-31 23:59")


def test_gaps_are_shaded_and_outliers_marked():
    frame = damaged_hourly()
    report = validate(frame, "1h", "24/7")

    chart = CandleChart(frame, report)

    shapes = chart.figure.layout.shapes
    assert len(shapes) == len(report.gaps) == 2
    for shape, gap in zip(shapes, report.gaps, strict=True):
        assert pd.Timestamp(shape.x0) < gap.start.tz_localize(None)
        assert pd.Timestamp(shape.x1) > gap.end.tz_localize(None)
    marked = pd.DatetimeIndex(np.asarray(chart.figure.data[2].x)).tz_localize("UTC")
    assert list(marked) == report.outliers
    assert chart.figure.data[2].y[0] == frame.loc[report.outliers[0], "high"]


def test_the_report_defaults_to_the_frames_quality_attribute():
    frame = damaged_hourly()
    frame.attrs["quality"] = validate(frame, "1h", "24/7")

    chart = CandleChart(frame)

    assert chart.report is frame.attrs["quality"]
    assert len(chart.figure.layout.shapes) == 2


def test_zoom_around_outlines_the_issue_with_context():
    frame = damaged_hourly()
    report = validate(frame, "1h", "24/7")
    chart = CandleChart(frame, report)
    gap = report.gaps[0]

    chart.zoom_around(gap.start, gap.end)

    start, end = chart.view_range
    assert start < gap.start and end > gap.end
    assert end - start >= pd.Timedelta(hours=60)
    assert chart.figure.layout.shapes[-1].line.dash == "dot"


def test_set_frame_on_a_displayed_chart_updates_the_same_figure():
    chart = CandleChart(synthetic("2024-01-01", 50, freq="1h"))
    shown = chart.figure
    shown._view_count = 1  # what the frontend does when it displays the widget

    chart.set_frame(synthetic("2024-02-01", 80, freq="1h"), title="other")

    assert chart.figure is shown
    assert len(shown.data[0].x) == 80
    assert shown.layout.title.text == "other"


def test_set_frame_before_display_builds_a_new_figure():
    chart = CandleChart(synthetic("2024-01-01", 50, freq="1h"))
    first = chart.figure

    chart.set_frame(synthetic("2024-02-01", 80, freq="1h"))

    assert chart.figure is not first
    assert chart.children == (chart.figure,)
    assert len(chart.figure.data[0].x) == 80


def test_append_bar_adds_and_replaces_closed_candles():
    frame = synthetic("2024-01-01", 10, freq="1h")
    chart = CandleChart(frame)
    nxt = frame.index[-1] + pd.Timedelta(hours=1)

    chart.append_bar(nxt, 1.0, 2.0, 0.5, 1.5, 7.0)
    chart.append_bar(nxt, 1.0, 2.5, 0.5, 2.0, 9.0)  # a correction of the same candle

    assert len(chart.frame) == 11
    assert chart.frame.iloc[-1].tolist() == [1.0, 2.5, 0.5, 2.0, 9.0]
    assert x_of(chart.figure)[-1] == nxt
    assert chart.figure.data[0].close[-1] == 2.0


def test_appending_to_an_empty_chart_starts_a_series():
    chart = CandleChart()

    chart.extend_bars(
        [(1_700_000_000_000, 1, 2, 0.5, 1.5, 3), (1_700_000_060_000, 1.5, 2, 1, 1.8, 4)]
    )

    assert len(chart.figure.data[0].x) == 2
    assert chart.display_timeframe is None


def test_a_window_showing_the_newest_bar_follows_live_bars():
    frame = synthetic("2024-01-01", 100, freq="1h")
    chart = CandleChart(frame)
    chart.zoom(frame.index[80], frame.index[-1])
    nxt = frame.index[-1] + pd.Timedelta(hours=1)

    chart.append_bar(nxt, 1, 2, 0.5, 1.5, 1)

    assert chart.view_range == (frame.index[81], nxt)


def test_attach_live_queue_appends_bars_from_another_thread():
    frame = synthetic("2024-01-01", 10, freq="1h")
    chart = CandleChart(frame)
    q: queue.Queue = queue.Queue()
    link = chart.attach_live(q)
    times = [frame.index[-1] + pd.Timedelta(hours=i) for i in (1, 2, 3)]

    for ts in times:
        q.put({"timestamp": ts, "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 3})
    q.put(None)  # end of stream
    link.join(timeout=5)

    assert not link.running
    assert link.bars == 3
    assert list(chart.frame.index[-3:]) == times
    assert list(x_of(chart.figure)[-3:]) == times


def test_attach_live_iterable_and_bad_bars_are_reported_not_raised():
    chart = CandleChart(synthetic("2024-01-01", 10, freq="1h"))
    bars = [("2024-01-01 10:00", 1, 2, 0.5, 1.5, 1), ("not a time", 1, 2, 0.5, 1.5, 1), (1, 2)]

    link = chart.attach_live(iter(bars))
    link.join(timeout=5)

    assert link.bars == 1
    assert len(link.errors) == 2
    assert chart.frame.index[-1] == pd.Timestamp("2024-01-01 10:00", tz="UTC")


def test_attach_live_subscribes_a_callback_and_stop_unsubscribes():
    chart = CandleChart(synthetic("2024-01-01", 10, freq="1h"))
    subscribers: list = []

    def subscribe(callback):
        subscribers.append(callback)
        return lambda: subscribers.remove(callback)

    link = chart.attach_live(subscribe)
    subscribers[0](pd.Timestamp("2024-01-01 10:00", tz="UTC"), 1, 2, 0.5, 1.5, 4)
    link.stop()

    assert subscribers == []
    assert chart.frame["volume"].iloc[-1] == 4


def test_attach_live_rejects_what_is_not_a_source():
    chart = CandleChart()

    with pytest.raises(InputError):
        chart.attach_live(42)


def test_the_live_stores_bars_are_read_as_they_come():
    from tradedata.feeds.live.model import LiveBar

    frame = synthetic("2024-01-01", 10, freq="1h")
    chart = CandleChart(frame)
    nxt = frame.index[-1] + pd.Timedelta(hours=1)
    bar = LiveBar(int(nxt.value // 1_000_000), 1.0, 2.0, 0.5, 1.5, 6.0, event_ms=None, live=True)

    chart.extend_bars([bar])

    assert chart.frame.index[-1] == nxt
    assert chart.frame.iloc[-1].tolist() == [1.0, 2.0, 0.5, 1.5, 6.0]


def test_an_empty_chart_shows_a_message_instead_of_invented_axes():
    chart = CandleChart()

    lay = chart.figure.layout
    assert lay.xaxis.visible is False and lay.yaxis.visible is False
    assert lay.xaxis.rangeslider.visible is False
    assert [a.text for a in lay.annotations] == ["No series loaded: choose a symbol and click Load"]
    assert chart.figure._config.get("responsive") is True  # follows the window's width
    assert lay.width is None  # no fixed width: it fills its container

    chart._displayed = lambda: True  # type: ignore[method-assign]  # update in place, as shown
    chart.set_frame(synthetic("2024-01-01", 10, freq="1h"))

    lay = chart.figure.layout
    assert lay.xaxis.visible is True and lay.xaxis.rangeslider.visible is True
    assert lay.annotations == ()
    chart.set_frame(None)
    assert chart.figure.layout.xaxis.visible is False and len(chart.figure.layout.annotations) == 1
