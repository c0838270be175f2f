"""Accuracy of every model beside the reference maps against true liquidations (fct_model_scores)."""

from __future__ import annotations

import math

from api.schemas import ModelScore, ModelScores
from api.warehouse import WarehouseSession

TABLE = "fct_model_scores"


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


def model_scores(
    wh: WarehouseSession,
    symbol: str | None,
    model: str | None,
    period: str | None,
    metric: str | None,
    horizon_hours: int | None = None,
    window_id: int | None = None,
) -> ModelScores:
    wh.require_table(TABLE, "model scores are")
    filters, params = ["true"], []
    pairs = (("symbol", symbol), ("model", model), ("period", period), ("metric", metric))
    for column, value in (*pairs, ("horizon_hours", horizon_hours), ("window_id", window_id)):
        if value is not None:
            filters.append(f"{column} = ?")
            params.append(value)
    rows = wh.fetch(
        f"""
        select symbol, model, kind, side, window_id, period, period_start, period_end, horizon_hours,
            metric, value::double, low::double, high::double, n::double
        from {TABLE}
        where {" and ".join(filters)}
        order by symbol, window_id, horizon_hours nulls last, kind, model, metric, side
        """,
        params,
    )
    return ModelScores(
        scores=[
            ModelScore(
                symbol=symbol_,
                model=model_,
                kind=kind,
                side=side,
                window_id=int(window),
                period=str(period_),
                period_start=start,
                period_end=end,
                horizon_hours=None if horizon is None else int(horizon),
                metric=metric_,
                value=_number(value),
                low=_number(low),
                high=_number(high),
                n=_number(n),
            )
            for (
                symbol_,
                model_,
                kind,
                side,
                window,
                period_,
                start,
                end,
                horizon,
                metric_,
                value,
                low,
                high,
                n,
            ) in rows
        ]
    )
