"""Benchmark: live latency from an exchange's websocket message to the strategy's ``next()``.

    python benchmarks/bench_live.py [--symbols 20] [--bars 20] [--speed 60]

A Binance simulator runs in a child process on 127.0.0.1 (as an exchange would: its work does
not share this process's interpreter) and streams 1m klines of ``--symbols`` made-up symbols at
``--speed`` (60: a bar closes every second). One ``TradeDataStore`` feeds one live
``TradeDataLiveFeed`` per symbol into a cerebro: one shared websocket (combined streams), default
settings (``qcheck`` 0.5) but for streamed bars written to the cache every 5 s instead of 30, so
that cache writes happen during the measurement. A strategy stops the run after ``--bars`` live
bars of every symbol, not counting the first two of each (the first live bar of a feed may still
wait for that feed's backfill, which the worker threads fetch for all feeds at once).
For each live bar the strategy sees, three latencies are measured, all on the machine's
monotonic clock (``CLOCK_MONOTONIC``, shared by both processes):

* **send -> next()**: from the moment the simulator sends the closing kline message (a hook on
  its stream session records it, per symbol and bar) to the moment ``next()`` sees the bar;
* **event time -> next()**: from the message's event time ``E`` (sim time, converted with a
  clock reading taken in the simulator process) to ``next()``; this includes the simulator's
  own time to build the messages of all symbols of one close, which it stamps alike;
* **receive -> next()**: from the websocket message arriving in the client to ``next()``.

Target: p99 of send -> next() under 20 ms on loopback. The table is printed and written to
``benchmarks/out/bench_live.txt``; :func:`run_live_latency` returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out" / "bench_live.txt"
TARGET_P99_MS = 20.0
#: Seconds between writes of streamed bars to the cache (30 by default; shorter here so that
#: writes, which run in the quiet after a close, happen during the measurement).
CACHE_INTERVAL = 5.0
START = "2024-03-06 12:00:30"
MEASURES = (
    ("send", "send -> next()"),
    ("event", "event time E -> next()"),
    ("receive", "receive -> next()"),
)


# -- child: the simulator ---------------------------------------------------------------------


def _serve(symbols: int, speed: float, seed: int) -> None:
    """Run the simulator, report its address and clock, record send times until stdin says."""
    from tradedata.sim import ExchangeSimulator, StreamSettings, generated_symbols, streams

    sent: dict[str, float] = {}
    original = streams.StreamSession._send_data

    async def hooked(self: Any, payload: Any) -> None:
        data = payload.get("data", payload) if isinstance(payload, dict) else None
        kline = data.get("k") if isinstance(data, dict) else None
        if isinstance(kline, dict) and kline.get("x"):
            sent.setdefault(f"{kline['s']}|{kline['t']}", time.monotonic())
        await original(self, payload)

    streams.StreamSession._send_data = hooked  # type: ignore[method-assign]
    names = generated_symbols(symbols)
    with ExchangeSimulator(
        exchanges=("binance",), symbols=names, seed=seed, speed=speed, start=START,
        streams=StreamSettings(ping_interval=None),
    ) as sim:  # fmt: skip
        readings = []
        for _ in range(50):
            before = time.monotonic()
            sim_ms = sim.now_ms()
            after = time.monotonic()
            readings.append((after - before, (before + after) / 2.0, sim_ms + 0.5))
        _, mono, sim_ms = min(readings)
        print(json.dumps({"url": sim.url, "ws": sim.ws_base, "mono": mono, "sim_ms": sim_ms}))
        sys.stdout.flush()
        sys.stdin.readline()
        print(json.dumps({"sent": sent, "ws_messages": sim.stats.ws_messages}))
        sys.stdout.flush()


# -- parent: the feeds ------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _strategy_class(bars: int, warmup: int) -> Any:
    import backtrader as bt

    class Latency(bt.Strategy):
        """Notes when each live bar reaches ``next()`` (after ``warmup`` live bars of each
        data); stops after ``warmup + bars`` of them per data."""

        def __init__(self) -> None:
            self.seen = {d: 0 for d in self.datas}
            self.live = {d: 0 for d in self.datas}
            self.records: list[tuple[str, int, int, float, float]] = []

        def prenext(self) -> None:
            self.next()

        def next(self) -> None:
            now = time.monotonic()
            for d in self.datas:
                if len(d) == self.seen[d]:
                    continue
                self.seen[d] = len(d)
                if d.bar_event_ms is None or d.bar_received is None:
                    continue  # a backfilled bar
                self.live[d] += 1
                if self.live[d] <= warmup:
                    continue
                market = d.symbol.replace("/", "")
                self.records.append((market, d.bar_open_ms, d.bar_event_ms, d.bar_received, now))
            if all(n >= warmup + bars for n in self.live.values()):
                self.env.runstop()

    return Latency


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values) if values else float("nan"),
        "p95": _quantile(values, 0.95),
        "p99": _quantile(values, 0.99),
        "max": max(values) if values else float("nan"),
    }


def run_live_latency(
    symbols: int = 20, bars: int = 20, speed: float = 60.0, seed: int = 11, warmup: int = 2
) -> dict[str, Any]:
    """Measure the latency of ``symbols`` live feeds over ``bars`` live bars each (after
    ``warmup`` live bars per feed, which may still wait for that feed's backfill).

    Returns counts and, for ``send``, ``event`` and ``receive`` (see the module docstring), the
    median, p95, p99 and max in milliseconds (keys like ``send_p99_ms``).
    """
    import backtrader as bt

    from tradedata.feeds import TradeDataStore
    from tradedata.sim import generated_symbols

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--symbols", str(symbols), "--speed", str(speed),
         "--seed", str(seed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    try:
        hello = json.loads(child.stdout.readline())
        config = {"providers": {"binance": {"url": hello["url"], "ws_url": hello["ws"]}}}
        with tempfile.TemporaryDirectory() as cache_dir:
            store = TradeDataStore(
                "binance", config=config, cache_dir=cache_dir, cache_interval=CACHE_INTERVAL
            )
            cerebro = bt.Cerebro(stdstats=False)
            for name in generated_symbols(symbols):
                data = store.getdata(dataname=name, timeframe=bt.TimeFrame.Minutes, backfill_bars=3)
                cerebro.adddata(data)
            cerebro.addstrategy(_strategy_class(bars, warmup))
            limit = 60.0 + 3.0 * (bars + warmup) * 60.0 / speed
            watchdog = threading.Timer(limit, cerebro.runstop)
            watchdog.start()
            started = time.monotonic()
            try:
                strategy = cerebro.run()[0]
            finally:
                watchdog.cancel()
                store.close()
            seconds = time.monotonic() - started
        child.stdin.write("stop\n")
        child.stdin.flush()
        report = json.loads(child.stdout.readline())
    finally:
        child.stdin.close()
        child.wait(30)

    def mono_of(sim_ms: int) -> float:
        return float(hello["mono"]) + (sim_ms - float(hello["sim_ms"])) / (speed * 1000.0)

    values: dict[str, list[float]] = {key: [] for key, _ in MEASURES}
    for market, open_ms, event_ms, received, seen in strategy.records:
        sent = report["sent"].get(f"{market}|{open_ms}")
        if sent is not None:
            values["send"].append((seen - sent) * 1000.0)
        values["event"].append((seen - mono_of(event_ms)) * 1000.0)
        values["receive"].append((seen - received) * 1000.0)
    out: dict[str, Any] = {
        "symbols": symbols,
        "bars_per_symbol": bars,
        "warmup_bars": warmup,
        "speed": speed,
        "live_bars": len(strategy.records),
        "matched_sends": len(values["send"]),
        "ws_messages": report["ws_messages"],
        "run_seconds": seconds,
        "target_p99_ms": TARGET_P99_MS,
    }
    for key, _ in MEASURES:
        for stat, value in _summary(values[key]).items():
            out[f"{key}_{stat}_ms"] = value
    out["meets_target"] = out["send_p99_ms"] < TARGET_P99_MS
    return out


def render(result: dict[str, Any]) -> str:
    """The result as a text table."""
    lines = [
        "Live latency: simulator websocket message -> strategy next() (loopback, 2 processes)",
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{result['symbols']} symbols x {result['bars_per_symbol']} live bars "
        f"(after {result['warmup_bars']} per symbol), "
        f"sim speed {result['speed']:g}x, {result['ws_messages']} ws messages, "
        f"run {result['run_seconds']:.1f} s",
        "",
        f"{'latency (ms)':<26}{'median':>9}{'p95':>9}{'p99':>9}{'max':>9}",
    ]
    for key, label in MEASURES:
        stats = [result[f"{key}_{q}_ms"] for q in ("median", "p95", "p99", "max")]
        lines.append(f"{label:<26}" + "".join(f"{v:>9.2f}" for v in stats))
    verdict = "meets" if result["meets_target"] else "MISSES"
    lines += [
        "",
        f"{result['live_bars']} live bars measured ({result['matched_sends']} with a recorded "
        f"send); p99 send -> next() target < {result['target_p99_ms']:g} ms: {verdict}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write it to benchmarks/out/bench_live.txt."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--bars", type=int, default=20)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.symbols, args.speed, args.seed)
        return 0
    result = run_live_latency(symbols=args.symbols, bars=args.bars, speed=args.speed)
    table = render(result)
    print(table, end="")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
