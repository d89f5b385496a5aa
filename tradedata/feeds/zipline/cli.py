"""``tradedata zipline``: register and ingest tradedata bundles from the command line.

::

    tradedata zipline ingest crypto-1d --symbols BTC/USDT ETH/USDT --timeframe 1d \\
        --provider binance --start 2024-01-01 --end 2024-03-31
    tradedata zipline register crypto-1d --symbols BTC/USDT --start 2024-01-01   # extension.py
    tradedata zipline sids

``register`` writes (or replaces) a marked block in ``$ZIPLINE_ROOT/extension.py`` so that
``zipline ingest -b NAME`` and ``zipline run -b NAME`` know the bundle. Bad input exits with
code 2 and one line on stderr; refused or missing data exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tradedata.errors import InputError, TradeDataError

__all__ = ["build_parser", "cli_main", "extension_block", "write_extension"]


class _Parser(argparse.ArgumentParser):
    """Errors as one line and exit code 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _bundle_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="bundle name, e.g. crypto-1d")
    p.add_argument("--symbols", nargs="+", required=True, help="symbols (space or comma separated)")
    p.add_argument("--timeframe", default="1d", help="1d (default) or 1m")
    p.add_argument("--provider", help="provider name, or 'cache' to never fetch")
    p.add_argument("--start", required=True, help="first session, e.g. 2024-01-01")
    p.add_argument("--end", help="last session (default: yesterday)")
    p.add_argument("--calendar", help="override the calendar, e.g. 24/7 or XNYS")
    p.add_argument(
        "--exchange",
        help="crypto venue whose series to read, e.g. bybit (or prefix symbols: BYBIT:BTC/USDT)",
    )
    p.add_argument(
        "--cache-dir", help="tradedata cache dir (default: DATA_CACHE_DIR or user cache)"
    )
    p.add_argument(
        "--price-scale",
        action="append",
        default=[],
        metavar="SYMBOL=K",
        help="one zipline share = K units of SYMBOL (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``tradedata zipline``."""
    parser = _Parser(prog="tradedata zipline", description="zipline bundles from tradedata.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("ingest", help="register a bundle and ingest it now")
    _bundle_args(p)
    p.add_argument("--show-progress", action="store_true")
    p.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    p = sub.add_parser("register", help="add the bundle to zipline's extension.py")
    _bundle_args(p)
    p.add_argument("--extension", help="file to edit (default: $ZIPLINE_ROOT/extension.py)")
    p.add_argument("--print", action="store_true", help="print the block instead of writing it")
    p = sub.add_parser("sids", help="list the symbol -> sid assignments")
    p.add_argument("--cache-dir", help="tradedata cache dir")
    return parser


def _split(values: Sequence[str]) -> list[str]:
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def _scales(items: Sequence[str]) -> dict[str, float]:
    out = {}
    for item in items:
        sym, sep, value = item.partition("=")
        try:
            out[sym.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not sym.strip():
            raise InputError(f"--price-scale takes SYMBOL=K, got {item!r}")
    return out


def _register_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "symbols": _split(args.symbols),
        "timeframe": args.timeframe,
        "provider": args.provider,
        "start": args.start,
        "end": args.end,
        "calendar": args.calendar,
        "exchange": args.exchange,
        "cache_dir": args.cache_dir,
        "price_scale": _scales(args.price_scale) or None,
    }
    return {k: v for k, v in kwargs.items() if v is not None}


def extension_block(name: str, kwargs: dict[str, Any]) -> str:
    """The marked ``extension.py`` block registering bundle ``name``."""
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return (
        f"# >>> tradedata bundle {name!r} >>>\n"
        "from tradedata.feeds.zipline import register_bundle\n\n"
        f"register_bundle({name!r}, {args})\n"
        f"# <<< tradedata bundle {name!r} <<<\n"
    )


def write_extension(path: Path, name: str, block: str) -> None:
    """Add ``block`` to ``path``, replacing an earlier block for the same bundle."""
    begin, end = f"# >>> tradedata bundle {name!r} >>>", f"# <<< tradedata bundle {name!r} <<<"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block.rstrip("\n") + tail
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _cmd_ingest(args: argparse.Namespace) -> int:
    from zipline.data import bundles

    from tradedata.feeds.zipline.register import register_bundle
    from tradedata.feeds.zipline.report import last_ingest_report

    register_bundle(args.name, **_register_kwargs(args))
    bundles.ingest(args.name, os.environ, show_progress=args.show_progress)
    report = last_ingest_report(args.name)
    if report is not None:
        print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return 0


def _cmd_register(args: argparse.Namespace) -> int:
    from tradedata.feeds.zipline.register import register_bundle

    kwargs = _register_kwargs(args)
    register_bundle(args.name, **kwargs)  # validates before anything is written
    block = extension_block(args.name, kwargs)
    if args.print:
        print(block, end="")
        return 0
    if args.extension:
        path = Path(args.extension)
    else:
        from zipline.utils.paths import zipline_root

        path = Path(zipline_root()) / "extension.py"
    write_extension(path, args.name, block)
    print(f"bundle {args.name!r} registered in {path}; now run: zipline ingest -b {args.name}")
    return 0


def _cmd_sids(args: argparse.Namespace) -> int:
    from tradedata.feeds.zipline.bundle import sid_registry
    from tradedata.manager import DataManager

    with DataManager(cache_dir=args.cache_dir) as dm:
        known = sid_registry(dm.cache_dir).known()
    for sym, sid in sorted(known.items(), key=lambda kv: kv[1]):
        print(f"{sid}\t{sym}")
    return 0


def cli_main(argv: Sequence[str]) -> int:
    """Run ``tradedata zipline`` with ``argv``; returns the exit code."""
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    commands = {"ingest": _cmd_ingest, "register": _cmd_register, "sids": _cmd_sids}
    try:
        return commands[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TradeDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
