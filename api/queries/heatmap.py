"""The heatmap as a page draws it: time axis, price axis, matrix, and candles on the same buckets.

Cells come from fct_liquidation_heatmap (one timeframe = a span ending at the latest bucket, at its
own resolution). The axes are regular: every resolution bucket of the window that has data and
every price bin between the lowest and highest of cells and candles, so the page can hand them to
Plotly as they are. Empty cells are 0.

Served smoothed (``smoothed=True``, the default): each time column's bins spread by
python_models.smoothing.smooth_by_distance around that slot's close (the price the slot's cells are
valued at), with the build's settings (dim_map_smoothing; the defaults of python_models.smoothing
in a warehouse built without it), as the scoring smooths the maps it scores; the price axis then
reaches the kernel's margin beyond the cells. ``smoothed=False`` is the mart's cells as they are.

Served calibrated (``calibrated=True``, the default): every cell's notional times its model's
notional scale in force at the end of the cell's snapshot bucket (fct_model_calibration, learned
from the recorded liquidations of the train spans before it; docs/model_scoring.md "How much");
``calibrated=False`` is the mart's notional (the models' positions, unscaled).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from api.errors import DataNotBuilt
from api.queries.common import known_symbol, model_table, scaled_join
from api.schemas import Candles, Heatmap
from api.warehouse import WarehouseSession
from python_models.smoothing import (
    DEFAULT_MAX_BINS,
    DEFAULT_MIN_BINS,
    DEFAULT_RATE,
    margin_bins,
    smooth_by_distance,
)

BUCKET_MINUTES = 5
EPOCH = datetime(1970, 1, 1)
# Timeframe spans and resolutions as in the dbt seed heatmap_timeframes (used when the seed table
# is not in the warehouse): minutes.
DEFAULT_TIMEFRAMES: dict[str, tuple[int, int]] = {
    "1h": (60, 5),
    "4h": (240, 5),
    "12h": (720, 5),
    "1d": (1440, 5),
    "7d": (10080, 30),
    "30d": (43200, 120),
    "24h": (1440, 5),
    "3d": (4320, 15),
    "90d": (129600, 360),
    "180d": (259200, 720),
    "1y": (525600, 1440),
}


def _timeframe(wh: WarehouseSession, timeframe: str) -> tuple[int, int]:
    def load() -> dict[str, tuple[int, int]]:
        if not wh.has_table("heatmap_timeframes"):
            return DEFAULT_TIMEFRAMES
        rows = wh.fetch("select timeframe, span_minutes, resolution_minutes from heatmap_timeframes")
        return {**DEFAULT_TIMEFRAMES, **{name: (int(span), int(res)) for name, span, res in rows}}

    return wh.cached(("timeframes",), load)[timeframe]


def map_smoothing(wh: WarehouseSession) -> dict[str, float]:
    """The build's map smoothing in price bins: {rate, min_sigma, max_sigma} (dim_map_smoothing, whose
    bins are scoring bins of score_bin_multiple price bins; the defaults without the table)."""

    def load() -> dict[str, float]:
        rate, low, high, multiple = DEFAULT_RATE, DEFAULT_MIN_BINS, DEFAULT_MAX_BINS, 1
        if wh.has_table("dim_map_smoothing"):
            rows = wh.fetch("select rate, min_bins, max_bins, score_bin_multiple from dim_map_smoothing")
            if rows:
                rate, low, high, multiple = rows[0]
        high = float("inf") if high is None else float(high) * int(multiple)
        return {"rate": float(rate), "min_sigma": float(low) * int(multiple), "max_sigma": high}

    return wh.cached(("map-smoothing",), load)


def smooth_columns(
    z: np.ndarray, low_index: int, prices: np.ndarray, bin_size: float, smoothing: dict[str, float]
) -> np.ndarray:
    """Each column of z (rows: price bins low_index.., columns: slots) smoothed by distance from the
    column's price (``prices``; NaN leaves the column as it is)."""
    out = z.copy()
    bins = np.arange(z.shape[0], dtype=np.int64) + low_index
    for j in range(z.shape[1]):
        if not np.isfinite(prices[j]) or not z[:, j].any():
            continue
        keep = z[:, j] != 0
        out[:, j] = smooth_by_distance(
            bins[keep],
            z[keep, j],
            int(np.floor(prices[j] / bin_size)),
            smoothing["rate"],
            low_index,
            low_index + z.shape[0] - 1,
            min_sigma=smoothing["min_sigma"],
            max_sigma=smoothing["max_sigma"],
        )
    return out


def _floor(at: datetime, minutes: int) -> datetime:
    step = timedelta(minutes=minutes)
    return EPOCH + ((at - EPOCH) // step) * step


def liquidation_heatmap(
    wh: WarehouseSession,
    symbol: str,
    model: str,
    timeframe: str,
    side: str,
    smoothed: bool = True,
    calibrated: bool = True,
) -> Heatmap:
    bin_size = known_symbol(wh, symbol)
    table = model_table(wh, "fct_liquidation_heatmap", model, "the liquidation heatmap is")
    wh.require_table("int_trades__per_bucket", "price candles are")
    span, resolution = _timeframe(wh, timeframe)

    side_filter = "" if side == "both" else "and cells.side = ?"
    params: list = [symbol, model, timeframe] + ([] if side == "both" else [side])
    # The state a cell shows is the end of its snapshot bucket: the scale in force then.
    join, scale = scaled_join(wh, "cells", f"cells.snapshot_at + to_minutes({BUCKET_MINUTES})", calibrated)
    cells = wh.fetch_numpy(
        f"""
        select
            epoch(cells.bucket_start)::bigint as t,
            cells.price_bin,
            sum(cells.live_notional * {scale}) as notional
        from {table} as cells {join}
        where cells.symbol = ? and cells.model = ? and cells.timeframe = ? {side_filter}
        group by all
        """,
        params,
    )
    last_bucket = wh.fetch("select max(bucket_start) from int_trades__per_bucket where symbol = ?", [symbol])[
        0
    ][0]
    if last_bucket is None:
        raise DataNotBuilt(f"no price data for {symbol} in int_trades__per_bucket; rebuild the warehouse")
    first_slot = _floor(last_bucket - timedelta(minutes=span - BUCKET_MINUTES), resolution)
    candles = wh.fetch_numpy(
        """
        select
            epoch(time_bucket(to_minutes(?::bigint), bucket_start, timestamp '1970-01-01'))::bigint as t,
            arg_min(open, bucket_start) as open,
            max(high) as high,
            min(low) as low,
            arg_max(close, bucket_start) as close
        from int_trades__per_bucket
        where symbol = ? and bucket_start >= ? and bucket_start <= ?
        group by all
        order by t
        """,
        [resolution, symbol, first_slot, last_bucket],
    )
    smoothing = map_smoothing(wh) if smoothed else None
    return _assemble(symbol, model, timeframe, side, resolution, bin_size, cells, candles, smoothing)


def _assemble(
    symbol: str,
    model: str,
    timeframe: str,
    side: str,
    resolution: int,
    bin_size: float,
    cells: dict[str, np.ndarray],
    candles: dict[str, np.ndarray],
    smoothing: dict[str, float] | None = None,
) -> Heatmap:
    step = resolution * 60
    cell_t = np.asarray(cells["t"], dtype=np.int64)
    candle_t = np.asarray(candles["t"], dtype=np.int64)
    all_t = np.concatenate([cell_t, candle_t])
    if len(all_t) == 0:
        return Heatmap(
            symbol=symbol,
            model=model,
            timeframe=timeframe,
            side=side,
            resolution_minutes=resolution,
            price_bin_size=bin_size,
            times=[],
            prices=[],
            z=[],
            max_notional=0.0,
            current_price=None,
            candles=Candles(time=[], open=[], high=[], low=[], close=[]),
        )
    t0 = int(all_t.min()) // step * step
    n_times = int((int(all_t.max()) - t0) // step) + 1
    bins = np.asarray(cells["price_bin"], dtype=np.float64)
    edges = [bins] if len(bins) else []
    if len(candle_t):
        edges.append(
            np.floor(np.asarray([candles["low"].min(), candles["high"].max()]) / bin_size) * bin_size
        )
    edges = np.concatenate(edges)
    smoothing = smoothing if smoothing and smoothing["rate"] > 0 and len(cell_t) else None
    # A smoothed map reaches the kernel's margin beyond its cells.
    margin = margin_bins(smoothing["rate"], smoothing["max_sigma"]) if smoothing else 0
    low_index = int(np.round(edges.min() / bin_size)) - margin
    n_prices = int(np.round(edges.max() / bin_size)) + margin - low_index + 1
    z = np.zeros((n_prices, n_times))
    if len(cell_t):
        rows = np.round(bins / bin_size).astype(np.int64) - low_index
        cols = (cell_t - t0) // step
        np.add.at(z, (rows, cols), np.asarray(cells["notional"], dtype=np.float64))
    if smoothing:
        # The price each column's cells are valued at: its slot's close (the last close before it
        # where a slot has no candle).
        closes = np.full(n_times, np.nan)
        closes[(candle_t - t0) // step] = np.asarray(candles["close"], dtype=np.float64)
        closes = _carried_forward(closes)
        z = smooth_columns(z, low_index, closes, bin_size, smoothing)
    z = np.round(z, 2)
    times = [EPOCH + timedelta(seconds=int(t0 + i * step)) for i in range(n_times)]
    prices = np.round((np.arange(n_prices) + low_index) * bin_size, 10).tolist()
    candle_times = [EPOCH + timedelta(seconds=int(t)) for t in candle_t]
    return Heatmap(
        symbol=symbol,
        model=model,
        timeframe=timeframe,
        side=side,
        resolution_minutes=resolution,
        price_bin_size=bin_size,
        times=times,
        prices=prices,
        z=z.tolist(),
        max_notional=float(z.max()) if z.size else 0.0,
        current_price=float(candles["close"][-1]) if len(candle_t) else None,
        candles=Candles(
            time=candle_times,
            open=candles["open"].tolist(),
            high=candles["high"].tolist(),
            low=candles["low"].tolist(),
            close=candles["close"].tolist(),
        ),
    )


def _carried_forward(values: np.ndarray) -> np.ndarray:
    """NaNs replaced by the last finite value before them (leading NaNs stay)."""
    index = np.where(np.isfinite(values), np.arange(len(values)), -1)
    last = np.maximum.accumulate(index)
    return np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
