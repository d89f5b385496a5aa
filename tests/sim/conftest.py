"""Fixtures for the exchange simulator tests: running simulators and ccxt clients aimed at them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from simhelpers import FROZEN_NOW, HISTORY_START

from tradedata.sim import ExchangeSimulator


def sim_threads() -> list[threading.Thread]:
    """Simulator server threads still alive."""
    return [t for t in threading.enumerate() if t.name == "tradedata-sim" and t.is_alive()]


@pytest.fixture(scope="module", autouse=True)
def _no_leaked_server_threads() -> Iterator[None]:
    """Every module must leave no simulator thread running."""
    yield
    assert sim_threads() == []


@pytest.fixture(scope="module")
def frozen_sim() -> Iterator[ExchangeSimulator]:
    """A simulator whose clock stands still at :data:`FROZEN_NOW` (deterministic REST)."""
    with ExchangeSimulator(seed=7, speed=0.0, start=FROZEN_NOW, history_start=HISTORY_START) as sim:
        yield sim


@pytest.fixture
def make_sim() -> Iterator[Callable[..., ExchangeSimulator]]:
    """Start simulators with custom settings; all are stopped after the test."""
    started: list[ExchangeSimulator] = []

    def make(**kwargs: Any) -> ExchangeSimulator:
        kwargs.setdefault("seed", 11)
        kwargs.setdefault("history_start", HISTORY_START)
        kwargs.setdefault("start", FROZEN_NOW)
        sim = ExchangeSimulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
