"""Fundamentals: provider fetchers, field-by-field merge, provider_info, per-group TTLs."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.conftest import KEY
from tests.fakes import FakeProviderServer
from tests.fakes.companies import company
from tradedata.errors import AllProvidersFailedError, InputError, UnsupportedError
from tradedata.fundamentals import FIELD_GROUPS, Fundamentals, get_fundamentals
from tradedata.fundamentals.model import clean_number
from tradedata.fundamentals.sources import normalize_country
from tradedata.manager import DataManager

T0 = pd.Timestamp("2024-03-20 15:00", tz="UTC").timestamp()
HOUR, DAY = 3600.0, 86_400.0
SOURCES = ("fmp", "yahoo", "alpha_vantage")


@pytest.fixture
def servers(fake_server: Callable[..., FakeProviderServer]) -> dict[str, FakeProviderServer]:
    return {name: fake_server(name) for name in SOURCES}


def manager_for(
    servers: dict[str, FakeProviderServer], tmp_path: Path, keys: dict[str, str] | None = None
) -> DataManager:
    keys = keys or {"fmp": KEY, "alpha_vantage": KEY}
    settings = {}
    for name, server in servers.items():
        settings[name] = {"url": server.url}
        if keys.get(name):
            settings[name]["api_key"] = keys[name]
    return DataManager(cache_dir=tmp_path / "cache", providers=settings)


@pytest.fixture
def manager(servers: dict[str, FakeProviderServer], tmp_path: Path) -> Iterator[DataManager]:
    dm = manager_for(servers, tmp_path)
    yield dm
    dm.close()


def test_priority_merge_takes_missing_fields_from_the_next_provider(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    facts = company("AAPL")

    result = get_fundamentals(manager, "AAPL", now=T0)

    info = result.provider_info
    assert info["primary_source"] == "fmp" and info["combined_from"] == ["fmp", "yahoo"]
    assert info["field_sources"]["company_name"] == "fmp"
    assert info["field_sources"]["revenue"] == "yahoo"  # FMP's profile/ratios have no revenue
    assert info["field_sources"]["forward_pe"] == "yahoo"
    assert result.revenue == facts.revenue and result.forward_pe == facts.forward_pe
    assert result.company_name == facts.name and result.sector == facts.sector
    assert result.missing() == []
    assert servers["alpha_vantage"].count() == 0  # nothing left to ask for
    assert info["last_updated"] == "2024-03-20T15:00:00Z"


def test_units_agree_across_providers(manager: DataManager) -> None:
    facts = company("MSFT")

    views = {n: get_fundamentals(manager, "MSFT", providers=[n], now=T0) for n in SOURCES}

    for name, view in views.items():
        assert view.dividend_yield == pytest.approx(facts.dividend_yield, rel=1e-2), name
        assert view.pe_ratio == pytest.approx(facts.pe), name
        assert view.country == "US" and view.sector == facts.sector, name
    assert views["yahoo"].debt_to_equity == pytest.approx(facts.debt_to_equity)  # from percent
    assert views["fmp"].fifty_two_week_high == facts.high52
    assert views["alpha_vantage"].price is None  # OVERVIEW has no price


def test_provider_without_key_is_skipped_with_a_note(
    servers: dict[str, FakeProviderServer], tmp_path: Path
) -> None:
    with manager_for(servers, tmp_path, keys={"alpha_vantage": KEY}) as dm:
        result = get_fundamentals(dm, "IBM", now=T0)

    assert result.provider_info["primary_source"] == "yahoo"
    assert any("fmp skipped" in n and "FMP_API_KEY" in n for n in result.provider_info["notes"])
    assert servers["fmp"].count() == 0


def test_all_providers_failing_raises(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    for server in servers.values():
        server.fail("server_error", times=None, path="/")

    with pytest.raises(AllProvidersFailedError) as info:
        get_fundamentals(manager, "AAPL", now=T0)
    assert set(info.value.errors) == set(SOURCES)


def test_unknown_symbol_everywhere_raises(manager: DataManager) -> None:
    with pytest.raises(AllProvidersFailedError, match="NOSUCH"):
        get_fundamentals(manager, "NOSUCH", now=T0)


def test_second_call_is_served_from_the_cache(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    first = get_fundamentals(manager, "AAPL", now=T0)
    calls = {n: s.count() for n, s in servers.items()}

    second = get_fundamentals(manager, "AAPL", now=T0 + HOUR)

    assert {n: s.count() for n, s in servers.items()} == calls
    assert second.to_dict() | {"provider_info": {}} == first.to_dict() | {"provider_info": {}}
    assert second.provider_info["from_cache"] == ["fmp", "yahoo"]


def test_field_groups_expire_at_their_own_age(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0)
    servers["fmp"].fail("server_error", times=None, path="/")

    two_days = get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0 + 2 * DAY)
    nine_days = get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0 + 9 * DAY)

    assert two_days.price is None and two_days.market_cap is None  # market: 1 day
    assert two_days.eps is not None and two_days.sector == "Technology"
    assert "fmp" in two_days.provider_info["errors"]
    assert nine_days.eps is None and nine_days.beta is None  # financials: 7 days
    assert nine_days.sector == "Technology"  # profile: 30 days
    with pytest.raises(AllProvidersFailedError):
        get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0 + 31 * DAY)


def test_stale_entry_is_replaced_when_refetched(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0)

    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0 + 2 * DAY)

    entry = manager.cache.get_fundamentals("fmp:AAPL")
    assert entry is not None and set(entry["fetched_at"].values()) == {T0 + 2 * DAY}
    assert servers["fmp"].count("/profile/") == 2


def test_max_age_overrides_every_group(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0)

    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0 + 120, max_age=60)

    assert servers["fmp"].count("/profile/") == 2


def test_refresh_bypasses_the_cache(
    manager: DataManager, servers: dict[str, FakeProviderServer]
) -> None:
    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0)

    result = get_fundamentals(manager, "AAPL", providers=["fmp"], refresh=True, now=T0 + 1)

    assert servers["fmp"].count("/profile/") == 2 and result.provider_info["from_cache"] == []


def test_most_recent_takes_the_newest_provider_per_field(manager: DataManager) -> None:
    get_fundamentals(manager, "AAPL", providers=["yahoo"], now=T0)
    get_fundamentals(manager, "AAPL", providers=["fmp"], now=T0 + HOUR)

    recent = get_fundamentals(
        manager,
        "AAPL",
        providers=["yahoo", "fmp"],
        combination_strategy="most_recent",
        now=T0 + 2 * HOUR,
    )
    priority = get_fundamentals(manager, "AAPL", providers=["yahoo", "fmp"], now=T0 + 2 * HOUR)

    assert recent.provider_info["field_sources"]["price"] == "fmp"
    assert recent.provider_info["field_sources"]["revenue"] == "yahoo"  # only Yahoo has it
    assert priority.provider_info["field_sources"]["price"] == "yahoo"


def test_data_manager_delegates(manager: DataManager) -> None:
    result = manager.get_fundamentals("VOD.L", providers=["yahoo"])

    assert result.company_name == company("VOD.L").name and result.currency == "GBP"
    assert result.country == "GB"


def test_canary_keys_stay_out_of_results_cache_and_logs(
    fake_server: Callable[..., FakeProviderServer], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "FUND-CANARY-8d1e77"
    caplog.set_level(logging.DEBUG)
    servers = {n: fake_server(n, api_key=canary) for n in SOURCES}
    with manager_for(servers, tmp_path, keys={"fmp": canary, "alpha_vantage": canary}) as dm:
        ok = get_fundamentals(dm, "AAPL", providers=["fmp", "alpha_vantage"], now=T0)
        servers["alpha_vantage"].fail("daily_limit", times=None)
        servers["fmp"].fail("server_error", times=None)
        failed = get_fundamentals(dm, "MSFT", providers=["fmp", "alpha_vantage", "yahoo"], now=T0)
        cached = [dm.cache.get_fundamentals(k) for k in dm.cache.fundamentals_keys()]

    texts = [
        str(ok),
        json.dumps(ok.to_dict()),
        json.dumps(failed.to_dict()),
        json.dumps(cached),
        caplog.text,
    ]
    assert all(canary not in t for t in texts)
    assert "alpha_vantage" in failed.provider_info["errors"]


def test_round_trip_and_readable_text(manager: DataManager) -> None:
    result = get_fundamentals(manager, "AAPL", now=T0)

    again = Fundamentals.from_dict(json.loads(json.dumps(result.to_dict())))

    assert again == result
    text = str(result)
    assert text.startswith("AAPL - Apple Inc. (Technology / Consumer Electronics)")
    assert "source: fmp, yahoo" in text


def test_bad_arguments(manager: DataManager) -> None:
    with pytest.raises(InputError):
        get_fundamentals(manager, "AAPL", combination_strategy="average")
    with pytest.raises(UnsupportedError):
        get_fundamentals(manager, "BTC/USDT")
    with pytest.raises(InputError):
        get_fundamentals(manager, "AAPL", max_age=-1)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1.5", 1.5),
        ("None", None),
        ("-", None),
        ("", None),
        (float("nan"), None),
        (3, 3.0),
        ("1,234", 1234.0),
    ],
)
def test_clean_number(raw: object, value: float | None) -> None:
    assert clean_number(raw) == value


def test_country_names_become_codes_and_groups_cover_every_field() -> None:
    assert normalize_country("United States") == "US" and normalize_country("USA") == "US"
    assert normalize_country("Narnia") == "Narnia"
    covered = [f for names in FIELD_GROUPS.values() for f in names]
    assert len(covered) == len(set(covered)) == len(Fundamentals.__dataclass_fields__) - 2
