"""Benchmark the bulk download against the simulator under Binance's published rate limits.

Run from the repository root: ``python benchmarks/bench_download.py [--symbols 50] [--days 7]``.
The simulator serves ``--symbols`` made-up Binance markets; :func:`tradedata.download.download`
fetches them at 1m, 5m and 1h for ``--days`` days into an empty cache with 8 workers. Simulator
and downloader each run in a process of their own (no shared interpreter lock, and the peak
memory measured is the downloader's). The provider learns the limit from the simulator's
exchangeInfo, as it does from Binance's (klines weight 2).

For each limit (default: Binance's published 6000 weight/min, and its former 1200/min, where the
limit binds on a 2-core machine) it prints the achieved requests/min and bars/s against the
limit-bound minimum time (total weight / limit), the 429 answers seen and reaching the user,
418 bans, and the downloader's resident memory before and at its peak. Target: >= 90 % of the
rate-limit-bound throughput, no 429 reaching the user, no ban. The table is printed and written
to ``benchmarks/out/bench_download.txt``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tradedata.download import download  # noqa: E402
from tradedata.manager import DataManager  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "bench_download.txt"
TIMEFRAMES = ("1m", "5m", "1h")
KLINES_WEIGHT = 2  # Binance spot GET /api/v3/klines


def serve(limit: int, symbols: int, commands: Any, answers: Any) -> None:
    """Child process: run the simulator until told to stop; answer stats requests."""
    from tradedata.sim.faults import Faults
    from tradedata.sim.simulator import ExchangeSimulator, generated_symbols

    names = generated_symbols(symbols)
    faults = Faults(rate_limit=limit, rate_window=60.0)
    with ExchangeSimulator(exchanges=("binance",), symbols=names, seed=3, faults=faults) as sim:
        began = _cpu_seconds()
        answers.put((sim.url, names))
        while True:
            command = commands.get()
            if command == "stats":
                answers.put((sim.stats, _cpu_seconds() - began))
            else:
                return


@dataclass
class Result:
    """One benchmark run."""

    limit: int
    seconds: float
    requests: int
    weight: float
    bars: int
    http_429: int
    user_429: int
    bans: int
    base_mb: float
    peak_mb: float
    complete: bool
    client_cpu: float
    sim_cpu: float
    load: float

    @property
    def minimum_seconds(self) -> float:
        """The limit-bound minimum: total weight / limit."""
        return self.weight / self.limit * 60.0

    @property
    def share(self) -> float:
        """Achieved throughput as a share of the rate-limit-bound one."""
        return self.minimum_seconds / self.seconds


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_seconds() -> float:
    """CPU time (user + system, all threads) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client(url: str, names: list[str], days: float, concurrency: int, answers: Any) -> None:
    """Child process: download everything into an empty cache; report figures and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        dm = DataManager(cache_dir=tmp, providers={"binance": {"url": url}})
        dm.provider("binance").load_markets()  # imports done: the baseline
        base = _rss_mb()
        cpu, began = _cpu_seconds(), time.perf_counter()
        report = download(names, TIMEFRAMES, days=days, manager=dm, concurrency=concurrency)
        seconds, cpu = time.perf_counter() - began, _cpu_seconds() - cpu
        dm.close()
    user_429 = sum(1 for s in report.series if s.error and "rate limit" in s.error)
    answers.put((seconds, report.bars, report.ok, user_429, base, _rss_mb(), cpu))


def run(limit: int, symbols: int, days: float, concurrency: int) -> Result:
    """Download everything once under ``limit`` weight per minute (each side in a process)."""
    load = os.getloadavg()[0]  # other work on the machine competes for the same cores
    ctx = mp.get_context("spawn")
    commands, answers = ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=serve, args=(limit, symbols, commands, answers), daemon=True)
    server.start()
    try:
        url, names = answers.get(timeout=60)
        done = ctx.Queue()
        worker = ctx.Process(target=client, args=(url, names, days, concurrency, done))
        worker.start()
        seconds, bars, ok, user_429, base, peak, client_cpu = done.get()
        worker.join(timeout=60)
        commands.put("stats")
        stats, sim_cpu = answers.get(timeout=60)
    finally:
        commands.put("stop")
        server.join(timeout=30)
    paths = stats.by_path
    klines = paths.get("/api/v3/klines", 0)
    weight = klines * KLINES_WEIGHT + paths.get("/api/v3/exchangeInfo", 0) * 20
    weight += paths.get("/api/v3/time", 0)
    return Result(limit, seconds, klines, weight, bars, stats.http_429, user_429,
                  stats.http_418, base, peak, ok, client_cpu, sim_cpu, load)  # fmt: skip


def table(results: list[Result], symbols: int, days: float) -> str:
    """The printed report."""
    head = (
        f"bulk download: {symbols} symbols x {'/'.join(TIMEFRAMES)} x {days:g} days from the "
        f"simulator (Binance dialect, klines weight {KLINES_WEIGHT}), 8 workers\n"
    )
    cols = ("limit w/min", "requests", "bars", "seconds", "min s", "req/min", "bars/s",
            "of limit", "429 seen", "429 user", "418", "RSS MB", "peak MB", "client CPU s",
            "sim CPU s", "complete")  # fmt: skip
    rows = [cols]
    for r in results:
        rows.append((
            str(r.limit), str(r.requests), str(r.bars), f"{r.seconds:.1f}",
            f"{r.minimum_seconds:.1f}", f"{r.requests / r.seconds * 60:.0f}",
            f"{r.bars / r.seconds:,.0f}", f"{r.share:.0%}", str(r.http_429), str(r.user_429),
            str(r.bans), f"{r.base_mb:.0f}", f"{r.peak_mb:.0f}", f"{r.client_cpu:.1f}",
            f"{r.sim_cpu:.1f}", "yes" if r.complete else "NO",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    notes = []
    for r in results:
        bound = "limit-bound" if r.share >= 0.9 else "CPU-bound (the limit does not bind)"
        notes.append(
            f"limit {r.limit}/min: {bound}; minimum {r.minimum_seconds:.1f}s for "
            f"{r.weight:.0f} weight, took {r.seconds:.1f}s ({r.share:.0%} of the "
            f"rate-limit-bound throughput); load average {r.load:.1f} on {os.cpu_count()} cores "
            "when it started"
        )
    if any(r.share > 1 for r in results):
        notes.append(
            "Shares above 100%: the shared token bucket starts full (a burst of 2% of the limit, "
            "see tradedata.adapters.ccxt_.traits), which the limit-bound minimum does not count."
        )
    notes.append(
        "RSS MB: resident memory of the downloading process once imports are done and the "
        "markets loaded; peak MB: its peak during the download. CPU s: user + system seconds "
        "used during the download by the downloading process (all threads) and by the simulator."
    )
    return head + "\n".join(lines) + "\n\n" + "\n".join(notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print and save the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--limits", default="6000,1200", help="weight per minute, comma-separated")
    args = parser.parse_args(argv)
    results = []
    for limit in (int(x) for x in args.limits.split(",")):
        results.append(run(limit, args.symbols, args.days, args.concurrency))
    text = table(results, args.symbols, args.days)
    print(text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    ok = all(r.complete and r.user_429 == 0 and r.bans == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
