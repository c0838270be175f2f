"""Who trades and how: order sizes, leverage, holding times, and Binance liquidation prices in bulk.

Everything here is vectorised over numpy arrays, because a simulated day opens hundreds of
thousands of positions. The liquidation price is Binance's rule from `liquidationheatmap.margin`,
applied to arrays with the same arithmetic in the same order, so each value is bit-identical to
`margin.liquidation_price` (a test checks this on random positions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from liquidationheatmap.margin import MarginTable


@dataclass(frozen=True)
class TraderParams:
    """The population's habits. Every number is documented in docs/simulator.md."""

    # Taker order notional (USDT): Pareto tail P(N > x) = (x / size_min) ** -size_alpha, cut at size_max.
    size_min: float = 150.0
    size_alpha: float = 1.4
    size_max: float = 2_000_000.0
    # Taker leverage: Lomax (Pareto II) over [lev_min, lev_max], snapped to integers, then capped by
    # the bracket's max leverage at the position's notional.
    lev_min: float = 2.0
    lev_max: float = 125.0
    lev_scale: float = 10.0
    lev_alpha: float = 2.0
    # Market makers take the other side of an opening at low leverage; with probability
    # 1 - maker_share the other side is another taker instead (its own leverage and holding time).
    maker_share: float = 1.0
    mm_leverages: tuple[int, ...] = (1, 2, 3, 4, 5)
    mm_weights: tuple[float, ...] = (0.20, 0.35, 0.25, 0.10, 0.10)
    # Holding time (seconds): lognormal, clipped to [hold_min_s, hold_max_s].
    hold_median_s: float = 5_400.0
    hold_sigma: float = 1.6
    hold_min_s: float = 60.0
    hold_max_s: float = 14 * 86_400.0


def truncated_median(params: TraderParams) -> float:
    """Median of the taker leverage law truncated to [lev_min, lev_max] (before snapping and caps)."""
    half = 0.5 * float(lomax_cdf(params.lev_max, params))
    return params.lev_min + params.lev_scale * ((1.0 - half) ** (-1.0 / params.lev_alpha) - 1.0)


def max_leverage_median(params: TraderParams) -> float:
    """The largest median the law can have: as its scale grows it tends to uniform on the range."""
    return (params.lev_min + params.lev_max) / 2


def lomax_scale_for_median(median: float, params: TraderParams) -> float:
    """The Lomax scale that puts the median of the truncated taker leverage law at ``median``
    (bisection on the scale: the median grows with it, from lev_min toward the range's middle)."""
    if not params.lev_min < median < max_leverage_median(params):
        raise ValueError(
            f"taker leverage median must be above {params.lev_min:g} and below "
            f"{max_leverage_median(params):g}; got {median:g}"
        )
    low, high = 1e-9, 1e9
    for _ in range(200):
        middle = math.sqrt(low * high)
        if truncated_median(replace(params, lev_scale=middle)) < median:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


def order_notionals(rng: np.random.Generator, n: int, params: TraderParams) -> np.ndarray:
    """Heavy-tailed order sizes in USDT (truncated Pareto by inverse transform)."""
    u = rng.random(n)
    low = params.size_min**-params.size_alpha
    high = params.size_max**-params.size_alpha
    return (low - u * (low - high)) ** (-1.0 / params.size_alpha)


def lomax_cdf(x: np.ndarray | float, params: TraderParams) -> np.ndarray | float:
    """P(L <= x) of the untruncated continuous taker leverage (before snapping and capping)."""
    z = (np.asarray(x, dtype=float) - params.lev_min) / params.lev_scale
    return 1.0 - (1.0 + np.maximum(z, 0.0)) ** -params.lev_alpha


def taker_leverages(rng: np.random.Generator, n: int, params: TraderParams) -> np.ndarray:
    """Integer leverage from the Lomax law truncated to [lev_min, lev_max] (before bracket caps)."""
    top = float(lomax_cdf(params.lev_max, params))
    u = rng.random(n) * top
    x = params.lev_min + params.lev_scale * ((1.0 - u) ** (-1.0 / params.lev_alpha) - 1.0)
    return np.clip(np.rint(x), params.lev_min, params.lev_max).astype(np.int64)


def mm_leverages(rng: np.random.Generator, n: int, params: TraderParams) -> np.ndarray:
    weights = np.asarray(params.mm_weights) / np.sum(params.mm_weights)
    return rng.choice(np.asarray(params.mm_leverages, dtype=np.int64), size=n, p=weights)


def holding_seconds(rng: np.random.Generator, n: int, params: TraderParams) -> np.ndarray:
    h = params.hold_median_s * np.exp(params.hold_sigma * rng.standard_normal(n))
    return np.clip(h, params.hold_min_s, params.hold_max_s)


def max_leverage_at(table: MarginTable, notional: np.ndarray) -> np.ndarray:
    """The bracket's max leverage for each notional (`MarginTable.max_leverage_for_notional`)."""
    floors = np.array([b.notional_floor for b in table.brackets])
    caps = np.array([b.max_leverage for b in table.brackets], dtype=np.int64)
    idx = np.clip(np.searchsorted(floors, notional, side="right") - 1, 0, len(floors) - 1)
    return caps[idx]


def liquidation_prices(
    sides: np.ndarray, entry: np.ndarray, qty: np.ndarray, wallet: np.ndarray, table: MarginTable
) -> np.ndarray:
    """Binance's liquidation price for each position; NaN where it cannot be liquidated.

    Same as `margin.liquidation_price` element by element: the first bracket (in order) whose
    formula gives a positive price whose notional lies in the bracket (the last bracket is open
    above).
    """
    s = np.asarray(sides, dtype=np.int64)
    result = np.full(len(s), np.nan)
    found = np.zeros(len(s), dtype=bool)
    last = len(table.brackets) - 1
    for i, b in enumerate(table.brackets):
        with np.errstate(divide="ignore", invalid="ignore"):
            price = (wallet + b.maint_amount - s * qty * entry) / (qty * (b.maint_margin_ratio - s))
        notional = qty * price
        ok = ~found & (price > 0) & (b.notional_floor <= notional)
        if i != last:
            ok &= notional < b.notional_cap
        result[ok] = price[ok]
        found |= ok
    return result


def bankruptcy_prices(
    sides: np.ndarray, entry: np.ndarray, qty: np.ndarray, wallet: np.ndarray
) -> np.ndarray:
    """Price at which the isolated margin is exhausted (the limit price of a liquidation order)."""
    return entry - sides * wallet / qty
