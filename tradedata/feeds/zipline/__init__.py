"""zipline-reloaded bundles from tradedata (see :mod:`tradedata.feeds.zipline.register`).

Register a bundle in ``~/.zipline/extension.py`` (``tradedata zipline register`` writes it)::

    from tradedata.feeds.zipline import register_bundle

    register_bundle("crypto-1m", symbols=["BTC/USDT", "ETH/USDT"], timeframe="1m",
                    provider="binance", start="2024-01-01", end="2024-03-31")

``register`` holds :func:`register_bundle` and friends (its docstring tells what a bundle
does), ``bundle`` the ingest function zipline calls, ``ingest`` and ``prepare`` the per-asset
preparation and zipline's precision rules, ``assets`` the stable sids, ``calendar`` the crypto
and forex calendars, ``report`` the ingest report and ``cli`` ``tradedata zipline ...``.
Importing the package registers tradedata's calendars with exchange-calendars.
"""

from __future__ import annotations

from tradedata.feeds.zipline.bundle import sid_registry
from tradedata.feeds.zipline.calendar import CRYPTO_CALENDAR, FOREX_CALENDAR, register_calendars
from tradedata.feeds.zipline.cli import cli_main
from tradedata.feeds.zipline.ingest import BundleSpec, CorporateActions
from tradedata.feeds.zipline.prepare import PRICE_TOLERANCE, PrecisionError
from tradedata.feeds.zipline.register import (
    bundle_calendar,
    bundle_spec,
    register_bundle,
    run_algorithm,
)
from tradedata.feeds.zipline.report import AssetReport, IngestReport, last_ingest_report

__all__ = [
    "CRYPTO_CALENDAR",
    "FOREX_CALENDAR",
    "PRICE_TOLERANCE",
    "AssetReport",
    "BundleSpec",
    "CorporateActions",
    "IngestReport",
    "PrecisionError",
    "bundle_calendar",
    "bundle_spec",
    "cli_main",
    "last_ingest_report",
    "register_bundle",
    "register_calendars",
    "run_algorithm",
    "sid_registry",
]
