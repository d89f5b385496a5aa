"""How the manager judges bars: the quality report of a frame and the block stored with it.

Equities stored as traded are judged split-adjusted with the symbol's stored splits, so a
split is not scored as an outlier; a split-adjusted source (``consolidated_splits``) is judged
as it is. The quality block stored with a partition also records the splits it was judged
with, so :mod:`tradedata.rescoring` can tell when a later split makes it stale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradedata.adjusting import is_as_traded, is_equity
from tradedata.errors import TradeDataError
from tradedata.range_quality import quality_summary
from tradedata.rescoring import SPLITS_KEY, judged_splits
from tradedata.symbols import symbol_info

if TYPE_CHECKING:
    from tradedata.actions import CorporateActions
    from tradedata.adjusting import Adjuster
    from tradedata.model import Timeframe
    from tradedata.validation import QualityReport

__all__ = ["Judge", "calendar_of"]


def calendar_of(symbol: str) -> str:
    """The trading calendar ``symbol``'s bars are judged against (``"24/7"`` when unknown)."""
    try:
        return symbol_info(symbol).calendar
    except TradeDataError:
        return "24/7"


class Judge:
    """Quality reports of bars (the manager's :attr:`~tradedata.manager.DataManager.judge`).

    ``adjuster()`` gives the :class:`~tradedata.adjusting.Adjuster` whose stored actions
    split-adjust as-traded equities before they are judged.
    """

    def __init__(self, adjuster: Callable[[], Adjuster]) -> None:
        self._adjuster = adjuster

    def validate(
        self, frame: pd.DataFrame, symbol: str, tf: Timeframe, source: str | None = None
    ) -> QualityReport:
        """The quality report of ``frame`` (bars of the ``source`` series); as-traded equities
        are judged split-adjusted (with the stored actions), so a split is not scored as an
        outlier; a split-adjusted source (``consolidated_splits``) is judged as it is."""
        return self.judge(frame, symbol, tf, source)[0]

    def judge(
        self, frame: pd.DataFrame, symbol: str, tf: Timeframe, source: str | None = None
    ) -> tuple[QualityReport, CorporateActions | None]:
        """:meth:`validate`'s report and the actions record the bars were judged with."""
        from tradedata.validation import validate

        frame.attrs["symbol"] = symbol  # the report names its series
        judged = frame
        raw = frame.attrs.get("adjust") in (None, "raw") and is_as_traded(source)
        if raw and is_equity(symbol) and len(frame):
            judged = self._adjuster().apply(
                frame.copy(), symbol, tf, "splits", fetch=False, source=source
            )
            judged.attrs["symbol"] = symbol
        report = validate(judged, tf.name, calendar=calendar_of(symbol))
        return report, judged.attrs.get("actions")

    def quality_fn(
        self, symbol: str, tf: Timeframe, source: str | None = None
    ) -> Callable[[pd.DataFrame], dict[str, Any]]:
        """The quality block stored with a partition; an equity's also records the splits it
        was judged with (see :mod:`tradedata.rescoring`)."""

        def block(part: pd.DataFrame) -> dict[str, Any]:
            report, record = self.judge(part, symbol, tf, source)
            summary = quality_summary(report)
            if is_equity(symbol) and is_as_traded(source) and len(part):
                tz = symbol_info(symbol).timezone
                summary[SPLITS_KEY] = judged_splits(record, part.index[0], part.index[-1], tf, tz)
            return summary

        return block
