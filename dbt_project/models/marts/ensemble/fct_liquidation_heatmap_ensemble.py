"""The ensemble's heatmap: fct_liquidation_heatmap combined with the weights in force.

The combination of python_models.ensemble.combine per (symbol, timeframe, bucket_start, price_bin,
side), on live_notional and on live_quantity, over the union of the models' cells (a cell missing in
a model counts 0), computed in DuckDB: the heatmap (every timeframe, 1.5M rows at 30 days) never
becomes a pandas frame. Each cell uses the weights in force when it was drawn (walk-forward,
fct_ensemble_weights): those of the latest evaluation window whose train span ended at or before
the end of the cell's snapshot bucket (snapshot_at + bucket_minutes: the state the cell shows;
window 0's before the first), so no weight fitted on later truth reaches an
earlier cell. Same columns as fct_liquidation_heatmap, model = 'ensemble'; resolution_minutes and
snapshot_at are the timeframe's and bucket's (the same for every model); cells below
heatmap_min_live_notional_usdt are dropped as in the heatmap mart. The mart's unique test on
fct_liquidation_heatmap guarantees one row per model and cell.
"""

import json

from python_models.ensemble import ENSEMBLE_MODEL
from python_models.walk_forward import in_force_values_sql

KEYS = "symbol, timeframe, bucket_start, price_bin, side"


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def model(dbt, session):
    dbt.config(materialized="table")
    min_notional = float(json.loads(dbt.config.meta_get("heatmap_min_live_notional_usdt")))
    bucket_minutes = int(json.loads(dbt.config.meta_get("bucket_minutes")))
    weight_rows = dbt.ref("fct_ensemble_weights")
    heatmap = dbt.ref("fct_liquidation_heatmap")
    weights = in_force_values_sql(weight_rows.project("window_id, model, weight, fitted_to").fetchall())
    query = f"""
        with weights as ({weights}),
        weighted as (
            select
                {", ".join("heatmap." + k.strip() for k in KEYS.split(","))},
                heatmap.resolution_minutes,
                heatmap.snapshot_at,
                heatmap.live_notional * weights.weight as live_notional,
                heatmap.live_quantity * weights.weight as live_quantity
            from heatmap
            inner join weights
                on weights.model = heatmap.model
                and heatmap.snapshot_at + to_minutes({bucket_minutes}) >= weights.in_force_from
                and heatmap.snapshot_at + to_minutes({bucket_minutes}) < weights.in_force_to
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
