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
) -> ModelScores:
    wh.require_table(TABLE, "model scores are")
    filters, params = ["true"], []
    pairs = (("symbol", symbol), ("model", model), ("period", period), ("metric", metric))
    for column, value in (*pairs, ("horizon_hours", horizon_hours)):
        if value is not None:
            filters.append(f"{column} = ?")
            params.append(value)
    rows = wh.fetch(
        f"""
        select symbol, model, kind, side, period, horizon_hours, metric,
            value::double, low::double, high::double, n::double
        from {TABLE}
        where window_id = 1 and {" and ".join(filters)}
        order by symbol, period, horizon_hours nulls last, kind, model, metric, side
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
                period=str(period_),
                horizon_hours=None if horizon is None else int(horizon),
                metric=metric_,
                value=_number(value),
                low=_number(low),
                high=_number(high),
                n=_number(n),
            )
            for symbol_, model_, kind, side, period_, horizon, metric_, value, low, high, n in rows
        ]
    )
