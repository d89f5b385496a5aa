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
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 = any free)",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the tradedata YAML config for this --host/--port and exit",
    )
    parser.add_argument("--exchanges", default=",".join(EXCHANGES), help="e.g. binance,bybit")
    parser.add_argument("--symbols", default="", help="extra symbols, e.g. XRP/USDT,ADA/USDT")
    parser.add_argument(
        "--generate", type=_number(int, 0, 10_000), default=0, help="add N made-up symbols"
    )
    parser.add_argument(
        "--speed",
        type=_number(float, 0, 1e6),
        default=1.0,
        help="sim seconds per wall second (default 1 = real time; 0 freezes the clock)",
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


DEFAULT_PORT = 8765

_EXAMPLES = """examples:
  tradedata sim                                  # binance + bybit on 127.0.0.1:8765
  tradedata sim --port 9000 --speed 60           # one sim minute per wall second
  tradedata sim --print-config > sim.yaml        # then: tradedata --config sim.yaml fetch ...
  tradedata sim --error-rate 0.2 --latency 0.5   # a flaky exchange
"""


def config_yaml(url: str, ws_url: str, exchanges: Sequence[str]) -> str:
    """The tradedata config (YAML) that points the crypto providers at a simulator."""
    lines = [f"# tradedata config for the exchange simulator at {url}", "providers:"]
    for exchange in exchanges:
        lines.append(f'  {exchange}: {{url: "{url}", ws_url: "{ws_url}"}}')
    backup = ", ".join(exchanges[1:])
    lines += ["rules:", f"  crypto: {{primary: {exchanges[0]}, backup: [{backup}]}}"]
    return "\n".join(lines) + "\n"


def _port_owner(port: int) -> str | None:
    """``pid N (command)`` of the process listening on ``port`` (Linux, best effort)."""
    import os

    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    for pid in (p for p in os.listdir("/proc") if p.isdigit()) if inodes else ():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
                return f"pid {pid} ({cmd[:80]})"
        except OSError:
            continue
    return None


def _start_error(args: argparse.Namespace, exc: BaseException) -> str:
    import errno

    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    if isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
        owner = _port_owner(args.port)
        who = f" by {owner}" if owner else " by another program"
        return (
            f"port {args.port} on {args.host} is already in use{who}; "
            f"choose another with --port N (or --port 0 for any free port)"
        )
    return str(exc)


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
    """Print where the simulator listens and how to point tradedata (and ccxt) at it."""
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
    env = " ".join(
        f"TRADEDATA_{e.upper()}_URL={sim.url} TRADEDATA_{e.upper()}_WS_URL={sim.ws_base}"
        for e in sim.exchanges
    )
    print(
        "  point tradedata at it, either with environment variables:\n"
        f"    export {env}\n"
        "    tradedata fetch BTC/USDT 1h --start 2024-01-01 --provider " + first + "\n"
        "  or with a config file:\n"
        f"    tradedata sim --port {sim.port} --print-config > sim.yaml\n"
        "    tradedata --config sim.yaml fetch BTC/USDT 1h --start 2024-01-01\n"
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
    if args.print_config:
        if not args.port:
            print("tradedata sim: --print-config needs a fixed --port", file=sys.stderr)
            return 2
        host = f"[{args.host}]" if ":" in args.host else args.host
        url, ws_url = f"http://{host}:{args.port}", f"ws://{host}:{args.port}"
        print(config_yaml(url, ws_url, _split(args.exchanges)), end="")
        return 0
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
    except TradeDataError as e:  # bad input: one line, exit code 2
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as e:  # the port is taken, the server did not come up
        print(f"tradedata sim: {_start_error(args, e)}", file=sys.stderr)
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
