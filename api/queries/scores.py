"""Accuracy of every model against true liquidations (fct_model_scores, issue 5)."""

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
) -> ModelScores:
    wh.require_table(TABLE, "model scores are")
    filters, params = ["true"], []
    for column, value in (("symbol", symbol), ("model", model), ("period", period), ("metric", metric)):
        if value is not None:
            filters.append(f"{column} = ?")
            params.append(value)
    rows = wh.fetch(
        f"""
        select symbol, model, side, period, metric, value::double, n::double
        from {TABLE}
        where {" and ".join(filters)}
        order by symbol, model, period, metric, side
        """,
        params,
    )
    return ModelScores(
        scores=[
            ModelScore(
                symbol=symbol_,
                model=model_,
                side=side,
                period=str(period_),
                metric=metric_,
                value=_number(value),
                n=_number(n),
            )
            for symbol_, model_, side, period_, metric_, value, n in rows
        ]
    )
