"""The :class:`Fundamentals` record and its field groups."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, TypedDict

__all__ = [
    "FIELD_GROUPS",
    "GROUP_OF",
    "VALUE_FIELDS",
    "Fundamentals",
    "ProviderInfo",
    "clean_number",
]


class ProviderInfo(TypedDict, total=False):
    """Where a :class:`Fundamentals` record came from.

    ``primary_source``: the first provider (in priority order) that contributed a field;
    ``combined_from``: every provider that contributed; ``last_updated``: ISO 8601 UTC time of
    the newest data used; ``field_sources``: field name -> provider; ``strategy``: the merge
    strategy; ``notes``: providers skipped and why; ``errors``: provider -> error message;
    ``from_cache``: providers whose data came from the cache.
    """

    primary_source: str | None
    combined_from: list[str]
    last_updated: str | None
    field_sources: dict[str, str]
    strategy: str
    notes: list[str]
    errors: dict[str, str]
    from_cache: list[str]


#: Field groups and what drives them: prices move daily, financials with each report,
#: the company profile rarely. Each group has its own time-to-live in the cache.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "market": (
        "price", "market_cap", "pe_ratio", "forward_pe", "dividend_yield",
        "fifty_two_week_high", "fifty_two_week_low", "price_to_book",
    ),
    "financials": (
        "eps", "beta", "revenue", "revenue_growth", "profit_margin", "debt_to_equity",
        "shares_outstanding",
    ),
    "profile": (
        "company_name", "sector", "industry", "currency", "exchange", "country", "website",
        "description", "employees",
    ),
}  # fmt: skip
GROUP_OF: dict[str, str] = {name: group for group, names in FIELD_GROUPS.items() for name in names}
VALUE_FIELDS: tuple[str, ...] = tuple(GROUP_OF)


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6)):
        if abs(value) >= size:
            return f"{value / size:.2f}{unit}"
    return f"{value:,.2f}"


def _num(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.2f}%" if pct else f"{value:.2f}"


@dataclass
class Fundamentals:
    """Company fundamentals merged from one or more providers.

    Ratios are plain fractions (``dividend_yield=0.0056`` is 0.56 %; ``debt_to_equity=1.52``),
    money in ``currency``, ``country`` an ISO 3166 alpha-2 code when recognised. A field no
    provider knew is None; :attr:`provider_info` says which provider gave each field.
    """

    symbol: str
    company_name: str | None = None
    sector: str | None = None
    industry: str | None = None
    currency: str | None = None
    market_cap: float | None = None
    pe_ratio: float | None = None
    forward_pe: float | None = None
    eps: float | None = None
    dividend_yield: float | None = None
    beta: float | None = None
    revenue: float | None = None
    revenue_growth: float | None = None
    profit_margin: float | None = None
    debt_to_equity: float | None = None
    shares_outstanding: float | None = None
    exchange: str | None = None
    country: str | None = None
    price: float | None = None
    fifty_two_week_high: float | None = None
    fifty_two_week_low: float | None = None
    price_to_book: float | None = None
    employees: int | None = None
    website: str | None = None
    description: str | None = None
    provider_info: ProviderInfo = field(default_factory=lambda: ProviderInfo())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, ``provider_info`` included."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "provider_info"}
        out["provider_info"] = {
            k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in self.provider_info.items()
        }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fundamentals:
        """Rebuild from :meth:`to_dict` output (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "symbol" not in values:
            raise ValueError("fundamentals data needs a 'symbol'")
        values["provider_info"] = ProviderInfo(**dict(values.get("provider_info") or {}))
        return cls(**values)

    def missing(self) -> list[str]:
        """Value fields no provider supplied."""
        return [name for name in VALUE_FIELDS if getattr(self, name) is None]

    def __str__(self) -> str:
        info = self.provider_info
        where = ", ".join(x for x in (self.exchange, self.country, self.currency) if x)
        kind = " / ".join(x for x in (self.sector, self.industry) if x)
        growth = f" ({self.revenue_growth:+.1%})" if self.revenue_growth is not None else ""
        sources = info.get("combined_from") or []
        lines = [
            f"{self.symbol} - {self.company_name or '?'}"
            + (f" ({kind})" if kind else "")
            + (f", {where}" if where else ""),
            f"  price {_num(self.price)}  market cap {_money(self.market_cap)}  "
            f"P/E {_num(self.pe_ratio)}  fwd P/E {_num(self.forward_pe)}  EPS {_num(self.eps)}",
            f"  dividend yield {_num(self.dividend_yield, pct=True)}  beta {_num(self.beta)}  "
            f"revenue {_money(self.revenue)}{growth}  margin {_num(self.profit_margin, pct=True)}"
            f"  D/E {_num(self.debt_to_equity)}",
            f"  shares {_money(self.shares_outstanding)}  52w "
            f"{_num(self.fifty_two_week_low)} - {_num(self.fifty_two_week_high)}",
            f"  source: {', '.join(sources) or 'none'}"
            + (f", updated {info.get('last_updated')}" if info.get("last_updated") else ""),
        ]
        return "\n".join(lines)


def clean_number(value: Any) -> float | None:
    """A finite float from a provider value (``"None"``, ``"-"``, ``""``, NaN -> None)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if text in ("", "-", "None", "none", "N/A", "NaN", "null"):
            return None
        value = text
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
