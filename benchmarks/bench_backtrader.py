"""Benchmark: feeding backtrader from tradedata vs backtrader's pandas feeds.

    python benchmarks/bench_backtrader.py [--bars N]

Historical part: the same strategy (one SMA, an empty ``next``; cerebro defaults except
``stdstats=False``) runs over N one-minute bars (default 1,000,000) fed by

* ``TradeDataFeed`` by symbol from a warm tradedata cache (the bars were imported before the
  measurement; the load phase includes the cache read and the manager's validation),
* ``TradeDataFeed`` over an in-memory frame,
* ``bt.feeds.PandasData`` over the in-memory frame,
* ``bt.feeds.PandasDirectData`` over the in-memory frame.

Each contender runs in its own subprocess, with its modules imported before the clock starts.
Measured: the load phase (from ``cerebro.run()`` to the strategy's ``__init__``: backtrader
starts and preloads every data first; for the cache contender this includes opening the cache,
reading and validating the bars), the whole run, and the peak resident memory of the process
during ``cerebro.run()`` (``VmHWM`` after resetting it through ``/proc/self/clear_refs``;
``ru_maxrss`` where that is unavailable) and how far above the pre-run RSS it went. Times
are wall clock and process CPU time (the CPU figure is steadier on a shared machine).
Targets: the load phase from the cache at least 200x faster than PandasData, the whole run
at least 2x faster. The table is printed and written to ``benchmarks/out/bench_backtrader.txt``.

Live part (``--no-live`` skips it): the time from a simulator websocket message to the
strategy's ``next()`` for 20 symbols, median and p99 (target p99 < 20 ms on loopback); the
measurement itself lives in ``bench_live.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "out" / "bench_backtrader.txt"
SYMBOL = "BTC/USDT"
START = "2020-01-01"
LOAD_TARGET, RUN_TARGET = 200.0, 2.0

CONTENDERS = {
    "tradedata-cache": "TradeDataFeed, warm cache (by symbol)",
    "tradedata-frame": "TradeDataFeed, in-memory frame",
    "PandasData": "bt.feeds.PandasData, in-memory frame",
    "PandasDirectData": "bt.feeds.PandasDirectData, in-memory frame",
}


def synthetic_frame(bars: int, seed: int = 7) -> Any:
    """A clean random walk of ``bars`` one-minute bars in the tradedata schema."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    index = pd.date_range(START, periods=bars, freq="1min", tz="UTC", name="timestamp")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0005, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": rng.uniform(1.0, 10.0, bars),
        },
        index=index,
    )


# -- child: one contender per process --------------------------------------------------------


def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> int:
    """Reset the process's peak RSS to its current RSS (Linux); return the current RSS in kB.

    Without /proc the peak cannot be reset and the lifetime peak (``ru_maxrss``) is used.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return _proc_status_kb("VmRSS") or 0


def peak_rss_kb() -> int:
    """Peak RSS in kB since :func:`reset_peak_rss` (``VmHWM``), else ``ru_maxrss``."""
    return _proc_status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _make_feed(name: str, bars: int, cache_dir: str) -> Any:
    import backtrader as bt

    from tradedata.feeds import TradeDataFeed

    if name == "tradedata-cache":
        return TradeDataFeed(dataname=SYMBOL, interval="1m", cache_dir=cache_dir)
    frame = synthetic_frame(bars)
    if name == "tradedata-frame":
        return TradeDataFeed(dataname=frame, interval="1m")
    naive = frame.tz_localize(None)
    naive["openinterest"] = 0.0
    tf = {"timeframe": bt.TimeFrame.Minutes, "compression": 1}
    if name == "PandasData":
        return bt.feeds.PandasData(dataname=naive, **tf)
    return bt.feeds.PandasDirectData(dataname=naive, **tf)


def run_child(name: str, bars: int, cache_dir: str) -> dict[str, Any]:
    """Run one contender; return its timings, memory and a result check."""
    import backtrader as bt

    # modules are imported before the clock starts, for every contender (pandas and backtrader
    # for the pandas feeds, the same plus tradedata's manager, cache and validation here)
    import tradedata.cache
    import tradedata.feeds.backtrader
    import tradedata.manager
    import tradedata.validation  # noqa: F401

    marks: dict[str, float] = {}

    class OneSMA(bt.Strategy):
        def __init__(self) -> None:
            marks["init"] = time.perf_counter()
            marks["init_cpu"] = time.process_time()
            self.sma = bt.ind.SMA(self.data, period=20)

        def next(self) -> None:
            pass

    feed = _make_feed(name, bars, cache_dir)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(OneSMA)
    rss_before = reset_peak_rss()
    start, start_cpu = time.perf_counter(), time.process_time()
    strategy = cerebro.run()[0]
    end, end_cpu = time.perf_counter(), time.process_time()
    return {
        "name": name,
        "load": marks["init"] - start,
        "run": end - start,
        "load_cpu": marks["init_cpu"] - start_cpu,
        "run_cpu": end_cpu - start_cpu,
        "peak_mb": peak_rss_kb() / 1024.0,
        "run_mb": (peak_rss_kb() - rss_before) / 1024.0,
        "bars": len(strategy.data),
        "last_sma": strategy.sma[0],
    }


# -- parent ------------------------------------------------------------------------------------


def warm_cache(bars: int, cache_dir: str) -> float:
    """Import the bars into a tradedata cache at ``cache_dir``; return the seconds it took."""
    from tradedata.manager import DataManager

    start = time.perf_counter()
    with DataManager(cache_dir=cache_dir) as manager:
        manager.import_frame(synthetic_frame(bars), SYMBOL, "1m", source="benchmark")
        manager.get_ohlcv(SYMBOL, "1m")  # read once: the OS file cache is warm too
    return time.perf_counter() - start


def run_contender(name: str, bars: int, cache_dir: str) -> dict[str, Any]:
    """Run ``name`` in a fresh interpreter and parse its JSON result."""
    cmd = [sys.executable, __file__, "--child", name, "--bars", str(bars), "--cache", cache_dir]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def historical_section(bars: int, names: list[str]) -> list[str]:
    """Run the historical contenders and format their table."""
    with tempfile.TemporaryDirectory(prefix="bench-bt-") as cache_dir:
        import_s = warm_cache(bars, cache_dir) if "tradedata-cache" in names else 0.0
        results = {}
        for name in names:
            print(f"  running {name} ...", file=sys.stderr, flush=True)
            results[name] = run_contender(name, bars, cache_dir)
    return format_table(bars, results, import_s)


def _ratio(base: dict[str, Any], res: dict[str, Any], key: str) -> float:
    return float(base[key]) / max(float(res[key]), 1e-9)


def format_table(bars: int, results: dict[str, dict[str, Any]], import_s: float) -> list[str]:
    """The historical table plus the target checks."""
    base = results.get("PandasData")
    lines = [
        f"Historical feed: {bars:,} one-minute bars, one SMA(20), empty next, stdstats=False",
        "",
        f"{'contender':<44} {'load s':>8} {'cpu s':>8} {'run s':>8} {'cpu s':>8}"
        f" {'peak MB':>8} {'+run MB':>8} {'load x':>7} {'run x':>6}",
    ]
    for name, res in results.items():
        load_x = f"{_ratio(base, res, 'load'):.0f}" if base else "-"
        run_x = f"{_ratio(base, res, 'run'):.1f}" if base else "-"
        lines.append(
            f"{CONTENDERS[name]:<44} {res['load']:>8.3f} {res['load_cpu']:>8.3f}"
            f" {res['run']:>8.2f} {res['run_cpu']:>8.2f} {res['peak_mb']:>8.0f}"
            f" {res['run_mb']:>8.0f}"
            f" {load_x:>7} {run_x:>6}"
        )
    lines += [
        "",
        "load x / run x: PandasData's wall time divided by the contender's (higher is better).",
        "peak MB: the process's peak RSS during cerebro.run(); +run MB: that peak minus the RSS",
        "just before the run (the frame contenders hold their frame before the run starts).",
    ]
    if import_s:
        lines.append(
            f"Cache warmed beforehand (import of the bars, not measured): {import_s:.1f} s"
        )
    checks = {(r["bars"], round(r["last_sma"], 9)) for r in results.values()}
    lines.append(
        f"Same bars and last SMA in every contender: {'yes' if len(checks) == 1 else checks}"
    )
    cache = results.get("tradedata-cache")
    if base and cache:
        for what, key, target in (
            ("load phase", "load", LOAD_TARGET),
            ("whole run", "run", RUN_TARGET),
        ):
            wall, cpu = _ratio(base, cache, key), _ratio(base, cache, key + "_cpu")
            verdict = "PASS" if min(wall, cpu) >= target else "FAIL"
            lines.append(
                f"Target {what} from the cache >= {target:.0f}x PandasData: "
                f"{wall:.1f}x wall, {cpu:.1f}x cpu  {verdict}"
            )
    return lines


def header() -> list[str]:
    """Machine and versions, for reading the figures later."""
    import backtrader as bt
    import numpy as np
    import pandas as pd

    return [
        f"bench_backtrader  {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"python {platform.python_version()}  backtrader {bt.__version__}  "
        f"pandas {pd.__version__}  numpy {np.__version__}  cpus {os.cpu_count()}",
        "",
    ]


def live_section(symbols: int) -> list[str]:
    """Live latency: simulator websocket message -> strategy ``next()`` (see bench_live.py)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_live import render, run_live_latency

    return render(run_live_latency(symbols=symbols)).splitlines()


def main(argv: list[str] | None = None) -> int:
    """Entry point (``--child`` runs one contender and prints JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="one-minute bars")
    parser.add_argument("--only", nargs="*", choices=list(CONTENDERS), help="contenders to run")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the figures")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--no-live", action="store_true", help="skip the live latency part")
    parser.add_argument("--live-symbols", type=int, default=20, help="symbols for live latency")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, args.bars, args.cache)))
        return 0
    lines = header() + historical_section(args.bars, args.only or list(CONTENDERS))
    if not args.no_live:
        lines += ["", *live_section(args.live_symbols)]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
