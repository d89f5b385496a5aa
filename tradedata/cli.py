"""The ``tradedata`` command.

Exit codes: 0 success (``cache verify``: nothing new found, the cache is healthy now), 1
``cache verify`` found damage in this run (quarantined; earlier quarantines alone do not count),
2 bad input, bad configuration or any other :class:`TradeDataError` (one line on stderr, no
traceback), 130 interrupted. The cache directory comes from ``--cache-dir`` or
``DATA_CACHE_DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tradedata import ops
from tradedata.errors import TradeDataError

__all__ = ["main"]


def _manager(args: argparse.Namespace) -> Any:
    from tradedata.manager import DataManager

    return DataManager(
        cache_dir=args.cache_dir,
        config=getattr(args, "config", None),
        store=getattr(args, "store", None),
    )


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV file into the cache and print its quality report."""
    args.symbol = args.symbol or args.symbol_opt
    args.timeframe = args.timeframe or args.timeframe_opt
    if not args.symbol or not args.timeframe:
        raise _usage("import needs PATH SYMBOL TIMEFRAME (or --symbol and --timeframe)")
    dm = _manager(args)
    report = dm.import_csv(
        args.path, args.symbol, args.timeframe, label=args.label, exchange=args.exchange,
        tz=args.tz,
    )  # fmt: skip
    if args.json:
        _print_json(report.to_dict())
    else:
        print(f"imported {report.bars} bars of {args.symbol} {args.timeframe} from {args.path}")
        print(report)
    return 0


def _load(args: argparse.Namespace) -> Any:
    dm = _manager(args)
    provider = args.provider or ("cache" if args.start is None and args.end is None else None)
    frame = dm.get_ohlcv(
        args.symbol, args.timeframe, args.start, args.end, provider=provider,
        deadline=args.deadline, exchange=args.exchange, fallback=args.fallback,
        adjust=args.adjust,
    )  # fmt: skip
    if frame.empty:
        raise TradeDataError(f"no bars for {args.symbol} {args.timeframe} in the cache")
    ops.check_provider(args, frame)
    return frame


def cmd_show(args: argparse.Namespace) -> int:
    """Print the head, tail and a summary of a cached series."""
    frame = _load(args)
    report = frame.attrs["quality"]
    if args.json:
        out = frame.reset_index()
        out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
        rows = out.head(args.rows).to_dict("records") + out.tail(args.rows).to_dict("records")
        _print_json({"bars": len(frame), "quality": report.score, "rows": rows})
        return 0
    import pandas as pd

    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(frame.head(args.rows))
        print("...")
        print(frame.tail(args.rows))
    print(
        f"\n{args.symbol} {args.timeframe}: {len(frame)} bars, {frame.index[0]:%Y-%m-%d %H:%M}"
        f" .. {frame.index[-1]:%Y-%m-%d %H:%M}, source {ops.sources_text(frame)}, "
        f"provider {frame.attrs.get('provider')}, quality {report.score:.4f}"
    )
    print(frame.describe().loc[["mean", "min", "max"]].to_string())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Print the quality report of a cached series."""
    frame = _load(args)
    from tradedata.validation import validate

    report = validate(frame, args.timeframe, calendar=args.calendar) if args.calendar else None
    report = report or frame.attrs["quality"]
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch a range into the cache (only what is missing) and print a summary."""
    dm = _manager(args)
    extra = {"open_interest": True} if args.open_interest else {}
    frame = dm.get_ohlcv(
        args.symbol, args.timeframe, args.start, args.end, provider=args.provider,
        deadline=args.deadline, exchange=args.exchange, fallback=args.fallback,
        adjust=args.adjust, **extra,
    )  # fmt: skip
    ops.check_provider(args, frame)
    report = frame.attrs["quality"]
    summary = {
        "symbol": frame.attrs["symbol"],
        "source": ops.sources_text(frame),
        "timeframe": args.timeframe,
        "bars": len(frame),
        "first": frame.index[0] if len(frame) else None,
        "last": frame.index[-1] if len(frame) else None,
        "provider": frame.attrs.get("provider"),
        "quality": report.score,
        "unfetched": frame.attrs.get("unfetched"),
    }
    if args.open_interest:
        known = frame["open_interest"].notna() if "open_interest" in frame.columns else []
        summary["open_interest_bars"] = int(sum(known))
        summary["open_interest_unfetched"] = [
            {"start": u.start, "end": u.end, "reason": u.reason}
            for u in frame.attrs.get("open_interest_unfetched", [])
        ]
    if args.json:
        _print_json(summary)
    else:
        print(ops.plain(" ".join(f"{k}={v}" for k, v in summary.items())))
    return 0


def _progress(desc: str) -> Any:
    """A tqdm wrapper for long work (quiet when stderr is not a terminal)."""
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=desc, unit="part", disable=not sys.stderr.isatty())


def _cache_verify(args: argparse.Namespace, cache: Any) -> int:
    """Exit 1 when this run found (and quarantined) damage, 0 when the cache is healthy now;
    quarantines of earlier runs or reads are listed either way."""
    earlier = set(cache.quarantined())
    damage = cache.verify(progress=_progress("verify"))
    found = [d for d in damage if d not in earlier]
    if args.json:
        _print_json([{**d.__dict__, "found_now": d not in earlier} for d in damage])
    else:
        for d in damage:
            when = "damaged" if d not in earlier else "quarantined earlier"
            kept = d.path or "no data kept"
            print(f"{when}: {d.symbol} {d.timeframe} {d.year}: {d.reason} ({kept})")
        if not found:
            print("cache OK" + (f" ({len(damage)} quarantined earlier)" if damage else ""))
    return 1 if found else 0


def _cache_transfer(args: argparse.Namespace, dm: Any) -> int:
    if not args.directory:
        raise _usage(f"cache {args.action} needs a DIR")
    if args.action == "export":
        count = dm.cache.export_tree(args.directory, progress=_progress("export"))
    else:
        count = dm.cache.import_tree(args.directory, progress=_progress("import"))
    print(f"{args.action}ed {count} partitions ({args.directory}){_rescored(args, dm)}")
    return 0


def _rescored(args: argparse.Namespace, dm: Any) -> str:
    """After records arrived (import, sync): stored quality judged with other splits than the
    store's actions is recomputed from the stored bars (see tradedata.rescoring)."""
    if args.action == "export":
        return ""
    done = int(dm.rescore())
    return f"; {done} quality report(s) rescored for new splits" if done else ""


def _cache_clear(args: argparse.Namespace, cache: Any) -> int:
    if not args.yes:
        raise _usage("cache clear removes everything: add --yes")
    cache.clear()
    print(f"cleared {cache.location}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """Cache maintenance: info, verify, export, import, clear, delete."""
    dm = _manager(args)
    if args.action == "delete":  # what the rules pick for the symbol: the manager knows
        return ops.cache_delete(args, dm)
    if args.action in ("export", "import"):
        return _cache_transfer(args, dm)
    action = {
        "info": ops.cache_info,
        "verify": _cache_verify,
        "clear": _cache_clear,
    }[args.action]
    return action(args, dm.cache)


def cmd_store(args: argparse.Namespace) -> int:
    """Copy what the target store lacks from the source store (resumable)."""
    from tradedata.cache.opening import open_store
    from tradedata.cache.sync import sync_stores

    if args.source == args.target:
        raise _usage("store sync needs two different stores")
    with open_store(args.source) as src, open_store(args.target) as dst:
        report = sync_stores(src, dst, progress=_progress("sync"))
        where = f"{src.location} -> {dst.location}"
        changed = report.actions_copied or report.partitions_copied
        rescored = _rescore_target(args, dst) if changed else 0
    if args.json:
        _print_json({"from_to": where, **report.__dict__, "quality_rescored": rescored})
    else:
        more = f"; {rescored} quality report(s) rescored for new splits" if rescored else ""
        print(f"synced {where}: {report}{more}")
    return 0


def _rescore_target(args: argparse.Namespace, store: Any) -> int:
    """The target's stored quality judged with other splits than its (new) actions,
    recomputed from its bars (see tradedata.rescoring)."""
    from tradedata import stats
    from tradedata.manager import DataManager

    dm = DataManager(store=store, config=getattr(args, "config", None))
    try:
        return int(dm.rescore())
    finally:  # the store itself is closed by its owner (the caller's ``with``)
        stats.untrack(store.directory)


def cmd_fundamentals(args: argparse.Namespace) -> int:
    """Print a company's fundamentals merged across providers."""
    dm = _manager(args)
    providers = args.providers.split(",") if args.providers else None
    data = dm.get_fundamentals(args.symbol, providers=providers, refresh=args.refresh)
    if args.json:
        _print_json(data.to_dict())
    else:
        print(data)
    return 0


def _delegate(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), func)(args))

    return run


class _UsageError(TradeDataError):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def _exchange_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exchange",
        "--source",
        dest="exchange",
        metavar="SOURCE",
        help="the series' source: a venue (bybit) or consolidated/iex; SYMBOL may also be "
        "spelled BYBIT:BTC/USDT (default: the source the rules pick: the rule's primary venue)",
    )


def _series_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("symbol", help="e.g. BTC/USDT, AAPL, EURUSD")
    p.add_argument("timeframe", help="e.g. 1m, 1h, 1d")
    p.add_argument("--start", help="first bar open, date or ISO time (UTC), e.g. 2024-01-01")
    p.add_argument("--end", help="last bar open, included (default: now when --start is given)")
    p.add_argument("--provider", help="provider name, or 'cache' to never fetch")
    _exchange_arg(p)
    p.add_argument(
        "--fallback",
        choices=["venues", "none"],
        help="'venues': fill what the source lacks from other venues, stored and shown apart",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--deadline", metavar="SECONDS", help="most seconds to spend fetching (TRADEDATA_DEADLINE)"
    )
    p.add_argument(
        "--adjust",
        choices=["splits", "all", "raw"],
        default="splits",
        help="equities: split-adjusted (default), also dividend-adjusted, or as traded",
    )


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

    p = sub.add_parser("import", help="import a backtrader, Yahoo or generic CSV file")
    p.add_argument("path")
    p.add_argument("symbol", nargs="?", help="symbol to store it as (or --symbol)")
    p.add_argument("timeframe", nargs="?", help="bar timeframe, e.g. 1d (or --timeframe)")
    p.add_argument("--symbol", dest="symbol_opt", metavar="SYMBOL")
    p.add_argument("--timeframe", dest="timeframe_opt", metavar="TIMEFRAME")
    p.add_argument("--label", choices=["open", "end"], help="intraday stamps mark bar open/end")
    p.add_argument(
        "--tz", metavar="ZONE", help="stamps are local time in ZONE, e.g. Europe/Berlin (DST-aware)"
    )
    p.add_argument("--json", action="store_true", help="print the quality report as JSON")
    _exchange_arg(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "show",
        help="head, tail and summary of a series",
        description="Without --start/--end only the cache is read (nothing is fetched); "
        "with them, missing bars are fetched first.",
        epilog="examples:\n  tradedata show BTC/USDT 1h\n"
        "  tradedata show AAPL 1d --start 2024-01-01 --end 2024-03-31 --rows 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _series_args(p)
    p.add_argument("--rows", type=int, default=5, help="rows of head and of tail (default 5)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("validate", help="print a series' quality report")
    _series_args(p)
    p.add_argument("--calendar", help="exchange-calendars name, e.g. XNYS or 24/7")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("fetch", help="fetch a range into the cache (only what is missing)")
    _series_args(p)
    p.add_argument(
        "--open-interest",
        action="store_true",
        help="contracts (BTC/USDT:USDT): also fetch and store the venue's open interest",
    )
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser(
        "cache",
        help="cache info, verify, export DIR, import DIR, delete SYMBOL [TF], clear",
        epilog="examples:\n  tradedata cache info\n  tradedata cache delete BTC/USDT 1m\n"
        "  tradedata cache export /tmp/tree",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["info", "verify", "export", "import", "clear", "delete"])
    p.add_argument("directory", nargs="?", metavar="DIR|SYMBOL", help="for export/import/delete")
    p.add_argument("timeframe", nargs="?", help="for delete: only this timeframe")
    p.add_argument("--yes", action="store_true", help="confirm 'clear'")
    p.add_argument("--json", action="store_true")
    _exchange_arg(p)
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("store", help="store sync --from DIR|URL --to DIR|URL")
    p.add_argument("action", choices=["sync"])
    p.add_argument("--from", dest="source", required=True, metavar="DIR|URL")
    p.add_argument("--to", dest="target", required=True, metavar="DIR|URL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_store)

    p = sub.add_parser("fundamentals", help="company fundamentals merged across providers")
    p.add_argument("symbol")
    p.add_argument("--providers", help="comma-separated, in priority order")
    p.add_argument("--refresh", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fundamentals)

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
