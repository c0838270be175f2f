"""Live liquidation levels at the latest bucket (fct_liquidation_levels).

Served smoothed (``smoothed=True``, the default) as the scoring smooths the maps it scores: each
(side, leverage) series spread by python_models.smoothing.smooth_by_distance around the current
price with the build's settings (api.queries.heatmap.map_smoothing); a smoothed row's
liquidation_price is its bin's centre, and the rows that spread past the current price (a long
above it, a short below) are left out, as reached levels are. ``smoothed=False``: the mart's rows.
Served calibrated (``calibrated=True``, the default): live notional times the model's notional
scale in force at the end of the measured bucket (fct_model_calibration); ``calibrated=False``:
the mart's notional.
"""

from __future__ import annotations

import math

import numpy as np

from api.queries.common import known_symbol, model_table, scaled_join
from api.queries.heatmap import BUCKET_MINUTES, map_smoothing
from api.schemas import Level, Levels
from api.warehouse import WarehouseSession
from python_models.smoothing import margin_bins, smooth_by_distance


def liquidation_levels(
    wh: WarehouseSession,
    symbol: str,
    model: str,
    side: str | None,
    min_leverage: int | None,
    max_leverage: int | None,
    smoothed: bool = True,
    calibrated: bool = True,
) -> Levels:
    bin_size = known_symbol(wh, symbol)
    table = model_table(wh, "fct_liquidation_levels", model, "liquidation levels are")
    measured_at, current_price = wh.fetch(
        f"select max(measured_at), arg_max(current_price, measured_at) from {table} "
        "where symbol = ? and model = ?",
        [symbol, model],
    )[0]
    filters, params = ["symbol = ?", "model = ?"], [symbol, model]
    if side is not None:
        filters.append("side = ?")
        params.append(side)
    if min_leverage is not None:
        filters.append("leverage >= ?")
        params.append(min_leverage)
    if max_leverage is not None:
        filters.append("leverage <= ?")
        params.append(max_leverage)
    # Longs are liquidated below the price and shorts above; a level on the wrong side was reached.
    rows = wh.fetch_dicts(
        f"""
        select side, leverage, price_bin, liquidation_price, live_notional
        from {table}
        where {" and ".join(filters)}
            and live_notional > 0
            and ((side = 'long' and liquidation_price < current_price)
                or (side = 'short' and liquidation_price > current_price))
        order by side, price_bin, leverage
        """,
        params,
    )
    if rows and measured_at is not None:
        # The latest state: the scale in force at the end of its bucket.
        join, scale = scaled_join(
            wh, "state", f"state.measured_at + to_minutes({BUCKET_MINUTES})", calibrated
        )
        state = "select ? as symbol, ? as model, ?::timestamp as measured_at"
        found = wh.fetch(f"select {scale} from ({state}) as state {join}", [symbol, model, measured_at])
        factor = found[0][0]
        if factor != 1.0:
            rows = [{**row, "live_notional": row["live_notional"] * factor} for row in rows]
    smoothing = map_smoothing(wh) if smoothed else None
    if smoothing and smoothing["rate"] > 0 and rows and current_price is not None:
        rows = smooth_levels(rows, float(current_price), bin_size, smoothing)
    levels = [Level(**row) for row in rows]
    return Levels(
        symbol=symbol,
        model=model,
        measured_at=measured_at,
        current_price=current_price,
        price_bin_size=bin_size,
        total_long_notional=sum(level.live_notional for level in levels if level.side == "long"),
        total_short_notional=sum(level.live_notional for level in levels if level.side == "short"),
        levels=levels,
    )


def smooth_levels(rows: list[dict], current_price: float, bin_size: float, smoothing: dict) -> list[dict]:
    """The (side, leverage) series of ``rows`` smoothed by distance from the current price's bin."""
    margin = margin_bins(smoothing["rate"], smoothing["max_sigma"])
    price_bin = math.floor(current_price / bin_size)
    series: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        series.setdefault((row["side"], int(row["leverage"])), []).append(row)
    out = []
    for (side, leverage), group in sorted(series.items()):
        bins = np.array([round(row["price_bin"] / bin_size) for row in group], dtype=np.int64)
        values = np.array([row["live_notional"] for row in group], dtype=np.float64)
        low, high = int(bins.min()) - margin, int(bins.max()) + margin
        spread = smooth_by_distance(
            bins,
            values,
            price_bin,
            smoothing["rate"],
            low,
            high,
            min_sigma=smoothing["min_sigma"],
            max_sigma=smoothing["max_sigma"],
        )
        for index in np.flatnonzero(spread > 0):
            centre = (low + int(index) + 0.5) * bin_size
            if (side == "long" and centre >= current_price) or (side == "short" and centre <= current_price):
                continue
            out.append(
                {
                    "side": side,
                    "leverage": leverage,
                    "price_bin": round((low + int(index)) * bin_size, 10),
                    "liquidation_price": round(centre, 10),
                    "live_notional": float(spread[index]),
                }
            )
    return sorted(out, key=lambda row: (row["side"], row["price_bin"], row["leverage"]))
