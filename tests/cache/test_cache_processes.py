"""Several processes on one cache; writers killed with SIGKILL mid-write."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cacheworkers import BIG_ROWS, START, SYMBOL, TF, WRITERS, chunk, version_frame

from tradedata.cache import CacheCorruptionWarning
from tradedata.cache.opening import open_store as Cache  # a folder or a postgresql:// URL

WORKER = Path(__file__).with_name("cacheworkers.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_consistent(directory: Path | str) -> int:
    """The stored state is one whole version: data, metadata and coverage agree."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheCorruptionWarning)
        with Cache(directory) as cache:
            frame = cache.read(SYMBOL, TF)
            meta = cache.metadata(SYMBOL, TF, 2023)
            assert meta is not None
            version = meta["provider_info"]["p"]["version"]
            pd.testing.assert_frame_equal(frame, version_frame(version), check_freq=False)
            assert meta["bars"] == len(frame)
            # each round: write(version, coverage "p" over its bars), then coverage "v<version>"
            # over everything; a kill between the two leaves the write's own coverage
            state = (
                cache.provider_at(SYMBOL, TF, frame.index[-1]),
                cache.provider_at(SYMBOL, TF, START + pd.Timedelta(days=399)),
            )
            if version == 0:
                assert state == (None, None)
            else:
                before = f"v{version - 1}" if version > 1 else None
                assert state in (("p", before), (f"v{version}", f"v{version}"))
            return int(version)


@pytest.mark.slow
def test_a_writer_killed_mid_write_leaves_the_previous_state(tmp_path: Path) -> None:
    with Cache(tmp_path) as cache:
        frame = version_frame(0)
        cache.write(SYMBOL, TF, frame, provider="p", provider_info={"version": 0})
    rng = random.Random(42)
    versions = []

    for _ in range(6):
        proc = _spawn("rewrite", str(tmp_path))
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        versions.append(_check_consistent(tmp_path))

    assert versions == sorted(versions) and versions[-1] > 0  # progress was made and kept
    with Cache(tmp_path) as cache:
        assert cache.verify() == []
        data_keys = list(cache._db.keys("d|"))
        assert len(data_keys) == 1  # leftovers of the killed writes were collected
        assert len(cache.read(SYMBOL, TF)) == BIG_ROWS


@pytest.mark.slow
def test_concurrent_writers_and_readers_lose_nothing(store_spec: str) -> None:
    count = 8
    with Cache(store_spec) as cache:
        cache.write(SYMBOL, TF, chunk(0, 0), provider="w0")  # readers never see an empty cache

    procs = [_spawn("chunks", store_spec, str(w), str(count)) for w in range(WRITERS)]
    procs.append(_spawn("reader", store_spec, "4"))
    outs = [p.communicate(timeout=240) for p in procs]

    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
    assert int(outs[-1][0].split()[-1]) > 0  # the reader did read
    with Cache(store_spec) as cache:
        frame = cache.read(SYMBOL, TF)
        expected = pd.concat([chunk(w, n) for n in range(count) for w in range(WRITERS)])
        pd.testing.assert_frame_equal(frame, expected.sort_index(), check_freq=False)
        meta = cache.metadata(SYMBOL, TF, 2023)
        assert meta is not None
        assert sorted(p["provider"] for p in meta["providers"]) == ["w0", "w1", "w2"]
        days = expected.index[-1] - expected.index[0]
        assert cache.missing_ranges(SYMBOL, TF, START, START + days) == []
        for w in range(WRITERS):
            assert cache.provider_at(SYMBOL, TF, chunk(w, 3).index[100]) == f"w{w}"
        assert cache.verify() == []
        assert np.array_equal(
            frame["volume"].to_numpy(), expected.sort_index()["volume"].to_numpy()
        )
