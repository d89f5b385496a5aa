"""The ``fundamentals`` verb of the ``tradedata`` command: a company's fundamentals merged
across providers."""

from __future__ import annotations

import argparse
from typing import Any

from tradedata.commands.shared import manager, print_json

__all__ = ["cmd_fundamentals", "register"]


def cmd_fundamentals(args: argparse.Namespace) -> int:
    """Print a company's fundamentals merged across providers."""
    dm = manager(args)
    providers = args.providers.split(",") if args.providers else None
    data = dm.get_fundamentals(args.symbol, providers=providers, refresh=args.refresh)
    if args.json:
        print_json(data.to_dict())
    else:
        print(data)
    return 0


def register(sub: Any) -> None:
    """Add the ``fundamentals`` verb to the ``tradedata`` sub-parsers."""
    p = sub.add_parser("fundamentals", help="company fundamentals merged across providers")
    p.add_argument("symbol")
    p.add_argument("--providers", help="comma-separated, in priority order")
    p.add_argument("--refresh", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fundamentals)
