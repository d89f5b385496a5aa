"""Company facts the fake providers answer fundamentals from (one truth, three shapes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tradedata.symbols import symbol_info

__all__ = ["Company", "company"]

_COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "JP": "Japan", "DE": "Germany"}
_KNOWN = {
    "AAPL": ("Apple Inc.", "Technology", "Consumer Electronics", "NASDAQ", 3.4e12, 15.3e9),
    "MSFT": (
        "Microsoft Corporation", "Technology", "Software - Infrastructure", "NASDAQ", 3.1e12,
        7.43e9,
    ),
    "IBM": (
        "International Business Machines Corporation", "Technology",
        "Information Technology Services", "NYSE", 1.7e11, 9.2e8,
    ),
    "VOD.L": (
        "Vodafone Group Public Limited Company", "Communication Services", "Telecom Services",
        "LSE", 1.9e10, 2.7e10,
    ),
    "7203.T": (
        "Toyota Motor Corporation", "Consumer Cyclical", "Auto Manufacturers", "JPX", 4.3e13,
        1.3e10,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Company:
    """What every fake provider knows about one company (units: plain ratios, not %)."""

    symbol: str
    name: str
    sector: str
    industry: str
    exchange: str
    country: str  # ISO 3166 alpha-2
    currency: str
    price: float
    market_cap: float
    shares: float
    pe: float
    forward_pe: float
    eps: float
    dividend_yield: float
    dividend_rate: float
    beta: float
    revenue: float
    revenue_growth: float
    profit_margin: float
    debt_to_equity: float
    high52: float
    low52: float
    employees: int
    price_to_book: float

    @property
    def country_name(self) -> str:
        """The country as Yahoo spells it."""
        return _COUNTRY_NAMES.get(self.country, self.country)

    @property
    def website(self) -> str:
        """A website."""
        return f"https://www.{self.symbol.split('.')[0].lower()}.example"

    @property
    def description(self) -> str:
        """A one-line business summary."""
        return f"{self.name} operates in {self.industry.lower()}."


def _unit(symbol: str, salt: str) -> float:
    digest = hashlib.blake2b(f"{symbol}|{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0**64


def company(symbol: str) -> Company:
    """The facts for ``symbol`` (known companies from a table, others generated)."""
    info = symbol_info(symbol)
    generated = (
        f"{info.base} Holdings", "Industrials", "Conglomerates", "NYSE",
        1e9 + _unit(symbol, "cap") * 1e11, 1e8 + _unit(symbol, "sh") * 1e9,
    )  # fmt: skip
    name, sector, industry, exchange, cap, shares = _KNOWN.get(info.symbol, generated)
    price = round(cap / shares, 2)
    eps = round(price / (12 + 20 * _unit(symbol, "pe")), 2)
    div_rate = round(price * 0.01 * _unit(symbol, "div") * 3, 2)
    return Company(
        symbol=info.symbol,
        name=name,
        sector=sector,
        industry=industry,
        exchange=exchange,
        country=info.country or "US",
        currency=info.currency or "USD",
        price=price,
        market_cap=round(price * shares, 0),
        shares=shares,
        pe=round(price / eps, 2),
        forward_pe=round(price / (eps * 1.1), 2),
        eps=eps,
        dividend_yield=round(div_rate / price, 6),
        dividend_rate=div_rate,
        beta=round(0.6 + _unit(symbol, "beta"), 2),
        revenue=round(cap * (0.1 + 0.2 * _unit(symbol, "rev")), 0),
        revenue_growth=round(-0.05 + 0.2 * _unit(symbol, "growth"), 4),
        profit_margin=round(0.05 + 0.25 * _unit(symbol, "margin"), 4),
        debt_to_equity=round(0.2 + 1.5 * _unit(symbol, "de"), 4),
        high52=round(price * 1.2, 2),
        low52=round(price * 0.75, 2),
        employees=int(1000 + 100_000 * _unit(symbol, "emp")),
        price_to_book=round(1 + 30 * _unit(symbol, "pb"), 2),
    )
