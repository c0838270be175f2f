from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import WarehouseDep
from api.errors import DATA_ERRORS
from api.params import ModelName, SymbolQuery
from api.queries.common import known_symbol
from api.queries.scores import model_scores
from api.schemas import ModelScores

router = APIRouter(tags=["models"], responses=DATA_ERRORS)

Metric = Annotated[
    str | None,
    Query(max_length=40, description="zone_hit_rate, median_distance_pct, hourly_correlation, calibration"),
]


@router.get(
    "/model-scores", response_model=ModelScores, summary="Every model scored against true liquidations"
)
def scores(
    wh: WarehouseDep,
    symbol: SymbolQuery = None,
    model: ModelName | None = None,
    period: Annotated[str | None, Query(max_length=20, description="train or test")] = None,
    metric: Metric = None,
) -> Response:
    """One row per symbol x model x side x period x metric (docs/model_scoring.md defines them)."""
    if symbol is not None:
        known_symbol(wh, symbol)
    return wh.respond(
        ("model-scores", symbol, model, period, metric),
        lambda: model_scores(wh, symbol, model, period, metric),
    )
