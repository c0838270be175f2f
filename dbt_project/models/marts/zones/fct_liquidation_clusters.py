"""DBSCAN liquidation zones over the latest live levels of every model, the ensemble's included.

python_models.zones.find_zones on fct_liquidation_levels + fct_liquidation_levels_ensemble, per
(symbol, model, side): points are price bins at x = ln(liquidation_price / current_price) weighted
by live notional; eps from the knee of the k-distance curve unless var cluster_eps is set;
min_samples = var cluster_min_samples. Noise bins belong to no zone. Definitions in the
`model_scoring` docs block.

Incremental only in that a build whose levels and settings are those the stored zones were found
in (`_inputs`: a fingerprint of both, floats at float32 precision as the publication compares
them) keeps the zones and does not load scikit-learn: a build with nothing new. Any change finds
every zone again (the latest levels are one state, not a history).
"""

import json

import pandas as pd

from python_models.walk_forward import settings_key

FINGERPRINT = (
    "count(*), sum(hash(symbol, model, side, leverage, price_bin, price_bin_size::float,"
    " liquidation_price::float, live_notional::float, current_price::float, measured_at))"
)


def _fingerprint(relation) -> list[str]:
    return [str(value) for value in relation.aggregate(FINGERPRINT).fetchone()]


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", on_schema_change="fail")
    eps = json.loads(dbt.config.meta_get("cluster_eps"))
    min_samples = int(json.loads(dbt.config.meta_get("cluster_min_samples")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    models = dbt.ref("fct_liquidation_levels")
    ensemble = dbt.ref("fct_liquidation_levels_ensemble")
    inputs = settings_key(
        {
            "eps": eps,
            "min_samples": min_samples,
            "levels": _fingerprint(models),
            "ensemble": _fingerprint(ensemble),
        }
    )
    if dbt.is_incremental:
        try:
            stored = session.sql(f"select distinct _inputs from {dbt.this}").fetchall()
        except Exception:  # a table of an older version (no _inputs): dbt stops on the schema change
            stored = []
        if stored == [(inputs,)]:
            return session.sql(f"select * from {dbt.this} limit 0")
        session.execute(f"delete from {dbt.this}")
    from python_models.zones import find_zones  # scikit-learn: only when the zones are found again

    levels = pd.concat([models.df(), ensemble.df()], ignore_index=True)
    out = find_zones(levels, eps=None if eps is None else float(eps), min_samples=min_samples)
    out["_inputs"] = inputs
    return out
