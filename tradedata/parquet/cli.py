"""``tradedata export parquet DEST``: the command line of the Parquet export."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_cli_arguments", "run"]


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``tradedata export``."""
    parser.description = (
        "Write the cache as a Hive-partitioned Parquet dataset (source=/symbol=/timeframe=/year=,\n"
        "zstd) to a folder or an fsspec URL. A second export writes only the partitions that\n"
        "changed; the manifest is committed last."
    )
    parser.epilog = (
        "examples:\n  tradedata export parquet ./bars\n"
        "  tradedata export parquet s3://my-bucket/bars --symbol BTC/USDT --timeframe 1m\n"
        "  AWS_ENDPOINT_URL=http://127.0.0.1:9000 tradedata export parquet s3://bucket/bars"
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("format", choices=["parquet"], help="the dataset format")
    parser.add_argument("dest", help="a folder or fsspec URL, e.g. s3://bucket/prefix")
    parser.add_argument(
        "--symbol",
        action="append",
        dest="symbols",
        metavar="SYMBOL",
        help="only this symbol (repeatable; BYBIT:BTC/USDT: only that source's series)",
    )
    parser.add_argument(
        "--timeframe", action="append", dest="timeframes", metavar="TF", help="only this timeframe"
    )
    parser.add_argument(
        "--full", action="store_true", help="rewrite every partition (default: only changed ones)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable summary")


def run(args: argparse.Namespace) -> int:
    """Export the cache (``--cache-dir``/``DATA_CACHE_DIR``/config) and print a summary."""
    from tradedata.cache import Cache
    from tradedata.config import load_config
    from tradedata.parquet.export import export_parquet

    directory = args.cache_dir or load_config(getattr(args, "config", None)).cache_dir
    with Cache(directory) as cache:
        result = export_parquet(
            args.dest,
            symbols=args.symbols,
            timeframes=args.timeframes,
            full=args.full,
            cache=cache,
        )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(
        f"exported to {result.dest}: {result.written} partitions written "
        f"({result.rows_written} bars, {result.bytes_written} bytes), {result.unchanged} "
        f"unchanged, {result.removed} removed; {result.partitions} in the dataset "
        f"({result.seconds:.2f} s)"
    )
    for name in result.skipped:
        print(f"skipped (damaged or changing in the cache): {name}")
    return 0
