"""The series verbs of the ``tradedata`` command: ``import``, ``show``, ``validate``, ``fetch``."""

from __future__ import annotations

import argparse
from typing import Any

from tradedata import ops
from tradedata.commands.shared import exchange_arg, manager, print_json, usage
from tradedata.errors import TradeDataError

__all__ = ["cmd_fetch", "cmd_import", "cmd_show", "cmd_validate", "register", "series_args"]


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV file into the cache and print its quality report."""
    args.symbol = args.symbol or args.symbol_opt
    args.timeframe = args.timeframe or args.timeframe_opt
    if not args.symbol or not args.timeframe:
        raise usage("import needs PATH SYMBOL TIMEFRAME (or --symbol and --timeframe)")
    dm = manager(args)
    report = dm.import_csv(
        args.path, args.symbol, args.timeframe, label=args.label, exchange=args.exchange,
        tz=args.tz,
    )  # fmt: skip
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"imported {report.bars} bars of {args.symbol} {args.timeframe} from {args.path}")
        print(report)
    return 0


def _load(args: argparse.Namespace) -> Any:
    dm = manager(args)
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
        print_json({"bars": len(frame), "quality": report.score, "rows": rows})
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
        print_json(report.to_dict())
    else:
        print(report)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch a range into the cache (only what is missing) and print a summary."""
    dm = manager(args)
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
        print_json(summary)
    else:
        print(ops.plain(" ".join(f"{k}={v}" for k, v in summary.items())))
    return 0


def series_args(p: argparse.ArgumentParser) -> None:
    """The arguments every series verb (``show``, ``validate``, ``fetch``) takes."""
    p.add_argument("symbol", help="e.g. BTC/USDT, AAPL, EURUSD")
    p.add_argument("timeframe", help="e.g. 1m, 1h, 1d")
    p.add_argument("--start", help="first bar open, date or ISO time (UTC), e.g. 2024-01-01")
    p.add_argument("--end", help="last bar open, included (default: now when --start is given)")
    p.add_argument("--provider", help="provider name, or 'cache' to never fetch")
    exchange_arg(p)
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


def register(sub: Any) -> None:
    """Add the ``import``, ``show``, ``validate`` and ``fetch`` verbs to the sub-parsers."""
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
    exchange_arg(p)
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
    series_args(p)
    p.add_argument("--rows", type=int, default=5, help="rows of head and of tail (default 5)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("validate", help="print a series' quality report")
    series_args(p)
    p.add_argument("--calendar", help="exchange-calendars name, e.g. XNYS or 24/7")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("fetch", help="fetch a range into the cache (only what is missing)")
    series_args(p)
    p.add_argument(
        "--open-interest",
        action="store_true",
        help="contracts (BTC/USDT:USDT): also fetch and store the venue's open interest",
    )
    p.set_defaults(func=cmd_fetch)
