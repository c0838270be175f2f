"""Predicted liquidations over time (fct_liquidation_history), raw or grouped by interval and side.

Served calibrated (``calibrated=True``, the default): the notional times the model's notional
scale in force when the bucket starts (fct_model_calibration; docs/model_scoring.md "How much"),
as the scoring's calibration judges it; ``calibrated=False`` is the mart's notional.
"""

from __future__ import annotations

from datetime import datetime

from api.params import INTERVAL_MINUTES
from api.queries.common import known_symbol, model_table, scaled_join
from api.schemas import History, HistoryRow
from api.warehouse import WarehouseSession


def liquidation_history(
    wh: WarehouseSession,
    symbol: str,
    model: str,
    aggregate: bool,
    interval: str,
    start: datetime | None,
    end: datetime | None,
    calibrated: bool = True,
) -> History:
    known_symbol(wh, symbol)
    table = model_table(wh, "fct_liquidation_history", model, "the liquidation history is")
    filters, params = ["h.symbol = ?", "h.model = ?"], [symbol, model]
    if start is not None:
        filters.append("h.bucket_start >= ?")
        params.append(start)
    if end is not None:
        filters.append("h.bucket_start < ?")
        params.append(end)
    where = " and ".join(filters)
    # The notional times the model's scale in force when the bucket starts (the count stays the
    # number of levels reached).
    join, scale = scaled_join(wh, "h", "h.bucket_start", calibrated)
    if aggregate:
        sql = f"""
            select
                time_bucket(to_minutes(?::bigint), h.bucket_start, timestamp '1970-01-01') as bucket_start,
                h.side,
                sum(h.liquidated_notional * {scale}) as liquidated_notional,
                sum(h.liquidated_count)::bigint as liquidated_count
            from {table} as h {join}
            where {where}
            group by all
            order by bucket_start, side
        """
        params = [INTERVAL_MINUTES[interval], *params]
    else:
        sql = f"""
            select
                h.bucket_start, h.side, h.liquidated_notional * {scale} as liquidated_notional,
                h.liquidated_count::bigint as liquidated_count
            from {table} as h {join}
            where {where}
            order by bucket_start, side
        """
    rows = [HistoryRow(**row) for row in wh.fetch_dicts(sql, params)]
    return History(
        symbol=symbol,
        model=model,
        aggregate=aggregate,
        interval=interval if aggregate else None,
        start=start,
        end=end,
        total_long_notional=sum(r.liquidated_notional for r in rows if r.side == "long"),
        total_short_notional=sum(r.liquidated_notional for r in rows if r.side == "short"),
        rows=rows,
    )
