"""The operations verbs and the CLI's manners, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import pty
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tradedata.sim import ExchangeSimulator

ROOT = Path(__file__).resolve().parents[2]
SIM_START = pd.Timestamp("2024-06-01", tz="UTC")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEDATA_")}
    env["TRADEDATA_CONFIG"] = os.environ["TRADEDATA_CONFIG"]  # the hermetic, missing file
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tradedata", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or _env(),
        timeout=180,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    # speed 0: a frozen sim clock, so the bars are the same on every run
    with ExchangeSimulator(seed=5, speed=0.0, start=SIM_START) as s:
        yield s


def _sim_env(sim: ExchangeSimulator, **extra: str) -> dict[str, str]:
    return _env(TRADEDATA_BINANCE_URL=sim.url, TRADEDATA_BINANCE_WS_URL=sim.ws_base, **extra)


def _imported(cache: Path) -> Path:
    orcl = str(ROOT / "tests/data/orcl-2014.txt")
    proc = run("--cache-dir", str(cache), "import", orcl, "ORCL", "1d")
    assert proc.returncode == 0, proc.stderr
    return cache


def test_version() -> None:
    from tradedata import __version__

    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"tradedata {__version__}"


def test_stats_persist_across_processes_and_reset(sim: ExchangeSimulator, cache_dir: Path) -> None:
    env = _sim_env(sim)
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
    _imported(cache_dir)
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
    proc = run("--cache-dir", str(cache_dir), "health", "--json", env=_sim_env(sim))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = {ch["name"]: ch for ch in json.loads(proc.stdout)["checks"]}
    assert checks["provider:binance"]["reachable"] and checks["provider:binance"]["latency_ms"] > 0
    assert set(checks) == {"provider:binance", "cache:integrity", "cache:disk"}
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = _env(TRADEDATA_BYBIT_URL=dead)
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


def _records(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


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
    env = _env(TRADEDATA_LOG_FORMAT="json", TRADEDATA_LOG_LEVEL="DEBUG")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    records = _records(proc.stderr)
    assert records and len(records) == len(proc.stderr.strip().splitlines())  # all JSON
    requests = [
        r for r in records if r["logger"] == "tradedata.providers" and r["provider"] == "memory"
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
    assert {"time", "level", "message"} <= set(records[0])
    (failure,) = [r for r in records if r["message"].startswith("dead failed for")]
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
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), cwd=ROOT
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "quiet-ok", proc.stderr
    records = _records(proc.stderr)
    assert len(records) == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert records[0]["logger"] == "tradedata.yfinance" and records[0]["level"] == "DEBUG"
    assert "Cookie/crumb fetch failed" in records[0]["message"]


def test_quiet_and_verbose(sim: ExchangeSimulator, cache_dir: Path) -> None:
    env = _sim_env(sim)
    c = ["--cache-dir", str(cache_dir)]
    args = ["fetch", "BTC/USDT", "1h", "--start", "2024-05-01", "--end", "2024-05-02"]
    loud = run(*c, "-vv", *args, env=env)
    assert loud.returncode == 0 and "debug: binance request ok in" in loud.stderr
    assert "[binance BTC/USDT 1h]" in loud.stderr
    quiet = run(*c, "--quiet", *args, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "" and "bars=25" in quiet.stdout


def test_cli_warnings_are_one_plain_line() -> None:
    script = """
import argparse, warnings, pandas as pd
from tradedata import ops
session = ops.setup(argparse.Namespace(quiet=False, verbose=0))
session.__enter__()
t = pd.Timestamp("2026-12-04 15:00", tz="UTC")
warnings.warn(f"BTC/USDT 1h: could not fetch {t!r}..{t.isoformat()}")
warnings.warn("the server said:" + chr(10) + "  <html>busy</html>")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), cwd=ROOT
    )
    assert proc.stderr == (
        "warning: BTC/USDT 1h: could not fetch 2026-12-04 15:00..2026-12-04 15:00\n"
        "warning: the server said: <html>busy</html>\n"
    )


def test_explicit_provider_is_not_answered_with_another_providers_bars(
    sim: ExchangeSimulator, cache_dir: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    env = _sim_env(sim, TRADEDATA_KRAKEN_URL=dead)
    c = ["--cache-dir", str(cache_dir)]
    rng = ["--start", "2024-05-20", "--end", "2024-05-25"]
    first = run(*c, "fetch", "BTC/USDT", "1h", *rng, "--provider", "binance", env=env)
    assert first.returncode == 0
    for verb in ("fetch", "show"):
        proc = run(*c, verb, "BTC/USDT", "1h", *rng, "--provider", "kraken", env=env)
        assert proc.returncode == 2, proc.stdout
        assert proc.stderr.splitlines()[-1] == (
            "error: kraken did not serve BTC/USDT 1h 2024-05-20 00:00..2024-05-25 00:00: "
            "the bars in the cache come from binance "
            "(use --provider binance or --provider cache to see them)"
        )
        assert "Traceback" not in proc.stderr and "Timestamp(" not in proc.stderr
    wider = run(*c, "show", "BTC/USDT", "1h", "--start", "2024-05-19", "--end", "2024-05-25",
                "--provider", "kraken", env=env)  # fmt: skip
    assert wider.returncode == 2
    for line in wider.stderr.splitlines():  # kraken's failure and the hole: plain lines
        assert line.startswith(("warning: ", "error: ")) and "UserWarning" not in line
    hole = "warning: BTC/USDT 1h: could not fetch 2024-05-19 00:00..2024-05-19 23:00"
    assert hole in wider.stderr
    assert run(*c, "show", "BTC/USDT", "1h", "--provider", "cache", env=env).returncode == 0


def test_pinned_simulator_fails_fast_without_remote_defaults(
    sim: ExchangeSimulator, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradedata.errors import AllProvidersFailedError
    from tradedata.manager import DataManager

    monkeypatch.setenv("TRADEDATA_BINANCE_URL", sim.url)
    dm = DataManager(cache_dir=cache_dir)
    began = time.monotonic()
    with pytest.raises(AllProvidersFailedError) as err:
        dm.get_ohlcv("DOGE/USDT", "1h", "2024-05-01", "2024-05-02")
    assert time.monotonic() - began < 5  # no waiting on api.bybit.com or coingecko
    assert "NetworkError" not in str(err.value)  # bybit and coingecko were never called
    notes = " | ".join(dm.selector.notes)
    assert "bybit skipped: not configured while binance point(s) at this machine" in notes
    assert dm.selector.get_provider_with_failover("BTC/USDT", "1h") == ["binance"]
    monkeypatch.setenv("TRADEDATA_BYBIT_URL", sim.url)  # configured: used as the backup
    assert dm.selector.get_provider_with_failover("BTC/USDT", "1h") == ["binance", "bybit"]
    dm.close()


def test_broken_pipe_into_head_is_quiet(tmp_path: Path, cache_dir: Path) -> None:
    from tests.support.memory_provider import synthetic

    csv = tmp_path / "big.csv"
    synthetic("2020-01-01", 20_000, freq="1h").to_csv(csv)
    c = ["--cache-dir", str(cache_dir)]
    assert run(*c, "import", str(csv), "BIG", "1h").returncode == 0
    for args in (["show", "BIG", "1h", "--json", "--rows", "20000"], ["show", "BIG", "1h",
                 "--rows", "20000"], ["cache", "info", "--json"]):  # fmt: skip
        shell = f"{sys.executable} -m tradedata {' '.join(c + args)} | head -n 1"
        proc = subprocess.run(
            shell, shell=True, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120
        )
        assert proc.stdout.count("\n") == 1
        assert proc.stderr == "", proc.stderr


def test_cache_info_table_and_delete(cache_dir: Path, tmp_path: Path) -> None:
    _imported(cache_dir)
    c = ["--cache-dir", str(cache_dir)]
    assert run(*c, "import", str(ROOT / "tests/data/nvda-2014.txt"), "NVDA", "1d").returncode == 0
    info = run(*c, "cache", "info").stdout
    assert re.search(r"size\s+[\d.]+ KB of 20.00 GB", info)
    assert re.search(r"symbol\s+tf\s+first\s+last\s+bars\s+size\s+quality\s+providers", info)
    assert re.search(r"ORCL\s+1d\s+2014-01-02 00:00\s+2014-12-31 00:00\s+252\s+[\d.]+ KB", info)
    assert "size_bytes" not in info
    proc = run(*c, "cache", "delete", "orcl", "1d")
    assert proc.returncode == 0 and proc.stdout.strip() == "deleted ORCL 1d: 1 partition(s)"
    info = run(*c, "cache", "info", "--json")
    assert [s["symbol"] for s in json.loads(info.stdout)["series"]] == ["NVDA"]
    again = run(*c, "cache", "delete", "ORCL")
    assert again.returncode == 2
    assert again.stderr == "error: nothing cached for ORCL (every timeframe)\n"


def test_download_progress_only_on_a_terminal(sim: ExchangeSimulator, tmp_path: Path) -> None:
    args = ["--cache-dir", str(tmp_path / "c"), "download", "--symbols", "BTC/USDT",
            "--timeframes", "1h", "--start", "2024-05-01", "--end", "2024-05-10"]  # fmt: skip
    redirected = run(*args, env=_sim_env(sim))
    assert redirected.returncode == 0 and "\r" not in redirected.stderr
    master, slave = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "tradedata", *args[:2], "download", "--symbols", "ETH/USDT",
         *args[5:]],
        stdout=subprocess.PIPE, stderr=slave, env=_sim_env(sim), cwd=ROOT, timeout=120,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        while chunk := os.read(master, 4096):
            seen += chunk
    except OSError:
        pass
    os.close(master)
    assert proc.returncode == 0 and b"\r" in seen


def test_help_texts_show_examples_and_defaults() -> None:
    top = run("--help").stdout
    for verb in ("stats", "health", "download", "demo", "zipline", "sim"):
        assert re.search(rf"^\s+{verb}\s", top, re.M), verb
    assert "examples:" in top and "--quiet" in top and "--version" in top
    sim_help = run("sim", "--help").stdout
    assert "default 8765" in sim_help and "default 1 = real time" in sim_help
    assert "--print-config" in sim_help and "examples:" in sim_help
    show = run("show", "--help").stdout
    assert "only the cache is read" in show and "examples:" in show
    assert "rows of head and of tail (default 5)" in show
    assert "first bar open" in show and "last bar open, included" in show
    assert "print the quality report as JSON" in run("import", "--help").stdout
    health = run("health", "--help").stdout
    assert "0 healthy" in health and "1 unhealthy" in health


def test_sim_print_config_drives_tradedata(sim: ExchangeSimulator, tmp_path: Path) -> None:
    proc = run("sim", "--print-config", "--port", str(sim.port))
    assert proc.returncode == 0
    config = yaml.safe_load(proc.stdout)
    assert config["providers"]["binance"] == {"url": sim.url, "ws_url": sim.ws_base}
    path = tmp_path / "sim.yaml"
    path.write_text(proc.stdout)
    fetched = run("--config", str(path), "--cache-dir", str(tmp_path / "c"), "fetch", "ETH/USDT",
                  "1h", "--start", "2024-05-01", "--end", "2024-05-02", "--json")  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["provider"] == "binance"


def test_sim_banner_and_busy_port(sim: ExchangeSimulator) -> None:
    busy = run("sim", "--port", str(sim.port), "--duration", "1")
    assert busy.returncode == 1
    line = busy.stderr.strip()
    assert f"port {sim.port} on 127.0.0.1 is already in use by pid {os.getpid()}" in line
    assert "choose another with --port N" in line and "\n" not in line
    ok = run("sim", "--port", "0", "--duration", "0.5")
    assert ok.returncode == 0
    assert "export TRADEDATA_BINANCE_URL=http://127.0.0.1:" in ok.stdout
    assert "--print-config > sim.yaml" in ok.stdout and "tradedata --config sim.yaml" in ok.stdout


BLOCKER = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Blocker())
"""


def test_missing_extras_give_the_pip_hint(tmp_path: Path) -> None:
    script = BLOCKER.format(blocked=["zipline"]) + (
        "from tradedata.cli import main\n"
        "sys.exit(main(['zipline', 'ingest', 'b', '--symbols', 'BTC/USDT', '--start',"
        f" '2024-01-01', '--timeframe', '1d', '--cache-dir', {str(tmp_path)!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), cwd=ROOT
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        'error: tradedata zipline needs the "zipline" extra (zipline is not installed): '
        'pip install "tradedata[zipline]"\n'
    )
    script = BLOCKER.format(blocked=["ipywidgets"]) + (
        "try:\n    import tradedata.widgets\n"
        "except ImportError as exc:\n    print(type(exc).__name__, exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), cwd=ROOT
    )
    assert proc.stdout.strip() == (
        'MissingExtraError tradedata.widgets needs the "widgets" extra (ipywidgets is not '
        'installed): pip install "tradedata[widgets]"'
    )


def test_global_options_before_sim_and_zipline(cache_dir: Path) -> None:
    proc = run("--quiet", "sim", "--port", "0", "--duration", "0.3")
    assert proc.returncode == 0 and "served 0 requests" in proc.stdout, proc.stderr
    sids = run("--cache-dir", str(cache_dir), "zipline", "sids")
    assert sids.returncode == 0 and sids.stderr == ""
    bad = run("show", "ORCL", "1d", "--bogus")
    assert bad.returncode == 2 and bad.stderr.startswith("error: unrecognized arguments: --bogus")


def test_json_format_at_the_cli_covers_warnings(sim: ExchangeSimulator, cache_dir: Path) -> None:
    script = """
import argparse, sys, warnings
from tradedata import ops
with ops.setup(argparse.Namespace(quiet=False, verbose=0)):
    warnings.warn("BTC/USDT 1h: could not fetch 2024-05-19T00:00:00+00:00")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True,
        env=_env(TRADEDATA_LOG_FORMAT="json"), cwd=ROOT,
    )  # fmt: skip
    (record,) = _records(proc.stderr)
    assert record["level"] == "WARNING" and record["logger"] == "tradedata.warnings"
    assert record["message"] == "BTC/USDT 1h: could not fetch 2024-05-19 00:00"
    env = _sim_env(sim, TRADEDATA_LOG_FORMAT="json")
    args = ["fetch", "BTC/USDT", "1h", "--start", "2024-05-01", "--end", "2024-05-02"]
    loud = run("--cache-dir", str(cache_dir), "-vv", *args, env=env)
    lines = loud.stderr.strip().splitlines()
    assert loud.returncode == 0 and lines and len(_records(loud.stderr)) == len(lines)
    assert any(r.get("request_id") and r.get("symbol") == "BTC/USDT" for r in _records(loud.stderr))
