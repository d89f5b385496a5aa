"""Logging: everything tradedata says goes through :mod:`logging` under ``tradedata.*``.

Loggers: ``tradedata`` (fetching), ``tradedata.providers`` (each request: latency, retries,
failures), ``tradedata.cache``, ``tradedata.live``, ``tradedata.zipline``,
``tradedata.fundamentals`` and ``tradedata.yfinance`` (yfinance's own messages, such as
"Cookie/crumb fetch failed", relayed at DEBUG level instead of going to stderr).

A library does not configure logging for its user; call :func:`configure_logging` (the CLI
does) to get one handler on stderr. ``TRADEDATA_LOG_FORMAT=json`` makes it write one JSON
object per line with ``time``, ``level``, ``logger``, ``message`` and, when known,
``provider``, ``symbol``, ``timeframe`` and ``request_id`` (one id per provider request, shared
by its retries' log lines); ``TRADEDATA_LOG_LEVEL`` sets the level (default ``WARNING``).
Setting ``TRADEDATA_LOG_FORMAT`` also makes the first ``DataManager`` configure logging.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = [
    "CONTEXT_FIELDS",
    "JsonFormatter",
    "configure_logging",
    "log_context",
    "new_request_id",
    "route_yfinance",
]

#: Fields a record carries from :func:`log_context` (None when not known).
CONTEXT_FIELDS = ("provider", "symbol", "timeframe", "request_id")

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "tradedata_log_context", default=None
)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Attach ``provider``/``symbol``/``timeframe``/``request_id`` to records logged inside."""
    merged = {**(_context.get() or {}), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def new_request_id() -> str:
    """A short random id naming one provider request (and its retries)."""
    return uuid.uuid4().hex[:12]


class _ContextFilter(logging.Filter):
    """Copies the current :func:`log_context` onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get() or {}
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, ctx.get(name))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the context fields."""

    converter = time.gmtime  # type: ignore[assignment]  # (typeshed: one overload only)

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _TextFormatter(logging.Formatter):
    """``level: message [provider symbol timeframe]`` — one plain line."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = [str(getattr(record, n)) for n in CONTEXT_FIELDS[:3] if getattr(record, n, None)]
        suffix = f" [{' '.join(ctx)}]" if ctx else ""
        return f"{record.levelname.lower()}: {record.getMessage()}{suffix}"


_HANDLER_FLAG = "_tradedata_handler"


def configure_logging(
    level: int | str | None = None, fmt: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send ``tradedata.*`` records to ``stream`` (stderr) as text or JSON; returns the handler.

    ``level`` defaults to ``TRADEDATA_LOG_LEVEL`` or ``WARNING``; ``fmt`` (``"text"`` or
    ``"json"``) to ``TRADEDATA_LOG_FORMAT`` or text. Calling it again replaces the handler.
    """
    fmt = (fmt or os.environ.get("TRADEDATA_LOG_FORMAT") or "text").strip().lower()
    level = level if level is not None else os.environ.get("TRADEDATA_LOG_LEVEL", "WARNING")
    if isinstance(level, str):
        level = logging.getLevelName(level.strip().upper())
        if not isinstance(level, int):
            level = logging.WARNING
    logger = logging.getLogger("tradedata")
    for old in [h for h in logger.handlers if getattr(h, _HANDLER_FLAG, False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_FLAG, True)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    route_yfinance()
    return handler


def configure_from_env() -> None:
    """Configure logging once if ``TRADEDATA_LOG_FORMAT`` asks for it and nothing did yet."""
    if not os.environ.get("TRADEDATA_LOG_FORMAT"):
        return
    logger = logging.getLogger("tradedata")
    if not any(getattr(h, _HANDLER_FLAG, False) for h in logger.handlers):
        configure_logging()


class _Relay(logging.Handler):
    """Re-emits yfinance's records under ``tradedata.yfinance`` at DEBUG level."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger("tradedata.yfinance")
        if target.isEnabledFor(logging.DEBUG):
            target.debug("%s (yfinance %s)", record.getMessage(), record.levelname.lower())


def route_yfinance() -> None:
    """Send the ``yfinance`` logger's records through ``tradedata.yfinance``, not stderr."""
    yf_logger = logging.getLogger("yfinance")
    if not any(isinstance(h, _Relay) for h in yf_logger.handlers):
        yf_logger.addHandler(_Relay())
    yf_logger.propagate = False
