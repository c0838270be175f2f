"""The ensemble's heatmap: fct_liquidation_heatmap combined with fct_ensemble_weights.

The combination of python_models.ensemble.combine per (symbol, timeframe, bucket_start, price_bin,
side), on live_notional and on live_quantity, over the union of the models' cells (a cell missing in
a model counts 0), computed in DuckDB: the heatmap (every timeframe, 1.5M rows at 30 days) never
becomes a pandas frame. The weights are normalised in Python (normalise_weights) and each model's
value is multiplied by its weight and summed per cell, as combine does (with two models the sum is
the same float in any order). Same columns as fct_liquidation_heatmap, model = 'ensemble';
resolution_minutes and snapshot_at are the timeframe's and bucket's (the same for every model); cells
below heatmap_min_live_notional_usdt are dropped as in the heatmap mart. The mart's unique test on
fct_liquidation_heatmap guarantees one row per model and cell, which combine checks in Python.
"""

import json

from python_models.ensemble import ENSEMBLE_MODEL, normalise_weights

KEYS = "symbol, timeframe, bucket_start, price_bin, side"


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def model(dbt, session):
    dbt.config(materialized="table")
    min_notional = float(json.loads(dbt.config.meta_get("heatmap_min_live_notional_usdt")))
    weight_rows = dbt.ref("fct_ensemble_weights")
    heatmap = dbt.ref("fct_liquidation_heatmap")
    weights = dict(weight_rows.project("model, weight").fetchall())
    # No models (an empty heatmap has no weights either): an empty mart, as with an empty heatmap.
    norm = normalise_weights(weights, list(weights)) if weights else {}
    # repr() of a float reads back as the same double, so DuckDB multiplies by exactly these weights.
    weight_of = " ".join(f"when {_literal(name)} then {float(w)!r}::double" for name, w in norm.items())
    weight_of = weight_of or "when null then 0.0::double"
    models = ", ".join(_literal(name) for name in norm) or "null"
    query = f"""
        with weighted as (
            select
                {KEYS},
                resolution_minutes,
                snapshot_at,
                live_notional * (case model {weight_of} end) as live_notional,
                live_quantity * (case model {weight_of} end) as live_quantity
            from heatmap
            where model in ({models})
        ),
        cells as (
            select
                {KEYS},
                min(resolution_minutes) as resolution_minutes,
                min(snapshot_at) as snapshot_at,
                sum(live_notional) as live_notional,
                sum(live_quantity) as live_quantity
            from weighted
            group by {KEYS}
        )
        select
            symbol,
            {_literal(ENSEMBLE_MODEL)} as model,
            timeframe,
            bucket_start,
            resolution_minutes,
            snapshot_at,
            price_bin,
            side,
            live_quantity,
            live_notional
        from cells
        where live_notional >= {min_notional!r}
        order by {KEYS}
    """
    return heatmap.query("heatmap", query)
