from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ConfigDep, WarehouseDep
from api.errors import DATA_ERRORS, invalid_parameter
from api.params import (
    HeatmapSide,
    Interval,
    ModelQuery,
    Side,
    SymbolQuery,
    Timeframe,
    TimeQuery,
    end_exclusive,
)
from api.queries.clusters import liquidation_clusters
from api.queries.heatmap import liquidation_heatmap
from api.queries.history import liquidation_history
from api.queries.levels import liquidation_levels
from api.queries.truth import true_liquidations
from api.schemas import Clusters, Heatmap, History, Levels, TrueLiquidations

router = APIRouter(prefix="/liquidations", tags=["liquidations"], responses=DATA_ERRORS)

Leverage = Annotated[int | None, Query(ge=1, le=150)]
Smoothed = Annotated[
    bool,
    Query(
        description="The map smoothed by distance from the price as the scores score it (default; "
        "docs/model_scoring.md); false: the mart's cells as they are"
    ),
]

Calibrated = Annotated[
    bool,
    Query(
        description="Notional times the model's scale learned from recorded liquidations, in force at "
        "the row's time (default; fct_model_calibration, docs/model_scoring.md); false: the mart's notional"
    ),
]


@router.get("/levels", response_model=Levels, summary="Live liquidation levels at the latest bucket")
def levels(
    wh: WarehouseDep,
    config: ConfigDep,
    symbol: SymbolQuery = None,
    model: ModelQuery = None,
    side: Side | None = None,
    min_leverage: Leverage = None,
    max_leverage: Leverage = None,
    smoothed: Smoothed = True,
    calibrated: Calibrated = True,
) -> Response:
    """Long levels below the current price and short levels above it, per price bin and leverage."""
    if min_leverage is not None and max_leverage is not None and min_leverage > max_leverage:
        raise invalid_parameter(
            "query", "min_leverage", f"min_leverage {min_leverage} is above max_leverage {max_leverage}"
        )
    symbol = symbol or config.default_symbol
    model = model or config.default_model
    return wh.respond(
        ("levels", symbol, model, side, min_leverage, max_leverage, smoothed, calibrated),
        lambda: liquidation_levels(wh, symbol, model, side, min_leverage, max_leverage, smoothed, calibrated),
    )


@router.get("/history", response_model=History, summary="Predicted liquidations over time")
def history(
    wh: WarehouseDep,
    config: ConfigDep,
    symbol: SymbolQuery = None,
    model: ModelQuery = None,
    aggregate: bool = False,
    interval: Annotated[Interval, Query(description="Grouping interval when aggregate=true")] = "1h",
    start: TimeQuery = None,
    end: TimeQuery = None,
    calibrated: Calibrated = True,
) -> Response:
    """Raw 5-minute rows, or (aggregate=true) notional and count summed per interval and side."""
    start_at = start.at if start is not None else None
    end_at = end_exclusive(end) if end is not None else None
    if start_at is not None and end_at is not None and start_at >= end_at:
        raise invalid_parameter(
            "query", "end", f"end {end_at.isoformat()} is not after start {start_at.isoformat()}"
        )
    symbol = symbol or config.default_symbol
    model = model or config.default_model
    return wh.respond(
        ("history", symbol, model, aggregate, interval, start_at, end_at, calibrated),
        lambda: liquidation_history(wh, symbol, model, aggregate, interval, start_at, end_at, calibrated),
    )


@router.get("/heatmap", response_model=Heatmap, summary="Live liquidation notional over time and price")
def heatmap(
    wh: WarehouseDep,
    config: ConfigDep,
    symbol: SymbolQuery = None,
    model: ModelQuery = None,
    timeframe: Timeframe = "7d",
    side: HeatmapSide = "both",
    smoothed: Smoothed = True,
    calibrated: Calibrated = True,
) -> Response:
    """A payload Plotly draws directly: times (columns), prices (rows), z, and candles on the same times."""
    symbol = symbol or config.default_symbol
    model = model or config.default_model
    return wh.respond(
        ("heatmap", symbol, model, timeframe, side, smoothed, calibrated),
        lambda: liquidation_heatmap(wh, symbol, model, timeframe, side, smoothed, calibrated),
    )


@router.get(
    "/true",
    response_model=TrueLiquidations,
    summary="Recorded liquidations on the heatmap's time and price axes",
)
def recorded(
    wh: WarehouseDep,
    config: ConfigDep,
    symbol: SymbolQuery = None,
    timeframe: Timeframe = "7d",
    side: HeatmapSide = "both",
) -> Response:
    """True liquidations (fct_true_liquidations) per resolution bucket, price bin and side, in the
    window of the heatmap of the same timeframe; empty when no truth was recorded."""
    symbol = symbol or config.default_symbol
    return wh.respond(
        ("true", symbol, timeframe, side), lambda: true_liquidations(wh, symbol, timeframe, side)
    )


@router.get("/clusters", response_model=Clusters, summary="DBSCAN liquidation zones over the latest levels")
def clusters(
    wh: WarehouseDep, config: ConfigDep, symbol: SymbolQuery = None, model: ModelQuery = None
) -> Response:
    symbol = symbol or config.default_symbol
    model = model or config.default_model
    return wh.respond(("clusters", symbol, model), lambda: liquidation_clusters(wh, symbol, model))
