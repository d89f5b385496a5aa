"""Paper trading on live bars: backtrader's own broker simulation with the exchange's fees.

:class:`PaperBroker` is a :class:`backtrader.brokers.BackBroker` (market orders fill at the next
bar's open, limit and stop orders as BackBroker fills them) whose commission for each data comes
from the exchange: the fee given by the caller, else the ccxt market's ``taker`` fee, else the
exchange's default trading fee in ccxt's description of it. Commission is a share of the traded
value (``size * price * fee``) and positions may be fractional, as crypto trades are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import backtrader as bt

__all__ = ["CryptoCommissionInfo", "PaperBroker", "default_exchange_fee"]

log = logging.getLogger("tradedata.live")


class CryptoCommissionInfo(bt.CommInfoBase):
    """A percentage fee on traded value (``commission=0.001`` is 0.1 %), fractional sizes."""

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_PERC),
        ("percabs", True),
    )

    def getsize(self, price: float, cash: float) -> float:
        """The (fractional) size ``cash`` buys at ``price``."""
        if price <= 0:
            return 0.0
        return float(self.p.leverage * (cash / price))


def default_exchange_fee(exchange: str, side: str = "taker") -> float | None:
    """The exchange's default spot trading fee from ccxt's description of it (no network)."""
    import ccxt

    cls = getattr(ccxt, exchange, None)
    if cls is None:
        return None
    try:
        trading = (cls().fees or {}).get("trading") or {}
    except Exception:  # ccxt's constructor for an odd exchange: no fee known
        return None
    value = trading.get(side)
    return float(value) if isinstance(value, (int, float)) else None


class PaperBroker(bt.brokers.BackBroker):
    """A BackBroker charging each data the exchange's fee for its symbol.

    Params (besides BackBroker's ``cash``, ``slip_perc``, ``coc`` ...):

      - ``fees``: ``{symbol: fee}`` overriding the exchange's fees for some symbols
      - ``fee``: one fee for every symbol (overrides the exchange's)
      - ``fee_side``: ``"taker"`` (default: market orders take liquidity) or ``"maker"``

    Commission schemes set the backtrader way still win: ``setcommission(name=data._name)``
    for one data, ``setcommission(...)`` without a name for all.
    """

    params = (
        ("fees", None),
        ("fee", None),
        ("fee_side", "taker"),
    )

    def __init__(self) -> None:
        super().__init__()
        self._fee_lookup: Callable[[str, str], float] | None = None
        self._auto: dict[int, tuple[Any, bt.CommInfoBase]] = {}  # id -> (data, scheme)
        self._builtin_default = self.comminfo.get(None)

    def set_fee_lookup(self, lookup: Callable[[str, str], float]) -> None:
        """Use ``lookup(symbol, side)`` for symbols without an explicit fee (the store's)."""
        self._fee_lookup = lookup

    def fee_for(self, symbol: str) -> float:
        """The fee this broker charges on ``symbol``."""
        if self.p.fee is not None:
            return float(self.p.fee)
        fees: Mapping[str, Any] = self.p.fees or {}
        if symbol in fees:
            return float(fees[symbol])
        if self._fee_lookup is not None:
            return float(self._fee_lookup(symbol, self.p.fee_side))
        return 0.0

    def getcommissioninfo(self, data: Any) -> bt.CommInfoBase:
        """The commission scheme of ``data``: a named one if set, else the symbol's fee."""
        name = getattr(data, "_name", None)
        if name is not None and name in self.comminfo:
            return self.comminfo[name]
        default = self.comminfo.get(None)
        if default is not None and default is not self._builtin_default:
            return default  # the user's setcommission() for every data
        known = self._auto.get(id(data))
        if known is not None:
            return known[1]
        symbol = getattr(data, "symbol", None) or name or ""
        scheme = CryptoCommissionInfo(commission=self.fee_for(symbol))
        self._auto[id(data)] = (data, scheme)  # holding the data keeps its id unique
        return scheme
