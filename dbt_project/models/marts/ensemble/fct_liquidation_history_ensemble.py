"""The ensemble's predicted liquidations: fct_liquidation_history combined with fct_ensemble_weights.

python_models.ensemble.combine per (symbol, bucket_start, side) on liquidated_notional,
liquidated_quantity and liquidated_count. The count is a weighted sum of the models' level counts,
so it is not a whole number. Same columns as fct_liquidation_history, model = 'ensemble'.
"""

import pandas as pd

from python_models.ensemble import combine

KEYS = ["symbol", "bucket_start", "side"]
VALUES = ["liquidated_notional", "liquidated_quantity", "liquidated_count"]
COLUMNS = ["symbol", "model", "bucket_start", "side", *VALUES]


def model(dbt, session):
    dbt.config(materialized="table")
    weight_rows = dbt.ref("fct_ensemble_weights")
    weights = dict(weight_rows.project("model, weight").fetchall())
    history = dbt.ref("fct_liquidation_history").df()
    if history.empty:
        return history[COLUMNS].astype({"liquidated_count": "float64"})
    frames = {name: history[history["model"] == name] for name in weights}
    out = combine(frames, weights, keys=KEYS, value=VALUES[0])
    for value in VALUES[1:]:
        out = out.merge(combine(frames, weights, keys=KEYS, value=value).drop(columns="model"), on=KEYS)
    out["bucket_start"] = pd.to_datetime(out["bucket_start"]).astype("datetime64[us]")
    return out[COLUMNS].reset_index(drop=True)
