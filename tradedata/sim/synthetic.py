"""Deterministic synthetic 1m candles, computable for any minute without walking from an origin.

The mid price at minute boundary ``i`` is ``base * exp(S(i) + n(i))``: ``S`` is a sum of
sinusoids whose periods span 20 minutes to four years (amplitudes growing with the square root of
the period, like a random walk), seeded by (seed, symbol) so that one symbol moves alike on every
exchange; ``n`` is per-(seed, exchange, symbol) noise from a counter-based hash of ``i``. Bar ``i``
opens at mid ``i`` and closes at mid ``i + 1``. Prices are integer ticks of ``10**-decimals`` and
volumes integer multiples of ``2**-8``, converted to float only at the end, so that values print
and parse back exactly and sums are exact.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from tradedata.sim.bars import Bars

_KNOWN_PRICES = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0, "BNB": 550.0, "XRP": 0.55}
_COMPONENTS = 14
_MIN_PERIOD = 20.0  # minutes
_MAX_PERIOD = 4 * 365.25 * 1440.0
_DAILY_VOL = 0.022
_MINUTE_NOISE = 0.0006
# (grid step, shortest period, longest period) in minutes: components are sampled at least
# ~20 times per period
_GRIDS = ((1, 0.0, 100.0), (5, 100.0, 1440.0), (60, 1440.0, math.inf))
_QUOTE_PER_MINUTE = 300_000.0
_VOLUME_UNIT = 256.0  # volumes are integer multiples of 1/256

_U64 = np.uint64


def stable_key(*parts: object) -> int:
    """A 64-bit integer derived from ``parts``, identical across processes and runs."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def hash_uniform(key: int, index: np.ndarray, stream: int) -> np.ndarray:
    """Uniform floats in (0, 1) from (key, stream, index): a pure function of its arguments."""
    salt = _U64(stable_key(key, stream) & 0xFFFFFFFFFFFFFFFF)
    z = index.astype("int64").view("uint64") * _U64(0x9E3779B97F4A7C15) + salt
    bits = _mix(_mix(z)) >> _U64(11)
    return (bits.astype("float64") + 0.5) * 2.0**-53


def _bell(key: int, index: np.ndarray, stream: int) -> np.ndarray:
    """Bell-shaped noise with unit variance (logistic: cheaper than Gaussian, similar shape)."""
    u = hash_uniform(key, index, stream)
    return np.log(u / (1.0 - u)) * (math.sqrt(3.0) / math.pi)


class SyntheticSeries:
    """The 1m candle generator for one (exchange, symbol) under one seed."""

    def __init__(self, seed: int, exchange: str, symbol: str, zero_trade_rate: float = 0.0) -> None:
        base_asset = symbol.split("/")[0].upper()
        sym_rng = np.random.default_rng(stable_key(seed, "symbol", symbol))
        known = _KNOWN_PRICES.get(base_asset)
        self.base_price: float = known if known else float(10 ** sym_rng.uniform(-1.0, 3.5))
        self.decimals: int = int(min(8, max(2, 6 - math.floor(math.log10(self.base_price)))))
        self._scale = 10**self.decimals
        periods = np.exp(np.linspace(math.log(_MIN_PERIOD), math.log(_MAX_PERIOD), _COMPONENTS))
        omega = 2.0 * math.pi / (periods * sym_rng.uniform(0.8, 1.25, _COMPONENTS))
        phase = sym_rng.uniform(0.0, 2.0 * math.pi, _COMPONENTS)
        amp = 0.5 * _DAILY_VOL * np.sqrt(periods / 1440.0)
        amp[-1] = min(amp[-1], 0.6)
        # slow components are evaluated on a coarse grid of minutes and interpolated linearly:
        # the same values for any requested range, at a fraction of the cost
        self._tiers = []
        for step, lo, hi in _GRIDS:
            sel = (periods >= lo) & (periods < hi)
            self._tiers.append((step, (omega[sel] * step, phase[sel], amp[sel])))
        self._key = stable_key(seed, "noise", exchange, symbol)
        self.zero_trade_rate = float(zero_trade_rate)
        self._volume_units = _QUOTE_PER_MINUTE / self.base_price * _VOLUME_UNIT

    @staticmethod
    def _waves(t: np.ndarray, waves: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        omega, phase, amp = waves
        return np.sin(np.multiply.outer(t, omega) + phase) @ amp

    def _gridded(self, boundary: np.ndarray, step: int, waves: tuple) -> np.ndarray:
        """Sum of ``waves`` at ``boundary`` minutes, interpolated from a ``step``-minute grid."""
        if step == 1:
            return self._waves(boundary.astype("float64"), waves)
        nodes = np.arange(boundary[0] // step, boundary[-1] // step + 2, dtype="int64")
        values = self._waves(nodes.astype("float64"), waves)
        i = boundary // step - nodes[0]
        frac = (boundary % step) / step
        return values[i] + (values[i + 1] - values[i]) * frac

    def _mid_ticks(self, boundary: np.ndarray) -> np.ndarray:
        """Integer tick prices at minute boundaries (minutes since the epoch)."""
        log_move = _MINUTE_NOISE * _bell(self._key, boundary, 1)
        for step, waves in self._tiers:
            log_move += self._gridded(boundary, step, waves)
        ticks = np.rint(self.base_price * np.exp(log_move) * self._scale)
        return np.maximum(ticks, 1.0)

    def _quiet(self, minutes: np.ndarray) -> np.ndarray:
        """Which minutes had no trade at all."""
        return hash_uniform(self._key, minutes, 9) < self.zero_trade_rate

    def _flat_prices(self, first_minute: int, quiet: np.ndarray, mids: np.ndarray) -> np.ndarray:
        """The price of each quiet minute: the close of the last minute that traded before it
        (the mid at the start of its quiet run), looking back past ``first_minute`` if needed."""
        pos = np.arange(len(quiet))
        starts = np.where(quiet & ~np.r_[False, quiet[:-1]], pos, -1)
        run_start = np.maximum.accumulate(starts)
        lead = mids[0]
        if quiet[0]:  # the run began before this range: find where
            m = first_minute
            back = np.arange(first_minute - 1, max(0, first_minute - 4096) - 1, -1)
            traded = np.flatnonzero(~self._quiet(back))
            m = int(back[traded[0]]) + 1 if len(traded) else int(back[-1]) if len(back) else m
            lead = self._mid_ticks(np.array([m], dtype="int64"))[0]
        return np.where(run_start >= 0, mids[np.maximum(run_start, 0)], lead)

    def minutes(self, first_minute: int, count: int) -> Bars:
        """Bars for minutes ``first_minute .. first_minute + count - 1`` (minutes since epoch)."""
        if count <= 0:
            return Bars.empty()
        idx = np.arange(first_minute, first_minute + count, dtype="int64")
        mids = self._mid_ticks(np.arange(first_minute, first_minute + count + 1, dtype="int64"))
        o, c = mids[:-1], mids[1:]
        top, bottom = np.maximum(o, c), np.minimum(o, c)
        wick = 0.5 * _MINUTE_NOISE * top
        h = top + np.ceil(-np.log(hash_uniform(self._key, idx, 3)) * wick)
        lo = np.maximum(1.0, bottom - np.ceil(-np.log(hash_uniform(self._key, idx, 4)) * wick))
        move = np.abs(c - o) / (top * _MINUTE_NOISE)
        season = 1.0 + 0.3 * np.sin(2.0 * math.pi * (idx % 1440) / 1440.0)
        size = np.exp(0.5 * _bell(self._key, idx, 5)) * season * (1.0 + 0.5 * move)
        vol_units = np.maximum(1.0, np.rint(self._volume_units * size))
        taker_units = np.floor(vol_units * (0.35 + 0.3 * hash_uniform(self._key, idx, 7)))
        typical = (o + h + lo + c) / (4.0 * self._scale)
        quote_units = np.rint(vol_units * typical)
        taker_quote_units = np.rint(quote_units * taker_units / vol_units)
        trades = np.maximum(1.0, np.rint(quote_units / _VOLUME_UNIT / 400.0 * season))
        if self.zero_trade_rate > 0:
            # A minute in which nothing traded is still a closed candle: flat at the last
            # price (the previous close), volume, turnover and trade count 0 (Binance spot,
            # recorded: [1702609080000,"251.90000000","251.90000000","251.90000000",
            # "251.90000000","0.00000000",1702609139999,"0.00000000",0,...] in
            # binance/binance-connector-python examples/websocket/spot/websocket_api/market/
            # klines.py; "in no case would the open and close price [differ]" for a 0 volume
            # candle: freqtrade/freqtrade issue #7597). Bybit lists such minutes too, with
            # volume and turnover "0" (no Bybit recording of one was found: same flat shape).
            # The next traded minute opens at its own first trade.
            quiet = self._quiet(idx)
            flat = self._flat_prices(first_minute, quiet, mids)
            o, h = np.where(quiet, flat, o), np.where(quiet, flat, h)
            lo, c = np.where(quiet, flat, lo), np.where(quiet, flat, c)
            vol_units, taker_units = (
                np.where(quiet, 0.0, vol_units),
                np.where(quiet, 0.0, taker_units),
            )
            quote_units = np.where(quiet, 0.0, quote_units)
            taker_quote_units = np.where(quiet, 0.0, taker_quote_units)
            trades = np.where(quiet, 0.0, trades)
        return Bars(
            open_time=idx * 60_000,
            open=o / self._scale,
            high=h / self._scale,
            low=lo / self._scale,
            close=c / self._scale,
            volume=vol_units / _VOLUME_UNIT,
            quote_volume=quote_units / _VOLUME_UNIT,
            trades=trades.astype("int64"),
            taker_base=taker_units / _VOLUME_UNIT,
            taker_quote=taker_quote_units / _VOLUME_UNIT,
        )
