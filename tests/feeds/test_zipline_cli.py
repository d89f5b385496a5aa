"""``tradedata zipline``: ingest, register (extension.py) and sids from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from zipline_fixtures import daily_frame

from tradedata.feeds.zipline import cli_main
from tradedata.manager import DataManager

pytest.importorskip("zipline")

NAME = "td-cli"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A ZIPLINE_ROOT and a tradedata cache holding BTC/USDT and PEPE/USDT daily bars."""
    from zipline.data import bundles

    root, cache = tmp_path / "zipline", tmp_path / "cache"
    monkeypatch.setenv("ZIPLINE_ROOT", str(root))
    with DataManager(cache_dir=cache) as dm:
        dm.import_frame(daily_frame("2024-01-01", "2024-01-10"), "BTC/USDT", "1d")
        pepe = daily_frame("2024-01-01", "2024-01-10")
        pepe[["open", "high", "low", "close"]] = 0.00001234
        dm.import_frame(pepe, "PEPE/USDT", "1d")
    yield {"root": root, "cache": cache}
    if NAME in bundles.bundles:
        bundles.unregister(NAME)


def _args(env: dict[str, Path], *extra: str, symbols: str = "BTC/USDT") -> list[str]:
    return [
        NAME, "--symbols", symbols, "--provider", "cache", "--start", "2024-01-01",
        "--end", "2024-01-10", "--cache-dir", str(env["cache"]), *extra,
    ]  # fmt: skip


def test_ingest_writes_the_bundle_and_prints_its_report(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["ingest", *_args(env)])

    out = capsys.readouterr().out
    assert code == 0
    assert "BTC/USDT (sid 1): 10 bars, 2024-01-01..2024-01-10" in out
    assert list((env["root"] / "data" / NAME).glob("*/daily_equities.bcolz"))


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--timeframe", "5m"], "zipline bundles hold 1d or 1m bars, not 5m"),
        (["--calendar", "NOWHERE"], "unknown calendar 'NOWHERE'"),
        (["--price-scale", "PEPE"], "--price-scale takes SYMBOL=K"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    code = cli_main(["ingest", *_args(env, *extra)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and words in err


def test_missing_argument_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["ingest", NAME, "--start", "2024-01-01"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--symbols" in err


def test_refused_data_exits_1_naming_the_fix(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["ingest", *_args(env, symbols="PEPE/USDT")])

    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "price_scale={'PEPE/USDT'" in err


def test_register_writes_one_block_per_bundle_into_extension_py(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from zipline.data import bundles

    extension = env["root"] / "extension.py"
    extension.parent.mkdir(parents=True)
    extension.write_text("import os\n")

    assert cli_main(["register", *_args(env)]) == 0
    assert cli_main(["register", *_args(env, "--timeframe", "1m")]) == 0

    text = extension.read_text()
    assert text.startswith("import os\n")
    assert text.count(f"# >>> tradedata bundle {NAME!r} >>>") == 1
    assert "timeframe='1m'" in text and "timeframe='1d'" not in text
    bundles.unregister(NAME)
    exec(compile(text, str(extension), "exec"), {})  # what zipline does with extension.py
    assert bundles.bundles[NAME].calendar_name == "TRADEDATA-24/7"
    assert "zipline ingest -b td-cli" in capsys.readouterr().out


def test_register_print_shows_the_block_without_writing(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["register", *_args(env, "--print")])

    out = capsys.readouterr().out
    assert code == 0
    assert "register_bundle('td-cli', symbols=['BTC/USDT']" in out
    assert not (env["root"] / "extension.py").exists()


def test_register_passes_the_venue_on(
    env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ("--print", "--exchange", "bybit")
    code = cli_main(["register", *_args(env, *extra, symbols="BYBIT:btcusdt,ETH/USDT")])

    out = capsys.readouterr().out
    assert code == 0
    assert "symbols=['BYBIT:btcusdt', 'ETH/USDT']" in out and "exchange='bybit'" in out
    assert cli_main(["ingest", *_args(env, "--exchange", "kraken", symbols="BYBIT:BTC/USDT")]) == 2
    assert "names venue 'bybit' but exchange='kraken'" in capsys.readouterr().err


def test_sids_lists_assignments(env: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["ingest", *_args(env)]) == 0
    capsys.readouterr()

    assert cli_main(["sids", "--cache-dir", str(env["cache"])]) == 0
    assert capsys.readouterr().out == "1\tBTC/USDT\n"


ALGO = """
from zipline.api import order, record, symbol


def initialize(context):
    context.asset = symbol("BTC/USDT")
    context.ordered = False


def handle_data(context, data):
    record(close=data.current(context.asset, "close"))
    if not context.ordered:
        order(context.asset, 1)
        context.ordered = True
"""


@pytest.mark.slow
def test_zipline_command_ingests_and_runs_a_registered_bundle(
    env: dict[str, Path], tmp_path: Path
) -> None:
    assert cli_main(["register", *_args(env)]) == 0  # writes $ZIPLINE_ROOT/extension.py
    algo, output = tmp_path / "algo.py", tmp_path / "perf.pickle"
    algo.write_text(ALGO)
    repo = str(Path(__file__).resolve().parents[2])
    environ = {**os.environ, "ZIPLINE_ROOT": str(env["root"])}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    zipline = [sys.executable, "-m", "zipline"]

    subprocess.run([*zipline, "ingest", "-b", NAME], env=environ, check=True, timeout=240)
    subprocess.run(
        [*zipline, "run", "-f", str(algo), "-b", NAME, "--trading-calendar", "TRADEDATA-24/7",
         "-s", "2024-01-06", "-e", "2024-01-08", "--no-benchmark", "-o", str(output)],
        env=environ, check=True, timeout=240, capture_output=True,
    )  # fmt: skip

    perf = pd.read_pickle(output)
    closes = daily_frame("2024-01-01", "2024-01-10")["close"]
    assert perf["close"].tolist() == pytest.approx(closes.loc["2024-01-06":"2024-01-08"].tolist())
    fills = [t for day in perf["transactions"] for t in day]
    assert [f["amount"] for f in fills] == [1]


def test_ingest_reads_a_shared_postgresql_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, capsys: pytest.CaptureFixture
) -> None:
    from zipline.data import bundles

    monkeypatch.setenv("ZIPLINE_ROOT", str(tmp_path / "zipline"))
    monkeypatch.setenv("TRADEDATA_STORE", pg_url)
    with DataManager(store=pg_url) as dm:
        dm.import_frame(daily_frame("2024-01-01", "2024-01-10"), "BTC/USDT", "1d")
    args = [NAME, "--symbols", "BTC/USDT", "--provider", "cache", "--start", "2024-01-01"]
    try:
        code = cli_main(["ingest", *args, "--end", "2024-01-10"])
    finally:
        if NAME in bundles.bundles:
            bundles.unregister(NAME)
    assert code == 0
    assert "BTC/USDT (sid 1): 10 bars, 2024-01-01..2024-01-10" in capsys.readouterr().out
    assert not (tmp_path / "cache").exists()
