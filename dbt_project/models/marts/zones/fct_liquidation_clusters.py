"""DBSCAN liquidation zones over the latest live levels of every model, the ensemble's included.

python_models.zones.find_zones on fct_liquidation_levels + fct_liquidation_levels_ensemble, per
(symbol, model, side): points are price bins at x = ln(liquidation_price / current_price) weighted
by live notional; eps from the knee of the k-distance curve unless var cluster_eps is set;
min_samples = var cluster_min_samples. Noise bins belong to no zone. Definitions in the
`model_scoring` docs block.
"""

import json

import pandas as pd

from python_models.zones import find_zones


def model(dbt, session):
    dbt.config(materialized="table")
    eps = json.loads(dbt.config.meta_get("cluster_eps"))
    min_samples = int(json.loads(dbt.config.meta_get("cluster_min_samples")))
    models = dbt.ref("fct_liquidation_levels").df()
    ensemble = dbt.ref("fct_liquidation_levels_ensemble").df()
    levels = pd.concat([models, ensemble], ignore_index=True)
    return find_zones(levels, eps=None if eps is None else float(eps), min_samples=min_samples)
