"""Overall deadlines: how long one ``get_ohlcv`` or ``download`` may take, end to end.

A :class:`Deadline` is a point on the monotonic clock. :func:`deadline_scope` makes one current
for the code it wraps (a context variable, so each thread enters it itself: ``download`` hands
the same :class:`Deadline` to every worker). The network layer reads it:

* every HTTP request's total time is capped at what is left (``tradedata.adapters.transport``),
* every provider call checks it before each attempt and before each retry wait
  (``tradedata.adapters.resilience``),

and raises :class:`~tradedata.errors.DeadlineExceededError` once it has passed; the fetch engine
adds the range it could not fetch (``unfetched``) before the error reaches the caller.

The seconds come from the ``deadline=`` argument, else the ``TRADEDATA_DEADLINE`` environment
variable, else the config's top-level ``deadline:`` key (see :func:`resolve_seconds`); none of
them means no overall deadline (each request still has its provider's ``timeout``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tradedata.errors import ConfigurationError, DeadlineExceededError, InputError

__all__ = [
    "ENV_VAR",
    "Deadline",
    "check_deadline",
    "current_deadline",
    "deadline_scope",
    "parse_seconds",
    "remaining",
    "resolve_seconds",
]

#: environment variable holding the default overall deadline in seconds
ENV_VAR = "TRADEDATA_DEADLINE"
_CURRENT: ContextVar[Deadline | None] = ContextVar("tradedata_deadline", default=None)


class Deadline:
    """``seconds`` from now on the monotonic clock."""

    __slots__ = ("expires", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.expires = time.monotonic() + self.seconds

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:g}s, {self.remaining():.3f}s left)"

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.expires - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0

    def error(self, what: str) -> DeadlineExceededError:
        """The error for ``what`` having been stopped by this deadline."""
        return DeadlineExceededError(
            f"{what}: overall deadline of {self.seconds:g}s exceeded", seconds=self.seconds
        )


def parse_seconds(value: Any, source: str = "deadline") -> float | None:
    """``value`` as a positive, finite number of seconds (None/'' means no deadline).

    Raises :class:`~tradedata.errors.InputError` for anything else.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InputError(f"{source} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{source} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"{source} must be a positive, finite number of seconds, got {value!r}")
    return seconds


def resolve_seconds(argument: Any = None, config_value: Any = None) -> float | None:
    """The overall deadline in seconds: the argument, else ``TRADEDATA_DEADLINE``, else config.

    A bad environment or config value is a :class:`~tradedata.errors.ConfigurationError`.
    """
    if argument is not None:
        return parse_seconds(argument, "deadline")
    for value, source in ((os.environ.get(ENV_VAR), ENV_VAR), (config_value, "config deadline")):
        try:
            seconds = parse_seconds(value, source)
        except InputError as exc:
            raise ConfigurationError(str(exc)) from None
        if seconds is not None:
            return seconds
    return None


def current_deadline() -> Deadline | None:
    """The deadline in force for this thread's current call, if any."""
    return _CURRENT.get()


def remaining() -> float | None:
    """Seconds left before the current deadline (None without one)."""
    deadline = _CURRENT.get()
    return None if deadline is None else deadline.remaining()


def check_deadline(what: str) -> None:
    """Raise :class:`~tradedata.errors.DeadlineExceededError` if the current deadline passed."""
    deadline = _CURRENT.get()
    if deadline is not None and deadline.expired():
        raise deadline.error(what)


@contextmanager
def deadline_scope(deadline: Deadline | float | None) -> Iterator[Deadline | None]:
    """Make ``deadline`` (a :class:`Deadline` or seconds from now) current inside the block.

    An enclosing deadline that ends sooner stays in force; None changes nothing.
    """
    if deadline is not None and not isinstance(deadline, Deadline):
        deadline = Deadline(deadline)
    outer = _CURRENT.get()
    if deadline is None or (outer is not None and outer.expires <= deadline.expires):
        yield outer
        return
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        _CURRENT.reset(token)
