"""A throwaway PostgreSQL cluster for the test session (``initdb`` + ``pg_ctl``, no mocks).

Like pytest-postgresql: the session starts a real server in a temporary folder (a Unix socket
there and a loopback TCP port), with password authentication over TCP so that credential
handling is exercised for real; each test gets a fresh database. When run as root the
cluster is created and started as the ``postgres`` user (``initdb`` refuses root). Tests are
skipped, with the reason, only when the server binaries are not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "tradedata"
PASSWORD = "s3cret-pg-" + uuid.uuid4().hex[:12]


def find_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


@dataclass
class Server:
    """A running cluster: where it listens and how to reach a database on it."""

    bindir: Path
    root: Path
    port: int
    runas: list[str]

    def url(self, db: str, *, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{db}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        self.admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> Server:
    """initdb + pg_ctl start; raises RuntimeError with the server log when it fails."""
    bindir = find_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="tradedata-pg-"))
    runas: list[str] = []
    if os.geteuid() == 0:
        runas = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if runas:
        shutil.chown(pwfile, "postgres")
    data = root / "data"
    subprocess.run(
        [*runas, str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    port = _free_port()
    options = (
        f"-k {root} -p {port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=200"
    )
    proc = subprocess.run(
        [*runas, str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
         "-l", str(root / "log"), "-w", "-t", "60", "start"],
        capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {proc.stderr}\n{log}")
    return Server(bindir, root, port, runas)


def stop_server(server: Server) -> None:
    subprocess.run(
        [*server.runas, str(server.bindir / "pg_ctl"), "-D", str(server.root / "data"),
         "-m", "immediate", "stop"],
        capture_output=True,
    )  # fmt: skip
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The session's PostgreSQL server (skipped only when the binaries are missing)."""
    if find_bin() is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        )
    pytest.importorskip(
        "psycopg", reason="psycopg not installed: pip install 'tradedata[postgresql]'"
    )
    server = start_server()
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    """The URL (with its password) of a fresh, empty database for one test."""
    name = pg_server.new_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)
