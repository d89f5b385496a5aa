"""stats, health and logging, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pandas as pd
from opshelpers import clean_env, imported, records, run, run_python, sim_env

from tradedata.sim import ExchangeSimulator


def test_version() -> None:
    from tradedata import __version__

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"tradedata {__version__}"


def test_stats_persist_across_processes_and_reset(sim: ExchangeSimulator, cache_dir: Path) -> None:
    env = sim_env(sim)
    c = ["--cache-dir", str(cache_dir)]
    fetch = [*c, "fetch", "BTC/USDT", "1h", "--start", "2024-05-01", "--end", "2024-05-20"]
    assert run(*fetch, env=env).returncode == 0
    assert run(*fetch, env=env).returncode == 0  # all cached: a hit, no request
    proc = run(*c, "stats", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    binance = data["persisted"]["providers"]["binance"]
    assert binance["requests"] >= 2 and binance["errors_total"] == 0
    assert binance["latency_p50_ms"] > 0 and binance["latency_p95_ms"] >= binance["latency_p50_ms"]
    assert binance["circuit"] == "closed"
    cache = data["persisted"]["cache"]
    assert cache["hits"] >= 1 and cache["misses"] >= 1
    assert cache["bytes_written"] > 0 and cache["compression_ratio"] > 1
    assert data["process"]["providers"] == {}  # this stats process made no requests
    text = run(*c, "stats", env=env)
    assert "binance" in text.stdout and "since reset" in text.stdout and not text.stderr
    assert run(*c, "stats", "--reset", env=env).returncode == 0
    after = json.loads(run(*c, "stats", "--json", env=env).stdout)
    assert after["persisted"]["providers"] == {} and after["persisted"]["cache"]["hits"] == 0


def test_health_ok_stale_strict_and_damage(cache_dir: Path) -> None:
    imported(cache_dir)
    c = ["--cache-dir", str(cache_dir), "health"]
    proc = run(*c, "--offline", "--json")
    assert proc.returncode == 0, proc.stderr
    checks = {ch["name"]: ch for ch in json.loads(proc.stdout)["checks"]}
    assert checks["cache:integrity"]["status"] == "ok"
    assert checks["cache:disk"]["status"] == "ok" and checks["cache:disk"]["limit_bytes"] > 0
    assert checks["freshness:ORCL 1d"]["status"] == "warn"  # last bar in 2014
    assert checks["freshness:ORCL 1d"]["last_bar"] == "2014-12-31 00:00"
    assert run(*c, "--offline", "--strict").returncode == 1
    nothing = run(*c, "--json")  # no provider configured: none probed, a warning says so
    assert nothing.returncode == 0
    (note,) = [ch for ch in json.loads(nothing.stdout)["checks"] if ch["name"] == "providers"]
    assert note["status"] == "warn" and "--provider NAME" in note["detail"]
    for path in cache_dir.rglob("*.val"):
        path.write_bytes(path.read_bytes()[:-10])  # truncated partition file
    proc = run(*c, "--offline")
    assert proc.returncode == 1
    found = r"FAIL\s+cache:integrity\s+ORCL 1d 2014: data file has the wrong size"
    assert re.search(found, proc.stdout)
    assert proc.stdout.rstrip().endswith("UNHEALTHY")


def test_health_probes_configured_providers(sim: ExchangeSimulator, cache_dir: Path) -> None:
    proc = run("--cache-dir", str(cache_dir), "health", "--json", env=sim_env(sim))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {ch["name"]: ch for ch in json.loads(proc.stdout)["checks"]}
    assert checks["provider:binance"]["reachable"] and checks["provider:binance"]["latency_ms"] > 0
    assert set(checks) == {"provider:binance", "cache:integrity", "cache:disk"}
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = clean_env(TRADEDATA_BYBIT_URL=dead)
    proc = run("--cache-dir", str(cache_dir), "health", "--timeout", "2", env=env)
    assert proc.returncode == 1
    assert re.search(r"FAIL\s+provider:bybit\s+unreachable at http://127.0.0.1", proc.stdout)


def test_freshness_against_the_timeframe(manager) -> None:  # type: ignore[no-untyped-def]
    from tests.support.memory_provider import synthetic
    from tradedata.health import check_freshness

    manager.import_frame(synthetic("2024-03-01", 60, freq="1h"), "BTC/USDT", "1h")
    last_close = pd.Timestamp("2024-03-03 12:00", tz="UTC")
    fresh = check_freshness(manager, now=last_close + pd.Timedelta(hours=2))
    stale = check_freshness(manager, now=last_close + pd.Timedelta(hours=4))
    assert fresh[0].status == "ok" and fresh[0].data["age_bars"] == 2.0
    assert stale[0].status == "warn" and "4.0 bars" in stale[0].detail


def test_json_logs_carry_provider_symbol_timeframe_and_request_id(cache_dir: Path) -> None:
    script = f"""
from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.errors import TemporaryProviderError
from tradedata.manager import DataManager
dm = DataManager(cache_dir={str(cache_dir)!r})
fail = lambda page: TemporaryProviderError("boom") if page == 2 else None
dm.add_provider(MemoryProvider(synthetic("2024-01-01", 500), "2024-01-02", fail=fail), "memory")
dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 00:00", "2024-01-01 02:59", provider="memory")
from tradedata.errors import AuthenticationError, TradeDataError
dead = lambda page: AuthenticationError("key revoked")
gone = MemoryProvider(synthetic("2024-01-01", 500), "2024-01-02", fail=dead, name="dead")
dm.add_provider(gone, "dead")
try:
    dm.get_ohlcv("BTC/USDT", "1m", "2024-01-01 03:00", "2024-01-01 03:59", provider="dead")
except TradeDataError:
    pass
"""
    env = clean_env(TRADEDATA_LOG_FORMAT="json", TRADEDATA_LOG_LEVEL="DEBUG")
    proc = run_python(script, env)
    assert proc.returncode == 0, proc.stderr
    found = records(proc.stderr)
    assert found and len(found) == len(proc.stderr.strip().splitlines())  # all JSON
    requests = [
        r for r in found if r["logger"] == "tradedata.providers" and r["provider"] == "memory"
    ]
    assert all(
        r["provider"] == "memory" and r["symbol"] == "BTC/USDT" and r["timeframe"] == "1m"
        for r in requests
    )
    failed = [r for r in requests if "failed" in r["message"]]
    retry = [r for r in requests if "retry" in r["message"]]
    assert len(failed) == 1 and len(retry) == 1
    assert failed[0]["request_id"] == retry[0]["request_id"]  # one request, its retries
    ids = {r["request_id"] for r in requests}
    assert len(ids) == 2  # two pages of 100 bars... one of which failed once
    assert {"time", "level", "message"} <= set(found[0])
    (failure,) = [r for r in found if r["message"].startswith("dead failed for")]
    assert failure["level"] == "WARNING" and failure["provider"] == "dead"
    assert failure["symbol"] == "BTC/USDT" and failure["timeframe"] == "1m"


def test_yfinance_chatter_goes_through_tradedata_logging() -> None:
    script = """
import logging, sys
import tradedata.adapters.yahoo  # routes yfinance's logger
from yfinance import utils
utils.get_yf_logger().warning("Cookie/crumb fetch failed (Timeout), continuing without crumb")
print("quiet-ok", flush=True)
from tradedata.logs import configure_logging
configure_logging("DEBUG", "json")
utils.get_yf_logger().warning("Cookie/crumb fetch failed (Timeout), continuing without crumb")
"""
    proc = run_python(script)
    assert proc.returncode == 0 and proc.stdout.strip() == "quiet-ok", proc.stderr
    found = records(proc.stderr)
    assert len(found) == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert found[0]["logger"] == "tradedata.yfinance" and found[0]["level"] == "DEBUG"
    assert "Cookie/crumb fetch failed" in found[0]["message"]


def test_quiet_and_verbose(sim: ExchangeSimulator, cache_dir: Path) -> None:
    env = sim_env(sim)
    c = ["--cache-dir", str(cache_dir)]
    args = ["fetch", "BTC/USDT", "1h", "--start", "2024-05-01", "--end", "2024-05-02"]
    loud = run(*c, "-vv", *args, env=env)
    assert loud.returncode == 0 and "debug: binance request ok in" in loud.stderr
    assert "[binance BTC/USDT 1h]" in loud.stderr
    quiet = run(*c, "--quiet", *args, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "" and "bars=25" in quiet.stdout


def test_json_format_at_the_cli_covers_warnings(sim: ExchangeSimulator, cache_dir: Path) -> None:
    script = """
import argparse, sys, warnings
from tradedata import ops
with ops.setup(argparse.Namespace(quiet=False, verbose=0)):
    warnings.warn("BTC/USDT 1h: could not fetch 2024-05-19T00:00:00+00:00")
"""
    proc = run_python(script, clean_env(TRADEDATA_LOG_FORMAT="json"))
    (record,) = records(proc.stderr)
    assert record["level"] == "WARNING" and record["logger"] == "tradedata.warnings"
    assert record["message"] == "BTC/USDT 1h: could not fetch 2024-05-19 00:00"
    env = sim_env(sim, TRADEDATA_LOG_FORMAT="json")
    args = ["fetch", "BTC/USDT", "1h", "--start", "2024-05-01", "--end", "2024-05-02"]
    loud = run("--cache-dir", str(cache_dir), "-vv", *args, env=env)
    lines = loud.stderr.strip().splitlines()
    assert loud.returncode == 0 and lines and len(records(loud.stderr)) == len(lines)
    assert any(r.get("request_id") and r.get("symbol") == "BTC/USDT" for r in records(loud.stderr))
