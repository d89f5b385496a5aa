"""Exchange websocket dialects, declared as data (as cryptofeed declares its exchanges).

A :class:`WsDialect` says where an exchange's public market streams live, how a kline topic is
named, how to subscribe, how often to send an application ping, and how to read a closed candle
out of a push. Connection handling and reconnection live once, in
:mod:`tradedata.feeds.live.hub`, for every dialect.

Shapes follow the exchanges' documentation: Binance spot market streams (combined streams
``/stream?streams=a/b`` wrapping payloads as ``{"stream": ..., "data": ...}``, the kline object
``k`` with ``x`` true once the candle is closed; ``SUBSCRIBE`` requests answered by
``{"result": null, "id": n}``), and Bybit v5 public spot (``/v5/public/spot``,
``{"op": "subscribe", "args": ["kline.1.BTCUSDT"]}`` with at most 10 args per request, an
``{"op": "ping"}`` every 20 s, pushes ``{"topic": ..., "data": [{start, ..., confirm}]}`` with
``confirm`` true once the candle is closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tradedata.feeds.live.model import LiveBar

__all__ = ["BINANCE", "BYBIT", "DIALECTS", "Refusal", "WsDialect"]

Parsed = list[tuple[str, LiveBar]]


@dataclass(frozen=True)
class Refusal:
    """The exchange refused a request: its id (None if the answer names none) and why."""

    request_id: Any
    reason: str
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class WsDialect:
    """One exchange's public kline stream protocol."""

    exchange: str
    #: path of the public endpoint below the websocket base URL
    path: str
    #: base URLs of the real service (sandbox: the exchange's testnet)
    live_base: str
    sandbox_base: str
    #: tradedata timeframe -> the exchange's interval code
    intervals: Mapping[str, str]
    #: topic name from ``{id}`` (exchange market id), ``{id_lower}`` and ``{interval}``
    topic_format: str
    #: topics per subscribe request, and per connection
    max_per_request: int
    max_per_connection: int
    #: True when the initial topics may be put in the connection URL (Binance combined streams)
    topics_in_url: bool
    subscribe: Callable[[Sequence[str], int], dict[str, Any]]
    parse: Callable[[Any], Parsed]
    refusal: Callable[[Any], Refusal | None]
    #: application-level ping message and its period in seconds (None: none)
    app_ping: Mapping[str, Any] | None = None
    app_ping_interval: float = 20.0
    #: text found in a push of a still-open candle only, and text found in a closed one: a
    #: message with the first and without the second is skipped unparsed (most pushes are
    #: updates of the open candle; the exchanges send compact JSON)
    open_marker: str | None = None
    closed_marker: str | None = None

    def skippable(self, raw: str | bytes) -> bool:
        """True for a raw push that can only be an update of a still-open candle."""
        if self.open_marker is None or not isinstance(raw, str):
            return False
        return self.open_marker in raw and (
            self.closed_marker is None or self.closed_marker not in raw
        )

    def topic(self, market_id: str, timeframe: str) -> str:
        """The kline topic of ``market_id`` (e.g. ``BTCUSDT``) at ``timeframe`` (``1m``)."""
        interval = self.intervals[timeframe]
        return self.topic_format.format(id=market_id, id_lower=market_id.lower(), interval=interval)

    def url(self, base: str, topics: Sequence[str] = ()) -> str:
        """The connection URL below ``base`` (``ws://host:port``), with ``topics`` if allowed."""
        url = base.rstrip("/") + self.path
        if self.topics_in_url and topics:
            url += "?streams=" + quote("/".join(topics), safe="@/_.-")
        return url


# -- Binance ----------------------------------------------------------------------------------


def _binance_subscribe(topics: Sequence[str], request_id: int) -> dict[str, Any]:
    return {"method": "SUBSCRIBE", "params": list(topics), "id": request_id}


def _binance_parse(message: Any) -> Parsed:
    if not isinstance(message, dict):
        return []
    data = message.get("data", message)
    if not isinstance(data, dict) or data.get("e") != "kline":
        return []
    k = data.get("k")
    if not isinstance(k, dict) or k.get("x") is not True:
        return []  # the candle is still open: never a closed bar
    stream = message.get("stream") or f"{str(k['s']).lower()}@kline_{k['i']}"
    bar = LiveBar(
        int(k["t"]),
        float(k["o"]),
        float(k["h"]),
        float(k["l"]),
        float(k["c"]),
        float(k["v"]),
        int(data["E"]) if "E" in data else None,
    )
    return [(str(stream), bar)]


def _binance_refusal(message: Any) -> Refusal | None:
    if isinstance(message, dict) and isinstance(message.get("error"), dict):
        error = message["error"]
        return Refusal(message.get("id"), f"{error.get('code')}: {error.get('msg')}")
    return None


_BINANCE_INTERVALS = {
    tf: tf
    for tf in (
        "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
        "1d", "3d", "1w", "1M",
    )
}  # fmt: skip

BINANCE = WsDialect(
    exchange="binance",
    path="/stream",
    live_base="wss://stream.binance.com:9443",
    sandbox_base="wss://stream.testnet.binance.vision",
    intervals=_BINANCE_INTERVALS,
    topic_format="{id_lower}@kline_{interval}",
    max_per_request=200,
    max_per_connection=1024,
    topics_in_url=True,
    subscribe=_binance_subscribe,
    parse=_binance_parse,
    refusal=_binance_refusal,
    open_marker='"x":false',
    closed_marker='"x":true',
)


# -- Bybit ------------------------------------------------------------------------------------


def _bybit_subscribe(topics: Sequence[str], request_id: int) -> dict[str, Any]:
    return {"op": "subscribe", "args": list(topics), "req_id": str(request_id)}


def _bybit_parse(message: Any) -> Parsed:
    if not isinstance(message, dict):
        return []
    topic = message.get("topic")
    if not isinstance(topic, str) or not topic.startswith("kline."):
        return []
    out: Parsed = []
    for item in message.get("data") or ():
        if not isinstance(item, dict) or item.get("confirm") is not True:
            continue  # still-open candle
        event = item.get("timestamp", message.get("ts"))
        bar = LiveBar(
            int(item["start"]),
            float(item["open"]),
            float(item["high"]),
            float(item["low"]),
            float(item["close"]),
            float(item["volume"]),
            int(event) if event is not None else None,
        )
        out.append((topic, bar))
    return out


def _bybit_refusal(message: Any) -> Refusal | None:
    if not isinstance(message, dict) or message.get("success") is not False:
        return None
    reason = str(message.get("ret_msg", ""))
    topics: tuple[str, ...] = ()
    if "[" in reason and "]" in reason:
        inside = reason[reason.index("[") + 1 : reason.rindex("]")]
        topics = tuple(t for t in inside.split(",") if t)
    request_id = message.get("req_id")
    known = int(str(request_id)) if str(request_id).isdigit() else request_id
    return Refusal(known, reason, topics)


_BYBIT_INTERVALS = {
    "1m": "1", "3m": "3", "5m": "5", "15m": "15", "30m": "30", "1h": "60", "2h": "120",
    "4h": "240", "6h": "360", "12h": "720", "1d": "D", "1w": "W", "1M": "M",
}  # fmt: skip

BYBIT = WsDialect(
    exchange="bybit",
    path="/v5/public/spot",
    live_base="wss://stream.bybit.com",
    sandbox_base="wss://stream-testnet.bybit.com",
    intervals=_BYBIT_INTERVALS,
    topic_format="kline.{interval}.{id}",
    max_per_request=10,
    max_per_connection=500,
    topics_in_url=False,
    subscribe=_bybit_subscribe,
    parse=_bybit_parse,
    refusal=_bybit_refusal,
    app_ping={"op": "ping"},
    app_ping_interval=20.0,
    open_marker='"confirm":false',
    closed_marker='"confirm":true',
)

#: Exchanges streamed natively over websockets; any other ccxt exchange is polled over REST.
DIALECTS: dict[str, WsDialect] = {d.exchange: d for d in (BINANCE, BYBIT)}
