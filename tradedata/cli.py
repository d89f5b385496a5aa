"""The ``tradedata`` command: the parser and :func:`main`.

The verbs live by topic in :mod:`tradedata.commands` (series, stores, fundamentals) and
:mod:`tradedata.ops` (stats, health); ``sim``, ``zipline``, ``download``, ``demo`` and
``export`` in their features' packages.

Exit codes: 0 success (``cache verify``: nothing new found, the cache is healthy now), 1
``cache verify`` found damage in this run (quarantined; earlier quarantines alone do not count),
2 bad input, bad configuration or any other :class:`TradeDataError` (one line on stderr, no
traceback), 130 interrupted. The cache directory comes from ``--cache-dir`` or
``DATA_CACHE_DIR``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tradedata import ops
from tradedata.commands import fundamentals, series, stores

# the verbs' handlers stay importable from here, where they were before they moved
from tradedata.commands.fundamentals import cmd_fundamentals as cmd_fundamentals
from tradedata.commands.series import cmd_fetch as cmd_fetch
from tradedata.commands.series import cmd_import as cmd_import
from tradedata.commands.series import cmd_show as cmd_show
from tradedata.commands.series import cmd_validate as cmd_validate
from tradedata.commands.stores import cmd_cache as cmd_cache
from tradedata.commands.stores import cmd_store as cmd_store
from tradedata.errors import TradeDataError

__all__ = ["main"]


def _delegate(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), func)(args))

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tradedata`` command."""
    parser = _Parser(
        prog="tradedata",
        description="Market data for backtests and paper trading.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ops.add_global_options(parser)
    parser.add_argument("--cache-dir", help="cache dir (default: DATA_CACHE_DIR or user cache)")
    parser.add_argument("--config", help="YAML config file (default: TRADEDATA_CONFIG)")
    parser.add_argument(
        "--store", help="postgresql://user@host/db or a cache folder (default: TRADEDATA_STORE)"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    series.register(sub)
    stores.register(sub)
    fundamentals.register(sub)
    ops.register(sub)
    # their own parsers take the rest of the line (main() hands them over directly, too)
    for name, helptext in ops.FORWARDED.items():
        p = sub.add_parser(name, help=helptext, add_help=False)
        p.set_defaults(func=ops.forward(name))
    for name, helptext, module, func, adder in _EXTRA_COMMANDS:
        p = sub.add_parser(name, help=helptext)
        _add_extra_args(adder, p)
        p.set_defaults(func=_delegate(module, func))
    return parser


def _add_extra_args(adder: str, parser: argparse.ArgumentParser) -> None:
    import importlib

    module, _, func = adder.partition(":")
    getattr(importlib.import_module(module), func)(parser)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


_EXAMPLES = """examples:
  tradedata fetch BTC/USDT 1h --start 2024-01-01 --end 2024-01-31
  tradedata show BTC/USDT 1h --rows 3
  tradedata download --symbols BTC/USDT,ETH/USDT --timeframes 1h --days 30
  tradedata stats --json | head
  tradedata health || echo unhealthy
"""

#: Verbs whose code lives next to the feature: (name, help, module, runner, "module:add_args").
_EXTRA_COMMANDS: list[tuple[str, str, str, str, str]] = [
    (
        "download",
        "bulk download many symbols and timeframes",
        "tradedata.download",
        "download_cli_main",
        "tradedata.download:add_cli_arguments",
    ),
    (
        "demo",
        "offline demo on the built-in exchange simulator",
        "tradedata.demo",
        "run",
        "tradedata.demo:add_cli_arguments",
    ),
    (
        "export",
        "export the cache as a Parquet dataset (export parquet DEST)",
        "tradedata.parquet.cli",
        "run",
        "tradedata.parquet.cli:add_cli_arguments",
    ),
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tradedata`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:
        from tradedata.sim import cli_main

        return int(cli_main(argv[1:]))
    if argv[:1] == ["zipline"]:
        from tradedata.feeds.zipline import cli_main as zipline_main

        return ops.guard_extra("tradedata zipline", zipline_main, argv[1:])
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command in ops.FORWARDED:  # e.g. tradedata --quiet sim --port 0
        args.rest = argv[ops.verb_index(argv, args.command) + 1 :]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        with ops.setup(args):
            code = int(args.func(args))
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        return ops.on_broken_pipe()
    except TradeDataError as exc:
        print(f"error: {ops.plain(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
