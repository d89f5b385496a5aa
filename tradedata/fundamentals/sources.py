"""Provider answers -> :class:`~tradedata.fundamentals.model.Fundamentals` fields.

Each provider's ``fetch_fundamentals(symbol)`` returns its raw record (FMP: profile, TTM ratios
and key metrics; Yahoo: yfinance's ``Ticker.info``; Alpha Vantage: ``OVERVIEW``); the parsers
here map it onto our field names and units. Fields a provider does not have are left out, so
the merge can take them from the next provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tradedata.fundamentals.model import clean_number

__all__ = ["PARSERS", "normalize_country", "parse_alpha_vantage", "parse_fmp", "parse_yahoo"]

_COUNTRIES = {
    "UNITED STATES": "US", "USA": "US", "US": "US", "UNITED KINGDOM": "GB", "UK": "GB",
    "GB": "GB", "JAPAN": "JP", "GERMANY": "DE", "FRANCE": "FR", "NETHERLANDS": "NL",
    "SWITZERLAND": "CH", "CANADA": "CA", "CHINA": "CN", "HONG KONG": "HK", "AUSTRALIA": "AU",
    "IRELAND": "IE", "SOUTH KOREA": "KR", "TAIWAN": "TW", "INDIA": "IN", "BRAZIL": "BR",
}  # fmt: skip


def normalize_country(value: Any) -> str | None:
    """An ISO 3166 alpha-2 code for common spellings (``United States``, ``USA`` -> ``US``)."""
    text = _text(value)
    if text is None:
        return None
    return _COUNTRIES.get(text.upper(), text)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "None", "-", "N/A") else text


def _label(value: Any) -> str | None:
    """Sector/industry names in title case (Alpha Vantage sends them upper case)."""
    text = _text(value)
    return text.title() if text and text.isupper() and len(text) > 3 else text


def _int(value: Any) -> int | None:
    number = clean_number(value)
    return None if number is None else int(number)


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _first(*values: Any) -> float | None:
    for value in values:
        number = clean_number(value)
        if number is not None:
            return number
    return None


def _range(text: Any) -> tuple[float | None, float | None]:
    """FMP's ``"164.08-237.23"`` 52-week range."""
    parts = str(text or "").split("-")
    if len(parts) != 2:
        return None, None
    return clean_number(parts[0]), clean_number(parts[1])


def parse_fmp(raw: Mapping[str, Any]) -> dict[str, Any]:
    """FMP ``{"profile", "ratios", "metrics"}`` -> fields."""
    p, r, m = raw.get("profile") or {}, raw.get("ratios") or {}, raw.get("metrics") or {}
    low, high = _range(p.get("range"))
    return _compact(
        {
            "company_name": _text(p.get("companyName")),
            "sector": _label(p.get("sector")),
            "industry": _label(p.get("industry")),
            "currency": _text(p.get("currency")),
            "exchange": _text(p.get("exchangeShortName") or p.get("exchange")),
            "country": normalize_country(p.get("country")),
            "website": _text(p.get("website")),
            "description": _text(p.get("description")),
            "employees": _int(p.get("fullTimeEmployees")),
            "price": clean_number(p.get("price")),
            "market_cap": _first(p.get("mktCap"), m.get("marketCapTTM")),
            "beta": clean_number(p.get("beta")),
            "fifty_two_week_low": low,
            "fifty_two_week_high": high,
            "pe_ratio": _first(r.get("peRatioTTM"), m.get("peRatioTTM")),
            "dividend_yield": _first(
                r.get("dividendYielTTM"), r.get("dividendYieldTTM"), m.get("dividendYieldTTM")
            ),
            "profit_margin": clean_number(r.get("netProfitMarginTTM")),
            "debt_to_equity": _first(r.get("debtEquityRatioTTM"), m.get("debtToEquityTTM")),
            "eps": clean_number(m.get("netIncomePerShareTTM")),
            "price_to_book": _first(r.get("priceToBookRatioTTM"), m.get("pbRatioTTM")),
        }
    )


def parse_yahoo(info: Mapping[str, Any]) -> dict[str, Any]:
    """yfinance ``Ticker.info`` -> fields.

    Yahoo's ``debtToEquity`` is a percentage (divided by 100 here) and its ``dividendYield``
    changed units in 2025, so the yield is computed from ``dividendRate`` and the price (or
    taken from ``trailingAnnualDividendYield``, a fraction).
    """
    price = _first(info.get("currentPrice"), info.get("regularMarketPrice"))
    rate = clean_number(info.get("dividendRate"))
    dividend_yield = (
        rate / price
        if rate is not None and price
        else clean_number(info.get("trailingAnnualDividendYield"))
    )
    debt = clean_number(info.get("debtToEquity"))
    return _compact(
        {
            "company_name": _text(info.get("longName") or info.get("shortName")),
            "sector": _label(info.get("sector")),
            "industry": _label(info.get("industry")),
            "currency": _text(info.get("currency") or info.get("financialCurrency")),
            "exchange": _text(info.get("exchange")),
            "country": normalize_country(info.get("country")),
            "website": _text(info.get("website")),
            "description": _text(info.get("longBusinessSummary")),
            "employees": _int(info.get("fullTimeEmployees")),
            "price": price,
            "market_cap": clean_number(info.get("marketCap")),
            "pe_ratio": clean_number(info.get("trailingPE")),
            "forward_pe": clean_number(info.get("forwardPE")),
            "dividend_yield": dividend_yield,
            "fifty_two_week_high": clean_number(info.get("fiftyTwoWeekHigh")),
            "fifty_two_week_low": clean_number(info.get("fiftyTwoWeekLow")),
            "price_to_book": clean_number(info.get("priceToBook")),
            "eps": clean_number(info.get("trailingEps")),
            "beta": clean_number(info.get("beta")),
            "revenue": clean_number(info.get("totalRevenue")),
            "revenue_growth": clean_number(info.get("revenueGrowth")),
            "profit_margin": clean_number(info.get("profitMargins")),
            "debt_to_equity": None if debt is None else debt / 100.0,
            "shares_outstanding": clean_number(info.get("sharesOutstanding")),
        }
    )


def parse_alpha_vantage(overview: Mapping[str, Any]) -> dict[str, Any]:
    """Alpha Vantage ``OVERVIEW`` (all strings, ``"None"`` for missing) -> fields."""
    o = overview
    return _compact(
        {
            "company_name": _text(o.get("Name")),
            "sector": _label(o.get("Sector")),
            "industry": _label(o.get("Industry")),
            "currency": _text(o.get("Currency")),
            "exchange": _text(o.get("Exchange")),
            "country": normalize_country(o.get("Country")),
            "website": _text(o.get("OfficialSite")),
            "description": _text(o.get("Description")),
            "market_cap": clean_number(o.get("MarketCapitalization")),
            "pe_ratio": _first(o.get("PERatio"), o.get("TrailingPE")),
            "forward_pe": clean_number(o.get("ForwardPE")),
            "dividend_yield": clean_number(o.get("DividendYield")),
            "fifty_two_week_high": clean_number(o.get("52WeekHigh")),
            "fifty_two_week_low": clean_number(o.get("52WeekLow")),
            "price_to_book": clean_number(o.get("PriceToBookRatio")),
            "eps": clean_number(o.get("EPS")),
            "beta": clean_number(o.get("Beta")),
            "revenue": clean_number(o.get("RevenueTTM")),
            "revenue_growth": clean_number(o.get("QuarterlyRevenueGrowthYOY")),
            "profit_margin": clean_number(o.get("ProfitMargin")),
            "shares_outstanding": clean_number(o.get("SharesOutstanding")),
        }
    )


#: provider name -> parser of its raw fundamentals record
PARSERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "fmp": parse_fmp,
    "yahoo": parse_yahoo,
    "alpha_vantage": parse_alpha_vantage,
}
