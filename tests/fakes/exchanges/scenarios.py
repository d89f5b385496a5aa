"""The conformance scenarios, run against one exchange fake through the real stack.

:func:`run_scenario` asks a :class:`~tradedata.manager.DataManager` wired to an
:class:`ExchangeFake` (real ccxt, real provider, real fetch engine, a fresh cache) for one range
of 1h bars and measures what came back against what the fake holds: the bars, their exact
values, what was reported as unfetchable, the kline requests made, the minimum needed, and the
kline requests a second identical call makes. ``python -m tests.fakes.exchanges.scenarios``
prints the README's conformance table from a real run.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tests.fakes.exchanges import DIALECTS, ExchangeFake, bar_values
from tests.fakes.exchanges.core import HOUR_MS

__all__ = [
    "OUTAGES",
    "SCENARIOS",
    "Outcome",
    "expected_bars",
    "run_scenario",
    "scenario_range",
    "staged",
    "table",
]

#: name -> (first bar, last bar) in hours before the still-open bar (the last is a closed bar)
SCENARIOS: dict[str, tuple[int, int]] = {
    "last 300": (300, 1),
    "last 1500": (1500, 1),
    "2000 past": (5000, 3001),
    "2000 past, 48h outage": (5000, 3001),
}
#: scenario -> (first, last) bar without trades, in hours before the open bar: the exchange
#: has no bar there at all (see ``core.select``), so "complete" means every other bar
OUTAGES: dict[str, tuple[int, int]] = {"2000 past, 48h outage": (4200, 4153)}
#: options that keep the fakes' tests fast (pacing by ccxt's rateLimit would take minutes)
FAST = {"rate_limit": 10_000, "rate_period": 1.0}


@dataclass
class Outcome:
    """One exchange x scenario."""

    exchange: str
    scenario: str
    asked: int
    bars: int = 0
    reachable: int = 0
    unfetched: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    unfetched_bars: int = 0
    requests: int = 0
    minimum: int = 0
    second_requests: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Complete or exactly reported, no duplicate, no more than minimum + 1 requests."""
        return not self.problems and self.error is None


def scenario_range(name: str, now_ms: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` of scenario ``name``; "last ..." ranges end at now."""
    first, last = SCENARIOS[name]
    open_bar = now_ms // HOUR_MS * HOUR_MS
    start = pd.Timestamp(open_bar - first * HOUR_MS, unit="ms", tz="UTC")
    end = pd.Timestamp(open_bar - last * HOUR_MS, unit="ms", tz="UTC")
    if name.startswith("last"):
        end = pd.Timestamp(now_ms, unit="ms", tz="UTC")
    return start, end


@contextmanager
def staged(fake: ExchangeFake, name: str) -> Iterator[ExchangeFake]:
    """``fake`` with scenario ``name``'s outage (if any) for the duration."""
    hours = OUTAGES.get(name)
    open_bar = fake.now_ms() // HOUR_MS * HOUR_MS
    if hours is not None:
        fake.outage = (open_bar - hours[0] * HOUR_MS, open_bar - hours[1] * HOUR_MS)
    try:
        yield fake
    finally:
        fake.outage = None


def expected_bars(fake: ExchangeFake, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The closed bars the fake holds in ``[start, end]`` with their exact values."""
    now = fake.now_ms()
    lo = max(int(start.value // 1_000_000), fake.listed_ms)
    hi = min(int(end.value // 1_000_000), now // HOUR_MS * HOUR_MS - HOUR_MS)
    opens = list(range(-(-lo // HOUR_MS) * HOUR_MS, hi + 1, HOUR_MS))
    if fake.outage is not None:
        opens = [t for t in opens if not fake.outage[0] <= t <= fake.outage[1]]
    rows = [bar_values(t, HOUR_MS) for t in opens]
    index = pd.DatetimeIndex(pd.to_datetime(opens, unit="ms", utc=True), name="timestamp")
    return pd.DataFrame(rows, index=index, columns=["open", "high", "low", "close", "volume"])


def reachable_from(fake: ExchangeFake) -> int:
    """Open time of the oldest bar any of the fake's endpoints serves (ms)."""
    depth = fake.dialect.history_bars
    open_bar = fake.now_ms() // HOUR_MS * HOUR_MS
    if depth is None:
        return fake.listed_ms
    return max(fake.listed_ms, open_bar - (depth - 1) * HOUR_MS)


def manager_for(fake: ExchangeFake, cache_dir: str, **options: Any) -> Any:
    """A DataManager whose provider ``fake.dialect.exchange_id`` talks to ``fake``."""
    from tradedata.manager import DataManager

    name = fake.dialect.exchange_id
    settings = {"url": fake.url, "options": {**FAST, **options}}
    return DataManager(cache_dir=cache_dir, providers={name: settings})


def _check(outcome: Outcome, frame: pd.DataFrame, truth: pd.DataFrame, reachable: int) -> None:
    got = frame[["open", "high", "low", "close", "volume"]]
    if got.index.has_duplicates:
        outcome.problems.append("duplicate bars")
    first = pd.Timestamp(reachable, unit="ms", tz="UTC")
    want = truth[truth.index >= first]
    missing = want.index.difference(got.index)
    extra = got.index.difference(truth.index)
    if len(missing):
        outcome.problems.append(f"{len(missing)} reachable bars missing")
    if len(extra):
        outcome.problems.append(f"{len(extra)} bars the exchange does not have")
    common = want.index.intersection(got.index)
    if not got.loc[common].astype(float).equals(want.loc[common].astype(float)):
        outcome.problems.append("values differ")
    unreachable = truth.index[truth.index < first]
    reported = [t for t in unreachable if any(a <= t <= b for a, b in outcome.unfetched)]
    outcome.unfetched_bars = len(reported)
    if len(reported) != len(unreachable):
        outcome.problems.append(f"{len(unreachable) - len(reported)} unfetchable bars unreported")
    wrong = [t for t in want.index if any(a <= t <= b for a, b in outcome.unfetched)]
    if wrong:
        outcome.problems.append(f"{len(wrong)} reachable bars reported as unfetched")


def run_scenario(fake: ExchangeFake, scenario: str, cache_dir: str | None = None) -> Outcome:
    """Run ``scenario`` on ``fake`` through a fresh DataManager and measure it."""
    with staged(fake, scenario):
        return _run(fake, scenario, cache_dir)


def _run(fake: ExchangeFake, scenario: str, cache_dir: str | None) -> Outcome:
    from tradedata.errors import TradeDataError

    exchange = fake.dialect.exchange_id
    start, end = scenario_range(scenario, fake.now_ms())
    truth = expected_bars(fake, start, end)
    reachable = reachable_from(fake)
    outcome = Outcome(exchange, scenario, asked=len(truth))
    outcome.reachable = int((truth.index >= pd.Timestamp(reachable, unit="ms", tz="UTC")).sum())
    with tempfile.TemporaryDirectory() as tmp:
        manager = manager_for(fake, cache_dir or tmp)
        try:
            size = manager.provider(exchange).paging_rules(_h1()).max_candles
            outcome.minimum = math.ceil(outcome.reachable / size)
            fake.reset()
            frame = _get(manager, exchange, fake.dialect.symbol, start, end, outcome)
            outcome.requests = fake.candle_requests()
            fake.reset()
            _get(manager, exchange, fake.dialect.symbol, start, end, Outcome(exchange, "", 0))
            outcome.second_requests = fake.candle_requests()
            spans = manager.cache.coverage(fake.dialect.symbol, "1h", source=exchange)
        except TradeDataError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            return outcome
        finally:
            manager.close()
    outcome.bars = len(frame)
    _check(outcome, frame, truth, reachable)
    first = pd.Timestamp(reachable, unit="ms", tz="UTC")
    claimed = [t for t in truth.index[truth.index < first] if any(
        s.start <= t <= s.end for s in spans)]  # fmt: skip
    if claimed:
        outcome.problems.append(f"{len(claimed)} unfetchable bars recorded as covered")
    if outcome.requests > outcome.minimum + 1:
        outcome.problems.append(f"{outcome.requests} requests, minimum {outcome.minimum}")
    if outcome.second_requests:
        outcome.problems.append(f"second call made {outcome.second_requests} requests")
    return outcome


def _h1() -> Any:
    from tradedata.model import parse_timeframe

    return parse_timeframe("1h")


def _get(
    manager: Any, exchange: str, symbol: str, start: Any, end: Any, outcome: Outcome
) -> pd.DataFrame:
    """``get_ohlcv`` as a user calls it; ``outcome.unfetched`` gets what it reported.

    When nothing at all can be fetched the manager raises; the error must name the reason,
    and the engine's own record of what it gave up is read back with ``fetch_missing``.
    """
    from tradedata.errors import AllProvidersFailedError
    from tradedata.model import empty_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            frame = manager.get_ohlcv(symbol, "1h", start, end, provider=exchange)
        except AllProvidersFailedError as exc:
            result = manager.fetch_missing(symbol, "1h", start, end, provider=exchange)
            outcome.unfetched = list(result.unfetched)
            reasons = [getattr(u, "reason", "") for u in result.unfetched]
            if not reasons or not all(r and r in str(exc) for r in reasons):
                outcome.problems.append(f"the error does not say why: {exc}")
            return empty_frame()
    outcome.unfetched = list(frame.attrs.get("unfetched") or [])
    return frame


def wait_clear_of_the_hour(margin: float = 30.0) -> None:
    """Sleep past the next full hour when it is closer than ``margin`` seconds (a bar would
    close mid-scenario)."""
    left = HOUR_MS / 1000 - (time.time() % (HOUR_MS / 1000))
    if left < margin:
        time.sleep(left + 1)


def table(outcomes: list[Outcome]) -> str:
    """The README's markdown table: exchange x scenario -> bars, requests, minimum."""
    names = list(SCENARIOS)
    head = "| exchange | " + " | ".join(names) + " |"
    rule = "|---|" + "---|" * len(names)
    rows = [head, rule]
    by_key = {(o.exchange, o.scenario): o for o in outcomes}
    for exchange in dict.fromkeys(o.exchange for o in outcomes):
        cells = []
        for name in names:
            o = by_key.get((exchange, name))
            cells.append("" if o is None else _cell(o))
        rows.append(f"| {exchange} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _cell(o: Outcome) -> str:
    if o.error:
        return f"error: {o.error[:60]}"
    text = f"{o.bars}/{o.asked} bars, {o.requests} req (min {o.minimum}), again {o.second_requests}"
    if o.unfetched_bars:
        text += f", {o.unfetched_bars} unfetchable reported"
    if o.problems:
        text += " ✗ " + "; ".join(o.problems)
    return text


def traits_table() -> str:
    """The README's table of each named exchange's paging rules (1h), from the traits rows."""
    from tradedata.adapters.ccxt_.traits import TRAITS, history_bars

    rows = [
        "| exchange | candles/request | over-full window keeps | end sent | end | widest window "
        "| 1h history (bars) | open candle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for exchange in DIALECTS:
        t = TRAITS[exchange]
        depth = history_bars(t, _h1())
        rows.append(
            f"| {exchange} | {t.max_candles} | {t.keeps} | {'yes' if t.end_param else 'no'} "
            f"| {'inclusive' if t.end_inclusive else 'exclusive'} | {t.max_window or '-'} "
            f"| {depth or 'all'} | {t.open_candle} |"
        )
    return "\n".join(rows)


def main() -> None:
    """Run every exchange x scenario and print the two README tables."""
    outcomes = []
    for dialect in DIALECTS.values():
        with ExchangeFake(dialect()) as fake:
            for scenario in SCENARIOS:
                wait_clear_of_the_hour()
                outcomes.append(run_scenario(fake, scenario))
    print(traits_table())
    print()
    print(table(outcomes))


if __name__ == "__main__":
    main()
