"""The heatmap as a page draws it: time axis, price axis, matrix, and candles on the same buckets.

Cells come from fct_liquidation_heatmap (one timeframe = a span ending at the latest bucket, at its
own resolution). The axes are regular: every resolution bucket of the window that has data and
every price bin between the lowest and highest of cells and candles, so the page can hand them to
Plotly as they are. Empty cells are 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from api.errors import DataNotBuilt
from api.queries.common import known_symbol, model_table
from api.schemas import Candles, Heatmap
from api.warehouse import WarehouseSession

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


def _floor(at: datetime, minutes: int) -> datetime:
    step = timedelta(minutes=minutes)
    return EPOCH + ((at - EPOCH) // step) * step


def liquidation_heatmap(wh: WarehouseSession, symbol: str, model: str, timeframe: str, side: str) -> Heatmap:
    bin_size = known_symbol(wh, symbol)
    table = model_table(wh, "fct_liquidation_heatmap", model, "the liquidation heatmap is")
    wh.require_table("int_trades__per_bucket", "price candles are")
    span, resolution = _timeframe(wh, timeframe)

    side_filter = "" if side == "both" else "and side = ?"
    params: list = [symbol, model, timeframe] + ([] if side == "both" else [side])
    cells = wh.fetch_numpy(
        f"""
        select
            epoch(bucket_start)::bigint as t,
            price_bin,
            sum(live_notional) as notional
        from {table}
        where symbol = ? and model = ? and timeframe = ? {side_filter}
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
    return _assemble(symbol, model, timeframe, side, resolution, bin_size, cells, candles)


def _assemble(
    symbol: str,
    model: str,
    timeframe: str,
    side: str,
    resolution: int,
    bin_size: float,
    cells: dict[str, np.ndarray],
    candles: dict[str, np.ndarray],
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
    low_index = int(np.round(edges.min() / bin_size))
    n_prices = int(np.round(edges.max() / bin_size)) - low_index + 1
    z = np.zeros((n_prices, n_times))
    if len(cell_t):
        rows = np.round(bins / bin_size).astype(np.int64) - low_index
        cols = (cell_t - t0) // step
        np.add.at(z, (rows, cols), np.asarray(cells["notional"], dtype=np.float64))
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
