"""What the README tells a newcomer holds: the venv step, every CLI verb, paths, ``end=``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.cli import build_parser
from tradedata.manager import DataManager

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _cli_block() -> str:
    section = README.split("## The command line", 1)[1]
    return section.split("```", 2)[1]


def test_venv_step_comes_before_the_install_commands() -> None:
    venv = README.index("python3 -m venv .venv && . .venv/bin/activate")
    assert "PEP 668" in README[:venv] + README[venv : venv + 400]
    assert venv < README.index('python3 -m pip install -e ".[all,dev]" && python3 -m pytest')


def test_every_verb_is_listed_and_every_listed_verb_exists() -> None:
    block = _cli_block()
    listed = {tuple(m.split()) for m in re.findall(r"^tradedata ([a-z]+(?: [a-z]+)?)", block, re.M)}
    verbs = {words[0] for words in listed}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    real = set(sub.choices)  # type: ignore[arg-type]
    assert real <= verbs, f"verbs missing from the README: {real - verbs}"
    assert verbs <= real
    for needed in ("zipline ingest", "zipline register", "zipline sids", "cache delete"):
        assert tuple(needed.split()) in listed, needed
    assert "tradedata --version" in block


def test_sample_paths_in_the_readme_exist() -> None:
    paths = set(re.findall(r"[\"'`]((?:tests|examples)/[\w./-]+\.(?:txt|csv|ipynb|py))", README))
    assert "tests/data/orcl-2014.txt" in paths
    for path in paths:
        assert (ROOT / path).exists(), path


def test_end_is_an_included_bar_open_as_the_readme_says(cache_dir: Path) -> None:
    assert 'end="2024-03-31"` means' in README.replace("\n", " ")
    dm = DataManager(cache_dir=cache_dir)
    data = synthetic("2024-03-29", 24 * 5, freq="1h")
    dm.add_provider(MemoryProvider(data, "2024-04-05"), "memory")
    frame = dm.get_ohlcv("BTC/USDT", "1h", "2024-03-30", "2024-03-31", provider="memory")
    assert frame.index[-1] == pd.Timestamp("2024-03-31 00:00", tz="UTC")
    day = dm.get_ohlcv("BTC/USDT", "1h", "2024-03-30", "2024-03-31 23:00", provider="memory")
    assert day.index[-1] == pd.Timestamp("2024-03-31 23:00", tz="UTC") and len(day) == 48
    dm.close()
