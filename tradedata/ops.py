"""Operations verbs and the CLI's manners: ``stats``, ``health``, ``cache info/delete``.

Also what every verb shares: ``--version``, ``--quiet``/``--verbose`` (logging through
:mod:`tradedata.logs`), warnings printed as one plain line (no source line, timestamps as
``2026-12-04 15:00``), no ``BrokenPipeError`` traceback when the output goes into ``head``,
and a ``pip install "tradedata[...]"`` hint instead of a traceback for a missing extra.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tradedata.commands.shared import manager, print_json
from tradedata.errors import TradeDataError

__all__ = [
    "FORWARDED",
    "add_global_options",
    "cache_delete",
    "cache_info",
    "check_provider",
    "forward",
    "guard_extra",
    "on_broken_pipe",
    "plain",
    "register",
    "setup",
    "verb_index",
]

#: exit code after the reader of our output went away (128 + SIGPIPE, like other Unix tools)
EXIT_BROKEN_PIPE = 141

_TS_REPR = re.compile(
    r"Timestamp\('([0-9-]+)[ T]([0-9:]+?)(?::00)?(?:\.0+)?(?:[+-]\d\d:?\d\d)?'[^)]*\)"
)
_ISO = re.compile(r"\b(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)(?::00)?(?:\.0+)?(?:\+00:?00|Z)?\b")


def plain(text: str) -> str:
    """``text`` on one line, ``Timestamp(...)`` reprs and ISO stamps as ``2026-12-04 15:00``."""
    text = " ".join(text.split())  # a file name or a server's answer may hold line breaks
    text = _TS_REPR.sub(lambda m: f"{m.group(1)} {m.group(2)[:5]}", text)
    return _ISO.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """``--version``, ``--quiet`` and ``--verbose``."""
    from tradedata import __version__

    parser.add_argument("--version", action="version", version=f"tradedata {__version__}")
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (no warnings, no progress)"
    )
    loud.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """A Python warning at the CLI: one log record (``warning: ...`` or a JSON line)."""
    import logging

    logging.getLogger("tradedata.warnings").warning("%s", plain(str(message)))


@contextlib.contextmanager
def setup(args: argparse.Namespace) -> Iterator[None]:
    """Logging and warnings for one CLI run (``--quiet``/``--verbose``); restored afterwards."""
    import logging

    from tradedata.logs import configure_logging

    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", 0)
    level: int | str | None = None
    if quiet:
        level = "ERROR"
    elif verbose:
        level = "DEBUG" if verbose > 1 else "INFO"
    logger = logging.getLogger("tradedata")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        warnings.showwarning = _show_warning
        configure_logging(level=level)
        try:
            yield
        finally:
            logger.handlers[:], logger.level, logger.propagate = saved


def on_broken_pipe() -> int:
    """The reader (``head``) closed our stdout: stop quietly, no traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail
    return EXIT_BROKEN_PIPE


def guard_extra(feature: str, run: Callable[[Sequence[str]], int], argv: Sequence[str]) -> int:
    """Run ``run(argv)``; a missing optional extra becomes one line and exit code 2."""
    from tradedata.extras import hint_for

    try:
        return int(run(argv))
    except ModuleNotFoundError as exc:
        hint = hint_for(exc, feature)
        if hint is None:
            raise
        print(f"error: {hint}", file=sys.stderr)
        return 2


# -- sim and zipline: their own parsers ---------------------------------------------------
#: verbs whose own parser takes the rest of the command line
FORWARDED = {
    "sim": "run the Binance/Bybit exchange simulator (tradedata sim --help)",
    "zipline": "zipline bundle commands: ingest, register, sids (tradedata zipline --help)",
}


def verb_index(argv: list[str], verb: str) -> int:
    """Where ``verb`` stands in ``argv``, skipping the values of global options."""
    skip = False
    for i, token in enumerate(argv):
        if skip:
            skip = False
        elif token in ("--cache-dir", "--config"):
            skip = True
        elif token == verb:
            return i
    return len(argv)


def forward(name: str) -> Callable[[argparse.Namespace], int]:
    """The runner of a forwarded verb (``sim`` or ``zipline``): ``args.rest`` goes to it."""

    def run(args: argparse.Namespace) -> int:
        rest = list(args.rest)
        if name == "sim":
            from tradedata.sim import cli_main

            return int(cli_main(rest))
        from tradedata.feeds.zipline import cli_main as zipline_main

        if args.cache_dir and rest and "-h" not in rest and "--cache-dir" not in rest:
            rest += ["--cache-dir", args.cache_dir]  # a global --cache-dir given before the verb
        return guard_extra("tradedata zipline", zipline_main, rest)

    return run


# -- provider pinning at the CLI ------------------------------------------------------------
def check_provider(args: argparse.Namespace, frame: Any) -> None:
    """With ``--provider NAME``, refuse bars that came from another provider."""
    wanted = getattr(args, "provider", None)
    if not wanted or wanted == "cache" or frame is None or not len(frame):
        return
    sources = [s for s in str(frame.attrs.get("provider") or "").split("+") if s]
    others = [s for s in sources if s != wanted]
    if not others:
        return
    span = f"{frame.index[0]:%Y-%m-%d %H:%M}..{frame.index[-1]:%Y-%m-%d %H:%M}"
    raise TradeDataError(
        f"{wanted} did not serve {args.symbol} {args.timeframe} {span}: the bars in the cache "
        f"come from {', '.join(others)} (use --provider {others[0]} or --provider cache "
        "to see them)"
    )


def sources_text(frame: Any) -> str:
    """The frame's source, and the other sources that filled parts of it (``--fallback``)."""
    source = str(frame.attrs.get("source") or "")
    others = [r for r in frame.attrs.get("sources") or [] if r["source"] != source]
    if not others:
        return source
    filled = ", ".join(
        f"{r['source']} {r['start']:%Y-%m-%d %H:%M}..{r['end']:%Y-%m-%d %H:%M}" for r in others
    )
    return f"{source} (filled from {filled})"


# -- cache info / delete --------------------------------------------------------------------
def cache_info(args: argparse.Namespace, cache: Any) -> int:
    """``tradedata cache info``: sizes in MB/GB and a table of the series."""
    from tradedata.stats import human_bytes

    info = cache.info()
    series = cache.series()
    if args.json:
        print_json({**info, "series": [getattr(s, "__dict__", s) for s in series]})
        return 0
    used, limit = info["size_bytes"], info["max_size_bytes"]
    print(f"cache       {info['directory']}")
    print(f"size        {human_bytes(used)} of {human_bytes(limit)} ({used / limit:.1%})")
    extra = ", ".join(f"{info[k]} {k}" for k in ("partitions", "quarantined", "fundamentals"))
    print(f"contents    {info['series']} series, {extra}")
    if not series:
        return 0
    rows = [("source", "symbol", "tf", "first", "last", "bars", "size", "quality", "providers")]
    for s in series:
        rows.append(
            (
                s.source,
                s.symbol,
                s.timeframe,
                f"{s.first:%Y-%m-%d %H:%M}" if s.first is not None else "-",
                f"{s.last:%Y-%m-%d %H:%M}" if s.last is not None else "-",
                f"{s.bars:,}",
                human_bytes(s.bytes),
                "-" if s.score is None else f"{s.score:.4f}",
                ",".join(s.providers),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {5, 6, 7}
    print()
    for row in rows:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs]
        print("  ".join(cells).rstrip())
    return 0


def cache_delete(args: argparse.Namespace, manager: Any) -> int:
    """``tradedata cache delete SYMBOL [TIMEFRAME]``: remove one series (or every timeframe).

    Without ``--exchange`` (or a venue-prefixed symbol) it removes what ``tradedata show`` and
    ``get_ohlcv`` read: the series of the source the rules pick for the symbol at each
    timeframe (:meth:`~tradedata.manager.DataManager.source_for`); its one line names the
    source(s) removed.
    """
    from tradedata.identity import identify
    from tradedata.model import parse_timeframe

    if not args.directory:
        raise TradeDataError("cache delete needs a SYMBOL (and optionally a TIMEFRAME)")
    named, symbol = identify(args.directory, getattr(args, "exchange", None))
    tf = parse_timeframe(args.timeframe).name if args.timeframe else None
    done = manager.delete_series(symbol, tf, exchange=named)
    if not done:
        raise TradeDataError(_nothing_to_delete(manager, symbol, tf, named))
    removed = sum(n for _, _, n in done)
    by_source: dict[str, list[str]] = {}
    for src, frame_tf, _ in done:
        by_source.setdefault(src, []).extend([frame_tf] if frame_tf else [])
    if len(by_source) == 1:
        src = next(iter(by_source))
        name = f"{src.upper()}:{symbol}" if named else symbol
        what = f"{name} {tf}" if tf else f"{name} (every timeframe)"
        where = f"source {src}"
    else:
        what = f"{symbol} (every timeframe)"
        where = "sources " + ", ".join(f"{s} ({', '.join(t)})" for s, t in by_source.items())
    print(f"deleted {what}: {removed} partition(s), {where}")
    return 0


def _nothing_to_delete(manager: Any, symbol: str, tf: str | None, named: str | None) -> str:
    """Why nothing was deleted, naming the sources that do hold the symbol."""
    name = f"{named.upper()}:{symbol}" if named else symbol
    what = f"{name} {tf}" if tf else f"{name} (every timeframe)"
    cached = manager.cached_timeframes(symbol)
    others = sorted({s for t, srcs in cached.items() if tf in (None, t) for s in srcs})
    if not others:
        return f"nothing cached for {what}"
    if named:
        where = f"source {named}"
    elif tf:
        where = f"source {manager.source_for(symbol, tf)}, the one the rules pick"
    else:
        where = "the sources the rules pick"
    return (
        f"nothing cached for {what} in {where}; cached in {', '.join(others)} "
        f"(name one with --exchange or {others[0].upper()}:{symbol})"
    )


# -- stats and health ---------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace) -> int:
    """Print request, error, latency, circuit and cache statistics."""
    dm = manager(args)
    try:
        if args.reset:
            dm.reset_stats()
            print(f"statistics of {dm.cache_dir} reset")
            return 0
        report = dm.stats()
    finally:
        dm.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print(report)
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """Check providers, cache integrity, disk space and freshness; exit 1 when unhealthy."""
    from tradedata.health import check_health

    if args.timeout <= 0:
        raise TradeDataError("--timeout must be positive")
    dm = manager(args)
    try:
        report = check_health(
            dm,
            providers=args.provider or None,
            network=not args.offline,
            full=args.full,
            timeout=args.timeout,
        )
    finally:
        dm.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print(report)
    return report.exit_code(strict=args.strict)


def register(sub: Any) -> None:
    """Add the ``stats`` and ``health`` verbs to the ``tradedata`` sub-parsers."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "stats",
        help="requests, errors, retries, latency, circuits, cache hits and bytes",
        description="Statistics since this process started and, kept in the cache, since the "
        "last reset (summed over every process that used the cache).",
        epilog="examples:\n  tradedata stats\n  tradedata stats --json | jq .persisted\n"
        "  tradedata stats --reset",
        formatter_class=fmt,
    )
    p.add_argument("--reset", action="store_true", help="start the persisted counters again")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser(
        "health",
        help="providers reachable, cache intact, disk space, data freshness",
        description="Exit codes: 0 healthy (warnings allowed), 1 unhealthy (a check failed; "
        "with --strict also a warning), 2 bad input.",
        epilog="examples:\n  tradedata health\n  tradedata health --json --offline\n"
        "  tradedata health --provider binance --timeout 2 || alert",
        formatter_class=fmt,
    )
    p.add_argument(
        "--provider", action="append", help="probe this provider (repeatable; default: configured)"
    )
    p.add_argument("--offline", action="store_true", help="skip the provider probes")
    p.add_argument("--full", action="store_true", help="decode every partition (slow)")
    p.add_argument("--strict", action="store_true", help="warnings (stale data) also exit 1")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per probe (default 5)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_health)
