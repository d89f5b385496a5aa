"""QualityPanel: badge, check counts, gap and outlier lists, selections."""

from __future__ import annotations

import re

import pandas as pd

from tests.support.memory_provider import synthetic
from tests.widgets.widget_helpers import damaged_hourly
from tradedata.validation import CHECKS, validate
from tradedata.widgets import QualityPanel
from tradedata.widgets.style import FAIR, GOOD, POOR


def _report():
    return validate(damaged_hourly(), "1h", "24/7")


def test_the_badge_shows_the_score_in_its_colour():
    clean = validate(synthetic("2024-01-01", 100, freq="1h"), "1h", "24/7")
    damaged = _report()

    good, fair = QualityPanel(clean), QualityPanel(damaged)

    assert "quality 1.0000" in good.badge.value and GOOD in good.badge.value
    assert f"quality {damaged.score:.4f}" in fair.badge.value
    assert (FAIR if damaged.score >= 0.95 else POOR) in fair.badge.value


def test_every_check_is_listed_with_its_count():
    report = _report()

    panel = QualityPanel(report)

    rows = dict(
        re.findall(r'data-check="([a-z_]+)".*?text-align:right">([\d,]+)<', panel.checks.value)
    )
    assert list(rows) == list(CHECKS)
    assert {k: int(v) for k, v in rows.items()} == report.checks


def test_gaps_and_outliers_are_listed():
    report = _report()

    panel = QualityPanel(report)

    assert len(panel.gap_list.options) == 2
    assert panel.gap_list.options[0][0] == "2024-03-05 04:00 \u2192 08:00  (5 bars)"
    assert [label for label, _ in panel.outlier_list.options] == ["2024-03-17 16:00"]
    assert "Gaps</b> 2" in panel.gap_title.value


def test_choosing_a_gap_or_outlier_calls_on_select_with_its_range():
    report = _report()
    chosen: list = []
    panel = QualityPanel(report, on_select=lambda s, e: chosen.append((s, e)))

    panel.gap_list.value = 1  # what a click in the list does
    panel.outlier_list.value = 0

    gap = report.gaps[1]
    outlier = report.outliers[0]
    assert chosen == [(gap.start, gap.end), (outlier, outlier)]
    assert panel.gap_list.value is None  # one selection at a time


def test_replacing_the_report_selects_nothing():
    chosen: list = []
    panel = QualityPanel(_report(), on_select=lambda s, e: chosen.append((s, e)))
    panel.select_gap(0)

    panel.set_report(_report())

    assert len(chosen) == 1
    assert panel.gap_list.value is None


def test_a_report_dict_is_accepted():
    report = _report()

    panel = QualityPanel(report.to_dict())

    assert panel.report.score == report.score
    assert panel.report.gaps == report.gaps


def test_only_the_largest_gaps_are_listed_beyond_max_items():
    frame = synthetic("2024-01-01", 2000, freq="1h")
    frame = frame.drop(frame.index[[10, 20, 30, 40, 41, 42, 100, 101]])
    report = validate(frame, "1h", "24/7")

    panel = QualityPanel(report, max_items=2)

    labels = [label for label, _ in panel.gap_list.options]
    assert labels == [
        "2024-01-02 16:00 \u2192 18:00  (3 bars)",
        "2024-01-05 04:00 \u2192 05:00  (2 bars)",
    ]
    assert "largest shown" in panel.gap_title.value


def test_no_report_empties_the_panel():
    panel = QualityPanel(_report())

    panel.set_report(None)

    assert panel.report is None
    assert panel.gap_list.options == () and panel.outlier_list.options == ()
    assert "quality -" in panel.badge.value


def test_times_in_lists_are_utc():
    frame = synthetic("2024-01-01", 50, freq="1h")
    report = validate(frame.drop(frame.index[5]), "1h", "24/7")

    panel = QualityPanel(report)

    assert report.gaps[0].start == pd.Timestamp("2024-01-01 05:00", tz="UTC")
    assert panel.gap_list.options[0][0].startswith("2024-01-01 05:00")
