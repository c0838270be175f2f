from __future__ import annotations

import contextlib
from typing import Annotated

import duckdb
from fastapi import APIRouter, HTTPException, Path

from api.deps import WarehouseDep
from api.errors import ErrorMessage, NotFound
from api.params import SYMBOL_PATTERN
from api.queries.common import symbol_bin_sizes
from api.queries.margin import calculate, margin_tiers, seed_symbols
from api.schemas import MarginRequest, MarginResult, MarginTiers
from api.warehouse import WarehouseSession

router = APIRouter(
    prefix="/api/margin",
    tags=["margin"],
    responses={
        400: {"model": ErrorMessage, "description": "The body is not text (not UTF-8)"},
        404: {"model": ErrorMessage, "description": "Unknown symbol or bracket table"},
    },
)


def _known(wh: WarehouseSession, symbol: str) -> str:
    """A symbol with its own bracket table, or one in the warehouse (which then uses BTCUSDT's)."""
    symbol = symbol.upper()
    known = set(seed_symbols())
    if symbol in known:
        return symbol
    if wh.exists:
        # A warehouse without dim_symbols only narrows the known set.
        with contextlib.suppress(HTTPException, duckdb.Error):
            known |= set(symbol_bin_sizes(wh))
    if symbol not in known:
        raise NotFound(f"unknown symbol {symbol}: bracket tables exist for {', '.join(sorted(known))}")
    return symbol


@router.post("/calculate", response_model=MarginResult, summary="Liquidation price of one position")
def calculate_liquidation(request: MarginRequest, wh: WarehouseDep) -> MarginResult:
    """Binance USD-M isolated margin, one-way mode: LP = (WB + cum - s*Q*EP) / (Q*(MMR - s)).

    WB = quantity x entry_price / leverage + extra_margin; the bracket is the one holding the notional
    at the liquidation price; the newest bracket table applies unless table_version names another.
    """
    return calculate(request, _known(wh, request.symbol))


@router.get("/tiers/{symbol}", response_model=MarginTiers, summary="Binance's dated margin-bracket tables")
def tiers(symbol: Annotated[str, Path(pattern=SYMBOL_PATTERN)], wh: WarehouseDep) -> MarginTiers:
    return margin_tiers(_known(wh, symbol))
