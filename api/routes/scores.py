from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import WarehouseDep
from api.errors import DATA_ERRORS
from api.params import SymbolQuery
from api.queries.common import known_symbol
from api.queries.scores import model_scores
from api.schemas import ModelScores

router = APIRouter(tags=["models"], responses=DATA_ERRORS)

Metric = Annotated[
    str | None,
    Query(max_length=40, description="overlap, skill, emd_pct, calibration, hourly_correlation"),
]
Horizon = Annotated[int | None, Query(ge=1, le=168, description="placement horizon in hours (1, 4)")]


@router.get(
    "/model-scores", response_model=ModelScores, summary="Every model scored against true liquidations"
)
def scores(
    wh: WarehouseDep,
    symbol: SymbolQuery = None,
    model: Annotated[str | None, Query(max_length=60, description="a model or reference map")] = None,
    period: Annotated[str | None, Query(max_length=20, description="train or test")] = None,
    metric: Metric = None,
    horizon_hours: Horizon = None,
    window_id: Annotated[
        int | None,
        Query(ge=0, le=1_000_000, description="evaluation window (1, 2, ...); 0 = the pooled headline"),
    ] = None,
) -> Response:
    """One row per symbol x map x side x evaluation window x horizon x metric, walk-forward
    (docs/model_scoring.md defines them): every model beside the uniform, proximity and oracle
    reference maps, on each window's test span; window 0 pools every complete window."""
    if symbol is not None:
        known_symbol(wh, symbol)
    return wh.respond(
        ("model-scores", symbol, model, period, metric, horizon_hours, window_id),
        lambda: model_scores(wh, symbol, model, period, metric, horizon_hours, window_id),
    )
