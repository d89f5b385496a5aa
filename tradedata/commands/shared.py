"""What the verbs of the ``tradedata`` command share: the manager, JSON output, usage errors,
progress bars and the ``--exchange`` option."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tradedata.errors import TradeDataError

__all__ = ["UsageError", "exchange_arg", "manager", "print_json", "progress", "usage"]


def manager(args: argparse.Namespace) -> Any:
    """The :class:`~tradedata.manager.DataManager` of the command line's global options."""
    from tradedata.manager import DataManager

    return DataManager(
        cache_dir=args.cache_dir,
        config=getattr(args, "config", None),
        store=getattr(args, "store", None),
    )


def print_json(obj: Any) -> None:
    """``obj`` as indented JSON on stdout (timestamps and the like as text)."""
    print(json.dumps(obj, indent=2, default=str))


def progress(desc: str) -> Any:
    """A tqdm wrapper for long work (quiet when stderr is not a terminal)."""
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=desc, unit="part", disable=not sys.stderr.isatty())


class UsageError(TradeDataError):
    """A command line the verb cannot run as given (one line, exit code 2)."""


def usage(message: str) -> UsageError:
    """The :class:`UsageError` to raise for ``message``."""
    return UsageError(message)


def exchange_arg(p: argparse.ArgumentParser) -> None:
    """``--exchange``/``--source``: the series' source."""
    p.add_argument(
        "--exchange",
        "--source",
        dest="exchange",
        metavar="SOURCE",
        help="the series' source: a venue (bybit) or consolidated/iex; SYMBOL may also be "
        "spelled BYBIT:BTC/USDT (default: the source the rules pick: the rule's primary venue)",
    )
