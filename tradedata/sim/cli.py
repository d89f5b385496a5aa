"""``tradedata sim``: run the exchange simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from tradedata.errors import InputError, TradeDataError
from tradedata.sim.faults import Faults
from tradedata.sim.simulator import EXCHANGES, ExchangeSimulator, generated_symbols
from tradedata.sim.state import StreamSettings

_FAULT_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("error_rate", float, "probability of a 500/502/503/504 answer"),
    ("latency", float, "seconds of delay before each HTTP response"),
    ("slow_body_rate", float, "probability of a body dribbled in chunks"),
    ("truncate_rate", float, "probability of a truncated body"),
    ("malformed_rate", float, "probability of a body that is not valid JSON"),
    ("empty_rate", float, "probability of an empty kline page"),
    ("rate_limit", int, "request weight (Bybit: requests) allowed per window"),
    ("rate_window", float, "rate-limit window in seconds (Binance 60, Bybit 5)"),
    ("ban_seconds", float, "how long Binance answers 418 after an ignored 429"),
    ("ws_drop_every", int, "abort each websocket after every N data messages"),
    ("ws_drop_rate", float, "probability per websocket message of an abort"),
    ("ws_silence_every", int, "go silent after every N data messages"),
    ("ws_silence_rate", float, "probability per websocket message of going silent"),
    ("ws_silence_seconds", float, "length of a silence in seconds"),
    ("time_offset", float, "seconds added to the time the exchange reports (/time)"),
)


class _Parser(argparse.ArgumentParser):
    """Errors are one line and exit code 2, as everywhere in the ``tradedata`` command."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    """An argparse type: a ``kind`` number within ``[low, high]`` (never nan or infinite)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{text} is not within [{low:g}, {high:g}]")
        return value

    return parse


_SECONDS = _number(float, 0, 1e9)  # a duration, up to ~30 years
_COUNT = _number(int, 0, 10**9)
_KINDS = {float: _number(float, -1e9, 1e9), int: _COUNT}


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 0..65535, got {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tradedata sim``."""
    parser = _Parser(
        prog="tradedata sim",
        description="Serve simulated Binance and Bybit (REST + websocket) on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8765, help="port (0 = any free port)")
    parser.add_argument("--exchanges", default=",".join(EXCHANGES), help="e.g. binance,bybit")
    parser.add_argument("--symbols", default="", help="extra symbols, e.g. XRP/USDT,ADA/USDT")
    parser.add_argument(
        "--generate", type=_number(int, 0, 10_000), default=0, help="add N made-up symbols"
    )
    parser.add_argument(
        "--speed", type=_number(float, 0, 1e6), default=1.0, help="sim seconds per wall second"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the series and the faults")
    parser.add_argument("--start", default=None, help="sim start time (default: now)")
    parser.add_argument("--history-start", default="2018-01-01", help="first bar of every series")
    parser.add_argument(
        "--ws-update", type=_number(float, 1e-3, 1e9), default=2.0, help="sim s between updates"
    )
    parser.add_argument(
        "--close-delay", type=_SECONDS, default=1.7, help="sim s a closed kline is sent late (1.7)"
    )
    parser.add_argument(
        "--connection-lifetime",
        type=_SECONDS,
        default=24 * 3600.0,
        help="wall s before Binance cuts a stream connection (24 h)",
    )
    parser.add_argument(
        "--zero-trade-rate",
        type=_number(float, 0, 1),
        default=0.0,
        help="share of minutes with no trade",
    )
    parser.add_argument(
        "--outage",
        action="append",
        default=[],
        metavar="START/END",
        help="a window with no candles at all, e.g. 2024-03-01T10:00/2024-03-01T11:30",
    )
    parser.add_argument("--duration", type=_SECONDS, default=None, help="stop after N wall seconds")
    faults = parser.add_argument_group("faults")
    for name, kind, text in _FAULT_OPTIONS:
        faults.add_argument(
            "--" + name.replace("_", "-"), type=_KINDS[kind], default=None, help=text
        )
    faults.add_argument("--fault-paths", default="", help="only paths containing these (a,b)")
    return parser


def faults_from_args(args: argparse.Namespace) -> Faults:
    """The :class:`Faults` the options ask for."""
    given = {n: getattr(args, n) for n, _, _ in _FAULT_OPTIONS if getattr(args, n) is not None}
    paths = tuple(p for p in args.fault_paths.split(",") if p)
    return Faults(**given, paths=paths)


def _outage(text: str) -> tuple[str, str]:
    start, sep, end = text.partition("/")
    if not sep or not start or not end:
        raise InputError(f"--outage takes START/END, got {text!r}")
    return start, end


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def describe(sim: ExchangeSimulator, out: TextIO) -> None:
    """Print where the simulator listens and how to point ccxt at it."""
    print(
        f"tradedata exchange simulator on {sim.url}  (seed {sim.seed}, speed {sim.clock.speed:g}x,"
        f" sim time {sim.now().isoformat()})",
        file=out,
    )
    for exchange in sim.exchanges:
        rest = sim.url + ("/api/v3" if exchange == "binance" else "/v5/market")
        print(f"  {exchange:<8} REST {rest}   websocket {sim.ws_url(exchange)}", file=out)
    first = sim.exchanges[0]
    print(f"  symbols: {', '.join(sim.symbols(first))}", file=out)
    print(
        "  ccxt:    from tradedata.adapters.ccxt_.urls import ccxt_url_overrides\n"
        f"           ccxt.{first}({{'urls': ccxt_url_overrides('{first}', '{sim.url}')}})",
        file=out,
    )
    if sim.clock.speed > 1.0:
        print(
            "  note:    sim time runs faster than yours; tradedata believes an exchange clock at\n"
            "           most max_clock_skew s ahead of this machine's, so give the provider\n"
            "           options: {max_clock_skew: null} (or start the sim in the past, --start)",
            file=out,
        )
    print("Press Ctrl-C to stop.", file=out, flush=True)


def cli_main(argv: Sequence[str] | None = None) -> int:
    """Run ``tradedata sim`` with ``argv``; serve until Ctrl-C (or ``--duration``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        symbols = _split(args.symbols) + generated_symbols(args.generate)
        sim = ExchangeSimulator(
            exchanges=_split(args.exchanges),
            symbols=symbols,
            seed=args.seed,
            speed=args.speed,
            start=args.start,
            faults=faults_from_args(args),
            host=args.host,
            port=args.port,
            history_start=args.history_start,
            streams=StreamSettings(
                update_interval=args.ws_update,
                close_delay=args.close_delay,
                connection_lifetime=args.connection_lifetime,
            ),
            zero_trade_rate=args.zero_trade_rate,
            outages=[_outage(text) for text in args.outage],
        )
        sim.start()
    except TradeDataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as e:  # the port is taken, the server did not come up
        print(f"error: cannot start the simulator: {e}", file=sys.stderr)
        return 1
    try:
        describe(sim, sys.stdout)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    stats = sim.stats
    print(
        f"served {stats.requests} requests, {stats.ws_connections} websocket connections, "
        f"{sum(stats.faults.values())} injected faults",
        file=sys.stdout,
    )
    return 0
