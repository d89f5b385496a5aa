"""Company fundamentals: one :class:`Fundamentals` record merged from several providers.

``DataManager.get_fundamentals(symbol)`` delegates to :func:`get_fundamentals`: FMP first, then
Yahoo, then Alpha Vantage, each field taken from the first provider that has it, every
provider's answer cached with per-group lifetimes (prices 1 day, financials 7 days, profile
30 days). See :mod:`tradedata.fundamentals.service`.
"""

from __future__ import annotations

from tradedata.fundamentals.model import (
    FIELD_GROUPS,
    GROUP_OF,
    VALUE_FIELDS,
    Fundamentals,
    ProviderInfo,
)
from tradedata.fundamentals.service import (
    DEFAULT_SOURCES,
    DEFAULT_TTL,
    STRATEGIES,
    TTLPolicy,
    get_fundamentals,
)
from tradedata.fundamentals.sources import PARSERS

__all__ = [
    "DEFAULT_SOURCES",
    "DEFAULT_TTL",
    "FIELD_GROUPS",
    "GROUP_OF",
    "PARSERS",
    "STRATEGIES",
    "VALUE_FIELDS",
    "Fundamentals",
    "ProviderInfo",
    "TTLPolicy",
    "get_fundamentals",
]
