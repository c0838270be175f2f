"""Predicted liquidations over time (fct_liquidation_history), raw or grouped by interval and side."""

from __future__ import annotations

from datetime import datetime

from api.params import INTERVAL_MINUTES
from api.queries.common import known_symbol, model_table
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
) -> History:
    known_symbol(wh, symbol)
    table = model_table(wh, "fct_liquidation_history", model, "the liquidation history is")
    filters, params = ["symbol = ?", "model = ?"], [symbol, model]
    if start is not None:
        filters.append("bucket_start >= ?")
        params.append(start)
    if end is not None:
        filters.append("bucket_start < ?")
        params.append(end)
    where = " and ".join(filters)
    if aggregate:
        sql = f"""
            select
                time_bucket(to_minutes(?::bigint), bucket_start, timestamp '1970-01-01') as bucket_start,
                side,
                sum(liquidated_notional) as liquidated_notional,
                sum(liquidated_count)::bigint as liquidated_count
            from {table}
            where {where}
            group by all
            order by bucket_start, side
        """
        params = [INTERVAL_MINUTES[interval], *params]
    else:
        sql = f"""
            select bucket_start, side, liquidated_notional, liquidated_count::bigint as liquidated_count
            from {table}
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
