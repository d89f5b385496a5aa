"""``tradedata download``: its options (:func:`add_cli_arguments`) and its runner
(:func:`download_cli_main`), which prints the report and exits 0 when every series is complete,
2 otherwise, 130 on Ctrl-C. The ``tradedata`` command (:mod:`tradedata.cli`) registers both.
"""

from __future__ import annotations

import argparse
import sys

from tradedata.download.bulk import download
from tradedata.errors import DeadlineExceededError

__all__ = ["add_cli_arguments", "download_cli_main"]


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``tradedata download`` options to ``parser``."""
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--symbols", help="comma-separated, e.g. BTC/USDT,ETH/USDT")
    which.add_argument("--all-symbols", action="store_true", help="every active spot market")
    parser.add_argument(
        "--quote", help="with --all-symbols: only markets quoted in this, e.g. USDT"
    )
    parser.add_argument("--exchange", default="binance", help="ccxt exchange id (default binance)")
    parser.add_argument("--timeframes", default="1h", help="comma-separated, e.g. 1m,5m,1h")
    parser.add_argument("--days", type=float, help="history to fetch, in days up to --end/now")
    parser.add_argument("--start", help="first bar (date or ISO time), instead of --days")
    parser.add_argument("--end", help="last bar (default: now)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel series (default 8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--open-interest",
        action="store_true",
        help="contracts (BTC/USDT:USDT): also fetch and store their open interest",
    )
    parser.add_argument(
        "--deadline", metavar="SECONDS", help="most seconds the download may take "
        "(default: TRADEDATA_DEADLINE, else the config's deadline, else none)",
    )  # fmt: skip


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def download_cli_main(args: argparse.Namespace) -> int:
    """Run ``tradedata download``: 0 when every series is complete, 2 otherwise, 130 on Ctrl-C."""
    from tradedata.manager import DataManager

    dm = DataManager(
        cache_dir=getattr(args, "cache_dir", None),
        config=getattr(args, "config", None),
        store=getattr(args, "store", None),
    )
    try:
        report = download(
            symbols=_split(args.symbols) or None,
            timeframes=_split(args.timeframes),
            days=args.days,
            start=args.start,
            end=args.end,
            exchange=args.exchange,
            all_symbols=args.all_symbols,
            manager=dm,
            concurrency=args.concurrency,
            # a bar of \r updates only on a terminal, never into redirected logs
            progress=not args.no_progress
            and not getattr(args, "quiet", False)
            and sys.stderr.isatty(),
            quote=args.quote,
            deadline=args.deadline,
            open_interest=args.open_interest,
        )
    except DeadlineExceededError as exc:
        if exc.report is not None:  # what was done, then the one-line error (main prints it)
            print(exc.report.to_json() if args.json else exc.report)
        raise
    except KeyboardInterrupt:
        print("interrupted: what was fetched is stored; run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    finally:
        dm.close()
    print(report.to_json() if args.json else report)
    return 0 if report.ok else 2
