"""Live liquidation levels at the latest bucket (fct_liquidation_levels)."""

from __future__ import annotations

from api.queries.common import known_symbol, model_table
from api.schemas import Level, Levels
from api.warehouse import WarehouseSession


def liquidation_levels(
    wh: WarehouseSession,
    symbol: str,
    model: str,
    side: str | None,
    min_leverage: int | None,
    max_leverage: int | None,
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
