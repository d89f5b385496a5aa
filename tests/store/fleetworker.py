"""One worker of a fleet (run as a script): fetch a range through a shared store.

python fleetworker.py STORE SIM_URL SYMBOL START END

Waits for a line on stdin (so every worker starts at once), fetches ``[START, END]`` of
``SYMBOL`` at 1m from the simulator's Binance through ``DataManager(store=STORE)``, and prints
the number of bars and a digest of their bytes.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tradedata.manager import DataManager


def main() -> None:
    store, url, symbol, start, end = sys.argv[1:6]
    with DataManager(store=store, providers={"binance": {"url": url}}) as dm:
        print("ready", flush=True)
        sys.stdin.readline()
        frame = dm.get_ohlcv(symbol, "1m", start, end, provider="binance")
        digest = hashlib.sha256(frame.index.asi8.tobytes() + frame.to_numpy().tobytes())
        print(len(frame), digest.hexdigest(), flush=True)


if __name__ == "__main__":
    main()
