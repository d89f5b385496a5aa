"""Helpers for the zipline bundle tests: frames, a bundle workspace, a recording algorithm.

Every test ingests into a temporary ``ZIPLINE_ROOT`` from a temporary tradedata cache filled
with ``DataManager.import_frame`` and read back with ``provider="cache"`` (nothing is fetched).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tradedata.manager import DataManager

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def minute_frame(
    start: str, end: str, first_close: float = 42000.0, step: float = 1.5
) -> pd.DataFrame:
    """1m bars opening every minute from ``start`` to ``end`` (UTC), closes rising by ``step``."""
    idx = pd.date_range(start, end, freq="min", tz="UTC", name="timestamp")
    close = np.round(first_close + np.arange(len(idx)) * step, 2)
    return pd.DataFrame(
        {
            "open": close - 1.0,
            "high": close + 2.0,
            "low": close - 2.0,
            "close": close,
            "volume": 1000.0 + np.arange(len(idx)) % 7,
        },
        index=idx,
    )


def daily_frame(
    start: str, end: str, first_close: float = 42000.0, step: float = 10.25
) -> pd.DataFrame:
    """1d bars for every UTC day from ``start`` to ``end``, closes rising by ``step``."""
    idx = pd.date_range(start, end, freq="D", tz="UTC", name="timestamp")
    close = np.round(first_close + np.arange(len(idx)) * step, 3)
    return pd.DataFrame(
        {
            "open": close - 5.0,
            "high": close + 20.0,
            "low": close - 20.0,
            "close": close,
            "volume": 25_000.0 + np.arange(len(idx)),
        },
        index=idx,
    )


def yahoo_file(name: str, start: str, end: str) -> pd.DataFrame:
    """A Yahoo sample file from tests/data as a tradedata frame (Close and Adj Close kept)."""
    raw = pd.read_csv(DATA_DIR / name, parse_dates=["Date"], index_col="Date")
    raw = raw.loc[start:end]
    frame = pd.DataFrame(
        {
            "open": raw["Open"],
            "high": raw["High"],
            "low": raw["Low"],
            "close": raw["Close"],
            "volume": raw["Volume"].astype("float64"),
            "adj_close": raw["Adj Close"],
        }
    )
    frame.index = pd.DatetimeIndex(raw.index.tz_localize("UTC"), name="timestamp")
    return frame


@dataclass
class Recorder:
    """What a small algorithm saw: ``data.current`` closes, history and its transactions."""

    symbols: list[str]
    order_on_first: dict[str, int] = field(default_factory=dict)
    history: tuple[str, int] | None = None  # (symbol, bars) for data.history(..., "1d")
    closes: dict[str, list[tuple[pd.Timestamp, float]]] = field(default_factory=dict)
    histories: list[tuple[pd.Timestamp, pd.Series]] = field(default_factory=list)
    calls: int = 0

    def initialize(self, context: Any) -> None:
        from zipline.api import set_commission, set_slippage, symbol
        from zipline.finance import commission, slippage

        context.assets = {s: symbol(s) for s in self.symbols}
        set_slippage(slippage.FixedSlippage(spread=0.0))
        set_commission(commission.PerShare(cost=0.0, min_trade_cost=0.0))

    def handle_data(self, context: Any, data: Any) -> None:
        from zipline.api import get_datetime, order

        now = get_datetime()
        for sym, asset in context.assets.items():
            self.closes.setdefault(sym, []).append((now, float(data.current(asset, "close"))))
        if self.history is not None:
            sym, bars = self.history
            self.histories.append((now, data.history(context.assets[sym], "close", bars, "1d")))
        if self.calls == 0:
            for sym, amount in self.order_on_first.items():
                order(context.assets[sym], amount)
        self.calls += 1

    def closes_series(self, symbol: str) -> pd.Series:
        """The closes seen for ``symbol``, indexed by simulation time."""
        rows = self.closes[symbol]
        return pd.Series([v for _, v in rows], index=pd.DatetimeIndex([t for t, _ in rows]))


def transactions(perf: pd.DataFrame) -> list[dict[str, Any]]:
    """Every transaction of a ``run_algorithm`` result."""
    return [t for day in perf["transactions"] for t in day]


@dataclass
class Workspace:
    """A temporary ZIPLINE_ROOT, a tradedata cache and the bundles registered in a test."""

    root: Path
    manager: DataManager
    names: list[str] = field(default_factory=list)

    def register(
        self, name: str, symbols: Any, timeframe: str, start: str, end: str, **kw: Any
    ) -> Any:
        from tradedata.feeds.zipline import register_bundle

        kw.setdefault("provider", "cache")
        kw.setdefault("manager", self.manager)
        spec = register_bundle(name, symbols, timeframe, start=start, end=end, **kw)
        if name not in self.names:
            self.names.append(name)
        return spec

    def ingest(self, name: str) -> Any:
        from zipline.data import bundles

        from tradedata.feeds.zipline import last_ingest_report

        bundles.ingest(name, environ=self.environ)
        return last_ingest_report(name)

    @property
    def environ(self) -> dict[str, str]:
        return {**os.environ, "ZIPLINE_ROOT": str(self.root)}

    def run(
        self, name: str, start: str, end: str, recorder: Recorder, frequency: str = "daily"
    ) -> pd.DataFrame:
        from tradedata.feeds.zipline import run_algorithm

        return run_algorithm(
            start=pd.Timestamp(start),
            end=pd.Timestamp(end),
            initialize=recorder.initialize,
            handle_data=recorder.handle_data,
            capital_base=10_000_000.0,
            data_frequency=frequency,
            bundle=name,
            environ=self.environ,
        )

    def load(self, name: str) -> Any:
        from zipline.data import bundles

        return bundles.load(name, environ=self.environ)

    def unregister_all(self) -> None:
        from zipline.data import bundles

        for name in self.names:
            if name in bundles.bundles:
                bundles.unregister(name)


def make_workspace(root: Path, cache: Path) -> Workspace:
    """A workspace over fresh directories."""
    root.mkdir(parents=True, exist_ok=True)
    return Workspace(root=root, manager=DataManager(cache_dir=cache))


@pytest.fixture(name="workspace")
def workspace_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A function-scoped workspace; ``ZIPLINE_ROOT`` points at its root for the test."""
    ws = make_workspace(tmp_path / "zipline", tmp_path / "cache")
    monkeypatch.setenv("ZIPLINE_ROOT", str(ws.root))
    yield ws
    ws.unregister_all()
    ws.manager.close()


def module_workspace(
    factory: pytest.TempPathFactory, fill: Callable[[Workspace], None]
) -> Iterator[Workspace]:
    """A workspace shared by a module (``ZIPLINE_ROOT`` set for the module), filled by ``fill``."""
    base = factory.mktemp("zipline-module")
    ws = make_workspace(base / "zipline", base / "cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZIPLINE_ROOT", str(ws.root))
        fill(ws)
        yield ws
    ws.unregister_all()
    ws.manager.close()
