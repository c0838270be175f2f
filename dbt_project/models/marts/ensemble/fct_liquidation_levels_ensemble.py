"""The ensemble's live liquidation levels: fct_liquidation_levels combined with the latest weights.

The levels are the state at the latest bucket, so the weights in force then: those of the latest
evaluation window of fct_ensemble_weights (walk-forward; window 0's, the seed, before any fit).

python_models.ensemble.combine_levels: live_notional = sum over models of weight x live_notional per
(symbol, side, leverage, price_bin); liquidation_price = the weight x notional weighted mean of the
models' prices. Same columns as fct_liquidation_levels (position_count is not defined for a
weighted sum and is left out), model = 'ensemble'; bins with no live notional are dropped as in the
levels mart.
"""

import pandas as pd

from python_models.ensemble import LEVEL_OUTPUT_COLUMNS, combine_levels

COLUMNS = [*LEVEL_OUTPUT_COLUMNS[:7], "live_quantity", *LEVEL_OUTPUT_COLUMNS[7:]]


def model(dbt, session):
    dbt.config(materialized="table")
    weight_rows = dbt.ref("fct_ensemble_weights")
    latest = weight_rows.aggregate("max(window_id)").fetchone()[0]
    weights = dict(weight_rows.filter(f"window_id = {int(latest or 0)}").project("model, weight").fetchall())
    levels = dbt.ref("fct_liquidation_levels").df()
    if levels.empty:
        out = pd.DataFrame({column: pd.Series(dtype=levels[column].dtype) for column in LEVEL_OUTPUT_COLUMNS})
    else:
        frames = {name: levels[levels["model"] == name] for name in weights}
        out = combine_levels(frames, weights)
    out = out[out["live_notional"] > 0].copy()
    out["live_quantity"] = out["live_notional"] / out["current_price"]
    out["leverage"] = out["leverage"].astype("int32")
    out["measured_at"] = out["measured_at"].astype("datetime64[us]")
    return out[COLUMNS].reset_index(drop=True)
