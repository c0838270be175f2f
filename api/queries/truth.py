"""Recorded liquidations on the heatmap's axes (fct_true_liquidations), for the page's overlay.

Grouped per resolution bucket of the timeframe, price bin and side, inside the same window the
heatmap answer covers (the timeframe's span ending at the latest bucket). No truth built (a real
market without a recorder): an empty answer, not an error, so the page simply draws no dots.
"""

from __future__ import annotations

from datetime import timedelta

from api.queries.common import known_symbol
from api.queries.heatmap import BUCKET_MINUTES, _floor, _timeframe
from api.schemas import TrueLiquidationRow, TrueLiquidations
from api.warehouse import WarehouseSession

TABLE = "fct_true_liquidations"


def true_liquidations(wh: WarehouseSession, symbol: str, timeframe: str, side: str) -> TrueLiquidations:
    bin_size = known_symbol(wh, symbol)
    span, resolution = _timeframe(wh, timeframe)
    empty = TrueLiquidations(
        symbol=symbol,
        timeframe=timeframe,
        side=side,
        resolution_minutes=resolution,
        total_notional=0.0,
        rows=[],
    )
    if not wh.has_table(TABLE) or not wh.has_table("int_trades__per_bucket"):
        return empty
    last_bucket = wh.fetch("select max(bucket_start) from int_trades__per_bucket where symbol = ?", [symbol])[
        0
    ][0]
    if last_bucket is None:
        return empty
    first_slot = _floor(last_bucket - timedelta(minutes=span - BUCKET_MINUTES), resolution)
    end = last_bucket + timedelta(minutes=BUCKET_MINUTES)
    side_filter = "" if side == "both" else "and side = ?"
    rows = wh.fetch_dicts(
        f"""
        select
            time_bucket(to_minutes(?::bigint), liquidated_at, timestamp '1970-01-01') as bucket_start,
            side,
            floor(fill_price / ?) * ? as price_bin,
            sum(fill_notional * fill_price) / sum(fill_notional) as price,
            sum(fill_notional) as notional,
            count(*)::bigint as count
        from {TABLE}
        where symbol = ? and liquidated_at >= ? and liquidated_at < ? {side_filter}
        group by all
        order by bucket_start, side, price_bin
        """,
        [resolution, bin_size, bin_size, symbol, first_slot, end] + ([] if side == "both" else [side]),
    )
    out = [TrueLiquidationRow(**row) for row in rows]
    return empty.model_copy(update={"rows": out, "total_notional": sum(r.notional for r in out)})
