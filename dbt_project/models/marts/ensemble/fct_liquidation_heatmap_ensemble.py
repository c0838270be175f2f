"""The ensemble's heatmap: fct_liquidation_heatmap combined with fct_ensemble_weights.

python_models.ensemble.combine per (symbol, timeframe, bucket_start, price_bin, side), on
live_notional and on live_quantity, over the union of the models' cells (a cell missing in a model
counts 0). Same columns as fct_liquidation_heatmap, model = 'ensemble'; resolution_minutes and
snapshot_at are the timeframe's and bucket's (the same for every model); cells below
heatmap_min_live_notional_usdt are dropped as in the heatmap mart.
"""

import json

import pandas as pd

from python_models.ensemble import combine

KEYS = ["symbol", "timeframe", "bucket_start", "price_bin", "side"]
COLUMNS = [
    "symbol",
    "model",
    "timeframe",
    "bucket_start",
    "resolution_minutes",
    "snapshot_at",
    "price_bin",
    "side",
    "live_quantity",
    "live_notional",
]


def model(dbt, session):
    dbt.config(materialized="table")
    min_notional = float(json.loads(dbt.config.meta_get("heatmap_min_live_notional_usdt")))
    weight_rows = dbt.ref("fct_ensemble_weights")
    weights = dict(weight_rows.project("model, weight").fetchall())
    heatmap = dbt.ref("fct_liquidation_heatmap").df()
    if heatmap.empty:
        return heatmap[COLUMNS]
    frames = {name: heatmap[heatmap["model"] == name] for name in weights}
    notional = combine(frames, weights, keys=KEYS, value="live_notional")
    quantity = combine(frames, weights, keys=KEYS, value="live_quantity")
    out = notional.merge(quantity.drop(columns="model"), on=KEYS, how="left")
    snapshots = heatmap.groupby(["symbol", "timeframe", "bucket_start"], as_index=False).agg(
        resolution_minutes=("resolution_minutes", "first"), snapshot_at=("snapshot_at", "first")
    )
    out = out.merge(snapshots, on=["symbol", "timeframe", "bucket_start"], how="left")
    out = out[out["live_notional"] >= min_notional]
    for column in ("bucket_start", "snapshot_at"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return (
        out[COLUMNS]
        .astype({"resolution_minutes": heatmap["resolution_minutes"].dtype})
        .reset_index(drop=True)
    )
