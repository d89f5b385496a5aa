"""Every kind of cache damage is found and healed (issue 12), seen through the public API.

Damaged data files, lost metadata rows (``p|``), broken series indexes (``s|``), a size limit
too small for the request, a full disk, a quarantine path that is a file, and a cache the user
may only read.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from cachehelpers import assert_same_bits, make_bars

from tests.support.memory_provider import MemoryProvider, synthetic
from tradedata.cache import Cache, CacheCorruptionWarning, CacheLimitWarning
from tradedata.errors import CacheError
from tradedata.manager import DataManager

ROOT = Path(__file__).resolve().parents[2]
SYM, TF = "BTC/USDT", "1h"
#: damage to the embedded store's files, rows and limits (the PostgreSQL store has none of them)
pytestmark = pytest.mark.embedded_only
#: the in-memory provider stands in for Binance, the default venue: its series is SYM's default
VENUE = "binance"
RULES = {"rules": {"crypto": {"primary": VENUE}}}
START, END = "2022-01-01", "2023-12-31 23:00"


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.fixture
def two_years() -> pd.DataFrame:
    return synthetic("2022-01-01", 2 * 8760, freq="1h")


def _dm(
    cache_dir: Path, data: pd.DataFrame, **kwargs: object
) -> tuple[DataManager, MemoryProvider]:
    prov = MemoryProvider(data, now="2024-06-01", name=VENUE)
    dm = DataManager(cache_dir=cache_dir, config=RULES, **kwargs)  # type: ignore[arg-type]
    dm.add_provider(prov)
    return dm, prov


# -- a damaged partition met first by get_ohlcv --------------------------------------------


def test_first_call_after_damage_fetches_the_damaged_part_again(
    cache_dir: Path, two_years: pd.DataFrame
) -> None:
    dm, prov = _dm(cache_dir, two_years)
    dm.get_ohlcv(SYM, TF, START, END)
    _flip(dm.cache.partition_file(SYM, TF, 2022))  # type: ignore[arg-type]
    pages = prov.pages

    with pytest.warns(CacheCorruptionWarning):
        frame = dm.get_ohlcv(SYM, TF, START, END)

    pd.testing.assert_frame_equal(frame, two_years, check_freq=False)
    assert frame.attrs["unfetched"] == []
    assert prov.pages > pages  # 2022 was fetched again in this very call
    dm.close()


def test_first_call_after_damage_reports_what_it_cannot_fetch(
    cache_dir: Path, two_years: pd.DataFrame
) -> None:
    dm, _ = _dm(cache_dir, two_years)
    dm.get_ohlcv(SYM, TF, START, END)
    _flip(dm.cache.partition_file(SYM, TF, 2022))  # type: ignore[arg-type]

    with pytest.warns(UserWarning, match="could not fetch"):
        frame = dm.get_ohlcv(SYM, TF, START, END, provider="cache")

    assert len(frame) == 8760 and frame.index[0].year == 2023
    assert frame.attrs["unfetched"] == [
        (pd.Timestamp("2022-01-01", tz="UTC"), pd.Timestamp("2022-12-31 23:00", tz="UTC"))
    ]
    dm.close()


def test_damage_met_by_a_read_without_range_is_fetched_again(
    cache_dir: Path, two_years: pd.DataFrame
) -> None:
    dm, _ = _dm(cache_dir, two_years)
    dm.get_ohlcv(SYM, TF, START, END)
    _flip(dm.cache.partition_file(SYM, TF, 2023))  # type: ignore[arg-type]

    with pytest.warns(CacheCorruptionWarning):
        frame = dm.get_ohlcv(SYM, TF)

    pd.testing.assert_frame_equal(frame, two_years, check_freq=False)
    dm.close()


# -- lost metadata rows and broken series indexes ------------------------------------------


def test_a_deleted_metadata_row_is_found_by_get_ohlcv_and_healed(
    cache_dir: Path, two_years: pd.DataFrame
) -> None:
    dm, _ = _dm(cache_dir, two_years)
    dm.get_ohlcv(SYM, TF, START, END)
    dm.cache._db.delete(dm.cache._db.meta_key(SYM, TF, 2022))

    with pytest.warns(CacheCorruptionWarning, match="metadata row is missing"):
        frame = dm.get_ohlcv(SYM, TF, START, END)

    pd.testing.assert_frame_equal(frame, two_years, check_freq=False)
    assert frame.attrs["unfetched"] == []
    assert dm.cache.years(SYM, TF) == [2022, 2023]
    damage = dm.cache.quarantined()
    assert [(d.year, d.path is not None and d.path.is_file()) for d in damage] == [(2022, True)]
    dm.close()


def _stored(cache: Cache) -> pd.DataFrame:
    frame = make_bars("2022-01-01", periods=2 * 8760, freq="1h")
    cache.write(SYM, TF, frame, source="binance", coverage=(frame.index[0], frame.index[-1]))
    return frame


def test_verify_finds_and_heals_a_deleted_metadata_row(cache: Cache) -> None:
    frame = _stored(cache)
    cache._db.delete(cache._db.meta_key(SYM, TF, 2023))

    damage = cache.verify()

    assert [(d.year, "metadata row" in d.reason) for d in damage] == [(2023, True)]
    assert cache.years(SYM, TF) == [2022]
    assert cache.missing_ranges(SYM, TF, frame.index[0], frame.index[-1]) == [
        (pd.Timestamp("2023-01-01", tz="UTC"), pd.Timestamp("2023-12-31 23:00", tz="UTC"))
    ]
    assert not list(cache._db.keys("d|BTC/USDT|1h|2023|"))  # the orphan file is in quarantine
    assert damage[0].path is not None and damage[0].path.is_file()


@pytest.mark.parametrize(
    "index",
    ["{not json", '{"years": "x"}', '{"years": [2023]}', None],
    ids=["unreadable", "wrong-shape", "a-year-missing", "deleted"],
)
def test_a_broken_series_index_is_rebuilt_by_reads_and_by_verify(
    cache: Cache, index: str | None
) -> None:
    frame = _stored(cache)
    key = cache._db.series_key(SYM, TF)
    if index is None:
        cache._db.delete(key)
    else:
        cache._db.dc.set(key, index)

    with pytest.warns(CacheCorruptionWarning, match="index"):
        back = cache.read(SYM, TF)

    assert_same_bits(back, frame)  # no bars were lost: the index is rebuilt from the metadata
    assert back.attrs["damaged"] == []
    assert cache.years(SYM, TF) == [2022, 2023]
    assert cache.missing_ranges(SYM, TF, frame.index[0], frame.index[-1]) == []

    cache._db.dc.set(key, "{not json")
    found = cache.verify()
    assert found and all("series index" in d.reason for d in found)
    assert cache.years(SYM, TF) == [2022, 2023]
    assert [s.bars for s in cache.series()] == [len(frame)]


# -- a size limit too small for the request ------------------------------------------------


def test_eviction_never_removes_what_the_current_call_needs(cache_dir: Path) -> None:
    data = synthetic("2023-12-25", 12 * 1440, freq="1min")
    middle = ("2023-12-31 12:00", "2024-01-01 12:00")
    dm, _ = _dm(cache_dir, data, max_size_gb=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheLimitWarning)
        dm.get_ohlcv(SYM, "1m", *middle)

    with pytest.warns(CacheLimitWarning, match="too small for this request"):
        frame = dm.get_ohlcv(SYM, "1m", "2023-12-25", "2024-01-05 23:59")

    pd.testing.assert_frame_equal(frame, data, check_freq=False)  # both years, every bar
    assert frame.attrs["unfetched"] == []
    dm.close()


# -- a full disk ---------------------------------------------------------------------------


def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB file system (tmpfs), so writes fail with ENOSPC like on a full disk."""
    if not _can_mount():
        pytest.skip("needs root to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass


def test_a_full_disk_gives_a_cache_error_and_the_cache_stays_readable(small_disk: Path) -> None:
    cache_dir = small_disk / "cache"
    first = make_bars("2022-01-01", periods=2000, freq="1h")
    with Cache(cache_dir) as cache:
        cache.write(SYM, TF, first, source="binance", coverage=(first.index[0], first.index[-1]))
        _fill(small_disk)
        with pytest.raises(CacheError, match="disk is full"):
            cache.write(
                SYM, TF, make_bars("2023-01-01", periods=8760, freq="1h", seed=3), source="binance"
            )
        assert_same_bits(cache.read(SYM, TF), first)
    with Cache(cache_dir) as reopened:  # opens (for reading) while the disk is still full
        assert_same_bits(reopened.read(SYM, TF), first)

    csv = small_disk.parent / "more.csv"
    more = make_bars("2023-01-01", periods=8760, freq="1h", seed=3)
    more.to_csv(csv, index_label="timestamp")
    done = _cli("--cache-dir", str(cache_dir), "import", str(csv), SYM, TF)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "disk is full" in done.stderr

    (small_disk / "filler").unlink()  # space freed: writing works again
    with Cache(cache_dir) as cache:
        cache.write(SYM, TF, more, source="binance")
        assert len(cache.read(SYM, TF)) == len(first) + len(more)


def test_a_write_failing_with_enospc_is_a_cache_error_and_changes_nothing(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same promise without root: the write path's second partition hits a full disk."""
    first = _stored(cache)
    before = {p: p.read_bytes() for p in cache.directory.rglob("*.val")}
    real_set, calls = cache._db.dc.set, []

    def full_disk(key: str, value: object, *args: object, **kwargs: object) -> bool:
        if key.startswith("d|"):
            calls.append(key)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(cache._db.dc, "set", full_disk)
    more = make_bars("2023-06-01", periods=9000, freq="1h", seed=5)  # touches 2023 and 2024

    with pytest.raises(CacheError, match="disk is full"):
        cache.write(SYM, TF, more, source="binance")

    assert_same_bits(cache.read(SYM, TF), first)  # the earlier data, unchanged
    assert {p: p.read_bytes() for p in cache.directory.rglob("*.val")} == before  # no orphan


def _cli(*args: str, pre: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*(pre or []), sys.executable, "-m", "tradedata", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


# -- the quarantine path is a file ---------------------------------------------------------


def test_a_quarantine_path_that_is_a_file_breaks_nothing(
    cache_dir: Path, two_years: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    dm, _ = _dm(cache_dir, two_years)
    dm.get_ohlcv(SYM, TF, START, END)
    (cache_dir / "quarantine").write_text("not a folder")
    _flip(dm.cache.partition_file(SYM, TF, 2022))  # type: ignore[arg-type]

    with pytest.warns(CacheCorruptionWarning), caplog.at_level(logging.WARNING):
        frame = dm.get_ohlcv(SYM, TF, START, END)

    pd.testing.assert_frame_equal(frame, two_years, check_freq=False)
    assert "cannot" in caplog.text
    assert dm.cache.verify() == [] and dm.cache.info()["quarantined"] == 0
    dm.close()
    with Cache(cache_dir) as cache:
        _flip(cache.partition_file(SYM, TF, 2023))  # type: ignore[arg-type]
    verified = _cli("--cache-dir", str(cache_dir), "cache", "verify")
    assert verified.returncode == 1 and "damaged: BTC/USDT 1h 2023" in verified.stdout
    for verb in (["show", SYM, TF], ["cache", "verify"], ["cache", "info"]):
        done = _cli("--cache-dir", str(cache_dir), *verb)
        assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr


# -- cache verify: exit codes --------------------------------------------------------------


def test_verify_exits_1_when_it_finds_damage_then_0_once_healed(cache_dir: Path) -> None:
    with Cache(cache_dir) as cache:
        _stored(cache)
        _flip(cache.partition_file(SYM, TF, 2022))  # type: ignore[arg-type]

    found = _cli("--cache-dir", str(cache_dir), "cache", "verify")
    again = _cli("--cache-dir", str(cache_dir), "cache", "verify")

    assert found.returncode == 1 and "damaged" in found.stdout and "2022" in found.stdout
    assert again.returncode == 0, again.stdout
    assert "2022" in again.stdout and "earlier" in again.stdout  # past quarantines reported


# -- a cache the user may only read --------------------------------------------------------


def _read_only_runner() -> list[str]:
    """A prefix that runs a command without the power to ignore file modes."""
    if os.geteuid() != 0:
        return []
    capsh = shutil.which("capsh")
    if capsh is None:
        pytest.skip("running as root without capsh: file modes cannot be enforced")
    drop = "cap_dac_override,cap_dac_read_search,cap_fowner"
    return [capsh, f"--drop={drop}", "--"]


def _as_reader(*args: str) -> subprocess.CompletedProcess[str]:
    pre = _read_only_runner()
    if not pre:
        return _cli(*args)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = " ".join(
        f"'{a}'" for a in [sys.executable, "-m", "tradedata", *args]
    )  # capsh runs the rest through a shell
    return subprocess.run(
        [*pre, "-c", command], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


@pytest.fixture
def read_only_cache(tmp_path: Path) -> Iterator[tuple[Path, pd.DataFrame]]:
    cache_dir = tmp_path / "theirs"
    frame = make_bars("2022-06-01", periods=3000, freq="1h")
    with Cache(cache_dir) as cache:
        cache.write(SYM, TF, frame, source="binance", coverage=(frame.index[0], frame.index[-1]))
    subprocess.run(["chmod", "-R", "a-w", str(cache_dir)], check=True)
    try:
        yield cache_dir, frame
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(cache_dir)], check=True)


def test_a_read_only_cache_can_be_read(read_only_cache: tuple[Path, pd.DataFrame]) -> None:
    cache_dir, frame = read_only_cache
    before = {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file()}

    shown = _as_reader("--cache-dir", str(cache_dir), "show", SYM, TF, "--json")
    fetched = _as_reader(
        "--cache-dir",
        str(cache_dir),
        "fetch",
        SYM,
        TF,
        "--start",
        "2022-07-01",
        "--end",
        "2022-07-31 23:00",
    )
    written = _as_reader("--cache-dir", str(cache_dir), "cache", "verify")

    assert shown.returncode == 0, shown.stderr
    assert f'"bars": {len(frame)}' in shown.stdout
    assert fetched.returncode == 0 and "bars=744" in fetched.stdout, fetched.stderr
    assert written.returncode == 2 and len(written.stderr.splitlines()) == 1
    assert "can only be read" in written.stderr
    assert {p: p.read_bytes() for p in cache_dir.rglob("*") if p.is_file()} == before


def test_a_store_another_process_is_still_creating_opens(tmp_path):
    """Two processes opening a fresh cache at once: one has created the database file but not
    yet its tables when the other opens it; the second sets the store up instead of failing."""
    import sqlite3

    from tradedata.cache import Cache

    store = tmp_path / "cache" / "store"
    store.mkdir(parents=True)
    sqlite3.connect(store / "cache.db").close()  # the file exists, no Settings table yet
    cache = Cache(tmp_path / "cache")
    assert cache.series() == []
