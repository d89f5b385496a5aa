"""ipywidgets + plotly panels over the DataManager (no data logic here).

``from tradedata.widgets import DataExplorer; DataExplorer()`` in a notebook. The pieces work
alone too: ``QualityPanel(report)``, ``CandleChart(frame)``. Needs the ``widgets`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradedata._lazy import lazy_module
from tradedata.extras import require

require("widgets", "tradedata.widgets")  # one line naming the pip command if the extra is missing

__all__ = ["CacheTable", "CandleChart", "DataExplorer", "QualityPanel"]

_LAZY = {
    "DataExplorer": "tradedata.widgets.explorer",
    "QualityPanel": "tradedata.widgets.quality",
    "CandleChart": "tradedata.widgets.chart",
    "CacheTable": "tradedata.widgets.cache_table",
}

if TYPE_CHECKING:
    from tradedata.widgets.cache_table import CacheTable
    from tradedata.widgets.chart import CandleChart
    from tradedata.widgets.explorer import DataExplorer
    from tradedata.widgets.quality import QualityPanel


__getattr__, __dir__ = lazy_module(__name__, _LAZY)
