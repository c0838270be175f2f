"""Liquidation price calculator over Binance's dated bracket tables (liquidationheatmap.margin).

The same formula and bracket choice as the dbt macro `liquidation_price`, read from the same seed
(dbt_project/seeds/margin_tiers.csv), so the API, the SQL and the golden values agree.
"""

from __future__ import annotations

from datetime import timedelta

from api.errors import NotFound, invalid_parameter
from api.schemas import Bracket, MarginRequest, MarginResult, MarginTiers, TierTable
from liquidationheatmap import margin


def _bracket(item: margin.Bracket) -> Bracket:
    return Bracket(
        bracket=item.bracket,
        notional_floor=item.notional_floor,
        notional_cap=item.notional_cap,
        max_leverage=item.max_leverage,
        maint_margin_ratio=item.maint_margin_ratio,
        maint_amount=item.maint_amount,
    )


def _tables(symbol: str) -> tuple[bool, list[margin.MarginTable]]:
    """(uses the default symbol's tables, the tables oldest first)."""
    own = [t for t in margin.load_margin_tables() if t.symbol == symbol]
    if own:
        return False, sorted(own, key=lambda t: t.valid_from)
    fallback = [t for t in margin.load_margin_tables() if t.symbol == margin.DEFAULT_SYMBOL_TABLE]
    return True, sorted(fallback, key=lambda t: t.valid_from)


def seed_symbols() -> frozenset[str]:
    return frozenset(t.symbol for t in margin.load_margin_tables())


def margin_tiers(symbol: str) -> MarginTiers:
    uses_default, tables = _tables(symbol)
    out = []
    for i, table in enumerate(tables):
        valid_to = tables[i + 1].valid_from - timedelta(days=1) if i + 1 < len(tables) else None
        out.append(
            TierTable(
                table_version=table.table_version,
                valid_from=table.valid_from,
                valid_to=valid_to,
                is_newest=i == len(tables) - 1,
                brackets=[_bracket(b) for b in table.brackets],
            )
        )
    return MarginTiers(symbol=symbol, uses_default_table=uses_default, tables=out)


def calculate(request: MarginRequest, symbol: str) -> MarginResult:
    uses_default, tables = _tables(symbol)
    if request.table_version is None:
        table = tables[-1]
    else:
        matching = [t for t in tables if t.table_version == request.table_version]
        if not matching:
            versions = ", ".join(t.table_version for t in tables)
            raise NotFound(f"no bracket table {request.table_version!r} for {symbol}: tables are {versions}")
        table = matching[0]
    notional = request.quantity * request.entry_price
    allowed = table.max_leverage_for_notional(notional)
    if request.leverage > allowed:
        raise invalid_parameter(
            "body",
            "leverage",
            f"leverage {request.leverage:g}x is above the {allowed}x Binance allows for a "
            f"{notional:,.2f} USDT position under bracket table {table.table_version}",
        )
    wallet_balance = notional / request.leverage + request.extra_margin
    result = margin.liquidation_price(
        request.side, request.entry_price, request.quantity, wallet_balance, table
    )
    return MarginResult(
        symbol=symbol,
        side=request.side,
        table_version=table.table_version,
        uses_default_table=uses_default,
        notional=notional,
        wallet_balance=wallet_balance,
        liquidation_price=result.price,
        bracket=_bracket(result.bracket),
        maint_margin_ratio=result.bracket.maint_margin_ratio,
        maint_amount=result.bracket.maint_amount,
        maintenance_margin=result.maintenance_margin,
    )
