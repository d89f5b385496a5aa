"""Shared fixtures: a hermetic environment, a temporary cache, the sample data folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parent / "data"

_PROVIDER_ENV = (
    "ALPHA_VANTAGE_API_KEY",
    "FMP_API_KEY",
    "POLYGON_KEY",
    "ALPACA_API_KEY",
    "ALPACA_SECRET_KEY",
    "TIINGO_API_KEY",
    "COINGECKO_API_KEY",
    "CACHE_MAX_SIZE_GB",
)


@pytest.fixture(autouse=True)
def _hermetic_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the user's config, keys or cache: each gets an empty cache directory."""
    home = tmp_path_factory.mktemp("env")
    monkeypatch.setenv("TRADEDATA_CONFIG", str(home / "no-config.yaml"))
    monkeypatch.setenv("DATA_CACHE_DIR", str(home / "cache"))
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("TRADEDATA_") and name != "TRADEDATA_CONFIG":
            monkeypatch.delenv(name, raising=False)
    import tradedata.adapters.resilience as resilience
    import tradedata.manager as manager

    monkeypatch.setattr(manager, "_singleton", None)
    # circuit breakers are process-wide by provider name: one test's failing fake must not
    # leave the next test's provider of the same name behind an open circuit
    monkeypatch.setattr(resilience, "_breakers", {})


@pytest.fixture
def data_dir() -> Path:
    """The folder of backtrader's sample files (copied into tests/data)."""
    return DATA_DIR


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """An empty cache directory for one test."""
    path = tmp_path / "cache"
    path.mkdir()
    return path


@pytest.fixture
def manager(cache_dir: Path) -> Iterator[object]:
    """A DataManager over an empty temporary cache."""
    from tradedata.manager import DataManager

    dm = DataManager(cache_dir=cache_dir)
    yield dm
    dm.close()


# -- the store seam: one PostgreSQL server for the session, a store per test -----------------
from tests.support.pgserver import pg_server, pg_url  # noqa: E402,F401

#: the stores the contract suite runs over
STORES = ["diskcache", "postgresql"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses a store over each kind (``embedded_only``: the embedded one)."""
    if "store_kind" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("embedded_only")
        metafunc.parametrize("store_kind", STORES[:1] if only else STORES)


@pytest.fixture
def store_kind() -> str:
    """Which store a test runs on (parametrized by :func:`pytest_generate_tests`)."""
    return "diskcache"


@pytest.fixture
def store_spec(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What selects a store: a fresh cache folder, or the URL of a fresh PostgreSQL database."""
    if store_kind == "diskcache":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_spec: str) -> Iterator[object]:
    """A store of each kind (the contract suite runs over both)."""
    from tradedata.cache.opening import open_store

    opened = open_store(store_spec)
    yield opened
    opened.close()


@pytest.fixture
def new_store_spec(
    store_kind: str, request: pytest.FixtureRequest
) -> Callable[[], AbstractContextManager[str]]:
    """A factory of fresh stores of one kind (for property tests: one per example)."""
    if store_kind == "diskcache":

        @contextmanager
        def folder() -> Iterator[str]:
            with tempfile.TemporaryDirectory() as tmp:
                yield tmp

        return folder
    server = request.getfixturevalue("pg_server")

    @contextmanager
    def database() -> Iterator[str]:
        name = server.new_database()
        try:
            yield server.url(name)
        finally:
            server.drop_database(name)

    return database
