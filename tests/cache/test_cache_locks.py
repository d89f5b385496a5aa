"""The embedded store's hole lock: one process of a machine fetches a hole, the others wait."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tradedata.cache import Cache

HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from tradedata.cache import Cache
with Cache({folder!r}) as cache, cache.hole_lock("BTC/USDT", "1m", "2024-01-01", "2024-01-02"):
    print("held", flush=True)
    time.sleep(1.0)
"""


def test_a_second_process_waits_for_the_hole_lock(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parents[2])
    code = HOLD.format(root=root, folder=str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with Cache(tmp_path) as cache:
        began = time.monotonic()
        with cache.hole_lock("BTC/USDT", "1m", "2024-01-01", "2024-01-02"):
            waited = time.monotonic() - began
        began = time.monotonic()
        with cache.hole_lock("BTC/USDT", "1m", "2024-01-03", "2024-01-04"):
            other = time.monotonic() - began
    holder.wait(timeout=30)

    assert waited > 0.5  # the same hole: waited for the holder
    assert other < 0.5  # another hole: free
