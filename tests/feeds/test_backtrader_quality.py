"""The data quality report inside backtrader: ``self.data.quality`` and ``min_quality``."""

from __future__ import annotations

from types import SimpleNamespace

import backtrader as bt
import numpy as np
import pytest

import tradedata.validation
from tests.support.memory_provider import synthetic
from tradedata.errors import InsufficientQualityError
from tradedata.feeds import TradeDataFeed
from tradedata.validation import QualityReport, validate


class SeeQuality(bt.Strategy):
    def start(self) -> None:
        self.seen = self.data.quality


def _run(feed: TradeDataFeed) -> bt.Strategy:
    cerebro = bt.Cerebro()
    cerebro.adddata(feed)
    cerebro.addstrategy(SeeQuality)
    return cerebro.run()[0]


def test_the_frames_report_is_reachable_from_the_strategy():
    frame = synthetic("2024-01-01", 500)
    report = SimpleNamespace(score=0.97)
    frame.attrs["quality"] = report

    strategy = _run(TradeDataFeed(dataname=frame, interval="1m"))

    assert strategy.seen is report


def test_a_frame_without_a_report_is_validated_on_demand():
    frame = synthetic("2024-01-01", 500)

    quality = TradeDataFeed(dataname=frame, interval="1m").quality

    assert isinstance(quality, QualityReport)
    assert quality.score == validate(frame, "1m").score


def test_validation_runs_only_when_the_report_is_wanted(monkeypatch):
    calls = []
    monkeypatch.setattr(tradedata.validation, "validate", lambda *a, **k: calls.append(a))

    cerebro = bt.Cerebro()
    cerebro.adddata(TradeDataFeed(dataname=synthetic("2024-01-01", 50), interval="1m"))
    cerebro.run()

    assert calls == []


def _damaged(periods: int = 500):
    frame = synthetic("2024-01-01", periods)
    frame.iloc[::5, frame.columns.get_loc("close")] = np.nan  # invalid values
    frame = frame.drop(frame.index[100:200])  # a gap
    return frame


def test_a_feed_below_min_quality_refuses_to_start():
    frame = _damaged()
    score = validate(frame, "1m").score
    feed = TradeDataFeed(dataname=frame, interval="1m", name="damaged", min_quality=0.9)

    with pytest.raises(InsufficientQualityError, match="damaged") as info:
        _run(feed)

    assert score < 0.9
    assert info.value.score == pytest.approx(score)
    assert "min_quality=0.9" in str(info.value)


def test_a_feed_at_or_above_min_quality_runs():
    frame = synthetic("2024-01-01", 500)
    score = validate(frame, "1m").score

    strategy = _run(TradeDataFeed(dataname=frame, interval="1m", min_quality=score))

    assert strategy.seen.score == score


def test_min_quality_without_any_report_is_refused(monkeypatch):
    monkeypatch.setattr(tradedata.validation, "validate", lambda *a, **k: None)
    feed = TradeDataFeed(dataname=synthetic("2024-01-01", 50), interval="1m", min_quality=0.5)

    with pytest.raises(InsufficientQualityError, match="no quality report"):
        _run(feed)
