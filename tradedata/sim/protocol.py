"""The shape every simulated exchange's HTTP side has, and helpers its handlers share."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from aiohttp import web

from tradedata.sim.ratelimit import Verdict
from tradedata.sim.state import SimState

#: Request storage key set by the fault middleware when the page must come back empty.
EMPTY_PAGE: Any = web.RequestKey("empty_page", bool) if hasattr(web, "RequestKey") else "empty_page"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A compact JSON response, as the exchanges send them."""
    body = json.dumps(data, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


class ParamError(ValueError):
    """A request parameter is missing or malformed; ``name`` says which."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    """An optional non-negative integer query parameter."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 20:
        raise ParamError(name, f"Illegal characters found in parameter '{name}'.")
    return int(raw)


class RestProtocol(ABC):
    """One exchange's REST dialect: routes, request weight, and its own error shapes."""

    exchange: str
    prefixes: tuple[str, ...]
    ws_prefixes: tuple[str, ...]
    default_rate_limit: int
    default_rate_window: float
    bans: bool

    def __init__(self, state: SimState) -> None:
        self.state = state

    def owns(self, path: str) -> bool:
        """True if ``path`` belongs to this exchange."""
        return path.startswith(self.prefixes) or path.startswith(self.ws_prefixes)

    def is_websocket(self, path: str) -> bool:
        """True if ``path`` is one of this exchange's websocket endpoints."""
        return path.startswith(self.ws_prefixes)

    @abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The aiohttp routes (REST and websocket) of this exchange."""

    @abstractmethod
    def weight(self, request: web.Request) -> int:
        """What the request costs against the rate limit."""

    @abstractmethod
    def is_page(self, path: str) -> bool:
        """True if the endpoint returns a page of candles (so an empty page is plausible)."""

    @abstractmethod
    def limited(self, verdict: Verdict) -> web.Response:
        """The exchange's answer when the rate limit refuses a request."""

    @abstractmethod
    def server_error(self, status: int) -> web.Response:
        """The exchange's answer for an injected 5xx."""

    @abstractmethod
    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        """Rate-limit headers every response carries."""

    @abstractmethod
    def empty_page(self, request: web.Request) -> web.Response:
        """A valid response with no candles."""
